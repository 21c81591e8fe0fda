/* jpeg.h — decoding of encoded images (JPEG through libjpeg-turbo, PNG through libpng)
 * from memory into u8 HWC pixels.
 *
 * The format is taken from the bytes (JPEG: FF D8 FF; PNG: its 8-byte signature), never
 * from a file name. JPEG colour spaces gray, YCbCr, RGB, CMYK and YCCK are handled
 * (Adobe CMYK, as written by Photoshop, stores inverted ink values); baseline and
 * progressive files; any chroma subsampling. A decoder may return the image reduced by
 * libjpeg's DCT scaling (1/2, 1/4, 1/8), choosing the smallest scale whose output is
 * still at least the size the caller asks for, which makes "decode then resize to 224"
 * several times cheaper with no visible loss. lgp_jpeg_decode_crop additionally decodes
 * only the rows and iMCU columns covering a crop (jpeg_crop_scanline /
 * jpeg_skip_scanlines), for random-resized-crop augmentation.
 *
 * Errors never exit: LGP_BAD_RECORD with a short message for undecodable bytes ("not a
 * JPEG", "truncated JPEG", "JPEG: <libjpeg message>", "image too large"), LGP_FATAL for
 * out of memory or bad arguments. libjpeg warnings (e.g. extraneous bytes before a
 * marker, common in real data sets) are counted in lgp_image.warnings, not printed;
 * premature end of data is an error, as in PIL.
 * Ownership: the caller's lgp_image receives heap pixels; lgp_image_free releases them. */
#ifndef LGP_JPEG_H
#define LGP_JPEG_H

#include <stddef.h>
#include <stdint.h>

#define LGP_IMAGE_MAX_PIXELS ((int64_t)1 << 27) /* 134 M pixels (e.g. 16384 x 8192) */

typedef enum { LGP_IMG_UNKNOWN = 0, LGP_IMG_JPEG = 1, LGP_IMG_PNG = 2 } lgp_image_format;

typedef struct {
    int channels;       /* 3: RGB (gray is replicated), 1: gray (luma), 0: as stored (1 or 3) */
    int min_short;      /* DCT-scale only while the shorter decoded side stays >= this */
    int min_w, min_h;   /* ... and width/height (of the crop) stay >= these; all 0: full size */
    int64_t max_pixels; /* refuse larger sources; 0 means LGP_IMAGE_MAX_PIXELS */
} lgp_decode_opts;

typedef struct {
    uint8_t *pix;            /* [h, w, c] u8, owned */
    int h, w, c;
    int src_h, src_w;        /* full-resolution size of the encoded image */
    int scale_denom;         /* 1, 2, 4 or 8: the DCT scale used is 1/scale_denom */
    double x0, y0, x1, y1;   /* the requested region in pix coordinates (crop decode;
                                the whole image otherwise): pass to lgp_resize_u8 */
    int warnings;            /* libjpeg warnings seen (corrupt-but-decodable data) */
} lgp_image;

lgp_image_format lgp_image_sniff(const uint8_t *data, size_t n);

/* Any supported format; data: [n] bytes. */
int lgp_image_decode(const uint8_t *data, size_t n, const lgp_decode_opts *o, lgp_image *out,
                     char *err, size_t errlen);
int lgp_jpeg_decode(const uint8_t *data, size_t n, const lgp_decode_opts *o, lgp_image *out,
                    char *err, size_t errlen);
/* Decodes the crop (cx, cy, cw, ch) given in full-resolution pixels (clipped to the
 * image). out->pix covers the crop rounded out to iMCU columns / whole rows at the
 * chosen scale; out->x0..y1 locate the exact crop inside it. o->min_w/min_h bound the
 * DCT scale by the crop's scaled size. */
int lgp_jpeg_decode_crop(const uint8_t *data, size_t n, const lgp_decode_opts *o, int cx, int cy,
                         int cw, int ch, lgp_image *out, char *err, size_t errlen);
int lgp_png_decode(const uint8_t *data, size_t n, const lgp_decode_opts *o, lgp_image *out,
                   char *err, size_t errlen);
/* Header only: full-resolution size and stored channels (1 or 3; CMYK reports 3). */
int lgp_image_info(const uint8_t *data, size_t n, int *w, int *h, int *c, char *err, size_t errlen);
void lgp_image_free(lgp_image *im);

#endif
