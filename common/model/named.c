/* named.c — see named.h. */
#include "common/model/named.h"

#include "common/lgp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lgp_named_init(lgp_named_list *l) { memset(l, 0, sizeof *l); }

void lgp_named_free(lgp_named_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i].name);
    free(l->v);
    memset(l, 0, sizeof *l);
}

void lgp_named_add(lgp_named_list *l, const char *prefix, const char *name, int ndim,
                   const int64_t *shape, float *data) {
    LGP_ASSERT(ndim >= 0 && ndim <= 4);
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        LGP_ASSERT(l->v);
    }
    lgp_named *e = &l->v[l->n++];
    memset(e, 0, sizeof *e);
    size_t n = strlen(prefix ? prefix : "") + strlen(name) + 1;
    e->name = malloc(n);
    LGP_ASSERT(e->name);
    snprintf(e->name, n, "%s%s", prefix ? prefix : "", name);
    e->ndim = ndim;
    e->numel = 1;
    for (int d = 0; d < ndim; d++) {
        e->shape[d] = shape[d];
        e->numel *= (size_t)shape[d];
    }
    e->data = data;
}

void lgp_named_add_params(lgp_named_list *l, const char *prefix, const lgp_params *p, float *buf,
                          unsigned skip_flags) {
    for (size_t i = 0; i < p->count; i++) {
        const lgp_param *e = &p->entries[i];
        if (e->flags & skip_flags) continue;
        lgp_named_add(l, prefix, e->name, e->ndim, e->shape, buf + e->offset);
    }
}

const lgp_named *lgp_named_find(const lgp_named_list *l, const char *name) {
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0) return &l->v[i];
    return NULL;
}

int lgp_named_put(lgp_record *rec, const lgp_named_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        const lgp_named *e = &l->v[i];
        if (lgp_record_put(rec, e->name, LGP_DT_F32, e->ndim, e->shape, e->data, e->numel * 4,
                           LGP_BORROW) != LGP_OK)
            return LGP_FATAL;
    }
    return LGP_OK;
}

static int has_prefix(const char *const *list, const char *s) {
    for (; list && *list; list++)
        if (strncmp(s, *list, strlen(*list)) == 0) return 1;
    return 0;
}

static const char *stripped(const lgp_load_rules *r, const char *s) {
    for (int again = 1; again;) {
        again = 0;
        for (const char *const *p = r->strip; p && *p; p++)
            if (strncmp(s, *p, strlen(*p)) == 0) {
                s += strlen(*p);
                again = 1;
            }
    }
    return s;
}

static float half_to_float(uint16_t h, int bf16) {
    uint32_t x;
    if (bf16) x = (uint32_t)h << 16;
    else {
        uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023;
        if (e == 0) { /* subnormal: value m * 2^-24 */
            float f = (float)m * 5.9604644775390625e-8f;
            return s ? -f : f;
        }
        x = s | (e == 31 ? 0x7f800000u | m << 13 : (e + 112) << 23 | m << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

static int copy_in(const lgp_named *e, const lgp_tensor *t, char *why, size_t wl) {
    int64_t numel = lgp_tensor_numel(t);
    /* Shapes must agree exactly: timm keeps cls_token as [1,1,C], so do we. */
    int same = t->ndim == e->ndim;
    for (int d = 0; same && d < e->ndim; d++) same = t->shape[d] == e->shape[d];
    if (!same || (size_t)numel != e->numel)
        return snprintf(why, wl, "shape mismatch for '%s'", e->name), LGP_FATAL;
    if (t->dtype == LGP_DT_F32) memcpy(e->data, t->data, e->numel * 4);
    else if (t->dtype == LGP_DT_F16 || t->dtype == LGP_DT_BF16) {
        const unsigned char *p = t->data;
        for (size_t i = 0; i < e->numel; i++)
            e->data[i] = half_to_float((uint16_t)(p[2 * i] | p[2 * i + 1] << 8), t->dtype == LGP_DT_BF16);
    } else
        return snprintf(why, wl, "'%s' has dtype %s, not a float", e->name, lgp_dtype_name(t->dtype)), LGP_FATAL;
    return LGP_OK;
}

static void note(char *err, size_t errlen, int *nerr, const char *fmt, const char *name) {
    size_t u = strlen(err);
    if (*nerr < 4 && u < errlen) snprintf(err + u, errlen - u, fmt, *nerr ? "; " : "", name);
    else if (*nerr == 4 && u < errlen) snprintf(err + u, errlen - u, "; ...");
    (*nerr)++;
}

int lgp_named_load(const lgp_named_list *l, const lgp_record *rec, const lgp_load_rules *r,
                   size_t *loaded, size_t *missing, char *err, size_t errlen) {
    static const lgp_load_rules none;
    if (!r) r = &none;
    err[0] = 0;
    int nerr = 0;
    size_t nl = 0, nm = 0;
    unsigned char *seen = calloc(l->n + 1, 1);
    LGP_ASSERT(seen);
    for (size_t i = 0; i < rec->n; i++) {
        const lgp_tensor *t = &rec->t[i];
        const char *name = stripped(r, t->name);
        if (t->dtype == LGP_DT_JSON || t->dtype == LGP_DT_STR || has_prefix(r->ignore, name)) continue;
        const lgp_named *e = lgp_named_find(l, name);
        if (!e) {
            if (!r->allow_unknown) note(err, errlen, &nerr, "%sunexpected key '%s'", t->name);
            continue;
        }
        char why[256];
        if (copy_in(e, t, why, sizeof why) != LGP_OK) note(err, errlen, &nerr, "%s%s", why);
        seen[e - l->v] = 1;
        nl++;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (seen[i]) continue;
        nm++;
        if (!r->allow_missing && !has_prefix(r->missing_ok, l->v[i].name))
            note(err, errlen, &nerr, "%smissing key '%s'", l->v[i].name);
    }
    free(seen);
    if (loaded) *loaded = nl;
    if (missing) *missing = nm;
    return nerr ? LGP_FATAL : LGP_OK;
}

uint64_t lgp_named_hash(const lgp_named_list *l) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < l->n; i++) {
        const unsigned char *p = (const unsigned char *)l->v[i].data;
        for (size_t k = 0; k < l->v[i].numel * 4; k++) h = (h ^ p[k]) * 0x100000001b3ULL;
    }
    return h;
}
