/* record.c — lgp_record: a key plus named tensors (see stream.h for ownership). */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

typedef struct { const char *name; size_t size; } dtype_info;
static const dtype_info dtypes[] = {
    [LGP_DT_U8] = {"u8", 1},     [LGP_DT_I8] = {"i8", 1},   [LGP_DT_I32] = {"i32", 4},
    [LGP_DT_I64] = {"i64", 8},   [LGP_DT_F16] = {"f16", 2}, [LGP_DT_BF16] = {"bf16", 2},
    [LGP_DT_F32] = {"f32", 4},   [LGP_DT_F64] = {"f64", 8}, [LGP_DT_STR] = {"str", 1},
    [LGP_DT_JSON] = {"json", 1},
};
_Static_assert(LGP_ARRAY_LEN(dtypes) == LGP_DT_COUNT, "dtype table out of step with lgp_dtype");

size_t lgp_dtype_size(lgp_dtype dt) { return (unsigned)dt < LGP_DT_COUNT ? dtypes[dt].size : 0; }
const char *lgp_dtype_name(lgp_dtype dt) { return (unsigned)dt < LGP_DT_COUNT ? dtypes[dt].name : "?"; }
int lgp_dtype_from_name(const char *s) {
    for (int i = 0; i < LGP_DT_COUNT; i++)
        if (strcmp(s, dtypes[i].name) == 0) return i;
    return -1;
}

void lgp_record_init(lgp_record *r) { memset(r, 0, sizeof *r); }

static void tensor_release(lgp_tensor *t) {
    free(t->name);
    if (!t->borrowed) free(t->data);
    memset(t, 0, sizeof *t);
}

void lgp_record_clear(lgp_record *r) {
    for (size_t i = 0; i < r->n; i++) tensor_release(&r->t[i]);
    r->n = 0;
    free(r->key);
    r->key = NULL;
}

void lgp_record_free(lgp_record *r) {
    lgp_record_clear(r);
    free(r->t);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

int lgp_record_set_key(lgp_record *r, const char *key) {
    char *k = strdup(key ? key : "");
    if (!k) return LGP_FATAL;
    free(r->key);
    r->key = k;
    return LGP_OK;
}

int64_t lgp_tensor_numel(const lgp_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

/* numel * dtype size without overflow; -1 if it overflows or a dim is negative. */
static int64_t checked_nbytes(lgp_dtype dt, int ndim, const int64_t *shape) {
    uint64_t n = lgp_dtype_size(dt);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return -1;
        if (shape[i] && n > (uint64_t)INT64_MAX / (uint64_t)shape[i]) return -1;
        n *= (uint64_t)shape[i];
    }
    return (int64_t)n;
}

static lgp_tensor *find(const lgp_record *r, const char *name) {
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->t[i].name, name) == 0) return &r->t[i];
    return NULL;
}

const lgp_tensor *lgp_record_get(const lgp_record *r, const char *name) { return find(r, name); }

int lgp_record_put(lgp_record *r, const char *name, lgp_dtype dt, int ndim,
                   const int64_t *shape, const void *data, size_t nbytes, int mode) {
    if ((unsigned)dt >= LGP_DT_COUNT || ndim < 0 || ndim > LGP_MAX_NDIM) return LGP_FATAL;
    if (checked_nbytes(dt, ndim, shape) != (int64_t)nbytes) return LGP_FATAL;
    if (strlen(name) > LGP_MAX_NAME || !*name) return LGP_FATAL;
    void *d = (void *)data;
    if (mode == LGP_COPY) {
        d = malloc(nbytes ? nbytes : 1);
        if (!d) return LGP_FATAL;
        if (nbytes) memcpy(d, data, nbytes);
    }
    lgp_tensor *t = find(r, name);
    if (t) {
        if (!t->borrowed) free(t->data);
    } else {
        if (r->n == r->cap) {
            size_t cap = r->cap ? 2 * r->cap : 8;
            lgp_tensor *nt = realloc(r->t, cap * sizeof *nt);
            if (!nt) goto oom;
            r->t = nt;
            r->cap = cap;
        }
        t = &r->t[r->n];
        memset(t, 0, sizeof *t);
        t->name = strdup(name);
        if (!t->name) goto oom;
        r->n++;
    }
    t->dtype = dt;
    t->ndim = ndim;
    memset(t->shape, 0, sizeof t->shape);
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->nbytes = nbytes;
    t->data = d;
    t->borrowed = mode == LGP_BORROW;
    return LGP_OK;
oom:
    if (mode == LGP_COPY) free(d);
    return LGP_FATAL;
}

int lgp_record_put_str(lgp_record *r, const char *name, lgp_dtype dt, const char *text) {
    int64_t n = (int64_t)strlen(text);
    return lgp_record_put(r, name, dt, 1, &n, text, (size_t)n, LGP_COPY);
}

int lgp_record_put_i64(lgp_record *r, const char *name, int64_t v) {
    return lgp_record_put(r, name, LGP_DT_I64, 0, NULL, &v, sizeof v, LGP_COPY);
}

int lgp_record_remove(lgp_record *r, const char *name) {
    lgp_tensor *t = find(r, name);
    if (!t) return LGP_EOF;
    size_t i = (size_t)(t - r->t);
    tensor_release(t);
    memmove(&r->t[i], &r->t[i + 1], (r->n - i - 1) * sizeof *t);
    r->n--;
    return LGP_OK;
}

int lgp_record_copy(lgp_record *dst, const lgp_record *src) {
    lgp_record_clear(dst);
    if (lgp_record_set_key(dst, src->key) != LGP_OK) return LGP_FATAL;
    for (size_t i = 0; i < src->n; i++) {
        const lgp_tensor *t = &src->t[i];
        if (lgp_record_put(dst, t->name, t->dtype, t->ndim, t->shape, t->data, t->nbytes,
                           LGP_COPY) != LGP_OK)
            return LGP_FATAL;
    }
    return LGP_OK;
}

int lgp_tensor_get_int(const lgp_tensor *t, int64_t *v) {
    if (!t || lgp_tensor_numel(t) != 1) return LGP_FATAL;
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case LGP_DT_U8: *v = p[0]; return LGP_OK;
    case LGP_DT_I8: *v = (int8_t)p[0]; return LGP_OK;
    case LGP_DT_I32: { int32_t x; memcpy(&x, p, 4); *v = x; return LGP_OK; }
    case LGP_DT_I64: { int64_t x; memcpy(&x, p, 8); *v = x; return LGP_OK; }
    default: return LGP_FATAL;
    }
}
