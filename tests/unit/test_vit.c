/* test_vit.c — the ViT engine: named configs, the parameter table (timm names, shapes,
 * flags, ViT-B/16 parameter count 85,798,656 as timm reports without a head), MAE init
 * (sin-cos values from the formula, xavier bounds, LN 1/0, seeded and reproducible,
 * encoder identical with or without decoder), patch embedding = a naive strided
 * convolution, patchify/unpatchify round trip, and the embedding path (lgp_vit_embed)
 * against the MAE encoder run on all patches in shuffled order, and the batch split of a
 * block stack (lgp_vit_stack.replicas) against the per-op split: same outputs and
 * gradients to float rounding, with drop path, uneven splits, chunks of every size,
 * one and several weight-gradient tiles, the gradient read from the stack's own buffer,
 * the per-block gradient callback, and the same bytes on a rerun; and the last block run for the tail
 * rows alone (MAE's decoder) against the whole stack. */
#include "common/nn/mae.h"
#include "common/nn/ops.h"
#include "common/util/rng.h"
#include "tap.h"

#include <omp.h>

static void test_table(void) {
    lgp_vit_config c;
    lgp_params p;
    char err[128];
    is_int(lgp_vit_config_by_name("nope", &c), LGP_FATAL, "unknown config name refused");
    is_int(lgp_vit_config_by_name("vit-base", &c), LGP_OK, "vit-base config");
    is_int(lgp_params_build(&p, &c, 0, err, sizeof err), LGP_OK, "vit-base encoder table");
    size_t numel = 0;
    for (size_t i = 0; i < p.count; i++) numel += p.entries[i].numel;
    is_int(numel, 85798656, "ViT-B/16 encoder has timm's parameter count");
    is_int(p.count, 4 + 12 * 12 + 2, "tensor count");
    lgp_param *e = lgp_params_find(&p, "blocks.11.attn.qkv.weight");
    ok(e && e->ndim == 2 && e->shape[0] == 2304 && e->shape[1] == 768 && !(e->flags & LGP_PARAM_NO_WD),
       "blocks.11.attn.qkv.weight [2304, 768], decayed");
    e = lgp_params_find(&p, "patch_embed.proj.weight");
    ok(e && e->ndim == 4 && e->shape[1] == 3 && e->shape[2] == 16, "patch_embed.proj.weight [768, 3, 16, 16]");
    e = lgp_params_find(&p, "pos_embed");
    ok(e && (e->flags & LGP_PARAM_FROZEN) && e->shape[1] == 197, "pos_embed [1, 197, 768] frozen");
    e = lgp_params_find(&p, "blocks.0.norm1.bias");
    ok(e && (e->flags & LGP_PARAM_NO_WD), "1-d tensors get no weight decay");
    e = lgp_params_find(&p, "cls_token");
    ok(e && !(e->flags & (LGP_PARAM_NO_WD | LGP_PARAM_FROZEN)), "cls_token decayed (as MAE)");
    ok(lgp_params_find(&p, "mask_token") == NULL, "no decoder in an encoder-only table");
    int aligned = 1;
    for (size_t i = 0; i < p.count; i++) aligned &= p.entries[i].offset % 16 == 0;
    ok(aligned, "every tensor starts 64-byte aligned");
    lgp_params_free(&p);
    is_int(lgp_vit_config_by_name("fmnist", &c), LGP_OK, "fmnist config");
    is_int(lgp_params_build(&p, &c, 1, err, sizeof err), LGP_OK, "fmnist MAE table");
    e = lgp_params_find(&p, "decoder_pred.weight");
    ok(e && e->shape[0] == 16 && e->shape[1] == 128 && (e->flags & LGP_PARAM_DECODER), "decoder_pred.weight [16, 128]");
    e = lgp_params_find(&p, "decoder_pos_embed");
    ok(e && (e->flags & LGP_PARAM_FROZEN) && e->shape[1] == 50, "decoder_pos_embed [1, 50, 128] frozen");
    lgp_params_free(&p);
    c.width = 190;
    ok(lgp_vit_config_check(&c, err, sizeof err) == LGP_FATAL, "width not divisible by heads refused (%s)", err);
}

static void test_init(void) {
    lgp_vit_config c = {8, 2, 2, 16, 2, 2, 2, 8, 1, 2, 1, 0.5f};
    lgp_vit_model a, b, d;
    char err[128];
    lgp_vit_model_init(&a, &c, LGP_VIT_WITH_DECODER, 3, err, sizeof err);
    lgp_vit_model_init(&b, &c, 0, 3, err, sizeof err);
    lgp_vit_model_init(&d, &c, 0, 4, err, sizeof err);
    ok(memcmp(a.params.data, b.params.data, sizeof(float) * b.params.total) == 0,
       "encoder init identical with and without decoder");
    ok(memcmp(b.params.data, d.params.data, sizeof(float) * b.params.total) != 0, "another seed, other weights");
    /* pos_embed row 1 + i*G + j = [sin(j w), cos(j w), sin(i w), cos(i w)], G = 4, E = 16 */
    int G = 4, E = 16, i = 2, j = 3, k = 1;
    double w = 1.0 / pow(10000.0, (double)k / (E / 4));
    const float *row = a.w.pos_embed + (size_t)(1 + i * G + j) * E;
    ok(fabs(row[k] - sin(j * w)) < 1e-7 && fabs(row[4 + k] - cos(j * w)) < 1e-7 &&
           fabs(row[8 + k] - sin(i * w)) < 1e-7 && fabs(row[12 + k] - cos(i * w)) < 1e-7,
       "sin-cos pos embed, column first (MAE layout)");
    int zeros = 1;
    for (int q = 0; q < E; q++) zeros &= a.w.pos_embed[q] == 0.0f && a.w.dec_pos_embed[q % 8] == 0.0f;
    ok(zeros, "cls slot of both position embeddings is zero");
    double bound = sqrt(6.0 / (16 + 48)), mx = 0;
    for (int q = 0; q < 48 * 16; q++) mx = fmax(mx, fabs(a.w.blocks[1].qkv_w[q]));
    ok(mx <= bound && mx > 0.9 * bound, "qkv xavier-uniform over the whole [3C, C] (max %.4f, bound %.4f)", mx, bound);
    ok(a.w.blocks[0].norm1_w[3] == 1.0f && a.w.blocks[0].norm1_b[3] == 0.0f && a.w.dec_norm_w[0] == 1.0f &&
           a.w.blocks[0].fc1_b[0] == 0.0f && a.w.dec_pred_b[0] == 0.0f,
       "LayerNorm 1/0, biases 0");
    double ss = 0;
    for (int q = 0; q < 16; q++) ss += a.w.cls_token[q] * a.w.cls_token[q];
    ok(sqrt(ss / 16) > 0.005 && sqrt(ss / 16) < 0.05, "cls token ~ N(0, 0.02^2) (rms %.4f)", sqrt(ss / 16));
    lgp_vit_model_free(&a), lgp_vit_model_free(&b), lgp_vit_model_free(&d);
}

static void test_patches(void) {
    lgp_vit_config c = {8, 2, 3, 16, 1, 2, 2, 8, 1, 2, 1, 0.5f};
    lgp_vit_model m;
    char err[128];
    lgp_vit_model_init(&m, &c, 0, 1, err, sizeof err);
    int B = 2, S = 8, P = 2, G = 4, N = 16, C = 16, ch = 3, Q = P * P * ch;
    size_t nimg = (size_t)B * ch * S * S;
    float img[2 * 3 * 8 * 8], back[2 * 3 * 8 * 8], pat[2 * 16 * 12], emb[2 * 16 * 16];
    lgp_rng r;
    lgp_rng_init(&r, 1, 2, 3, 4);
    for (size_t q = 0; q < nimg; q++) img[q] = (float)lgp_rng_normal(&r);
    lgp_vit_patchify_conv(pat, img, B, &c);
    lgp_linear_forward(emb, pat, m.w.patch_w, m.w.patch_b, B * N, Q, C);
    double num = 0, den = 0; /* naive Conv2d(kernel = stride = P) */
    for (int b = 0; b < B; b++)
        for (int o = 0; o < C; o++)
            for (int i = 0; i < G; i++)
                for (int j = 0; j < G; j++) {
                    double s = m.w.patch_b[o];
                    for (int cc = 0; cc < ch; cc++)
                        for (int py = 0; py < P; py++)
                            for (int px = 0; px < P; px++)
                                s += (double)m.w.patch_w[((o * ch + cc) * P + py) * P + px] *
                                     img[((b * ch + cc) * S + i * P + py) * S + j * P + px];
                    double got = emb[((size_t)b * N + i * G + j) * C + o];
                    num += (got - s) * (got - s), den += s * s;
                }
    ok(sqrt(num / den) < 1e-6, "patch embed = Conv2d(kernel=stride=P), tokens row-major (rel %.2g)", sqrt(num / den));
    lgp_vit_patchify_mae(pat, img, B, &c);
    ok(pat[(1 * N + 5) * Q + (1 * P + 0) * ch + 2] == img[((1 * ch + 2) * S + 1 * P + 1) * S + 1 * P + 0],
       "MAE patchify order (py, px, c)");
    lgp_vit_unpatchify_mae(back, pat, B, &c);
    ok(memcmp(back, img, sizeof img) == 0, "unpatchify inverts patchify");
    lgp_vit_model_free(&m);
}

static void test_embed(void) {
    lgp_vit_config c = {8, 2, 2, 16, 2, 2, 2, 8, 1, 2, 1, 0.0f}; /* mask ratio 0: all patches */
    lgp_vit_model m;
    lgp_mae st;
    lgp_vit_infer inf;
    char err[128];
    int B = 3, C = 16;
    lgp_vit_model_init(&m, &c, LGP_VIT_WITH_DECODER | LGP_VIT_WITH_GRADS, 8, err, sizeof err);
    lgp_mae_init(&st, &m, B, err, sizeof err);
    is_int(lgp_vit_infer_init(&inf, &m, 2, err, sizeof err), LGP_OK, "inference buffers, chunk 2");
    size_t nimg = (size_t)B * 2 * 8 * 8;
    float img[3 * 2 * 8 * 8], out[3 * 16], loss;
    lgp_rng r;
    lgp_rng_init(&r, 8, 0, 0, 0);
    for (size_t q = 0; q < nimg; q++) img[q] = (float)lgp_rng_normal(&r);
    lgp_mae_forward(&st, img, B, NULL, 1, 0, NULL, &loss, err, sizeof err);
    lgp_vit_embed(&inf, img, B, LGP_POOL_CLS, -1, out);
    double num = 0, den = 0;
    for (int b = 0; b < B; b++)
        for (int k = 0; k < C; k++) {
            double want = st.enc_normed[(size_t)b * 17 * C + k];
            num += pow(out[b * C + k] - want, 2), den += want * want;
        }
    ok(sqrt(num / den) < 1e-5, "embed cls (3 images in chunks of 2) = MAE encoder cls on shuffled patches (rel %.2g)", sqrt(num / den));
    num = den = 0;
    lgp_vit_embed(&inf, img, B, LGP_POOL_MEAN, -1, out);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < C; k++) {
            double want = 0;
            for (int t = 1; t < 17; t++) want += st.enc_normed[((size_t)b * 17 + t) * C + k] / 16;
            num += pow(out[b * C + k] - want, 2), den += want * want;
        }
    ok(sqrt(num / den) < 1e-5, "embed mean pool = mean of normed patch tokens (rel %.2g)", sqrt(num / den));
    float out0[3 * 16];
    lgp_vit_embed(&inf, img, B, LGP_POOL_CLS, 0, out0);
    ok(memcmp(out0, out, sizeof out) != 0, "nblocks 0 differs from the full encoder");
    lgp_vit_infer_free(&inf);
    lgp_mae_free(&st);
    lgp_vit_model_free(&m);
}

/* ---- batch split (vit.c: lgp_vit_stack.replicas) ---- */
typedef struct {
    int calls, order_ok, next;
    const lgp_block_tensors *g;
    double sums[4];
    size_t n; /* fc1_w's size */
} split_cb;

static double tensor_sum(const float *p, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += p[i];
    return s;
}

/* grads_done: blocks arrive last to first, each with its summed gradients. */
static void split_done(void *ctx, const lgp_block_tensors *g) {
    split_cb *cb = ctx;
    int l = (int)(g - cb->g);
    cb->order_ok &= l == cb->next;
    cb->next--;
    if (l >= 0 && l < 4) cb->sums[l] = tensor_sum(g->fc1_w, cb->n);
    cb->calls++;
}

static double rel(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) num += pow((double)a[i] - b[i], 2), den += (double)b[i] * b[i];
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* One forward + backward of the stack on x [B,T,C] with dout: out, dx and the block
 * gradients (zeroed first) land in the given buffers. */
static void split_run(lgp_vit_stack *s, lgp_vit_model *m, const float *x, const float *dout, int B, int T,
                      float *out, float *dx, float *grads) {
    size_t n = (size_t)B * T * m->cfg.width;
    lgp_vit_zero_grad(m);
    memcpy(s->res[0], x, sizeof(float) * n);
    const float *y = lgp_vit_stack_forward(s, m->w.blocks, m->cfg.depth, B, T);
    memcpy(out, y, sizeof(float) * n);
    lgp_vit_stack_backward(s, m->w.blocks, m->g.blocks, dout, m->cfg.depth, B, T);
    memcpy(dx, s->dres, sizeof(float) * n);
    memcpy(grads, m->grads, sizeof(float) * m->params.total);
}

/* Width C: 16 gives every weight gradient one tile (vit.c tile_rows: at least 64 rows),
 * 72 several and ragged ones over 3 threads (qkv 64+64+64+24 rows, fc1 4x64+32, fc2
 * and proj 64+8). */
static void test_batch_split(int C) {
    /* 2 heads, F 4C, 3 blocks, 16 patches + cls */
    lgp_vit_config c = {8, 2, 1, C, 3, 2, 4, 8, 1, 2, 1, 0.0f};
    lgp_vit_model m;
    char err[128];
    int B = 7, T = 17, F = 4 * C, L = 3, prev = omp_get_max_threads();
    is_int(lgp_vit_model_init(&m, &c, LGP_VIT_WITH_GRADS, 3, err, sizeof err), LGP_OK, "split, C %d: model", C);
    omp_set_num_threads(3); /* 7 samples over 3 threads */
    lgp_arena a = {NULL, 0, 0};
    lgp_vit_stack s, si;
    lgp_vit_stack_bind(&s, &a, B, T, C, 2, F, L, 1);
    lgp_vit_stack_bind(&si, &a, B, T, C, 2, F, L, 0);
    float *arena = lgp_floats_alloc(a.used);
    a = (lgp_arena){arena, a.used, 0};
    lgp_vit_stack_bind(&s, &a, B, T, C, 2, F, L, 1);
    lgp_vit_stack_bind(&si, &a, B, T, C, 2, F, L, 0);
    is_int(s.replicas, 3, "a stack bound with 3 threads splits its batch 3 ways");
    size_t n = (size_t)B * T * C, P = m.params.total;
    float *x = malloc(sizeof(float) * n), *dout = malloc(sizeof(float) * n);
    float *o[3], *d[3], *g[3];
    for (int k = 0; k < 3; k++) o[k] = malloc(sizeof(float) * n), d[k] = malloc(sizeof(float) * n), g[k] = malloc(sizeof(float) * P);
    lgp_rng r;
    lgp_rng_init(&r, 5, 0, 0, 0);
    for (size_t i = 0; i < n; i++) x[i] = (float)lgp_rng_normal(&r), dout[i] = (float)lgp_rng_normal(&r);
    /* biases and LayerNorm weights away from their 0/1 init, so every gradient path counts */
    for (size_t i = 0; i < P; i++) m.params.data[i] += 0.05f * (float)lgp_rng_normal(&r);

    split_cb cb = {0, 1, L - 1, m.g.blocks, {0}, (size_t)F * C};
    s.grads_done = split_done, s.grads_done_ctx = &cb;
    split_run(&s, &m, x, dout, B, T, o[0], d[0], g[0]);
    is_int(cb.calls, L, "split: the gradient callback runs once per block");
    ok(cb.order_ok, "split: blocks reported last to first");
    double worst = 0;
    for (int l = 0; l < L; l++) {
        double want = tensor_sum(m.g.blocks[l].fc1_w, (size_t)F * C);
        worst = fmax(worst, fabs(cb.sums[l] - want) / (fabs(want) + 1e-12));
    }
    ok(worst == 0, "split: each block's gradients are complete when its callback runs");
    s.grads_done = NULL;
    split_run(&s, &m, x, dout, B, T, o[1], d[1], g[1]);
    ok(!memcmp(o[0], o[1], sizeof(float) * n) && !memcmp(d[0], d[1], sizeof(float) * n) &&
           !memcmp(g[0], g[1], sizeof(float) * P),
       "split: a rerun gives the same bytes");
    s.replicas = 1;
    split_run(&s, &m, x, dout, B, T, o[2], d[2], g[2]);
    ok(rel(o[0], o[2], n) < 1e-5, "split: output = per-op split's (rel %.2g)", rel(o[0], o[2], n));
    ok(rel(d[0], d[2], n) < 1e-5, "split: input gradient = per-op split's (rel %.2g)", rel(d[0], d[2], n));
    ok(rel(g[0], g[2], P) < 1e-5, "split: weight gradients = per-op split's (rel %.2g)", rel(g[0], g[2], P));
    s.replicas = 3;
    /* chunks of 1 to 7 samples, the last one short where 7 does not divide */
    double wo = 0, wd = 0, wg = 0;
    for (int cs = 1; cs <= B; cs++) {
        s.chunk = cs;
        split_run(&s, &m, x, dout, B, T, o[1], d[1], g[1]);
        wo = fmax(wo, rel(o[1], o[2], n)), wd = fmax(wd, rel(d[1], d[2], n)), wg = fmax(wg, rel(g[1], g[2], P));
    }
    s.chunk = 0;
    ok(wo < 1e-5 && wd < 1e-5 && wg < 1e-5, "split in chunks of 1..7 samples = per-op split (rel %.2g, %.2g, %.2g)", wo, wd, wg);
    /* the input gradient read from s->dres itself, as the MAE hands it over */
    memcpy(s.res[0], x, sizeof(float) * n);
    lgp_vit_zero_grad(&m);
    lgp_vit_stack_forward(&s, m.w.blocks, L, B, T);
    memcpy(s.dres, dout, sizeof(float) * n);
    lgp_vit_stack_backward(&s, m.w.blocks, m.g.blocks, s.dres, L, B, T);
    ok(rel(s.dres, d[2], n) < 1e-5 && rel(m.grads, g[2], P) < 1e-5, "split from dres in place = per-op split (rel %.2g, %.2g)",
       rel(s.dres, d[2], n), rel(m.grads, g[2], P));
    lgp_vit_zero_grad(&m);
    lgp_vit_stack_forward(&s, m.w.blocks, L - 1, B, T);
    memcpy(s.dres, dout, sizeof(float) * n);
    lgp_vit_stack_backward(&s, m.w.blocks, m.g.blocks, s.dres, L - 1, B, T);
    memcpy(o[1], s.dres, sizeof(float) * n);
    memcpy(g[1], m.grads, sizeof(float) * P);
    s.replicas = 1;
    lgp_vit_zero_grad(&m);
    lgp_vit_stack_forward(&s, m.w.blocks, L - 1, B, T);
    lgp_vit_stack_backward(&s, m.w.blocks, m.g.blocks, dout, L - 1, B, T);
    ok(rel(o[1], s.dres, n) < 1e-5 && rel(g[1], m.grads, P) < 1e-5, "split over an even block count from dres = per-op (rel %.2g, %.2g)",
       rel(o[1], s.dres, n), rel(g[1], m.grads, P));
    s.replicas = 3;
    split_run(&s, &m, x, dout, B, T, o[1], d[1], g[1]);

    /* drop path: per-sample branch scales, some branches dropped */
    float drop[2 * 3 * 7];
    for (int i = 0; i < 2 * L * B; i++) drop[i] = lgp_rng_uniform(&r) < 0.3 ? 0.0f : 1.25f;
    s.drop_scale = drop;
    s.replicas = 3;
    split_run(&s, &m, x, dout, B, T, o[0], d[0], g[0]);
    s.replicas = 1;
    split_run(&s, &m, x, dout, B, T, o[2], d[2], g[2]);
    ok(rel(o[0], o[2], n) < 1e-5 && rel(d[0], d[2], n) < 1e-5 && rel(g[0], g[2], P) < 1e-5,
       "split with drop path = per-op split (rel %.2g, %.2g, %.2g)", rel(o[0], o[2], n), rel(d[0], d[2], n), rel(g[0], g[2], P));
    ok(rel(o[0], o[1], n) > 1e-3, "drop path changes the output");
    s.drop_scale = NULL;

    /* inference stack (one set of activations shared by the blocks) */
    memcpy(si.res[0], x, sizeof(float) * n);
    const float *y = lgp_vit_stack_forward(&si, m.w.blocks, L, B, T);
    memcpy(o[0], y, sizeof(float) * n);
    si.replicas = 1;
    memcpy(si.res[0], x, sizeof(float) * n);
    y = lgp_vit_stack_forward(&si, m.w.blocks, L, B, T);
    ok(rel(o[0], y, n) < 1e-5 && rel(o[0], o[1], n) < 1e-5, "split inference stack = per-op split = training stack (rel %.2g)", rel(o[0], y, n));
    omp_set_num_threads(prev);
    for (int k = 0; k < 3; k++) free(o[k]), free(d[k]), free(g[k]);
    free(x), free(dout), free(arena);
    lgp_vit_model_free(&m);
}

/* lgp_vit_stack_forward_tail / _backward_tail: the last block for the tail rows equals
 * the whole stack's output rows there, and its gradients those of the whole stack with
 * a gradient of 0 on the other rows. */
static void test_tail(void) {
    lgp_vit_config c = {8, 2, 1, 16, 3, 2, 4, 8, 1, 2, 1, 0.0f};
    lgp_vit_model m;
    char err[128];
    int B = 5, T = 17, q0 = 6, Tq = T - q0, C = 16, F = 64, L = 3, prev = omp_get_max_threads();
    lgp_vit_model_init(&m, &c, LGP_VIT_WITH_GRADS, 4, err, sizeof err);
    omp_set_num_threads(2);
    lgp_arena a = {NULL, 0, 0};
    lgp_vit_stack s;
    lgp_vit_stack_bind(&s, &a, B, T, C, 2, F, L, 1);
    float *arena = lgp_floats_alloc(a.used);
    a = (lgp_arena){arena, a.used, 0};
    lgp_vit_stack_bind(&s, &a, B, T, C, 2, F, L, 1);
    size_t n = (size_t)B * T * C, nt = (size_t)B * Tq * C, P = m.params.total;
    float *x = malloc(sizeof(float) * n), *dout = calloc(n, sizeof(float)), *dt = malloc(sizeof(float) * nt);
    float *y0 = malloc(sizeof(float) * n), *dx0 = malloc(sizeof(float) * n), *g0 = malloc(sizeof(float) * P);
    float *xt = malloc(sizeof(float) * nt), *dxt = malloc(sizeof(float) * nt), *yt = malloc(sizeof(float) * nt);
    lgp_rng r;
    lgp_rng_init(&r, 6, 0, 0, 0);
    for (size_t i = 0; i < n; i++) x[i] = (float)lgp_rng_normal(&r);
    for (size_t i = 0; i < P; i++) m.params.data[i] += 0.05f * (float)lgp_rng_normal(&r);
    for (int b = 0; b < B; b++)
        for (size_t i = 0; i < (size_t)Tq * C; i++)
            dt[(size_t)b * Tq * C + i] = dout[((size_t)b * T + q0) * C + i] = (float)lgp_rng_normal(&r);
    int R = s.replicas;
    is_int(R, 2, "tail: the stack splits its batch over 2 threads");
    for (int mode = 0; mode < 2; mode++) {
    s.replicas = mode ? 1 : R;
    const char *how = mode ? "per-op split" : "batch split";
    split_run(&s, &m, x, dout, B, T, y0, dx0, g0);
    lgp_vit_zero_grad(&m);
    memcpy(s.res[0], x, sizeof(float) * n);
    lgp_vit_stack_forward(&s, m.w.blocks, L - 1, B, T);
    const float *y = lgp_vit_stack_forward_tail(&s, m.w.blocks, B, T, q0, xt);
    memcpy(yt, y, sizeof(float) * nt);
    double num = 0, den = 0;
    for (int b = 0; b < B; b++)
        for (size_t i = 0; i < (size_t)Tq * C; i++) {
            double want = y0[((size_t)b * T + q0) * C + i];
            num += pow(yt[(size_t)b * Tq * C + i] - want, 2), den += want * want;
        }
    ok(sqrt(num / den) < 1e-6, "tail, %s: output rows = the whole stack's (rel %.2g)", how, sqrt(num / den));
    lgp_vit_stack_backward_tail(&s, m.w.blocks, m.g.blocks, dt, B, T, q0, xt, dxt);
    lgp_vit_stack_backward(&s, m.w.blocks, m.g.blocks, s.dres, L - 1, B, T);
    ok(rel(s.dres, dx0, n) < 1e-5, "tail, %s: input gradient = the whole stack's (rel %.2g)", how, rel(s.dres, dx0, n));
    ok(rel(m.grads, g0, P) < 1e-5, "tail, %s: weight gradients = the whole stack's (rel %.2g)", how, rel(m.grads, g0, P));
    double last = 0;
    for (size_t i = 0; i < (size_t)F * C; i++) last += fabs(m.g.blocks[L - 1].fc1_w[i]);
    ok(last > 0, "tail, %s: the last block's MLP has a gradient", how);
    }
    /* the batch split's chunks run both halves back to back on their own buffers: reruns
     * in chunks of one sample give the same bytes (two halves sharing a buffer at
     * different offsets made a run in ~30 differ) */
    s.replicas = R, s.chunk = 1;
    int same = 1;
    for (int rep = 0; rep < 200; rep++) {
        lgp_vit_zero_grad(&m);
        memcpy(s.res[0], x, sizeof(float) * n);
        lgp_vit_stack_forward(&s, m.w.blocks, L - 1, B, T);
        lgp_vit_stack_forward_tail(&s, m.w.blocks, B, T, q0, xt);
        lgp_vit_stack_backward_tail(&s, m.w.blocks, m.g.blocks, dt, B, T, q0, xt, dxt);
        if (rep == 0) {
            memcpy(dx0, s.dres, sizeof(float) * n), memcpy(g0, m.grads, sizeof(float) * P);
            continue;
        }
        same &= !memcmp(dx0, s.dres, sizeof(float) * n) && !memcmp(g0, m.grads, sizeof(float) * P);
    }
    ok(same, "tail, batch split in chunks of one sample: 200 reruns give the same bytes");
    s.chunk = 0;
    omp_set_num_threads(prev);
    free(x), free(dout), free(dt), free(y0), free(dx0), free(g0), free(xt), free(dxt), free(yt), free(arena);
    lgp_vit_model_free(&m);
}

int main(void) {
    test_table();
    test_init();
    test_patches();
    test_embed();
    test_batch_split(16);
    test_batch_split(72);
    test_tail();
    return done_testing();
}
