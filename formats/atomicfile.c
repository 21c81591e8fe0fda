/* atomicfile.c — temp + fsync + rename + fsync(dir) (see atomicfile.h). */
#include "atomicfile.h"
#include "../common/lgp.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lgp_write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int lgp_atomic_open(lgp_atomic *a, const char *path, char *err, size_t errlen) {
    memset(a, 0, sizeof *a);
    a->fd = -1;
    char *d = strdup(path), *b = strdup(path);
    a->path = strdup(path);
    if (!d || !b || !a->path) goto oom;
    size_t n = strlen(path) + 64;
    a->tmp = malloc(n);
    if (!a->tmp) goto oom;
    snprintf(a->tmp, n, "%s/.%s.tmp.%ld", dirname(d), basename(b), (long)getpid());
    free(d);
    free(b);
    /* Keep the mode a previous file had (a checkpoint 0644 stays 0644). */
    mode_t mode = 0644;
    struct stat st;
    if (stat(path, &st) == 0) mode = st.st_mode & 07777;
    a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (a->fd < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        free(a->tmp);
        free(a->path);
        a->tmp = a->path = NULL;
        return LGP_FATAL;
    }
    return LGP_OK;
oom:
    free(d);
    free(b);
    free(a->path);
    snprintf(err, errlen, "%s: out of memory", path);
    return LGP_FATAL;
}

static int fsync_dir(const char *path) {
    char *d = strdup(path);
    if (!d) return -1;
    int fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(d);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

int lgp_atomic_commit(lgp_atomic *a, char *err, size_t errlen) {
    int rc = LGP_OK;
    if (fsync(a->fd) != 0) {
        snprintf(err, errlen, "%s: fsync failed: %s", a->path, strerror(errno));
        rc = LGP_FATAL;
    }
    if (close(a->fd) != 0 && rc == LGP_OK) {
        snprintf(err, errlen, "%s: close failed: %s", a->path, strerror(errno));
        rc = LGP_FATAL;
    }
    a->fd = -1;
    if (rc == LGP_OK && rename(a->tmp, a->path) != 0) {
        snprintf(err, errlen, "%s: rename failed: %s", a->path, strerror(errno));
        rc = LGP_FATAL;
    }
    if (rc != LGP_OK) unlink(a->tmp);
    else if (fsync_dir(a->path) != 0) {
        snprintf(err, errlen, "%s: fsync of folder failed: %s", a->path, strerror(errno));
        rc = LGP_FATAL;
    }
    free(a->tmp);
    free(a->path);
    a->tmp = a->path = NULL;
    return rc;
}

void lgp_atomic_abort(lgp_atomic *a) {
    if (a->fd >= 0) close(a->fd);
    if (a->tmp) unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    a->fd = -1;
    a->tmp = a->path = NULL;
}
