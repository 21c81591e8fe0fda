/* test_augment.c — augmentation ops and sampling.
 * golden: each single op on small RGB and grey images against tests/ref/pil_golden.py
 *         (PIL/torchvision arithmetic; we expect byte equality, fail above max 1 level);
 * statistics: over 4000 draws, RandomResizedCrop area fraction and log-aspect means and
 *         quantiles vs the configured uniform distributions (tolerance ~4 standard
 *         errors), flip 0.5 and per-view jitter/grayscale/blur/solarize rates;
 * determinism: same (seed, epoch, index) -> same bytes, another seed or index -> other. */
#include "common/data/augment.h"
#include "common/lgp.h"
#include "common/util/rng.h"
#include "tests/unit/tap.h"

#include <stdint.h>
#include <unistd.h>

static const char *golden_script(void) {
    static char path[4096];
    const char *dir = getenv("LGP_SRCDIR");
    snprintf(path, sizeof path, "%s/tests/ref/pil_golden.py", dir ? dir : ".");
    return access(path, R_OK) == 0 && access("/usr/bin/python3", X_OK) == 0 ? path : NULL;
}
static int golden(const char *op, const uint8_t *img, int h, int w, int c, const char *args,
                  uint8_t *out, size_t n) {
    const char *script = golden_script();
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

int main(void) {
    test_golden();
    test_crop_stats();
    test_rates();
    test_views_golden();
    test_determinism();
    test_record();
    return done_testing();
}
