/* test_ops.c — every layer kernel (linear, layernorm, GELU, attention, residual) checked
 * two ways: the fast float forward/backward against a naive double _ref twin written
 * here, and the _ref backward against central finite differences of the _ref forward in
 * double (eps 1e-6; loss = sum(out * R) with R random, so dout = R).
 * Tolerances: fast vs ref, norm-relative error < 2e-5 (float rounding); ref vs finite
 * differences, norm-relative error < 1e-6. Backward must accumulate (checked by starting
 * from non-zero gradients). The linear and attention kernels run once per matrix-product
 * backend built in (gemm.h); the linear backward also as input and bias gradients
 * alone plus weight tiles (the batch split's way, vit.c), the layernorm's as an input
 * gradient alone; lgp_sgemm itself is checked per backend on every transpose case with
 * padded leading dimensions. */
#include "common/nn/gemm.h"
#include "common/nn/ops.h"
#include "common/util/rng.h"
#include "tap.h"

#include <stdint.h>

#include <omp.h>

static lgp_rng rng;
static void fill(double *d, float *f, size_t n, double scale) {
    for (size_t i = 0; i < n; i++) {
        d[i] = (float)((2.0 * lgp_rng_uniform(&rng) - 1.0) * scale); /* representable in float */
        if (f) f[i] = (float)d[i];
    }
}
static double *dnew(size_t n) { return calloc(n, sizeof(double)); }
static float *fnew(size_t n) { return calloc(n, sizeof(float)); }

/* ||a - b|| / ||b|| with a float, b double */
static double relerr(const float *a, const double *b, size_t n) {
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num / den);
}
static double relerr_d(const double *a, const double *b, size_t n) {
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num / den);
}

/* ---- finite differences over any ref forward ---- */
typedef void (*ref_fwd)(void *ctx, double *out);
static double fd_relerr(void *ctx, ref_fwd f, size_t nout, const double *R, double *x, size_t n,
                        const double *analytic) {
    double *out = dnew(nout), *num = dnew(n), eps = 1e-6;
    for (size_t i = 0; i < n; i++) {
        double keep = x[i], lp = 0, lm = 0;
        x[i] = keep + eps;
        f(ctx, out);
        for (size_t k = 0; k < nout; k++) lp += out[k] * R[k];
        x[i] = keep - eps;
        f(ctx, out);
        for (size_t k = 0; k < nout; k++) lm += out[k] * R[k];
        x[i] = keep;
        num[i] = (lp - lm) / (2 * eps);
    }
    double e = relerr_d(analytic, num, n);
    free(out);
    free(num);
    return e;
}

/* ---- linear ---- */
typedef struct { const double *x, *w, *b; int M, I, O; } lin_ctx;
static void linear_ref_fwd(void *c_, double *out) {
    lin_ctx *c = c_;
    for (int m = 0; m < c->M; m++)
        for (int o = 0; o < c->O; o++) {
            double s = c->b[o];
            for (int i = 0; i < c->I; i++) s += c->x[m * c->I + i] * c->w[o * c->I + i];
            out[m * c->O + o] = s;
        }
}
static void linear_ref_bwd(lin_ctx *c, double *dx, double *dw, double *db, const double *dy) {
    for (int m = 0; m < c->M; m++)
        for (int o = 0; o < c->O; o++) {
            double g = dy[m * c->O + o];
            db[o] += g;
            for (int i = 0; i < c->I; i++) {
                dx[m * c->I + i] += g * c->w[o * c->I + i];
                dw[o * c->I + i] += g * c->x[m * c->I + i];
            }
        }
}

static void test_linear(int M, int I, int O, int fd) {
    size_t nx = (size_t)M * I, nw = (size_t)O * I, ny = (size_t)M * O;
    double *x = dnew(nx), *w = dnew(nw), *b = dnew(O), *y = dnew(ny), *R = dnew(ny);
    double *dx = dnew(nx), *dw = dnew(nw), *db = dnew(O);
    float *xf = fnew(nx), *wf = fnew(nw), *bf = fnew(O), *yf = fnew(ny), *Rf = fnew(ny);
    float *dxf = fnew(nx), *dwf = fnew(nw), *dbf = fnew(O);
    fill(x, xf, nx, 1), fill(w, wf, nw, 0.5), fill(b, bf, O, 0.5), fill(R, Rf, ny, 1);
    fill(dx, dxf, nx, 1), fill(dw, dwf, nw, 1), fill(db, dbf, O, 1); /* accumulate onto these */
    lin_ctx c = {x, w, b, M, I, O};
    linear_ref_fwd(&c, y);
    lgp_linear_forward(yf, xf, wf, bf, M, I, O);
    ok(relerr(yf, y, ny) < 2e-5, "linear %dx%d->%d forward vs ref (%.2g)", M, I, O, relerr(yf, y, ny));
    linear_ref_bwd(&c, dx, dw, db, R);
    lgp_linear_backward(dxf, dwf, dbf, Rf, xf, wf, M, I, O);
    ok(relerr(dxf, dx, nx) < 2e-5 && relerr(dwf, dw, nw) < 2e-5 && relerr(dbf, db, O) < 2e-5,
       "linear backward (accumulating) vs ref (%.2g %.2g %.2g)", relerr(dxf, dx, nx),
       relerr(dwf, dw, nw), relerr(dbf, db, O));
    /* input and bias gradients alone (dw NULL), then the weights in tiles of 8 output
     * rows, the last one short (the batch split's way): together the same accumulation */
    fill(dx, dxf, nx, 1), fill(dw, dwf, nw, 1), fill(db, dbf, O, 1);
    linear_ref_bwd(&c, dx, dw, db, R);
    lgp_linear_backward(dxf, NULL, dbf, Rf, xf, wf, M, I, O);
    for (int o0 = 0; o0 < O; o0 += 8) lgp_linear_backward_weights(dwf, Rf, xf, M, I, O, o0, o0 + 8 < O ? o0 + 8 : O);
    ok(relerr(dxf, dx, nx) < 2e-5 && relerr(dwf, dw, nw) < 2e-5 && relerr(dbf, db, O) < 2e-5,
       "linear backward: input and bias gradients alone, weights in tiles vs ref (%.2g %.2g %.2g)",
       relerr(dxf, dx, nx), relerr(dwf, dw, nw), relerr(dbf, db, O));
    if (fd) {
    memset(dx, 0, nx * 8), memset(dw, 0, nw * 8), memset(db, 0, O * 8);
    linear_ref_bwd(&c, dx, dw, db, R);
    double ex = fd_relerr(&c, linear_ref_fwd, ny, R, x, nx, dx);
    double ew = fd_relerr(&c, linear_ref_fwd, ny, R, w, nw, dw);
    double eb = fd_relerr(&c, linear_ref_fwd, ny, R, b, O, db);
    ok(ex < 1e-6 && ew < 1e-6 && eb < 1e-6, "linear ref backward vs finite differences (%.2g %.2g %.2g)", ex, ew, eb);
    }
    free(x), free(w), free(b), free(y), free(R), free(dx), free(dw), free(db);
    free(xf), free(wf), free(bf), free(yf), free(Rf), free(dxf), free(dwf), free(dbf);
}

/* ---- layernorm ---- */
typedef struct { const double *x, *w, *b; int M, C; } ln_ctx;
static void ln_ref_fwd(void *c_, double *out) {
    ln_ctx *c = c_;
    for (int m = 0; m < c->M; m++) {
        const double *x = c->x + m * c->C;
        double mu = 0, var = 0;
        for (int k = 0; k < c->C; k++) mu += x[k] / c->C;
        for (int k = 0; k < c->C; k++) var += (x[k] - mu) * (x[k] - mu) / c->C;
        for (int k = 0; k < c->C; k++) out[m * c->C + k] = (x[k] - mu) / sqrt(var + 1e-6) * c->w[k] + c->b[k];
    }
}
/* textbook form: dx_i = sum_j dy_j w_j dxhat_j/dx_i, written without the fused formula */
static void ln_ref_bwd(ln_ctx *c, double *dx, double *dw, double *db, const double *dy) {
    int C = c->C;
    for (int m = 0; m < c->M; m++) {
        const double *x = c->x + m * C, *g = dy + m * C;
        double mu = 0, var = 0;
        for (int k = 0; k < C; k++) mu += x[k] / C;
        for (int k = 0; k < C; k++) var += (x[k] - mu) * (x[k] - mu) / C;
        double s = sqrt(var + 1e-6);
        for (int k = 0; k < C; k++) {
            dw[k] += g[k] * (x[k] - mu) / s;
            db[k] += g[k];
        }
        for (int i = 0; i < C; i++) {
            double acc = 0;
            for (int j = 0; j < C; j++) {
                double jac = ((i == j) - 1.0 / C) / s - (x[j] - mu) * (x[i] - mu) / (C * s * s * s);
                acc += g[j] * c->w[j] * jac;
            }
            dx[m * C + i] += acc;
        }
    }
}

static void test_layernorm(int M, int C, int fd) {
    size_t n = (size_t)M * C;
    double *x = dnew(n), *w = dnew(C), *b = dnew(C), *y = dnew(n), *R = dnew(n);
    double *dx = dnew(n), *dw = dnew(C), *db = dnew(C);
    float *xf = fnew(n), *wf = fnew(C), *bf = fnew(C), *yf = fnew(n), *Rf = fnew(n), *mean = fnew(M),
          *rstd = fnew(M), *dxf = fnew(n), *dwf = fnew(C), *dbf = fnew(C);
    fill(x, xf, n, 2), fill(w, wf, C, 1), fill(b, bf, C, 1), fill(R, Rf, n, 1);
    fill(dx, dxf, n, 1), fill(dw, dwf, C, 1), fill(db, dbf, C, 1);
    ln_ctx c = {x, w, b, M, C};
    ln_ref_fwd(&c, y);
    lgp_layernorm_forward(yf, mean, rstd, xf, wf, bf, M, C, 1e-6f);
    ok(relerr(yf, y, n) < 2e-5, "layernorm %dx%d forward vs ref (%.2g)", M, C, relerr(yf, y, n));
    ln_ref_bwd(&c, dx, dw, db, R);
    lgp_layernorm_backward(dxf, dwf, dbf, Rf, xf, wf, mean, rstd, M, C);
    ok(relerr(dxf, dx, n) < 2e-5 && relerr(dwf, dw, C) < 2e-5 && relerr(dbf, db, C) < 2e-5,
       "layernorm backward (accumulating) vs ref (%.2g %.2g %.2g)", relerr(dxf, dx, n),
       relerr(dwf, dw, C), relerr(dbf, db, C));
    /* input gradient alone (dw, db NULL): the same input gradient, no weight gradient */
    fill(dx, dxf, n, 1), fill(dw, dwf, C, 1);
    ln_ref_bwd(&c, dx, dw, db, R);
    lgp_layernorm_backward(dxf, NULL, NULL, Rf, xf, wf, mean, rstd, M, C);
    ok(relerr(dxf, dx, n) < 2e-5, "layernorm backward: input gradient alone vs ref (%.2g)", relerr(dxf, dx, n));
    if (fd) {
    memset(dx, 0, n * 8), memset(dw, 0, C * 8), memset(db, 0, C * 8);
    ln_ref_bwd(&c, dx, dw, db, R);
    double ex = fd_relerr(&c, ln_ref_fwd, n, R, x, n, dx), ew = fd_relerr(&c, ln_ref_fwd, n, R, w, C, dw);
    ok(ex < 1e-6 && ew < 1e-6, "layernorm ref backward vs finite differences (%.2g %.2g)", ex, ew);
    }
    free(x), free(w), free(b), free(y), free(R), free(dx), free(dw), free(db);
    free(xf), free(wf), free(bf), free(yf), free(Rf), free(mean), free(rstd), free(dxf), free(dwf), free(dbf);
}

/* ---- gelu ---- */
typedef struct { const double *x; size_t n; } gelu_ctx;
static void gelu_ref_fwd(void *c_, double *out) {
    gelu_ctx *c = c_;
    for (size_t i = 0; i < c->n; i++) out[i] = 0.5 * c->x[i] * (1 + erf(c->x[i] / sqrt(2.0)));
}
static void test_gelu(size_t n, int fd) {
    double *x = dnew(n), *y = dnew(n), *R = dnew(n), *dx = dnew(n);
    float *xf = fnew(n), *yf = fnew(n), *Rf = fnew(n), *dxf = fnew(n);
    fill(x, xf, n, 4), fill(R, Rf, n, 1), fill(dx, dxf, n, 1);
    gelu_ctx c = {x, n};
    gelu_ref_fwd(&c, y);
    lgp_gelu_forward(yf, xf, n);
    ok(relerr(yf, y, n) < 2e-6, "gelu forward vs erf ref (%.2g)", relerr(yf, y, n));
    double *an = dnew(n);
    for (size_t i = 0; i < n; i++) /* d/dx of x*Phi(x) = Phi + x*phi */
        an[i] = R[i] * (0.5 * (1 + erf(x[i] / sqrt(2.0))) + x[i] * exp(-x[i] * x[i] / 2) / sqrt(2 * M_PI));
    for (size_t i = 0; i < n; i++) dx[i] += an[i];
    lgp_gelu_backward(dxf, Rf, xf, n);
    ok(relerr(dxf, dx, n) < 2e-6, "gelu backward (accumulating) vs ref (%.2g)", relerr(dxf, dx, n));
    double e = fd ? fd_relerr(&c, gelu_ref_fwd, n, R, x, n, an) : 0;
    if (fd) ok(e < 1e-6, "gelu ref backward vs finite differences (%.2g)", e);
    free(x), free(y), free(R), free(dx), free(an), free(xf), free(yf), free(Rf), free(dxf);
}

/* lgp_erf against erf in double on a dense grid (its error bound, oddness, range), and
 * the GELU's vector and scalar iterations against each other (the same bytes). */
static void test_erf(void) {
    double worst = 0.0;
    int odd = 1, range = 1;
    for (int i = -8 * 4096; i <= 8 * 4096; i++) {
        float x = (float)i / 4096.0f, e = lgp_erf(x);
        double d = fabs((double)e - erf((double)x));
        worst = d > worst ? d : worst;
        odd &= lgp_erf(-x) == -e;
        range &= e >= -1.0f && e <= 1.0f;
    }
    ok(worst < 4.7e-7, "lgp_erf within 4.7e-7 of erf on [-8, 8] (%.3g)", worst);
    ok(odd && range, "lgp_erf odd and within [-1, 1]");
    enum { N = 1000 };
    float x[N], y[N], y1[N];
    for (int i = 0; i < N; i++) x[i] = (float)(i - N / 2) / 64.0f;
    lgp_gelu_forward(y, x, N);
    for (int i = 0; i < N; i++) lgp_gelu_forward(&y1[i], &x[i], 1);
    ok(memcmp(y, y1, sizeof y) == 0, "gelu: a whole loop and one element at a time give the same bytes");
}

/* ---- attention ---- */
typedef struct { const double *qkv; int B, T, C, H; } att_ctx;
static void att_ref_fwd(void *c_, double *out) {
    att_ctx *c = c_;
    int B = c->B, T = c->T, C = c->C, H = c->H, D = C / H;
    double *s = dnew(T);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < T; t++) {
                double mx = -1e300, sum = 0;
                for (int u = 0; u < T; u++) {
                    double d = 0;
                    for (int k = 0; k < D; k++)
                        d += c->qkv[(b * T + t) * 3 * C + h * D + k] * c->qkv[(b * T + u) * 3 * C + C + h * D + k];
                    s[u] = d / sqrt((double)D);
                    if (s[u] > mx) mx = s[u];
                }
                for (int u = 0; u < T; u++) sum += (s[u] = exp(s[u] - mx));
                for (int k = 0; k < D; k++) {
                    double o = 0;
                    for (int u = 0; u < T; u++) o += s[u] / sum * c->qkv[(b * T + u) * 3 * C + 2 * C + h * D + k];
                    out[(b * T + t) * C + h * D + k] = o;
                }
            }
    free(s);
}

static void test_attention(int B, int T, int C, int H) {
    size_t nq = (size_t)B * T * 3 * C, ny = (size_t)B * T * C;
    double *qkv = dnew(nq), *y = dnew(ny), *R = dnew(ny), *dq = dnew(nq);
    float *qf = fnew(nq), *yf = fnew(ny), *Rf = fnew(ny), *dqf = fnew(nq), *att = fnew((size_t)B * H * T * T);
    float *scr = fnew(lgp_attention_scratch(T));
    fill(qkv, qf, nq, 1.5), fill(R, Rf, ny, 1);
    att_ctx c = {qkv, B, T, C, H};
    att_ref_fwd(&c, y);
    lgp_attention_forward(yf, att, qf, B, T, C, H);
    ok(relerr(yf, y, ny) < 2e-5, "attention B%d T%d C%d H%d forward vs ref (%.2g)", B, T, C, H, relerr(yf, y, ny));
    /* reference gradient: finite differences of the double reference (checked to 1e-6
     * against the analytic chain below via the fast kernel's float result) */
    double *num = dnew(nq), *out = dnew(ny), eps = 1e-6;
    for (size_t i = 0; i < nq; i++) {
        double keep = qkv[i], lp = 0, lm = 0;
        qkv[i] = keep + eps, att_ref_fwd(&c, out);
        for (size_t k = 0; k < ny; k++) lp += out[k] * R[k];
        qkv[i] = keep - eps, att_ref_fwd(&c, out);
        for (size_t k = 0; k < ny; k++) lm += out[k] * R[k];
        qkv[i] = keep;
        num[i] = (lp - lm) / (2 * eps);
    }
    for (size_t i = 0; i < nq; i++) dqf[i] = 0.25f, num[i] += 0.25; /* accumulation */
    lgp_attention_backward(dqf, Rf, qf, att, scr, B, T, C, H);
    ok(relerr(dqf, num, nq) < 5e-5, "attention backward (accumulating) vs finite differences of ref (%.2g)",
       relerr(dqf, num, nq));
    free(qkv), free(y), free(R), free(dq), free(qf), free(yf), free(Rf), free(dqf), free(att), free(scr);
    free(num), free(out);
}

static void test_residual(void) {
    size_t n = 40000; /* above the parallel threshold */
    float *a = fnew(n), *b = fnew(n), *o = fnew(n), *da = fnew(n), *db = fnew(n), *d = fnew(n);
    double *ad = dnew(n), *bd = dnew(n);
    fill(ad, a, n, 1), fill(bd, b, n, 1);
    for (size_t i = 0; i < n; i++) d[i] = a[i] * 0.5f, da[i] = 1, db[i] = 2;
    lgp_residual_forward(o, a, b, n);
    lgp_residual_backward(da, db, d, n);
    int good = 1;
    for (size_t i = 0; i < n; i++)
        good &= o[i] == a[i] + b[i] && da[i] == 1 + d[i] && db[i] == 2 + d[i];
    ok(good, "residual forward/backward exact and accumulating");
    free(a), free(b), free(o), free(da), free(db), free(d), free(ad), free(bd);
}

/* ---- lgp_sgemm / lgp_matmul: C = alpha op(A) op(B) + beta C against a double loop ---- */
typedef void (*gemm_fn)(int, int, int, int, int, float, const float *, int, const float *, int,
                        float, float *, int);
static double sgemm_tol = 2e-6, sgemm_min_err = 0; /* the bf16 product's error is in a band */
/* lgp_sgemm_wtile for a weight matrix big enough to take OpenBLAS where oneDNN runs
 * below AVX-512 (gemm.h), so that path is checked on the machines that take it. */
static void wtile_big(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc) {
    lgp_sgemm_wtile((size_t)1 << 20, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static void test_sgemm(gemm_fn f, const char *what, int ta, int tb, int M, int N, int K) {
    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb, nc = (size_t)M * ldc;
    double *A = dnew(na), *B = dnew(nb), *C = dnew(nc);
    float *Af = fnew(na), *Bf = fnew(nb), *Cf = fnew(nc);
    fill(A, Af, na, 1), fill(B, Bf, nb, 1), fill(C, Cf, nc, 1);
    float alpha = 0.75f, beta = 0.5f;
    f(ta, tb, M, N, K, alpha, Af, lda, Bf, ldb, beta, Cf, ldc);
    int pad_kept = 1;
    for (int m = 0; m < M; m++) {
        for (int n = 0; n < N; n++) {
            double acc = 0;
            for (int k = 0; k < K; k++)
                acc += (ta ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k]) *
                       (tb ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n]);
            C[(size_t)m * ldc + n] = alpha * acc + beta * C[(size_t)m * ldc + n];
        }
        for (int n = N; n < ldc; n++) pad_kept &= Cf[(size_t)m * ldc + n] == (float)C[(size_t)m * ldc + n];
    }
    double e = relerr(Cf, C, nc);
    ok(e < sgemm_tol && e >= sgemm_min_err && pad_kept, "%s (%s) ta %d tb %d %dx%dx%d vs double (%.2g)%s",
       what, lgp_gemm_describe(), ta, tb, M, N, K, relerr(Cf, C, nc), pad_kept ? "" : ", padding written");
    free(A), free(B), free(C), free(Af), free(Bf), free(Cf);
}

/* ---- bf16 products (--bf16): rounding, and the product's error band ---- */
static void test_bf16(void) {
    is_int(lgp_bf16_round(1.0f), 0x3f80, "bf16 1.0");
    is_int(lgp_bf16_round(1.0f + 1.0f / 256), 0x3f80, "bf16 halfway rounds to even (down)");
    is_int(lgp_bf16_round(1.0f + 3.0f / 256), 0x3f82, "bf16 halfway rounds to even (up)");
    is_int(lgp_bf16_round(1.0f + 1.0f / 256 + 1.0f / 65536), 0x3f81, "bf16 above halfway rounds up");
    is_int(lgp_bf16_round(-2.0f), 0xc000, "bf16 -2");
    is_int(lgp_bf16_round(INFINITY), 0x7f80, "bf16 inf");
    is_int(lgp_bf16_round(3.4e38f), 0x7f80, "bf16 FLT_MAX-ish rounds to inf");
    unsigned short nan = lgp_bf16_round(nanf("")), tiny_nan;
    float fnan;
    uint32_t u = 0x7f800001u; /* a NaN whose payload is all in the low half */
    memcpy(&fnan, &u, 4);
    tiny_nan = lgp_bf16_round(fnan);
    ok((nan & 0x7f80) == 0x7f80 && (nan & 0x7f) && (tiny_nan & 0x7f80) == 0x7f80 && (tiny_nan & 0x7f),
       "bf16 NaN stays NaN (%04x, %04x)", nan, tiny_nan);
    if (lgp_gemm_select("openblas") >= 0) ok(lgp_gemm_set_bf16(1) < 0 && !lgp_gemm_bf16(), "bf16 refused on OpenBLAS");
    if (lgp_gemm_select("onednn") < 0 || !lgp_gemm_bf16_supported()) {
        ok(lgp_gemm_set_bf16(1) < 0 && !lgp_gemm_bf16(), "bf16 refused where it cannot run (%s)", lgp_gemm_describe());
        printf("# skip bf16 products: no oneDNN or no AVX512_BF16 here\n");
        return;
    }
    ok(lgp_gemm_set_bf16(1) == 0 && lgp_gemm_bf16() && strstr(lgp_gemm_describe(), "bf16 products"),
       "bf16 on (%s)", lgp_gemm_describe());
    for (int t = 0; t < 4; t++) {
        const char *impl = lgp_gemm_bf16_impl(t >> 1, t & 1, 200, 96, 64);
        ok(strstr(impl, "bf16") && !strstr(impl, "ref"), "bf16 kernel ta %d tb %d: %s", t >> 1, t & 1, impl);
    }
    /* operands rounded to 8 bits of mantissa: a relative error of about 2^-9 per product
     * term, far above fp32's (which would mean the bf16 path was not taken) */
    sgemm_tol = 1e-2, sgemm_min_err = 1e-5;
    for (int t = 0; t < 4; t++) test_sgemm(lgp_sgemm, "lgp_sgemm bf16", t >> 1, t & 1, 37, 29, 53);
    for (int t = 0; t < 4; t++)
        test_sgemm(lgp_matmul, "lgp_matmul bf16", t >> 1, t & 1, t & 1 ? 700 : 96, t & 1 ? 96 : 700, 64);
    sgemm_min_err = 0;
    test_sgemm(lgp_sgemm, "lgp_sgemm bf16", 0, 0, 5, 7, 0); /* K = 0: C = beta C, exact */
    sgemm_tol = 2e-6;
    lgp_gemm_set_bf16(0);
    test_sgemm(lgp_sgemm, "lgp_sgemm fp32 again", 1, 0, 37, 29, 53);
}

int main(void) {
    uint64_t seed = 20240501;
    printf("# seed %llu, %d OpenMP threads\n", (unsigned long long)seed, omp_get_max_threads());
    lgp_rng_init(&rng, seed, 0, 0, 0);
    static const char *const backends[] = {"openblas", "onednn"};
    int nb = 0;
    for (size_t k = 0; k < sizeof backends / sizeof backends[0]; k++) {
        if (lgp_gemm_select(backends[k]) < 0) {
            printf("# %s: not built in\n", backends[k]);
            continue;
        }
        nb++;
        for (int t = 0; t < 4; t++) test_sgemm(lgp_sgemm, "lgp_sgemm", t >> 1, t & 1, 37, 29, 53);
        test_sgemm(lgp_sgemm, "lgp_sgemm", 0, 0, 5, 7, 0); /* K = 0: C = beta C */
        test_sgemm(wtile_big, "lgp_sgemm_wtile (big weights)", 1, 0, 37, 29, 53);
        for (int t = 0; t < 4; t++) /* above MM_PAR_MIN: one slab of rows or columns per thread */
            test_sgemm(lgp_matmul, "lgp_matmul", t >> 1, t & 1, t & 1 ? 700 : 96, t & 1 ? 96 : 700, 64);
        test_linear(7, 13, 11, k == 0);
        test_linear(300, 70, 90, 0); /* large enough for the parallel bias-grad reduction */
        test_attention(2, 5, 12, 3);
        test_attention(1, 9, 8, 1);
    }
    ok(nb >= 1, "at least one matrix-product backend (%d)", nb);
    test_bf16();
    test_layernorm(5, 16, 1);
    test_layernorm(200, 130, 0);
    test_gelu(1000, 1);
    test_gelu(40000, 0);
    test_erf();
    test_residual();
    return done_testing();
}
