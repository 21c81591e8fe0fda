/* test_logreg.c — multinomial logistic regression: gradient against central finite
 * differences, objective and predictions against scikit-learn (tests/ref/probe_ref.py),
 * separable data → 100 %, random labels → chance, cross-validation, top-k ranking,
 * cyanure's duality-gap stopping rule. */
#include "common/lgp.h"
#include "common/eval/logreg.h"
#include "common/util/rng.h"
#include "formats/safetensors.h"
#include "tests/unit/probe_fixture.h"
#include "tests/unit/tap.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_gradient_fd(void) {
    size_t n = 37, C = 6;
    int K = 4;
    double X[37 * 6], W[4 * 6], G[4 * 6], f;
    int32_t y[37];
    lgp_rng r;
    lgp_rng_init(&r, 3, 0, 0, 99);
    for (size_t i = 0; i < n * C; i++) X[i] = lgp_rng_normal(&r);
    for (size_t i = 0; i < (size_t)K * C; i++) W[i] = 0.5 * lgp_rng_normal(&r);
    for (size_t i = 0; i < n; i++) y[i] = (int32_t)lgp_rng_below(&r, (uint64_t)K);
    char err[256];
    int rc = lgp_logreg_objective(&f, G, W, X, y, n, C, K, 0.03, err, sizeof err);
    is_int(rc, LGP_OK, "objective evaluates");
    double worst = 0, eps = 1e-5;
    for (size_t j = 0; j < (size_t)K * C; j++) {
        double w0 = W[j], fp, fm;
        W[j] = w0 + eps;
        lgp_logreg_objective(&fp, NULL, W, X, y, n, C, K, 0.03, err, sizeof err);
        W[j] = w0 - eps;
        lgp_logreg_objective(&fm, NULL, W, X, y, n, C, K, 0.03, err, sizeof err);
        W[j] = w0;
        double fd = (fp - fm) / (2 * eps), e = fabs(fd - G[j]) / fmax(1e-3, fabs(G[j]));
        worst = fmax(worst, e);
    }
    ok(worst < 1e-6, "gradient matches central differences (eps 1e-5): worst rel err %.2e < 1e-6", worst);
}

static void test_preprocess(const lgp_record *rec) {
    const lgp_tensor *raw = lgp_record_get(rec, "c0.Xraw"), *ref = lgp_record_get(rec, "c0.Xtr");
    size_t n = (size_t)raw->shape[0], C = (size_t)raw->shape[1];
    float *x = malloc(n * C * sizeof *x);
    memcpy(x, raw->data, n * C * sizeof *x);
    lgp_logreg_preprocess(x, n, C);
    double worst = 0;
    for (size_t j = 0; j < n * C; j++) worst = fmax(worst, fabs(x[j] - ((const float *)ref->data)[j]));
    ok(worst < 1e-6, "row centring + l2 normalisation matches NumPy: max abs diff %.2e < 1e-6", worst);
    float c[2 * 3] = {2, 2, 2, 1, 2, 3};
    lgp_logreg_preprocess(c, 2, 3);
    ok(c[0] == 0 && c[1] == 0 && c[2] == 0, "a constant row becomes all-zero (not NaN)");
    is_close(c[3], -1 / sqrt(2.0), 1e-6, 0, "row [1 2 3] -> [-1/sqrt2 0 1/sqrt2]");
    free(x);
}

static double accuracy(const float *X, const int32_t *y, size_t m, size_t C, const double *W, int K) {
    float *S = malloc(m * (size_t)K * sizeof *S);
    char err[256];
    size_t h1, h5;
    lgp_logreg_scores(S, X, m, C, W, NULL, K, err, sizeof err);
    lgp_logreg_topk(&h1, &h5, S, y, m, K);
    free(S);
    return (double)h1 / (double)m;
}

static void test_sklearn_case(const lgp_record *rec, int ci) {
    char nm[64], err[256];
#define N(s) (snprintf(nm, sizeof nm, "c%d.%s", ci, s), nm)
    const lgp_tensor *tx = fx_get(rec, N("Xtr"));
    size_t n = (size_t)tx->shape[0], C = (size_t)tx->shape[1], m;
    const float *Xtr = fx_f32(rec, N("Xtr")), *Xte = fx_f32(rec, N("Xte"));
    int32_t *ytr = fx_labels(rec, N("ytr"), NULL), *yte = fx_labels(rec, N("yte"), &m);
    int32_t *pred = fx_labels(rec, N("pred"), NULL);
    int K = (int)fx_num(rec, N("K"));
    double lam = fx_num(rec, N("lambda")), obj_sk = fx_num(rec, N("obj"));
    const double *Wsk = (const double *)fx_get(rec, N("W"))->data; /* [K, C] */
    /* Our objective evaluated at sklearn's W must equal NumPy's value. */
    double *Xd = malloc(n * C * sizeof *Xd), f_at_sk;
    for (size_t j = 0; j < n * C; j++) Xd[j] = Xtr[j];
    lgp_logreg_objective(&f_at_sk, NULL, Wsk, Xd, ytr, n, C, K, lam, err, sizeof err);
    is_close(f_at_sk, obj_sk, 1e-12, 0, "case %d: f(W_sklearn) equals NumPy's objective", ci);
    lgp_logreg_opts o = LGP_LOGREG_OPTS_DEFAULT;
    o.lambda = lam;
    lgp_logreg_info info;
    double *W = calloc((size_t)K * C, sizeof *W);
    int rc = lgp_logreg_fit(W, Xtr, ytr, n, C, K, &o, &info, err, sizeof err);
    is_int(rc, LGP_OK, "case %d: fit (n %zu, C %zu, K %d, lambda %g): %d iters, grad_rel %.1e", ci, n, C, K, lam, info.iters, info.grad_rel);
    ok(info.converged, "case %d: converged to tol 1e-6", ci);
    is_close(info.objective, obj_sk, 1e-6, 0, "case %d: objective equals scikit-learn's to 1e-6 relative", ci);
    float *S = malloc(m * (size_t)K * sizeof *S);
    lgp_logreg_scores(S, Xte, m, C, W, NULL, K, err, sizeof err);
    size_t same = 0;
    for (size_t i = 0; i < m; i++) {
        int a = 0;
        for (int k = 1; k < K; k++) a = S[i * K + k] > S[i * K + a] ? k : a;
        same += a == pred[i];
    }
    is_int(same, m, "case %d: identical test predictions (%zu of %zu)", ci, same, m);
    (void)yte;
#undef N
    free(S), free(W), free(Xd), free(ytr), free(yte), free(pred);
}

/* Two well separated clusters per class (unit-norm after preprocessing): every
 * sample is classified right, train and test. */
static void test_separable(void) {
    size_t n = 200, m = 500, C = 16;
    int K = 8;
    float *X = malloc((n + m) * C * sizeof *X);
    int32_t *y = malloc((n + m) * sizeof *y);
    lgp_rng r;
    lgp_rng_init(&r, 5, 0, 0, 98);
    for (size_t i = 0; i < n + m; i++) {
        y[i] = (int32_t)(i % (size_t)K);
        for (size_t c = 0; c < C; c++) X[i * C + c] = (float)(0.05 * lgp_rng_normal(&r) + (c == (size_t)y[i] * 2 ? 1.0 : 0.0));
    }
    lgp_logreg_preprocess(X, n + m, C);
    lgp_logreg_opts o = LGP_LOGREG_OPTS_DEFAULT;
    o.lambda = 2.5e-4 / (double)n; /* the paper's λ: nearly unregularised */
    o.max_iter = 300;
    double *W = calloc((size_t)K * C, sizeof *W);
    lgp_logreg_info info;
    char err[256];
    lgp_logreg_fit(W, X, y, n, C, K, &o, &info, err, sizeof err);
    is_close(accuracy(X, y, n, C, W, K), 1.0, 0, 0, "separable: 100%% train accuracy");
    is_close(accuracy(X + n * C, y + n, m, C, W, K), 1.0, 0, 0, "separable: 100%% test accuracy");
    free(X), free(y), free(W);
}

/* Random features with random labels: test accuracy is chance, 1/K, within 4 sigma. */
static void test_chance(void) {
    size_t n = 500, m = 4000, C = 32;
    int K = 10;
    float *X = malloc((n + m) * C * sizeof *X);
    int32_t *y = malloc((n + m) * sizeof *y);
    lgp_rng r;
    lgp_rng_init(&r, 6, 0, 0, 98);
    for (size_t i = 0; i < (n + m) * C; i++) X[i] = (float)lgp_rng_normal(&r);
    for (size_t i = 0; i < n + m; i++) y[i] = (int32_t)lgp_rng_below(&r, (uint64_t)K);
    lgp_logreg_preprocess(X, n + m, C);
    lgp_logreg_opts o = LGP_LOGREG_OPTS_DEFAULT;
    o.lambda = 1e-3;
    double *W = calloc((size_t)K * C, sizeof *W);
    lgp_logreg_info info;
    char err[256];
    lgp_logreg_fit(W, X, y, n, C, K, &o, &info, err, sizeof err);
    double acc = accuracy(X + n * C, y + n, m, C, W, K), sd = sqrt(0.1 * 0.9 / (double)m);
    ok(fabs(acc - 0.1) < 4 * sd, "random labels: test accuracy %.4f is chance 0.1 +- %.4f", acc, 4 * sd);
    ok(accuracy(X, y, n, C, W, K) > 0.2, "random labels: the fit still memorises part of the train set");
    /* Cross-validation: deterministic, accuracies in [0, 1], choice from the grid. */
    double grid[4] = {1e-4, 1e-2, 1, 1e-6}, acc1[4], acc2[4], b1 = 0, b2 = 0;
    int rc1 = lgp_logreg_cv_lambda(&b1, acc1, grid, 4, 3, 1, X, y, n, C, K, &o, err, sizeof err);
    int rc2 = lgp_logreg_cv_lambda(&b2, acc2, grid, 4, 3, 1, X, y, n, C, K, &o, err, sizeof err);
    ok(rc1 == LGP_OK && rc2 == LGP_OK && b1 == b2 && memcmp(acc1, acc2, sizeof acc1) == 0, "cv: same seed, same choice (%g) and accuracies", b1);
    int in = 0;
    for (int g = 0; g < 4; g++) in |= b1 == grid[g];
    ok(in && acc1[0] >= 0 && acc1[0] <= 1, "cv: choice is a grid value, accuracy %.3f in [0,1]", acc1[0]);
    free(X), free(y), free(W);
}

/* On clusters, an absurd λ (1e3) loses to a sensible one under cross-validation. */
static void test_cv_choice(const lgp_record *rec) {
    size_t n, C = (size_t)fx_get(rec, "c1.Xtr")->shape[1];
    int32_t *y = fx_labels(rec, "c1.ytr", &n);
    int K = (int)fx_num(rec, "c1.K");
    double grid[3] = {1e3, 1e-3, 1e-5}, acc[3], best = 0;
    lgp_logreg_opts o = LGP_LOGREG_OPTS_DEFAULT;
    char err[256];
    int rc = lgp_logreg_cv_lambda(&best, acc, grid, 3, 5, 0, fx_f32(rec, "c1.Xtr"), y, n, C, K, &o, err, sizeof err);
    is_int(rc, LGP_OK, "cv on clusters runs");
    ok(best < 1e3, "cv picks lambda %g (accuracies %.3f %.3f %.3f), not 1e3", best, acc[0], acc[1], acc[2]);
    free(y);
}

static void test_topk_and_errors(void) {
    float S[3 * 6] = {1, 2, 3, 4, 5, 6, /* label 0: rank 5 -> miss top-5 */
                      6, 6, 1, 1, 1, 1, /* label 1 ties label 0: lower index wins -> rank 1 */
                      0, 0, 0, 0, 0, 9};
    int32_t y[3] = {0, 1, 5};
    size_t h1, h5;
    lgp_logreg_topk(&h1, &h5, S, y, 3, 6);
    ok(h1 == 1 && h5 == 2, "top-k with ties: top1 %zu (want 1), top5 %zu (want 2)", h1, h5);
    float X[4] = {1, 0, 0, 1};
    int32_t yb[2] = {0, 3};
    double W[4] = {0};
    char err[256] = "";
    lgp_logreg_opts o = LGP_LOGREG_OPTS_DEFAULT;
    is_int(lgp_logreg_fit(W, X, yb, 2, 2, 2, &o, NULL, err, sizeof err), LGP_FATAL, "label out of range is an error");
    ok(strstr(err, "sample 1: label 3 outside [0, 2)") != NULL, "message names the sample: '%s'", err);
    X[2] = NAN;
    yb[1] = 1;
    is_int(lgp_logreg_fit(W, X, yb, 2, 2, 2, &o, NULL, err, sizeof err), LGP_FATAL, "NaN feature is an error");
    ok(strstr(err, "sample 1: feature 0 is not finite") != NULL, "message names the feature: '%s'", err);
}

/* cyanure's stopping rule: the duality gap is >= 0 at any W (weak duality), ~0 at the
 * optimum the tight gradient rule finds (so the dual formula is right, not merely
 * positive), and --gap-tol stops as soon as it holds, earlier than the tight rule. */
static void test_duality_gap(void) {
    size_t n = 120, C = 10;
    int K = 5;
    float *X = malloc(n * C * sizeof *X);
    double *Xd = malloc(n * C * sizeof *Xd), W[5 * 10], G[5 * 10], gap;
    int32_t y[120];
    lgp_rng r;
    lgp_rng_init(&r, 5, 0, 0, 99);
    for (size_t i = 0; i < n; i++) {
        y[i] = (int32_t)lgp_rng_below(&r, (uint64_t)K);
        for (size_t c = 0; c < C; c++) X[i * C + c] = (float)(lgp_rng_normal(&r) + (c == (size_t)y[i] ? 1.5 : 0));
    }
    lgp_logreg_preprocess(X, n, C);
    for (size_t j = 0; j < n * C; j++) Xd[j] = X[j];
    char err[256];
    double lambda = 1e-3, worst = INFINITY;
    for (int t = 0; t < 20; t++) {
        for (size_t j = 0; j < (size_t)K * C; j++) W[j] = (t % 4) * lgp_rng_normal(&r);
        lgp_logreg_gap(&gap, G, W, Xd, y, n, C, K, lambda, err, sizeof err);
        worst = fmin(worst, gap);
    }
    ok(worst >= 0, "the gap is never negative at 20 random points (smallest %.3g)", worst);
    lgp_logreg_opts o = LGP_LOGREG_OPTS_DEFAULT;
    o.lambda = lambda, o.tol = 1e-10;
    lgp_logreg_info tight, loose;
    memset(W, 0, sizeof W);
    ok(lgp_logreg_fit(W, X, y, n, C, K, &o, &tight, err, sizeof err) == LGP_OK, "tight fit");
    lgp_logreg_gap(&gap, G, W, Xd, y, n, C, K, lambda, err, sizeof err);
    ok(gap < 1e-9 && fabs(gap - tight.gap) < 1e-12, "gap at the optimum %.2e < 1e-9 (info says %.2e)", gap, tight.gap);
    o.gap_tol = 1e-3;
    memset(W, 0, sizeof W);
    ok(lgp_logreg_fit(W, X, y, n, C, K, &o, &loose, err, sizeof err) == LGP_OK, "fit with gap_tol 1e-3");
    ok(loose.converged && loose.gap <= 1e-3 && loose.gap > 0, "stopped at gap %.2e <= 1e-3", loose.gap);
    ok(loose.iters < tight.iters, "earlier than the tight rule (%d < %d iterations)", loose.iters, tight.iters);
    ok(loose.objective - tight.objective <= 1e-3 * loose.objective, "objective within the gap of the optimum");
    o.max_iter = 1, o.gap_tol = 1e-12;
    memset(W, 0, sizeof W);
    lgp_logreg_fit(W, X, y, n, C, K, &o, &loose, err, sizeof err);
    ok(!loose.converged && loose.iters == 1, "an unreachable gap under the cap reports not converged");
    free(X), free(Xd);
}

int main(void) {
    test_gradient_fd();
    test_separable();
    test_chance();
    test_topk_and_errors();
    test_duality_gap();
    lgp_record rec;
    lgp_record_init(&rec);
    if (fx_make(&rec, "logreg") == 0) {
        test_preprocess(&rec);
        int nc = (int)fx_num(&rec, "ncases");
        for (int ci = 0; ci < nc; ci++) test_sklearn_case(&rec, ci);
        test_cv_choice(&rec);
    } else {
        ok(1, "# SKIP scikit-learn reference unavailable");
    }
    lgp_record_free(&rec);
    return done_testing();
}
