/* test_augment.c — augmentation ops and sampling.
 * golden: each single op on small RGB and grey images against tests/ref/pil_golden.py
 *         (PIL/torchvision arithmetic; we expect byte equality, fail above max 1 level);
 * statistics: over 4000 draws, RandomResizedCrop area fraction and log-aspect means and
 *         quantiles vs the configured uniform distributions (tolerance ~4 standard
 *         errors), flip 0.5 and per-view jitter/grayscale/blur/solarize rates;
 * determinism: same (seed, epoch, index) -> same bytes, another seed or index -> other;
 * finetune: each RandAugment op on hand-computed cases and against the timm/PIL twin
 *         tests/ref/randaug_golden.py (whole views too), the draws' rates and their
 *         independence from the other settings, and RandomErasing. */
#include "common/data/augment.h"
#include "common/lgp.h"
#include "common/util/rng.h"
#include "tests/unit/tap.h"

#include <stdint.h>
#include <unistd.h>

static const char *golden_script(const char *name) {
    static char path[4096];
    const char *dir = getenv("LGP_SRCDIR");
    snprintf(path, sizeof path, "%s/tests/ref/%s", dir ? dir : ".", name);
    return access(path, R_OK) == 0 && access("/usr/bin/python3", X_OK) == 0 ? path : NULL;
}
static int golden_run(const char *name, const char *op, const uint8_t *img, int h, int w, int c,
                      const char *args, uint8_t *out, size_t n) {
    const char *script = golden_script(name);
    if (!script) return -1;
    char tin[] = "/tmp/lgp-golden-in.XXXXXX", tout[] = "/tmp/lgp-golden-out.XXXXXX", cmd[8192];
    int fi = mkstemp(tin), fo = mkstemp(tout);
    if (fi < 0 || fo < 0) return -1;
    int rc = write(fi, img, (size_t)h * w * c) == (ssize_t)((size_t)h * w * c) ? 0 : -1;
    close(fi);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %d %d %d %s %s %s", script, op, h, w, c,
             tin, tout, args);
    if (rc == 0 && system(cmd) != 0) rc = -1;
    if (rc == 0 && read(fo, out, n) != (ssize_t)n) rc = -1;
    close(fo);
    unlink(tin);
    unlink(tout);
    return rc;
}
static int golden(const char *op, const uint8_t *img, int h, int w, int c, const char *args,
                  uint8_t *out, size_t n) {
    return golden_run("pil_golden.py", op, img, h, w, c, args, out, n);
}
static void make_image(uint8_t *img /* [h, w, c] */, int h, int w, int c, uint64_t seed) {
    lgp_rng r;
    lgp_rng_init(&r, seed, 0, 0, 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < c; ch++) {
                double v = 127.5 + 100 * sin(0.31 * x + 0.17 * y * (ch + 1)) + 40 * (lgp_rng_uniform(&r) - 0.5);
                if ((x / 7 + y / 5) % 3 == 0) v = (x * 13 + ch * 70) % 256; /* hard edges */
                img[((size_t)y * w + x) * c + ch] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
}

static void max_mean(const uint8_t *a, const uint8_t *b, size_t n, int *maxd, double *mean) {
    long s = 0;
    *maxd = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs(a[i] - b[i]);
        s += d;
        if (d > *maxd) *maxd = d;
    }
    *mean = (double)s / n;
}

/* op applied by C (which selects the function) vs PIL on the same image. */
static void golden_op(const char *op, double arg, int h, int w, int c) {
    static uint8_t src[64 * 64 * 3], got[64 * 64 * 3], want[64 * 64 * 3];
    size_t n = (size_t)h * w * c, npx = (size_t)h * w;
    make_image(src, h, w, c, (uint64_t)(h * 7 + c));
    memcpy(got, src, n);
    if (!strcmp(op, "brightness")) lgp_aug_brightness(got, npx, c, arg);
    else if (!strcmp(op, "contrast")) lgp_aug_contrast(got, npx, c, arg);
    else if (!strcmp(op, "saturation")) lgp_aug_saturation(got, npx, c, arg);
    else if (!strcmp(op, "hue")) lgp_aug_hue(got, npx, c, arg);
    else if (!strcmp(op, "grayscale")) lgp_aug_grayscale(got, npx, c);
    else if (!strcmp(op, "blur")) lgp_aug_blur(got, h, w, c, arg);
    else if (!strcmp(op, "solarize")) lgp_aug_solarize(got, npx, c);
    char args[64];
    snprintf(args, sizeof args, "%.17g", arg);
    if (golden(op, src, h, w, c, args, want, n) != 0) {
        ok(1, "# SKIP %s: no /usr/bin/python3 or pil_golden.py (set LGP_SRCDIR)", op);
        return;
    }
    int maxd;
    double mean;
    max_mean(got, want, n, &maxd, &mean);
    ok(maxd <= 1 && mean < 0.01, "%s(%g) on %dx%dx%d vs PIL: max %d mean %.4f", op, arg, w, h, c, maxd, mean);
}

static void test_golden(void) {
    const double bf[] = {0.6, 1.0, 1.37}, hf[] = {-0.1, -0.037, 0.05, 0.1}, sg[] = {0.1, 0.5, 1.0, 1.7, 2.0};
    for (int c = 1; c <= 3; c += 2) {
        for (int i = 0; i < 3; i++) {
            golden_op("brightness", bf[i], 23, 31, c);
            golden_op("contrast", bf[i], 23, 31, c);
        }
        for (size_t i = 0; i < LGP_ARRAY_LEN(sg); i++) golden_op("blur", sg[i], 40, 33, c);
        golden_op("blur", 1.5, 3, 5, c); /* image narrower than the box */
        golden_op("solarize", 0, 23, 31, c);
    }
    for (int i = 0; i < 3; i++) golden_op("saturation", bf[i] - 0.4, 23, 31, 3);
    for (size_t i = 0; i < LGP_ARRAY_LEN(hf); i++) golden_op("hue", hf[i], 29, 31, 3);
    golden_op("grayscale", 0, 23, 31, 3);
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Accepted crops of torchvision's sampler are the uniform (area, log-aspect) draws
 * restricted to those that fit (10 rejections in a row are ~1e-6 here). The expected
 * means come from a quadrature over that region: an independent reference. */
static void expected_crop_means(int H, int W, const double sc[2], double l1, double *ma, double *ml) {
    double sa = 0, sl = 0, sw = 0;
    for (int i = 0; i < 800; i++)
        for (int j = 0; j < 800; j++) {
            double a = sc[0] + (sc[1] - sc[0]) * (i + 0.5) / 800, la = -l1 + 2 * l1 * (j + 0.5) / 800;
            double t = a * H * W;
            if (nearbyint(sqrt(t * exp(la))) > W || nearbyint(sqrt(t / exp(la))) > H) continue;
            sa += a, sl += la, sw += 1;
        }
    *ma = sa / sw;
    *ml = sl / sw;
}

static void crop_stats(int H, int W, double s0, double s1, int uniform) {
    enum { N = 4000 };
    static double area[N], lasp[N];
    const double scale[2] = {s0, s1}, ratio[2] = {3.0 / 4, 4.0 / 3}, l1 = log(4.0 / 3);
    int outside = 0;
    double ma = 0, ml = 0;
    for (int i = 0; i < N; i++) {
        lgp_rng r;
        lgp_rng_init(&r, 7, 0, (uint64_t)i, LGP_RNG_AUGMENT);
        int x, y, w, h;
        lgp_aug_sample_crop(&x, &y, &w, &h, H, W, scale, ratio, &r);
        outside += x < 0 || y < 0 || x + w > W || y + h > H;
        area[i] = (double)w * h / ((double)H * W);
        lasp[i] = log((double)w / h);
        ma += area[i] / N, ml += lasp[i] / N;
    }
    is_int(outside, 0, "%dx%d scale (%g, %g): all crops inside the image", W, H, s0, s1);
    double ea, el;
    expected_crop_means(H, W, scale, l1, &ea, &el);
    /* 4 standard errors of a uniform, plus the integer rounding of w and h */
    double se_a = (s1 - s0) / sqrt(12.0 * N), se_l = 2 * l1 / sqrt(12.0 * N);
    is_close(ma, ea, 0, 4 * se_a + 0.003, "%dx%d crop area mean %.4f ~ %.4f", W, H, ma, ea);
    is_close(ml, el, 0, 4 * se_l + 0.003, "%dx%d crop log-aspect mean %.4f ~ %.4f", W, H, ml, el);
    if (!uniform) return;
    qsort(area, N, sizeof(double), cmp_d);
    qsort(lasp, N, sizeof(double), cmp_d);
    const double q[] = {0.1, 0.25, 0.5, 0.75, 0.9};
    for (int k = 0; k < 5; k++) {
        double a = area[(int)(q[k] * N)], l = lasp[(int)(q[k] * N)];
        is_close(a, s0 + (s1 - s0) * q[k], 0, 0.02, "area quantile %.2f: %.4f", q[k], a);
        is_close(l, -l1 + 2 * l1 * q[k], 0, 0.025, "log-aspect quantile %.2f: %.4f", q[k], l);
    }
}

static void test_crop_stats(void) {
    /* square image, scale <= 3/4: every first draw fits, so the accepted draws are
     * exactly U(scale) x logU(ratio) and the quantiles are known in closed form */
    crop_stats(400, 400, 0.08, 0.75, 1);
    crop_stats(375, 500, 0.2, 1.0, 0);  /* MAE on an ImageNet-shaped image */
    crop_stats(375, 500, 0.08, 1.0, 0); /* MoCo */
    lgp_rng r;
    lgp_rng_init(&r, 1, 0, 0, 0);
    int x, y, w, h;
    const double sc1[2] = {1.0, 1.0}, ratio[2] = {3.0 / 4, 4.0 / 3};
    lgp_aug_sample_crop(&x, &y, &w, &h, 100, 400, sc1, ratio, &r);
    ok(x == 133 && y == 0 && w == 133 && h == 100, "fallback centre crop of 400x100: %d,%d %dx%d", x, y, w, h);
}

static void test_rates(void) {
    enum { N = 4000 };
    lgp_recipe rc;
    lgp_recipe_init(&rc, "moco", 224);
    int flip[2] = {0}, jit[2] = {0}, gray[2] = {0}, blur[2] = {0}, sol[2] = {0}, sig_bad = 0;
    double sig_mean = 0, fmean[4] = {0};
    for (int i = 0; i < N; i++) {
        lgp_view_params p[2];
        lgp_augment_sample(p, &rc, 375, 500, 3, 0, (uint64_t)i);
        for (int v = 0; v < 2; v++) {
            flip[v] += p[v].flip, jit[v] += p[v].jitter, gray[v] += p[v].gray;
            blur[v] += p[v].blur, sol[v] += p[v].solarize;
            sig_bad += p[v].sigma < 0.1 || p[v].sigma > 2.0;
            sig_mean += p[v].sigma / (2 * N);
            sig_bad += p[v].bright_f < 0.6 || p[v].bright_f > 1.4 || p[v].sat_f < 0.8 || p[v].sat_f > 1.2;
            sig_bad += p[v].hue_f < -0.1 || p[v].hue_f > 0.1;
            fmean[0] += p[v].bright_f / (2 * N), fmean[1] += p[v].contrast_f / (2 * N);
            fmean[2] += p[v].sat_f / (2 * N), fmean[3] += p[v].hue_f / (2 * N);
        }
    }
    const double want[2][5] = {{0.5, 0.8, 0.2, 1.0, 0.0}, {0.5, 0.8, 0.2, 0.1, 0.2}};
    for (int v = 0; v < 2; v++) {
        int *cnt[5] = {flip, jit, gray, blur, sol};
        const char *nm[5] = {"flip", "jitter", "grayscale", "blur", "solarize"};
        for (int k = 0; k < 5; k++) {
            double rate = (double)cnt[k][v] / N, pw = want[v][k], se = sqrt(pw * (1 - pw) / N);
            is_close(rate, pw, 0, 4 * se + 1e-9, "view%d %s rate %.4f ~ %.2f", v, nm[k], rate, pw);
        }
    }
    is_int(sig_bad, 0, "sigma and jitter factors inside their ranges");
    is_close(sig_mean, 1.05, 0, 0.03, "blur sigma mean %.4f ~ 1.05", sig_mean);
    is_close(fmean[0], 1.0, 0, 0.01, "brightness factor mean %.4f ~ 1", fmean[0]);
    is_close(fmean[1], 1.0, 0, 0.01, "contrast factor mean %.4f ~ 1", fmean[1]);
    is_close(fmean[2], 1.0, 0, 0.005, "saturation factor mean %.4f ~ 1", fmean[2]);
    is_close(fmean[3], 0.0, 0, 0.003, "hue factor mean %.4f ~ 0", fmean[3]);
}

/* Whole views (random draws included) against the PIL twin of the op chain. */
static void test_views_golden(void) {
    static uint8_t src[60 * 64 * 3], got[48 * 48 * 3], want[48 * 48 * 3];
    int H = 60, W = 64;
    for (int c = 1; c <= 3; c += 2) {
        make_image(src, H, W, c, 11);
        lgp_recipe rc;
        lgp_recipe_init(&rc, "moco", 48);
        rc.view[1].gray_p = 0.5; /* exercise more branches in few samples */
        rc.view[1].solarize_p = 0.5;
        int worst = 0, checked = 0;
        for (int i = 0; i < 12; i++) {
            lgp_view_params p[2];
            lgp_augment_sample(p, &rc, H, W, 5, 1, (uint64_t)i);
            for (int v = 0; v < 2; v++) {
                const lgp_view_params *q = &p[v];
                lgp_augment_view(got, src, (size_t)W * c, H, W, c, &rc, v, q);
                char args[512];
                snprintf(args, sizeof args, "%d %d %d %d 48 %s %d %d %d %d %d %.17g %.17g %.17g %.17g %d %d %.17g %d %d",
                         q->x, q->y, q->w, q->h, lgp_filter_name(rc.view[v].interp), q->jitter, q->order[0],
                         q->order[1], q->order[2], q->order[3], q->bright_f, q->contrast_f, q->sat_f, q->hue_f,
                         q->gray, q->blur, q->sigma, q->solarize, q->flip);
                if (golden("view", src, H, W, c, args, want, sizeof(uint8_t) * 48 * 48 * c) != 0) {
                    ok(1, "# SKIP views: no python");
                    return;
                }
                int m;
                double mean;
                max_mean(got, want, (size_t)48 * 48 * c, &m, &mean);
                if (m > worst) worst = m;
                if (m > 1) printf("# sample %d view %d c %d: max %d mean %.4f\n", i, v, c, m, mean);
                checked++;
            }
        }
        ok(worst <= 1, "%d moco views (c=%d) vs PIL chain: worst max diff %d", checked, c, worst);
        lgp_recipe_init(&rc, "eval", 32);
        lgp_view_params p[2];
        lgp_augment_sample(p, &rc, H, W, 0, 0, 0);
        lgp_augment_view(got, src, (size_t)W * c, H, W, c, &rc, 0, &p[0]);
        if (golden("eval", src, H, W, c, "32 0.875 bilinear", want, (size_t)32 * 32 * c) == 0) {
            int m;
            double mean;
            max_mean(got, want, (size_t)32 * 32 * c, &m, &mean);
            ok(m <= 1 && mean < 0.01, "eval view (c=%d) vs Resize(36)+CenterCrop(32): max %d mean %.4f", c, m, mean);
        }
    }
}

static void test_determinism(void) {
    static uint8_t src[50 * 70 * 3];
    make_image(src, 50, 70, 3, 3);
    lgp_recipe rc;
    lgp_recipe_init(&rc, "moco", 32);
    uint8_t a[32 * 32 * 3], b[32 * 32 * 3];
    lgp_view_params p[2], q[2];
    lgp_augment_sample(p, &rc, 50, 70, 42, 3, 17);
    lgp_augment_sample(q, &rc, 50, 70, 42, 3, 17);
    lgp_augment_view(a, src, 70 * 3, 50, 70, 3, &rc, 1, &p[1]);
    lgp_augment_view(b, src, 70 * 3, 50, 70, 3, &rc, 1, &q[1]);
    ok(memcmp(a, b, sizeof a) == 0 && memcmp(p, q, sizeof p) == 0, "same seed/epoch/index: same bytes");
    int diff_seed = 0, diff_idx = 0, diff_epoch = 0;
    for (int i = 0; i < 20; i++) {
        lgp_augment_sample(q, &rc, 50, 70, 43 + i, 3, 17);
        diff_seed += memcmp(p, q, sizeof p) != 0;
        lgp_augment_sample(q, &rc, 50, 70, 42, 3, 18 + i);
        diff_idx += memcmp(p, q, sizeof p) != 0;
        lgp_augment_sample(q, &rc, 50, 70, 42, 4 + i, 17);
        diff_epoch += memcmp(p, q, sizeof p) != 0;
    }
    ok(diff_seed == 20 && diff_idx == 20 && diff_epoch == 20, "other seed/index/epoch: other draws (%d %d %d of 20)",
       diff_seed, diff_idx, diff_epoch);
}

static void test_record(void) {
    static uint8_t img[40 * 30 * 3];
    make_image(img, 40, 30, 3, 1);
    lgp_record rec;
    lgp_record_init(&rec);
    int64_t shape[3] = {40, 30, 3};
    lgp_record_set_key(&rec, "k0");
    lgp_record_put(&rec, "image", LGP_DT_U8, 3, shape, img, sizeof img, LGP_COPY);
    lgp_record_put_i64(&rec, "label", 7);
    lgp_recipe rc;
    lgp_recipe_init(&rc, "moco", 16);
    char err[256] = "";
    is_int(lgp_augment_record(&rec, &rc, 1, 0, 5, 0, err, sizeof err), LGP_OK, "record augmented %s", err);
    const lgp_tensor *v1 = lgp_record_get(&rec, "view1"), *c0 = lgp_record_get(&rec, "crop0");
    ok(v1 && v1->ndim == 3 && v1->shape[0] == 16 && v1->shape[2] == 3, "view1 u8 [16, 16, 3]");
    ok(c0 && c0->dtype == LGP_DT_F32 && c0->shape[0] == 5, "crop0 f32 [5]");
    ok(!lgp_record_get(&rec, "image"), "image dropped");
    int64_t lab = 0;
    ok(lgp_tensor_get_int(lgp_record_get(&rec, "label"), &lab) == LGP_OK && lab == 7, "label passes through");
    lgp_record_clear(&rec);
    lgp_record_put_i64(&rec, "label", 7);
    is_int(lgp_augment_record(&rec, &rc, 1, 0, 5, 0, err, sizeof err), LGP_FATAL, "no image: a mismatch, fatal (%s)", err);
    lgp_record_free(&rec);
}

/* ---- finetune: RandAugment and RandomErasing ---- */

static void is_bytes(const uint8_t *got, const uint8_t *want, size_t n, const char *what) {
    int same = memcmp(got, want, n) == 0;
    ok(same, "%s", what);
    if (same) return;
    printf("#   got ");
    for (size_t i = 0; i < n && i < 16; i++) printf(" %d", got[i]);
    printf("\n#   want");
    for (size_t i = 0; i < n && i < 16; i++) printf(" %d", want[i]);
    printf("\n");
}

static void test_ra_lut_ops(void) {
    const uint8_t v[6] = {0, 1, 99, 100, 200, 255};
    uint8_t b[6];
    memcpy(b, v, 6), lgp_aug_invert(b, 6, 1);
    is_bytes(b, (const uint8_t[]){255, 254, 156, 155, 55, 0}, 6, "invert: 255 - v");
    const uint8_t pv[6] = {0x7f, 0xff, 0x3f, 0x80, 0xc1, 0x10};
    memcpy(b, pv, 6), lgp_aug_posterize(b, 3, 2, 2);
    is_bytes(b, (const uint8_t[]){0x40, 0xc0, 0x00, 0x80, 0xc0, 0x00}, 6, "posterize 2 bits: mask 0xc0");
    memcpy(b, pv, 6), lgp_aug_posterize(b, 6, 1, 4);
    is_bytes(b, (const uint8_t[]){0x70, 0xf0, 0x30, 0x80, 0xc0, 0x10}, 6, "posterize 4 bits: mask 0xf0");
    memcpy(b, pv, 6), lgp_aug_posterize(b, 6, 1, 0);
    is_bytes(b, (const uint8_t[]){0, 0, 0, 0, 0, 0}, 6, "posterize 0 bits: black");
    memcpy(b, v, 6), lgp_aug_solarize_at(b, 6, 1, 100);
    is_bytes(b, (const uint8_t[]){0, 1, 99, 155, 55, 0}, 6, "solarize at 100: v >= 100 inverted");
    memcpy(b, v, 6), lgp_aug_solarize_at(b, 6, 1, 256);
    is_bytes(b, v, 6, "solarize at 256: identity");
    memcpy(b, v, 6), lgp_aug_solarize_add(b, 6, 1, 50, 128);
    is_bytes(b, (const uint8_t[]){50, 51, 149, 150, 200, 255}, 6, "solarize-add 50 below 128");
    memcpy(b, v, 6), lgp_aug_solarize_add(b, 6, 1, 200, 128);
    is_bytes(b, (const uint8_t[]){200, 201, 255, 255, 200, 255}, 6, "solarize-add clips at 255");
    /* timm's level rules through the dispatcher, magnitude 9: posterize keeps
     * 4 - int(3.6) = 1 bit, solarize at 256 - int(230.4) = 26, solarize-add int(99.0) */
    memcpy(b, v, 6), lgp_aug_randaug_op(b, 1, 6, 1, LGP_RA_POSTERIZE, 9, 0, NULL);
    is_bytes(b, (const uint8_t[]){0, 0, 0, 0, 128, 128}, 6, "PosterizeIncreasing m 9: 1 bit");
    memcpy(b, v, 6), lgp_aug_randaug_op(b, 1, 6, 1, LGP_RA_SOLARIZE, 9, 0, NULL);
    is_bytes(b, (const uint8_t[]){0, 1, 156, 155, 55, 0}, 6, "SolarizeIncreasing m 9: threshold 26");
    memcpy(b, v, 6), lgp_aug_randaug_op(b, 1, 6, 1, LGP_RA_SOLARIZE_ADD, 9, 1, NULL);
    is_bytes(b, (const uint8_t[]){99, 100, 198, 199, 200, 255}, 6, "SolarizeAdd m 9: + 99 below 128");
    memcpy(b, v, 6), lgp_aug_randaug_op(b, 1, 6, 1, LGP_RA_SOLARIZE, 0, 0, NULL);
    lgp_aug_randaug_op(b, 1, 6, 1, LGP_RA_SOLARIZE_ADD, 0, 0, NULL);
    is_bytes(b, v, 6, "magnitude 0: solarize and solarize-add are the identity");
    memcpy(b, v, 6), lgp_aug_randaug_op(b, 1, 6, 1, LGP_RA_POSTERIZE, 0, 0, NULL);
    is_bytes(b, (const uint8_t[]){0, 0, 96, 96, 192, 240}, 6, "PosterizeIncreasing m 0: still 4 bits");
    uint8_t h1[1] = {100};
    lgp_aug_randaug_op(h1, 1, 1, 1, LGP_RA_BRIGHTNESS, 5, 0, NULL);
    is_int(h1[0], 145, "BrightnessIncreasing m 5 +: factor 1.45");
    h1[0] = 100, lgp_aug_randaug_op(h1, 1, 1, 1, LGP_RA_BRIGHTNESS, 5, 1, NULL);
    is_int(h1[0], 55, "BrightnessIncreasing m 5 -: factor 0.55");
}

static void test_ra_histogram_ops(void) {
    /* autocontrast: channel 0 spans 10..61 (scale 5, exact), channel 1 is flat, channel
     * 2 already spans 0..255 */
    uint8_t a[4 * 3] = {10, 7, 0, 20, 7, 255, 61, 7, 3, 35, 7, 4};
    lgp_aug_autocontrast(a, 4, 3);
    is_bytes(a, (const uint8_t[]){0, 7, 0, 50, 7, 255, 255, 7, 3, 125, 7, 4}, 12,
             "autocontrast: [10, 61] -> [0, 255], flat and full channels kept");
    /* equalize, 1020 pixels: 510 x 50, 255 x 100, 255 x 200: step = (1020 - 255) / 255
     * = 3, lut = (1 + count below) / 3: 50 -> 0, 100 -> 511 / 3 = 170, 200 -> 255 */
    static uint8_t e[1020 * 3];
    for (int i = 0; i < 1020; i++) {
        e[i * 3] = i < 510 ? 50 : i < 765 ? 100 : 200;
        e[i * 3 + 1] = 9;                  /* one level: left alone */
        e[i * 3 + 2] = i < 1000 ? 10 : 30; /* step 1000 / 255 = 3: 10 -> 0, 30 -> 333 clipped */
    }
    lgp_aug_equalize(e, 1020, 3);
    int bad = 0;
    for (int i = 0; i < 1020; i++) {
        int w0 = i < 510 ? 0 : i < 765 ? 170 : 255, w2 = i < 1000 ? 0 : 255;
        bad += e[i * 3] != w0 || e[i * 3 + 1] != 9 || e[i * 3 + 2] != w2;
    }
    is_int(bad, 0, "equalize on a known histogram: 50, 100, 200 -> 0, 170, 255; one level kept; clip at 255");
    /* sharpness: SMOOTH spreads a 130 at the centre of a 5x5 into 130 * 5/13 = 50 and
     * 130 / 13 = 10 around it; factor 2 pushes back out: 50 + 2 * 80 = 210, 10 - 20 -> 0 */
    uint8_t s[25] = {0}, want[25] = {0};
    s[12] = 130;
    lgp_aug_sharpness(s, 5, 5, 1, 0.0);
    for (int y = 1; y <= 3; y++)
        for (int x = 1; x <= 3; x++) want[y * 5 + x] = 10;
    want[12] = 50;
    is_bytes(s, want, 25, "sharpness 0: SMOOTH of a one-hot pixel");
    memset(s, 0, sizeof s), memset(want, 0, sizeof want);
    s[12] = want[12] = 130;
    lgp_aug_sharpness(s, 5, 5, 1, 1.0);
    is_bytes(s, want, 25, "sharpness 1: identity");
    lgp_aug_sharpness(s, 5, 5, 1, 2.0);
    want[12] = 210;
    is_bytes(s, want, 25, "sharpness 2: centre 210, ring clipped to 0");
    memset(s, 0, sizeof s), memset(want, 0, sizeof want);
    s[2] = want[2] = 130; /* on the border: PIL copies border pixels */
    want[6] = want[7] = want[8] = 10;
    lgp_aug_sharpness(s, 5, 5, 1, 0.0);
    is_bytes(s, want, 25, "sharpness 0: border pixel kept, its inner neighbours smoothed");
}

static const uint8_t ra_fill[3] = {124, 116, 104};
enum { FILL_LUMA = 117 }; /* PIL convert("L") of (124, 116, 104) */

static void test_ra_translate(void) {
    enum { S = 20 };
    static uint8_t src[S * S * 3], img[S * S * 3];
    for (int c = 1; c <= 3; c += 2) {
        make_image(src, S, S, c, 21);
        /* magnitude 10: 0.45 of 20 = 9 whole pixels, so bicubic copies exactly */
        for (int neg = 0; neg < 2; neg++)
            for (int axis = 0; axis < 2; axis++) {
                memcpy(img, src, (size_t)S * S * c);
                lgp_aug_randaug_op(img, S, S, c, axis ? LGP_RA_TRANSLATE_Y : LGP_RA_TRANSLATE_X, 10, neg, ra_fill);
                int bad = 0, d = neg ? -9 : 9;
                for (int y = 0; y < S; y++)
                    for (int x = 0; x < S; x++)
                        for (int k = 0; k < c; k++) {
                            int sx = axis ? x : x + d, sy = axis ? y + d : y;
                            int in = sx >= 0 && sx < S && sy >= 0 && sy < S;
                            int want = in ? src[(sy * S + sx) * c + k] : c == 1 ? FILL_LUMA : ra_fill[k];
                            bad += img[(y * S + x) * c + k] != want;
                        }
                is_int(bad, 0, "Translate%sRel m 10 %s on %dx%dx%d: a %d-pixel shift, fill beyond", axis ? "Y" : "X",
                       neg ? "-" : "+", S, S, c, d);
            }
    }
}

static void test_ra_rotate_shear(void) {
    /* rotate 90: the pixel right of the centre of a 9x9 goes above it, exactly */
    uint8_t r[81] = {0}, want[81] = {0};
    r[4 * 9 + 6] = 200;
    want[2 * 9 + 4] = 200;
    lgp_aug_rotate(r, 9, 9, 1, 90, ra_fill);
    is_bytes(r, want, 81, "rotate 90 (counter-clockwise) of a one-hot pixel");
    /* RandAugment's largest rotation, +-30 degrees: the pixel at offset (6, 0) from the
     * centre of a 21x21 lands near (6 cos 30, -+6 sin 30) = (5.2, -+3) */
    for (int neg = 0; neg < 2; neg++) {
        static uint8_t q[21 * 21];
        memset(q, 0, sizeof q);
        q[10 * 21 + 16] = 250;
        lgp_aug_randaug_op(q, 21, 21, 1, LGP_RA_ROTATE, 10, neg, ra_fill);
        int best = 21 + 1;
        for (int y = 1; y < 20; y++)
            for (int x = 1; x < 20; x++)
                if (q[y * 21 + x] > q[best]) best = y * 21 + x;
        int wy = neg ? 13 : 7;
        ok(best == wy * 21 + 15 && q[best] > 150 && q[0] == FILL_LUMA,
           "Rotate m 10 %s: peak at (%d, %d) = %d, want (15, %d) > 150; corner filled (%d)", neg ? "-" : "+",
           best % 21, best / 21, q[best], wy, q[0]);
    }
    /* ShearX 0.3 of a flat 10x10: row y reads x + 0.3 (y + 0.5), so the last
     * 0,0,1,1,1,2,2,2,3,3 pixels of the rows (the first, sheared the other way) fill */
    static const int nfill[10] = {0, 0, 1, 1, 1, 2, 2, 2, 3, 3};
    for (int neg = 0; neg < 2; neg++)
        for (int axis = 0; axis < 2; axis++) {
            uint8_t f[100];
            memset(f, 200, sizeof f);
            lgp_aug_randaug_op(f, 10, 10, 1, axis ? LGP_RA_SHEAR_Y : LGP_RA_SHEAR_X, 10, neg, ra_fill);
            int bad = 0;
            for (int y = 0; y < 10; y++)
                for (int x = 0; x < 10; x++) {
                    int along = axis ? y : x, across = axis ? x : y;
                    int filled = neg ? along < nfill[across] : along >= 10 - nfill[across];
                    bad += f[y * 10 + x] != (filled ? FILL_LUMA : 200);
                }
            is_int(bad, 0, "Shear%s m 10 %s: fill count per line, flat image kept exactly", axis ? "Y" : "X",
                   neg ? "-" : "+");
        }
}

/* Each op through the dispatcher vs timm's op on PIL (tests/ref/randaug_golden.py),
 * all ops and magnitudes of one image in one call. */
static void test_ra_golden(void) {
    enum { H = 23, W = 31, K = 3 * LGP_RA_COUNT };
    static uint8_t src[H * W * 3], got[K][H * W * 3], want[K][H * W * 3];
    const double mags[3] = {4.3, 9.6, 10};
    int worst = 0;
    for (int c = 1; c <= 3; c += 2) {
        size_t bytes = (size_t)H * W * c;
        char args[4096];
        int len = 0;
        make_image(src, H, W, c, (uint64_t)(40 + c));
        for (int i = 0; i < K; i++) {
            lgp_ra_op op = (lgp_ra_op)(i / 3);
            int neg = i % 3 == 0;
            memcpy(got[i], src, bytes);
            lgp_aug_randaug_op(got[i], H, W, c, op, mags[i % 3], neg, ra_fill);
            len += snprintf(args + len, sizeof args - (size_t)len, " %s %.17g %d", lgp_aug_randaug_name(op),
                            mags[i % 3], neg);
        }
        if (golden_run("randaug_golden.py", "ra", src, H, W, c, args, &want[0][0], (size_t)K * bytes) != 0) {
            ok(1, "# SKIP RandAugment vs PIL: no /usr/bin/python3 or randaug_golden.py (set LGP_SRCDIR)");
            return;
        }
        for (int i = 0; i < K; i++) {
            int m;
            double mean;
            /* the twin writes the K results back to back, each H * W * c bytes */
            max_mean(got[i], &want[0][0] + (size_t)i * bytes, bytes, &m, &mean);
            if (m > 0)
                printf("# %s m %g neg %d, c %d: max %d mean %.4f\n", lgp_aug_randaug_name((lgp_ra_op)(i / 3)),
                       mags[i % 3], i % 3 == 0, c, m, mean);
            worst = m > worst ? m : worst;
        }
    }
    ok(worst <= 1, "%d RandAugment ops (15 ops x 3 magnitudes x 1/3 channels) vs timm on PIL: worst max diff %d",
       2 * K, worst);
}

/* Whole finetune views (erasing off: its noise is ours) vs crop + resize + flip + the
 * drawn ops in PIL. */
static void test_finetune_views_golden(void) {
    static uint8_t src[60 * 64 * 3], got[40 * 40 * 3], want[40 * 40 * 3];
    int H = 60, W = 64, S = 40, worst = 0, applied = 0;
    for (int c = 1; c <= 3; c += 2) {
        make_image(src, H, W, c, 12);
        lgp_recipe rc;
        lgp_recipe_init(&rc, "finetune", S);
        rc.view[0].ra_n = 3, rc.view[0].ra_p = 0.8, rc.view[0].erase_p = 0;
        for (int i = 0; i < 8; i++) {
            lgp_view_params p[2];
            lgp_augment_sample(p, &rc, H, W, 9, 2, (uint64_t)i);
            lgp_augment_view(got, src, (size_t)W * c, H, W, c, &rc, 0, &p[0]);
            char args[512];
            int len = snprintf(args, sizeof args, "%d %d %d %d %d %d", p[0].x, p[0].y, p[0].w, p[0].h, S, p[0].flip);
            for (int k = 0; k < p[0].n_ra; k++) {
                if (!p[0].ra[k].apply) continue;
                len += snprintf(args + len, sizeof args - (size_t)len, " %s %.17g %d",
                                lgp_aug_randaug_name((lgp_ra_op)p[0].ra[k].op), p[0].ra[k].m, p[0].ra[k].neg);
                applied++;
            }
            if (golden_run("randaug_golden.py", "ftview", src, H, W, c, args, want, (size_t)S * S * c) != 0) {
                ok(1, "# SKIP finetune views: no python");
                return;
            }
            int m;
            double mean;
            max_mean(got, want, (size_t)S * S * c, &m, &mean);
            if (m > 1) printf("# sample %d c %d (%s): max %d mean %.4f\n", i, c, args, m, mean);
            worst = m > worst ? m : worst;
        }
    }
    ok(worst <= 1, "16 finetune views (%d ops applied) vs PIL crop+resize+flip+ops: worst max diff %d", applied, worst);
}

/* The draws of each part come in a fixed order and count: changing one setting leaves
 * the draws of the others alone. */
static void test_finetune_draw_order(void) {
    lgp_recipe a, b;
    lgp_recipe_init(&a, "finetune", 32);
    int crop = 0, erase = 0, ra = 0, mags = 0, off = 0, n = 200;
    for (int i = 0; i < n; i++) {
        lgp_view_params p[2], q[2];
        lgp_augment_sample(p, &a, 50, 70, 4, 1, (uint64_t)i);
        for (int variant = 0; variant < 4; variant++) {
            b = a;
            if (variant == 0) b.view[0].ra_n = 0, b.view[0].ra_m = 0;
            if (variant == 1) b.view[0].ra_n = 5;
            if (variant == 2) b.view[0].erase_p = 0;
            if (variant == 3) b.view[0].ra_m = 3, b.view[0].ra_mstd = 2;
            lgp_augment_sample(q, &b, 50, 70, 4, 1, (uint64_t)i);
            crop += p[0].x != q[0].x || p[0].y != q[0].y || p[0].w != q[0].w || p[0].h != q[0].h ||
                    p[0].flip != q[0].flip;
            if (variant != 2)
                erase += p[0].erase != q[0].erase || p[0].ex != q[0].ex || p[0].ey != q[0].ey ||
                         p[0].ew != q[0].ew || p[0].eh != q[0].eh || p[0].noise_key != q[0].noise_key;
            else
                off += q[0].erase, erase += p[0].noise_key != q[0].noise_key;
            for (int k = 0; k < 2 && variant != 0; k++) {
                ra += p[0].ra[k].op != q[0].ra[k].op || p[0].ra[k].apply != q[0].ra[k].apply ||
                      p[0].ra[k].neg != q[0].ra[k].neg;
                if (variant == 3) mags += p[0].ra[k].m != q[0].ra[k].m;
                else ra += p[0].ra[k].m != q[0].ra[k].m;
            }
        }
    }
    is_int(crop, 0, "crop and flip draws do not move with --randaug, --randaug-mstd or --erase-p");
    is_int(erase, 0, "erasing draws do not move with --randaug or --randaug-mstd");
    is_int(ra, 0, "RandAugment op/apply/sign draws do not move with --erase-p, N or M");
    is_int(off, 0, "--erase-p 0 erases nothing");
    ok(mags > n, "another M and mstd give other magnitudes (%d of %d slots)", mags, 2 * n);
}

/* The low-resolution form: finetune at S <= 32 only, the given fields left alone,
 * and its views are the whole image (flipped or not). */
static void test_finetune_low_res(void) {
    lgp_recipe a, b;
    lgp_recipe_init(&a, "finetune", 33);
    is_int((int)lgp_recipe_finetune_low_res(&a, 0), 0, "finetune at 33 pixels: the ImageNet views");
    ok(a.view[0].scale[0] == 0.08 && a.view[0].ra_n == 2 && a.view[0].erase_p == 0.25 && !a.low_res, "... unchanged");
    lgp_recipe_init(&a, "mae", 28);
    is_int((int)lgp_recipe_finetune_low_res(&a, 0), 0, "mae at 28 pixels: untouched");
    lgp_recipe_init(&a, "finetune", 32);
    is_int((int)lgp_recipe_finetune_low_res(&a, 0), 15, "finetune at 32 pixels: all four fields set");
    ok(a.low_res && a.view[0].scale[0] == 1 && a.view[0].scale[1] == 1 && a.view[0].ratio[0] == 1 &&
           a.view[0].ratio[1] == 1 && a.view[0].ra_n == 0 && a.view[0].erase_p == 0 && a.view[0].flip_p == 0.5,
       "... whole image, flip 0.5, RandAugment and erasing off");
    lgp_recipe_init(&b, "finetune", 28);
    b.view[0].ra_n = 3, b.view[0].erase_p = 0.5, b.view[0].scale[0] = 0.5;
    is_int((int)lgp_recipe_finetune_low_res(&b, LGP_RECIPE_GIVEN_RANDAUG | LGP_RECIPE_GIVEN_ERASE |
                                                       LGP_RECIPE_GIVEN_SCALE),
           LGP_RECIPE_GIVEN_RATIO, "given fields kept: only the ratio set");
    ok(b.view[0].ra_n == 3 && b.view[0].erase_p == 0.5 && b.view[0].scale[0] == 0.5 && b.view[0].ratio[0] == 1,
       "... RandAugment, erasing and scale as given");
    lgp_recipe_init(&b, "finetune", 28);
    is_int((int)lgp_recipe_finetune_low_res(&b, 15), 0, "all given: nothing set, no low-res mark");
    ok(!b.low_res, "... low_res stays 0");
    int whole = 0, flips = 0, n = 400;
    for (int i = 0; i < n; i++) {
        lgp_view_params p[2];
        lgp_augment_sample(p, &a, 32, 32, 4, 1, (uint64_t)i);
        whole += p[0].x == 0 && p[0].y == 0 && p[0].w == 32 && p[0].h == 32;
        flips += p[0].flip;
    }
    is_int(whole, n, "low-res views crop the whole image");
    ok(flips > n / 2 - 60 && flips < n / 2 + 60, "... and flip about half of them (%d of %d)", flips, n);
}

static void test_finetune_rates(void) {
    enum { N = 8000 };
    lgp_recipe rc;
    lgp_recipe_init(&rc, "finetune", 32);
    int erased = 0, outside = 0, flips = 0, ops[LGP_RA_COUNT] = {0}, apply = 0, neg = 0, top = 0;
    double msum = 0, area = 0;
    for (int i = 0; i < N; i++) {
        lgp_view_params p[2];
        lgp_augment_sample(p, &rc, 60, 80, 11, 0, (uint64_t)i);
        flips += p[0].flip;
        if (p[0].erase) {
            erased++;
            outside += p[0].ex < 0 || p[0].ey < 0 || p[0].ew < 1 || p[0].eh < 1 || p[0].ex + p[0].ew > 32 ||
                       p[0].ey + p[0].eh > 32 || p[0].ew >= 32 || p[0].eh >= 32;
            area += p[0].ew * p[0].eh / (32.0 * 32.0);
        }
        for (int k = 0; k < p[0].n_ra; k++) {
            ops[p[0].ra[k].op]++, apply += p[0].ra[k].apply, neg += p[0].ra[k].neg;
            msum += p[0].ra[k].m, top += p[0].ra[k].m == 10;
        }
    }
    double rate = (double)erased / N, se = sqrt(0.25 * 0.75 / N);
    is_close(rate, 0.25, 0, 4 * se, "erasing rate %.4f ~ 0.25", rate);
    is_int(outside, 0, "erased boxes lie inside the 32x32 view, h and w < 32");
    area /= erased ? erased : 1;
    ok(area > 0.02 && area < 1.0 / 3, "mean erased area fraction %.3f inside (0.02, 1/3)", area);
    is_close((double)flips / N, 0.5, 0, 4 * sqrt(0.25 / N), "flip rate %.4f ~ 0.5", (double)flips / N);
    int slots = 2 * N, worst = 0;
    for (int o = 0; o < LGP_RA_COUNT; o++) {
        int d = abs(ops[o] - slots / LGP_RA_COUNT);
        worst = d > worst ? d : worst;
    }
    double se_op = sqrt(slots * (1.0 / 15) * (14.0 / 15));
    ok(worst < 4.5 * se_op, "op counts uniform over the 15 ops: worst |count - %d| = %d < %.0f",
       slots / LGP_RA_COUNT, worst, 4.5 * se_op);
    is_close((double)apply / slots, 0.5, 0, 4 * sqrt(0.25 / slots), "op apply rate %.4f ~ 0.5", (double)apply / slots);
    is_close((double)neg / slots, 0.5, 0, 4 * sqrt(0.25 / slots), "sign rate %.4f ~ 0.5", (double)neg / slots);
    /* E clip(N(9, 0.5), 0, 10) = 9 - (0.5 phi(2) - Phi(-2)) = 8.99576; P(m = 10) = Phi(-2) */
    is_close(msum / slots, 8.99576, 0, 4 * 0.5 / sqrt(slots), "magnitude mean %.4f ~ 8.9958", msum / slots);
    is_close((double)top / slots, 0.02275, 0, 4 * sqrt(0.02275 * 0.97725 / slots),
             "P(m clipped at 10) %.4f ~ 0.0228", (double)top / slots);
}

static void test_erase_fill(void) {
    enum { S = 40 };
    static uint8_t img[S * S * 3];
    memset(img, 0, sizeof img);
    lgp_aug_erase(img, S, S, 3, 4, 6, 30, 30, 0.5, 0.5, 77);
    int outside = 0, zeros = 0, full = 0;
    double mean = 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            for (int k = 0; k < 3; k++) {
                int v = img[(y * S + x) * 3 + k], in = x >= 4 && x < 34 && y >= 6 && y < 36;
                if (!in) outside += v != 0;
                else zeros += v == 0, full += v == 255, mean += v / 2700.0;
            }
    is_int(outside, 0, "erase touches only its box");
    is_close(mean, 127.5, 0, 4 * 0.7 * 127.5 / sqrt(2700), "erased noise mean %.2f ~ 127.5", mean);
    /* 255 (0.5 + 0.5 z) clamps for |z| > 1: P = Phi(-1) = 0.1587 at each end */
    double se = sqrt(0.1587 * 0.8413 / 2700);
    is_close(zeros / 2700.0, 0.1587, 0, 4 * se, "clamped to 0: %.4f ~ 0.1587", zeros / 2700.0);
    is_close(full / 2700.0, 0.1587, 0, 4 * se, "clamped to 255: %.4f ~ 0.1587", full / 2700.0);
    lgp_aug_erase(img, S, S, 3, 0, 0, 3, 3, 0.25, 0.0, 77);
    ok(img[0] == 64 && img[(2 * S + 2) * 3 + 2] == 64, "std 0: round(255 * 0.25) = 64 (%d)", img[0]);
}

static void test_finetune_record(void) {
    static uint8_t img[50 * 70 * 3];
    make_image(img, 50, 70, 3, 5);
    lgp_recipe rc;
    lgp_recipe_init(&rc, "finetune", 24);
    rc.view[0].erase_p = 1; /* every sample erased: the noise is part of what must repeat */
    uint8_t a[24 * 24 * 3], b[24 * 24 * 3];
    lgp_view_params p[2], q[2];
    int diff = 0;
    lgp_augment_sample(p, &rc, 50, 70, 42, 3, 17);
    lgp_augment_view(a, img, 70 * 3, 50, 70, 3, &rc, 0, &p[0]);
    lgp_augment_sample(q, &rc, 50, 70, 42, 3, 17);
    lgp_augment_view(b, img, 70 * 3, 50, 70, 3, &rc, 0, &q[0]);
    ok(memcmp(a, b, sizeof a) == 0 && memcmp(&p[0], &q[0], sizeof p[0]) == 0 && p[0].erase,
       "finetune: same seed/epoch/index, same bytes");
    for (int i = 0; i < 20; i++) {
        lgp_augment_sample(q, &rc, 50, 70, 42, 3, 18 + (uint64_t)i);
        lgp_augment_view(b, img, 70 * 3, 50, 70, 3, &rc, 0, &q[0]);
        diff += memcmp(a, b, sizeof a) != 0;
    }
    is_int(diff, 20, "finetune: other indices, other bytes");
    lgp_record rec;
    lgp_record_init(&rec);
    int64_t shape[3] = {50, 70, 3};
    lgp_record_set_key(&rec, "k9");
    lgp_record_put(&rec, "image", LGP_DT_U8, 3, shape, img, sizeof img, LGP_COPY);
    lgp_record_put_i64(&rec, "label", 4);
    char err[256] = "";
    is_int(lgp_augment_record(&rec, &rc, 1, 0, 5, 0, err, sizeof err), LGP_OK, "finetune record augmented %s", err);
    const lgp_tensor *v0 = lgp_record_get(&rec, "view0");
    ok(v0 && v0->ndim == 3 && v0->shape[0] == 24 && v0->shape[2] == 3 && !lgp_record_get(&rec, "view1") &&
           lgp_record_get(&rec, "crop0") && !lgp_record_get(&rec, "image"),
       "finetune: view0 u8 [24, 24, 3] and crop0 only, image dropped");
    int64_t lab = 0;
    ok(lgp_tensor_get_int(lgp_record_get(&rec, "label"), &lab) == LGP_OK && lab == 4, "finetune: label passes through");
    lgp_record_free(&rec);
}

int main(void) {
    test_golden();
    test_crop_stats();
    test_rates();
    test_views_golden();
    test_determinism();
    test_record();
    test_ra_lut_ops();
    test_ra_histogram_ops();
    test_ra_translate();
    test_ra_rotate_shear();
    test_ra_golden();
    test_finetune_views_golden();
    test_finetune_draw_order();
    test_finetune_low_res();
    test_finetune_rates();
    test_erase_fill();
    test_finetune_record();
    return done_testing();
}
