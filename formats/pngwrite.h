/* pngwrite.h — write an 8-bit gray or RGB image as PNG (libpng), atomically. */
#ifndef LGP_PNGWRITE_H
#define LGP_PNGWRITE_H

#include <stddef.h>
#include <stdint.h>

/* pix [h, w, c] HWC, c = 1 or 3. LGP_OK or LGP_FATAL with "path: reason". */
int lgp_pngwrite(const char *path, const uint8_t *pix, int h, int w, int c, char *err, size_t errlen);

#endif
