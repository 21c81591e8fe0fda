/* mlp.h — the MoCo v3 projector and predictor: MLPs of bias-free Linear layers with
 * BatchNorm1d (training-mode batch statistics) and ReLU between them, built exactly like
 * moco/builder.py `_build_mlp` (docs/METHOD.md §4.6). They work on feature matrices [B, C] and
 * know nothing of the encoder.
 *
 *   projector  head.0 Linear C→F, head.1 BN, ReLU, head.3 Linear F→F, head.4 BN, ReLU,
 *              head.6 Linear F→E, head.7 BN without affine (running stats only)
 *   predictor  predictor.0 Linear E→F, predictor.1 BN, ReLU, predictor.3 Linear F→E,
 *              predictor.4 BN without affine
 * (F = mlp dim 4096, E = moco dim 256 in the recipe.)
 *
 * Memory. An lgp_mlp is a plain description (caller-owned, no free): offsets of its
 * tensors inside two flat float buffers that the CALLER owns, one for trainable
 * parameters (weights, BN γ/β; the gradient buffer has the same layout) and one for the
 * BN running statistics (running_mean/running_var: not trained, not averaged by the
 * momentum update). lgp_mlp_init takes base offsets, so the lead can lay several heads
 * (and the ViT) out in one big buffer per role: call init with base = current size,
 * then append the entries of lgp_mlp_table to the model's table and grow the size by
 * m->nparams / m->nstats. Names in the table are the timm/MoCo names, so the table is
 * also the safetensors index (PyTorch's `num_batches_tracked` buffers are not kept).
 * lgp_head_tensor has the fields of vit.h's lgp_param (LGP_HT_NO_WD has the value of
 * LGP_PARAM_NO_WD) but mlp.h stays independent of the encoder; LGP_HT_STAT entries
 * belong in a separate stats table, not in the trained-parameter table.
 *
 * The layers between the linears are ops.h's BatchNorm (SyncBN across ranks) and ReLU.
 *
 * Activations live in an lgp_mlp_acts arena sized once for a maximum batch
 * (lgp_mlp_acts_init/_free); forward/backward do no allocation. Backward accumulates
 * into gradients and into dinp (the caller zeroes them once per step, as in ops.h).
 */
#ifndef LGP_MLP_H
#define LGP_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "common/nn/ops.h"

#define LGP_MLP_MAX_LAYERS 3

/* ---- parameter table ---- */
enum {
    LGP_HT_NO_WD = 1, /* 1-D parameter (BN γ/β): no weight decay (docs/METHOD.md §4.4) */
    LGP_HT_STAT = 2,  /* BN running statistic: lives in the stats buffer, not trained */
};

typedef struct {
    char name[64];    /* timm/MoCo name, e.g. "head.1.running_var" */
    int ndim;         /* 1 or 2 */
    int64_t shape[2]; /* PyTorch order */
    size_t offset;    /* in floats, into the params buffer, or the stats buffer if LGP_HT_STAT */
    size_t numel;
    unsigned flags;   /* LGP_HT_* */
} lgp_head_tensor;

/* ---- MLP head ---- */
typedef struct {
    char prefix[24];                   /* "head" or "predictor" */
    int nlayers;                       /* 3 projector, 2 predictor */
    int dim[LGP_MLP_MAX_LAYERS + 1];   /* dim[0] input width, dim[nlayers] output width */
    size_t w[LGP_MLP_MAX_LAYERS];      /* Linear weight [dim[i+1], dim[i]], params offset */
    size_t gamma[LGP_MLP_MAX_LAYERS];  /* BN γ, β [dim[i+1]]: params offsets; SIZE_MAX on */
    size_t beta[LGP_MLP_MAX_LAYERS];   /*   the last layer (affine off) */
    size_t rmean[LGP_MLP_MAX_LAYERS];  /* running_mean / running_var [dim[i+1]]: */
    size_t rvar[LGP_MLP_MAX_LAYERS];   /*   stats offsets */
    size_t param_base, nparams;        /* this head's range in the params buffer */
    size_t stat_base, nstats;          /* and in the stats buffer */
    float eps, momentum;               /* BN: 1e-5, 0.1 */
} lgp_mlp;

/* dims has nlayers + 1 entries (C, F, [F,] E). Offsets start at param_base / stat_base. */
void lgp_mlp_init(lgp_mlp *m, const char *prefix, int nlayers, const int *dims,
                  size_t param_base, size_t stat_base);
/* Convenience for the recipe's shapes. */
void lgp_mlp_init_projector(lgp_mlp *m, int C, int F, int E, size_t param_base, size_t stat_base);
void lgp_mlp_init_predictor(lgp_mlp *m, int E, int F, size_t param_base, size_t stat_base);
/* Number of table entries (weights, γ, β, running stats). */
size_t lgp_mlp_table_len(const lgp_mlp *m);
/* Writes up to cap entries to out, in PyTorch state_dict order; returns the count. */
size_t lgp_mlp_table(const lgp_mlp *m, lgp_head_tensor *out, size_t cap);
/* PyTorch default init of this head's part of the buffers: Linear U(±1/sqrt(fan_in))
 * drawn from lgp_rng(seed, fnv1a(name), 0, LGP_RNG_INIT); γ=1, β=0; running mean 0,
 * var 1. */
void lgp_mlp_init_params(const lgp_mlp *m, float *params, float *stats, uint64_t seed);

typedef struct {
    int max_batch, B;
    double N;                              /* global count of the last forward */
    float *xhat[LGP_MLP_MAX_LAYERS];       /* [B, dim[i+1]] pre-BN then normalised */
    float *act[LGP_MLP_MAX_LAYERS];        /* [B, dim[i+1]] relu(γ·xhat+β); NULL last */
    float *mean[LGP_MLP_MAX_LAYERS];       /* [dim[i+1]] */
    float *rstd[LGP_MLP_MAX_LAYERS];       /* [dim[i+1]] */
    float *g0, *g1;                        /* [B, max dim] backward ping-pong */
    double *sums;                          /* [2 * max dim + 1] */
    void *arena;                           /* owns everything above */
} lgp_mlp_acts;

/* LGP_OK, or LGP_FATAL on out of memory (err filled). */
int lgp_mlp_acts_init(lgp_mlp_acts *a, const lgp_mlp *m, int max_batch, char *err,
                      size_t errlen);
void lgp_mlp_acts_free(lgp_mlp_acts *a);

/* Training-mode forward of inp[B, dim[0]] (borrowed: keep it for backward).
 * stats: running statistics updated in place, or NULL to leave them. Returns the output
 * [B, dim[nlayers]], which lives in a (valid until the next forward). */
const float *lgp_mlp_forward(const lgp_mlp *m, lgp_mlp_acts *a, const float *inp, int B,
                             const float *params, float *stats, const lgp_bn_sync *sync);
/* Backward of the last forward: grads (same layout as params) and dinp[B, dim[0]]
 * (NULL to skip) are ACCUMULATED; dout[B, dim[nlayers]]. */
void lgp_mlp_backward(const lgp_mlp *m, lgp_mlp_acts *a, float *dinp, float *grads,
                      const float *dout, const float *inp, const float *params,
                      const lgp_bn_sync *sync);

#endif
