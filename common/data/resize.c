/* resize.c — Pillow's 8-bit resampling (libImaging/Resample.c) re-expressed for HWC
 * buffers: coefficients in double, normalised per output pixel, converted to 22-bit
 * fixed point, horizontal pass first into a u8 temporary holding only the rows the
 * vertical pass needs. See resize.h. */
#include "common/data/resize.h"

#include "common/lgp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS (32 - 8 - 2)

typedef struct {
    double (*fn)(double);
    double support;
    const char *name;
} filter_def;

static double box_filter(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

static double bilinear_filter(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double bicubic_filter(double x) {
    const double a = -0.5; /* PIL's (and torchvision-on-PIL's) bicubic */
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double sinc_filter(double x) {
    if (x == 0.0) return 1.0;
    x = x * M_PI;
    return sin(x) / x;
}

static double lanczos_filter(double x) {
    if (-3.0 <= x && x < 3.0) return sinc_filter(x) * sinc_filter(x / 3);
    return 0.0;
}

/* Indexed by lgp_filter; nearest has no kernel (PIL samples it by affine transform). */
static const filter_def filters[] = {
    {NULL, 0.0, "nearest"},
    {bilinear_filter, 1.0, "bilinear"},
    {bicubic_filter, 2.0, "bicubic"},
    {lanczos_filter, 3.0, "lanczos"},
    {box_filter, 0.5, "box"},
};
_Static_assert(LGP_ARRAY_LEN(filters) == LGP_FILTER_COUNT, "one filter_def per lgp_filter");

int lgp_filter_from_name(const char *s) {
    for (int i = 0; i < LGP_FILTER_COUNT; i++)
        if (strcmp(s, filters[i].name) == 0) return i;
    return -1;
}

const char *lgp_filter_name(lgp_filter f) {
    return (f >= 0 && f < LGP_FILTER_COUNT) ? filters[f].name : "?";
}

static inline uint8_t clip8(int v) {
    if (v >= (1 << PRECISION_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> PRECISION_BITS);
}

/* PIL precompute_coeffs + normalize_coeffs_8bpc. bounds: [out, 2] (first tap, taps);
 * *kk: [out, ksize] fixed-point weights (malloc'd). Returns ksize, or -1 on OOM. */
static int precompute_coeffs(int in_size, double in0, double in1, int out_size,
                             const filter_def *fd, int *bounds, int32_t **kk_out) {
    double scale = (in1 - in0) / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = fd->support * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    double *w = malloc(sizeof(double) * (size_t)ksize);
    int32_t *kk = calloc((size_t)out_size * (size_t)ksize, sizeof(int32_t));
    if (!w || !kk) {
        free(w);
        free(kk);
        return -1;
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = in0 + (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            w[x] = fd->fn((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? w[x] / ww : w[x];
            kk[(size_t)xx * ksize + x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS))
                                               : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        bounds[(size_t)xx * 2] = xmin;
        bounds[(size_t)xx * 2 + 1] = xmax;
    }
    free(w);
    *kk_out = kk;
    return ksize;
}

/* tmp: [rows, dw, c] <- src rows [row0, row0 + rows) filtered along x. */
LGP_HOT static void resample_horizontal(uint8_t *tmp, const uint8_t *src, size_t stride, int row0,
                                int rows, int c, int dw, int ksize, const int *bounds,
                                const int32_t *kk) {
    int acc[16];
    for (int y = 0; y < rows; y++) {
        const uint8_t *in = src + (size_t)(row0 + y) * stride;
        uint8_t *out = tmp + (size_t)y * dw * c;
        for (int xx = 0; xx < dw; xx++) {
            int xmin = bounds[(size_t)xx * 2], xmax = bounds[(size_t)xx * 2 + 1];
            const int32_t *k = kk + (size_t)xx * ksize;
            for (int ch = 0; ch < c; ch++) acc[ch] = 1 << (PRECISION_BITS - 1);
            const uint8_t *p = in + (size_t)xmin * c;
            for (int x = 0; x < xmax; x++, p += c)
                for (int ch = 0; ch < c; ch++) acc[ch] += p[ch] * k[x];
            for (int ch = 0; ch < c; ch++) out[(size_t)xx * c + ch] = clip8(acc[ch]);
        }
    }
}

/* dst: [dh, row] <- src rows filtered along y; bounds are relative to src's first row. */
LGP_HOT static int resample_vertical(uint8_t *dst, const uint8_t *src, size_t stride, size_t row,
                             int dh, int ksize, const int *bounds, const int32_t *kk) {
    int *acc = malloc(sizeof(int) * row);
    if (!acc) return LGP_FATAL;
    for (int yy = 0; yy < dh; yy++) {
        int ymin = bounds[(size_t)yy * 2], ymax = bounds[(size_t)yy * 2 + 1];
        const int32_t *k = kk + (size_t)yy * ksize;
        for (size_t i = 0; i < row; i++) acc[i] = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < ymax; y++) {
            const uint8_t *in = src + (size_t)(ymin + y) * stride;
            int32_t w = k[y];
            for (size_t i = 0; i < row; i++) acc[i] += in[i] * w;
        }
        uint8_t *out = dst + (size_t)yy * row;
        for (size_t i = 0; i < row; i++) out[i] = clip8(acc[i]);
    }
    free(acc);
    return LGP_OK;
}

/* PIL ImagingScaleAffine: source index floor(x0 + (x + 0.5) * scale), accumulated. */
static void resize_nearest(const uint8_t *src, size_t stride, int sh, int sw, int c, double x0,
                           double y0, double x1, double y1, uint8_t *dst, int dh, int dw) {
    double ax = (x1 - x0) / dw, ay = (y1 - y0) / dh;
    double yo = y0 + ay * 0.5;
    for (int y = 0; y < dh; y++, yo += ay) {
        int yin = yo < 0 ? 0 : (int)yo;
        if (yin >= sh) yin = sh - 1;
        double xo = x0 + ax * 0.5;
        for (int x = 0; x < dw; x++, xo += ax) {
            int xin = xo < 0 ? 0 : (int)xo;
            if (xin >= sw) xin = sw - 1;
            memcpy(dst + ((size_t)y * dw + x) * c, src + (size_t)yin * stride + (size_t)xin * c,
                   (size_t)c);
        }
    }
}

static int resize_two_pass(const uint8_t *src, size_t stride, int sh, int sw, int c, double x0,
                           double y0, double x1, double y1, uint8_t *dst, int dh, int dw,
                           const filter_def *fd) {
    int need_h = dw != sw || x0 != 0 || x1 != dw, need_v = dh != sh || y0 != 0 || y1 != dh;
    int *bh = malloc(sizeof(int) * 2 * (size_t)dw), *bv = malloc(sizeof(int) * 2 * (size_t)dh);
    int32_t *kh = NULL, *kv = NULL;
    uint8_t *tmp = NULL;
    int rc = LGP_FATAL;
    if (!bh || !bv) goto out;
    int ksh = precompute_coeffs(sw, x0, x1, dw, fd, bh, &kh);
    int ksv = precompute_coeffs(sh, y0, y1, dh, fd, bv, &kv);
    if (ksh < 0 || ksv < 0) goto out;
    const uint8_t *vin = src;
    size_t vstride = stride;
    if (need_h) {
        /* only the rows the vertical pass reads, as PIL does */
        int first = need_v ? bv[0] : 0;
        int last = need_v ? bv[(size_t)dh * 2 - 2] + bv[(size_t)dh * 2 - 1] : sh;
        if (need_v)
            for (int i = 0; i < dh; i++) bv[(size_t)i * 2] -= first;
        tmp = malloc((size_t)(last - first) * dw * c + 1);
        if (!tmp) goto out;
        uint8_t *hout = need_v ? tmp : dst;
        resample_horizontal(hout, src, stride, first, last - first, c, dw, ksh, bh, kh);
        vin = tmp;
        vstride = (size_t)dw * c;
    }
    if (need_v) {
        rc = resample_vertical(dst, vin, vstride, (size_t)dw * c, dh, ksv, bv, kv);
    } else {
        if (!need_h)
            for (int y = 0; y < dh; y++)
                memcpy(dst + (size_t)y * dw * c, src + (size_t)y * stride, (size_t)dw * c);
        rc = LGP_OK;
    }
out:
    free(bh);
    free(bv);
    free(kh);
    free(kv);
    free(tmp);
    return rc;
}

int lgp_resize_u8_strided(const uint8_t *src, size_t src_stride, int sh, int sw, int c,
                          double x0, double y0, double x1, double y1, uint8_t *dst, int dh,
                          int dw, lgp_filter f) {
    if (!src || !dst || sh <= 0 || sw <= 0 || dh <= 0 || dw <= 0 || c <= 0 || c > 16)
        return LGP_FATAL;
    if (src_stride < (size_t)sw * c || f < 0 || f >= LGP_FILTER_COUNT) return LGP_FATAL;
    if (!(x0 >= 0 && y0 >= 0 && x1 <= sw && y1 <= sh && x1 > x0 && y1 > y0)) return LGP_FATAL;
    if (f == LGP_FILTER_NEAREST) {
        resize_nearest(src, src_stride, sh, sw, c, x0, y0, x1, y1, dst, dh, dw);
        return LGP_OK;
    }
    return resize_two_pass(src, src_stride, sh, sw, c, x0, y0, x1, y1, dst, dh, dw, &filters[f]);
}

int lgp_resize_u8(const uint8_t *src, int sh, int sw, int c, double x0, double y0, double x1,
                  double y1, uint8_t *dst, int dh, int dw, lgp_filter f) {
    return lgp_resize_u8_strided(src, (size_t)sw * c, sh, sw, c, x0, y0, x1, y1, dst, dh, dw, f);
}
