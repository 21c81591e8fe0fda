/* json.c — strict JSON parser and compact writer (see json.h). */
#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64
/* Building metadata is not input handling: running out of memory there is fatal. */
#define LGP_JSON_CHECK_ALLOC(p) do { if (!(p)) { fputs("lgp: out of memory\n", stderr); abort(); } } while (0)

typedef struct {
    const char *s;
    size_t n, p;
    char *err;
    size_t errlen;
    int failed;
} parser;

static lgp_json *node(lgp_json_type t) {
    lgp_json *j = calloc(1, sizeof *j);
    if (j) j->type = t;
    return j;
}

static void *perr(parser *ps, const char *msg) {
    if (!ps->failed && ps->err)
        snprintf(ps->err, ps->errlen, "JSON byte %zu: %s", ps->p, msg);
    ps->failed = 1;
    return NULL;
}

static void ws(parser *ps) {
    while (ps->p < ps->n && (ps->s[ps->p] == ' ' || ps->s[ps->p] == '\t' || ps->s[ps->p] == '\n' || ps->s[ps->p] == '\r'))
        ps->p++;
}

static int hex4(parser *ps, unsigned *v) {
    if (ps->n - ps->p < 4) return -1;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = ps->s[ps->p++];
        *v <<= 4;
        if (c >= '0' && c <= '9') *v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') *v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') *v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xc0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parses a string at ps->p (which is at the opening quote); returns malloc'd text. */
static char *pstring(parser *ps) {
    ps->p++;
    size_t start = ps->p, cap = 16;
    /* Output is never longer than the escaped input up to the closing quote. */
    for (size_t q = start; q < ps->n && ps->s[q] != '"'; q++, cap++)
        if (ps->s[q] == '\\') q++, cap++;
    char *o = malloc(cap + 1);
    if (!o) return perr(ps, "out of memory");
    size_t k = 0;
    while (ps->p < ps->n) {
        unsigned char c = (unsigned char)ps->s[ps->p++];
        if (c == '"') { o[k] = 0; return o; }
        if (c < 0x20) { free(o); return perr(ps, "control character in string"); }
        if (c != '\\') { o[k++] = (char)c; continue; }
        if (ps->p >= ps->n) break;
        char e = ps->s[ps->p++];
        unsigned cp;
        switch (e) {
        case '"': case '\\': case '/': o[k++] = e; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'u':
            if (hex4(ps, &cp)) { free(o); return perr(ps, "bad \\u escape"); }
            if (cp >= 0xd800 && cp < 0xdc00) {
                unsigned lo;
                if (ps->n - ps->p < 6 || ps->s[ps->p] != '\\' || ps->s[ps->p + 1] != 'u') { free(o); return perr(ps, "lone surrogate"); }
                ps->p += 2;
                if (hex4(ps, &lo) || lo < 0xdc00 || lo > 0xdfff) { free(o); return perr(ps, "bad surrogate pair"); }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) { free(o); return perr(ps, "lone surrogate"); }
            if (cp == 0) { free(o); return perr(ps, "NUL in string"); }
            k += put_utf8(o + k, cp); /* \uXXXX (6 bytes) never expands past 4 */
            break;
        default: free(o); return perr(ps, "bad escape");
        }
    }
    free(o);
    return perr(ps, "unterminated string");
}

static lgp_json *pvalue(parser *ps, int depth);

static lgp_json *pcontainer(parser *ps, int depth, int obj) {
    lgp_json *j = node(obj ? LGP_JSON_OBJ : LGP_JSON_ARR);
    if (!j) return perr(ps, "out of memory");
    ps->p++;
    ws(ps);
    char close = obj ? '}' : ']';
    if (ps->p < ps->n && ps->s[ps->p] == close) { ps->p++; return j; }
    for (;;) {
        char *key = NULL;
        ws(ps);
        if (obj) {
            if (ps->p >= ps->n || ps->s[ps->p] != '"') { lgp_json_free(j); return perr(ps, "expected a key"); }
            key = pstring(ps);
            if (!key) { lgp_json_free(j); return NULL; }
            if (lgp_json_get(j, key)) { free(key); lgp_json_free(j); return perr(ps, "duplicate key"); }
            ws(ps);
            if (ps->p >= ps->n || ps->s[ps->p] != ':') { free(key); lgp_json_free(j); return perr(ps, "expected ':'"); }
            ps->p++;
        }
        lgp_json *v = pvalue(ps, depth + 1);
        if (!v) { free(key); lgp_json_free(j); return NULL; }
        if (obj) { lgp_json_set(j, key, v); free(key); }
        else lgp_json_push(j, v);
        ws(ps);
        if (ps->p < ps->n && ps->s[ps->p] == ',') { ps->p++; continue; }
        if (ps->p < ps->n && ps->s[ps->p] == close) { ps->p++; return j; }
        lgp_json_free(j);
        return perr(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

/* Sets j's exact integer from an integer literal ("-"? digits); leaves is_int 0 when the
 * value is outside [-2^63, 2^64-1]. */
static void exact_int(lgp_json *j, const char *lit) {
    int neg = *lit == '-';
    uint64_t u = 0;
    for (const char *d = lit + neg; *d; d++) {
        unsigned k = (unsigned)(*d - '0');
        if (u > (UINT64_MAX - k) / 10) return;
        u = u * 10 + k;
    }
    if (neg && u > (uint64_t)INT64_MAX + 1) return;
    j->is_int = 1;
    j->is_neg = neg && u != 0;
    j->u = u;
}

static lgp_json *pnumber(parser *ps) {
    size_t q = ps->p;
    int integral = 1;
    if (q < ps->n && ps->s[q] == '-') q++;
    if (q >= ps->n || ps->s[q] < '0' || ps->s[q] > '9') return perr(ps, "unexpected character");
    if (ps->s[q] == '0') q++;
    else while (q < ps->n && ps->s[q] >= '0' && ps->s[q] <= '9') q++;
    if (q < ps->n && ps->s[q] == '.') {
        q++;
        integral = 0;
        if (q >= ps->n || ps->s[q] < '0' || ps->s[q] > '9') return perr(ps, "bad number");
        while (q < ps->n && ps->s[q] >= '0' && ps->s[q] <= '9') q++;
    }
    if (q < ps->n && (ps->s[q] == 'e' || ps->s[q] == 'E')) {
        q++;
        integral = 0;
        if (q < ps->n && (ps->s[q] == '+' || ps->s[q] == '-')) q++;
        if (q >= ps->n || ps->s[q] < '0' || ps->s[q] > '9') return perr(ps, "bad number");
        while (q < ps->n && ps->s[q] >= '0' && ps->s[q] <= '9') q++;
    }
    char buf[64];
    if (q - ps->p >= sizeof buf) return perr(ps, "number too long");
    memcpy(buf, ps->s + ps->p, q - ps->p);
    buf[q - ps->p] = 0;
    ps->p = q;
    lgp_json *j = node(LGP_JSON_NUM);
    if (!j) return perr(ps, "out of memory");
    j->num = strtod(buf, NULL);
    if (integral) exact_int(j, buf);
    return j;
}

static lgp_json *pvalue(parser *ps, int depth) {
    if (depth > MAX_DEPTH) return perr(ps, "nesting too deep");
    ws(ps);
    if (ps->p >= ps->n) return perr(ps, "unexpected end");
    char c = ps->s[ps->p];
    if (c == '{' || c == '[') return pcontainer(ps, depth, c == '{');
    if (c == '"') {
        char *s = pstring(ps);
        if (!s) return NULL;
        lgp_json *j = node(LGP_JSON_STR);
        if (!j) { free(s); return perr(ps, "out of memory"); }
        j->str = s;
        return j;
    }
    static const struct { const char *w; lgp_json_type t; int b; } lits[] = {
        {"true", LGP_JSON_BOOL, 1}, {"false", LGP_JSON_BOOL, 0}, {"null", LGP_JSON_NULL, 0}};
    for (size_t i = 0; i < 3; i++) {
        size_t l = strlen(lits[i].w);
        if (ps->n - ps->p >= l && memcmp(ps->s + ps->p, lits[i].w, l) == 0) {
            ps->p += l;
            lgp_json *j = node(lits[i].t);
            if (!j) return perr(ps, "out of memory");
            j->boolean = lits[i].b;
            return j;
        }
    }
    return pnumber(ps);
}

lgp_json *lgp_json_parse(const char *text, size_t len, char *err, size_t errlen) {
    parser ps = {text, len, 0, err, errlen, 0};
    lgp_json *j = pvalue(&ps, 0);
    if (!j) return NULL;
    ws(&ps);
    if (ps.p != len) {
        lgp_json_free(j);
        return perr(&ps, "trailing characters");
    }
    return j;
}

void lgp_json_free(lgp_json *j) {
    if (!j) return;
    for (size_t i = 0; i < j->n; i++) {
        lgp_json_free(j->items[i]);
        if (j->keys) free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    free(j->str);
    free(j);
}

const lgp_json *lgp_json_get(const lgp_json *obj, const char *key) {
    if (!obj || obj->type != LGP_JSON_OBJ) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
    return NULL;
}

const char *lgp_json_get_str(const lgp_json *obj, const char *key, const char *def) {
    const lgp_json *v = lgp_json_get(obj, key);
    return v && v->type == LGP_JSON_STR ? v->str : def;
}

double lgp_json_get_num(const lgp_json *obj, const char *key, double def) {
    const lgp_json *v = lgp_json_get(obj, key);
    return v && v->type == LGP_JSON_NUM ? v->num : def;
}

/* Below 2^53 every integer is a double exactly, so a double-only number there is safe. */
#define EXACT_DOUBLE_LIMIT 9007199254740992.0

static int double_int(const lgp_json *v) {
    return isfinite(v->num) && v->num == floor(v->num) && fabs(v->num) < EXACT_DOUBLE_LIMIT;
}

int lgp_json_to_i64(const lgp_json *v, int64_t *out) {
    if (!v || v->type != LGP_JSON_NUM) return -1;
    if (v->is_int) {
        if (v->u > (uint64_t)INT64_MAX + (v->is_neg ? 1u : 0u)) return -1;
        /* -2^63 has no positive int64 twin, so it is spelled out */
        *out = v->is_neg ? (v->u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v->u) : (int64_t)v->u;
        return 0;
    }
    if (!double_int(v)) return -1;
    *out = (int64_t)v->num;
    return 0;
}

int lgp_json_to_u64(const lgp_json *v, uint64_t *out) {
    if (!v || v->type != LGP_JSON_NUM) return -1;
    if (v->is_int) {
        if (v->is_neg) return -1;
        *out = v->u;
        return 0;
    }
    if (!double_int(v) || v->num < 0) return -1;
    *out = (uint64_t)v->num;
    return 0;
}

int lgp_json_get_i64(const lgp_json *obj, const char *key, int64_t *out) {
    return lgp_json_to_i64(lgp_json_get(obj, key), out);
}

int lgp_json_get_u64(const lgp_json *obj, const char *key, uint64_t *out) {
    return lgp_json_to_u64(lgp_json_get(obj, key), out);
}

int64_t lgp_json_get_i64_def(const lgp_json *obj, const char *key, int64_t def) {
    const lgp_json *v = lgp_json_get(obj, key);
    int64_t x;
    if (!lgp_json_to_i64(v, &x)) return x;
    /* 2^63 as a double; the lower bound -2^63 is exact too */
    if (v && v->type == LGP_JSON_NUM && v->num >= -9223372036854775808.0 && v->num < 9223372036854775808.0)
        return (int64_t)v->num;
    return def;
}

uint64_t lgp_json_get_u64_def(const lgp_json *obj, const char *key, uint64_t def) {
    const lgp_json *v = lgp_json_get(obj, key);
    uint64_t x;
    if (!lgp_json_to_u64(v, &x)) return x;
    if (v && v->type == LGP_JSON_NUM && v->num > -1.0 && v->num < 18446744073709551616.0)
        return (uint64_t)v->num;
    return def;
}

lgp_json *lgp_json_new_obj(void) { return node(LGP_JSON_OBJ); }
lgp_json *lgp_json_new_arr(void) { return node(LGP_JSON_ARR); }
lgp_json *lgp_json_new_null(void) { return node(LGP_JSON_NULL); }
lgp_json *lgp_json_new_num(double v) {
    lgp_json *j = node(LGP_JSON_NUM);
    if (j) j->num = v;
    return j;
}
lgp_json *lgp_json_new_u64(uint64_t v) {
    lgp_json *j = node(LGP_JSON_NUM);
    if (j) {
        j->num = (double)v;
        j->is_int = 1;
        j->u = v;
    }
    return j;
}
lgp_json *lgp_json_new_i64(int64_t v) {
    lgp_json *j = lgp_json_new_u64(v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
    if (j) {
        j->num = (double)v;
        j->is_neg = v < 0;
    }
    return j;
}
lgp_json *lgp_json_new_bool(int b) {
    lgp_json *j = node(LGP_JSON_BOOL);
    if (j) j->boolean = !!b;
    return j;
}
lgp_json *lgp_json_new_str(const char *s) {
    lgp_json *j = node(LGP_JSON_STR);
    if (j) j->str = strdup(s ? s : "");
    return j;
}

static void grow(lgp_json *c) {
    if (c->n < c->cap) return;
    size_t cap = c->cap ? 2 * c->cap : 4;
    lgp_json **it = realloc(c->items, cap * sizeof *it);
    LGP_JSON_CHECK_ALLOC(it);
    c->items = it;
    if (c->type == LGP_JSON_OBJ) {
        char **k = realloc(c->keys, cap * sizeof *k);
        LGP_JSON_CHECK_ALLOC(k);
        c->keys = k;
    }
    c->cap = cap;
}

void lgp_json_set(lgp_json *obj, const char *key, lgp_json *val) {
    if (!obj || obj->type != LGP_JSON_OBJ || !val) { lgp_json_free(val); return; }
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) {
            lgp_json_free(obj->items[i]);
            obj->items[i] = val;
            return;
        }
    grow(obj);
    obj->keys[obj->n] = strdup(key);
    LGP_JSON_CHECK_ALLOC(obj->keys[obj->n]);
    obj->items[obj->n++] = val;
}

void lgp_json_set_num(lgp_json *obj, const char *key, double v) { lgp_json_set(obj, key, lgp_json_new_num(v)); }
void lgp_json_set_i64(lgp_json *obj, const char *key, int64_t v) { lgp_json_set(obj, key, lgp_json_new_i64(v)); }
void lgp_json_set_u64(lgp_json *obj, const char *key, uint64_t v) { lgp_json_set(obj, key, lgp_json_new_u64(v)); }
void lgp_json_set_str(lgp_json *obj, const char *key, const char *s) { lgp_json_set(obj, key, lgp_json_new_str(s)); }

void lgp_json_push(lgp_json *arr, lgp_json *val) {
    if (!arr || arr->type != LGP_JSON_ARR || !val) { lgp_json_free(val); return; }
    grow(arr);
    arr->items[arr->n++] = val;
}

void lgp_json_remove(lgp_json *obj, const char *key) {
    if (!obj || obj->type != LGP_JSON_OBJ) return;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) {
            lgp_json_free(obj->items[i]);
            free(obj->keys[i]);
            memmove(&obj->items[i], &obj->items[i + 1], (obj->n - i - 1) * sizeof *obj->items);
            memmove(&obj->keys[i], &obj->keys[i + 1], (obj->n - i - 1) * sizeof *obj->keys);
            obj->n--;
            return;
        }
}

lgp_json *lgp_json_clone(const lgp_json *j) {
    if (!j) return NULL;
    lgp_json *c = node(j->type);
    LGP_JSON_CHECK_ALLOC(c);
    c->boolean = j->boolean;
    c->num = j->num;
    c->is_int = j->is_int;
    c->is_neg = j->is_neg;
    c->u = j->u;
    if (j->str) c->str = strdup(j->str);
    for (size_t i = 0; i < j->n; i++) {
        if (j->type == LGP_JSON_OBJ) lgp_json_set(c, j->keys[i], lgp_json_clone(j->items[i]));
        else lgp_json_push(c, lgp_json_clone(j->items[i]));
    }
    return c;
}

/* ---- writer ---- */
typedef struct { char *s; size_t n, cap; } sbuf;

static void sb_add(sbuf *b, const char *p, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        LGP_JSON_CHECK_ALLOC(s);
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) {
    sb_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char e[8];
        if (*p == '"' || *p == '\\') { e[0] = '\\'; e[1] = (char)*p; sb_add(b, e, 2); }
        else if (*p == '\n') sb_add(b, "\\n", 2);
        else if (*p == '\t') sb_add(b, "\\t", 2);
        else if (*p == '\r') sb_add(b, "\\r", 2);
        else if (*p < 0x20) { snprintf(e, sizeof e, "\\u%04x", *p); sb_add(b, e, 6); }
        else sb_add(b, (const char *)p, 1);
    }
    sb_add(b, "\"", 1);
}

static void dump(sbuf *b, const lgp_json *j) {
    char num[40];
    switch (j->type) {
    case LGP_JSON_NULL: sb_add(b, "null", 4); break;
    case LGP_JSON_BOOL: sb_add(b, j->boolean ? "true" : "false", j->boolean ? 4 : 5); break;
    case LGP_JSON_NUM:
        if (j->is_int) snprintf(num, sizeof num, "%s%" PRIu64, j->is_neg ? "-" : "", j->u);
        else if (!isfinite(j->num)) snprintf(num, sizeof num, "null");
        else if (j->num == floor(j->num) && fabs(j->num) < 1e15) snprintf(num, sizeof num, "%.0f", j->num);
        else snprintf(num, sizeof num, "%.17g", j->num);
        sb_add(b, num, strlen(num));
        break;
    case LGP_JSON_STR: sb_str(b, j->str); break;
    case LGP_JSON_ARR:
    case LGP_JSON_OBJ:
        sb_add(b, j->type == LGP_JSON_OBJ ? "{" : "[", 1);
        for (size_t i = 0; i < j->n; i++) {
            if (i) sb_add(b, ",", 1);
            if (j->type == LGP_JSON_OBJ) { sb_str(b, j->keys[i]); sb_add(b, ":", 1); }
            dump(b, j->items[i]);
        }
        sb_add(b, j->type == LGP_JSON_OBJ ? "}" : "]", 1);
        break;
    }
}

char *lgp_json_dump(const lgp_json *j) {
    sbuf b = {0};
    sb_add(&b, "", 0);
    if (j) dump(&b, j);
    else sb_add(&b, "null", 4);
    return b.s;
}
