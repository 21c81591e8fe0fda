/* lgp-probe — few-shot evaluation of frozen features: multinomial logistic regression
 * (RECIPE §4.2), the SGD linear probe (§4.1) or weighted kNN, on a subset of the
 * training embeddings, scored on the test embeddings. */
#include "common/cli.h"
#include "common/knn.h"
#include "common/lgp.h"
#include "common/threads.h"
#include "common/linprobe.h"
#include "common/log.h"
#include "common/logreg.h"
#include "common/subset.h"
#include "formats/atomicfile.h"
#include "formats/json.h"
#include "formats/stream.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "lgp-probe — few-shot linear evaluation of frozen embeddings\n"
    "\n"
    "usage: lgp-probe [options] --test TEST [--train TRAIN | < TRAIN]\n"
    "\n"
    "Reads two embedding streams (records with a key, 'feature' f32 [C] and 'label' i64),\n"
    "picks a few-shot subset of TRAIN, fits a classifier on it and prints top-1/top-5\n"
    "accuracy (in %) on TEST as a table on stdout. The class count is the header's\n"
    "\"classes\" list if present, else the largest label + 1.\n"
    "\n"
    "options:\n"
    "  --train FILE        training embeddings (default: stdin)\n"
    "  --test FILE         test embeddings (required)\n"
    "  --method M          logreg | linear | knn | all (default logreg)\n"
    "  --shots S           1% | 10% | <p>% | N per class | all (default 1%)\n"
    "  --shots-file LIST   take the subset from LIST ('path label' or 'name' lines)\n"
    "  --seed S            subset / probe seed (default 0)\n"
    "  --seeds K           repeat over seeds S..S+K-1, report mean and std (default 1)\n"
    "logreg (rows centred and l2-normalised; cyanure's objective, L-BFGS):\n"
    "  --lambda X|auto     l2 strength (default 0.00025/n_train, the paper's);\n"
    "                      auto: 5-fold CV over 1e-8..1e-1 (x10 steps)\n"
    "  --folds N           folds for --lambda auto (default 5)\n"
    "  --tol X             stop at ||grad|| <= X*||grad at 0|| (default 1e-6)\n"
    "  --max-iter N        L-BFGS iteration cap (default 2000)\n"
    "knn (cosine, votes exp(sim/T)):\n"
    "  --k N               neighbours (default 20)\n"
    "  --temperature T     (default 0.07)\n"
    "linear (SGD head with bias, cosine lr per epoch, raw features):\n"
    "  --epochs N (90)  --batch-size N (256)  --lr X (0.1)  --wd X (0)  --momentum X (0)\n"
    "output:\n"
    "  --json FILE         also write the results as a JSON array (atomic)\n"
    "  -q, --quiet / -v, --verbose / --progress / --help / --version\n"
    "\n"
    "example:\n"
    "  lgp-embed --model stage2.ckpt < train.lgps > emb-train.lgps\n"
    "  lgp-probe --train emb-train.lgps --test emb-val.lgps --shots 1% --seeds 3\n"
    "\n"
    "exit status: 0 ok, 1 bad or truncated input, 2 usage error. See lgp-probe(1).\n";

enum { M_LOGREG = 1, M_LINEAR = 2, M_KNN = 4 };

struct opts {
    const char *train, *test, *json, *shots_file, *shots_text;
    lgp_shots shots;
    int methods, seeds, folds, lambda_auto, max_iter;
    uint64_t seed;
    double lambda, tol; /* lambda 0: the paper's default */
    lgp_knn_opts knn;
    lgp_linprobe_opts lin;
};

typedef struct {
    const char *name;
    size_t n, C;
    int K_meta; /* classes in the header, 0 if none */
    float *X;   /* [n, C] */
    int32_t *y; /* [n] */
    char **keys;
} dataset;

static int meta_classes(const char *meta) {
    lgp_json *j = lgp_json_parse(meta, strlen(meta), NULL, 0);
    const lgp_json *c = j ? lgp_json_get(j, "classes") : NULL;
    int K = c && c->type == LGP_JSON_ARR ? (int)c->n : 0;
    lgp_json_free(j);
    return K;
}

/* Appends one record's feature and label, checking them. */
static void take_record(dataset *d, const lgp_record *rec, uint64_t ri, size_t *cap) {
    const lgp_tensor *f = lgp_record_get(rec, "feature"), *l = lgp_record_get(rec, "label");
    int64_t lab;
    if (!f) lgp_die("%s: record %llu '%s': no 'feature' tensor", d->name, (unsigned long long)ri, rec->key);
    if (f->dtype != LGP_DT_F32 || f->ndim != 1)
        lgp_die("%s: record %llu '%s': 'feature' is %s with %d dims, want f32 [C]", d->name, (unsigned long long)ri, rec->key, lgp_dtype_name(f->dtype), f->ndim);
    if (!l || lgp_tensor_get_int(l, &lab) != LGP_OK)
        lgp_die("%s: record %llu '%s': no integer 'label'", d->name, (unsigned long long)ri, rec->key);
    if (lab < 0 || lab > 1000000) lgp_die("%s: record %llu '%s': label %lld outside [0, 1000000]", d->name, (unsigned long long)ri, rec->key, (long long)lab);
    size_t C = (size_t)f->shape[0];
    if (d->n == 0 && C == 0) lgp_die("%s: record 0 '%s': empty feature", d->name, rec->key);
    if (d->n == 0) d->C = C;
    if (C != d->C) lgp_die("%s: record %llu '%s': feature has %zu values, earlier records %zu", d->name, (unsigned long long)ri, rec->key, C, d->C);
    const float *v = f->data;
    for (size_t c = 0; c < C; c++)
        if (!isfinite(v[c])) lgp_die("%s: record %llu '%s': feature[%zu] is not finite", d->name, (unsigned long long)ri, rec->key, c);
    if (d->n == *cap) {
        *cap = *cap ? 2 * *cap : 1024;
        d->X = realloc(d->X, *cap * d->C * sizeof *d->X);
        d->y = realloc(d->y, *cap * sizeof *d->y);
        d->keys = realloc(d->keys, *cap * sizeof *d->keys);
        if (!d->X || !d->y || !d->keys) lgp_die("%s: out of memory at record %llu", d->name, (unsigned long long)ri);
    }
    memcpy(d->X + d->n * d->C, v, C * sizeof *v);
    d->y[d->n] = (int32_t)lab;
    if (!(d->keys[d->n] = strdup(rec->key))) lgp_die("out of memory");
    d->n++;
}

static void load(dataset *d, const char *path) {
    char err[512];
    lgp_reader *r;
    memset(d, 0, sizeof *d);
    d->name = strcmp(path, "-") ? path : "stdin";
    if (lgp_reader_open(&r, path, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    d->K_meta = meta_classes(lgp_reader_meta(r));
    lgp_record rec;
    lgp_record_init(&rec);
    size_t cap = 0;
    int rc;
    do {
        while ((rc = lgp_reader_next(r, &rec)) != LGP_EOF) {
            if (rc != LGP_OK) lgp_die("%s", lgp_reader_error(r));
            take_record(d, &rec, lgp_reader_index(r) - 1, &cap);
        }
    } while ((rc = lgp_reader_next_stream(r)) == LGP_OK);
    if (rc == LGP_FATAL) lgp_die("%s", lgp_reader_error(r));
    lgp_record_free(&rec);
    lgp_reader_close(r);
    if (d->n == 0) lgp_die("%s: no records", d->name);
}

/* K from the headers' class lists, else the largest label + 1; labels checked. */
static int class_count(const dataset *tr, const dataset *te) {
    if (tr->K_meta && te->K_meta && tr->K_meta != te->K_meta)
        lgp_die("%s: header lists %d classes but %s lists %d", tr->name, tr->K_meta, te->name, te->K_meta);
    int K = tr->K_meta ? tr->K_meta : te->K_meta;
    const dataset *ds[2] = {tr, te};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < ds[s]->n; i++) {
            if (K && ds[s]->y[i] >= K && (tr->K_meta || te->K_meta))
                lgp_die("%s: record %zu '%s': label %d but the header lists %d classes", ds[s]->name, i, ds[s]->keys[i], (int)ds[s]->y[i], K);
            if (ds[s]->y[i] >= K) K = ds[s]->y[i] + 1;
        }
    return K;
}

typedef struct {
    int method;
    uint64_t seed;
    size_t n_train;
    double top1, top5, seconds;
    double lambda, objective, grad_rel, loss; /* logreg; loss: linear */
    int iters, converged;
} result;

static const char *method_name(int m) { return m == M_LOGREG ? "logreg" : m == M_LINEAR ? "linear" : "knn"; }

static float *copy_rows(const float *X, size_t C, const size_t *idx, size_t m) {
    float *o = malloc((m ? m : 1) * C * sizeof *o); /* [m, C] */
    if (!o) lgp_die("out of memory (%zu x %zu features)", m, C);
    for (size_t i = 0; i < m; i++) memcpy(o + i * C, X + (idx ? idx[i] : i) * C, C * sizeof *o);
    return o;
}

static const double lambda_grid[] = {1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1};

/* Fits logreg on Xs [m, C] (preprocessed) and scores the preprocessed test rows. */
static void run_logreg(result *r, float *S, const float *Xs, const int32_t *ys, size_t m,
                       const float *Xte, size_t nte, size_t C, int K, const struct opts *o) {
    char err[512];
    lgp_logreg_opts lo = {o->lambda > 0 ? o->lambda : 2.5e-4 / (double)m, o->tol, o->max_iter, 10};
    if (o->lambda_auto) {
        int ng = (int)LGP_ARRAY_LEN(lambda_grid);
        double acc[LGP_ARRAY_LEN(lambda_grid)];
        if (lgp_logreg_cv_lambda(&lo.lambda, acc, lambda_grid, ng, o->folds, r->seed, Xs, ys, m, C, K, &lo, err, sizeof err) != LGP_OK)
            lgp_die("%s", err);
        for (int g = 0; g < ng; g++) lgp_debug("seed %llu: lambda %g: cv top-1 %.2f%%", (unsigned long long)r->seed, lambda_grid[g], 100 * acc[g]);
        lgp_info("seed %llu: --lambda auto chose %g", (unsigned long long)r->seed, lo.lambda);
    }
    double *W = calloc((size_t)K * C, sizeof *W); /* [K, C] */
    lgp_logreg_info info;
    if (!W) lgp_die("out of memory");
    if (lgp_logreg_fit(W, Xs, ys, m, C, K, &lo, &info, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    if (!info.converged)
        lgp_warn("logreg: seed %llu: stopped after %d iterations at relative gradient %.2g (tol %g)", (unsigned long long)r->seed, info.iters, info.grad_rel, o->tol);
    if (lgp_logreg_scores(S, Xte, nte, C, W, NULL, K, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    r->lambda = lo.lambda, r->objective = info.objective, r->grad_rel = info.grad_rel;
    r->iters = info.iters, r->converged = info.converged;
    free(W);
}

static void run_linear(result *r, float *S, const float *Xs, const int32_t *ys, size_t m,
                       const float *Xte, size_t nte, size_t C, int K, const struct opts *o) {
    char err[512];
    lgp_linprobe_opts lo = o->lin;
    lo.seed = r->seed;
    float *W = malloc((size_t)K * C * sizeof *W), *b = malloc((size_t)K * sizeof *b); /* [K, C], [K] */
    double *Wd = malloc((size_t)K * C * sizeof *Wd), *bd = malloc((size_t)K * sizeof *bd);
    if (!W || !b || !Wd || !bd) lgp_die("out of memory");
    if (lgp_linprobe_train(W, b, Xs, ys, m, C, K, &lo, &r->loss, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    for (size_t j = 0; j < (size_t)K * C; j++) Wd[j] = W[j];
    for (int k = 0; k < K; k++) bd[k] = b[k];
    if (lgp_logreg_scores(S, Xte, nte, C, Wd, bd, K, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    free(W), free(b), free(Wd), free(bd);
}

/* Test features prepared once per method: row-preprocessed (logreg), unit rows (knn),
 * raw (linear). */
static float *prepare(int method, const float *X, size_t n, size_t C) {
    float *P = copy_rows(X, C, NULL, n);
    if (method == M_LOGREG) lgp_logreg_preprocess(P, n, C);
    if (method == M_KNN) lgp_knn_normalize(P, n, C);
    return P;
}

static void run_one(result *r, int method, const dataset *tr, const dataset *te, const float *Pte,
                    const size_t *idx, size_t m, int K, const struct opts *o) {
    char err[512];
    double t0 = lgp_now();
    float *Xs = copy_rows(tr->X, tr->C, idx, m);
    int32_t *ys = malloc(m * sizeof *ys);
    float *S = malloc(te->n * (size_t)K * sizeof *S); /* [n_test, K] */
    if (!ys || !S) lgp_die("out of memory (%zu x %d scores)", te->n, K);
    for (size_t i = 0; i < m; i++) ys[i] = tr->y[idx[i]];
    r->method = method, r->n_train = m;
    if (method == M_LOGREG) {
        lgp_logreg_preprocess(Xs, m, tr->C);
        run_logreg(r, S, Xs, ys, m, Pte, te->n, tr->C, K, o);
    } else if (method == M_LINEAR) {
        run_linear(r, S, Xs, ys, m, Pte, te->n, tr->C, K, o);
    } else {
        lgp_knn_normalize(Xs, m, tr->C);
        if (lgp_knn_scores(S, Xs, ys, m, Pte, te->n, tr->C, K, &o->knn, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    }
    size_t h1, h5;
    lgp_logreg_topk(&h1, &h5, S, te->y, te->n, K);
    r->top1 = 100.0 * (double)h1 / (double)te->n, r->top5 = 100.0 * (double)h5 / (double)te->n;
    r->seconds = lgp_now() - t0;
    lgp_info("%s: seed %llu: n_train %zu: top-1 %.2f%% top-5 %.2f%% (%.2f s)", method_name(method), (unsigned long long)r->seed, m, r->top1, r->top5, r->seconds);
    free(Xs), free(ys), free(S);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A subset record whose key also names a test record is a leak worth a warning. */
static void check_disjoint(const dataset *tr, const dataset *te, const size_t *idx, size_t m) {
    char **tk = malloc(te->n * sizeof *tk);
    if (!tk) lgp_die("out of memory");
    memcpy(tk, te->keys, te->n * sizeof *tk);
    qsort(tk, te->n, sizeof *tk, cmp_str);
    size_t dup = 0, first = 0;
    for (size_t i = 0; i < m; i++)
        if (bsearch(&tr->keys[idx[i]], tk, te->n, sizeof *tk, cmp_str) && !dup++) first = idx[i];
    if (dup) lgp_warn("%s: %zu training records share their key with %s (first: '%s')", tr->name, dup, te->name, tr->keys[first]);
    free(tk);
}

static void settings_text(char *s, size_t cap, const result *r, const struct opts *o) {
    if (r->method == M_LOGREG)
        snprintf(s, cap, "lambda=%.3g%s tol=%g iters=%d%s", r->lambda, o->lambda_auto ? "(cv)" : "", o->tol, r->iters, r->converged ? "" : " NOT-CONVERGED");
    else if (r->method == M_LINEAR)
        snprintf(s, cap, "epochs=%d batch=%d lr=%g wd=%g momentum=%g loss=%.4f", o->lin.epochs, o->lin.batch, o->lin.lr, o->lin.wd, o->lin.momentum, r->loss);
    else
        snprintf(s, cap, "k=%d T=%g", o->knn.k, o->knn.temperature);
}

static void settings_json(lgp_json *j, const result *r, const struct opts *o) {
    if (r->method == M_LOGREG) {
        lgp_json_set_num(j, "lambda", r->lambda);
        lgp_json_set_str(j, "lambda_mode", o->lambda_auto ? "cv" : o->lambda > 0 ? "fixed" : "paper");
        lgp_json_set_num(j, "tol", o->tol);
        lgp_json_set_num(j, "max_iter", o->max_iter);
        lgp_json_set_num(j, "iters", r->iters);
        lgp_json_set_num(j, "grad_rel", r->grad_rel);
        lgp_json_set_num(j, "objective", r->objective);
        lgp_json_set(j, "converged", lgp_json_new_bool(r->converged));
        lgp_json_set_str(j, "preprocess", "row-center,l2");
        if (o->lambda_auto) lgp_json_set_num(j, "folds", o->folds);
    } else if (r->method == M_LINEAR) {
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

static void mean_std(double *mean, double *sd, const result *r, int n, int top5) {
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += top5 ? r[i].top5 : r[i].top1;
    *mean = s / n;
    for (int i = 0; i < n; i++) {
        double v = (top5 ? r[i].top5 : r[i].top1) - *mean;
        ss += v * v;
    }
    *sd = sqrt(ss / n); /* population std over the seeds */
}

/* Prints one method's rows (and the mean ± std row) and appends them to arr. */
static void report(lgp_json *arr, const result *r, int n, const char *shots, const dataset *tr,
                   const dataset *te, int K, const struct opts *o) {
    char set[256], seed[64];
    for (int i = 0; i <= n; i++) {
        if (i == n && n < 2) break;
        const result *x = &r[i < n ? i : 0];
        double t1 = x->top1, t5 = x->top5, s1 = 0, s5 = 0;
        if (i == n) mean_std(&t1, &s1, r, n, 0), mean_std(&t5, &s5, r, n, 1);
        settings_text(set, sizeof set, x, o);
        if (i < n) snprintf(seed, sizeof seed, "%llu", (unsigned long long)x->seed);
        else snprintf(seed, sizeof seed, "mean%d", n);
        if (i < n) printf("%-7s %-7s %8zu %6s %7.2f %7.2f  %s\n", method_name(x->method), shots, x->n_train, seed, t1, t5, set);
        else printf("%-7s %-7s %8zu %6s %7.2f %7.2f  std top1 %.2f top5 %.2f over seeds %llu..%llu\n", method_name(x->method), shots, x->n_train, seed, t1, t5, s1, s5, (unsigned long long)r[0].seed, (unsigned long long)r[n - 1].seed);
        lgp_json *j = lgp_json_new_obj();
        lgp_json_set_str(j, "method", method_name(x->method));
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
            lgp_json_set_num(j, "top1_std", s1);
            lgp_json_set_num(j, "top5_std", s5);
        }
        lgp_json_set_num(j, "top1", t1);
        lgp_json_set_num(j, "top5", t5);
        lgp_json_push(arr, j);
    }
}

static void write_json(const char *path, const lgp_json *arr) {
    char err[512], *text = lgp_json_dump(arr);
    lgp_atomic a;
    if (!text) lgp_die("out of memory");
    if (lgp_atomic_open(&a, path, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    if (lgp_write_all(a.fd, text, strlen(text)) || lgp_write_all(a.fd, "\n", 1)) {
        int e = errno;
        lgp_atomic_abort(&a);
        errno = e;
        lgp_die_errno("%s: write failed", path);
    }
    if (lgp_atomic_commit(&a, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    free(text);
}

static void evaluate(const struct opts *o) {
    dataset tr, te;
    load(&tr, o->train);
    load(&te, o->test);
    if (tr.C != te.C) lgp_die("%s: features have %zu values but %s has %zu", te.name, te.C, tr.name, tr.C);
    int K = class_count(&tr, &te);
    lgp_info("train %s: %zu records; test %s: %zu records; %zu dims, %d classes", tr.name, tr.n, te.name, te.n, tr.C, K);
    size_t *idx = malloc(tr.n * sizeof *idx), m;
    result *res = calloc((size_t)o->seeds, sizeof *res);
    lgp_json *arr = lgp_json_new_arr();
    if (!idx || !res) lgp_die("out of memory");
    const char *shots = o->shots_file ? "file" : o->shots_text;
    printf("# train %s (%zu records, %zu dims, %d classes), test %s (%zu records)\n", tr.name, tr.n, tr.C, K, te.name, te.n);
    printf("%-7s %-7s %8s %6s %7s %7s  %s\n", "method", "shots", "n_train", "seed", "top1", "top5", "settings");
    for (int mth = M_LOGREG; mth <= M_KNN; mth <<= 1) {
        if (!(o->methods & mth)) continue;
        float *Pte = prepare(mth, te.X, te.n, te.C);
        for (int s = 0; s < o->seeds; s++) {
            char err[512];
            res[s].seed = o->seed + (uint64_t)s;
            int rc = o->shots_file ? lgp_subset_from_list(idx, &m, (const char *const *)tr.keys, tr.y, tr.n, o->shots_file, err, sizeof err)
                                   : lgp_subset_select(idx, &m, tr.y, tr.n, K, &o->shots, res[s].seed, err, sizeof err);
            if (rc != LGP_OK) lgp_die("%s", err);
            if (s == 0 && mth == (o->methods & -o->methods)) check_disjoint(&tr, &te, idx, m);
            run_one(&res[s], mth, &tr, &te, Pte, idx, m, K, o);
        }
        report(arr, res, o->seeds, shots, &tr, &te, K, o);
        free(Pte);
    }
    if (fflush(stdout) || ferror(stdout)) lgp_die_errno("stdout: write failed");
    if (o->json) write_json(o->json, arr);
    lgp_json_free(arr);
    free(idx), free(res);
    dataset *ds[2] = {&tr, &te};
    for (int d = 0; d < 2; d++) {
        for (size_t i = 0; i < ds[d]->n; i++) free(ds[d]->keys[i]);
        free(ds[d]->keys), free(ds[d]->X), free(ds[d]->y);
    }
}

static int parse_method(const char *s) {
    if (!strcmp(s, "logreg")) return M_LOGREG;
    if (!strcmp(s, "linear")) return M_LINEAR;
    if (!strcmp(s, "knn")) return M_KNN;
    if (!strcmp(s, "all")) return M_LOGREG | M_LINEAR | M_KNN;
    lgp_usage_die("--method: '%s' is not logreg, linear, knn or all", s);
}

int main(int argc, char **argv) {
    lgp_proginit(argc, argv);
    lgp_blas_fix_core(); /* fast OpenBLAS kernels on CPUs Debian's build does not know */
    struct opts o = {.train = "-", .shots_text = "1%", .methods = M_LOGREG, .seeds = 1, .folds = 5,
                     .max_iter = 2000, .tol = 1e-6, .knn = LGP_KNN_OPTS_DEFAULT, .lin = LGP_LINPROBE_OPTS_DEFAULT};
    static const struct option lo[] = {
        LGP_COMMON_LONGOPTS,
        {"train", required_argument, 0, 'a'}, {"test", required_argument, 0, 'b'},
        {"method", required_argument, 0, 'c'}, {"shots", required_argument, 0, 'd'},
        {"shots-file", required_argument, 0, 'e'}, {"seed", required_argument, 0, 'f'},
        {"seeds", required_argument, 0, 'g'}, {"lambda", required_argument, 0, 'h'},
        {"folds", required_argument, 0, 'i'}, {"tol", required_argument, 0, 'j'},
        {"max-iter", required_argument, 0, 'k'}, {"k", required_argument, 0, 'l'},
        {"temperature", required_argument, 0, 'm'}, {"epochs", required_argument, 0, 'n'},
        {"batch-size", required_argument, 0, 'o'}, {"lr", required_argument, 0, 'p'},
        {"wd", required_argument, 0, 'r'}, {"momentum", required_argument, 0, 's'},
        {"json", required_argument, 0, 't'}, {0, 0, 0, 0},
    };
    int c;
    char err[256];
    while ((c = getopt_long(argc, argv, "qv", lo, NULL)) != -1) {
        if (lgp_common_opt(c, help)) continue;
        switch (c) {
        case 'a': o.train = optarg; break;
        case 'b': o.test = optarg; break;
        case 'c': o.methods = parse_method(optarg); break;
        case 'd': o.shots_text = optarg; break;
        case 'e': o.shots_file = optarg; break;
        case 'f': o.seed = lgp_opt_u64("--seed", optarg); break;
        case 'g': o.seeds = (int)lgp_opt_int("--seeds", optarg, 1, 1000); break;
        case 'h':
            if (!strcmp(optarg, "auto")) o.lambda_auto = 1, o.lambda = 0;
            else o.lambda = lgp_opt_double("--lambda", optarg, 1e-300, 1e6), o.lambda_auto = 0;
            break;
        case 'i': o.folds = (int)lgp_opt_int("--folds", optarg, 2, 100); break;
        case 'j': o.tol = lgp_opt_double("--tol", optarg, 0, 1); break;
        case 'k': o.max_iter = (int)lgp_opt_int("--max-iter", optarg, 1, 10000000); break;
        case 'l': o.knn.k = (int)lgp_opt_int("--k", optarg, 1, 100000); break;
        case 'm': o.knn.temperature = lgp_opt_double("--temperature", optarg, 1e-6, 1e6); break;
        case 'n': o.lin.epochs = (int)lgp_opt_int("--epochs", optarg, 1, 1000000); break;
        case 'o': o.lin.batch = (int)lgp_opt_int("--batch-size", optarg, 1, 1 << 24); break;
        case 'p': o.lin.lr = lgp_opt_double("--lr", optarg, 0, 1e6); break;
        case 'r': o.lin.wd = lgp_opt_double("--wd", optarg, 0, 1e6); break;
        case 's': o.lin.momentum = lgp_opt_double("--momentum", optarg, 0, 1); break;
        case 't': o.json = optarg; break;
        default: lgp_usage_die("unexpected option");
        }
    }
    if (optind != argc) lgp_usage_die("extra operand '%s'", argv[optind]);
    if (!o.test) lgp_usage_die("--test FILE is required");
    lgp_check_output_path("--json", o.json);
    if (!strcmp(o.test, "-") && !strcmp(o.train, "-")) lgp_usage_die("train and test cannot both be stdin");
    if (lgp_shots_parse(&o.shots, o.shots_text, err, sizeof err) != LGP_OK) lgp_usage_die("--shots: %s", err);
    evaluate(&o);
    return LGP_EXIT_OK;
}
