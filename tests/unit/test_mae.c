/* test_mae.c — the full MAE loss: finite-difference gradient check on a tiny config
 * (a few elements of every trainable tensor), masking rules, determinism (same seed →
 * same bytes), gradient accumulation, and the PyTorch twin exchange.
 *
 * Without arguments it is a TAP unit test. The twin (tests/pipeline/t0500) runs
 *   test_mae --twin-write DIR   (writes DIR/in.safetensors: config, weights, images, masks)
 *   mae_twin.py DIR             (writes DIR/out.safetensors)
 *   test_mae --twin-check DIR   (recomputes in C and compares, TAP)
 * Finite differences are taken in float with eps 1e-2 on a loss accumulated in double;
 * the check is |fd - analytic| <= 2e-2 |analytic| + 2e-3 * gscale per element, gscale
 * the RMS of that tensor's gradient (float rounding in a 2-block model is ~1e-4 of the
 * loss, so smaller eps would measure noise). */
#include "common/nn/mae.h"
#include "common/nn/optim.h"
#include "common/util/rng.h"
#include "formats/safetensors.h"
#include "tap.h"

#include <stdint.h>

static lgp_vit_config tiny(void) {
    lgp_vit_config c = {8, 2, 2, 8, 2, 2, 2, 8, 1, 2, 1, 0.5f};
    return c;
}

static void fill_images(float *img, size_t n, uint64_t seed) {
    lgp_rng r;
    lgp_rng_init(&r, seed, 0, 0, 99);
    for (size_t i = 0; i < n; i++) img[i] = (float)(2.0 * lgp_rng_uniform(&r) - 1.0);
}

static double loss_at(lgp_mae *st, const float *img, int B, const uint8_t *masks) {
    float loss;
    char err[128];
    int rc = lgp_mae_forward(st, img, B, masks, 7, 3, NULL, &loss, err, sizeof err);
    LGP_ASSERT(rc == LGP_OK);
    return loss;
}

static void test_gradcheck(int use_masks) {
    lgp_vit_config c = tiny();
    lgp_vit_model m;
    lgp_mae st;
    char err[128];
    int B = 2, N = lgp_vit_num_patches(&c);
    is_int(lgp_vit_model_init(&m, &c, LGP_VIT_WITH_DECODER | LGP_VIT_WITH_GRADS, 11, err, sizeof err), LGP_OK, "tiny model init");
    is_int(lgp_mae_init(&st, &m, B, err, sizeof err), LGP_OK, "mae init");
    /* random biases / norms so that every path carries gradient; a larger cls token,
     * because LayerNorm of a 0.02-sized row is too curved for a 1e-2 step */
    lgp_rng r;
    lgp_rng_init(&r, 5, 0, 0, 0);
    for (size_t i = 0; i < m.params.count; i++) {
        lgp_param *e = &m.params.entries[i];
        if (e->ndim == 1 || strcmp(e->name, "cls_token") == 0)
            for (size_t k = 0; k < e->numel; k++) m.params.data[e->offset + k] += (float)(0.3 * lgp_rng_normal(&r));
    }
    size_t nimg = (size_t)B * c.in_chans * c.img_size * c.img_size;
    float *img = malloc(sizeof(float) * nimg);
    fill_images(img, nimg, 1);
    uint8_t masks[2 * 16];
    for (int b = 0; b < B; b++)
        for (int n = 0; n < N; n++) masks[b * N + n] = ((n * 7 + b * 3) % N) < N / 2; /* 8 visible */
    const uint8_t *mk = use_masks ? masks : NULL;
    lgp_vit_zero_grad(&m);
    float loss;
    lgp_mae_forward_backward(&st, img, B, mk, 7, 3, NULL, &loss, err, sizeof err);
    ok(loss > 0.1f && isfinite(loss), "loss %.4f finite and positive (%s masks)", loss, use_masks ? "given" : "random");
    int bad = 0, checked = 0;
    for (size_t i = 0; i < m.params.count; i++) {
        lgp_param *e = &m.params.entries[i];
        float *p = m.params.data + e->offset, *g = m.grads + e->offset;
        if (e->flags & LGP_PARAM_FROZEN) {
            int zero = 1;
            for (size_t k = 0; k < e->numel; k++) zero &= g[k] == 0.0f;
            ok(zero, "%s is frozen: gradient stays 0", e->name);
            continue;
        }
        double gs = 0;
        for (size_t k = 0; k < e->numel; k++) gs += (double)g[k] * g[k];
        gs = sqrt(gs / e->numel);
        int tbad = 0;
        double worst = 0;
        for (int s = 0; s < 3; s++) {
            size_t k = (size_t)(s * 7919 + i * 31) % e->numel;
            float keep = p[k], eps = 1e-2f;
            p[k] = keep + eps;
            double lp = loss_at(&st, img, B, mk);
            p[k] = keep - eps;
            double lm = loss_at(&st, img, B, mk);
            p[k] = keep;
            double fd = (lp - lm) / (2.0 * eps), an = g[k], d = fabs(fd - an);
            if (d > 2e-2 * fabs(an) + 2e-3 * gs) tbad++;
            if (getenv("FDV")) printf("# %s[%zu] fd %.6g an %.6g\n", e->name, k, fd, an);
            if (d > worst) worst = d;
            checked++;
        }
        if (tbad) printf("#   %s: worst |fd - analytic| %.3g, grad rms %.3g\n", e->name, worst, gs);
        bad += tbad;
    }
    ok(bad == 0, "finite differences match the backward for %d elements of every trainable tensor (%d off)", checked, bad);
    free(img);
    lgp_mae_free(&st);
    lgp_vit_model_free(&m);
}


static void test_masking_and_determinism(void) {
    lgp_vit_config c = tiny();
    int N = lgp_vit_num_patches(&c), K = lgp_vit_len_keep(&c), ids[64], ids2[64];
    float mk[64], mk2[64];
    lgp_mae_random_mask(ids, mk, N, K, 1, 2, 3);
    int nmask = 0, good = 1;
    for (int n = 0; n < N; n++) nmask += mk[n] == 1.0f;
    for (int j = 0; j < K; j++) good &= mk[ids[j]] == 0.0f;
    ok(nmask == N - K && good, "random mask removes N - len_keep = %d patches, keeps ids_keep", N - K);
    lgp_mae_random_mask(ids2, mk2, N, K, 1, 2, 3);
    ok(memcmp(ids, ids2, sizeof(int) * K) == 0, "same (seed, epoch, sample) gives the same mask");
    lgp_mae_random_mask(ids2, mk2, N, K, 1, 2, 4);
    ok(memcmp(mk, mk2, sizeof(float) * N) != 0, "another sample index gives another mask");

    char err[128];
    int B = 2;
    size_t nimg = (size_t)B * c.in_chans * c.img_size * c.img_size;
    float *img = malloc(sizeof(float) * nimg), l1, l2, l3;
    fill_images(img, nimg, 4);
    lgp_vit_model m1, m2;
    lgp_mae s1, s2;
    lgp_vit_model_init(&m1, &c, LGP_VIT_WITH_DECODER | LGP_VIT_WITH_GRADS, 9, err, sizeof err);
    lgp_vit_model_init(&m2, &c, LGP_VIT_WITH_DECODER | LGP_VIT_WITH_GRADS, 9, err, sizeof err);
    lgp_mae_init(&s1, &m1, B, err, sizeof err);
    lgp_mae_init(&s2, &m2, B, err, sizeof err);
    ok(memcmp(m1.params.data, m2.params.data, sizeof(float) * m1.params.total) == 0, "same seed, same initial weights (bytes)");
    uint64_t sid[2] = {100, 101};
    lgp_mae_forward_backward(&s1, img, B, NULL, 5, 1, sid, &l1, err, sizeof err);
    lgp_mae_forward_backward(&s2, img, B, NULL, 5, 1, sid, &l2, err, sizeof err);
    ok(memcmp(&l1, &l2, sizeof l1) == 0 && memcmp(m1.grads, m2.grads, sizeof(float) * m1.params.total) == 0,
       "same seed and inputs, same loss and gradient bytes");
    lgp_mae_forward(&s2, img, B, NULL, 5, 2, sid, &l3, err, sizeof err);
    ok(l3 != l1, "another epoch draws other masks (loss %.5f vs %.5f)", l3, l1);
    /* accumulation: two half batches with loss_scale 1/2 = the full batch (equal mask counts) */
    lgp_vit_zero_grad(&m2);
    s2.loss_scale = 0.5f;
    for (int b = 0; b < B; b++)
        lgp_mae_forward_backward(&s2, img + (size_t)b * nimg / B, 1, NULL, 5, 1, sid + b, &l2, err, sizeof err);
    double num = 0, den = 0;
    for (size_t i = 0; i < m1.params.total; i++)
        num += pow(m1.grads[i] - m2.grads[i], 2), den += pow(m1.grads[i], 2);
    ok(sqrt(num / den) < 1e-5, "two accumulated half batches give the full-batch gradient (rel %.2g)", sqrt(num / den));
    uint8_t bad[2 * 16] = {0};
    for (int n = 0; n < N; n++) bad[n] = n < N - K, bad[N + n] = n < N - K - 1;
    is_int(lgp_mae_forward(&s1, img, B, bad, 0, 0, NULL, &l1, err, sizeof err), LGP_BAD_RECORD,
           "masks showing different patch counts are refused (%s)", err);
    free(img);
    lgp_mae_free(&s1), lgp_mae_free(&s2), lgp_vit_model_free(&m1), lgp_vit_model_free(&m2);
}

/* ---- the PyTorch twin ---- */
#define TW_B 4
#define TW_STEPS 10
#define TW_SEED 42
#define TW_MASK_SEED 3
static const double tw_lr = 1e-3, tw_min_lr = 1e-5;
static const int tw_warmup = 3;

static lgp_vit_config twin_cfg(void) {
    lgp_vit_config c = {16, 4, 3, 48, 2, 3, 4, 32, 2, 4, 1, 0.75f};
    return c;
}

static int twin_write(const char *dir) {
    lgp_vit_config c = twin_cfg();
    lgp_vit_model m;
    char err[256], path[4096], meta[2048], cj[512];
    if (lgp_vit_model_init(&m, &c, LGP_VIT_WITH_DECODER, TW_SEED, err, sizeof err)) return 1;
    int N = lgp_vit_num_patches(&c), K = lgp_vit_len_keep(&c);
    lgp_record rec;
    lgp_record_init(&rec);
    for (size_t i = 0; i < m.params.count; i++) {
        lgp_param *e = &m.params.entries[i];
        lgp_record_put(&rec, e->name, LGP_DT_F32, e->ndim, e->shape, m.params.data + e->offset,
                       e->numel * sizeof(float), LGP_BORROW);
    }
    size_t nimg = (size_t)TW_B * c.in_chans * c.img_size * c.img_size;
    float *img = malloc(sizeof(float) * nimg), mk[256];
    fill_images(img, nimg, 2);
    int64_t ishape[4] = {TW_B, c.in_chans, c.img_size, c.img_size};
    lgp_record_put(&rec, "images", LGP_DT_F32, 4, ishape, img, nimg * sizeof(float), LGP_COPY);
    uint8_t *masks = malloc((size_t)TW_STEPS * TW_B * N);
    int32_t *ids = malloc(sizeof(int32_t) * TW_STEPS * TW_B * K);
    int idk[256];
    for (int s = 0; s < TW_STEPS; s++)
        for (int b = 0; b < TW_B; b++) { /* the same draws as the trainer: epoch = step */
            lgp_mae_random_mask(idk, mk, N, K, TW_MASK_SEED, (uint64_t)s, (uint64_t)b);
            for (int n = 0; n < N; n++) masks[((size_t)s * TW_B + b) * N + n] = mk[n] != 0.0f;
            for (int j = 0; j < K; j++) ids[((size_t)s * TW_B + b) * K + j] = idk[j];
        }
    int64_t mshape[3] = {TW_STEPS, TW_B, N}, kshape[3] = {TW_STEPS, TW_B, K};
    lgp_record_put(&rec, "masks", LGP_DT_U8, 3, mshape, masks, (size_t)TW_STEPS * TW_B * N, LGP_COPY);
    lgp_record_put(&rec, "ids_keep", LGP_DT_I32, 3, kshape, ids, sizeof(int32_t) * TW_STEPS * TW_B * K, LGP_COPY);
    lgp_vit_config_json(&c, cj, sizeof cj);
    snprintf(meta, sizeof meta,
             "{\"config\":%s,\"steps\":%d,\"base_lr\":%.17g,\"min_lr\":%.17g,\"warmup\":%d,"
             "\"weight_decay\":0.05,\"beta1\":0.9,\"beta2\":0.95,\"eps\":1e-8}",
             cj, TW_STEPS, tw_lr, tw_min_lr, tw_warmup);
    snprintf(path, sizeof path, "%s/in.safetensors", dir);
    int rc = lgp_st_save(path, &rec, meta, err, sizeof err);
    if (rc) fprintf(stderr, "test_mae: %s\n", err);
    lgp_record_free(&rec);
    free(img), free(masks), free(ids);
    lgp_vit_model_free(&m);
    return rc ? 1 : 0;
}

/* ||a - b|| / ||b|| */
static double nrel(const float *a, const float *b, size_t n) {
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < n; i++) num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), den += (double)b[i] * b[i];
    return sqrt(num / den);
}

static const float *twin_get(const lgp_record *r, const char *name, size_t numel) {
    const lgp_tensor *t = lgp_record_get(r, name);
    if (!t || t->dtype != LGP_DT_F32 || (size_t)lgp_tensor_numel(t) != numel) {
        ok(0, "twin output has %s (%zu floats)", name, numel);
        return NULL;
    }
    return t->data;
}

static int twin_check(const char *dir) {
    lgp_vit_config c = twin_cfg();
    lgp_vit_model m;
    lgp_mae st;
    lgp_adamw opt;
    lgp_adamw_hparams hp = LGP_ADAMW_MAE;
    char err[256], path[4096], name[128];
    lgp_record out;
    lgp_record_init(&out);
    snprintf(path, sizeof path, "%s/out.safetensors", dir);
    if (lgp_st_load(path, &out, NULL, err, sizeof err)) {
        ok(0, "load twin output: %s", err);
        return done_testing();
    }
    lgp_vit_model_init(&m, &c, LGP_VIT_WITH_DECODER | LGP_VIT_WITH_GRADS, TW_SEED, err, sizeof err);
    lgp_mae_init(&st, &m, TW_B, err, sizeof err);
    lgp_adamw_init(&opt, &m.params, &hp, err, sizeof err);
    int N = st.N, Q = st.Q;
    size_t nimg = (size_t)TW_B * c.in_chans * c.img_size * c.img_size;
    float *img = malloc(sizeof(float) * nimg), losses[TW_STEPS];
    fill_images(img, nimg, 2);
    const float *tl = twin_get(&out, "losses", TW_STEPS), *tlr = twin_get(&out, "lrs", TW_STEPS);
    for (int s = 0; s < TW_STEPS; s++) {
        lgp_vit_zero_grad(&m);
        lgp_mae_forward_backward(&st, img, TW_B, NULL, TW_MASK_SEED, (uint64_t)s, NULL, &losses[s], err, sizeof err);
        double lr = lgp_lr_schedule(s, TW_STEPS, tw_warmup, tw_lr, tw_min_lr);
        if (tlr) is_close(lr, tlr[s], 1e-6, 1e-12, "step %d lr %.6g matches the twin's schedule", s, lr);
        if (s == 0) {
            if (tl) is_close(losses[0], tl[0], 1e-5, 0, "initial loss %.7f vs torch %.7f", losses[0], tl[0]);
            const float *tp = twin_get(&out, "pred", (size_t)TW_B * N * Q);
            if (tp) { /* lgp predicts the masked patches only (mae.h): torch's others set to 0 */
                size_t n = (size_t)TW_B * N * Q;
                float *tpm = malloc(sizeof(float) * n);
                for (size_t i = 0; i < n; i++) tpm[i] = st.mask[i / Q] != 0.0f ? tp[i] : 0.0f;
                ok(nrel(st.pred, tpm, n) < 1e-5, "pred vs torch on the masked patches, 0 on the visible (rel %.2g)", nrel(st.pred, tpm, n));
                free(tpm);
            }
            double worst = 0;
            const char *wn = "";
            for (size_t i = 0; i < m.params.count; i++) {
                lgp_param *e = &m.params.entries[i];
                if (e->flags & LGP_PARAM_FROZEN) continue;
                snprintf(name, sizeof name, "grad.%s", e->name);
                const float *tg = twin_get(&out, name, e->numel);
                double r = tg ? nrel(m.grads + e->offset, tg, e->numel) : 1;
                if (r > worst) worst = r, wn = e->name;
                if (r >= 1e-4) ok(0, "gradient of %s vs torch (rel %.2g)", e->name, r);
            }
            ok(worst < 1e-4, "every parameter gradient matches torch (worst rel %.2g, %s)", worst, wn);
        }
        lgp_adamw_step(&opt, m.params.data, m.grads, (float)lr);
    }
    if (tl) {
        double r = 0;
        for (int s = 0; s < TW_STEPS; s++) r = fmax(r, fabs(losses[s] - tl[s]) / fabs(tl[s]));
        ok(r < 1e-4, "losses of %d AdamW steps match torch (worst rel %.2g; last %.6f vs %.6f)", TW_STEPS, r, losses[TW_STEPS - 1], tl[TW_STEPS - 1]);
    }
    double worst = 0, worst_upd = 0, worst_abs = 0;
    const char *wn = "";
    for (size_t i = 0; i < m.params.count; i++) {
        lgp_param *e = &m.params.entries[i];
        snprintf(name, sizeof name, "final.%s", e->name);
        const float *tw = twin_get(&out, name, e->numel);
        snprintf(name, sizeof name, "update.%s", e->name); /* torch's (final - initial) */
        const float *tu = twin_get(&out, name, e->numel);
        if (!tw || !tu) continue;
        /* The key third of qkv.bias has an exactly zero true gradient (softmax ignores a
         * per-row constant), so Adam turns float noise into +-lr steps in both codes;
         * those entries are left out of the comparison. */
        size_t C3 = e->numel / 3;
        int kbias = strstr(e->name, "attn.qkv.bias") != NULL;
        double num = 0, dw = 1e-30, du = 1e-30;
        for (size_t k = 0; k < e->numel; k++) {
            if (kbias && k >= C3 && k < 2 * C3) continue;
            double d = (double)m.params.data[e->offset + k] - tw[k];
            num += d * d, dw += (double)tw[k] * tw[k], du += (double)tu[k] * tu[k];
            worst_abs = fmax(worst_abs, fabs(d));
        }
        double r = sqrt(num / dw);
        if (r > worst) worst = r, wn = e->name;
        if (!(e->flags & LGP_PARAM_FROZEN)) worst_upd = fmax(worst_upd, sqrt(num / du));
    }
    ok(worst < 1e-4 && worst_abs < 1e-4, "weights after %d AdamW steps match torch (worst rel %.2g, %s; max abs %.2g)", TW_STEPS, worst, wn, worst_abs);
    ok(worst_upd < 1e-3, "the updates themselves agree (worst ||w_c - w_t|| / ||w_t - w_0|| = %.2g)", worst_upd);
    free(img);
    lgp_adamw_free(&opt);
    lgp_mae_free(&st);
    lgp_vit_model_free(&m);
    lgp_record_free(&out);
    return done_testing();
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--twin-write") == 0) return twin_write(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--twin-check") == 0) return twin_check(argv[2]);
    test_gradcheck(0);
    test_gradcheck(1);
    test_masking_and_determinism();
    return done_testing();
}
