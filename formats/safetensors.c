/* safetensors.c — validated safetensors reader and atomic writer (see safetensors.h). */
#include "safetensors.h"

#include "atomicfile.h"
#include "json.h"
#include "le.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct { const char *st; lgp_dtype dt; } dtmap[] = {
    {"F32", LGP_DT_F32}, {"F16", LGP_DT_F16}, {"BF16", LGP_DT_BF16}, {"F64", LGP_DT_F64},
    {"I64", LGP_DT_I64}, {"I32", LGP_DT_I32}, {"I8", LGP_DT_I8},     {"U8", LGP_DT_U8},
    {"BOOL", LGP_DT_U8},
};

static const char *st_name(lgp_dtype dt) {
    for (size_t i = 0; i < LGP_ARRAY_LEN(dtmap); i++)
        if (dtmap[i].dt == dt) return dtmap[i].st;
    return NULL;
}

typedef struct { uint64_t b, e; const char *name; } span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->b < y->b ? -1 : x->b > y->b ? 1 : (x->e < y->e ? -1 : x->e > y->e);
}

/* Validates one header entry and adds the tensor (borrowed from data) to rec. */
static int parse_entry(const char *name, const lgp_json *v, const unsigned char *data,
                       uint64_t dlen, lgp_record *rec, span *sp, char *err, size_t errlen) {
    const char *dts = lgp_json_get_str(v, "dtype", NULL);
    const lgp_json *shape = lgp_json_get(v, "shape"), *offs = lgp_json_get(v, "data_offsets");
    if (v->type != LGP_JSON_OBJ || !dts || !shape || shape->type != LGP_JSON_ARR || !offs ||
        offs->type != LGP_JSON_ARR || offs->n != 2)
        return snprintf(err, errlen, "tensor '%s': needs dtype, shape and data_offsets", name), LGP_FATAL;
    int dt = -1;
    for (size_t i = 0; i < LGP_ARRAY_LEN(dtmap); i++)
        if (strcmp(dts, dtmap[i].st) == 0) dt = (int)dtmap[i].dt;
    if (dt < 0) return snprintf(err, errlen, "tensor '%s': unsupported dtype '%s'", name, dts), LGP_FATAL;
    if (shape->n > LGP_MAX_NDIM) return snprintf(err, errlen, "tensor '%s': rank %zu exceeds 8", name, shape->n), LGP_FATAL;
    int64_t sh[LGP_MAX_NDIM];
    uint64_t numel = 1;
    for (size_t i = 0; i < shape->n; i++) {
        const lgp_json *d = shape->items[i];
        if (d->type != LGP_JSON_NUM || d->num < 0 || d->num != (double)(int64_t)d->num || d->num > 9e15)
            return snprintf(err, errlen, "tensor '%s': bad shape entry", name), LGP_FATAL;
        sh[i] = (int64_t)d->num;
        if (sh[i] && numel > UINT64_MAX / 16 / (uint64_t)sh[i])
            return snprintf(err, errlen, "tensor '%s': shape overflows", name), LGP_FATAL;
        numel *= (uint64_t)sh[i];
    }
    for (int i = 0; i < 2; i++) {
        const lgp_json *o = offs->items[i];
        if (o->type != LGP_JSON_NUM || o->num < 0 || o->num != (double)(uint64_t)o->num)
            return snprintf(err, errlen, "tensor '%s': bad data_offsets", name), LGP_FATAL;
    }
    sp->b = (uint64_t)offs->items[0]->num;
    sp->e = (uint64_t)offs->items[1]->num;
    sp->name = name;
    if (sp->b > sp->e || sp->e > dlen)
        return snprintf(err, errlen, "tensor '%s': data_offsets [%llu, %llu] outside the %llu-byte buffer", name,
                        (unsigned long long)sp->b, (unsigned long long)sp->e, (unsigned long long)dlen), LGP_FATAL;
    if (numel * lgp_dtype_size((lgp_dtype)dt) != sp->e - sp->b)
        return snprintf(err, errlen, "tensor '%s': %llu bytes do not match shape and dtype", name,
                        (unsigned long long)(sp->e - sp->b)), LGP_FATAL;
    const unsigned char *p = data + sp->b;
    int mode = ((uintptr_t)p % 8 == 0) ? LGP_BORROW : LGP_COPY;
    if (lgp_record_put(rec, name, (lgp_dtype)dt, (int)shape->n, sh, p, (size_t)(sp->e - sp->b), mode) != LGP_OK)
        return snprintf(err, errlen, "tensor '%s': cannot store (name too long or out of memory)", name), LGP_FATAL;
    return LGP_OK;
}

static int check_tiling(span *sp, size_t n, uint64_t dlen, char *err, size_t errlen) {
    qsort(sp, n, sizeof *sp, cmp_span);
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (sp[i].b < at) return snprintf(err, errlen, "tensor '%s' overlaps another tensor's bytes", sp[i].name), LGP_FATAL;
        if (sp[i].b > at) return snprintf(err, errlen, "gap of %llu bytes before tensor '%s'", (unsigned long long)(sp[i].b - at), sp[i].name), LGP_FATAL;
        at = sp[i].e;
    }
    if (at != dlen) return snprintf(err, errlen, "%llu bytes after the last tensor", (unsigned long long)(dlen - at)), LGP_FATAL;
    return LGP_OK;
}

int lgp_st_parse(const unsigned char *buf, size_t len, lgp_record *rec, char **metadata_out,
                 char *err, size_t errlen) {
    lgp_record_clear(rec);
    if (metadata_out) *metadata_out = NULL;
    if (len < 8) return snprintf(err, errlen, "file of %zu bytes is too short for safetensors", len), LGP_FATAL;
    uint64_t n = lgp_rd64(buf);
    if (n > LGP_ST_MAX_HEADER || n > len - 8)
        return snprintf(err, errlen, "header length %llu exceeds the file or the 100 MB limit", (unsigned long long)n), LGP_FATAL;
    char jerr[128];
    lgp_json *h = lgp_json_parse((const char *)buf + 8, (size_t)n, jerr, sizeof jerr);
    /* The reference writer pads the header with trailing spaces; the parser skips them. */
    if (!h) return snprintf(err, errlen, "header: %s", jerr), LGP_FATAL;
    if (h->type != LGP_JSON_OBJ) { lgp_json_free(h); return snprintf(err, errlen, "header is not a JSON object"), LGP_FATAL; }
    const unsigned char *data = buf + 8 + n;
    uint64_t dlen = len - 8 - n;
    span *sp = calloc(h->n + 1, sizeof *sp);
    size_t ns = 0;
    int rc = sp ? LGP_OK : (snprintf(err, errlen, "out of memory"), LGP_FATAL);
    for (size_t i = 0; rc == LGP_OK && i < h->n; i++) {
        if (strcmp(h->keys[i], "__metadata__") == 0) {
            const lgp_json *m = h->items[i];
            int strings = m->type == LGP_JSON_OBJ;
            for (size_t k = 0; strings && k < m->n; k++) strings = m->items[k]->type == LGP_JSON_STR;
            if (!strings)
                rc = (snprintf(err, errlen, "__metadata__ must map strings to strings"), LGP_FATAL);
            else if (metadata_out)
                *metadata_out = lgp_json_dump(m);
            continue;
        }
        rc = parse_entry(h->keys[i], h->items[i], data, dlen, rec, &sp[ns++], err, errlen);
    }
    if (rc == LGP_OK) rc = check_tiling(sp, ns, dlen, err, errlen);
    free(sp);
    lgp_json_free(h);
    if (rc == LGP_OK && metadata_out && !*metadata_out) *metadata_out = strdup("{}");
    if (rc != LGP_OK) {
        lgp_record_clear(rec);
        if (metadata_out) { free(*metadata_out); *metadata_out = NULL; }
    }
    return rc;
}

int lgp_st_sniff(const char *path) {
    struct stat st; /* a pipe or FIFO is never opened here: its bytes belong to the stream reader */
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    unsigned char b[9];
    ssize_t k = read(fd, b, 9);
    close(fd);
    return k == 9 && memcmp(b, "LGPS", 4) != 0 && lgp_rd32(b) != 0xFD2FB528u && b[8] == '{' && lgp_rd64(b) < LGP_ST_MAX_HEADER;
}

int lgp_st_load(const char *path, lgp_record *rec, char **metadata_out, char *err, size_t errlen) {
    char e[400];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return snprintf(err, errlen, "%s: %s", path, strerror(errno)), LGP_FATAL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return snprintf(err, errlen, "%s: not a regular file", path), LGP_FATAL;
    }
    size_t len = (size_t)st.st_size;
    lgp_record_clear(rec);
    if (len > rec->buf_cap) {
        unsigned char *nb = realloc(rec->buf, len ? len : 1);
        if (!nb) { close(fd); return snprintf(err, errlen, "%s: out of memory", path), LGP_FATAL; }
        rec->buf = nb;
        rec->buf_cap = len;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t k = read(fd, rec->buf + got, len - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) { close(fd); return snprintf(err, errlen, "%s: read error", path), LGP_FATAL; }
        got += (size_t)k;
    }
    close(fd);
    if (lgp_st_parse(rec->buf, len, rec, metadata_out, e, sizeof e) != LGP_OK)
        return snprintf(err, errlen, "%s: %s", path, e), LGP_FATAL;
    return LGP_OK;
}

/* Builds the header JSON: tensors in record order, offsets packed back to back. */
static char *build_header(const lgp_record *rec, const char *metadata_json, char *err, size_t errlen) {
    lgp_json *h = lgp_json_new_obj();
    if (metadata_json) {
        lgp_json *m = lgp_json_parse(metadata_json, strlen(metadata_json), NULL, 0);
        if (!m || m->type != LGP_JSON_OBJ) {
            lgp_json_free(m);
            lgp_json_free(h);
            snprintf(err, errlen, "metadata is not a JSON object");
            return NULL;
        }
        lgp_json *sm = lgp_json_new_obj();
        for (size_t i = 0; i < m->n; i++) {
            if (m->items[i]->type == LGP_JSON_STR) lgp_json_set_str(sm, m->keys[i], m->items[i]->str);
            else {
                char *t = lgp_json_dump(m->items[i]);
                lgp_json_set_str(sm, m->keys[i], t);
                free(t);
            }
        }
        lgp_json_free(m);
        lgp_json_set(h, "__metadata__", sm);
    }
    uint64_t at = 0;
    for (size_t i = 0; i < rec->n; i++) {
        const lgp_tensor *t = &rec->t[i];
        const char *dt = st_name(t->dtype);
        if (!dt) {
            lgp_json_free(h);
            snprintf(err, errlen, "tensor '%s': dtype %s cannot be stored in safetensors", t->name, lgp_dtype_name(t->dtype));
            return NULL;
        }
        lgp_json *e = lgp_json_new_obj(), *sh = lgp_json_new_arr(), *of = lgp_json_new_arr();
        lgp_json_set_str(e, "dtype", dt);
        for (int d = 0; d < t->ndim; d++) lgp_json_push(sh, lgp_json_new_num((double)t->shape[d]));
        lgp_json_set(e, "shape", sh);
        lgp_json_push(of, lgp_json_new_num((double)at));
        lgp_json_push(of, lgp_json_new_num((double)(at + t->nbytes)));
        lgp_json_set(e, "data_offsets", of);
        lgp_json_set(h, t->name, e);
        at += t->nbytes;
    }
    char *s = lgp_json_dump(h);
    lgp_json_free(h);
    return s;
}

int lgp_st_save(const char *path, const lgp_record *rec, const char *metadata_json,
                char *err, size_t errlen) {
    char *hdr = build_header(rec, metadata_json, err, errlen);
    if (!hdr) return LGP_FATAL;
    size_t n = strlen(hdr), padded = (n + 7) / 8 * 8;
    if (padded > LGP_ST_MAX_HEADER) { /* readers (lgp_st_parse, the reference) refuse it */
        free(hdr);
        return snprintf(err, errlen, "%s: header of %zu bytes exceeds the 100 MB safetensors limit", path, padded), LGP_FATAL;
    }
    char *ph = realloc(hdr, padded + 1);
    if (!ph) { free(hdr); return snprintf(err, errlen, "%s: out of memory", path), LGP_FATAL; }
    memset(ph + n, ' ', padded - n); /* pad so the byte buffer starts 8-aligned */
    lgp_atomic at;
    if (lgp_atomic_open(&at, path, err, errlen) != LGP_OK) { free(ph); return LGP_FATAL; }
    unsigned char len8[8];
    lgp_wr64(len8, padded);
    int bad = lgp_write_all(at.fd, len8, 8) || lgp_write_all(at.fd, ph, padded);
    for (size_t i = 0; !bad && i < rec->n; i++) bad = lgp_write_all(at.fd, rec->t[i].data, rec->t[i].nbytes);
    free(ph);
    if (bad) {
        snprintf(err, errlen, "%s: write error: %s", path, strerror(errno));
        lgp_atomic_abort(&at);
        return LGP_FATAL;
    }
    return lgp_atomic_commit(&at, err, errlen);
}
