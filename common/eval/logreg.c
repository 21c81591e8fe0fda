/* logreg.c — multinomial logistic regression by L-BFGS (see logreg.h). */
#include "common/eval/logreg.h"

#include "common/lgp.h"
#include "common/util/rng.h"

#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return LGP_FATAL;
}

void lgp_logreg_preprocess(float *x, size_t n, size_t C) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float *r = x + i * C; /* [C] */
        double mean = 0, ss = 0;
        for (size_t c = 0; c < C; c++) mean += r[c];
        mean /= (double)(C ? C : 1);
        for (size_t c = 0; c < C; c++) ss += (r[c] - mean) * (r[c] - mean);
        /* A constant row has no direction: leave it at zero rather than divide by 0. */
        double s = ss > 0 ? 1.0 / sqrt(ss) : 0.0;
        for (size_t c = 0; c < C; c++) r[c] = (float)((r[c] - mean) * s);
    }
}

/* Per-row softmax cross-entropy on Z [n, K]: loss[i] = logsumexp(z_i) − z_{i,y_i},
 * negent[i] = Σ_k p_k log p_k (the conjugate term of the duality gap), and Z becomes
 * P − onehot(y) (the gradient of the loss with respect to the logits). */
static void softmax_ce_rows(double *Z, double *loss, double *negent, const int32_t *y, size_t n, int K) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        double *z = Z + i * (size_t)K; /* [K] */
        double mx = z[0], s = 0, ne = 0;
        for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
        for (int k = 0; k < K; k++) s += exp(z[k] - mx);
        double ls = log(s);
        loss[i] = mx + ls - z[y[i]];
        for (int k = 0; k < K; k++) {
            double lp = z[k] - mx - ls; /* log p_k without the rounding of log(exp(.)) */
            z[k] = exp(lp);
            ne += z[k] * lp;
        }
        negent[i] = ne;
        z[y[i]] -= 1.0;
    }
}

/* f, ∇f (G may be NULL) and, if negent is not NULL, (1/n) Σ_i Σ_k p_ik log p_ik. */
static int objective_ex(double *f, double *G, double *negent, const double *W, const double *X,
                        const int32_t *y, size_t n, size_t C, int K, double lambda, char *err,
                        size_t errlen) {
    if (n == 0 || C == 0 || K < 1) return fail(err, errlen, "logreg: empty problem (n %zu, C %zu, K %d)", n, C, K);
    double *Z = malloc(n * (size_t)K * sizeof *Z);    /* [n, K] */
    double *loss = malloc(2 * n * sizeof *loss);      /* [n] loss, [n] negent */
    if (!Z || !loss) {
        free(Z);
        free(loss);
        return fail(err, errlen, "logreg: out of memory (%zu x %d logits)", n, K);
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, K, (int)C, 1.0, X, (int)C, W,
                (int)C, 0.0, Z, K);
    softmax_ce_rows(Z, loss, loss + n, y, n, K);
    /* Sum serially so the value does not depend on the thread count. */
    double sum = 0, ww = 0, ne = 0;
    for (size_t i = 0; i < n; i++) sum += loss[i], ne += loss[n + i];
    if (negent) *negent = ne / (double)n;
    size_t d = (size_t)K * C;
    for (size_t j = 0; j < d; j++) ww += W[j] * W[j];
    *f = sum / (double)n + 0.5 * lambda * ww;
    if (G) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, (int)C, (int)n, 1.0 / (double)n, Z,
                    K, X, (int)C, 0.0, G, (int)C);
        for (size_t j = 0; j < d; j++) G[j] += lambda * W[j];
    }
    free(Z);
    free(loss);
    return LGP_OK;
}

int lgp_logreg_objective(double *f, double *G, const double *W, const double *X,
                         const int32_t *y, size_t n, size_t C, int K, double lambda,
                         char *err, size_t errlen) {
    return objective_ex(f, G, NULL, W, X, y, n, C, K, lambda, err, errlen);
}

/* (f − D) / f with D the dual value of the point W determines (logreg.h). */
static double rel_gap(double f, double negent, const double *W, const double *G, size_t d, double lambda) {
    double q = 0;
    for (size_t j = 0; j < d; j++) {
        double v = W[j] - G[j] / lambda;
        q += v * v;
    }
    double dual = -negent - 0.5 * lambda * q;
    return f > 0 ? (f - dual) / f : 0;
}

int lgp_logreg_gap(double *gap, double *G, const double *W, const double *X, const int32_t *y,
                   size_t n, size_t C, int K, double lambda, char *err, size_t errlen) {
    double f, ne;
    if (objective_ex(&f, G, &ne, W, X, y, n, C, K, lambda, err, errlen) != LGP_OK) return LGP_FATAL;
    *gap = rel_gap(f, ne, W, G, (size_t)K * C, lambda);
    return LGP_OK;
}

static double dot(const double *a, const double *b, size_t d) { return cblas_ddot((int)d, a, 1, b, 1); }

/* Problem state shared by the solver's pieces. */
typedef struct {
    const double *X; /* [n, C] */
    const int32_t *y;
    size_t n, C, d;
    int K;
    double lambda;
    int evals;
    double negent; /* of the last evaluated point (the accepted one after a line search) */
    char *err;
    size_t errlen;
} lr_prob;

static int lr_eval(lr_prob *p, double *f, double *G, const double *W) {
    p->evals++;
    return objective_ex(f, G, &p->negent, W, p->X, p->y, p->n, p->C, p->K, p->lambda, p->err, p->errlen);
}

/* Weak-Wolfe line search by bisection/doubling (Lewis & Overton): finds t with
 * f(W + t·dir) ≤ f0 + c1·t·g0ᵀdir and ∇f(W + t·dir)ᵀdir ≥ c2·g0ᵀdir. On return Wn, fn,
 * Gn hold the accepted point; returns 1 if found, 0 if no decrease is possible, <0 on
 * error. */
static int line_search(lr_prob *p, double *Wn, double *fn, double *Gn, const double *W, double f0,
                       double gd0, const double *dir, double t) {
    const double c1 = 1e-4, c2 = 0.9;
    double lo = 0, hi = INFINITY;
    for (int it = 0; it < 60; it++) {
        for (size_t j = 0; j < p->d; j++) Wn[j] = W[j] + t * dir[j];
        if (lr_eval(p, fn, Gn, Wn) != LGP_OK) return -1;
        if (!(*fn <= f0 + c1 * t * gd0)) hi = t; /* also catches NaN/inf */
        else if (dot(Gn, dir, p->d) < c2 * gd0) lo = t;
        else return 1;
        t = isinf(hi) ? 2 * lo : 0.5 * (lo + hi);
        if (hi - lo < 1e-16 * hi) break;
    }
    /* Keep the best decrease found, if any (lo > 0 satisfied sufficient decrease). */
    if (lo > 0) {
        for (size_t j = 0; j < p->d; j++) Wn[j] = W[j] + lo * dir[j];
        if (lr_eval(p, fn, Gn, Wn) != LGP_OK) return -1;
        return *fn < f0 ? 1 : 0;
    }
    return 0;
}

/* L-BFGS two-loop recursion: dir = −H·g from the m newest pairs (S, Y ring buffers). */
static void two_loop(double *dir, const double *g, const double *S, const double *Y,
                     const double *rho, double *alpha, int m, int newest, int count, size_t d) {
    for (size_t j = 0; j < d; j++) dir[j] = -g[j];
    for (int c = 0, i = newest; c < count; c++, i = (i + m - 1) % m) {
        alpha[i] = rho[i] * dot(S + (size_t)i * d, dir, d);
        cblas_daxpy((int)d, -alpha[i], Y + (size_t)i * d, 1, dir, 1);
    }
    if (count > 0) {
        const double *s = S + (size_t)newest * d, *yv = Y + (size_t)newest * d;
        cblas_dscal((int)d, dot(s, yv, d) / dot(yv, yv, d), dir, 1);
    }
    int oldest = (newest - count + 1 + m) % m;
    for (int c = 0, i = oldest; c < count; c++, i = (i + 1) % m) {
        double beta = rho[i] * dot(Y + (size_t)i * d, dir, d);
        cblas_daxpy((int)d, alpha[i] - beta, S + (size_t)i * d, 1, dir, 1);
    }
}

typedef struct {
    double *G, *Wn, *Gn, *dir, *S, *Y, *rho, *alpha; /* G/Wn/Gn/dir [K, C]; S, Y [m, K, C] */
} lr_work;

static void work_free(lr_work *w) {
    free(w->G), free(w->Wn), free(w->Gn), free(w->dir);
    free(w->S), free(w->Y), free(w->rho), free(w->alpha);
}

static int work_alloc(lr_work *w, size_t d, int m) {
    memset(w, 0, sizeof *w);
    w->G = malloc(d * sizeof(double)), w->Wn = malloc(d * sizeof(double));
    w->Gn = malloc(d * sizeof(double)), w->dir = malloc(d * sizeof(double));
    w->S = malloc((size_t)m * d * sizeof(double)), w->Y = malloc((size_t)m * d * sizeof(double));
    w->rho = malloc((size_t)m * sizeof(double)), w->alpha = malloc((size_t)m * sizeof(double));
    if (w->G && w->Wn && w->Gn && w->dir && w->S && w->Y && w->rho && w->alpha) return 0;
    work_free(w);
    return -1;
}

/* ‖∇f(0)‖, the scale the relative-gradient test is measured against. */
static int grad_norm_at_zero(lr_prob *p, double *out, double *Wtmp, double *Gtmp) {
    double f;
    memset(Wtmp, 0, p->d * sizeof *Wtmp);
    if (lr_eval(p, &f, Gtmp, Wtmp) != LGP_OK) return -1;
    *out = sqrt(dot(Gtmp, Gtmp, p->d));
    return 0;
}

/* Iterations over which the relative objective decrease is averaged. */
#define LR_STALL_WINDOW 5
#ifndef LR_STALL_FACTOR
#define LR_STALL_FACTOR 0.1
#endif

static int lbfgs(lr_prob *p, double *W, const lgp_logreg_opts *o, lgp_logreg_info *info) {
    size_t d = p->d;
    int m = o->memory > 0 ? o->memory : 1, newest = m - 1, count = 0, rc = LGP_OK, it = 0;
    lr_work w;
    if (work_alloc(&w, d, m)) return fail(p->err, p->errlen, "logreg: out of memory (%d x %zu history)", m, d);
    double f, g0n, gn = 0, gap = 0;
    if (grad_norm_at_zero(p, &g0n, w.Wn, w.G) || lr_eval(p, &f, w.G, W)) { rc = LGP_FATAL; goto out; }
    int floor_hit = 0, stalled = 0, gap_mode = o->gap_tol > 0;
    double fhist[LR_STALL_WINDOW + 1]; /* f of the last iterations, ring */
    for (;; it++) {
        gn = sqrt(dot(w.G, w.G, d));
        gap = rel_gap(f, p->negent, W, w.G, d, p->lambda);
        fhist[it % (LR_STALL_WINDOW + 1)] = f;
        /* f > 0 always (cross-entropy), so a relative decrease is well defined. */
        if (!gap_mode && it >= LR_STALL_WINDOW &&
            fhist[(it - LR_STALL_WINDOW) % (LR_STALL_WINDOW + 1)] - f <= LR_STALL_WINDOW * LR_STALL_FACTOR * o->tol * f) stalled = 1;
        if (gap_mode ? gap <= o->gap_tol : (gn <= o->tol * g0n || stalled)) break;
        if (it >= o->max_iter) break;
        two_loop(w.dir, w.G, w.S, w.Y, w.rho, w.alpha, m, newest, count, d);
        double gd = dot(w.G, w.dir, d);
        if (!(gd < 0)) { /* not a descent direction: forget the history */
            count = 0;
            for (size_t j = 0; j < d; j++) w.dir[j] = -w.G[j];
            gd = -gn * gn;
        }
        double fn, t0 = count ? 1.0 : fmin(1.0, 1.0 / gn);
        int ls = line_search(p, w.Wn, &fn, w.Gn, W, f, gd, w.dir, t0);
        if (ls < 0) { rc = LGP_FATAL; goto out; }
        if (ls == 0) { floor_hit = 1; break; }
        int slot = (newest + 1) % m;
        double *s = w.S + (size_t)slot * d, *yv = w.Y + (size_t)slot * d;
        for (size_t j = 0; j < d; j++) s[j] = w.Wn[j] - W[j], yv[j] = w.Gn[j] - w.G[j];
        double sy = dot(s, yv, d);
        if (sy > 1e-300 && sy > 1e-12 * dot(yv, yv, d)) { /* curvature pair usable */
            w.rho[slot] = 1.0 / sy;
            newest = slot;
            count = count < m ? count + 1 : m;
        }
        memcpy(W, w.Wn, d * sizeof *W);
        memcpy(w.G, w.Gn, d * sizeof *W);
        f = fn;
    }
    double rel = g0n > 0 ? gn / g0n : 0;
    /* After a failed line search the last evaluation was a trial point: recompute. */
    if (floor_hit) {
        if (lr_eval(p, &f, w.G, W)) { rc = LGP_FATAL; goto out; }
        gap = rel_gap(f, p->negent, W, w.G, d, p->lambda);
    }
    info->objective = f, info->grad_rel = rel, info->iters = it, info->evals = p->evals, info->gap = gap;
    info->converged = gap_mode ? gap <= o->gap_tol : rel <= o->tol || stalled || (floor_hit && rel <= 10 * o->tol);
    info->stalled = stalled;
out:
    work_free(&w);
    return rc;
}

/* Validates labels and features, and widens X to double for the solver. */
static double *to_double_checked(const float *X, const int32_t *y, size_t n, size_t C, int K,
                                 char *err, size_t errlen) {
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= K) {
            fail(err, errlen, "logreg: sample %zu: label %d outside [0, %d)", i, (int)y[i], K);
            return NULL;
        }
    double *Xd = malloc(n * C * sizeof *Xd); /* [n, C] */
    if (!Xd) {
        fail(err, errlen, "logreg: out of memory (%zu x %zu features)", n, C);
        return NULL;
    }
    for (size_t j = 0; j < n * C; j++) {
        if (!isfinite(X[j])) {
            fail(err, errlen, "logreg: sample %zu: feature %zu is not finite", j / C, j % C);
            free(Xd);
            return NULL;
        }
        Xd[j] = X[j];
    }
    return Xd;
}

int lgp_logreg_fit(double *W, const float *X, const int32_t *y, size_t n, size_t C, int K,
                   const lgp_logreg_opts *o, lgp_logreg_info *info, char *err, size_t errlen) {
    if (n == 0 || C == 0 || K < 1) return fail(err, errlen, "logreg: empty problem (n %zu, C %zu, K %d)", n, C, K);
    if (!(o->lambda > 0) || !(o->tol >= 0)) return fail(err, errlen, "logreg: need lambda > 0 and tol >= 0");
    if ((size_t)K * C > ((size_t)1 << 31) || n > ((size_t)1 << 31) / (size_t)K || C > 65536)
        return fail(err, errlen, "logreg: problem too large (n %zu, C %zu, K %d)", n, C, K);
    double *Xd = to_double_checked(X, y, n, C, K, err, errlen);
    if (!Xd) return LGP_FATAL;
    lgp_logreg_info tmp;
    lr_prob p = {Xd, y, n, C, (size_t)K * C, K, o->lambda, 0, 0, err, errlen};
    int rc = lbfgs(&p, W, o, info ? info : &tmp);
    free(Xd);
    return rc;
}

int lgp_logreg_scores(float *S, const float *X, size_t m, size_t C, const double *W,
                      const double *b, int K, char *err, size_t errlen) {
    /* Widen X in blocks so a 50k-row test set needs no double copy of the whole. */
    const size_t blk = 2048;
    double *Xd = malloc(blk * C * sizeof *Xd);              /* [blk, C] */
    double *Sd = malloc(blk * (size_t)K * sizeof *Sd);      /* [blk, K] */
    if (!Xd || !Sd) {
        free(Xd);
        free(Sd);
        return fail(err, errlen, "logreg: out of memory scoring %zu x %zu", m, C);
    }
    for (size_t i0 = 0; i0 < m; i0 += blk) {
        size_t r = m - i0 < blk ? m - i0 : blk;
        for (size_t j = 0; j < r * C; j++) Xd[j] = X[i0 * C + j];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)r, K, (int)C, 1.0, Xd, (int)C, W,
                    (int)C, 0.0, Sd, K);
        for (size_t i = 0; i < r; i++)
            for (int k = 0; k < K; k++) S[(i0 + i) * K + k] = (float)(Sd[i * K + k] + (b ? b[k] : 0.0));
    }
    free(Xd);
    free(Sd);
    return LGP_OK;
}

void lgp_logreg_topk(size_t *hit1, size_t *hit5, const float *S, const int32_t *y, size_t m, int K) {
    size_t h1 = 0, h5 = 0;
    for (size_t i = 0; i < m; i++) {
        const float *s = S + i * (size_t)K; /* [K] */
        float sy = s[y[i]];
        int rank = 0; /* classes ranked above the label: higher score, or equal with lower index */
        for (int k = 0; k < K; k++) rank += s[k] > sy || (s[k] == sy && k < y[i]);
        h1 += rank == 0;
        h5 += rank < 5;
    }
    *hit1 = h1, *hit5 = h5;
}

/* fold[i] in [0, folds): per class, members in input order are shuffled by
 * (seed, class) and dealt round-robin, so every fold gets ⌊n_c/folds⌋ or one more. */
static int assign_folds(int *fold, const int32_t *y, size_t n, int K, int folds, uint64_t seed) {
    size_t *mem = malloc((n ? n : 1) * sizeof *mem);
    if (!mem) return -1;
    for (int k = 0; k < K; k++) {
        size_t nk = 0;
        for (size_t i = 0; i < n; i++)
            if (y[i] == k) mem[nk++] = i;
        lgp_rng r;
        lgp_rng_init(&r, seed, (uint64_t)k, 0xCF, LGP_RNG_PROBE);
        for (size_t i = nk; i > 1; i--) {
            size_t j = (size_t)lgp_rng_below(&r, i), t = mem[i - 1];
            mem[i - 1] = mem[j], mem[j] = t;
        }
        for (size_t i = 0; i < nk; i++) fold[mem[i]] = (int)(i % (size_t)folds);
    }
    free(mem);
    return 0;
}

/* Fits every λ (largest first, warm-started) on the samples outside fold f and adds
 * the held-out top-1 hits to hits[g]. order[] lists grid indices by decreasing λ. */
static int cv_fold(size_t *hits, const int *order, const double *grid, int ngrid, int f, int folds,
                   const int *fold, const float *X, const int32_t *y, size_t n, size_t C, int K,
                   const lgp_logreg_opts *o, char *err, size_t errlen) {
    size_t ntr = 0, nte = 0;
    for (size_t i = 0; i < n; i++) *(fold[i] == f ? &nte : &ntr) += 1;
    if (ntr == 0 || nte == 0) return LGP_OK;
    float *Xtr = malloc(ntr * C * sizeof *Xtr), *Xte = malloc(nte * C * sizeof *Xte); /* [ntr|nte, C] */
    int32_t *ytr = malloc(ntr * sizeof *ytr), *yte = malloc(nte * sizeof *yte);
    double *W = calloc((size_t)K * C, sizeof *W);                                      /* [K, C] */
    float *S = malloc(nte * (size_t)K * sizeof *S);                                    /* [nte, K] */
    int rc = LGP_OK;
    if (!Xtr || !Xte || !ytr || !yte || !W || !S) {
        rc = fail(err, errlen, "logreg: out of memory in cross-validation");
        goto out;
    }
    for (size_t i = 0, a = 0, b = 0; i < n; i++) {
        if (fold[i] == f) memcpy(Xte + b * C, X + i * C, C * sizeof *X), yte[b++] = y[i];
        else memcpy(Xtr + a * C, X + i * C, C * sizeof *X), ytr[a++] = y[i];
    }
    for (int g = 0; g < ngrid && rc == LGP_OK; g++) {
        lgp_logreg_opts og = *o;
        og.lambda = grid[order[g]];
        lgp_logreg_info info;
        size_t h1, h5;
        rc = lgp_logreg_fit(W, Xtr, ytr, ntr, C, K, &og, &info, err, errlen);
        if (rc == LGP_OK) rc = lgp_logreg_scores(S, Xte, nte, C, W, NULL, K, err, errlen);
        if (rc == LGP_OK) lgp_logreg_topk(&h1, &h5, S, yte, nte, K), hits[order[g]] += h1;
        if (rc == LGP_OK && o->on_fit) o->on_fit(o->ctx, f * ngrid + g + 1, folds * ngrid);
    }
out:
    free(Xtr), free(Xte), free(ytr), free(yte), free(W), free(S);
    return rc;
}

int lgp_logreg_cv_lambda(double *best, double *cv_acc, const double *grid, int ngrid,
                         int folds, uint64_t seed, const float *X, const int32_t *y,
                         size_t n, size_t C, int K, const lgp_logreg_opts *o, char *err,
                         size_t errlen) {
    if (ngrid < 1 || folds < 2 || n < 2) return fail(err, errlen, "logreg: cross-validation needs a grid, >= 2 folds and >= 2 samples");
    for (int g = 0; g < ngrid; g++)
        if (!(grid[g] > 0)) return fail(err, errlen, "logreg: grid value %g is not > 0", grid[g]);
    int *fold = malloc(n * sizeof *fold), *order = malloc((size_t)ngrid * sizeof *order);
    size_t *hits = calloc((size_t)ngrid, sizeof *hits);
    int rc = LGP_OK;
    if (!fold || !order || !hits || assign_folds(fold, y, n, K, folds, seed)) {
        rc = fail(err, errlen, "logreg: out of memory in cross-validation");
        goto out;
    }
    for (int g = 0; g < ngrid; g++) order[g] = g;
    for (int a = 1; a < ngrid; a++) /* insertion sort by decreasing λ */
        for (int b = a; b > 0 && grid[order[b]] > grid[order[b - 1]]; b--) {
            int t = order[b];
            order[b] = order[b - 1], order[b - 1] = t;
        }
    for (int f = 0; f < folds && rc == LGP_OK; f++)
        rc = cv_fold(hits, order, grid, ngrid, f, folds, fold, X, y, n, C, K, o, err, errlen);
    if (rc == LGP_OK) {
        int bi = order[0];
        for (int g = 1; g < ngrid; g++)
            if (hits[order[g]] > hits[bi]) bi = order[g]; /* strict: ties keep the larger λ */
        *best = grid[bi];
        if (cv_acc)
            for (int g = 0; g < ngrid; g++) cv_acc[g] = (double)hits[g] / (double)n;
    }
out:
    free(fold), free(order), free(hits);
    return rc;
}
