/* version.c — --version names lgp and the library versions it was built against.
 * Only header macros are used, so printing a version links nothing extra. */
#include "common/lgp.h"
#include "common/util/log.h"

#include <archive.h>
#include <stdio.h>
#include <zstd.h>
#include <jconfig.h>
#include <openblas_config.h>

#define LGP_STR_(x) #x
#define LGP_STR(x) LGP_STR_(x)

void lgp_print_version(void) {
    printf("%s (lgp) %s\n", lgp_progname(), LGP_VERSION);
    printf("built with:%s, libjpeg-turbo %s, zstd %s, %s\n", OPENBLAS_VERSION,
           LGP_STR(LIBJPEG_TURBO_VERSION), ZSTD_VERSION_STRING, ARCHIVE_VERSION_STRING);
}
