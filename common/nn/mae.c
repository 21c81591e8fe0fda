/* mae.c — MAE forward/backward on the ViT engine (see mae.h). */
#include "common/nn/mae.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/lgp.h"
#include "common/nn/ops.h"
#include "common/util/rng.h"

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static void bind(lgp_mae *st, lgp_arena *a) {
    const lgp_vit_config *c = &st->m->cfg;
    size_t B = st->maxB, N = st->N, Q = st->Q, Te = 1 + st->len_keep, Td = N + 1;
    size_t C = c->width, Cd = c->dec_width;
    lgp_vit_stack_bind(&st->enc, a, (int)B, (int)Te, (int)C, c->heads, (int)C * c->mlp_ratio,
                       c->depth, 1);
    lgp_vit_stack_bind(&st->dec, a, (int)B, (int)Td, (int)Cd, c->dec_heads,
                       (int)Cd * c->mlp_ratio, c->dec_depth, 1);
    st->mask = lgp_arena_take(a, B * N);
    st->target = lgp_arena_take(a, B * N * Q);
    st->pred = lgp_arena_take(a, B * N * Q);
    st->patches = lgp_arena_take(a, B * st->len_keep * lgp_vit_patch_dim(c));
    st->enc_normed = lgp_arena_take(a, B * Te * C);
    st->enc_mean = lgp_arena_take(a, B * Te);
    st->enc_rstd = lgp_arena_take(a, B * Te);
    st->dec_emb = lgp_arena_take(a, B * Te * Cd);
    st->dec_normed = lgp_arena_take(a, B * Td * Cd);
    st->dec_mean = lgp_arena_take(a, B * Td);
    st->dec_rstd = lgp_arena_take(a, B * Td);
    st->pred_full = lgp_arena_take(a, B * Td * Q);
    st->dpred_full = lgp_arena_take(a, B * Td * Q);
    st->ddec_normed = lgp_arena_take(a, B * Td * Cd);
    st->dec_tail = lgp_arena_take(a, B * N * Cd);
    st->ddec_tail = lgp_arena_take(a, B * N * Cd);
    st->dtail_mid = lgp_arena_take(a, B * N * Cd);
    st->ddec_emb = lgp_arena_take(a, B * Te * Cd);
    st->denc_normed = lgp_arena_take(a, B * Te * C);
    st->loss_bn = lgp_arena_take(a, B * N);
}

int lgp_mae_init(lgp_mae *st, lgp_vit_model *m, int maxB, char *err, size_t errlen) {
    memset(st, 0, sizeof *st);
    if (!m->with_decoder || !m->grads || m->cfg.dec_depth < 1)
        return fail(err, errlen, LGP_FATAL, "MAE needs a model with decoder and gradients");
    if (maxB < 1) return fail(err, errlen, LGP_FATAL, "batch %d < 1", maxB);
    st->m = m;
    st->maxB = maxB;
    st->N = lgp_vit_num_patches(&m->cfg);
    st->Q = lgp_vit_patch_dim(&m->cfg);
    st->len_keep = lgp_vit_len_keep(&m->cfg);
    st->loss_scale = 1.0f;
    if (st->len_keep < 1) return fail(err, errlen, LGP_FATAL, "mask ratio keeps no patch");
    lgp_arena a = {NULL, 0, 0};
    bind(st, &a);
    st->arena = lgp_floats_alloc(a.used);
    st->ids_keep = malloc(sizeof(int) * (size_t)maxB * st->N);
    st->slot = malloc(sizeof(int) * (size_t)maxB * st->N);
    st->order = malloc(sizeof(int) * (size_t)maxB * st->N);
    if (!st->arena || !st->ids_keep || !st->slot || !st->order) {
        size_t used = a.used;
        lgp_mae_free(st);
        return fail(err, errlen, LGP_FATAL, "out of memory for %zu activations", used);
    }
    a = (lgp_arena){st->arena, a.used, 0};
    bind(st, &a);
    return LGP_OK;
}

void lgp_mae_free(lgp_mae *st) {
    free(st->arena);
    free(st->ids_keep);
    free(st->slot);
    free(st->order);
    memset(st, 0, sizeof *st);
}

/* ---- masking ---- */

typedef struct {
    double v;
    int i;
} keyed;

static int cmp_keyed(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i); /* stable */
}

void lgp_mae_random_mask(int *ids_keep, float *mask, int N, int len_keep, uint64_t seed,
                         uint64_t epoch, uint64_t sample_id) {
    keyed buf[4096];
    keyed *k = N <= 4096 ? buf : malloc(sizeof *k * (size_t)N);
    LGP_ASSERT(k);
    lgp_rng r;
    lgp_rng_init(&r, seed, epoch, sample_id, LGP_RNG_MASK);
    for (int n = 0; n < N; n++) k[n] = (keyed){lgp_rng_uniform(&r), n};
    qsort(k, (size_t)N, sizeof *k, cmp_keyed);
    for (int n = 0; n < N; n++) mask[n] = 1.0f;
    for (int j = 0; j < len_keep; j++) {
        ids_keep[j] = k[j].i;
        mask[k[j].i] = 0.0f;
    }
    if (k != buf) free(k);
}

static int make_masks(lgp_mae *st, int B, const uint8_t *masks, uint64_t seed, uint64_t epoch,
                      const uint64_t *sample_ids, char *err, size_t errlen) {
    int N = st->N, K = -1;
    for (int b = 0; b < B; b++) {
        int *ids = st->ids_keep + (size_t)b * N, *slot = st->slot + (size_t)b * N, kb = 0;
        float *mk = st->mask + (size_t)b * N;
        if (!masks) {
            lgp_mae_random_mask(ids, mk, N, st->len_keep, seed, epoch, sample_ids ? sample_ids[b] : (uint64_t)b);
            kb = st->len_keep;
        } else {
            for (int n = 0; n < N; n++) {
                mk[n] = masks[(size_t)b * N + n] ? 1.0f : 0.0f;
                if (!masks[(size_t)b * N + n]) ids[kb++] = n;
            }
        }
        if (K >= 0 && kb != K)
            return fail(err, errlen, LGP_BAD_RECORD, "mask of sample %d shows %d patches, sample 0 shows %d", b, kb, K);
        if (kb < 1 || kb > st->len_keep)
            return fail(err, errlen, LGP_BAD_RECORD, "mask of sample %d shows %d patches, want 1..%d", b, kb, st->len_keep);
        K = kb;
        for (int n = 0; n < N; n++) slot[n] = -1;
        for (int j = 0; j < kb; j++) slot[ids[j]] = j;
        int *ord = st->order + (size_t)b * N, m = kb;
        for (int j = 0; j < kb; j++) ord[j] = ids[j];
        for (int n = 0; n < N; n++)
            if (slot[n] < 0) ord[m++] = n;
    }
    st->K = K;
    return LGP_OK;
}

/* ---- forward ---- */

/* target[B,N,Q] = patchify(img), normalised per patch with the unbiased variance. */
LGP_HOT static void make_target(lgp_mae *st, const float *images, int B) {
    int N = st->N, Q = st->Q;
    lgp_vit_patchify_mae(st->target, images, B, &st->m->cfg);
    if (!st->m->cfg.norm_pix) return;
#pragma omp parallel for schedule(static)
    for (int bn = 0; bn < B * N; bn++) {
        float *t = st->target + (size_t)bn * Q;
        double mu = 0.0, var = 0.0;
        for (int q = 0; q < Q; q++) mu += t[q];
        mu /= Q;
        for (int q = 0; q < Q; q++) var += (t[q] - mu) * (t[q] - mu);
        var /= (Q - 1);
        float rs = (float)(1.0 / sqrt(var + 1e-6));
        for (int q = 0; q < Q; q++) t[q] = (float)(t[q] - mu) * rs;
    }
}

/* dec.res[0][B,N+1,Cd]: the cls row, the K visible tokens, then a mask token per masked
 * patch (st->order), each plus its patch's position embedding. */
LGP_HOT static void decoder_input(lgp_mae *st, int B) {
    const lgp_vit_tensors *w = &st->m->w;
    int N = st->N, K = st->K, T = K + 1, Cd = st->m->cfg.dec_width;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        float *xb = st->dec.res[0] + (size_t)b * (N + 1) * Cd;
        const float *eb = st->dec_emb + (size_t)b * T * Cd;
        const int *ord = st->order + (size_t)b * N;
        for (int i = -1; i < N; i++) {
            const float *src = i < K ? eb + (size_t)(1 + i) * Cd : w->mask_token;
            const float *pos = w->dec_pos_embed + (size_t)(i < 0 ? 0 : 1 + ord[i]) * Cd;
            float *o = xb + (size_t)(i + 1) * Cd;
            for (int k = 0; k < Cd; k++) o[k] = src[k] + pos[k];
        }
    }
}

LGP_HOT static float loss_forward(lgp_mae *st, int B) {
    int N = st->N, Q = st->Q;
#pragma omp parallel for schedule(static)
    for (int bn = 0; bn < B * N; bn++) {
        const float *p = st->pred + (size_t)bn * Q, *t = st->target + (size_t)bn * Q;
        double s = 0.0;
        for (int q = 0; q < Q; q++) s += (double)(p[q] - t[q]) * (p[q] - t[q]);
        st->loss_bn[bn] = (float)(s / Q);
    }
    double num = 0.0, den = 0.0;
    for (int bn = 0; bn < B * N; bn++) {
        num += (double)st->loss_bn[bn] * st->mask[bn];
        den += st->mask[bn];
    }
    return den > 0.0 ? (float)(num / den) : 0.0f;
}

int lgp_mae_forward(lgp_mae *st, const float *images, int B, const uint8_t *masks,
                    uint64_t seed, uint64_t epoch, const uint64_t *sample_ids, float *loss,
                    char *err, size_t errlen) {
    const lgp_vit_config *c = &st->m->cfg;
    const lgp_vit_tensors *w = &st->m->w;
    if (B < 1 || B > st->maxB) return fail(err, errlen, LGP_FATAL, "batch %d not in 1..%d", B, st->maxB);
    int rc = make_masks(st, B, masks, seed, epoch, sample_ids, err, errlen);
    if (rc != LGP_OK) return rc;
    st->B = B;
    int N = st->N, Q = st->Q, Te = st->K + 1, Td = N + 1, C = c->width, Cd = c->dec_width;
    make_target(st, images, B);
    /* enc.tmp [B, K, C] is free before the blocks run */
    lgp_vit_patch_embed_forward(st->enc.res[0], st->patches, st->enc.tmp, images, st->ids_keep, st->m,
                                B, st->K);
    float *x = lgp_vit_stack_forward(&st->enc, w->blocks, c->depth, B, Te);
    lgp_layernorm_forward(st->enc_normed, st->enc_mean, st->enc_rstd, x, w->norm_w, w->norm_b,
                          B * Te, C, LGP_VIT_LN_EPS);
    lgp_linear_forward(st->dec_emb, st->enc_normed, w->dec_embed_w, w->dec_embed_b, B * Te, C, Cd);
    int Nm = N - st->K; /* masked rows, the decoder's last Nm */
    memset(st->pred, 0, sizeof(float) * (size_t)B * N * Q);
    if (Nm == 0) { /* mask ratio 0: nothing to predict, loss 0 */
        *loss = loss_forward(st, B);
        return LGP_OK;
    }
    decoder_input(st, B);
    lgp_vit_stack_forward(&st->dec, w->dec_blocks, c->dec_depth - 1, B, Td);
    float *y = lgp_vit_stack_forward_tail(&st->dec, w->dec_blocks, B, Td, Te, st->dec_tail);
    lgp_layernorm_forward(st->dec_normed, st->dec_mean, st->dec_rstd, y, w->dec_norm_w,
                          w->dec_norm_b, B * Nm, Cd, LGP_VIT_LN_EPS);
    lgp_linear_forward(st->pred_full, st->dec_normed, w->dec_pred_w, w->dec_pred_b, B * Nm, Cd, Q);
    for (int b = 0; b < B; b++) /* back to patch order */
        for (int i = 0; i < Nm; i++)
            memcpy(st->pred + ((size_t)b * N + st->order[(size_t)b * N + st->K + i]) * Q,
                   st->pred_full + ((size_t)b * Nm + i) * Q, sizeof(float) * Q);
    *loss = loss_forward(st, B);
    return LGP_OK;
}

/* ---- backward ---- */

/* dpred_full [B, N-K, Q]: the loss's gradient for the masked rows, decoder order. */
LGP_HOT static void loss_backward(lgp_mae *st, int B) {
    int N = st->N, Q = st->Q, K = st->K, Nm = N - K;
    double den = 0.0;
    for (int bn = 0; bn < B * N; bn++) den += st->mask[bn];
    float k = den > 0.0 ? (float)(2.0 * st->loss_scale / (den * Q)) : 0.0f;
#pragma omp parallel for schedule(static)
    for (int bi = 0; bi < B * Nm; bi++) {
        int b = bi / Nm, i = bi % Nm;
        size_t bn = (size_t)b * N + st->order[(size_t)b * N + K + i];
        const float *p = st->pred + bn * Q, *t = st->target + bn * Q;
        float *d = st->dpred_full + (size_t)bi * Q, s = k * st->mask[bn];
        for (int q = 0; q < Q; q++) d[q] = s * (p[q] - t[q]);
    }
}

LGP_HOT static void decoder_input_backward(lgp_mae *st, int B) {
    lgp_vit_tensors *g = &st->m->g;
    int N = st->N, K = st->K, T = K + 1, Cd = st->m->cfg.dec_width;
    const float *dx = st->dec.dres; /* [B, N+1, Cd] in decoder order */
    /* the cls and visible rows are ddec_emb's rows as they stand */
    for (int b = 0; b < B; b++)
        memcpy(st->ddec_emb + (size_t)b * T * Cd, dx + (size_t)b * (N + 1) * Cd, sizeof(float) * (size_t)T * Cd);
    for (int b = 0; b < B; b++) /* sequential: mask-token sum in a fixed order */
        for (int i = K; i < N; i++) {
            const float *src = dx + ((size_t)b * (N + 1) + 1 + i) * Cd;
            for (int k = 0; k < Cd; k++) g->mask_token[k] += src[k];
        }
}

void lgp_mae_backward(lgp_mae *st) {
    const lgp_vit_config *c = &st->m->cfg;
    const lgp_vit_tensors *w = &st->m->w;
    lgp_vit_tensors *g = &st->m->g;
    int B = st->B, N = st->N, Q = st->Q, Te = st->K + 1, Td = N + 1, C = c->width, Cd = c->dec_width;
    int Nm = N - st->K;
    if (Nm == 0) return; /* a loss of 0 whatever the weights: no gradient */
    loss_backward(st, B);
    /* the _set ops overwrite their input gradients: no buffer needs zeroing first */
    lgp_linear_backward_set(st->ddec_normed, g->dec_pred_w, g->dec_pred_b, st->dpred_full,
                            st->dec_normed, w->dec_pred_w, B * Nm, Cd, Q);
    lgp_layernorm_backward_set(st->ddec_tail, NULL, g->dec_norm_w, g->dec_norm_b, st->ddec_normed,
                               st->dec.res[c->dec_depth], w->dec_norm_w, st->dec_mean,
                               st->dec_rstd, B * Nm, Cd);
    lgp_vit_stack_backward_tail(&st->dec, w->dec_blocks, g->dec_blocks, st->ddec_tail, B, Td, Te,
                                st->dec_tail, st->dtail_mid);
    lgp_vit_stack_backward(&st->dec, w->dec_blocks, g->dec_blocks, st->dec.dres, c->dec_depth - 1,
                           B, Td);
    decoder_input_backward(st, B);
    lgp_linear_backward_set(st->denc_normed, g->dec_embed_w, g->dec_embed_b, st->ddec_emb,
                            st->enc_normed, w->dec_embed_w, B * Te, C, Cd);
    lgp_layernorm_backward_set(st->enc.dres, NULL, g->norm_w, g->norm_b, st->denc_normed,
                               st->enc.res[c->depth], w->norm_w, st->enc_mean, st->enc_rstd,
                               B * Te, C);
    lgp_vit_stack_backward(&st->enc, w->blocks, g->blocks, st->enc.dres, c->depth, B, Te);
    lgp_vit_patch_embed_backward(g, st->enc.tmp, st->enc.dres, st->patches, st->m, B, st->K);
}

int lgp_mae_forward_backward(lgp_mae *st, const float *images, int B, const uint8_t *masks,
                             uint64_t seed, uint64_t epoch, const uint64_t *sample_ids,
                             float *loss, char *err, size_t errlen) {
    int rc = lgp_mae_forward(st, images, B, masks, seed, epoch, sample_ids, loss, err, errlen);
    if (rc == LGP_OK) lgp_mae_backward(st);
    return rc;
}
