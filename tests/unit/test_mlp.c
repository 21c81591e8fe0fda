/* test_mlp.c — the MoCo projector/predictor layers against a naive double-precision
 * twin: forward values, and every gradient (Linear, BN with and without affine, ReLU,
 * whole heads) against central finite differences of the double twin; running stats
 * (unbiased variance); the parameter table; init; and SyncBN through the all-reduce
 * hook with two threads each holding half the batch. */
#include "common/nn/mlp.h"
#include "common/lgp.h"
#include "common/nn/ops.h"
#include "common/util/rng.h"
#include "tap.h"

#include <pthread.h>
#include <stdint.h>

static uint64_t seed = 20240601;

static void fill(float *x, size_t n, float scale, uint64_t key) {
    lgp_rng r;
    lgp_rng_init(&r, seed, key, 0, 99);
    for (size_t i = 0; i < n; i++) x[i] = scale * (float)lgp_rng_normal(&r);
}

/* max |a - b| / max |b|: a normwise relative error that small entries cannot inflate */
static double rel_err(const float *a, const double *b, size_t n) {
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs(a[i] - b[i]));
        den = fmax(den, fabs(b[i]));
    }
    return num / den;
}

/* ---- the naive double twin ---- */
static void linear_ref(double *out, const double *x, const double *w, int B, int I, int O) {
    for (int b = 0; b < B; b++)
        for (int o = 0; o < O; o++) {
            double s = 0;
            for (int i = 0; i < I; i++) s += x[b * I + i] * w[o * I + i];
            out[b * O + o] = s;
        }
}

/* in place; two-pass mean/var; var_unb[C] optional */
static void bn_ref(double *x, const double *g, const double *be, double *mean, double *var_unb,
                   int B, int C) {
    for (int c = 0; c < C; c++) {
        double mu = 0, v = 0;
        for (int b = 0; b < B; b++) mu += x[b * C + c];
        mu /= B;
        for (int b = 0; b < B; b++) v += (x[b * C + c] - mu) * (x[b * C + c] - mu);
        if (mean) mean[c] = mu;
        if (var_unb) var_unb[c] = v / (B - 1);
        v /= B;
        for (int b = 0; b < B; b++) {
            double h = (x[b * C + c] - mu) / sqrt(v + 1e-5);
            x[b * C + c] = g ? h * g[c] + be[c] : h;
        }
    }
}

/* out[B, dim[n]] of the MLP in double; p = params in m's layout. */
static void mlp_ref(const lgp_mlp *m, const double *p, const double *inp, int B, double *out) {
    static double buf[2][64 * 64];
    const double *x = inp;
    for (int i = 0; i < m->nlayers; i++) {
        int in = m->dim[i], o = m->dim[i + 1];
        double *y = i == m->nlayers - 1 ? out : buf[i & 1];
        linear_ref(y, x, p + m->w[i], B, in, o);
        int aff = m->gamma[i] != SIZE_MAX;
        bn_ref(y, aff ? p + m->gamma[i] : NULL, aff ? p + m->beta[i] : NULL, NULL, NULL, B, o);
        if (aff)
            for (int k = 0; k < B * o; k++) y[k] = y[k] > 0 ? y[k] : 0;
        x = y;
    }
}

/* L = Σ out·R, the scalar every gradient check differentiates */
static double mlp_loss_ref(const lgp_mlp *m, const double *p, const double *inp, int B,
                           const float *R) {
    static double out[64 * 64];
    mlp_ref(m, p, inp, B, out);
    double L = 0;
    for (int k = 0; k < B * m->dim[m->nlayers]; k++) L += out[k] * R[k];
    return L;
}

/* Gradient check of a whole head: float forward/backward vs the double twin and its
 * central differences (h = 1e-6 in double). */
static void check_mlp(const char *what, const lgp_mlp *m, int B) {
    char err[128];
    int C = m->dim[0], E = m->dim[m->nlayers];
    /* buffers hold the base offsets too: the head sits inside a bigger model */
    size_t np = m->param_base + m->nparams, ns = m->stat_base + m->nstats;
    float *P = calloc(np, 4), *G = calloc(np, 4), *S = calloc(ns, 4);
    float *X = calloc((size_t)B * C, 4), *DX = calloc((size_t)B * C, 4), *R = calloc((size_t)B * E, 4);
    double *pd = calloc(np, 8), *xd = calloc((size_t)B * C, 8), *ref = calloc((size_t)B * E, 8);
    lgp_mlp_init_params(m, P, S, 7);
    for (int i = 0; i < m->nlayers - 1; i++) { /* non-trivial γ, β */
        fill(P + m->gamma[i], m->dim[i + 1], 0.3f, 11 + i);
        for (int c = 0; c < m->dim[i + 1]; c++) P[m->gamma[i] + c] += 1.0f;
        fill(P + m->beta[i], m->dim[i + 1], 0.3f, 21 + i);
    }
    fill(X, (size_t)B * C, 1.0f, 1);
    fill(R, (size_t)B * E, 1.0f, 2);
    for (size_t k = 0; k < np; k++) pd[k] = P[k];
    for (int k = 0; k < B * C; k++) xd[k] = X[k];
    lgp_mlp_acts a;
    is_int(lgp_mlp_acts_init(&a, m, B, err, sizeof err), LGP_OK, "%s: acts init", what);
    const float *out = lgp_mlp_forward(m, &a, X, B, P, S, NULL);
    mlp_ref(m, pd, xd, B, ref);
    double e = rel_err(out, ref, (size_t)B * E);
    ok(e < 1e-5, "%s: forward vs double twin (rel %.2e < 1e-5)", what, e);
    { /* running stats of the first BN: 0.9·0 + 0.1·mean, 0.9·1 + 0.1·unbiased var */
        int o = m->dim[1];
        double *z = calloc((size_t)B * o, 8), *mu = calloc(o, 8), *vu = calloc(o, 8);
        double *want = calloc(2 * (size_t)o, 8);
        linear_ref(z, xd, pd + m->w[0], B, C, o);
        bn_ref(z, NULL, NULL, mu, vu, B, o);
        for (int c = 0; c < o; c++) want[c] = 0.1 * mu[c], want[o + c] = 0.9 + 0.1 * vu[c];
        e = rel_err(S + m->rmean[0], want, 2 * (size_t)o); /* rmean, rvar adjacent */
        ok(m->rvar[0] == m->rmean[0] + (size_t)o && e < 1e-5,
           "%s: running stats after one forward (rel %.2e)", what, e);
        free(z), free(mu), free(vu), free(want);
    }
    lgp_mlp_backward(m, &a, DX, G, R, X, P, NULL);
    double *fd = calloc(np > (size_t)B * C ? np : (size_t)B * C, 8);
    const double h = 1e-6;
    for (size_t k = m->param_base; k < np; k++) {
        double s = pd[k];
        pd[k] = s + h;
        double lp = mlp_loss_ref(m, pd, xd, B, R);
        pd[k] = s - h;
        double lm = mlp_loss_ref(m, pd, xd, B, R);
        pd[k] = s;
        fd[k] = (lp - lm) / (2 * h);
    }
    lgp_head_tensor tab[16];
    size_t nt = lgp_mlp_table(m, tab, 16);
    for (size_t t = 0; t < nt; t++) {
        if (tab[t].flags & LGP_HT_STAT) continue;
        size_t o = tab[t].offset;
        e = rel_err(G + o, fd + o, tab[t].numel);
        ok(e < 1e-4, "%s: d %s vs finite differences (rel %.2e < 1e-4)", what, tab[t].name, e);
    }
    for (int k = 0; k < B * C; k++) {
        double s = xd[k];
        xd[k] = s + h;
        double lp = mlp_loss_ref(m, pd, xd, B, R);
        xd[k] = s - h;
        double lm = mlp_loss_ref(m, pd, xd, B, R);
        xd[k] = s;
        fd[k] = (lp - lm) / (2 * h);
    }
    e = rel_err(DX, fd, (size_t)B * C);
    ok(e < 1e-4, "%s: d input vs finite differences (rel %.2e < 1e-4)", what, e);
    lgp_mlp_acts_free(&a);
    free(P), free(G), free(S), free(X), free(DX), free(R), free(pd), free(xd), free(ref), free(fd);
}

static void test_linear(void) {
    enum { B = 5, I = 7, O = 4 };
    float x[B * I], w[O * I], R[B * O], out[B * O], dx[B * I] = {0}, dw[O * I] = {0};
    double xd[B * I], wd[O * I], od[B * O], fdx[B * I], fdw[O * I];
    fill(x, B * I, 1, 31), fill(w, O * I, 0.5f, 32), fill(R, B * O, 1, 33);
    for (int k = 0; k < B * I; k++) xd[k] = x[k];
    for (int k = 0; k < O * I; k++) wd[k] = w[k];
    lgp_linear_forward(out, x, w, NULL, B, I, O);
    linear_ref(od, xd, wd, B, I, O);
    double e = rel_err(out, od, B * O);
    ok(e < 1e-6, "linear (no bias): forward vs double (rel %.2e)", e);
    lgp_linear_backward(dx, dw, NULL, R, x, w, B, I, O);
    /* L = Σ out·R is linear in each argument: central differences are exact up to rounding */
    for (int pass = 0; pass < 2; pass++) {
        double *v = pass ? wd : xd, *fd = pass ? fdw : fdx;
        int n = pass ? O * I : B * I;
        for (int k = 0; k < n; k++) {
            double s = v[k], L[2];
            for (int sg = 0; sg < 2; sg++) {
                v[k] = s + (sg ? -1e-3 : 1e-3);
                linear_ref(od, xd, wd, B, I, O);
                L[sg] = 0;
                for (int j = 0; j < B * O; j++) L[sg] += od[j] * R[j];
            }
            v[k] = s;
            fd[k] = (L[0] - L[1]) / 2e-3;
        }
    }
    e = rel_err(dx, fdx, B * I);
    ok(e < 1e-5, "linear: dinp vs finite differences (rel %.2e)", e);
    e = rel_err(dw, fdw, O * I);
    ok(e < 1e-5, "linear: dweight vs finite differences (rel %.2e)", e);
}

static double bn_loss_ref(const double *x, const double *g, const double *be, const float *R,
                          int B, int C) {
    double y[64], L = 0;
    memcpy(y, x, sizeof(double) * B * C);
    bn_ref(y, g, be, NULL, NULL, B, C);
    for (int k = 0; k < B * C; k++) L += y[k] * R[k];
    return L;
}

static void test_bn(int affine) {
    enum { B = 6, C = 5 };
    const char *what = affine ? "batchnorm (affine)" : "batchnorm (no affine)";
    float x[B * C], g[C], be[C], R[B * C], xhat[B * C], out[B * C], mean[C], rstd[C];
    float rm[C], rv[C], dx[B * C] = {0}, dg[C] = {0}, db[C] = {0};
    double sums[2 * C + 1], xd[B * C], gd[C], bd[C], ref[B * C], mref[C], vref[C];
    fill(x, B * C, 2, 41), fill(g, C, 0.5f, 42), fill(be, C, 0.5f, 43), fill(R, B * C, 1, 44);
    for (int k = 0; k < B * C; k++) x[k] += 3.0f, xd[k] = x[k]; /* a mean to remove */
    for (int c = 0; c < C; c++) gd[c] = g[c] += 1.0f, bd[c] = be[c], rm[c] = 0, rv[c] = 1;
    double N = lgp_bn_forward(xhat, affine ? out : NULL, mean, rstd, sums, x, affine ? g : NULL,
                              affine ? be : NULL, rm, rv, B, C, 1e-5f, 0.1f, NULL);
    is_int((int)N, B, "%s: count", what);
    memcpy(ref, xd, sizeof ref);
    bn_ref(ref, affine ? gd : NULL, affine ? bd : NULL, mref, vref, B, C);
    double e = rel_err(affine ? out : xhat, ref, B * C);
    ok(e < 1e-5, "%s: forward vs double twin (rel %.2e)", what, e);
    double rmw[C], rvw[C];
    for (int c = 0; c < C; c++) rmw[c] = 0.1 * mref[c], rvw[c] = 0.9 + 0.1 * vref[c];
    e = rel_err(rm, rmw, C) + rel_err(rv, rvw, C);
    ok(e < 1e-6, "%s: running mean / unbiased running var (rel %.2e)", what, e);
    lgp_bn_backward(dx, affine ? dg : NULL, affine ? db : NULL, sums, R, xhat, rstd,
                    affine ? g : NULL, N, B, C, NULL);
    double fdx[B * C], fdg[C], fdb[C], h = 1e-6;
    double *vars[3] = {xd, gd, bd}, *fds[3] = {fdx, fdg, fdb};
    for (int v = 0; v < (affine ? 3 : 1); v++)
        for (int k = 0; k < (v ? C : B * C); k++) {
            double s = vars[v][k];
            vars[v][k] = s + h;
            double lp = bn_loss_ref(xd, affine ? gd : NULL, bd, R, B, C);
            vars[v][k] = s - h;
            double lm = bn_loss_ref(xd, affine ? gd : NULL, bd, R, B, C);
            vars[v][k] = s;
            fds[v][k] = (lp - lm) / (2 * h);
        }
    e = rel_err(dx, fdx, B * C);
    ok(e < 1e-4, "%s: dx vs finite differences (rel %.2e < 1e-4)", what, e);
    if (affine) {
        e = rel_err(dg, fdg, C);
        ok(e < 1e-4, "%s: dgamma vs finite differences (rel %.2e)", what, e);
        e = rel_err(db, fdb, C);
        ok(e < 1e-4, "%s: dbeta vs finite differences (rel %.2e)", what, e);
    }
}

static void test_relu(void) {
    float x[6] = {-2, -0.0f, 0, 1e-30f, 3, -1e-30f}, y[6], d[6] = {0};
    float dy[6] = {1, 2, 3, 4, 5, 6};
    lgp_relu_forward(y, x, 6);
    ok(y[0] == 0 && y[1] == 0 && y[2] == 0 && y[3] == 1e-30f && y[4] == 3 && y[5] == 0,
       "relu forward");
    lgp_relu_backward(d, dy, y, 6);
    ok(d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 4 && d[4] == 5 && d[5] == 0,
       "relu backward passes gradient only where the output is positive (0 at 0, as torch)");
}

static void test_table(void) {
    lgp_mlp p, q;
    lgp_mlp_init_projector(&p, 6, 10, 5, 100, 7);
    lgp_mlp_init_predictor(&q, 5, 10, p.param_base + p.nparams, p.stat_base + p.nstats);
    is_int(p.nparams, 6 * 10 + 20 + 100 + 20 + 10 * 5, "projector nparams");
    is_int(p.nstats, 2 * (10 + 10 + 5), "projector nstats");
    is_int(q.nparams, 5 * 10 + 20 + 10 * 5, "predictor nparams");
    lgp_head_tensor t[32];
    size_t n = lgp_mlp_table(&p, t, 32), n2 = lgp_mlp_table(&q, t + n, 32 - n);
    is_int(n, lgp_mlp_table_len(&p), "projector table length");
    is_int(n2, lgp_mlp_table_len(&q), "predictor table length");
    const char *want = "head.0.weight head.1.weight head.1.bias head.1.running_mean "
                       "head.1.running_var head.3.weight head.4.weight head.4.bias "
                       "head.4.running_mean head.4.running_var head.6.weight head.7.running_mean "
                       "head.7.running_var predictor.0.weight predictor.1.weight predictor.1.bias "
                       "predictor.1.running_mean predictor.1.running_var predictor.3.weight "
                       "predictor.4.running_mean predictor.4.running_var ";
    char got[1024] = "";
    size_t po = 100, so = 7;
    int contiguous = 1, flags_ok = 1;
    for (size_t i = 0; i < n + n2; i++) {
        strcat(got, t[i].name), strcat(got, " ");
        size_t *cur = t[i].flags & LGP_HT_STAT ? &so : &po;
        contiguous &= t[i].offset == *cur;
        *cur += t[i].numel;
        flags_ok &= (t[i].ndim == 1) == ((t[i].flags & (LGP_HT_NO_WD | LGP_HT_STAT)) != 0);
    }
    is_str(got, want, "timm/MoCo names in state_dict order");
    ok(contiguous && po == q.param_base + q.nparams && so == q.stat_base + q.nstats,
       "offsets tile both buffers from the given bases");
    ok(flags_ok, "1-D tensors are no-wd parameters or running stats, 2-D are decayed weights");
    ok(t[0].shape[0] == 10 && t[0].shape[1] == 6 && t[10].shape[0] == 5 && t[10].shape[1] == 10,
       "weight shapes [out, in]");
}

static void test_init(void) {
    lgp_mlp p;
    lgp_mlp_init_projector(&p, 64, 128, 32, 0, 0);
    float *a = malloc(p.nparams * 4), *b = malloc(p.nparams * 4), *s = malloc(p.nstats * 4);
    lgp_mlp_init_params(&p, a, s, 1);
    lgp_mlp_init_params(&p, b, s, 1);
    ok(memcmp(a, b, p.nparams * 4) == 0, "init is a function of the seed");
    lgp_mlp_init_params(&p, b, s, 2);
    ok(memcmp(a, b, p.nparams * 4) != 0, "another seed, other weights");
    const float *w = a + p.w[1];
    double mx = 0, s2 = 0, bound = 1 / sqrt(128.0);
    for (int k = 0; k < 128 * 128; k++) mx = fmax(mx, fabs(w[k])), s2 += (double)w[k] * w[k];
    ok(mx <= bound && mx > 0.99 * bound, "head.3.weight within U(±1/sqrt(fan_in)) (max %.4f, bound %.4f)", mx, bound);
    is_close(s2 / (128 * 128), bound * bound / 3, 0.05, 0, "variance bound²/3");
    int bn_ok = 1;
    for (int c = 0; c < 128; c++) bn_ok &= a[p.gamma[0] + c] == 1 && a[p.beta[0] + c] == 0;
    for (int c = 0; c < 32; c++) bn_ok &= s[p.rmean[2] + c] == 0 && s[p.rvar[2] + c] == 1;
    ok(bn_ok, "BN gamma 1, beta 0, running mean 0, var 1");
    free(a), free(b), free(s);
}

/* ---- SyncBN: two "ranks" as threads, the all-reduce hook sums through a barrier ---- */
typedef struct {
    pthread_barrier_t bar;
    double slot[2][256];
} fake_world;
typedef struct {
    fake_world *w;
    int rank;
    const lgp_mlp *m;
    const float *P, *X, *R;
    float *G, *DX, *out, *S;
    int B;
} rank_job;
typedef struct {
    fake_world *w;
    int rank;
} rank_ctx;

static void fake_allreduce(double *buf, size_t n, void *ctx) {
    rank_ctx *c = ctx;
    LGP_ASSERT(n <= 256);
    memcpy(c->w->slot[c->rank], buf, n * sizeof *buf);
    pthread_barrier_wait(&c->w->bar);
    for (size_t i = 0; i < n; i++) buf[i] = c->w->slot[0][i] + c->w->slot[1][i];
    pthread_barrier_wait(&c->w->bar); /* nobody overwrites a slot still being read */
}

static void *rank_main(void *arg) {
    rank_job *j = arg;
    rank_ctx ctx = {j->w, j->rank};
    lgp_bn_sync sync = {fake_allreduce, &ctx};
    lgp_mlp_acts a;
    char err[128];
    LGP_ASSERT(lgp_mlp_acts_init(&a, j->m, j->B, err, sizeof err) == LGP_OK);
    const float *o = lgp_mlp_forward(j->m, &a, j->X, j->B, j->P, j->S, &sync);
    memcpy(j->out, o, sizeof(float) * j->B * j->m->dim[j->m->nlayers]);
    lgp_mlp_backward(j->m, &a, j->DX, j->G, j->R, j->X, j->P, &sync);
    lgp_mlp_acts_free(&a);
    return NULL;
}

static void test_sync(void) {
    enum { B = 16, C = 12, F = 20, E = 8 };
    lgp_mlp m;
    lgp_mlp_init_projector(&m, C, F, E, 0, 0);
    size_t np = m.nparams, ns = m.nstats;
    float *P = malloc(np * 4), *S = malloc(ns * 4), *S2[2], *G = calloc(np, 4), *G2[2];
    float X[B * C], R[B * E], out[B * E], DX[B * C] = {0}, out2[B * E], DX2[B * C] = {0};
    lgp_mlp_init_params(&m, P, S, 3);
    fill(X, B * C, 1, 51), fill(R, B * E, 1, 52);
    for (int r = 0; r < 2; r++) {
        S2[r] = malloc(ns * 4), G2[r] = calloc(np, 4);
        memcpy(S2[r], S, ns * 4);
    }
    lgp_mlp_acts a;
    char err[128];
    lgp_mlp_acts_init(&a, &m, B, err, sizeof err);
    memcpy(out, lgp_mlp_forward(&m, &a, X, B, P, S, NULL), sizeof out);
    lgp_mlp_backward(&m, &a, DX, G, R, X, P, NULL);
    lgp_mlp_acts_free(&a);
    fake_world w;
    pthread_barrier_init(&w.bar, NULL, 2);
    rank_job jobs[2];
    pthread_t th[2];
    for (int r = 0; r < 2; r++) {
        int h = B / 2;
        jobs[r] = (rank_job){&w, r, &m, P, X + r * h * C, R + r * h * E, G2[r], DX2 + r * h * C,
                             out2 + r * h * E, S2[r], h};
        pthread_create(&th[r], NULL, rank_main, &jobs[r]);
    }
    for (int r = 0; r < 2; r++) pthread_join(th[r], NULL);
    pthread_barrier_destroy(&w.bar);
    double d_out = 0, d_dx = 0, d_g = 0, d_s = 0;
    for (int k = 0; k < B * E; k++) d_out = fmax(d_out, fabs(out[k] - out2[k]));
    for (int k = 0; k < B * C; k++) d_dx = fmax(d_dx, fabs(DX[k] - DX2[k]));
    for (size_t k = 0; k < np; k++) d_g = fmax(d_g, fabs(G[k] - (G2[0][k] + G2[1][k])) / (1 + fabs(G[k])));
    for (size_t k = 0; k < ns; k++) d_s = fmax(d_s, fabs(S[k] - S2[0][k]) + fabs(S[k] - S2[1][k]));
    ok(d_out < 1e-5, "SyncBN: two half batches give the full-batch outputs (max diff %.2e)", d_out);
    ok(d_dx < 1e-5, "SyncBN: and the full-batch input gradient (max diff %.2e)", d_dx);
    ok(d_g < 1e-4, "SyncBN: rank gradients sum to the full-batch gradients (max rel %.2e)", d_g);
    ok(d_s < 1e-6, "SyncBN: every rank's running stats are the global ones (max diff %.2e)", d_s);
    for (int r = 0; r < 2; r++) free(S2[r]), free(G2[r]);
    free(P), free(S), free(G);
}

int main(void) {
    printf("# seed %llu\n", (unsigned long long)seed);
    test_linear();
    test_bn(1);
    test_bn(0);
    test_relu();
    test_table();
    test_init();
    lgp_mlp p, q;
    lgp_mlp_init_projector(&p, 6, 10, 5, 3, 0); /* a nonzero base exercises the offsets */
    check_mlp("projector", &p, 8);
    lgp_mlp_init_predictor(&q, 5, 12, 0, 0);
    check_mlp("predictor", &q, 8);
    test_sync();
    return done_testing();
}
