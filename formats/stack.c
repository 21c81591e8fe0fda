/* stack.c — records stacked into arrays, saved as .npz or safetensors (see stack.h). */
#include "stack.h"

#include "json.h"
#include "npz.h"
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_text(lgp_dtype dt) { return dt == LGP_DT_STR || dt == LGP_DT_JSON; }

void lgp_stack_init(lgp_stack *s) {
    memset(s, 0, sizeof *s);
    s->key.text = 1;
    s->key.dtype = LGP_DT_STR;
}

static void col_free(lgp_stack_col *c) {
    free(c->name);
    free(c->data);
    free(c->offs);
    memset(c, 0, sizeof *c);
}

void lgp_stack_free(lgp_stack *s) {
    col_free(&s->key);
    for (size_t i = 0; i < s->ncol; i++) col_free(&s->col[i]);
    free(s->col);
    memset(s, 0, sizeof *s);
}

/* Capacity for need elements of size elem (doubling); 0, or -1 on overflow / no memory. */
static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) {
        if (nc > SIZE_MAX / 2 / elem) return -1;
        nc *= 2;
    }
    void *q = realloc(*p, nc * elem);
    if (!q) return -1;
    *p = q;
    *cap = nc;
    return 0;
}

static int col_reserve(lgp_stack_col *c, uint64_t n, size_t bytes) {
    if (c->len > SIZE_MAX - bytes || grow((void **)&c->data, &c->cap, c->len + bytes, 1)) return -1;
    return c->text ? grow((void **)&c->offs, &c->offs_cap, (size_t)n + 2, sizeof *c->offs) : 0;
}

/* Appends record i's value; capacity was reserved. */
static void col_append(lgp_stack_col *c, uint64_t i, const void *p, size_t bytes) {
    if (bytes) memcpy(c->data + c->len, p, bytes);
    if (c->text) c->offs[i] = c->len, c->offs[i + 1] = c->len + bytes;
    c->len += bytes;
}

static void describe(char *buf, size_t n, lgp_dtype dt, int ndim, const int64_t *shape) {
    int k = snprintf(buf, n, "%s [", lgp_dtype_name(dt));
    for (int d = 0; d < ndim && k > 0 && (size_t)k < n; d++) k += snprintf(buf + k, n - (size_t)k, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (k > 0 && (size_t)k < n) snprintf(buf + k, n - (size_t)k, "]");
}

/* Does rec hold the first record's tensors? NULL, or why not (in why). */
static const char *mismatch(const lgp_stack *s, const lgp_record *rec, char *why, size_t wl) {
    for (size_t i = 0; i < s->ncol; i++) {
        const lgp_stack_col *c = &s->col[i];
        const lgp_tensor *t = lgp_record_get(rec, c->name);
        if (!t) return snprintf(why, wl, "no tensor '%s' (the first record has one)", c->name), why;
        int same = c->text == is_text(t->dtype) && (c->text || (t->dtype == c->dtype && t->ndim == c->ndim));
        for (int d = 0; same && !c->text && d < c->ndim; d++) same = t->shape[d] == c->shape[d];
        if (!same) {
            char a[160], b[160];
            describe(a, sizeof a, t->dtype, t->ndim, t->shape);
            describe(b, sizeof b, c->dtype, c->ndim, c->shape);
            return snprintf(why, wl, "tensor '%s' is %s, the first record's is %s (arrays need one shape)", c->name, a, b), why;
        }
    }
    for (size_t k = 0; rec->n != s->ncol && k < rec->n; k++) {
        size_t i = 0;
        while (i < s->ncol && strcmp(s->col[i].name, rec->t[k].name) != 0) i++;
        if (i == s->ncol) return snprintf(why, wl, "tensor '%s' is not in the first record", rec->t[k].name), why;
    }
    return NULL;
}

static int first_record(lgp_stack *s, const lgp_record *rec) {
    if (rec->n && !(s->col = calloc(rec->n, sizeof *s->col))) return -1;
    for (size_t i = 0; i < rec->n; i++) {
        const lgp_tensor *t = &rec->t[i];
        lgp_stack_col *c = &s->col[s->ncol++];
        if (!(c->name = strdup(t->name))) return -1;
        c->dtype = t->dtype;
        c->text = is_text(t->dtype);
        c->ndim = c->text ? 0 : t->ndim;
        for (int d = 0; d < c->ndim; d++) c->shape[d] = t->shape[d];
        c->rec_bytes = c->text ? 0 : t->nbytes;
    }
    return 0;
}

int lgp_stack_add(lgp_stack *s, const lgp_record *rec, char *err, size_t errlen) {
    char why[400];
    const char *key = rec->key ? rec->key : "";
    if (s->n == 0 && first_record(s, rec) != 0) {
        for (size_t i = 0; i < s->ncol; i++) col_free(&s->col[i]);
        free(s->col), s->col = NULL, s->ncol = 0;
        return snprintf(err, errlen, "record 0 '%s': out of memory", key), LGP_FATAL;
    }
    if (s->n && mismatch(s, rec, why, sizeof why))
        return snprintf(err, errlen, "record %llu '%s': %s", (unsigned long long)s->n, key, why), LGP_FATAL;
    int bad = col_reserve(&s->key, s->n, strlen(key));
    for (size_t i = 0; !bad && i < s->ncol; i++) bad = col_reserve(&s->col[i], s->n, lgp_record_get(rec, s->col[i].name)->nbytes);
    if (bad) return snprintf(err, errlen, "record %llu '%s': out of memory for the stacked arrays", (unsigned long long)s->n, key), LGP_FATAL;
    col_append(&s->key, s->n, key, strlen(key));
    for (size_t i = 0; i < s->ncol; i++) {
        const lgp_tensor *t = lgp_record_get(rec, s->col[i].name);
        col_append(&s->col[i], s->n, t->data, t->nbytes);
    }
    s->n++;
    return LGP_OK;
}

/* [N, shape...] of column c into sh; returns its rank. */
static int stacked_shape(const lgp_stack *s, const lgp_stack_col *c, int64_t *sh) {
    sh[0] = (int64_t)s->n;
    for (int d = 0; d < c->ndim; d++) sh[d + 1] = c->shape[d];
    return c->ndim + 1;
}

int lgp_stack_save_npz(const lgp_stack *s, const char *meta_json, const char *path, unsigned npz_flags,
                       char *err, size_t errlen) {
    for (size_t i = 0; i < s->ncol; i++) {
        const lgp_stack_col *c = &s->col[i];
        if (strcmp(c->name, "key") == 0 || (meta_json && strcmp(c->name, "__meta__") == 0))
            return snprintf(err, errlen, "%s: tensor '%s' has the name of the %s array", path, c->name, c->name), LGP_FATAL;
        if (!c->text && !lgp_npz_descr(c->dtype))
            return snprintf(err, errlen, "%s: tensor '%s': dtype %s has no NumPy equivalent", path, c->name, lgp_dtype_name(c->dtype)), LGP_FATAL;
    }
    lgp_npz *z;
    if (lgp_npz_open(&z, path, npz_flags, err, errlen) != LGP_OK) return LGP_FATAL;
    int64_t sh[LGP_MAX_NDIM + 1];
    int rc = lgp_npz_add_text(z, "key", stacked_shape(s, &s->key, sh), sh, (const char *)s->key.data, s->key.offs, err, errlen);
    for (size_t i = 0; rc == LGP_OK && i < s->ncol; i++) {
        const lgp_stack_col *c = &s->col[i];
        int nd = stacked_shape(s, c, sh);
        rc = c->text ? lgp_npz_add_text(z, c->name, nd, sh, (const char *)c->data, c->offs, err, errlen)
                     : lgp_npz_add(z, c->name, c->dtype, nd, sh, c->data, c->len, err, errlen);
    }
    if (rc == LGP_OK && meta_json) {
        uint64_t mo[2] = {0, strlen(meta_json)};
        rc = lgp_npz_add_text(z, "__meta__", 0, NULL, meta_json, mo, err, errlen);
    }
    if (rc != LGP_OK) {
        lgp_npz_abort(z);
        return LGP_FATAL;
    }
    return lgp_npz_close(z, err, errlen);
}

/* __metadata__: the keys as a JSON list, the stream header as "lgp_meta". */
static char *st_metadata(const lgp_stack *s, const char *meta_json) {
    lgp_json *m = lgp_json_new_obj(), *keys = lgp_json_new_arr();
    char *k = NULL;
    for (uint64_t i = 0; i < s->n; i++) {
        size_t n = (size_t)(s->key.offs[i + 1] - s->key.offs[i]);
        char *nk = realloc(k, n + 1);
        if (!nk) break;
        k = nk;
        memcpy(k, s->key.data + s->key.offs[i], n);
        k[n] = 0;
        lgp_json_push(keys, lgp_json_new_str(k));
    }
    free(k);
    lgp_json_set(m, "keys", keys);
    if (meta_json) lgp_json_set_str(m, "lgp_meta", meta_json);
    char *text = keys->n == s->n ? lgp_json_dump(m) : NULL;
    lgp_json_free(m);
    return text;
}

int lgp_stack_save_st(const lgp_stack *s, const char *meta_json, const char *path, char *err, size_t errlen) {
    lgp_record out;
    lgp_record_init(&out);
    int rc = LGP_OK;
    for (size_t i = 0; rc == LGP_OK && i < s->ncol; i++) {
        const lgp_stack_col *c = &s->col[i];
        int64_t sh[LGP_MAX_NDIM + 1];
        int nd = stacked_shape(s, c, sh);
        if (c->text)
            rc = (snprintf(err, errlen, "%s: tensor '%s' is text (%s); safetensors holds numbers only (--to-npz keeps it)",
                           path, c->name, lgp_dtype_name(c->dtype)), LGP_FATAL);
        else if (nd > LGP_MAX_NDIM || strcmp(c->name, "__metadata__") == 0)
            rc = (snprintf(err, errlen, "%s: tensor '%s' cannot be stored in safetensors (%s)", path, c->name,
                           nd > LGP_MAX_NDIM ? "rank 8 with the record axis added" : "reserved name"), LGP_FATAL);
        else if (lgp_record_put(&out, c->name, c->dtype, nd, sh, c->data, c->len, LGP_BORROW) != LGP_OK)
            rc = (snprintf(err, errlen, "%s: out of memory", path), LGP_FATAL);
    }
    char *meta = rc == LGP_OK ? st_metadata(s, meta_json) : NULL;
    if (rc == LGP_OK && !meta) rc = (snprintf(err, errlen, "%s: out of memory", path), LGP_FATAL);
    if (rc == LGP_OK) rc = lgp_st_save(path, &out, meta, err, errlen);
    free(meta);
    lgp_record_free(&out);
    return rc;
}
