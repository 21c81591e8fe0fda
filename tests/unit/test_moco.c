/* test_moco.c — InfoNCE forward against a naive double twin and its gradient w.r.t. q
 * against central finite differences (keys gathered: K > B with a label offset, and
 * K = B), the symmetrised loss, the momentum EMA bit for bit, the momentum schedule at
 * t = 0, T/2, T and the collapse monitor.
 *
 * `test_moco twin IN OUT` is the C half of the PyTorch twin (tests/ref/moco_twin.py,
 * tests/pipeline/t0600-moco-torch-twin.sh): it reads heads, features, m and τ from the
 * safetensors file IN, runs one MoCo v3 head step (online projector+predictor on both
 * views, momentum update, momentum projector, symmetrised loss, backward) and writes
 * every result to OUT. `test_moco bench B C F E ITERS` times that step on random data
 * (tests/ref/moco_twin.py bench is the torch counterpart). */
#include "common/nn/mlp.h"
#include "common/lgp.h"
#include "common/nn/moco.h"
#include "common/util/rng.h"
#include "formats/safetensors.h"
#include "tap.h"

#include <stdint.h>

static uint64_t seed = 424242;

static void fill(float *x, size_t n, float scale, uint64_t key) {
    lgp_rng r;
    lgp_rng_init(&r, seed, key, 0, 99);
    for (size_t i = 0; i < n; i++) x[i] = scale * (float)lgp_rng_normal(&r);
}

/* naive double InfoNCE: CE(norm(q)·norm(k)ᵀ/τ, off + i) · 2τ */
static double ctr_ref(const double *q, int B, const float *k, int K, int E, int off, double tau) {
    double L = 0;
    for (int i = 0; i < B; i++) {
        double qn = 0, l[256], mx = -1e300, s = 0;
        for (int t = 0; t < E; t++) qn += q[i * E + t] * q[i * E + t];
        qn = sqrt(qn);
        for (int j = 0; j < K; j++) {
            double kn = 0, d = 0;
            for (int t = 0; t < E; t++) kn += (double)k[j * E + t] * k[j * E + t], d += q[i * E + t] * k[j * E + t];
            l[j] = d / (qn * sqrt(kn)) / tau;
            mx = fmax(mx, l[j]);
        }
        for (int j = 0; j < K; j++) s += exp(l[j] - mx);
        L += log(s) + mx - l[off + i];
    }
    return L / B * 2 * tau;
}

static void check_ctr(int B, int K, int off, float tau) {
    enum { E = 16 };
    char err[128];
    float q[64 * E], k[256 * E], dq[64 * E] = {0};
    double qd[64 * E], fd[64 * E];
    fill(q, (size_t)B * E, 1, 1);
    fill(k, (size_t)K * E, 1, 2);
    for (int i = 0; i < B; i++) /* positives correlated with their query, as in training */
        for (int t = 0; t < E; t++) k[(off + i) * E + t] += 1.5f * q[i * E + t];
    for (int i = 0; i < B * E; i++) qd[i] = q[i];
    lgp_moco_ctr c;
    is_int(lgp_moco_ctr_init(&c, B, K, E, err, sizeof err), LGP_OK, "ctr init");
    float L = lgp_moco_ctr_forward(&c, q, B, k, K, off, tau);
    double Lr = ctr_ref(qd, B, k, K, E, off, tau);
    is_close(L, Lr, 1e-5, 0, "ctr B=%d K=%d offset=%d tau=%g: loss vs double twin", B, K, off, tau);
    lgp_moco_ctr_backward(&c, dq, 1.0f);
    double num = 0, den = 0, h = 1e-6;
    for (int i = 0; i < B * E; i++) {
        double s = qd[i];
        qd[i] = s + h;
        double lp = ctr_ref(qd, B, k, K, E, off, tau);
        qd[i] = s - h;
        double lm = ctr_ref(qd, B, k, K, E, off, tau);
        qd[i] = s;
        fd[i] = (lp - lm) / (2 * h);
        num = fmax(num, fabs(dq[i] - fd[i]));
        den = fmax(den, fabs(fd[i]));
    }
    ok(num / den < 1e-4, "ctr B=%d K=%d offset=%d: dq vs finite differences (rel %.2e < 1e-4)",
       B, K, off, num / den);
    /* accumulation and dloss scaling: a second backward with dloss = 2 triples dq */
    L = lgp_moco_ctr_forward(&c, q, B, k, K, off, tau);
    float before = dq[3];
    lgp_moco_ctr_backward(&c, dq, 2.0f);
    is_close(dq[3], 3 * before, 1e-5, 1e-9, "ctr backward accumulates, scaled by dloss");
    lgp_moco_ctr_free(&c);
}

static void test_sym(void) {
    enum { B = 8, E = 12 };
    char err[128];
    float q1[B * E], q2[B * E], k1[B * E], k2[B * E], d1[B * E] = {0}, d2[B * E] = {0};
    double a[B * E];
    fill(q1, B * E, 1, 11), fill(q2, B * E, 1, 12), fill(k1, B * E, 1, 13), fill(k2, B * E, 1, 14);
    lgp_moco_ctr c;
    lgp_moco_ctr_init(&c, B, B, E, err, sizeof err);
    float L = lgp_moco_loss(&c, q1, q2, k1, k2, B, B, 0, 0.2f, d1, d2);
    for (int i = 0; i < B * E; i++) a[i] = q1[i];
    double r = ctr_ref(a, B, k2, B, E, 0, 0.2);
    for (int i = 0; i < B * E; i++) a[i] = q2[i];
    r += ctr_ref(a, B, k1, B, E, 0, 0.2);
    is_close(L, r, 1e-5, 0, "symmetrised loss = ctr(q1, k2) + ctr(q2, k1)");
    float e1[B * E] = {0}, e2[B * E] = {0};
    lgp_moco_ctr_forward(&c, q1, B, k2, B, 0, 0.2f), lgp_moco_ctr_backward(&c, e1, 1);
    lgp_moco_ctr_forward(&c, q2, B, k1, B, 0, 0.2f), lgp_moco_ctr_backward(&c, e2, 1);
    ok(memcmp(d1, e1, sizeof d1) == 0 && memcmp(d2, e2, sizeof d2) == 0,
       "symmetrised gradients: q1 through k2, q2 through k1");
    /* a perfect match (q = k, orthogonal rows) at small τ costs almost nothing */
    float eye[B * B] = {0};
    for (int i = 0; i < B; i++) eye[i * B + i] = 1;
    lgp_moco_ctr_free(&c);
    lgp_moco_ctr_init(&c, B, B, B, err, sizeof err);
    L = lgp_moco_ctr_forward(&c, eye, B, eye, B, 0, 0.05f);
    ok(L >= 0 && L < 1e-6, "aligned orthogonal keys: loss %.3g ~ 0", L);
    L = lgp_moco_ctr_forward(&c, eye, B, eye, B, 0, 1.0f); /* logits = I: closed form */
    is_close(L, 2 * (log(exp(1.0) + B - 1) - 1), 1e-6, 0, "q = k = I, tau = 1: 2(log(e + B - 1) - 1)");
    lgp_moco_ctr_free(&c);
}

static void test_ema(void) {
    enum { N = 1003 };
    float a[N], b[N], want[N];
    fill(a, N, 1, 21), fill(b, N, 1, 22);
    const double ms[] = {0.99, 0.996, 0.9999, 1.0, 0.0};
    for (size_t t = 0; t < LGP_ARRAY_LEN(ms); t++) {
        double m = ms[t];
        float x[N];
        memcpy(x, a, sizeof x);
        for (int i = 0; i < N; i++) { /* the torch op sequence, volatile so nothing fuses */
            volatile float p = a[i] * (float)m, q = b[i] * (float)(1.0 - m);
            want[i] = p + q;
        }
        lgp_moco_ema(x, b, N, m);
        ok(memcmp(x, want, sizeof x) == 0, "momentum EMA m=%g bit for bit", m);
        if (m == 1.0) ok(memcmp(x, a, sizeof x) == 0, "m = 1 leaves the momentum weights");
        if (m == 0.0) ok(memcmp(x, b, sizeof x) == 0, "m = 0 copies the online weights");
    }
}

static void test_schedule(void) {
    is_close(lgp_moco_momentum(0, 300, 0.99), 0.99, 1e-15, 0, "m(0) = m0");
    is_close(lgp_moco_momentum(150, 300, 0.99), 0.995, 1e-15, 0, "m(T/2) = (1 + m0)/2");
    is_close(lgp_moco_momentum(300, 300, 0.99), 1.0, 1e-15, 0, "m(T) = 1");
    is_close(lgp_moco_momentum(75, 300, 0.99), 1 - 0.5 * (1 + sqrt(0.5)) * 0.01, 1e-15, 0,
             "m(T/4) on the cosine");
}

static void test_collapse(void) {
    enum { B = 512, E = 64 };
    static float z[B * E];
    fill(z, B * E, 1, 31);
    double s = lgp_moco_collapse_std(z, B, E);
    is_close(s, 1 / sqrt(E), 0.05, 0, "collapse monitor on Gaussian features ~ 1/sqrt(E)");
    for (int i = 1; i < B; i++) /* every row the same direction, different lengths */
        for (int t = 0; t < E; t++) z[i * E + t] = z[t] * (1 + i % 7);
    s = lgp_moco_collapse_std(z, B, E);
    ok(s < 1e-6, "collapse monitor on collapsed features: %.3g ~ 0", s);
}

int twin_main(const char *in, const char *out);
int bench_main(int B, int C, int F, int E, int iters);

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "twin") == 0) return twin_main(argv[2], argv[3]);
    if (argc == 7 && strcmp(argv[1], "bench") == 0) /* bench B C F E ITERS */
        return bench_main(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
    printf("# seed %llu\n", (unsigned long long)seed);
    check_ctr(8, 8, 0, 0.2f);
    check_ctr(8, 32, 16, 0.2f); /* rank 2 of 4: gathered keys, labels offset 16 */
    check_ctr(5, 20, 15, 1.0f); /* last rank, τ = 1 */
    test_sym();
    test_ema();
    test_schedule();
    test_collapse();
    return done_testing();
}

/* ---- the PyTorch twin's C half ---- */
typedef struct {
    lgp_record in, out;
    char err[512];
} twin;

/* f32 tensor `name` of shape [d0] or [d0, d1] (d1 = 0), or NULL with t->err set */
static const float *twin_get(twin *t, const char *name, int64_t d0, int64_t d1) {
    const lgp_tensor *x = lgp_record_get(&t->in, name);
    if (!x || x->dtype != LGP_DT_F32 || x->ndim != (d1 ? 2 : 1) || x->shape[0] != d0 ||
        (d1 && x->shape[1] != d1)) {
        snprintf(t->err, sizeof t->err, "%s: missing, or not f32 [%lld, %lld]", name,
                 (long long)d0, (long long)d1);
        return NULL;
    }
    return x->data;
}

/* Copies every head tensor (prefixed) from the input into params / stats. */
static int twin_load_head(twin *t, const lgp_mlp *m, const char *prefix, float *P, float *S) {
    lgp_head_tensor tab[16];
    size_t n = lgp_mlp_table(m, tab, 16);
    for (size_t i = 0; i < n; i++) {
        char name[96];
        if (snprintf(name, sizeof name, "%s%s", prefix, tab[i].name) >= (int)sizeof name)
            return LGP_FATAL;
        const float *v = twin_get(t, name, tab[i].shape[0], tab[i].shape[1]);
        if (!v) return LGP_FATAL;
        memcpy((tab[i].flags & LGP_HT_STAT ? S : P) + tab[i].offset, v, tab[i].numel * 4);
    }
    return LGP_OK;
}

/* Puts the head's tensors (params, or grads under "grad.") into the output. */
static void twin_put_head(twin *t, const lgp_mlp *m, const char *prefix, const float *P,
                          const float *S, int grads) {
    lgp_head_tensor tab[16];
    size_t n = lgp_mlp_table(m, tab, 16);
    for (size_t i = 0; i < n; i++) {
        if (grads && (tab[i].flags & LGP_HT_STAT)) continue;
        char name[128];
        int len = snprintf(name, sizeof name, "%s%s%s", grads ? "grad." : "", prefix, tab[i].name);
        LGP_ASSERT(len < (int)sizeof name);
        const float *src = (tab[i].flags & LGP_HT_STAT ? S : P) + tab[i].offset;
        LGP_ASSERT(lgp_record_put(&t->out, name, LGP_DT_F32, tab[i].ndim, tab[i].shape, src,
                                  tab[i].numel * 4, LGP_COPY) == LGP_OK);
    }
}

static void twin_put(twin *t, const char *name, const float *x, int64_t d0, int64_t d1) {
    int64_t sh[2] = {d0, d1};
    LGP_ASSERT(lgp_record_put(&t->out, name, LGP_DT_F32, d1 ? 2 : 1, sh, x,
                              (size_t)(d0 * (d1 ? d1 : 1)) * 4, LGP_COPY) == LGP_OK);
}

/* One MoCo v3 head step in the order of moco/builder.py MoCo.forward. */
static int twin_step(twin *t, int B, int C, int F, int E, double m, float tau) {
    lgp_mlp proj, pred, projm; /* online: projector then predictor in one buffer */
    lgp_mlp_init_projector(&proj, C, F, E, 0, 0);
    lgp_mlp_init_predictor(&pred, E, F, proj.nparams, proj.nstats);
    lgp_mlp_init_projector(&projm, C, F, E, 0, 0);
    size_t np = proj.nparams + pred.nparams, ns = proj.nstats + pred.nstats, be = (size_t)B * E;
    float *P = calloc(np, 4), *G = calloc(np, 4), *S = calloc(ns, 4);
    float *PM = calloc(projm.nparams, 4), *SM = calloc(projm.nstats, 4);
    float *buf = calloc(6 * be + 2 * (size_t)B * C, 4); /* K1 K2 dq1 dq2 dp1 dp2 dx1 dx2 */
    float *K1 = buf, *K2 = K1 + be, *dq[2] = {K2 + be, K2 + 2 * be};
    float *dp[2] = {dq[1] + be, dq[1] + 2 * be}, *dx[2] = {dp[1] + be, dp[1] + be + (size_t)B * C};
    const float *x[2] = {twin_get(t, "x1", B, C), twin_get(t, "x2", B, C)};
    const float *y[2] = {twin_get(t, "y1", B, C), twin_get(t, "y2", B, C)};
    lgp_mlp_acts ap[2], aq[2], am;
    lgp_moco_ctr c;
    int rc = LGP_FATAL;
    if (!x[0] || !x[1] || !y[0] || !y[1] || twin_load_head(t, &proj, "", P, S) ||
        twin_load_head(t, &pred, "", P, S) || twin_load_head(t, &projm, "momentum.", PM, SM))
        goto out;
    for (int v = 0; v < 2; v++) {
        LGP_ASSERT(lgp_mlp_acts_init(&ap[v], &proj, B, t->err, sizeof t->err) == LGP_OK);
        LGP_ASSERT(lgp_mlp_acts_init(&aq[v], &pred, B, t->err, sizeof t->err) == LGP_OK);
    }
    LGP_ASSERT(lgp_mlp_acts_init(&am, &projm, B, t->err, sizeof t->err) == LGP_OK);
    LGP_ASSERT(lgp_moco_ctr_init(&c, B, B, E, t->err, sizeof t->err) == LGP_OK);
    const float *z[2], *q[2];
    for (int v = 0; v < 2; v++) {
        z[v] = lgp_mlp_forward(&proj, &ap[v], x[v], B, P, S, NULL);
        q[v] = lgp_mlp_forward(&pred, &aq[v], z[v], B, P, S, NULL);
    }
    lgp_moco_ema(PM, P, projm.nparams, m); /* projector sits at offset 0 in both */
    memcpy(K1, lgp_mlp_forward(&projm, &am, y[0], B, PM, SM, NULL), be * 4);
    memcpy(K2, lgp_mlp_forward(&projm, &am, y[1], B, PM, SM, NULL), be * 4);
    float loss = lgp_moco_loss(&c, q[0], q[1], K1, K2, B, B, 0, tau, dq[0], dq[1]);
    for (int v = 0; v < 2; v++) {
        lgp_mlp_backward(&pred, &aq[v], dp[v], G, dq[v], z[v], P, NULL);
        lgp_mlp_backward(&proj, &ap[v], dx[v], G, dp[v], x[v], P, NULL);
    }
    float mon = (float)lgp_moco_collapse_std(q[0], B, E);
    twin_put(t, "loss", &loss, 1, 0);
    twin_put(t, "collapse", &mon, 1, 0);
    twin_put(t, "q1", q[0], B, E), twin_put(t, "q2", q[1], B, E);
    twin_put(t, "k1", K1, B, E), twin_put(t, "k2", K2, B, E);
    twin_put(t, "grad.x1", dx[0], B, C), twin_put(t, "grad.x2", dx[1], B, C);
    twin_put_head(t, &proj, "", P, S, 0), twin_put_head(t, &pred, "", P, S, 0);
    twin_put_head(t, &proj, "", G, S, 1), twin_put_head(t, &pred, "", G, S, 1);
    twin_put_head(t, &projm, "momentum.", PM, SM, 0);
    for (int v = 0; v < 2; v++) lgp_mlp_acts_free(&ap[v]), lgp_mlp_acts_free(&aq[v]);
    lgp_mlp_acts_free(&am);
    lgp_moco_ctr_free(&c);
    rc = LGP_OK;
out:
    free(P), free(G), free(S), free(PM), free(SM), free(buf);
    return rc;
}

int twin_main(const char *in, const char *out) {
    twin t;
    lgp_record_init(&t.in);
    lgp_record_init(&t.out);
    int rc = lgp_st_load(in, &t.in, NULL, t.err, sizeof t.err);
    const lgp_tensor *x1 = lgp_record_get(&t.in, "x1"), *w0 = lgp_record_get(&t.in, "head.0.weight");
    const lgp_tensor *w6 = lgp_record_get(&t.in, "head.6.weight"), *m = lgp_record_get(&t.in, "m");
    const lgp_tensor *tau = lgp_record_get(&t.in, "tau");
    if (rc == LGP_OK && !(x1 && w0 && w6 && m && tau && x1->ndim == 2 && w0->ndim == 2 &&
                          w6->ndim == 2 && m->dtype == LGP_DT_F64 && tau->dtype == LGP_DT_F32)) {
        snprintf(t.err, sizeof t.err, "needs x1, head.0.weight, head.6.weight, m (f64), tau (f32)");
        rc = LGP_FATAL;
    }
    if (rc == LGP_OK)
        rc = twin_step(&t, (int)x1->shape[0], (int)x1->shape[1], (int)w0->shape[0],
                       (int)w6->shape[0], *(const double *)m->data, *(const float *)tau->data);
    if (rc == LGP_OK) rc = lgp_st_save(out, &t.out, NULL, t.err, sizeof t.err);
    if (rc != LGP_OK) fprintf(stderr, "test_moco: twin: %s: %s\n", in, t.err);
    lgp_record_free(&t.in);
    lgp_record_free(&t.out);
    return rc == LGP_OK ? 0 : 1;
}

/* ---- bench: the twin's step on random weights, timed ---- */
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int bench_main(int B, int C, int F, int E, int iters) {
    LGP_ASSERT(B > 1 && C > 0 && F > 0 && E > 0 && iters > 0);
    lgp_mlp proj, pred, projm;
    lgp_mlp_init_projector(&proj, C, F, E, 0, 0);
    lgp_mlp_init_predictor(&pred, E, F, proj.nparams, proj.nstats);
    lgp_mlp_init_projector(&projm, C, F, E, 0, 0);
    size_t np = proj.nparams + pred.nparams, ns = proj.nstats + pred.nstats, be = (size_t)B * E;
    float *P = calloc(np, 4), *G = calloc(np, 4), *S = calloc(ns, 4);
    float *PM = calloc(projm.nparams, 4), *SM = calloc(projm.nstats, 4);
    float *X = calloc(4 * (size_t)B * C, 4), *D = calloc(6 * be + 2 * (size_t)B * C, 4);
    lgp_mlp_init_params(&proj, P, S, 1), lgp_mlp_init_params(&pred, P, S, 1);
    memcpy(PM, P, projm.nparams * 4), memcpy(SM, S, projm.nstats * 4);
    fill(X, 4 * (size_t)B * C, 1, 77);
    const float *x[2] = {X, X + (size_t)B * C}, *y[2] = {X + 2 * (size_t)B * C, X + 3 * (size_t)B * C};
    float *K1 = D, *K2 = D + be, *dq[2] = {D + 2 * be, D + 3 * be}, *dp[2] = {D + 4 * be, D + 5 * be};
    float *dx[2] = {D + 6 * be, D + 6 * be + (size_t)B * C};
    lgp_mlp_acts ap[2], aq[2], am;
    lgp_moco_ctr c;
    char err[128];
    for (int v = 0; v < 2; v++) {
        LGP_ASSERT(lgp_mlp_acts_init(&ap[v], &proj, B, err, sizeof err) == LGP_OK);
        LGP_ASSERT(lgp_mlp_acts_init(&aq[v], &pred, B, err, sizeof err) == LGP_OK);
    }
    LGP_ASSERT(lgp_mlp_acts_init(&am, &projm, B, err, sizeof err) == LGP_OK);
    LGP_ASSERT(lgp_moco_ctr_init(&c, B, B, E, err, sizeof err) == LGP_OK);
    double best = 1e30, loss = 0;
    for (int it = 0; it <= iters; it++) { /* iteration 0 warms up */
        double t0 = now_s();
        memset(G, 0, np * 4), memset(D + 2 * be, 0, (4 * be + 2 * (size_t)B * C) * 4);
        const float *z[2], *q[2];
        for (int v = 0; v < 2; v++) {
            z[v] = lgp_mlp_forward(&proj, &ap[v], x[v], B, P, S, NULL);
            q[v] = lgp_mlp_forward(&pred, &aq[v], z[v], B, P, S, NULL);
        }
        lgp_moco_ema(PM, P, projm.nparams, 0.99);
        memcpy(K1, lgp_mlp_forward(&projm, &am, y[0], B, PM, SM, NULL), be * 4);
        memcpy(K2, lgp_mlp_forward(&projm, &am, y[1], B, PM, SM, NULL), be * 4);
        loss = lgp_moco_loss(&c, q[0], q[1], K1, K2, B, B, 0, 0.2f, dq[0], dq[1]);
        for (int v = 0; v < 2; v++) {
            lgp_mlp_backward(&pred, &aq[v], dp[v], G, dq[v], z[v], P, NULL);
            lgp_mlp_backward(&proj, &ap[v], dx[v], G, dp[v], x[v], P, NULL);
        }
        double dt = now_s() - t0;
        if (it && dt < best) best = dt;
    }
    printf("lgp heads step B=%d C=%d F=%d E=%d: best %.1f ms over %d iters (loss %.4f)\n", B, C,
           F, E, best * 1e3, iters, loss);
    for (int v = 0; v < 2; v++) lgp_mlp_acts_free(&ap[v]), lgp_mlp_acts_free(&aq[v]);
    lgp_mlp_acts_free(&am);
    lgp_moco_ctr_free(&c);
    free(P), free(G), free(S), free(PM), free(SM), free(X), free(D);
    return 0;
}
