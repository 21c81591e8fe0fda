/* test_jpeg.c — JPEG/PNG decoding against the pixels that were encoded (libjpeg /
 * libpng encoders in the test), DCT scale choice, crop decode vs the same region of a
 * full decode, gray/RGB channel rules, and the error classes (empty, garbage,
 * truncated, too large). */
#include "formats/jpeg.h"
#include "common/lgp.h"
#include "tests/unit/tap.h"

#include <jpeglib.h>
#include <png.h>
#include <stdint.h>

/* A smooth test picture [h, w, c]. */
static uint8_t *picture(int w, int h, int c) {
    uint8_t *p = malloc((size_t)w * h * c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                p[((size_t)y * w + x) * c + k] = (uint8_t)(128 + 100 * sin(0.07 * x + 0.05 * y + k));
    return p;
}

static uint8_t *encode(const uint8_t *pix, int w, int h, int c, int q, int progressive, size_t *n) {
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    unsigned char *buf = NULL;
    unsigned long len = 0;
    jpeg_mem_dest(&ci, &buf, &len);
    ci.image_width = (JDIMENSION)w, ci.image_height = (JDIMENSION)h;
    ci.input_components = c;
    ci.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, q, TRUE);
    if (c == 3) ci.comp_info[0].h_samp_factor = ci.comp_info[0].v_samp_factor = 1; /* 4:4:4 */
    if (progressive) jpeg_simple_progression(&ci);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(pix + (size_t)ci.next_scanline * w * c);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    *n = len;
    return buf;
}

static double mae(const uint8_t *a, const uint8_t *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += fabs((double)a[i] - b[i]);
    return s / n;
}

static void test_roundtrip(void) {
    int w = 64, h = 48;
    uint8_t *pix = picture(w, h, 3);
    for (int prog = 0; prog < 2; prog++) {
        size_t n;
        uint8_t *j = encode(pix, w, h, 3, 95, prog, &n);
        lgp_image im;
        char err[256];
        lgp_decode_opts o = {.channels = 3};
        is_int(lgp_image_decode(j, n, &o, &im, err, sizeof err), LGP_OK, "%s decodes", prog ? "progressive" : "baseline");
        ok(im.w == w && im.h == h && im.c == 3 && im.scale_denom == 1, "full size [48, 64, 3]");
        double e = mae(im.pix, pix, (size_t)w * h * 3);
        ok(e < 2.0, "q95 4:4:4 mean abs error %.3f < 2", e);
        lgp_image_free(&im);
        free(j);
    }
    free(pix);
}

static void test_scale_and_crop(void) {
    int w = 160, h = 96;
    uint8_t *pix = picture(w, h, 3);
    size_t n;
    uint8_t *j = encode(pix, w, h, 3, 90, 0, &n);
    char err[256];
    lgp_image im, full, cr;
    lgp_decode_opts o = {.channels = 3, .min_short = 24};
    is_int(lgp_jpeg_decode(j, n, &o, &im, err, sizeof err), LGP_OK, "scaled decode");
    is_int(im.scale_denom, 4, "short side 96 -> 24 at 1/4 (1/8 would give 12 < 24)");
    ok(im.w == 40 && im.h == 24, "scaled size 40x24 (got %dx%d)", im.w, im.h);
    o.min_short = 25;
    lgp_image_free(&im);
    lgp_jpeg_decode(j, n, &o, &im, err, sizeof err);
    is_int(im.scale_denom, 2, "min_short 25 -> 1/2");
    lgp_image_free(&im);
    lgp_decode_opts f = {.channels = 3};
    lgp_jpeg_decode(j, n, &f, &full, err, sizeof err);
    int cx = 37, cy = 21, cw = 50, ch = 30;
    is_int(lgp_jpeg_decode_crop(j, n, &f, cx, cy, cw, ch, &cr, err, sizeof err), LGP_OK, "crop decode");
    ok(cr.w >= cw && cr.h == ch && cr.x1 - cr.x0 == cw && cr.y1 - cr.y0 == ch, "crop window %dx%d box %.0f..%.0f", cr.w, cr.h, cr.x0, cr.x1);
    int maxd = 0;
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw * 3; x++) {
            int a = cr.pix[((size_t)(y + (int)cr.y0) * cr.w) * 3 + (int)cr.x0 * 3 + x];
            int b = full.pix[((size_t)(y + cy) * w + cx) * 3 + x];
            if (abs(a - b) > maxd) maxd = abs(a - b);
        }
    ok(maxd <= 1, "crop pixels equal the full decode's region (max diff %d)", maxd);
    lgp_image_free(&cr);
    lgp_decode_opts s = {.channels = 3, .min_w = 12, .min_h = 8};
    is_int(lgp_jpeg_decode_crop(j, n, &s, cx, cy, cw, ch, &cr, err, sizeof err), LGP_OK, "scaled crop decode");
    is_int(cr.scale_denom, 4, "crop 50x30 to >= 12x8: 1/4 gives 13x8 (1/8 would give 7x4)");
    ok(fabs((cr.x1 - cr.x0) - cw * (double)40 / 160) < 1e-9, "box width scales with the decode");
    lgp_image_free(&cr);
    lgp_image_free(&full);
    free(j);
    free(pix);
}

static void test_gray_and_png(void) {
    int w = 20, h = 10;
    uint8_t *g = picture(w, h, 1);
    size_t n;
    uint8_t *j = encode(g, w, h, 1, 95, 0, &n);
    lgp_image im;
    char err[256];
    lgp_decode_opts rgb = {.channels = 3}, keep = {.channels = 0};
    lgp_image_decode(j, n, &rgb, &im, err, sizeof err);
    ok(im.c == 3 && im.pix[0] == im.pix[1] && im.pix[1] == im.pix[2], "gray JPEG -> RGB replicates");
    lgp_image_free(&im);
    lgp_image_decode(j, n, &keep, &im, err, sizeof err);
    is_int(im.c, 1, "channels 0 keeps gray");
    lgp_image_free(&im);
    free(j);
    /* PNG: lossless, so exact */
    uint8_t *p = picture(w, h, 3);
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION, pi.width = (png_uint_32)w, pi.height = (png_uint_32)h, pi.format = PNG_FORMAT_RGB;
    png_alloc_size_t len = 0;
    png_image_write_to_memory(&pi, NULL, &len, 0, p, 0, NULL);
    uint8_t *mem = malloc(len);
    png_image_write_to_memory(&pi, mem, &len, 0, p, 0, NULL);
    is_int(lgp_image_sniff(mem, len), LGP_IMG_PNG, "PNG sniffed by magic");
    is_int(lgp_image_decode(mem, len, &rgb, &im, err, sizeof err), LGP_OK, "PNG decodes");
    ok(im.w == w && im.h == h && memcmp(im.pix, p, (size_t)w * h * 3) == 0, "PNG pixels exact");
    lgp_image_free(&im);
    is_int(lgp_image_decode(mem, len / 2, &rgb, &im, err, sizeof err), LGP_BAD_RECORD, "truncated PNG");
    free(mem);
    free(p);
    free(g);
}

static void test_errors(void) {
    int w = 64, h = 48;
    uint8_t *pix = picture(w, h, 3);
    size_t n;
    uint8_t *j = encode(pix, w, h, 3, 90, 0, &n);
    lgp_image im;
    char err[256];
    lgp_decode_opts o = {.channels = 3};
    is_int(lgp_image_decode(j, n / 2, &o, &im, err, sizeof err), LGP_BAD_RECORD, "half a JPEG");
    is_str(err, "truncated JPEG", "message");
    ok(im.pix == NULL, "no pixels on failure");
    is_int(lgp_image_decode(j, 0, &o, &im, err, sizeof err), LGP_BAD_RECORD, "empty");
    is_str(err, "empty image", "message");
    const uint8_t junk[] = "GIF89a not a jpeg";
    is_int(lgp_image_decode(junk, sizeof junk, &o, &im, err, sizeof err), LGP_BAD_RECORD, "garbage");
    is_str(err, "not a JPEG", "message");
    is_int(lgp_image_decode(j, 40, &o, &im, err, sizeof err), LGP_BAD_RECORD, "header cut short");
    lgp_decode_opts cap = {.channels = 3, .max_pixels = 1000};
    is_int(lgp_image_decode(j, n, &cap, &im, err, sizeof err), LGP_BAD_RECORD, "over the pixel cap");
    is_str(err, "image too large (64x48, over 1000 pixels)", "message");
    int iw, ih, ic;
    is_int(lgp_image_info(j, n, &iw, &ih, &ic, err, sizeof err), LGP_OK, "info");
    ok(iw == 64 && ih == 48 && ic == 3, "info 64x48x3");
    free(j);
    free(pix);
}

int main(void) {
    test_roundtrip();
    test_scale_and_crop();
    test_gray_and_png();
    test_errors();
    return done_testing();
}
