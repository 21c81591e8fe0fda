/* augment_randaug.c — the RandAugment ops (timm auto_augment.py over PIL) and the
 * RandomErasing fill, on u8 HWC images in place (see augment.h). The ImageEnhance ops
 * they share with ColorJitter live in augment.c. PIL is mirrored type for type (LUTs in
 * integers, the affine sampler in double with truncation) because the golden tests
 * compare bytes. */
#include "common/data/augment.h"

#include "common/lgp.h"
#include "common/util/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *ra_names[] = {
    "AutoContrast", "Equalize", "Invert", "Rotate", "PosterizeIncreasing", "SolarizeIncreasing",
    "SolarizeAdd", "ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing", "SharpnessIncreasing",
    "ShearX", "ShearY", "TranslateXRel", "TranslateYRel",
};
_Static_assert(LGP_ARRAY_LEN(ra_names) == LGP_RA_COUNT, "ra_names follows lgp_ra_op");

const char *lgp_aug_randaug_name(lgp_ra_op op) {
    return (unsigned)op < LGP_RA_COUNT ? ra_names[op] : "?";
}

/* ---- per-channel lookup tables (PIL Image.point) ---- */

/* lut: [c, 256]; channel k of every pixel goes through row min(k, rows - 1). */
static void apply_lut(uint8_t *img, size_t n_px, int c, const uint8_t *lut, int rows) {
    for (size_t i = 0; i < n_px; i++)
        for (int k = 0; k < c; k++) {
            uint8_t *v = img + i * c + k;
            *v = lut[(k < rows ? k : rows - 1) * 256 + *v];
        }
}

void lgp_aug_invert(uint8_t *img, size_t n_px, int c) {
    for (size_t i = 0; i < n_px * c; i++) img[i] = (uint8_t)(255 - img[i]);
}

/* ImageOps.posterize: keep the `bits` high bits (0 bits: black). */
void lgp_aug_posterize(uint8_t *img, size_t n_px, int c, int bits) {
    if (bits >= 8) return;
    uint8_t mask = bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
    for (size_t i = 0; i < n_px * c; i++) img[i] &= mask;
}

/* timm solarize_add: v < thresh -> min(255, v + add). */
void lgp_aug_solarize_add(uint8_t *img, size_t n_px, int c, int add, int thresh) {
    for (size_t i = 0; i < n_px * c; i++)
        if (img[i] < thresh) img[i] = (uint8_t)(img[i] + add > 255 ? 255 : img[i] + add);
}

/* hist: [c, 256] counts of each channel. */
static void histogram(uint64_t *hist, const uint8_t *img, size_t n_px, int c) {
    memset(hist, 0, sizeof(uint64_t) * 256 * (size_t)c);
    for (size_t i = 0; i < n_px; i++)
        for (int k = 0; k < c; k++) hist[k * 256 + img[i * c + k]]++;
}

/* ImageOps.autocontrast(cutoff=0): each channel's [lo, hi] stretched over [0, 255]
 * with double arithmetic and int() truncation; a flat channel is left alone. */
void lgp_aug_autocontrast(uint8_t *img, size_t n_px, int c) {
    uint64_t hist[4 * 256];
    uint8_t lut[4 * 256];
    LGP_ASSERT(c >= 1 && c <= 4);
    histogram(hist, img, n_px, c);
    for (int k = 0; k < c; k++) {
        const uint64_t *h = hist + k * 256;
        int lo = 0, hi = 255;
        while (lo < 255 && !h[lo]) lo++;
        while (hi > 0 && !h[hi]) hi--;
        double scale = hi > lo ? 255.0 / (hi - lo) : 0, offset = -lo * scale;
        for (int v = 0; v < 256; v++) {
            int o = hi > lo ? (int)(v * scale + offset) : v;
            lut[k * 256 + v] = (uint8_t)(o < 0 ? 0 : o > 255 ? 255 : o);
        }
    }
    apply_lut(img, n_px, c, lut, c);
}

/* ImageOps.equalize: step = (count - count of the last used level) // 255 and
 * level i -> (step // 2 + count below i) // step, in integers (clipped to 255 as
 * PIL's 8-bit point() does); a channel with one level or step 0 is left alone. */
void lgp_aug_equalize(uint8_t *img, size_t n_px, int c) {
    uint64_t hist[4 * 256];
    uint8_t lut[4 * 256];
    LGP_ASSERT(c >= 1 && c <= 4);
    histogram(hist, img, n_px, c);
    for (int k = 0; k < c; k++) {
        const uint64_t *h = hist + k * 256;
        uint64_t total = 0, last = 0;
        int used = 0;
        for (int v = 0; v < 256; v++)
            if (h[v]) total += h[v], last = h[v], used++;
        uint64_t step = used > 1 ? (total - last) / 255 : 0, n = step / 2;
        for (int v = 0; v < 256; v++) {
            uint64_t o = step ? n / step : (uint64_t)v;
            lut[k * 256 + v] = (uint8_t)(o > 255 ? 255 : o);
            n += h[v];
        }
    }
    apply_lut(img, n_px, c, lut, c);
}

/* ---- affine (PIL Geometry.c, bicubic) ---- */

/* PIL's BICUBIC macro: the a = -1 cubic through v1..v4 at d in [0, 1) past v2. */
static inline double cubic(double v1, double v2, double v3, double v4, double d) {
    double p1 = v2, p2 = -v1 + v3, p3 = 2 * (v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4;
    return p1 + d * (p2 + d * (p3 + d * p4));
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* PIL bicubic_filter8/32RGB at source point (xin, yin), 0 <= xin < w, 0 <= yin < h. */
static void sample_bicubic(uint8_t *out, const uint8_t *src, int h, int w, int c, double xin, double yin) {
    xin -= 0.5;
    yin -= 0.5;
    int x = (int)floor(xin), y = (int)floor(yin), xs[4], ys[4];
    double dx = xin - x, dy = yin - y;
    for (int k = 0; k < 4; k++) {
        xs[k] = clampi(x - 1 + k, 0, w - 1) * c;
        ys[k] = clampi(y - 1 + k, 0, h - 1);
    }
    for (int ch = 0; ch < c; ch++) {
        double rows[4];
        for (int k = 0; k < 4; k++) {
            const uint8_t *in = src + (size_t)ys[k] * w * c + ch;
            rows[k] = cubic(in[xs[0]], in[xs[1]], in[xs[2]], in[xs[3]], dx);
        }
        double v = cubic(rows[0], rows[1], rows[2], rows[3], dy);
        out[ch] = v <= 0.0 ? 0 : v >= 255.0 ? 255 : (uint8_t)v;
    }
}

/* PIL convert("L") of the fill (ITU-R 601-2 luma, 16-bit fixed point). */
static void fill_pixel(uint8_t *px, int c, const uint8_t fill[3]) {
    uint8_t g = (uint8_t)((fill[0] * 19595 + fill[1] * 38470 + fill[2] * 7471 + 0x8000) >> 16);
    for (int k = 0; k < c; k++) px[k] = c < 3 ? g : k < 3 ? fill[k] : 255;
}

int lgp_aug_affine(uint8_t *img, int h, int w, int c, const double a[6], const uint8_t fill[3]) {
    size_t n = (size_t)h * w * c;
    uint8_t fp[4];
    LGP_ASSERT(c >= 1 && c <= 4);
    fill_pixel(fp, c, fill);
    uint8_t *src = malloc(n);
    if (!src) return LGP_FATAL;
    memcpy(src, img, n);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double X = x + 0.5, Y = y + 0.5;
            double xin = a[0] * X + a[1] * Y + a[2], yin = a[3] * X + a[4] * Y + a[5];
            uint8_t *out = img + ((size_t)y * w + x) * c;
            if (xin < 0.0 || xin >= w || yin < 0.0 || yin >= h) {
                memcpy(out, fp, (size_t)c);
                continue;
            }
            sample_bicubic(out, src, h, w, c, xin, yin);
        }
    free(src);
    return LGP_OK;
}

/* Python round(v, 15), which Image.rotate applies to cos and sin. */
static double round15(double v) { return nearbyint(v * 1e15) / 1e15; }

int lgp_aug_rotate(uint8_t *img, int h, int w, int c, double degrees, const uint8_t fill[3]) {
    double deg = fmod(degrees, 360.0);
    if (deg < 0) deg += 360.0; /* Python's angle % 360.0 */
    if (deg == 0) return LGP_OK;
    double t = -(deg * (M_PI / 180.0)), cx = w / 2.0, cy = h / 2.0;
    double a[6] = {round15(cos(t)), round15(sin(t)), 0.0, round15(-sin(t)), round15(cos(t)), 0.0};
    a[2] = a[0] * -cx + a[1] * -cy + cx; /* inverse map about the centre */
    a[5] = a[3] * -cx + a[4] * -cy + cy;
    return lgp_aug_affine(img, h, w, c, a, fill);
}

/* ---- timm's op table ---- */

static int affine6(uint8_t *img, int h, int w, int c, double a1, double a2, double a3, double a5,
                   const uint8_t fill[3]) {
    const double a[6] = {1, a1, a2, a3, 1, a5};
    return lgp_aug_affine(img, h, w, c, a, fill);
}

int lgp_aug_randaug_op(uint8_t *img, int h, int w, int c, lgp_ra_op op, double m, int neg,
                       const uint8_t fill[3]) {
    size_t n_px = (size_t)h * w;
    double l = m / 10.0, sgn = neg ? -1.0 : 1.0;
    double enh = fmax(0.1, 1.0 + sgn * (l * 0.9)); /* _enhance_increasing_level_to_arg */
    switch (op) {
    case LGP_RA_AUTOCONTRAST: lgp_aug_autocontrast(img, n_px, c); return LGP_OK;
    case LGP_RA_EQUALIZE: lgp_aug_equalize(img, n_px, c); return LGP_OK;
    case LGP_RA_INVERT: lgp_aug_invert(img, n_px, c); return LGP_OK;
    case LGP_RA_ROTATE: return lgp_aug_rotate(img, h, w, c, sgn * (l * 30.0), fill);
    case LGP_RA_POSTERIZE: lgp_aug_posterize(img, n_px, c, 4 - (int)(l * 4)); return LGP_OK;
    case LGP_RA_SOLARIZE: lgp_aug_solarize_at(img, n_px, c, 256 - (int)(l * 256)); return LGP_OK;
    case LGP_RA_SOLARIZE_ADD: lgp_aug_solarize_add(img, n_px, c, (int)(l * 110), 128); return LGP_OK;
    case LGP_RA_COLOR: lgp_aug_saturation(img, n_px, c, enh); return LGP_OK;
    case LGP_RA_CONTRAST: lgp_aug_contrast(img, n_px, c, enh); return LGP_OK;
    case LGP_RA_BRIGHTNESS: lgp_aug_brightness(img, n_px, c, enh); return LGP_OK;
    case LGP_RA_SHARPNESS: return lgp_aug_sharpness(img, h, w, c, enh);
    case LGP_RA_SHEAR_X: return affine6(img, h, w, c, sgn * (l * 0.3), 0, 0, 0, fill);
    case LGP_RA_SHEAR_Y: return affine6(img, h, w, c, 0, 0, sgn * (l * 0.3), 0, fill);
    case LGP_RA_TRANSLATE_X: return affine6(img, h, w, c, 0, sgn * (l * 0.45) * w, 0, 0, fill);
    case LGP_RA_TRANSLATE_Y: return affine6(img, h, w, c, 0, 0, 0, sgn * (l * 0.45) * h, fill);
    default: LGP_ASSERT(!"unknown RandAugment op"); return LGP_FATAL;
    }
}

/* ---- RandomErasing ---- */

void lgp_aug_erase(uint8_t *img, int h, int w, int c, int x, int y, int bw, int bh, double mean,
                   double std, uint64_t key) {
    lgp_rng r;
    lgp_rng_init(&r, key, 0, 0, 0);
    LGP_ASSERT(x >= 0 && y >= 0 && x + bw <= w && y + bh <= h);
    for (int yy = y; yy < y + bh; yy++)
        for (int xx = x; xx < x + bw; xx++)
            for (int k = 0; k < c; k++) {
                double v = nearbyint(255.0 * (mean + std * lgp_rng_normal(&r)));
                img[((size_t)yy * w + xx) * c + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
}
