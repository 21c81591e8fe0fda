/* mlp.c — the MoCo v3 projector and predictor (see mlp.h). */
#include "common/nn/mlp.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/lgp.h"
#include "common/nn/ops.h"
#include "common/util/rng.h"

void lgp_mlp_init(lgp_mlp *m, const char *prefix, int nlayers, const int *dims,
                  size_t param_base, size_t stat_base) {
    LGP_ASSERT(nlayers >= 1 && nlayers <= LGP_MLP_MAX_LAYERS);
    LGP_ASSERT(strlen(prefix) < sizeof m->prefix);
    memset(m, 0, sizeof *m);
    snprintf(m->prefix, sizeof m->prefix, "%s", prefix);
    m->nlayers = nlayers;
    m->eps = LGP_BN_EPS;
    m->momentum = LGP_BN_MOMENTUM;
    m->param_base = param_base;
    m->stat_base = stat_base;
    size_t p = param_base, s = stat_base;
    for (int i = 0; i <= nlayers; i++) {
        LGP_ASSERT(dims[i] > 0);
        m->dim[i] = dims[i];
    }
    for (int i = 0; i < nlayers; i++) {
        size_t o = (size_t)dims[i + 1];
        m->w[i] = p;
        p += o * (size_t)dims[i];
        int last = i == nlayers - 1; /* the final BN has no affine (MoCo v3) */
        m->gamma[i] = last ? SIZE_MAX : p;
        m->beta[i] = last ? SIZE_MAX : p + o;
        if (!last) p += 2 * o;
        m->rmean[i] = s;
        m->rvar[i] = s + o;
        s += 2 * o;
    }
    m->nparams = p - param_base;
    m->nstats = s - stat_base;
}

void lgp_mlp_init_projector(lgp_mlp *m, int C, int F, int E, size_t param_base, size_t stat_base) {
    int d[4] = {C, F, F, E};
    lgp_mlp_init(m, "head", 3, d, param_base, stat_base);
}

void lgp_mlp_init_predictor(lgp_mlp *m, int E, int F, size_t param_base, size_t stat_base) {
    int d[3] = {E, F, E};
    lgp_mlp_init(m, "predictor", 2, d, param_base, stat_base);
}

size_t lgp_mlp_table_len(const lgp_mlp *m) { return (size_t)m->nlayers * 5 - 2; }

static size_t table_put(lgp_head_tensor *out, size_t n, size_t cap, const lgp_mlp *m, int idx,
                        const char *what, int64_t d0, int64_t d1, size_t off, unsigned fl) {
    if (n >= cap) return n;
    lgp_head_tensor *t = &out[n];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s.%d.%s", m->prefix, idx, what);
    t->ndim = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->numel = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    t->offset = off;
    t->flags = fl;
    return n + 1;
}

size_t lgp_mlp_table(const lgp_mlp *m, lgp_head_tensor *out, size_t cap) {
    size_t n = 0;
    for (int i = 0; i < m->nlayers; i++) {
        int64_t o = m->dim[i + 1];
        n = table_put(out, n, cap, m, 3 * i, "weight", o, m->dim[i], m->w[i], 0);
        if (m->gamma[i] != SIZE_MAX) {
            n = table_put(out, n, cap, m, 3 * i + 1, "weight", o, 0, m->gamma[i], LGP_HT_NO_WD);
            n = table_put(out, n, cap, m, 3 * i + 1, "bias", o, 0, m->beta[i], LGP_HT_NO_WD);
        }
        n = table_put(out, n, cap, m, 3 * i + 1, "running_mean", o, 0, m->rmean[i], LGP_HT_STAT);
        n = table_put(out, n, cap, m, 3 * i + 1, "running_var", o, 0, m->rvar[i], LGP_HT_STAT);
    }
    return n;
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void lgp_mlp_init_params(const lgp_mlp *m, float *params, float *stats, uint64_t seed) {
    for (int i = 0; i < m->nlayers; i++) {
        size_t o = (size_t)m->dim[i + 1], in = (size_t)m->dim[i];
        char name[64];
        snprintf(name, sizeof name, "%s.%d.weight", m->prefix, 3 * i);
        lgp_rng r;
        lgp_rng_init(&r, seed, fnv1a(name), 0, LGP_RNG_INIT);
        float bound = 1.0f / sqrtf((float)in); /* kaiming_uniform_(a=√5) = U(±1/√fan_in) */
        float *w = params + m->w[i];
        for (size_t k = 0; k < o * in; k++) w[k] = (2.0f * lgp_rng_uniformf(&r) - 1.0f) * bound;
        if (m->gamma[i] != SIZE_MAX)
            for (size_t c = 0; c < o; c++) {
                params[m->gamma[i] + c] = 1.0f;
                params[m->beta[i] + c] = 0.0f;
            }
        for (size_t c = 0; c < o; c++) {
            stats[m->rmean[i] + c] = 0.0f;
            stats[m->rvar[i] + c] = 1.0f;
        }
    }
}

static int mlp_maxdim(const lgp_mlp *m) {
    int d = 0;
    for (int i = 0; i <= m->nlayers; i++) d = m->dim[i] > d ? m->dim[i] : d;
    return d;
}

int lgp_mlp_acts_init(lgp_mlp_acts *a, const lgp_mlp *m, int max_batch, char *err,
                      size_t errlen) {
    memset(a, 0, sizeof *a);
    LGP_ASSERT(max_batch > 0);
    size_t B = (size_t)max_batch, D = (size_t)mlp_maxdim(m), nf = 2 * B * D;
    for (int i = 0; i < m->nlayers; i++) {
        size_t o = (size_t)m->dim[i + 1];
        nf += B * o * (i < m->nlayers - 1 ? 2 : 1) + 2 * o;
    }
    size_t bytes = (2 * D + 1) * sizeof(double) + nf * sizeof(float);
    a->arena = calloc(1, bytes);
    if (!a->arena) {
        snprintf(err, errlen, "head activations: out of memory (%zu bytes)", bytes);
        return LGP_FATAL;
    }
    a->max_batch = max_batch;
    a->sums = (double *)a->arena; /* doubles first: keeps them aligned */
    float *p = (float *)(a->sums + 2 * D + 1);
    a->g0 = p, p += B * D;
    a->g1 = p, p += B * D;
    for (int i = 0; i < m->nlayers; i++) {
        size_t o = (size_t)m->dim[i + 1];
        a->xhat[i] = p, p += B * o;
        if (i < m->nlayers - 1) a->act[i] = p, p += B * o;
        a->mean[i] = p, p += o;
        a->rstd[i] = p, p += o;
    }
    return LGP_OK;
}

void lgp_mlp_acts_free(lgp_mlp_acts *a) {
    free(a->arena);
    memset(a, 0, sizeof *a);
}

const float *lgp_mlp_forward(const lgp_mlp *m, lgp_mlp_acts *a, const float *inp, int B,
                             const float *params, float *stats, const lgp_bn_sync *sync) {
    LGP_ASSERT(B > 0 && B <= a->max_batch);
    a->B = B;
    const float *x = inp; /* [B, dim[i]] */
    for (int i = 0; i < m->nlayers; i++) {
        int in = m->dim[i], o = m->dim[i + 1];
        int affine = m->gamma[i] != SIZE_MAX;
        lgp_linear_forward(a->xhat[i], x, params + m->w[i], NULL, B, in, o);
        a->N = lgp_bn_forward(a->xhat[i], affine ? a->act[i] : NULL, a->mean[i], a->rstd[i],
                              a->sums, a->xhat[i], affine ? params + m->gamma[i] : NULL,
                              affine ? params + m->beta[i] : NULL,
                              stats ? stats + m->rmean[i] : NULL,
                              stats ? stats + m->rvar[i] : NULL, B, o, m->eps, m->momentum, sync);
        if (!affine) {
            x = a->xhat[i];
            continue;
        }
        /* in a MoCo MLP every affine BN is followed by ReLU */
        lgp_relu_forward(a->act[i], a->act[i], (size_t)B * o);
        x = a->act[i];
    }
    LGP_ASSERT(m->gamma[m->nlayers - 1] == SIZE_MAX);
    return x;
}

void lgp_mlp_backward(const lgp_mlp *m, lgp_mlp_acts *a, float *dinp, float *grads,
                      const float *dout, const float *inp, const float *params,
                      const lgp_bn_sync *sync) {
    int B = a->B;
    /* dy: gradient w.r.t. layer i's output [B, dim[i+1]]; dout for the last layer, then
     * g0 (each Linear's dinp overwrites the dy it came from); dz [B, dim[i+1]] in g1. */
    const float *dy = dout;
    for (int i = m->nlayers - 1; i >= 0; i--) {
        int in = m->dim[i], o = m->dim[i + 1];
        size_t n = (size_t)B * o;
        int affine = m->gamma[i] != SIZE_MAX;
        if (affine) { /* through the ReLU, in place: act = relu(BN out) masks dy */
            LGP_ASSERT(dy == a->g0); /* the last layer has no affine, so dy is ours */
            for (size_t j = 0; j < n; j++)
                if (!(a->act[i][j] > 0.0f)) a->g0[j] = 0.0f;
        }
        memset(a->g1, 0, n * sizeof *a->g1);
        lgp_bn_backward(a->g1, affine ? grads + m->gamma[i] : NULL,
                        affine ? grads + m->beta[i] : NULL, a->sums, dy, a->xhat[i],
                        a->rstd[i], affine ? params + m->gamma[i] : NULL, a->N, B, o, sync);
        float *dx = dinp;
        if (i) {
            dx = a->g0;
            memset(dx, 0, (size_t)B * in * sizeof *dx);
        }
        const float *x = i ? a->act[i - 1] : inp;
        lgp_linear_backward(dx, grads + m->w[i], NULL, a->g1, x, params + m->w[i], B, in, o);
        dy = dx;
    }
}
