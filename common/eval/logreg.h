/* logreg.h — multinomial logistic regression on frozen features, the 1% few-shot
 * evaluation of docs/METHOD.md §5.2 (cyanure's MultiClassifier, multiclass-logistic, l2,
 * fit_intercept=False), plus the scoring helpers every probe shares.
 *
 * Objective (cyanure's scaling), W [K, C], x_i [C] rows of X [n, C]:
 *     f(W) = (1/n) Σ_i CE(W x_i, y_i) + (λ/2) ‖W‖²_F,   CE(z, y) = logsumexp(z) − z_y.
 * scikit-learn's LogisticRegression minimises C_sk·Σ CE + ½‖W‖², the same problem
 * when C_sk = 1/(n·λ). The paper's λ is 0.00025 / n_train.
 *
 * The solver is L-BFGS (history 10, weak-Wolfe bisection line search) in double
 * precision, W starting from the caller's buffer (0 for a cold start). It stops at the
 * first of: ‖∇f(W)‖₂ ≤ tol·‖∇f(0)‖₂ (relative gradient); f decreasing by less than
 * 0.1·tol·f per iteration averaged over the last 5 iterations (relative objective change;
 * the nearly unregularised paper λ makes the gradient test slow to reach, and cyanure
 * itself stops at a 1e-3 relative duality gap); max_iter iterations; or no further
 * decrease possible in floating point. Default tol 1e-6.
 * gap_tol > 0 replaces the gradient and objective tests by cyanure's rule: stop when the
 * relative duality gap (f(W) − D)/f(W) ≤ gap_tol (cyanure: 1e-3, with at most 300 epochs
 * of its own solver). D is the Fenchel dual at the point W determines, the softmax
 * probabilities p_i of its logits:
 *     D = −(1/n) Σ_i Σ_k p_ik log p_ik − (λ/2) ‖W − ∇f(W)/λ‖²_F,
 * so the gap costs nothing beyond the objective's own pass and is 0 exactly at the
 * optimum. info.gap reports it at the returned W whichever rule stopped.
 * Matrix products go through OpenBLAS cblas_dgemm.
 *
 * Memory: every function takes caller-owned buffers; fit allocates its work space
 * internally and frees it before returning. Nothing here exits: errors return
 * LGP_FATAL with a one-line message in err. Labels are int32 in [0, K). */
#ifndef LGP_LOGREG_H
#define LGP_LOGREG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double lambda; /* l2 strength in the objective above (> 0) */
    double tol;    /* relative-gradient stopping tolerance */
    int max_iter;  /* L-BFGS iterations */
    int memory;    /* L-BFGS history pairs */
    double gap_tol; /* > 0: stop on the relative duality gap instead (cyanure's rule) */
    /* Progress of lgp_logreg_cv_lambda: called after each fit with the fits done and of
     * how many (folds x grid); NULL for none. ctx is passed back (borrowed). */
    void (*on_fit)(void *ctx, int done, int total);
    void *ctx;
} lgp_logreg_opts;
#define LGP_LOGREG_OPTS_DEFAULT {1e-4, 1e-6, 2000, 10, 0, NULL, NULL}

typedef struct {
    double objective; /* f(W) at the returned W */
    double grad_rel;  /* ‖∇f(W)‖ / ‖∇f(0)‖ */
    double gap;       /* relative duality gap (f − D) / f at W */
    int iters, evals; /* L-BFGS iterations, function+gradient evaluations */
    int converged;    /* 1 if the gradient, objective or gap test stopped the solver */
    int stalled;      /* 1 if it was the objective-change test */
} lgp_logreg_info;

/* cyanure's preprocess(centering=True, normalize=True, columns=False): each row of
 * x [n, C] loses its mean over the C features, then is scaled to unit l2 norm (a row
 * that is constant stays all-zero). In place; computed in double. */
void lgp_logreg_preprocess(float *x, size_t n, size_t C);

/* f(W) and, if G is not NULL, ∇f(W) into G [K, C]. X [n, C] (double), W [K, C].
 * Exposed for the tests (finite differences, comparison with scikit-learn). */
int lgp_logreg_objective(double *f, double *G, const double *W, const double *X,
                         const int32_t *y, size_t n, size_t C, int K, double lambda,
                         char *err, size_t errlen);
/* The relative duality gap above at W (G is scratch [K, C]). For the tests. */
int lgp_logreg_gap(double *gap, double *G, const double *W, const double *X, const int32_t *y,
                   size_t n, size_t C, int K, double lambda, char *err, size_t errlen);

/* Minimises f over W [K, C] (in/out: the starting point on entry). X [n, C] float
 * (converted to double internally), y [n]. */
int lgp_logreg_fit(double *W, const float *X, const int32_t *y, size_t n, size_t C, int K,
                   const lgp_logreg_opts *o, lgp_logreg_info *info, char *err, size_t errlen);

/* Chooses λ from grid[0..ngrid) by stratified `folds`-fold cross-validation on (X, y):
 * each sample's fold is fixed by (seed, class) through LGP_RNG_PROBE; the λ with the
 * best mean held-out top-1 wins (ties go to the larger λ). Fits run from the largest
 * λ down with warm starts. cv_acc [ngrid] (may be NULL) receives the mean accuracy in
 * [0, 1] per grid value. */
int lgp_logreg_cv_lambda(double *best, double *cv_acc, const double *grid, int ngrid,
                         int folds, uint64_t seed, const float *X, const int32_t *y,
                         size_t n, size_t C, int K, const lgp_logreg_opts *o, char *err,
                         size_t errlen);

/* S [m, K] = X W^T (+ b if b is not NULL), X [m, C] float, W [K, C] double, b [K]. */
int lgp_logreg_scores(float *S, const float *X, size_t m, size_t C, const double *W,
                      const double *b, int K, char *err, size_t errlen);

/* Counts rows of S [m, K] whose label y[i] is the top-1 / within the top-5 scores.
 * Ranking ties go to the lower class index (as numpy's argmax); with K < 5 every
 * row is a top-5 hit. */
void lgp_logreg_topk(size_t *hit1, size_t *hit5, const float *S, const int32_t *y, size_t m,
                     int K);

#endif
