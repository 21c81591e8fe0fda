/* atomicfile.h — write an output file so that its final name only ever holds a complete
 * file, without ever damaging what the name points at.
 *
 * What lgp_atomic_open does depends on what the path names (symlinks followed, each
 * relative link target taken from the link's own folder):
 *   - a regular file, or nothing yet: a temporary sibling ".<name>.tmp.<pid>" beside the
 *     final target, fsync, rename over the target, fsync of the folder. A symlink is
 *     never replaced: its target is. A replaced file keeps its mode (and, where allowed,
 *     its owner). On abort or failure the temporary is removed and any previous file is
 *     untouched.
 *   - /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N (any path that resolves into
 *     our own /proc/<pid>/fd): the open descriptor N is duplicated and written in place
 *     (a shell's `>>` keeps appending).
 *   - a character or block device, a FIFO, a socket: opened O_WRONLY (no O_CREAT, no
 *     O_TRUNC) and written in place; write errors (ENOSPC on /dev/full) are failures.
 *   - a folder, a missing parent folder, a read-only file or folder, an empty name:
 *     refused with "path: cannot write: reason".
 * Every temporary is recorded in a fixed-size, async-signal-safe registry until it is
 * renamed or removed; lgp_atomic_cleanup() unlinks whatever is still recorded (the
 * SIGTERM/SIGINT/SIGHUP handlers of lgp_proginit and lgp_signals_install, and exit(),
 * call it). The caller owns the struct; commit/abort close the fd. */
#ifndef LGP_ATOMICFILE_H
#define LGP_ATOMICFILE_H

#include <stddef.h>

typedef struct {
    int fd;
    char *path;   /* as the caller gave it (for messages) */
    char *target; /* the resolved final file renamed over; NULL when written in place */
    char *tmp;    /* the temporary; NULL when written in place */
    int slot;     /* registry slot of tmp, -1 if none */
} lgp_atomic;

/* LGP_OK or LGP_FATAL with "path: cannot write: reason" in err. */
int lgp_atomic_open(lgp_atomic *a, const char *path, char *err, size_t errlen);
/* fsync + rename (or, in place, close); LGP_OK or LGP_FATAL with a message. */
int lgp_atomic_commit(lgp_atomic *a, char *err, size_t errlen);
void lgp_atomic_abort(lgp_atomic *a);
/* The checks lgp_atomic_open makes, without creating anything: can `path` be written
 * (by lgp_atomic_open, or by fopen for logs)? LGP_OK, or LGP_FATAL with
 * "path: cannot write: reason" in err. */
int lgp_atomic_check(const char *path, char *err, size_t errlen);
/* Unlinks every registered temporary; async-signal-safe (signal handlers, atexit). */
void lgp_atomic_cleanup(void);
/* The whole file at once (a JSON result): open, write, commit; on any failure nothing
 * replaces path. LGP_OK or LGP_FATAL with "path: ..." in err. */
int lgp_atomic_write_file(const char *path, const void *buf, size_t n, char *err, size_t errlen);
/* write(2) all of buf, retrying on EINTR/short writes; 0 or -1 (errno set). */
int lgp_write_all(int fd, const void *buf, size_t n);

#endif
