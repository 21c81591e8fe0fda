/* test_finetune.c — the fine-tuning step (ftstate.h, classifier.h, mixup.h): gradients
 * against central finite differences with drop path, mixup/cutmix and label smoothing
 * on, the layer-decay and no-decay rules of the table, mixup/cutmix arithmetic, the
 * drop path draw, soft cross-entropy and top-k, and the PyTorch twin exchange.
 *
 * Without arguments it is a TAP unit test. The twin (tests/pipeline/t1100) runs
 *   test_finetune --twin-write DIR MODE   (DIR/in.safetensors: weights, images, labels,
 *                                          drop scales, mixup draw, settings; DIR/c.safetensors:
 *                                          the C loss, gradients and one AdamW step)
 *   ft_twin.py DIR                        (the same in torch, compares, TAP) */
#include "common/train/ftstate.h"
#include "common/model/named.h"
#include "common/util/rng.h"
#include "formats/checkpoint.h"
#include "formats/safetensors.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TB = 6, TK = 5 };

static lgp_vit_config tiny_cfg(void) {
    lgp_vit_config c = {8, 4, 3, 16, 3, 2, 2, 16, 1, 2, 1, 0.75f};
    return c;
}

static void fill(float *x, size_t n, uint64_t seed, double scale) {
    lgp_rng r;
    lgp_rng_init(&r, seed, 0, 0, 99);
    for (size_t i = 0; i < n; i++) x[i] = (float)(scale * (2.0 * lgp_rng_uniform(&r) - 1.0));
}

/* A random-init state with every parameter nudged (heads not at their tiny init). */
static void make_state(lgp_ft_state *s, double drop_path) {
    lgp_vit_config c = tiny_cfg();
    lgp_ft_opts fo;
    lgp_ft_opts_init(&fo);
    fo.num_classes = TK;
    fo.drop_path = drop_path;
    lgp_adamw_hparams hp = {0.9f, 0.999f, 1e-8f, 0.05f};
    char err[256];
    LGP_ASSERT(lgp_ft_state_new(s, NULL, NULL, NULL, &c, &fo, 3, &hp, err, sizeof err) == LGP_OK);
    float *noise = lgp_floats_alloc(s->m.params.total);
    fill(noise, s->m.params.total, 7, 0.05);
    for (size_t i = 0; i < s->m.params.count; i++) {
        const lgp_param *e = &s->m.params.entries[i];
        if (e->flags & LGP_PARAM_FROZEN) continue;
        for (size_t j = 0; j < e->numel; j++) s->m.params.data[e->offset + j] += noise[e->offset + j];
    }
    free(noise);
}

static void batch(float *x, int64_t *labels, int64_t *epoch, int64_t *index) {
    lgp_vit_config c = tiny_cfg();
    fill(x, (size_t)TB * c.in_chans * c.img_size * c.img_size, 21, 1.5);
    for (int b = 0; b < TB; b++) labels[b] = (b * 3 + 1) % TK, epoch[b] = 0, index[b] = 40 + b;
}

/* Loss at the current weights with fixed drop scales and mixing (x copied: mixing is
 * in place). */
static double loss_at(lgp_ft_engine *e, const float *x0, const int64_t *lab, const lgp_mixup_draw *d) {
    lgp_vit_config c = tiny_cfg();
    size_t n = (size_t)TB * c.in_chans * c.img_size * c.img_size;
    float *x = malloc(n * sizeof *x);
    memcpy(x, x0, n * sizeof *x);
    lgp_vit_zero_grad(&e->s->m);
    double l = lgp_ft_engine_step(e, x, lab, TB, d, 1.0f);
    free(x);
    return l;
}

static void test_fd(const char *what, double drop_path, const lgp_mixup_draw *d) {
    lgp_ft_state s;
    make_state(&s, drop_path);
    lgp_ft_engine e;
    char err[256];
    LGP_ASSERT(lgp_ft_engine_init(&e, &s, TB, err, sizeof err) == LGP_OK);
    float x[TB * 3 * 64];
    int64_t lab[TB], ep[TB], idx[TB];
    batch(x, lab, ep, idx);
    lgp_ft_engine_draw_drop(&e, ep, idx, TB);
    int dropped = 0;
    for (int i = 0; i < 2 * 3 * TB; i++) dropped += e.drop[i] == 0;
    if (drop_path > 0) ok(dropped > 0, "%s: some branches dropped (%d of %d)", what, dropped, 2 * 3 * TB);
    loss_at(&e, x, lab, d);
    float *g = lgp_floats_alloc(s.m.params.total);
    memcpy(g, s.m.grads, sizeof(float) * s.m.params.total);
    /* a few coordinates of every trainable tensor */
    double worst = 0;
    const char *worst_name = "";
    for (size_t i = 0; i < s.m.params.count; i++) {
        const lgp_param *p = &s.m.params.entries[i];
        if (p->flags & LGP_PARAM_FROZEN) continue;
        for (int k = 0; k < 3; k++) {
            size_t j = p->offset + (size_t)(k * 7919) % p->numel;
            float keep = s.m.params.data[j], h = 1e-3f;
            s.m.params.data[j] = keep + h;
            double lp = loss_at(&e, x, lab, d);
            s.m.params.data[j] = keep - h;
            double lm = loss_at(&e, x, lab, d);
            s.m.params.data[j] = keep;
            /* float forward: FD noise ~1e-7 / h, hence the floor in the denominator */
            double fd = (lp - lm) / (2 * h), err2 = fabs(fd - g[j]) / (fabs(fd) + fabs(g[j]) + 5e-3);
            if (err2 > worst) worst = err2, worst_name = p->name;
        }
    }
    ok(worst < 3e-2, "%s: every gradient matches finite differences (worst rel %.3g at %s)", what, worst, worst_name);
    free(g);
    lgp_ft_engine_free(&e);
    lgp_ft_state_free(&s);
}

static void test_table(void) {
    lgp_ft_state s;
    make_state(&s, 0.1);
    const lgp_params *p = &s.m.params;
    /* L = 3: id 0 embeddings 0.75^4, block i 0.75^(3-i), norm/head 1 */
    is_close(lgp_params_find(p, "cls_token")->lr_scale, pow(0.75, 4), 1e-6, 0, "cls_token lr scale 0.75^4");
    is_close(lgp_params_find(p, "patch_embed.proj.weight")->lr_scale, pow(0.75, 4), 1e-6, 0, "patch embed lr scale 0.75^4");
    is_close(lgp_params_find(p, "blocks.0.attn.qkv.weight")->lr_scale, pow(0.75, 3), 1e-6, 0, "block 0 lr scale 0.75^3");
    is_close(lgp_params_find(p, "blocks.2.mlp.fc1.weight")->lr_scale, 0.75, 1e-6, 0, "block 2 lr scale 0.75");
    is_close(lgp_params_find(p, "norm.weight")->lr_scale, 1.0, 1e-6, 0, "final norm lr scale 1");
    is_close(lgp_params_find(p, "head.weight")->lr_scale, 1.0, 1e-6, 0, "head lr scale 1");
    ok(lgp_params_find(p, "cls_token")->flags & LGP_PARAM_NO_WD, "no weight decay on cls_token");
    ok(lgp_params_find(p, "head.bias")->flags & LGP_PARAM_NO_WD, "no weight decay on head.bias");
    ok(!(lgp_params_find(p, "head.weight")->flags & LGP_PARAM_NO_WD), "weight decay on head.weight");
    ok(!(lgp_params_find(p, "patch_embed.proj.weight")->flags & LGP_PARAM_FROZEN), "patch embedding trains");
    ok(lgp_params_find(p, "pos_embed")->flags & LGP_PARAM_FROZEN, "pos_embed frozen");
    lgp_ft_state_free(&s);
}

static void test_mixup(void) {
    lgp_mixup_cfg c = {0.8, 1.0, 1.0, 0.5, 0.1, 4};
    float x[3 * 1 * 4 * 4], t[3 * 4];
    int64_t lab[3] = {0, 1, 3};
    for (int i = 0; i < 48; i++) x[i] = (float)(i / 16);
    lgp_mixup_draw d = {1, 0, 0.25, 0, 0, 0, 0};
    lgp_mixup_apply(x, t, lab, 3, 1, 4, 4, &c, &d);
    is_close(x[0], 0.25 * 0 + 0.75 * 2, 1e-6, 0, "mixup blends with the mirror sample");
    is_close(x[16], 1.0, 1e-6, 0, "mixup: the middle of an odd batch is itself");
    is_close(x[32], 0.25 * 2 + 0.75 * 0, 1e-6, 0, "mixup: the mirror gets the other blend");
    is_close(t[0], 0.25 * (0.9 + 0.025) + 0.75 * 0.025, 1e-6, 0, "target: own class smoothed, weight lam");
    is_close(t[3], 0.25 * 0.025 + 0.75 * (0.9 + 0.025), 1e-6, 0, "target: mirror's class weight 1 - lam");
    double sum = 0;
    for (int k = 0; k < 4; k++) sum += t[k];
    is_close(sum, 1.0, 1e-6, 0, "targets sum to 1");
    for (int i = 0; i < 48; i++) x[i] = (float)(i / 16);
    lgp_mixup_draw cm = {1, 1, 1.0 - 4.0 / 16, 1, 3, 0, 2};
    lgp_mixup_apply(x, t, lab, 3, 1, 4, 4, &c, &cm);
    is_close(x[1 * 4 + 1], 2.0, 0, 0, "cutmix pastes the mirror's box");
    is_close(x[0], 0.0, 0, 0, "cutmix leaves the rest");
    is_close(x[32 + 1 * 4 + 0], 0.0, 0, 0, "cutmix swaps the mirror's box too");
    /* draws: lam in [0, 1], the box's area matches lam */
    int n_cut = 0, n_mix = 0;
    double mean = 0;
    for (int i = 0; i < 2000; i++) {
        lgp_rng r;
        lgp_rng_init(&r, 1, (uint64_t)i, 0, LGP_RNG_MIXUP);
        lgp_mixup_draw q;
        lgp_mixup_sample(&q, &c, 28, 28, &r);
        if (q.cutmix) {
            n_cut++;
            double area = (double)(q.y1 - q.y0) * (q.x1 - q.x0) / (28.0 * 28);
            if (fabs(1 - area - q.lam) > 1e-12) ok(0, "cutmix lam = 1 - box area");
        } else n_mix++;
        if (!q.cutmix) mean += q.lam;
    }
    ok(n_cut > 900 && n_cut < 1100, "cutmix chosen about half the time (%d of 2000)", n_cut);
    is_close(mean / n_mix, 0.5, 0, 0.03, "mixup lam averages 1/2 (symmetric Beta)");
    /* Beta(0.8, 0.8): mean 1/2, variance 1/(4 (2a + 1)) = 0.0962 */
    lgp_rng r;
    lgp_rng_init(&r, 5, 0, 0, 1);
    double m1 = 0, m2 = 0;
    for (int i = 0; i < 20000; i++) {
        double v = lgp_rng_beta(&r, 0.8, 0.8);
        m1 += v, m2 += v * v;
    }
    m1 /= 20000, m2 = m2 / 20000 - m1 * m1;
    is_close(m2, 1.0 / (4 * 2.6), 0.05, 0, "Beta(0.8, 0.8) variance %.4f", m2);
}

static void test_loss(void) {
    float z[2 * 3] = {1, 2, 3, 0, 0, 0}, t[2 * 3] = {0, 0, 1, 0.5, 0.5, 0}, dz[6];
    double l = lgp_soft_ce(z, t, dz, 2, 3, 1.0f);
    double lse = log(exp(1) + exp(2) + exp(3));
    is_close(l, ((lse - 3) + log(3.0)) / 2, 1e-6, 0, "soft cross-entropy");
    is_close(dz[2], (exp(3 - lse) - 1) / 2, 1e-6, 0, "its gradient");
    int64_t lab[2] = {2, 1}, t1 = 0, t5 = 0;
    lgp_topk_count(z, lab, 2, 3, &t1, &t5);
    ok(t1 == 1 && t5 == 2, "top-1 counts a tie for the lower index only (%lld)", (long long)t1);
}

static void test_droppath_draw(void) {
    lgp_ft_state s;
    make_state(&s, 0.5);
    lgp_ft_engine e;
    char err[256];
    LGP_ASSERT(lgp_ft_engine_init(&e, &s, 64, err, sizeof err) == LGP_OK);
    int64_t ep[64], idx[64];
    for (int b = 0; b < 64; b++) ep[b] = 0, idx[b] = b;
    lgp_ft_engine_draw_drop(&e, ep, idx, 64);
    int ones = 1, kept = 0;
    for (int i = 0; i < 2 * 64; i++) ones &= e.drop[i] == 1.0f; /* block 0: rate 0 */
    for (int i = 4 * 64; i < 6 * 64; i++) kept += e.drop[i] != 0; /* block 2: rate 0.5 */
    ok(ones, "block 0 never drops (timm's linspace starts at 0)");
    ok(kept > 40 && kept < 88, "the last block keeps about half (%d of 128)", kept);
    ok(e.drop[4 * 64] == 0 || e.drop[4 * 64] == 2.0f, "a kept branch is scaled by 1/keep");
    float first = e.drop[5 * 64 + 3];
    idx[0] = 1000; /* another sample in row 0 changes nothing for row 3 */
    lgp_ft_engine_draw_drop(&e, ep, idx, 64);
    ok(e.drop[5 * 64 + 3] == first, "a sample's draws depend on its own (epoch, index) only");
    lgp_ft_engine_free(&e);
    lgp_ft_state_free(&s);
}

/* ---- the PyTorch twin (tests/ref/ft_twin.py, tests/pipeline/t1100) ---- */
/* Two micro-batches of TW_B images (odd, so the middle sample is its own mirror), one
 * mixed by mixup, one by cutmix with a box across patch borders, each with its own drop
 * path draw at rate 0.5, gradients accumulated at loss scale 1/2 (lgp-finetune --accum 2),
 * then one AdamW step with the state's table (layer decay, no-wd rules, pos_embed fixed). */
#define TW_B 7
#define TW_F 12
#define TW_ACCUM 2

static void tw_put(lgp_record *r, const char *prefix, const char *name, int ndim, const int64_t *shape,
                   const float *d, size_t n) {
    char full[160];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    LGP_ASSERT(lgp_record_put(r, full, LGP_DT_F32, ndim, shape, d, n * 4, LGP_COPY) == LGP_OK);
}

/* Every tensor of the table (frozen too) under prefix + its name. */
static void tw_put_params(lgp_record *r, const char *prefix, const lgp_params *p, const float *buf, int skip_frozen) {
    for (size_t i = 0; i < p->count; i++) {
        const lgp_param *e = &p->entries[i];
        if (skip_frozen && (e->flags & LGP_PARAM_FROZEN)) continue;
        tw_put(r, prefix, e->name, e->ndim, e->shape, buf + e->offset, e->numel);
    }
}

/* A stage-2-like start for --tune-from-first-fc: the encoder of c (MAE init) with a
 * projector's first Linear "head.0.weight" [F, C] and the "model" metadata. */
static int tw_first_fc_init(const char *path, const lgp_vit_config *c, float *w0, char *err, size_t errlen) {
    lgp_vit_model m;
    if (lgp_vit_model_init(&m, c, 0, 5, err, errlen) != LGP_OK) return LGP_FATAL;
    lgp_record rec;
    lgp_record_init(&rec);
    tw_put_params(&rec, "", &m.params, m.params.data, 0);
    fill(w0, (size_t)TW_F * c->width, 13, 0.4);
    int64_t sh[2] = {TW_F, c->width};
    tw_put(&rec, "", "head.0.weight", 2, sh, w0, (size_t)TW_F * c->width);
    char cj[512], meta[700];
    lgp_vit_config_json(c, cj, sizeof cj);
    snprintf(meta, sizeof meta, "{\"stage\":\"moco\",\"model\":%s}", cj);
    int rc = lgp_ckpt_save(path, &rec, meta, NULL, err, errlen);
    lgp_record_free(&rec);
    lgp_vit_model_free(&m);
    return rc;
}

static int twin_write(const char *dir, const char *mode) {
    int first_fc = !strcmp(mode, "firstfc");
    if (!first_fc && strcmp(mode, "linear")) return fprintf(stderr, "test_finetune: mode linear or firstfc\n"), 2;
    lgp_vit_config c = tiny_cfg();
    int B = TW_B, K = TK, L = c.depth, S = c.img_size;
    lgp_ft_opts fo;
    lgp_ft_opts_init(&fo);
    fo.first_fc = first_fc, fo.num_classes = K, fo.drop_path = 0.5, fo.layer_decay = 0.75, fo.smoothing = 0.1;
    /* weight decay well above the recipe's 0.05, so that a tensor decayed or not shows
     * in the parameters after the step, not only in the table */
    lgp_adamw_hparams hp = {0.9f, 0.999f, 1e-8f, 0.3f};
    float lr = 1e-2f;
    char err[1024], path[4096];
    lgp_ft_state s;
    float w0[TW_F * 16];
    LGP_ASSERT(c.width == 16);
    if (first_fc) {
        snprintf(path, sizeof path, "%s/init.ckpt", dir);
        if (tw_first_fc_init(path, &c, w0, err, sizeof err) != LGP_OK) return fprintf(stderr, "test_finetune: %s\n", err), 1;
        if (lgp_ft_state_new(&s, path, NULL, NULL, NULL, &fo, 3, &hp, err, sizeof err) != LGP_OK)
            return fprintf(stderr, "test_finetune: %s\n", err), 1;
        if (s.fo.fc_dim != TW_F || memcmp(s.m.params.data + s.head.w0, w0, sizeof w0))
            return fprintf(stderr, "test_finetune: head.0.weight not copied from the start checkpoint (fc_dim %d)\n",
                           s.fo.fc_dim), 1;
    } else if (lgp_ft_state_new(&s, NULL, NULL, NULL, &c, &fo, 3, &hp, err, sizeof err) != LGP_OK) {
        return fprintf(stderr, "test_finetune: %s\n", err), 1;
    }
    /* every trainable weight off its init (the linear head's N(0, 2e-5) above all) */
    float *noise = lgp_floats_alloc(s.m.params.total);
    fill(noise, s.m.params.total, 7, 0.05);
    for (size_t i = 0; i < s.m.params.count; i++) {
        const lgp_param *e = &s.m.params.entries[i];
        if (e->flags & LGP_PARAM_FROZEN) continue;
        for (size_t j = 0; j < e->numel; j++) s.m.params.data[e->offset + j] += noise[e->offset + j];
    }
    lgp_record in, out;
    lgp_record_init(&in);
    lgp_record_init(&out);
    tw_put_params(&in, "", &s.m.params, s.m.params.data, 0);
    lgp_ft_engine e;
    LGP_ASSERT(lgp_ft_engine_init(&e, &s, B, err, sizeof err) == LGP_OK);
    /* micro-batch 0: mixup lam 0.3; 1: cutmix, rows [1, 6) x columns [3, 8) of 8 x 8 */
    lgp_mixup_draw draws[TW_ACCUM] = {{1, 0, 0.3, 0, 0, 0, 0}, {1, 1, 1.0 - 25.0 / 64, 1, 6, 3, 8}};
    size_t nx = (size_t)B * c.in_chans * S * S;
    float *x = malloc(nx * sizeof *x);
    double loss[TW_ACCUM];
    int dropped[TW_ACCUM] = {0, 0}, rc = 0;
    lgp_vit_zero_grad(&s.m);
    for (int k = 0; k < TW_ACCUM; k++) {
        int64_t lab[TW_B], ep[TW_B], idx[TW_B];
        for (int b = 0; b < B; b++) lab[b] = (b * (k + 2) + 1 + k) % K, ep[b] = k, idx[b] = 40 + 10 * k + b;
        fill(x, nx, 21 + (uint64_t)k, 1.5);
        lgp_ft_engine_draw_drop(&e, ep, idx, B);
        for (int i = 0; i < 2 * L * B; i++) dropped[k] += e.drop[i] == 0;
        char nm[32];
        int64_t xs[4] = {B, c.in_chans, S, S}, ds[2] = {2 * L, B}, bs[1] = {B}, bk[2] = {B, K}, one = 1;
        snprintf(nm, sizeof nm, "x%d", k);
        tw_put(&in, "", nm, 4, xs, x, nx);
        snprintf(nm, sizeof nm, "labels%d", k);
        LGP_ASSERT(lgp_record_put(&in, nm, LGP_DT_I64, 1, bs, lab, sizeof lab, LGP_COPY) == LGP_OK);
        snprintf(nm, sizeof nm, "drop%d", k);
        tw_put(&in, "", nm, 2, ds, e.drop, (size_t)2 * L * B);
        loss[k] = lgp_ft_engine_step(&e, x, lab, B, &draws[k], 1.0f / TW_ACCUM);
        float lf = (float)loss[k];
        snprintf(nm, sizeof nm, "loss%d", k);
        tw_put(&out, "", nm, 1, &one, &lf, 1);
        snprintf(nm, sizeof nm, "logits%d", k);
        tw_put(&out, "", nm, 2, bk, e.logits, (size_t)B * K);
        snprintf(nm, sizeof nm, "target%d", k);
        tw_put(&out, "", nm, 2, bk, e.target, (size_t)B * K);
        snprintf(nm, sizeof nm, "xmix%d", k);
        tw_put(&out, "", nm, 4, xs, x, nx);
        if (k == 0) tw_put_params(&out, "grad0.", &s.m.params, s.m.grads, 1);
    }
    tw_put_params(&out, "grad.", &s.m.params, s.m.grads, 1);
    lgp_adamw_step(&s.opt, s.m.params.data, s.m.grads, lr);
    tw_put_params(&out, "after.", &s.m.params, s.m.params.data, 0);
    /* settings, and the C table's lr scales and no-wd set for the twin to judge */
    size_t cap = 1 << 16;
    char cj[512], *meta = malloc(cap);
    lgp_vit_config_json(&c, cj, sizeof cj);
    int n = snprintf(meta, cap,
                     "{\"config\":%s,\"mode\":\"%s\",\"B\":\"%d\",\"K\":\"%d\",\"F\":\"%d\",\"smoothing\":\"%.17g\","
                     "\"layer_decay\":\"%.17g\",\"drop_path\":\"%.17g\",\"lr\":\"%.17g\",\"beta1\":\"%.17g\","
                     "\"beta2\":\"%.17g\",\"eps\":\"%.17g\",\"weight_decay\":\"%.17g\",\"accum\":\"%d\"",
                     cj, mode, B, K, first_fc ? s.fo.fc_dim : 0, fo.smoothing, fo.layer_decay, fo.drop_path,
                     (double)lr, (double)hp.beta1, (double)hp.beta2, (double)hp.eps, (double)hp.weight_decay, TW_ACCUM);
    for (int k = 0; k < TW_ACCUM; k++) {
        const lgp_mixup_draw *d = &draws[k];
        n += snprintf(meta + n, cap - n, ",\"mix%d\":\"%d %d %.17g %d %d %d %d\"", k, d->mixed, d->cutmix, d->lam, d->y0,
                      d->y1, d->x0, d->x1);
    }
    n += snprintf(meta + n, cap - n, ",\"c_lr_scale\":{");
    for (size_t i = 0; i < s.m.params.count; i++) {
        const lgp_param *p = &s.m.params.entries[i];
        n += snprintf(meta + n, cap - n, "%s\"%s\":\"%.9g %d %d\"", i ? "," : "", p->name, (double)p->lr_scale,
                      !!(p->flags & LGP_PARAM_NO_WD), !!(p->flags & LGP_PARAM_FROZEN));
    }
    snprintf(meta + n, cap - n, "}}");
    snprintf(path, sizeof path, "%s/in.safetensors", dir);
    rc = lgp_st_save(path, &in, meta, err, sizeof err);
    snprintf(path, sizeof path, "%s/c.safetensors", dir);
    if (rc == LGP_OK) rc = lgp_st_save(path, &out, NULL, err, sizeof err);
    if (rc != LGP_OK) fprintf(stderr, "test_finetune: %s\n", err);
    printf("twin %s: C losses %.7f %.7f, branches dropped %d and %d of %d\n", mode, loss[0], loss[1], dropped[0],
           dropped[1], 2 * L * B);
    if (rc == LGP_OK && (!dropped[0] || !dropped[1]))
        rc = (fprintf(stderr, "test_finetune: a micro-batch without a dropped branch tests no drop path\n"), LGP_FATAL);
    lgp_record_free(&in);
    lgp_record_free(&out);
    lgp_ft_engine_free(&e);
    free(x), free(meta), free(noise);
    lgp_ft_state_free(&s);
    return rc == LGP_OK ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--twin-write") == 0) return twin_write(argv[2], argv[3]);
    test_table();
    test_mixup();
    test_loss();
    test_droppath_draw();
    lgp_mixup_draw none = {0, 0, 1.0, 0, 0, 0, 0}, mix = {1, 0, 0.3, 0, 0, 0, 0}, cut = {1, 1, 0.75, 2, 6, 0, 4};
    test_fd("plain", 0.0, &none);
    test_fd("drop path 0.5 + mixup", 0.5, &mix);
    test_fd("drop path 0.5 + cutmix", 0.5, &cut);
    return done_testing();
}
