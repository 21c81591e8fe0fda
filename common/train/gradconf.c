/* gradconf.c — per-part gradient cosines and their summary (gradconf.h). */
#include "common/train/gradconf.h"
#include "common/lgp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int lgp_gradconf_init(lgp_gradconf *g, const lgp_params *p, char *err, size_t errlen) {
    memset(g, 0, sizeof *g);
    g->p = p;
    g->part_of = malloc(sizeof *g->part_of * (p->count ? p->count : 1));
    if (!g->part_of) return snprintf(err, errlen, "out of memory"), LGP_FATAL;
    int depth = 0;
    for (size_t i = 0; i < p->count; i++) {
        int l;
        if (sscanf(p->entries[i].name, "blocks.%d.", &l) == 1 && l >= 0 && l < LGP_VIT_MAX_DEPTH && l + 1 > depth) depth = l + 1;
    }
    if (depth == 0) return snprintf(err, errlen, "the model has no blocks"), LGP_FATAL;
    g->depth = depth;
    g->nparts = depth + 2;
    for (size_t i = 0; i < p->count; i++) {
        const char *nm = p->entries[i].name;
        int l;
        g->part_of[i] = -1;
        if (strncmp(nm, "patch_embed.", 12) == 0) g->part_of[i] = 0;
        else if (sscanf(nm, "blocks.%d.", &l) == 1 && l >= 0 && l < depth) g->part_of[i] = 1 + l;
        else if (strncmp(nm, "norm.", 5) == 0) g->part_of[i] = depth + 1;
    }
    return LGP_OK;
}

void lgp_gradconf_free(lgp_gradconf *g) {
    free(g->part_of);
    free(g->cos);
    memset(g, 0, sizeof *g);
}

const char *lgp_gradconf_part_name(const lgp_gradconf *g, int part, char *buf, size_t n) {
    if (part == 0) snprintf(buf, n, "patch_embed");
    else if (part == g->nparts - 1) snprintf(buf, n, "norm");
    else snprintf(buf, n, "block %d", part - 1);
    return buf;
}

void lgp_gradconf_cosines(const lgp_gradconf *g, const float *ga, const float *gb, double *cos) {
    double dot[LGP_GC_MAX_PARTS] = {0}, na[LGP_GC_MAX_PARTS] = {0}, nb[LGP_GC_MAX_PARTS] = {0};
    for (size_t i = 0; i < g->p->count; i++) {
        int k = g->part_of[i];
        if (k < 0) continue;
        const lgp_param *e = &g->p->entries[i];
        const float *a = ga + e->offset, *b = gb + e->offset;
        double d = 0, sa = 0, sb = 0;
        for (size_t j = 0; j < e->numel; j++) d += (double)a[j] * b[j], sa += (double)a[j] * a[j], sb += (double)b[j] * b[j];
        dot[k] += d, na[k] += sa, nb[k] += sb;
    }
    for (int k = 0; k < g->nparts; k++) cos[k] = na[k] > 0 && nb[k] > 0 ? dot[k] / sqrt(na[k] * nb[k]) : NAN;
}

int lgp_gradconf_add(lgp_gradconf *g, const double *cos) {
    if (g->n == g->cap) {
        int cap = g->cap ? 2 * g->cap : 64;
        double *c = realloc(g->cos, sizeof *c * (size_t)cap * (size_t)g->nparts);
        if (!c) return LGP_FATAL;
        g->cos = c, g->cap = cap;
    }
    memcpy(g->cos + (size_t)g->n * g->nparts, cos, sizeof *cos * (size_t)g->nparts);
    g->n++;
    return LGP_OK;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.quantile's default (linear): position q (n - 1) between sorted neighbours. */
static double quantile(const double *v, int n, double q) {
    double pos = q * (n - 1);
    int lo = (int)floor(pos);
    int hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

typedef struct {
    int n, nonfinite;
    double mean, std, q[5];
} part_stats;

static part_stats summarise(const lgp_gradconf *g, int part, double *scratch) {
    part_stats s = {0};
    for (int i = 0; i < g->n; i++) {
        double c = g->cos[(size_t)i * g->nparts + part];
        if (isfinite(c)) scratch[s.n++] = c;
        else s.nonfinite++;
    }
    if (s.n == 0) {
        s.mean = s.std = NAN;
        for (int k = 0; k < 5; k++) s.q[k] = NAN;
        return s;
    }
    double sum = 0, ss = 0;
    for (int i = 0; i < s.n; i++) sum += scratch[i];
    s.mean = sum / s.n;
    for (int i = 0; i < s.n; i++) ss += (scratch[i] - s.mean) * (scratch[i] - s.mean);
    s.std = s.n > 1 ? sqrt(ss / (s.n - 1)) : 0;
    qsort(scratch, (size_t)s.n, sizeof *scratch, cmp_d);
    static const double qs[5] = {0, 0.25, 0.5, 0.75, 1};
    for (int k = 0; k < 5; k++) s.q[k] = quantile(scratch, s.n, qs[k]);
    return s;
}

static lgp_json *num_or_null(double v) { return isfinite(v) ? lgp_json_new_num(v) : lgp_json_new_null(); }

static lgp_json *stats_json(const part_stats *s) {
    lgp_json *o = lgp_json_new_obj(), *q = lgp_json_new_arr();
    lgp_json_set(o, "cosine", num_or_null(s->mean));
    lgp_json_set(o, "std", num_or_null(s->std));
    for (int k = 0; k < 5; k++) lgp_json_push(q, num_or_null(s->q[k]));
    lgp_json_set(o, "quantiles", q);
    lgp_json_set_i64(o, "n", s->n);
    if (s->nonfinite) lgp_json_set_i64(o, "nonfinite", s->nonfinite);
    return o;
}

lgp_json *lgp_gradconf_json(const lgp_gradconf *g) {
    double *scratch = malloc(sizeof *scratch * (size_t)(g->n ? g->n : 1));
    if (!scratch) return NULL;
    lgp_json *o = lgp_json_new_obj(), *blocks = lgp_json_new_arr();
    lgp_json_set_i64(o, "batches", g->n);
    for (int k = 0; k < g->nparts; k++) {
        part_stats s = summarise(g, k, scratch);
        lgp_json *j = stats_json(&s);
        if (g->has_pooled) lgp_json_set(j, "pooled", num_or_null(g->pooled[k]));
        if (k == 0) lgp_json_set(o, "patch_embed", j);
        else if (k == g->nparts - 1) lgp_json_set(o, "norm", j);
        else {
            lgp_json_set_i64(j, "block", k - 1);
            lgp_json_push(blocks, j);
        }
    }
    lgp_json_set(o, "blocks", blocks);
    free(scratch);
    return o;
}

void lgp_gradconf_print(const lgp_gradconf *g, FILE *f) {
    double *scratch = malloc(sizeof *scratch * (size_t)(g->n ? g->n : 1));
    if (!scratch) return;
    fprintf(f, "%-12s %8s %7s %8s %8s %8s %8s %8s%s\n", "part", "cosine", "std", "min", "q25", "median", "q75", "max",
            g->has_pooled ? "   pooled" : "");
    for (int k = 0; k < g->nparts; k++) {
        char nm[32];
        part_stats s = summarise(g, k, scratch);
        fprintf(f, "%-12s %8.4f %7.4f %8.4f %8.4f %8.4f %8.4f %8.4f", lgp_gradconf_part_name(g, k, nm, sizeof nm), s.mean,
                s.std, s.q[0], s.q[1], s.q[2], s.q[3], s.q[4]);
        if (g->has_pooled) fprintf(f, " %8.4f", g->pooled[k]);
        fputc('\n', f);
    }
    free(scratch);
}

size_t lgp_gradconf_log(const lgp_gradconf *g, const double *cos, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, ",\"gradconf\":[");
    for (int i = 0; i < g->nparts && k < n; i++)
        k += isfinite(cos[i]) ? (size_t)snprintf(buf + k, n - k, "%s%.4f", i ? "," : "", cos[i])
                              : (size_t)snprintf(buf + k, n - k, "%snull", i ? "," : "");
    if (k < n) k += (size_t)snprintf(buf + k, n - k, "]");
    if (k >= n) {
        if (n) buf[0] = 0;
        return 0;
    }
    return k;
}
