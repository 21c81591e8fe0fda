/* pngwrite.c — see pngwrite.h. */
#include "pngwrite.h"

#include "common/lgp.h"
#include "atomicfile.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int lgp_pngwrite(const char *path, const uint8_t *pix, int h, int w, int c, char *err, size_t errlen) {
    lgp_atomic at;
    if (lgp_atomic_open(&at, path, err, errlen) != LGP_OK) return LGP_FATAL;
    FILE *f = fdopen(dup(at.fd), "wb");
    png_structp png = f ? png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL) : NULL;
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        if (png) png_destroy_write_struct(&png, NULL);
        if (f) fclose(f);
        lgp_atomic_abort(&at);
        return snprintf(err, errlen, "%s: cannot start PNG", path), LGP_FATAL;
    }
    errno = 0;
    if (setjmp(png_jmpbuf(png))) { /* libpng's fwrite failed (ENOSPC on /dev/full) or it ran out of memory */
        int e = errno;
        png_destroy_write_struct(&png, &info);
        fclose(f);
        lgp_atomic_abort(&at);
        return snprintf(err, errlen, "%s: write error: %s", path, e ? strerror(e) : "PNG write failed"), LGP_FATAL;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) png_write_row(png, (png_const_bytep)(pix + (size_t)y * w * c));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) {
        int e = errno;
        lgp_atomic_abort(&at);
        return snprintf(err, errlen, "%s: write error: %s", path, strerror(e)), LGP_FATAL;
    }
    return lgp_atomic_commit(&at, err, errlen);
}
