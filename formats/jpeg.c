/* jpeg.c — JPEG (libjpeg-turbo) and PNG (libpng) decoding from memory (see jpeg.h). */
#include "jpeg.h"

#include "common/lgp.h"

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libjpeg state: error_exit longjmps back here; everything allocated lives in the
 * struct so that the longjmp path can free it. */
typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
    int warnings, truncated;
    struct jpeg_decompress_struct cinfo;
    uint8_t *pix;  /* output [h, w, c] */
    uint8_t *row;  /* one CMYK scanline [w, 4] */
    int cx, cy, cw, ch; /* crop in full-resolution pixels (kept here: setjmp-safe) */
} jdec;

static void on_error(j_common_ptr ci) {
    jdec *d = (jdec *)ci->err;
    ci->err->format_message(ci, d->msg);
    longjmp(d->jb, 1);
}

/* Quiet: count warnings; premature end of data is an error (PIL refuses it too). */
static void on_message(j_common_ptr ci, int level) {
    jdec *d = (jdec *)ci->err;
    if (level >= 0) return; /* trace messages */
    d->warnings++;
    if (ci->err->msg_code == JWRN_JPEG_EOF) {
        d->truncated = 1;
        longjmp(d->jb, 1);
    }
}

lgp_image_format lgp_image_sniff(const uint8_t *data, size_t n) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return LGP_IMG_JPEG;
    if (n >= 8 && memcmp(data, png_sig, 8) == 0) return LGP_IMG_PNG;
    return LGP_IMG_UNKNOWN;
}

void lgp_image_free(lgp_image *im) {
    free(im->pix);
    memset(im, 0, sizeof *im);
}

static int64_t cap_of(const lgp_decode_opts *o) { return o && o->max_pixels > 0 ? o->max_pixels : LGP_IMAGE_MAX_PIXELS; }

/* Largest denominator d in {8, 4, 2} keeping ceil(w/d), ceil(h/d) above every bound. */
static int pick_denom(int w, int h, int min_short, int min_w, int min_h) {
    if (min_short <= 0 && min_w <= 0 && min_h <= 0) return 1;
    for (int d = 8; d > 1; d /= 2) {
        int sw = (w + d - 1) / d, sh = (h + d - 1) / d;
        if ((sw < sh ? sw : sh) >= min_short && sw >= min_w && sh >= min_h) return d;
    }
    return 1;
}

/* Header, colour set-up and scale; the caller has done setjmp. */
static int jpeg_setup(jdec *d, const uint8_t *data, size_t n, const lgp_decode_opts *o,
                      int crop_w, int crop_h, lgp_image *out, char *err, size_t errlen) {
    struct jpeg_decompress_struct *ci = &d->cinfo;
    jpeg_mem_src(ci, data, (unsigned long)n);
    jpeg_read_header(ci, TRUE);
    out->src_w = (int)ci->image_width;
    out->src_h = (int)ci->image_height;
    if ((int64_t)ci->image_width * ci->image_height > cap_of(o)) {
        snprintf(err, errlen, "image too large (%ux%u, over %lld pixels)", ci->image_width,
                 ci->image_height, (long long)cap_of(o));
        return LGP_BAD_RECORD;
    }
    int want = o ? o->channels : 3;
    int gray_src = ci->jpeg_color_space == JCS_GRAYSCALE;
    int cmyk = ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK;
    if (cmyk) ci->out_color_space = JCS_CMYK;
    else if (want == 1 || (want == 0 && gray_src)) ci->out_color_space = JCS_GRAYSCALE;
    else ci->out_color_space = JCS_RGB;
    out->c = want == 1 || (want == 0 && gray_src) ? 1 : 3;
    int cw = crop_w > 0 ? crop_w : out->src_w, chh = crop_h > 0 ? crop_h : out->src_h;
    int dn = pick_denom(cw, chh, o ? o->min_short : 0, o ? o->min_w : 0, o ? o->min_h : 0);
    ci->scale_num = 1;
    ci->scale_denom = (unsigned)dn;
    out->scale_denom = dn;
    return LGP_OK;
}

/* Converts one decoded scanline to the output layout (CMYK -> RGB or gray). */
static void put_row(const jdec *d, const uint8_t *cmyk, uint8_t *dst, int w, int c) {
    int inv = d->cinfo.saw_Adobe_marker; /* Adobe stores 255 - ink */
    for (int x = 0; x < w; x++) {
        const uint8_t *p = cmyk + 4 * x;
        int k = inv ? p[3] : 255 - p[3], rgb[3];
        for (int j = 0; j < 3; j++) rgb[j] = ((inv ? p[j] : 255 - p[j]) * k + 127) / 255;
        if (c == 3) for (int j = 0; j < 3; j++) dst[3 * x + j] = (uint8_t)rgb[j];
        else dst[x] = (uint8_t)((rgb[0] * 299 + rgb[1] * 587 + rgb[2] * 114 + 500) / 1000);
    }
}

/* Reads nrows scanlines into d->pix (already sized [nrows, ow, c]). */
static void read_rows(jdec *d, int nrows, int c) {
    struct jpeg_decompress_struct *ci = &d->cinfo;
    int w = (int)ci->output_width;
    int cmyk = ci->out_color_space == JCS_CMYK;
    for (int y = 0; y < nrows; y++) {
        uint8_t *dst = d->pix + (size_t)y * w * c;
        JSAMPROW rp = cmyk ? d->row : dst;
        if (jpeg_read_scanlines(ci, &rp, 1) != 1) {
            d->truncated = 1;
            longjmp(d->jb, 1);
        }
        if (cmyk) put_row(d, d->row, dst, w, c);
    }
}

static int alloc_out(jdec *d, int h, int w, int c, char *err, size_t errlen) {
    d->pix = malloc((size_t)h * w * c + 1);
    d->row = d->cinfo.out_color_space == JCS_CMYK ? malloc((size_t)d->cinfo.output_width * 4 + 1) : NULL;
    if (!d->pix || (d->cinfo.out_color_space == JCS_CMYK && !d->row)) {
        snprintf(err, errlen, "out of memory (%dx%d image)", w, h);
        return LGP_FATAL;
    }
    return LGP_OK;
}

static int fail(jdec *d, lgp_image *out, int rc, char *err, size_t errlen) {
    if (rc == LGP_BAD_RECORD && d->truncated) snprintf(err, errlen, "truncated JPEG");
    else if (rc == LGP_BAD_RECORD && d->msg[0]) snprintf(err, errlen, "JPEG: %s", d->msg);
    jpeg_destroy_decompress(&d->cinfo);
    free(d->pix);
    free(d->row);
    memset(out, 0, sizeof *out);
    return rc;
}

static int check_jpeg(const uint8_t *data, size_t n, char *err, size_t errlen) {
    if (n == 0) { snprintf(err, errlen, "empty image"); return LGP_BAD_RECORD; }
    if (lgp_image_sniff(data, n) != LGP_IMG_JPEG) { snprintf(err, errlen, "not a JPEG"); return LGP_BAD_RECORD; }
    return LGP_OK;
}

int lgp_jpeg_decode(const uint8_t *data, size_t n, const lgp_decode_opts *o, lgp_image *out,
                    char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (check_jpeg(data, n, err, errlen) != LGP_OK) return LGP_BAD_RECORD;
    jdec dd, *d = &dd;
    memset(d, 0, sizeof *d);
    d->cinfo.err = jpeg_std_error(&d->pub);
    d->pub.error_exit = on_error;
    d->pub.emit_message = on_message;
    if (setjmp(d->jb)) return fail(d, out, LGP_BAD_RECORD, err, errlen);
    jpeg_create_decompress(&d->cinfo);
    int rc = jpeg_setup(d, data, n, o, 0, 0, out, err, errlen);
    if (rc != LGP_OK) return fail(d, out, rc, err, errlen);
    jpeg_start_decompress(&d->cinfo);
    int w = (int)d->cinfo.output_width, h = (int)d->cinfo.output_height, c = out->c;
    if ((rc = alloc_out(d, h, w, c, err, errlen)) != LGP_OK) return fail(d, out, rc, err, errlen);
    read_rows(d, h, c);
    jpeg_finish_decompress(&d->cinfo);
    jpeg_destroy_decompress(&d->cinfo);
    free(d->row);
    out->pix = d->pix;
    out->w = w;
    out->h = h;
    out->x1 = w;
    out->y1 = h;
    out->warnings = d->warnings;
    return LGP_OK;
}

/* Crop window in scaled coordinates: iMCU-aligned columns from jpeg_crop_scanline. */
static int crop_window(jdec *d, int cx, int cy, int cw, int ch, lgp_image *out, int *y0, int *nrows) {
    struct jpeg_decompress_struct *ci = &d->cinfo;
    double rx = (double)ci->output_width / out->src_w, ry = (double)ci->output_height / out->src_h;
    double fx0 = cx * rx, fx1 = (cx + cw) * rx, fy0 = cy * ry, fy1 = (cy + ch) * ry;
    int ix0 = (int)fx0, ix1 = (int)(fx1 + 0.999999), iy0 = (int)fy0, iy1 = (int)(fy1 + 0.999999);
    if (ix1 > (int)ci->output_width) ix1 = (int)ci->output_width;
    if (iy1 > (int)ci->output_height) iy1 = (int)ci->output_height;
    if (ix1 <= ix0) ix1 = ix0 + 1;
    if (iy1 <= iy0) iy1 = iy0 + 1;
    JDIMENSION xoff = (JDIMENSION)ix0, width = (JDIMENSION)(ix1 - ix0);
    if (width < ci->output_width) jpeg_crop_scanline(ci, &xoff, &width);
    else xoff = 0;
    *y0 = iy0;
    *nrows = iy1 - iy0;
    out->x0 = fx0 - xoff;
    out->x1 = (fx1 < ix1 ? fx1 : ix1) - xoff;
    out->y0 = fy0 - iy0;
    out->y1 = (fy1 < iy1 ? fy1 : iy1) - iy0;
    return LGP_OK;
}

int lgp_jpeg_decode_crop(const uint8_t *data, size_t n, const lgp_decode_opts *o, int cx, int cy,
                         int cw, int ch, lgp_image *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (check_jpeg(data, n, err, errlen) != LGP_OK) return LGP_BAD_RECORD;
    jdec dd, *d = &dd;
    memset(d, 0, sizeof *d);
    d->cx = cx, d->cy = cy, d->cw = cw, d->ch = ch;
    d->cinfo.err = jpeg_std_error(&d->pub);
    d->pub.error_exit = on_error;
    d->pub.emit_message = on_message;
    if (setjmp(d->jb)) return fail(d, out, LGP_BAD_RECORD, err, errlen);
    jpeg_create_decompress(&d->cinfo);
    int rc = jpeg_setup(d, data, n, o, d->cw, d->ch, out, err, errlen);
    if (rc != LGP_OK) return fail(d, out, rc, err, errlen);
    /* clip the crop to the image */
    if (d->cx < 0) { d->cw += d->cx; d->cx = 0; }
    if (d->cy < 0) { d->ch += d->cy; d->cy = 0; }
    if (d->cx + d->cw > out->src_w) d->cw = out->src_w - d->cx;
    if (d->cy + d->ch > out->src_h) d->ch = out->src_h - d->cy;
    if (d->cw <= 0 || d->ch <= 0) {
        snprintf(err, errlen, "crop outside the image");
        return fail(d, out, LGP_FATAL, err, errlen);
    }
    jpeg_start_decompress(&d->cinfo);
    int y0, nrows, c = out->c;
    crop_window(d, d->cx, d->cy, d->cw, d->ch, out, &y0, &nrows);
    int w = (int)d->cinfo.output_width;
    if ((rc = alloc_out(d, nrows, w, c, err, errlen)) != LGP_OK) return fail(d, out, rc, err, errlen);
    if (y0 > 0 && jpeg_skip_scanlines(&d->cinfo, (JDIMENSION)y0) != (JDIMENSION)y0) {
        d->truncated = 1;
        return fail(d, out, LGP_BAD_RECORD, err, errlen);
    }
    read_rows(d, nrows, c);
    jpeg_abort_decompress(&d->cinfo); /* rows below the crop are not needed */
    jpeg_destroy_decompress(&d->cinfo);
    free(d->row);
    out->pix = d->pix;
    out->w = w;
    out->h = nrows;
    out->warnings = d->warnings;
    return LGP_OK;
}

int lgp_png_decode(const uint8_t *data, size_t n, const lgp_decode_opts *o, lgp_image *out,
                   char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (lgp_image_sniff(data, n) != LGP_IMG_PNG) {
        snprintf(err, errlen, n ? "not a PNG" : "empty image");
        return LGP_BAD_RECORD;
    }
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&im, data, n)) {
        snprintf(err, errlen, "PNG: %s", im.message);
        png_image_free(&im);
        return LGP_BAD_RECORD;
    }
    if ((int64_t)im.width * im.height > cap_of(o)) {
        snprintf(err, errlen, "image too large (%ux%u, over %lld pixels)", im.width, im.height,
                 (long long)cap_of(o));
        png_image_free(&im);
        return LGP_BAD_RECORD;
    }
    int want = o ? o->channels : 3, color = (im.format & PNG_FORMAT_FLAG_COLOR) != 0;
    int c = want == 1 || (want == 0 && !color) ? 1 : 3;
    /* alpha is dropped by compositing on black (PIL's convert('RGB') ignores it) */
    im.format = c == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    uint8_t *pix = malloc((size_t)im.width * im.height * c + 1);
    if (!pix) {
        snprintf(err, errlen, "out of memory (%ux%u image)", im.width, im.height);
        png_image_free(&im);
        return LGP_FATAL;
    }
    if (!png_image_finish_read(&im, NULL, pix, 0, NULL)) {
        snprintf(err, errlen, "truncated or corrupt PNG (%s)", im.message);
        png_image_free(&im);
        free(pix);
        return LGP_BAD_RECORD;
    }
    *out = (lgp_image){.pix = pix, .h = (int)im.height, .w = (int)im.width, .c = c,
                       .src_h = (int)im.height, .src_w = (int)im.width, .scale_denom = 1,
                       .x1 = im.width, .y1 = im.height};
    png_image_free(&im);
    return LGP_OK;
}

int lgp_image_decode(const uint8_t *data, size_t n, const lgp_decode_opts *o, lgp_image *out,
                     char *err, size_t errlen) {
    if (lgp_image_sniff(data, n) == LGP_IMG_PNG) return lgp_png_decode(data, n, o, out, err, errlen);
    return lgp_jpeg_decode(data, n, o, out, err, errlen);
}

int lgp_image_info(const uint8_t *data, size_t n, int *w, int *h, int *c, char *err, size_t errlen) {
    if (lgp_image_sniff(data, n) == LGP_IMG_PNG) {
        png_image im;
        memset(&im, 0, sizeof im);
        im.version = PNG_IMAGE_VERSION;
        int ok = png_image_begin_read_from_memory(&im, data, n);
        if (!ok) snprintf(err, errlen, "PNG: %s", im.message);
        *w = (int)im.width;
        *h = (int)im.height;
        *c = (im.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
        png_image_free(&im);
        return ok ? LGP_OK : LGP_BAD_RECORD;
    }
    if (check_jpeg(data, n, err, errlen) != LGP_OK) return LGP_BAD_RECORD;
    jdec dd, *d = &dd;
    memset(d, 0, sizeof *d);
    d->cinfo.err = jpeg_std_error(&d->pub);
    d->pub.error_exit = on_error;
    d->pub.emit_message = on_message;
    lgp_image dummy;
    memset(&dummy, 0, sizeof dummy);
    if (setjmp(d->jb)) return fail(d, &dummy, LGP_BAD_RECORD, err, errlen);
    jpeg_create_decompress(&d->cinfo);
    jpeg_mem_src(&d->cinfo, data, (unsigned long)n);
    jpeg_read_header(&d->cinfo, TRUE);
    *w = (int)d->cinfo.image_width;
    *h = (int)d->cinfo.image_height;
    *c = d->cinfo.jpeg_color_space == JCS_GRAYSCALE ? 1 : 3;
    jpeg_destroy_decompress(&d->cinfo);
    return LGP_OK;
}
