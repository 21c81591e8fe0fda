/* probe.h — the few-shot evaluation behind lgp-probe: embedding streams read into
 * matrices, a classifier fitted on a subset of the training rows (multinomial logistic
 * regression, the SGD linear probe or weighted kNN: logreg.h, linprobe.h, knn.h) and
 * scored top-1/top-5 on the test rows, and the results as table rows and JSON objects,
 * one per seed plus the mean and (population) std over seeds.
 *
 * A run is a pure function of (method, seed, subset, options): the subset comes from
 * subset.h keyed by the seed, the linear probe and the --lambda auto folds take the
 * same seed.
 *
 * Ownership: lgp_probe_set is caller-owned; _load fills it and _free releases its
 * matrices and keys (name is borrowed from the path given to _load). Results are plain
 * data. Nothing here exits or logs: functions return LGP_OK or LGP_FATAL with a
 * one-line message in err, and the program reports each run from its result. */
#ifndef LGP_PROBE_H
#define LGP_PROBE_H

#include "common/eval/knn.h"
#include "common/eval/linprobe.h"
#include "common/eval/subset.h"
#include "formats/json.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { LGP_PROBE_LOGREG = 1, LGP_PROBE_LINEAR = 2, LGP_PROBE_KNN = 4, LGP_PROBE_ALL = 7 };

/* --lambda auto tries these l2 strengths (x10 steps). */
#define LGP_PROBE_NLAMBDA 8
extern const double lgp_probe_lambda_grid[LGP_PROBE_NLAMBDA];

typedef struct {
    lgp_shots shots;        /* subset size, unless shots_file */
    const char *shots_file; /* subset list file, or NULL */
    double lambda;          /* logreg l2 strength; 0: the paper's 0.00025 / n_train */
    int lambda_auto;        /* choose it by cross-validation over lgp_probe_lambda_grid */
    int folds;              /* folds for lambda_auto */
    double tol;             /* logreg relative-gradient tolerance */
    int max_iter;           /* L-BFGS iterations */
    double gap_tol;         /* > 0: cyanure's stopping rule instead (logreg.h) */
    lgp_knn_opts knn;
    lgp_linprobe_opts lin;  /* its seed is each run's */
    /* --lambda auto's progress: after each cross-validation fit (lgp_logreg_opts);
     * NULL for none, ctx borrowed */
    void (*on_fit)(void *ctx, int done, int total);
    void *ctx;
} lgp_probe_opts;

/* One embedding stream: records with a key, 'feature' f32 [C] and 'label' i64. */
typedef struct {
    const char *name; /* the path, or "stdin" for "-" (borrowed) */
    size_t n, C;
    int K_meta;       /* classes listed in the header, 0 if none */
    float *X;         /* [n, C] */
    int32_t *y;       /* [n] */
    char **keys;      /* [n] */
} lgp_probe_set;

/* Reads every stream of the file (concatenated streams read whole); every feature must
 * be finite and as wide as the first, every label in [0, 1000000]. */
int lgp_probe_set_load(lgp_probe_set *d, const char *path, char *err, size_t errlen);
void lgp_probe_set_free(lgp_probe_set *d);
/* K: the headers' class count (they must agree), else the largest label + 1; with a
 * header count every label must be below it. Also checks the feature widths agree. */
int lgp_probe_classes(int *K, const lgp_probe_set *tr, const lgp_probe_set *te, char *err, size_t errlen);

typedef struct {
    int method;
    uint64_t seed;
    size_t n_train;
    double top1, top5, seconds; /* accuracies in % */
    double lambda, objective, grad_rel, gap; /* logreg; gap: relative duality gap */
    int iters, converged, fitted;       /* logreg; fitted: the solver ran */
    int cv_done;                        /* logreg --lambda auto: cv_acc is filled */
    double cv_acc[LGP_PROBE_NLAMBDA];   /* mean held-out top-1 in [0, 1] per grid value */
    double loss;                        /* linear: last epoch's mean training loss */
} lgp_probe_result;

const char *lgp_probe_method_name(int method);
/* "logreg", "linear", "knn" or "all" -> method bits; 0 if none of them. */
int lgp_probe_method_parse(const char *s);

/* idx [tr->n] receives the *m training rows of this seed's subset. */
int lgp_probe_subset(size_t *idx, size_t *m, const lgp_probe_set *tr, int K, const lgp_probe_opts *o,
                     uint64_t seed, char *err, size_t errlen);
/* Test features as the method wants them, a new [n, C] copy: row-centred and
 * l2-normalised (logreg), unit rows (knn), raw (linear). NULL if out of memory. */
float *lgp_probe_prepare(int method, const float *X, size_t n, size_t C);
/* Fits method on the training rows idx [m] and scores the prepared test rows Pte
 * [te->n, C] into r (r->seed must be set: it seeds the run). */
int lgp_probe_run(lgp_probe_result *r, int method, const lgp_probe_set *tr, const lgp_probe_set *te,
                  const float *Pte, const size_t *idx, size_t m, int K, const lgp_probe_opts *o,
                  char *err, size_t errlen);
/* How many training rows idx [m] have a key that a test record has too (a leak), and
 * the first such row in *first. */
int lgp_probe_shared_keys(size_t *count, size_t *first, const lgp_probe_set *tr, const lgp_probe_set *te,
                          const size_t *idx, size_t m);

/* Mean and population std of top-1 (or top-5) over r [n]. */
void lgp_probe_mean_std(double *mean, double *sd, const lgp_probe_result *r, int n, int top5);
/* The table's two header lines. */
void lgp_probe_print_header(FILE *out, const lgp_probe_set *tr, const lgp_probe_set *te, int K);
/* One method's rows over r [n] seeds (and a mean row when n >= 2) to out, and one JSON
 * object per row appended to arr. shots: the --shots text, or "file". */
void lgp_probe_report(FILE *out, lgp_json *arr, const lgp_probe_result *r, int n, const char *shots,
                      const lgp_probe_set *tr, const lgp_probe_set *te, int K, const lgp_probe_opts *o);

#endif
