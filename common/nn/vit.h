/* vit.h — the Vision Transformer engine: model configuration, the parameter table, the
 * MAE initialisation, the patch embedding and the pre-norm transformer block
 * (forward/backward), and the encoder-only inference path used for embeddings.
 *
 * Dimension letters, fixed project-wide (every tensor pointer carries a shape comment in
 * PyTorch order, outermost first):
 *   B batch, c input channels, Hi/Wi image height/width, P patch side, N patches
 *   (= (img/P)^2), T tokens in a sequence (N+1 with cls, fewer when masked), C width,
 *   H heads, D head dim (= C/H), F MLP hidden (= mlp_ratio*C), L blocks, Q = P*P*c
 *   values per patch, Cd decoder width, K classes.
 *
 * Memory: all parameters live in ONE contiguous float buffer described by ONE table
 * (lgp_params: timm name, shape, offset, flags). Gradients, AdamW m and v use the same
 * layout in buffers of params.total floats. lgp_vit_tensors is a set of typed views into
 * any such buffer (borrowed, never freed). An lgp_vit_model owns its params and grads
 * (init/free). Activations come from one lgp_arena sized once (no malloc per step). */
#ifndef LGP_VIT_H
#define LGP_VIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/lgp.h"

#define LGP_VIT_MAX_DEPTH 48
#define LGP_VIT_MAX_THREADS 64 /* the most threads a stack splits its batch over */
/* Floats of one chunk's bias and norm-weight sums (lgp_vit_stack.part): 4 norm vectors
 * of C, the biases of proj and fc2 (C), qkv (3C) and fc1 (F). */
#define PART_FLOATS(C, F) (9 * (size_t)(C) + (size_t)(F))
#define LGP_VIT_LN_EPS 1e-6f
#define LGP_PARAM_NAME 64

typedef struct {
    int img_size, patch, in_chans;    /* image Hi = Wi = img_size, P, c */
    int width, depth, heads;          /* C, L, H of the encoder */
    int mlp_ratio;                    /* F = mlp_ratio * C (also in the decoder) */
    int dec_width, dec_depth, dec_heads; /* Cd, decoder blocks, decoder heads */
    int norm_pix;                     /* MAE target: per-patch normalised pixels */
    float mask_ratio;                 /* MAE: fraction of patches removed */
} lgp_vit_config;

/* Named configs: "vit-tiny", "vit-small", "vit-base", "vit-large" (P 16, img 224, MAE
 * decoder 512/8/16) and "fmnist" (img 28, P 4, 1 channel, 192/6/3, decoder 128/2/4).
 * LGP_OK, or LGP_FATAL for an unknown name (cfg untouched). */
int lgp_vit_config_by_name(const char *name, lgp_vit_config *cfg);
/* The patch of the named models made for this image size (4 at 28: fmnist; 16 at 224),
 * 16 for any other size: lgp-mask's default, so its masks fit the model the trainer
 * builds by default for views of that size. */
int lgp_vit_default_patch(int img_size);
/* Checks divisibility and ranges; LGP_OK or LGP_FATAL with the field in err. */
int lgp_vit_config_check(const lgp_vit_config *cfg, char *err, size_t errlen);
static inline int lgp_vit_num_patches(const lgp_vit_config *cfg) {
    int g = cfg->img_size / cfg->patch;
    return g * g;
}
static inline int lgp_vit_patch_dim(const lgp_vit_config *cfg) {
    return cfg->patch * cfg->patch * cfg->in_chans;
}
/* MAE: patches kept per sample, int(N * (1 - mask_ratio)) as in models_mae.py. */
int lgp_vit_len_keep(const lgp_vit_config *cfg);
/* Writes the config as a JSON object (for checkpoint metadata); returns chars needed. */
int lgp_vit_config_json(const lgp_vit_config *cfg, char *buf, size_t len);

/* ---- the parameter table ---- */
enum {
    LGP_PARAM_NO_WD = 1u << 0,   /* ndim < 2 (biases, norms): no weight decay */
    LGP_PARAM_FROZEN = 1u << 1,  /* pos_embed, decoder_pos_embed: never updated */
    LGP_PARAM_DECODER = 1u << 2, /* belongs to the MAE decoder */
};

typedef struct {
    char name[LGP_PARAM_NAME]; /* timm name, e.g. "blocks.3.attn.qkv.weight" */
    int ndim;
    int64_t shape[4];          /* PyTorch order */
    size_t offset, numel;      /* in floats, into every buffer with this layout */
    unsigned flags;            /* LGP_PARAM_* */
    float lr_scale;            /* per-tensor lr multiplier (1; stage 2 sets groups) */
    int block;                 /* encoder block index, -1 for embeddings, depth for the rest */
} lgp_param;

typedef struct {
    lgp_param *entries; /* [count], owned */
    size_t count;
    size_t total;       /* floats in a buffer with this layout */
    float *data;        /* [total], owned, 64-byte aligned, zeroed by _build */
} lgp_params;

typedef struct {
    float *norm1_w, *norm1_b; /* [C] */
    float *qkv_w, *qkv_b;     /* [3C, C], [3C] */
    float *proj_w, *proj_b;   /* [C, C], [C] */
    float *norm2_w, *norm2_b; /* [C] */
    float *fc1_w, *fc1_b;     /* [F, C], [F] */
    float *fc2_w, *fc2_b;     /* [C, F], [C] */
} lgp_block_tensors;

/* Typed views into one buffer with the table's layout (borrowed). Decoder pointers are
 * NULL when the table has no decoder. */
typedef struct {
    float *cls_token;         /* [1, 1, C] */
    float *pos_embed;         /* [1, N+1, C], fixed sin-cos */
    float *patch_w, *patch_b; /* [C, c, P, P] (flattened [C, c*P*P]), [C] */
    lgp_block_tensors blocks[LGP_VIT_MAX_DEPTH];
    float *norm_w, *norm_b;   /* [C] */
    float *dec_embed_w, *dec_embed_b; /* [Cd, C], [Cd] */
    float *mask_token;        /* [1, 1, Cd] */
    float *dec_pos_embed;     /* [1, N+1, Cd], fixed sin-cos */
    lgp_block_tensors dec_blocks[LGP_VIT_MAX_DEPTH];
    float *dec_norm_w, *dec_norm_b; /* [Cd] */
    float *dec_pred_w, *dec_pred_b; /* [Q, Cd] rows in (py, px, c) order, [Q] */
} lgp_vit_tensors;

/* Builds the table in timm order (encoder, then the decoder if with_decoder) and
 * allocates a zeroed data buffer. LGP_OK or LGP_FATAL (bad config / out of memory). */
int lgp_params_build(lgp_params *p, const lgp_vit_config *cfg, int with_decoder, char *err,
                     size_t errlen);
void lgp_params_free(lgp_params *p);
lgp_param *lgp_params_find(const lgp_params *p, const char *name); /* NULL if absent */
/* Points t at buf (a buffer with p's layout). */
void lgp_vit_tensors_map(lgp_vit_tensors *t, const lgp_vit_config *cfg, const lgp_params *p,
                         float *buf);
/* 64-byte aligned zeroed float buffer (free with free()); NULL on overflow/OOM. */
float *lgp_floats_alloc(size_t n);

/* ---- the model ---- */
enum { LGP_VIT_WITH_DECODER = 1, LGP_VIT_WITH_GRADS = 2 };

typedef struct {
    lgp_vit_config cfg;
    int with_decoder;
    lgp_params params;    /* table + parameter data (owned) */
    float *grads;         /* [params.total] or NULL without LGP_VIT_WITH_GRADS (owned) */
    lgp_vit_tensors w, g; /* views into params.data / grads */
} lgp_vit_model;

/* Builds the table, allocates, and initialises as MAE does (seeded via LGP_RNG_INIT). */
int lgp_vit_model_init(lgp_vit_model *m, const lgp_vit_config *cfg, unsigned flags,
                       uint64_t seed, char *err, size_t errlen);
void lgp_vit_model_free(lgp_vit_model *m);
void lgp_vit_zero_grad(lgp_vit_model *m);
/* Appends n entries (a head's tensors, laid out from the current total by the caller)
 * to the table, grows params (and grads) to new_total floats keeping their contents,
 * and re-maps the views onto the new buffers (they see the ViT's entries only).
 * LGP_OK or LGP_FATAL (out of memory; the model is then unchanged). */
int lgp_vit_model_extend(lgp_vit_model *m, const lgp_param *extra, size_t n, size_t new_total, char *err,
                         size_t errlen);
/* MAE init of every tensor: xavier-uniform linears and patch embed, N(0, .02) cls/mask,
 * LayerNorm 1/0, biases 0, fixed sin-cos position embeddings. Tensor i of the table
 * draws from lgp_rng(seed, i, 0, LGP_RNG_INIT), so the encoder is the same with or
 * without the decoder. */
void lgp_vit_init_weights(lgp_vit_model *m, uint64_t seed);
/* pos[(G*G+1), E]: row 0 zeros, row 1+i*G+j = [sin(j w), cos(j w), sin(i w), cos(i w)]. */
void lgp_vit_sincos_pos_embed(float *pos, int E, int G);

/* ---- activations ---- */
/* A bump allocator over one float buffer. With base == NULL it only counts (sizing pass). */
typedef struct {
    float *base;
    size_t cap, used;
} lgp_arena;
float *lgp_arena_take(lgp_arena *a, size_t n); /* 16-float aligned; NULL when counting */

/* Per-block activations kept for backward, sized for [B, T]. */
typedef struct {
    float *ln1, *ln1_mean, *ln1_rstd; /* [B,T,C], [B,T], [B,T] */
    float *qkv;                       /* [B,T,3C] */
    float *att;                       /* [B,H,T,T] softmax probabilities */
    float *atty;                      /* [B,T,C] heads concatenated, before proj */
    float *res_mid;                   /* [B,T,C] x + attn branch */
    float *ln2, *ln2_mean, *ln2_rstd; /* [B,T,C], [B,T], [B,T] */
    float *fc1, *gelu;                /* [B,T,F] before / after GELU */
} lgp_block_acts;

/* A stack of L blocks of width C sized for at most B x T tokens, with its backward
 * scratch. res[l] is the input of block l, res[L] the output of the last block. */
typedef struct {
    int maxB, maxT, C, H, F, L;
    float *res[LGP_VIT_MAX_DEPTH + 1]; /* each [B,T,C] */
    lgp_block_acts acts[LGP_VIT_MAX_DEPTH];
    float *tmp;                         /* [B,T,C] branch output before the residual add */
    float *dres, *dmid, *dln, *datty;   /* [B,T,C] backward scratch */
    float *dqkv;                        /* [B,T,3C] */
    float *dfc1, *dgelu;                /* [B,T,F], one buffer (GELU backward in place) */
    float *att_scratch;                 /* lgp_attention_scratch(T) */
    /* Called after each block's backward with that block's gradients, so that their
     * all-reduce starts while the blocks below still compute (gradsync.h); NULL: none. */
    void (*grads_done)(void *ctx, const lgp_block_tensors *g);
    void *grads_done_ctx;
    /* Stochastic depth (fine-tuning): drop_scale[(2*l + k)*B + b] multiplies sample b's
     * attention (k 0) and MLP (k 1) branch of block l before its residual add: 0 drops
     * the branch, 1/keep rescales it (timm DropPath). Set by the caller per step for the
     * B of that step's forward, read again by its backward; NULL: no drop path. */
    const float *drop_scale;
    /* Batch split: with R = replicas > 1 the blocks run on R single-threaded workers
     * instead of splitting each op over the threads: one fork per stack instead of one
     * per op, and each product whole on one core. The batch is cut into chunks of
     * `chunk` samples (0: about 8 per thread), handed out to whichever thread is free
     * (the two vCPUs here run up to 16 % apart; a fixed share per thread waited for the
     * slower). A chunk's rows go through the blocks of a forward, or through a block's
     * input-gradient pass, on one thread, which also sums the chunk's share of the
     * block's bias and norm-weight gradients into its slot of `part`; then the weight
     * matrices' gradients are cut into tiles of output rows (ops.h:
     * lgp_linear_backward_weights), each summed over the whole batch by one thread, and
     * the chunks' sums added in chunk order. Which thread takes a chunk or a tile
     * changes nothing, so a result depends on the thread count only, as with the per-op
     * split. Bound only when R > 1: dres2 and dbr_a [B,T,C] (the tiles read the
     * gradients they hold after the pass), part (B x PART_FLOATS); dbr_m is tmp. R is the thread count at bind time (1 with
     * LGP_BATCH_SPLIT=0 in the environment, for A/B runs); products in bf16 (gemm.h)
     * always take the per-op split. */
    int replicas, chunk;
    float *dres2;         /* the input-gradient pass alternates dres and dres2 block by block */
    float *dbr_m, *dbr_a; /* the MLP and attention branches' scaled gradients (drop path) */
    float *part;          /* per chunk: its sums for a block's biases and norm weights */
} lgp_vit_stack;

/* keep_acts = 0 binds one set of activations shared by all blocks (inference). */
void lgp_vit_stack_bind(lgp_vit_stack *s, lgp_arena *a, int maxB, int maxT, int C, int H, int F,
                        int L, int keep_acts);
/* x = s->res[0] [B,T,C] must be filled by the caller; runs blocks 0..nblocks-1 and
 * returns the output buffer ([B,T,C], s->res[nblocks], or res[0/1] without keep_acts). */
float *lgp_vit_stack_forward(lgp_vit_stack *s, const lgp_block_tensors *w, int nblocks, int B,
                             int T);
/* Backward of the forward's first nblocks blocks: dout [B,T,C] is the gradient of
 * res[nblocks] (may be s->dres itself); on return s->dres holds the gradient of res[0].
 * Weight gradients accumulate into g. */
void lgp_vit_stack_backward(lgp_vit_stack *s, const lgp_block_tensors *w, lgp_block_tensors *g,
                            const float *dout, int nblocks, int B, int T);
/* The last block (l = L - 1, after lgp_vit_stack_forward ran blocks 0..L-2) for rows
 * [q0, T) of each sequence only, when nothing reads the others' outputs (the MAE
 * decoder's cls and visible tokens): attention over all T tokens (every one is a key and
 * a value), the MLP half over the Tq = T - q0 tail rows alone. Returns res[L] holding
 * [B, Tq, C]; x_tail [B, Tq, C] is the caller's, kept for the backward (the tail rows
 * of res_mid). No drop path. */
float *lgp_vit_stack_forward_tail(lgp_vit_stack *s, const lgp_block_tensors *w, int B, int T, int q0,
                                  float *x_tail);
/* Its backward: dout [B, Tq, C] is the gradient of the returned rows; s->dres gets the
 * gradient of res[L-1] [B,T,C], ready for lgp_vit_stack_backward(..., s->dres, L - 1,
 * ...); dx_tail [B, Tq, C] is scratch. Calls grads_done for block L-1. */
void lgp_vit_stack_backward_tail(lgp_vit_stack *s, const lgp_block_tensors *w, lgp_block_tensors *g,
                                 const float *dout, int B, int T, int q0, const float *x_tail,
                                 float *dx_tail);

/* One pre-norm block: out = y + mlp(ln2(y)), y = x + attn(ln1(x)). tmp [B,T,C] scratch. */
void lgp_vit_block_forward(float *out, lgp_block_acts *a, float *tmp, const float *inp,
                           const lgp_block_tensors *w, int B, int T, int C, int H, int F);
/* dinp [B,T,C] += ...; scratch pointers from the stack. dout is not modified. */
void lgp_vit_block_backward(float *dinp, lgp_block_tensors *g, const float *dout,
                            const float *inp, const lgp_block_tensors *w, const lgp_block_acts *a,
                            lgp_vit_stack *s, int B, int T);

/* ---- patches ---- */
/* Conv im2col: out[B, N, c*P*P] in (c, py, px) order, the patch-embed weight's order. */
void lgp_vit_patchify_conv(float *out, const float *img, int B, const lgp_vit_config *cfg);
/* MAE patchify: out[B, N, P*P*c] in (py, px, c) order (the decoder_pred order). */
void lgp_vit_patchify_mae(float *out, const float *img, int B, const lgp_vit_config *cfg);
/* Inverse of patchify_mae: img[B, c, Hi, Wi] from patches[B, N, P*P*c]. */
void lgp_vit_unpatchify_mae(float *img, const float *patches, int B, const lgp_vit_config *cfg);

/* ---- patch embedding: the tokens the blocks start from ---- */
/* The one patch embedding of the encoder paths (MAE, the CL encoder, inference): timm's
 * PatchEmbed (a Conv2d with kernel = stride = P, as im2col + one sgemm) plus cls and
 * pos_embed, for K patches per image. x [B, 1+K, C]: row 0 = cls_token + pos[0], row
 * 1+j = patch_w · patch n_j + patch_b + pos[1+n_j], where n_j = ids[b*N + j] (ids
 * [B, N], the first K of each row used: MAE's visible patches) or n_j = j with ids NULL
 * (then K = N). Fills patches
 * [B, K, c*P*P] (conv order; the backward needs it). emb [B, K, C] is scratch for one
 * product over all B*K rows; with emb NULL each image gets its own product written
 * straight into x (inference). The two may round differently (sgemm blocking), so each
 * caller keeps the one it has always used. */
void lgp_vit_patch_embed_forward(float *x, float *patches, float *emb, const float *images,
                                 const int *ids, const lgp_vit_model *m, int B, int K);
/* dx [B, 1+K, C]: gradient of the forward's x. Accumulates g->cls_token (images in
 * order: bitwise reproducible) and, with demb [B, K, C] scratch, g->patch_w and
 * g->patch_b; demb NULL leaves the patch embedding frozen (MoCo v3's stop-grad-conv1).
 * pos_embed is frozen (sincos) and the images need no gradient. */
void lgp_vit_patch_embed_backward(lgp_vit_tensors *g, float *demb, const float *dx,
                                  const float *patches, const lgp_vit_model *m, int B, int K);

/* ---- inference: embeddings (lgp-embed) ---- */
enum { LGP_POOL_CLS = 0, LGP_POOL_MEAN = 1 };

typedef struct {
    const lgp_vit_model *m; /* borrowed */
    int chunk;              /* images per forward */
    float *arena;           /* owned */
    lgp_vit_stack s;
    float *patches, *normed, *ln_mean, *ln_rstd; /* [B,N,cPP], [B,T,C], [B,T], [B,T] */
} lgp_vit_infer;

int lgp_vit_infer_init(lgp_vit_infer *inf, const lgp_vit_model *m, int chunk, char *err,
                       size_t errlen);
void lgp_vit_infer_free(lgp_vit_infer *inf);
/* images [B, c, Hi, Wi] (already normalised) → out [B, C]. nblocks: run the first nblocks
 * blocks (-1 or depth: all), then the final norm, then pool: LGP_POOL_CLS takes token 0,
 * LGP_POOL_MEAN averages the N patch tokens. Any B (processed in chunks). */
void lgp_vit_embed(lgp_vit_infer *inf, const float *images, int B, int pool, int nblocks,
                   float *out);

#endif
