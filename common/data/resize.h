/* resize.h — PIL-compatible separable image resampling of u8 HWC images.
 *
 * lgp_resize_u8 reproduces Pillow's Image.resize(size, resample, box=...) for 8-bit
 * images bit for bit: the same filters (nearest, bilinear triangle, bicubic a = -0.5,
 * lanczos a = 3), the same antialiasing (filter support scaled by the downscale
 * factor), the same per-output-pixel coefficient normalisation, the same 22-bit fixed
 * point with rounding, and the same order (horizontal pass first, rounded to u8, then
 * vertical). Pixels outside the box but inside the image take part in the filter
 * support near the box edge, exactly as in PIL; to get torchvision's crop-then-resize
 * behaviour, pass the cropped sub-image instead (lgp_resize_u8_strided).
 *
 * Memory: the caller owns src and dst; scratch is allocated and freed inside the call.
 * Functions return LGP_OK, or LGP_FATAL for invalid arguments / out of memory. */
#ifndef LGP_RESIZE_H
#define LGP_RESIZE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    LGP_FILTER_NEAREST = 0,
    LGP_FILTER_BILINEAR = 1,
    LGP_FILTER_BICUBIC = 2,
    LGP_FILTER_LANCZOS = 3,
    LGP_FILTER_BOX = 4,
    LGP_FILTER_COUNT
} lgp_filter;

/* "nearest", "bilinear", "bicubic", "lanczos", "box"; -1 if unknown. */
int lgp_filter_from_name(const char *s);
const char *lgp_filter_name(lgp_filter f);

/* src: [sh, sw, c] u8, dst: [dh, dw, c] u8. (x0, y0, x1, y1) is the source box in
 * pixel coordinates (PIL's box; 0, 0, sw, sh for the whole image), with
 * 0 <= x0 < x1 <= sw and 0 <= y0 < y1 <= sh. */
int lgp_resize_u8(const uint8_t *src, int sh, int sw, int c, double x0, double y0, double x1,
                  double y1, uint8_t *dst, int dh, int dw, lgp_filter f);

/* Same with a source row stride in bytes (>= sw * c), so a crop of a larger image can
 * be resized in place: src points at the crop's top-left pixel and sh, sw are the
 * crop's size (torchvision's F.resized_crop on a PIL image). */
int lgp_resize_u8_strided(const uint8_t *src, size_t src_stride, int sh, int sw, int c,
                          double x0, double y0, double x1, double y1, uint8_t *dst, int dh,
                          int dw, lgp_filter f);

#endif
