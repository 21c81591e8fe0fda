/* atomicfile.c — temp + fsync + rename + fsync(dir) for regular files, in-place writes
 * for devices, FIFOs and our own descriptors, and a registry of live temporaries that
 * signal handlers can clean up (see atomicfile.h). */
#include "atomicfile.h"
#include "common/lgp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* ---- registry of live temporaries (async-signal-safe cleanup) ----
 * A slot is 0 free, 1 being filled, 2 live. Claims use a lock-free compare-and-swap so
 * that writers on several threads never share a slot; the cleanup only reads slots that
 * are live and were registered by this very process (not a forked child's copy). */
#define REG_SLOTS 16
static struct {
    int state;
    pid_t pid;
    char path[PATH_MAX];
} reg[REG_SLOTS];

static int reg_add(const char *path) {
    size_t n = strlen(path);
    if (n >= PATH_MAX) return -1;
    for (int i = 0; i < REG_SLOTS; i++) {
        int want = 0;
        if (!__atomic_compare_exchange_n(&reg[i].state, &want, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) continue;
        memcpy(reg[i].path, path, n + 1);
        reg[i].pid = getpid();
        __atomic_store_n(&reg[i].state, 2, __ATOMIC_RELEASE);
        return i;
    }
    return -1; /* full: the file is still written correctly, only not cleaned on a signal */
}

static void reg_del(int slot) {
    if (slot >= 0 && slot < REG_SLOTS) __atomic_store_n(&reg[slot].state, 0, __ATOMIC_RELEASE);
}

void lgp_atomic_cleanup(void) {
    pid_t me = getpid();
    for (int i = 0; i < REG_SLOTS; i++)
        if (__atomic_load_n(&reg[i].state, __ATOMIC_ACQUIRE) == 2 && reg[i].pid == me) unlink(reg[i].path);
}

/* ---- what a path names ---- */
enum { T_NEW, T_REG, T_DEV, T_FD };
typedef struct {
    int kind;
    int fd;             /* T_FD in our own fd table: the descriptor; else -1 */
    mode_t mode;        /* T_REG: the file's permission bits */
    uid_t uid;
    gid_t gid;
    char path[PATH_MAX]; /* resolved: absolute folder + final name */
} target;

/* 1 if dir (a realpath) is our own /proc/<pid>[/task/<tid>]/fd, 2 another process's, 0 neither. */
static int fd_dir(const char *dir) {
    if (strncmp(dir, "/proc/", 6) != 0) return 0;
    const char *p = dir + 6;
    char *e;
    long pid = strtol(p, &e, 10);
    if (e == p) return 0;
    if (strncmp(e, "/task/", 6) == 0) {
        p = e + 6;
        strtol(p, &e, 10);
        if (e == p) return 0;
    }
    if (strcmp(e, "/fd") != 0) return 0;
    return pid == (long)getpid() ? 1 : 2;
}

static int join(char *out, const char *dir, const char *base) {
    int n = snprintf(out, PATH_MAX, "%s/%s", strcmp(dir, "/") ? dir : "", base);
    if (n < 0 || n >= PATH_MAX) return errno = ENAMETOOLONG, -1;
    return 0;
}

/* Follows the final component's symlinks by hand (realpath of each folder), so a link's
 * target, not the link, is what gets replaced. 0, or -1 with errno. */
static int resolve(const char *path, target *t) {
    char cur[PATH_MAX], dir[PATH_MAX], link[PATH_MAX];
    memset(t, 0, sizeof *t);
    t->fd = -1;
    if (!*path) return errno = ENOENT, -1;
    if (strlen(path) >= PATH_MAX) return errno = ENAMETOOLONG, -1;
    strcpy(cur, path);
    for (int hop = 0; hop < 40; hop++) {
        char *sl = strrchr(cur, '/');
        const char *d = ".", *base = cur;
        if (sl == cur) d = "/", base = cur + 1;
        else if (sl) *sl = 0, d = cur, base = sl + 1;
        if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) { /* "x/", "x/.": a folder, if anything */
            struct stat st;
            if (sl) *sl = '/';
            if (stat(cur, &st) != 0) return -1;
            return errno = S_ISDIR(st.st_mode) ? EISDIR : ENOTDIR, -1;
        }
        if (!realpath(d, dir)) return -1;
        int own = fd_dir(dir);
        if (own) {
            char *e;
            long fd = strtol(base, &e, 10);
            if (*e || e == base || fd < 0 || fd > INT_MAX) return errno = ENOENT, -1;
            t->kind = T_FD;
            t->fd = own == 1 ? (int)fd : -1;
            return join(t->path, dir, base);
        }
        if (join(t->path, dir, base) != 0) return -1;
        struct stat st;
        if (lstat(t->path, &st) != 0) {
            if (errno != ENOENT) return -1;
            t->kind = T_NEW;
            return 0;
        }
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlink(t->path, link, sizeof link - 1);
            if (n < 0) return -1;
            link[n] = 0;
            if (link[0] == '/') strcpy(cur, link);
            else if (join(cur, dir, link) != 0) return -1;
            continue;
        }
        if (S_ISDIR(st.st_mode)) return errno = EISDIR, -1;
        t->kind = S_ISREG(st.st_mode) ? T_REG : T_DEV;
        t->mode = st.st_mode & 07777;
        t->uid = st.st_uid;
        t->gid = st.st_gid;
        return 0;
    }
    return errno = ELOOP, -1;
}

/* Can the resolved target be written? 0, or -1 with errno. */
static int usable(const target *t) {
    if (t->kind == T_FD && t->fd >= 0) {
        int fl = fcntl(t->fd, F_GETFL);
        if (fl < 0) return -1;
        return (fl & O_ACCMODE) == O_RDONLY ? (errno = EBADF, -1) : 0;
    }
    if (t->kind != T_NEW && access(t->path, W_OK) != 0) return -1;
    if (t->kind == T_NEW || t->kind == T_REG) { /* the folder takes the temporary and the rename */
        char dir[PATH_MAX];
        strcpy(dir, t->path);
        char *sl = strrchr(dir, '/');
        if (sl == dir) sl[1] = 0;
        else *sl = 0;
        if (access(dir, W_OK | X_OK) != 0) return -1;
    }
    return 0;
}

static int cannot(char *err, size_t errlen, const char *path, int e) {
    snprintf(err, errlen, "%s: cannot write: %s", path, strerror(e));
    return LGP_FATAL;
}

int lgp_atomic_check(const char *path, char *err, size_t errlen) {
    target t;
    if (resolve(path, &t) != 0 || usable(&t) != 0) return cannot(err, errlen, path, errno);
    return LGP_OK;
}

/* Opens a temporary beside t->path; 0 or -1 with errno. */
static int open_tmp(lgp_atomic *a, const target *t) {
    size_t n = strlen(t->path) + 48;
    a->target = strdup(t->path);
    a->tmp = malloc(n);
    if (!a->target || !a->tmp) return errno = ENOMEM, -1;
    const char *sl = strrchr(t->path, '/');
    snprintf(a->tmp, n, "%.*s/.%s.tmp.%ld", (int)(sl - t->path), t->path, sl + 1, (long)getpid());
    a->slot = reg_add(a->tmp);
    unlink(a->tmp); /* a stale one of a dead process that had our pid */
    a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (a->fd < 0) return -1;
    if (t->kind == T_REG) { /* keep the replaced file's owner (where allowed) and exact mode */
        if ((t->uid != geteuid() || t->gid != getegid()) && fchown(a->fd, t->uid, t->gid) != 0) { /* not ours to give */ }
        fchmod(a->fd, t->mode);
    }
    return 0;
}

int lgp_atomic_open(lgp_atomic *a, const char *path, char *err, size_t errlen) {
    memset(a, 0, sizeof *a);
    a->fd = -1;
    a->slot = -1;
    target t;
    if (resolve(path, &t) != 0 || usable(&t) != 0) return cannot(err, errlen, path, errno);
    if (!(a->path = strdup(path))) return cannot(err, errlen, path, ENOMEM);
    int r;
    if (t.kind == T_FD && t.fd >= 0) r = a->fd = fcntl(t.fd, F_DUPFD_CLOEXEC, 0);
    else if (t.kind == T_FD || t.kind == T_DEV) r = a->fd = open(t.path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    else r = open_tmp(a, &t);
    if (r < 0) {
        int e = errno;
        lgp_atomic_abort(a);
        return cannot(err, errlen, path, e);
    }
    return LGP_OK;
}

static int fsync_dir(const char *path) {
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s", path);
    char *sl = strrchr(d, '/');
    if (sl == d) sl[1] = 0;
    else if (sl) *sl = 0;
    else strcpy(d, ".");
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

static void release(lgp_atomic *a) {
    reg_del(a->slot);
    free(a->tmp);
    free(a->target);
    free(a->path);
    a->fd = a->slot = -1;
    a->tmp = a->target = a->path = NULL;
}

/* In place: a regular file behind /dev/stdout is fsynced; devices and pipes are not. */
static int commit_in_place(lgp_atomic *a, char *err, size_t errlen) {
    int rc = LGP_OK;
    struct stat st;
    if (fstat(a->fd, &st) == 0 && S_ISREG(st.st_mode) && fsync(a->fd) != 0 && errno != EINVAL && errno != EROFS) {
        snprintf(err, errlen, "%s: write error: %s", a->path, strerror(errno));
        rc = LGP_FATAL;
    }
    if (close(a->fd) != 0 && errno != EINTR && rc == LGP_OK) {
        snprintf(err, errlen, "%s: write error: %s", a->path, strerror(errno));
        rc = LGP_FATAL;
    }
    release(a);
    return rc;
}

int lgp_atomic_commit(lgp_atomic *a, char *err, size_t errlen) {
    if (!a->tmp) return commit_in_place(a, err, errlen);
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
    if (rc == LGP_OK && rename(a->tmp, a->target) != 0) {
        snprintf(err, errlen, "%s: rename failed: %s", a->path, strerror(errno));
        rc = LGP_FATAL;
    }
    if (rc != LGP_OK) unlink(a->tmp);
    else if (fsync_dir(a->target) != 0) {
        snprintf(err, errlen, "%s: fsync of folder failed: %s", a->path, strerror(errno));
        rc = LGP_FATAL;
    }
    release(a);
    return rc;
}

void lgp_atomic_abort(lgp_atomic *a) {
    if (a->fd >= 0) close(a->fd);
    if (a->tmp) unlink(a->tmp);
    release(a);
}

int lgp_atomic_write_file(const char *path, const void *buf, size_t n, char *err, size_t errlen) {
    lgp_atomic a;
    if (lgp_atomic_open(&a, path, err, errlen) != LGP_OK) return LGP_FATAL;
    if (lgp_write_all(a.fd, buf, n)) {
        int e = errno;
        lgp_atomic_abort(&a);
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(e));
        return LGP_FATAL;
    }
    return lgp_atomic_commit(&a, err, errlen);
}
