/* probe.c — few-shot evaluation of frozen features (see probe.h). */
#include "common/eval/probe.h"

#include "common/lgp.h"
#include "common/util/log.h"
#include "common/eval/logreg.h"
#include "common/util/strlist.h"
#include "formats/stream.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const double lgp_probe_lambda_grid[LGP_PROBE_NLAMBDA] = {1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1};

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return LGP_FATAL;
}

/* ---- embedding streams ---- */

static int meta_classes(const char *meta) {
    lgp_json *j = lgp_json_parse(meta, strlen(meta), NULL, 0);
    const lgp_json *c = j ? lgp_json_get(j, "classes") : NULL;
    int K = c && c->type == LGP_JSON_ARR ? (int)c->n : 0;
    lgp_json_free(j);
    return K;
}

/* Checks one record's feature and label and appends them. */
static int take_record(lgp_probe_set *d, const lgp_record *rec, unsigned long long ri, size_t *cap, char *err,
                       size_t errlen) {
    const lgp_tensor *f = lgp_record_get(rec, "feature"), *l = lgp_record_get(rec, "label");
    const char *nm = d->name, *key = rec->key;
    int64_t lab;
    if (!f) return fail(err, errlen, "%s: record %llu '%s': no 'feature' tensor", nm, ri, key);
    if (f->dtype != LGP_DT_F32 || f->ndim != 1)
        return fail(err, errlen, "%s: record %llu '%s': 'feature' is %s with %d dims, want f32 [C]", nm, ri, key,
                    lgp_dtype_name(f->dtype), f->ndim);
    if (!l || lgp_tensor_get_int(l, &lab) != LGP_OK) return fail(err, errlen, "%s: record %llu '%s': no integer 'label'", nm, ri, key);
    if (lab < 0 || lab > 1000000)
        return fail(err, errlen, "%s: record %llu '%s': label %lld outside [0, 1000000]", nm, ri, key, (long long)lab);
    size_t C = (size_t)f->shape[0];
    if (d->n == 0 && C == 0) return fail(err, errlen, "%s: record 0 '%s': empty feature", nm, key);
    if (d->n == 0) d->C = C;
    if (C != d->C)
        return fail(err, errlen, "%s: record %llu '%s': feature has %zu values, earlier records %zu", nm, ri, key, C, d->C);
    const float *v = f->data;
    for (size_t c = 0; c < C; c++)
        if (!isfinite(v[c])) return fail(err, errlen, "%s: record %llu '%s': feature[%zu] is not finite", nm, ri, key, c);
    if (d->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 1024;
        float *X = realloc(d->X, nc * d->C * sizeof *X);
        if (X) d->X = X;
        int32_t *y = realloc(d->y, nc * sizeof *y);
        if (y) d->y = y;
        char **k = realloc(d->keys, nc * sizeof *k);
        if (k) d->keys = k;
        if (!X || !y || !k) return fail(err, errlen, "%s: out of memory at record %llu", nm, ri);
        *cap = nc;
    }
    memcpy(d->X + d->n * d->C, v, C * sizeof *v);
    d->y[d->n] = (int32_t)lab;
    if (!(d->keys[d->n] = strdup(key))) return fail(err, errlen, "out of memory");
    d->n++;
    return LGP_OK;
}

static int read_records(lgp_probe_set *d, lgp_reader *r, char *err, size_t errlen) {
    lgp_record rec;
    lgp_record_init(&rec);
    size_t cap = 0;
    int rc, ok = LGP_OK;
    do {
        while (ok == LGP_OK && (rc = lgp_reader_next(r, &rec)) != LGP_EOF) {
            if (rc != LGP_OK) ok = fail(err, errlen, "%s", lgp_reader_error(r));
            else ok = take_record(d, &rec, (unsigned long long)(lgp_reader_index(r) - 1), &cap, err, errlen);
        }
    } while (ok == LGP_OK && (rc = lgp_reader_next_stream(r)) == LGP_OK);
    if (ok == LGP_OK && rc == LGP_FATAL) ok = fail(err, errlen, "%s", lgp_reader_error(r));
    lgp_record_free(&rec);
    return ok;
}

int lgp_probe_set_load(lgp_probe_set *d, const char *path, char *err, size_t errlen) {
    lgp_reader *r;
    memset(d, 0, sizeof *d);
    d->name = strcmp(path, "-") ? path : "stdin";
    if (lgp_reader_open(&r, path, err, errlen) != LGP_OK) return LGP_FATAL;
    d->K_meta = meta_classes(lgp_reader_meta(r));
    int rc = read_records(d, r, err, errlen);
    lgp_reader_close(r);
    if (rc == LGP_OK && d->n == 0) rc = fail(err, errlen, "%s: no records", d->name);
    if (rc != LGP_OK) lgp_probe_set_free(d);
    return rc;
}

void lgp_probe_set_free(lgp_probe_set *d) {
    for (size_t i = 0; i < d->n; i++) free(d->keys[i]);
    free(d->keys), free(d->X), free(d->y);
    d->keys = NULL, d->X = NULL, d->y = NULL, d->n = 0;
}

int lgp_probe_classes(int *K, const lgp_probe_set *tr, const lgp_probe_set *te, char *err, size_t errlen) {
    if (tr->C != te->C)
        return fail(err, errlen, "%s: features have %zu values but %s has %zu", te->name, te->C, tr->name, tr->C);
    if (tr->K_meta && te->K_meta && tr->K_meta != te->K_meta)
        return fail(err, errlen, "%s: header lists %d classes but %s lists %d", tr->name, tr->K_meta, te->name, te->K_meta);
    int k = tr->K_meta ? tr->K_meta : te->K_meta;
    const lgp_probe_set *ds[2] = {tr, te};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < ds[s]->n; i++) {
            if (k && ds[s]->y[i] >= k && (tr->K_meta || te->K_meta))
                return fail(err, errlen, "%s: record %zu '%s': label %d but the header lists %d classes", ds[s]->name, i,
                            ds[s]->keys[i], (int)ds[s]->y[i], k);
            if (ds[s]->y[i] >= k) k = ds[s]->y[i] + 1;
        }
    *K = k;
    return LGP_OK;
}

/* ---- one run ---- */

const char *lgp_probe_method_name(int m) {
    return m == LGP_PROBE_LOGREG ? "logreg" : m == LGP_PROBE_LINEAR ? "linear" : "knn";
}

int lgp_probe_method_parse(const char *s) {
    if (!strcmp(s, "logreg")) return LGP_PROBE_LOGREG;
    if (!strcmp(s, "linear")) return LGP_PROBE_LINEAR;
    if (!strcmp(s, "knn")) return LGP_PROBE_KNN;
    if (!strcmp(s, "all")) return LGP_PROBE_ALL;
    return 0;
}

int lgp_probe_subset(size_t *idx, size_t *m, const lgp_probe_set *tr, int K, const lgp_probe_opts *o,
                     uint64_t seed, char *err, size_t errlen) {
    if (o->shots_file)
        return lgp_subset_from_list(idx, m, (const char *const *)tr->keys, tr->y, tr->n, o->shots_file, err, errlen);
    return lgp_subset_select(idx, m, tr->y, tr->n, K, &o->shots, seed, err, errlen);
}

static float *copy_rows(const float *X, size_t C, const size_t *idx, size_t m) {
    float *o = malloc((m ? m : 1) * C * sizeof *o); /* [m, C] */
    if (o)
        for (size_t i = 0; i < m; i++) memcpy(o + i * C, X + (idx ? idx[i] : i) * C, C * sizeof *o);
    return o;
}

float *lgp_probe_prepare(int method, const float *X, size_t n, size_t C) {
    float *P = copy_rows(X, C, NULL, n);
    if (P && method == LGP_PROBE_LOGREG) lgp_logreg_preprocess(P, n, C);
    if (P && method == LGP_PROBE_KNN) lgp_knn_normalize(P, n, C);
    return P;
}

/* Fits logreg on the preprocessed Xs [m, C]; scores S [nte, K] of the test rows. */
static int run_logreg(lgp_probe_result *r, float *S, const float *Xs, const int32_t *ys, size_t m, const float *Xte,
                      size_t nte, size_t C, int K, const lgp_probe_opts *o, char *err, size_t errlen) {
    lgp_logreg_opts lo = {o->lambda > 0 ? o->lambda : 2.5e-4 / (double)m, o->tol, o->max_iter, 10, o->gap_tol,
                          o->on_fit, o->ctx};
    if (o->lambda_auto) {
        if (lgp_logreg_cv_lambda(&lo.lambda, r->cv_acc, lgp_probe_lambda_grid, LGP_PROBE_NLAMBDA, o->folds, r->seed,
                                 Xs, ys, m, C, K, &lo, err, errlen) != LGP_OK)
            return LGP_FATAL;
        r->cv_done = 1;
    }
    r->lambda = lo.lambda;
    double *W = calloc((size_t)K * C, sizeof *W); /* [K, C] */
    lgp_logreg_info info;
    if (!W) return fail(err, errlen, "out of memory");
    int rc = lgp_logreg_fit(W, Xs, ys, m, C, K, &lo, &info, err, errlen);
    if (rc == LGP_OK) {
        r->objective = info.objective, r->grad_rel = info.grad_rel, r->gap = info.gap;
        r->iters = info.iters, r->converged = info.converged, r->fitted = 1;
        rc = lgp_logreg_scores(S, Xte, nte, C, W, NULL, K, err, errlen);
    }
    free(W);
    return rc;
}

static int run_linear(lgp_probe_result *r, float *S, const float *Xs, const int32_t *ys, size_t m, const float *Xte,
                      size_t nte, size_t C, int K, const lgp_probe_opts *o, char *err, size_t errlen) {
    lgp_linprobe_opts lo = o->lin;
    lo.seed = r->seed;
    float *W = malloc((size_t)K * C * sizeof *W), *b = malloc((size_t)K * sizeof *b); /* [K, C], [K] */
    double *Wd = malloc((size_t)K * C * sizeof *Wd), *bd = malloc((size_t)K * sizeof *bd);
    int rc = W && b && Wd && bd ? LGP_OK : fail(err, errlen, "out of memory");
    if (rc == LGP_OK) rc = lgp_linprobe_train(W, b, Xs, ys, m, C, K, &lo, &r->loss, err, errlen);
    if (rc == LGP_OK) {
        for (size_t j = 0; j < (size_t)K * C; j++) Wd[j] = W[j];
        for (int k = 0; k < K; k++) bd[k] = b[k];
        rc = lgp_logreg_scores(S, Xte, nte, C, Wd, bd, K, err, errlen);
    }
    free(W), free(b), free(Wd), free(bd);
    return rc;
}

int lgp_probe_run(lgp_probe_result *r, int method, const lgp_probe_set *tr, const lgp_probe_set *te,
                  const float *Pte, const size_t *idx, size_t m, int K, const lgp_probe_opts *o,
                  char *err, size_t errlen) {
    double t0 = lgp_now();
    float *Xs = copy_rows(tr->X, tr->C, idx, m);
    int32_t *ys = malloc(m * sizeof *ys);
    float *S = malloc(te->n * (size_t)K * sizeof *S); /* [n_test, K] */
    int rc = LGP_OK;
    if (!Xs) rc = fail(err, errlen, "out of memory (%zu x %zu features)", m, tr->C);
    else if (!ys || !S) rc = fail(err, errlen, "out of memory (%zu x %d scores)", te->n, K);
    r->method = method, r->n_train = m;
    for (size_t i = 0; rc == LGP_OK && i < m; i++) ys[i] = tr->y[idx[i]];
    if (rc == LGP_OK && method == LGP_PROBE_LOGREG) {
        lgp_logreg_preprocess(Xs, m, tr->C);
        rc = run_logreg(r, S, Xs, ys, m, Pte, te->n, tr->C, K, o, err, errlen);
    } else if (rc == LGP_OK && method == LGP_PROBE_LINEAR) {
        rc = run_linear(r, S, Xs, ys, m, Pte, te->n, tr->C, K, o, err, errlen);
    } else if (rc == LGP_OK) {
        lgp_knn_normalize(Xs, m, tr->C);
        rc = lgp_knn_scores(S, Xs, ys, m, Pte, te->n, tr->C, K, &o->knn, err, errlen);
    }
    if (rc == LGP_OK) {
        size_t h1, h5;
        lgp_logreg_topk(&h1, &h5, S, te->y, te->n, K);
        r->top1 = 100.0 * (double)h1 / (double)te->n, r->top5 = 100.0 * (double)h5 / (double)te->n;
        r->seconds = lgp_now() - t0;
    }
    free(Xs), free(ys), free(S);
    return rc;
}

int lgp_probe_shared_keys(size_t *count, size_t *first, const lgp_probe_set *tr, const lgp_probe_set *te,
                          const size_t *idx, size_t m) {
    char **tk = malloc(te->n * sizeof *tk);
    if (!tk) return LGP_FATAL;
    memcpy(tk, te->keys, te->n * sizeof *tk);
    qsort(tk, te->n, sizeof *tk, lgp_strlist_cmp);
    *count = 0, *first = 0;
    for (size_t i = 0; i < m; i++)
        if (bsearch(&tr->keys[idx[i]], tk, te->n, sizeof *tk, lgp_strlist_cmp) && !(*count)++) *first = idx[i];
    free(tk);
    return LGP_OK;
}

/* ---- results ---- */

void lgp_probe_mean_std(double *mean, double *sd, const lgp_probe_result *r, int n, int top5) {
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += top5 ? r[i].top5 : r[i].top1;
    *mean = s / n;
    for (int i = 0; i < n; i++) {
        double v = (top5 ? r[i].top5 : r[i].top1) - *mean;
        ss += v * v;
    }
    *sd = sqrt(ss / n); /* population std over the seeds */
}

static void settings_text(char *s, size_t cap, const lgp_probe_result *r, const lgp_probe_opts *o) {
    if (r->method == LGP_PROBE_LOGREG)
        snprintf(s, cap, "lambda=%.3g%s %s=%g iters=%d gap=%.2g%s", r->lambda, o->lambda_auto ? "(cv)" : "",
                 o->gap_tol > 0 ? "gap-tol" : "tol", o->gap_tol > 0 ? o->gap_tol : o->tol, r->iters, r->gap,
                 r->converged ? "" : " NOT-CONVERGED");
    else if (r->method == LGP_PROBE_LINEAR)
        snprintf(s, cap, "epochs=%d batch=%d lr=%g wd=%g momentum=%g loss=%.4f", o->lin.epochs, o->lin.batch, o->lin.lr,
                 o->lin.wd, o->lin.momentum, r->loss);
    else
        snprintf(s, cap, "k=%d T=%g", o->knn.k, o->knn.temperature);
}

static void settings_json(lgp_json *j, const lgp_probe_result *r, const lgp_probe_opts *o) {
    if (r->method == LGP_PROBE_LOGREG) {
        lgp_json_set_num(j, "lambda", r->lambda);
        lgp_json_set_str(j, "lambda_mode", o->lambda_auto ? "cv" : o->lambda > 0 ? "fixed" : "paper");
        lgp_json_set_str(j, "stop", o->gap_tol > 0 ? "duality-gap" : "gradient");
        lgp_json_set_num(j, "tol", o->gap_tol > 0 ? o->gap_tol : o->tol);
        lgp_json_set_num(j, "max_iter", o->max_iter);
        lgp_json_set_num(j, "gap", r->gap);
        lgp_json_set_num(j, "iters", r->iters);
        lgp_json_set_num(j, "grad_rel", r->grad_rel);
        lgp_json_set_num(j, "objective", r->objective);
        lgp_json_set(j, "converged", lgp_json_new_bool(r->converged));
        lgp_json_set_str(j, "preprocess", "row-center,l2");
        if (o->lambda_auto) lgp_json_set_num(j, "folds", o->folds);
    } else if (r->method == LGP_PROBE_LINEAR) {
        lgp_json_set_num(j, "epochs", o->lin.epochs);
        lgp_json_set_num(j, "batch_size", o->lin.batch);
        lgp_json_set_num(j, "lr", o->lin.lr);
        lgp_json_set_num(j, "wd", o->lin.wd);
        lgp_json_set_num(j, "momentum", o->lin.momentum);
        lgp_json_set_num(j, "final_loss", r->loss);
    } else {
        lgp_json_set_num(j, "k", o->knn.k);
        lgp_json_set_num(j, "temperature", o->knn.temperature);
    }
}

void lgp_probe_print_header(FILE *out, const lgp_probe_set *tr, const lgp_probe_set *te, int K) {
    fprintf(out, "# train %s (%zu records, %zu dims, %d classes), test %s (%zu records)\n", tr->name, tr->n, tr->C, K,
            te->name, te->n);
    fprintf(out, "%-7s %-7s %8s %6s %7s %7s  %s\n", "method", "shots", "n_train", "seed", "top1", "top5", "settings");
}

/* Row i of the report (i == n: the mean over seeds) as a JSON object. */
static lgp_json *row_json(const lgp_probe_result *r, int n, int i, const char *shots, const lgp_probe_set *tr,
                          const lgp_probe_set *te, int K, const lgp_probe_opts *o, const double t[4]) {
    const lgp_probe_result *x = &r[i < n ? i : 0];
    lgp_json *j = lgp_json_new_obj();
    lgp_json_set_str(j, "method", lgp_probe_method_name(x->method));
    lgp_json_set_str(j, "shots", shots);
    lgp_json_set_num(j, "n_train", (double)x->n_train);
    lgp_json_set_num(j, "n_test", (double)te->n);
    lgp_json_set_num(j, "classes", K);
    lgp_json_set_num(j, "dims", (double)tr->C);
    lgp_json_set_str(j, "train", tr->name);
    lgp_json_set_str(j, "test", te->name);
    if (i < n) {
        lgp_json_set_u64(j, "seed", x->seed);
        lgp_json_set_num(j, "seconds", x->seconds);
        settings_json(j, x, o);
    } else {
        lgp_json *sa = lgp_json_new_arr();
        for (int s = 0; s < n; s++) lgp_json_push(sa, lgp_json_new_u64(r[s].seed));
        lgp_json_set(j, "seeds", sa);
        lgp_json_set_num(j, "top1_std", t[2]);
        lgp_json_set_num(j, "top5_std", t[3]);
    }
    lgp_json_set_num(j, "top1", t[0]);
    lgp_json_set_num(j, "top5", t[1]);
    return j;
}

void lgp_probe_report(FILE *out, lgp_json *arr, const lgp_probe_result *r, int n, const char *shots,
                      const lgp_probe_set *tr, const lgp_probe_set *te, int K, const lgp_probe_opts *o) {
    char set[256], seed[64];
    for (int i = 0; i <= n; i++) {
        if (i == n && n < 2) break;
        const lgp_probe_result *x = &r[i < n ? i : 0];
        double t[4] = {x->top1, x->top5, 0, 0}; /* top-1, top-5, their std */
        if (i == n) lgp_probe_mean_std(&t[0], &t[2], r, n, 0), lgp_probe_mean_std(&t[1], &t[3], r, n, 1);
        settings_text(set, sizeof set, x, o);
        if (i < n) snprintf(seed, sizeof seed, "%llu", (unsigned long long)x->seed);
        else snprintf(seed, sizeof seed, "mean%d", n);
        const char *name = lgp_probe_method_name(x->method);
        if (i < n) fprintf(out, "%-7s %-7s %8zu %6s %7.2f %7.2f  %s\n", name, shots, x->n_train, seed, t[0], t[1], set);
        else
            fprintf(out, "%-7s %-7s %8zu %6s %7.2f %7.2f  std top1 %.2f top5 %.2f over seeds %llu..%llu\n", name, shots,
                    x->n_train, seed, t[0], t[1], t[2], t[3], (unsigned long long)r[0].seed,
                    (unsigned long long)r[n - 1].seed);
        lgp_json_push(arr, row_json(r, n, i, shots, tr, te, K, o, t));
    }
}
