/* fuzz_jpeg.c — libFuzzer target: JPEG/PNG decoding from memory (formats/jpeg.h): the
 * header probe, the full decode with DCT scaling, the crop decode and the pixel cap.
 * The input is the encoded image itself (so real files are seeds); the options and the
 * crop are derived from a hash of the bytes, so every input also exercises one scaled,
 * one gray and one cropped decode.
 * Checked: a successful decode has the shape the options promise (channels, the size
 * of the scaled image, the crop rectangle inside the returned pixels) and never a source
 * over the pixel cap; failures leave the image empty and say why. */
#include "formats/jpeg.h"

#include "common/lgp.h"

#include <stdint.h>
#include <string.h>

#define CAP ((int64_t)1 << 18) /* keeps each run fast; the cap logic is the same */

static uint64_t hash(const uint8_t *d, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ d[i]) * 1099511628211ull;
    return h;
}

static void check_failed(int rc, const lgp_image *im, const char *err) {
    LGP_ASSERT(rc == LGP_BAD_RECORD || rc == LGP_FATAL);
    LGP_ASSERT(im->pix == NULL && err[0]);
}

/* Full decode with options o: shape checks against the header probe. */
static void full(const uint8_t *data, size_t size, const lgp_decode_opts *o, int iw, int ih, int ic) {
    char err[256] = "";
    lgp_image im;
    int rc = lgp_image_decode(data, size, o, &im, err, sizeof err);
    if (rc != LGP_OK) { check_failed(rc, &im, err); return; }
    LGP_ASSERT(im.pix && im.src_w == iw && im.src_h == ih);
    LGP_ASSERT((int64_t)im.src_w * im.src_h <= (o->max_pixels ? o->max_pixels : LGP_IMAGE_MAX_PIXELS));
    int d = im.scale_denom;
    LGP_ASSERT(d == 1 || d == 2 || d == 4 || d == 8);
    LGP_ASSERT(im.w == (im.src_w + d - 1) / d && im.h == (im.src_h + d - 1) / d);
    LGP_ASSERT(im.c == (o->channels ? o->channels : ic));
    volatile uint8_t s = im.pix[(size_t)im.h * im.w * im.c - 1]; /* whole buffer is there */
    (void)s;
    lgp_image_free(&im);
}

static void crop(const uint8_t *data, size_t size, const lgp_decode_opts *o, uint64_t h, int iw, int ih) {
    /* a crop anywhere around the image, partly outside now and then */
    int cx = (int)(h % (uint64_t)(iw + 8)) - 4, cy = (int)((h >> 16) % (uint64_t)(ih + 8)) - 4;
    int cw = 1 + (int)((h >> 32) % (uint64_t)iw), ch = 1 + (int)((h >> 48) % (uint64_t)ih);
    char err[256] = "";
    lgp_image im;
    int rc = lgp_jpeg_decode_crop(data, size, o, cx, cy, cw, ch, &im, err, sizeof err);
    if (rc != LGP_OK) { check_failed(rc, &im, err); return; }
    LGP_ASSERT(im.pix && im.w >= 1 && im.h >= 1);
    LGP_ASSERT(im.x0 >= 0 && im.y0 >= 0 && im.x0 < im.x1 && im.y0 < im.y1);
    LGP_ASSERT(im.x1 <= im.w + 1e-9 && im.y1 <= im.h + 1e-9);
    volatile uint8_t s = im.pix[(size_t)im.h * im.w * im.c - 1];
    (void)s;
    lgp_image_free(&im);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    char err[256] = "";
    int iw = 0, ih = 0, ic = 0;
    if (lgp_image_info(data, size, &iw, &ih, &ic, err, sizeof err) != LGP_OK || iw <= 0 || ih <= 0) {
        lgp_image im;
        lgp_decode_opts o = {.channels = 3, .max_pixels = CAP};
        int rc = lgp_image_decode(data, size, &o, &im, err, sizeof err);
        if (rc == LGP_OK) lgp_image_free(&im); /* info and decode may disagree on damaged files */
        return 0;
    }
    LGP_ASSERT(ic == 1 || ic == 3);
    uint64_t h = hash(data, size);
    lgp_decode_opts o1 = {.channels = 3, .max_pixels = CAP};
    full(data, size, &o1, iw, ih, ic);
    lgp_decode_opts o2 = {.channels = (int)(h >> 60) % 2, .min_short = (int)(h >> 40) % 64,
                          .max_pixels = CAP};
    full(data, size, &o2, iw, ih, ic);
    /* the cap: a source over max_pixels must be refused before decoding */
    lgp_decode_opts o3 = {.channels = 1, .max_pixels = (int64_t)iw * ih - 1};
    if (o3.max_pixels > 0) {
        lgp_image im;
        int rc = lgp_image_decode(data, size, &o3, &im, err, sizeof err);
        LGP_ASSERT(rc != LGP_OK && im.pix == NULL);
    }
    if (lgp_image_sniff(data, size) == LGP_IMG_JPEG) {
        lgp_decode_opts o4 = {.channels = (int)(h >> 8) % 4 == 3 ? 1 : 3, .min_w = (int)(h >> 24) % 32,
                              .min_h = (int)(h >> 28) % 32, .max_pixels = CAP};
        crop(data, size, &o4, h, iw, ih);
    }
    return 0;
}
