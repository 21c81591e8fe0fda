/* encoder.c — see encoder.h. */
#include "common/nn/encoder.h"

#include "common/lgp.h"
#include "common/nn/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lgp_encoder_init(lgp_encoder *e, lgp_vit_model *m, int maxB, int patch_grad, char *err,
                     size_t errlen) {
    memset(e, 0, sizeof *e);
    const lgp_vit_config *c = &m->cfg;
    int N = lgp_vit_num_patches(c), T = N + 1, C = c->width;
    lgp_arena a = {NULL, 0, 0};
    for (int pass = 0; pass < 2; pass++) {
        lgp_vit_stack_bind(&e->s, &a, maxB, T, C, c->heads, C * c->mlp_ratio, c->depth, 1);
        e->patches = lgp_arena_take(&a, (size_t)maxB * N * lgp_vit_patch_dim(c));
        e->cls = lgp_arena_take(&a, (size_t)maxB * C);
        e->feat = lgp_arena_take(&a, (size_t)maxB * C);
        e->dcls = lgp_arena_take(&a, (size_t)maxB * C);
        e->ln_mean = lgp_arena_take(&a, (size_t)maxB);
        e->ln_rstd = lgp_arena_take(&a, (size_t)maxB);
        if (pass == 0) {
            e->arena = lgp_floats_alloc(a.used);
            if (!e->arena) return snprintf(err, errlen, "out of memory for %zu activations", a.used), LGP_FATAL;
            a = (lgp_arena){e->arena, a.used, 0};
        }
    }
    e->m = m;
    e->maxB = maxB;
    e->N = N;
    e->T = T;
    e->patch_grad = patch_grad;
    return LGP_OK;
}

void lgp_encoder_free(lgp_encoder *e) {
    free(e->arena);
    memset(e, 0, sizeof *e);
}

const float *lgp_encoder_forward(lgp_encoder *e, const float *images, int B) {
    const lgp_vit_config *c = &e->m->cfg;
    const lgp_vit_tensors *w = &e->m->w;
    LGP_ASSERT(B >= 1 && B <= e->maxB);
    e->B = B;
    int N = e->N, T = e->T, C = c->width;
    /* tmp [B, N, C] is free before the blocks run */
    lgp_vit_patch_embed_forward(e->s.res[0], e->patches, e->s.tmp, images, NULL, e->m, B, N);
    const float *y = lgp_vit_stack_forward(&e->s, w->blocks, c->depth, B, T);
    for (int b = 0; b < B; b++) memcpy(e->cls + (size_t)b * C, y + (size_t)b * T * C, sizeof(float) * C);
    lgp_layernorm_forward(e->feat, e->ln_mean, e->ln_rstd, e->cls, w->norm_w, w->norm_b, B, C, LGP_VIT_LN_EPS);
    return e->feat;
}

void lgp_encoder_backward(lgp_encoder *e, const float *dfeat) {
    const lgp_vit_config *c = &e->m->cfg;
    const lgp_vit_tensors *w = &e->m->w;
    lgp_vit_tensors *g = &e->m->g;
    int B = e->B, N = e->N, T = e->T, C = c->width;
    memset(e->dcls, 0, sizeof(float) * (size_t)B * C);
    lgp_layernorm_backward(e->dcls, g->norm_w, g->norm_b, dfeat, e->cls, w->norm_w, e->ln_mean, e->ln_rstd, B, C);
    /* Only the cls rows reach the loss: every other token's gradient starts at 0. */
    memset(e->s.dres, 0, sizeof(float) * (size_t)B * T * C);
    for (int b = 0; b < B; b++) memcpy(e->s.dres + (size_t)b * T * C, e->dcls + (size_t)b * C, sizeof(float) * C);
    lgp_vit_stack_backward(&e->s, w->blocks, g->blocks, e->s.dres, c->depth, B, T);
    /* s.dres [B, T, C]: gradient of the block input; tmp is free scratch by now */
    lgp_vit_patch_embed_backward(g, e->patch_grad ? e->s.tmp : NULL, e->s.dres, e->patches, e->m, B, N);
}
