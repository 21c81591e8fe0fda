/* atomicfile.h — write a file so that its final name only ever holds a complete file:
 * a temporary sibling (".<name>.tmp.<pid>"), fsync, rename over the target, fsync of
 * the folder. On abort or failure the temporary is removed and any previous file at
 * the target is untouched. The caller owns the struct; commit/abort close the fd. */
#ifndef LGP_ATOMICFILE_H
#define LGP_ATOMICFILE_H

#include <stddef.h>

typedef struct {
    int fd;
    char *path;
    char *tmp;
} lgp_atomic;

/* LGP_OK or LGP_FATAL with "path: reason" in err. */
int lgp_atomic_open(lgp_atomic *a, const char *path, char *err, size_t errlen);
int lgp_atomic_commit(lgp_atomic *a, char *err, size_t errlen);
void lgp_atomic_abort(lgp_atomic *a);
/* write(2) all of buf, retrying on EINTR/short writes; 0 or -1 (errno set). */
int lgp_write_all(int fd, const void *buf, size_t n);

#endif
