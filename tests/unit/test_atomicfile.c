/* test_atomicfile.c — lgp_atomic_* on every kind of target: a new file, a regular file
 * replaced atomically with its mode kept, abort, a symlink whose target (not the link)
 * is replaced, a FIFO and /dev/fd/N written in place, /dev/null left a device, /dev/full
 * failing with ENOSPC, unusable paths refused, and the temporary registry cleaned by
 * lgp_atomic_cleanup and by SIGTERM after lgp_proginit; and cli.c's checks of output
 * paths and folders (exit 0, 1, or 2 for an empty name). */
#include "common/util/cli.h"
#include "common/util/log.h"
#include "common/lgp.h"
#include "formats/atomicfile.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/lgp-test-atomicfile.XXXXXX";

static const char *at(const char *name) {
    static char p[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static void put_file(const char *path, const char *text, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || lgp_write_all(fd, text, strlen(text)) || close(fd)) perror(path);
    chmod(path, mode);
}

static const char *get_file(const char *path) {
    static char buf[256];
    buf[0] = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return "(cannot open)";
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

/* Writes text through the atomic API; the LGP_* code of the first failing step. */
static int write_via(const char *path, const char *text, char *err, size_t errlen) {
    lgp_atomic a;
    if (lgp_atomic_open(&a, path, err, errlen) != LGP_OK) return LGP_FATAL;
    if (lgp_write_all(a.fd, text, strlen(text)) != 0) {
        snprintf(err, errlen, "write: %s", strerror(errno));
        lgp_atomic_abort(&a);
        return LGP_FATAL;
    }
    return lgp_atomic_commit(&a, err, errlen);
}

static void test_new_and_replace(void) {
    char err[512] = "";
    const char *p = at("new.bin");
    is_int(write_via(p, "first", err, sizeof err), LGP_OK, "new file: written (%s)", err);
    is_str(get_file(p), "first", "new file: content");
    struct stat st = {0};
    int r = stat(p, &st);
    ok(r == 0 && (st.st_mode & 0777) == 0644, "new file: mode 0644 (got %o)", st.st_mode & 0777);

    chmod(p, 0640);
    struct stat before;
    stat(p, &before);
    lgp_atomic a;
    is_int(lgp_atomic_open(&a, p, err, sizeof err), LGP_OK, "replace: open (%s)", err);
    ok(a.tmp && strstr(a.tmp, "/.new.bin.tmp.") != NULL, "replace: temporary is a hidden sibling (%s)", a.tmp ? a.tmp : "none");
    lgp_write_all(a.fd, "second", 6);
    is_str(get_file(p), "first", "replace: the old file is whole until commit");
    is_int(lgp_atomic_commit(&a, err, sizeof err), LGP_OK, "replace: commit (%s)", err);
    is_str(get_file(p), "second", "replace: new content");
    r = stat(p, &st);
    ok(r == 0 && (st.st_mode & 07777) == 0640, "replace: mode 0640 kept (got %o)", st.st_mode & 07777);
    ok(st.st_ino != before.st_ino, "replace: a new inode took the name (renamed, not rewritten)");

    is_int(lgp_atomic_open(&a, p, err, sizeof err), LGP_OK, "abort: open");
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", a.tmp);
    lgp_write_all(a.fd, "third", 5);
    lgp_atomic_abort(&a);
    is_str(get_file(p), "second", "abort: previous file untouched");
    ok(access(tmp, F_OK) != 0, "abort: temporary removed");
}

static void test_symlink(void) {
    char err[512] = "";
    mkdir(at("sub"), 0755);
    put_file(at("sub/t.bin"), "old", 0600);
    ok(symlink("sub/t.bin", at("link.bin")) == 0, "symlink: made link.bin -> sub/t.bin");
    lgp_atomic a;
    is_int(lgp_atomic_open(&a, at("link.bin"), err, sizeof err), LGP_OK, "symlink: open (%s)", err);
    ok(a.tmp && strstr(a.tmp, "/sub/.t.bin.tmp.") != NULL, "symlink: temporary beside the target (%s)", a.tmp ? a.tmp : "none");
    lgp_write_all(a.fd, "new", 3);
    is_int(lgp_atomic_commit(&a, err, sizeof err), LGP_OK, "symlink: commit (%s)", err);
    struct stat st;
    ok(lstat(at("link.bin"), &st) == 0 && S_ISLNK(st.st_mode), "symlink: the link is still a link");
    char l[256] = "";
    ssize_t n = readlink(at("link.bin"), l, sizeof l - 1);
    l[n > 0 ? n : 0] = 0;
    is_str(l, "sub/t.bin", "symlink: the link still points at the same name");
    is_str(get_file(at("sub/t.bin")), "new", "symlink: the target was replaced");
    int r = stat(at("sub/t.bin"), &st);
    ok(r == 0 && (st.st_mode & 0777) == 0600, "symlink: target's mode kept (got %o)", st.st_mode & 0777);

    ok(symlink("sub/created.bin", at("dangling.bin")) == 0, "dangling link made");
    is_int(write_via(at("dangling.bin"), "made", err, sizeof err), LGP_OK, "dangling link: written (%s)", err);
    ok(lstat(at("dangling.bin"), &st) == 0 && S_ISLNK(st.st_mode), "dangling link: still a link");
    is_str(get_file(at("sub/created.bin")), "made", "dangling link: its target was created");

    ok(symlink("loop2", at("loop1")) == 0 && symlink("loop1", at("loop2")) == 0, "a symlink loop made");
    is_int(lgp_atomic_check(at("loop1"), err, sizeof err), LGP_FATAL, "symlink loop: refused");
    ok(strstr(err, "cannot write: Too many levels of symbolic links") != NULL, "symlink loop: says why (%s)", err);
}

/* A reader child drains the FIFO into a file; the writer is us. */
static void test_fifo(void) {
    char err[512] = "";
    const char *f = at("fifo"), *sink = at("fifo.out");
    ok(mkfifo(f, 0644) == 0, "FIFO made");
    pid_t pid = fork();
    if (pid == 0) {
        int in = open(f, O_RDONLY), out = open(sink, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        char b[256];
        ssize_t n;
        while ((n = read(in, b, sizeof b)) > 0) lgp_write_all(out, b, (size_t)n);
        _exit(close(out) != 0);
    }
    is_int(write_via(f, "through the pipe", err, sizeof err), LGP_OK, "FIFO: written in place (%s)", err);
    int status = -1;
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "FIFO: reader finished");
    is_str(get_file(sink), "through the pipe", "FIFO: the reader got the data");
    struct stat st;
    ok(lstat(f, &st) == 0 && S_ISFIFO(st.st_mode), "FIFO: still a FIFO");
}

static void test_devices_and_fds(void) {
    char err[512] = "";
    struct stat st;
    is_int(write_via("/dev/null", "gone", err, sizeof err), LGP_OK, "/dev/null: written (%s)", err);
    ok(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "/dev/null: still a character device");

    lgp_atomic a;
    is_int(lgp_atomic_open(&a, "/dev/full", err, sizeof err), LGP_OK, "/dev/full: opens (%s)", err);
    ok(a.tmp == NULL, "/dev/full: written in place, no temporary");
    errno = 0;
    int w = lgp_write_all(a.fd, "x", 1);
    int e = errno;
    ok(w == -1 && e == ENOSPC, "/dev/full: the write fails with ENOSPC (%s)", strerror(e));
    lgp_atomic_abort(&a);
    ok(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode), "/dev/full: still a character device");

    int p[2];
    ok(pipe(p) == 0, "pipe made");
    char path[64], buf[64] = "";
    snprintf(path, sizeof path, "/dev/fd/%d", p[1]);
    is_int(write_via(path, "fd-one", err, sizeof err), LGP_OK, "%s: written in place (%s)", path, err);
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
    is_int(write_via(path, "+two", err, sizeof err), LGP_OK, "%s: written in place (%s)", path, err);
    ok(fcntl(p[1], F_GETFD) >= 0, "our descriptor stays open (a duplicate was written)");
    close(p[1]);
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    is_str(buf, "fd-one+two", "/dev/fd/N and /proc/self/fd/N: both reached the pipe");
    snprintf(path, sizeof path, "/dev/fd/%d", p[0]);
    is_int(lgp_atomic_check(path, err, sizeof err), LGP_FATAL, "a read-only descriptor is refused");
    ok(strstr(err, "cannot write: Bad file descriptor") != NULL, "and says why (%s)", err);
    close(p[0]);
    is_int(lgp_atomic_check("/dev/fd/999", err, sizeof err), LGP_FATAL, "a closed descriptor is refused (%s)", err);
}

static void test_refused(void) {
    char err[512] = "";
    struct {
        const char *path, *why;
    } cases[] = {
        {at("sub"), "cannot write: Is a directory"},
        {at("sub/"), "cannot write: Is a directory"},
        {at("missing/x.bin"), "cannot write: No such file or directory"},
        {at("new.bin/x"), "cannot write: Not a directory"},
        {"", "cannot write: No such file or directory"},
    };
    for (size_t i = 0; i < LGP_ARRAY_LEN(cases); i++) {
        lgp_atomic a;
        is_int(lgp_atomic_check(cases[i].path, err, sizeof err), LGP_FATAL, "check refuses '%s'", cases[i].path);
        ok(strstr(err, cases[i].why) != NULL, "  with '%s' (%s)", cases[i].why, err);
        is_int(lgp_atomic_open(&a, cases[i].path, err, sizeof err), LGP_FATAL, "open refuses '%s'", cases[i].path);
        ok(strstr(err, cases[i].why) != NULL, "  with '%s' (%s)", cases[i].why, err);
    }
    is_int(lgp_atomic_check(at("new.bin"), err, sizeof err), LGP_OK, "check accepts a writable file");
    is_int(lgp_atomic_check(at("fresh.bin"), err, sizeof err), LGP_OK, "check accepts a new name");
    ok(access(at("fresh.bin"), F_OK) != 0, "check creates nothing");
    if (geteuid() == 0) {
        ok(1, "# SKIP read-only file and folder: root bypasses permission bits (t0150 uses chattr +i)");
    } else {
        put_file(at("ro.bin"), "ro", 0444);
        is_int(lgp_atomic_check(at("ro.bin"), err, sizeof err), LGP_FATAL, "read-only file refused (%s)", err);
        mkdir(at("rodir"), 0555);
        is_int(lgp_atomic_check(at("rodir/x"), err, sizeof err), LGP_FATAL, "read-only folder refused (%s)", err);
    }
}

static void test_cleanup(void) {
    char err[512] = "";
    lgp_atomic a;
    is_int(lgp_atomic_open(&a, at("clean.bin"), err, sizeof err), LGP_OK, "registry: open");
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", a.tmp);
    ok(access(tmp, F_OK) == 0, "registry: temporary exists");
    lgp_atomic_cleanup();
    ok(access(tmp, F_OK) != 0, "registry: lgp_atomic_cleanup removed it");
    lgp_atomic_abort(&a);
    ok(access(at("clean.bin"), F_OK) != 0, "registry: nothing under the final name");

    /* A program killed by SIGTERM: lgp_proginit's handler unlinks, then the signal kills. */
    int p[2];
    if (pipe(p) != 0) return;
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"test_atomicfile", NULL};
        lgp_proginit(1, argv);
        lgp_atomic c;
        char e2[512];
        if (lgp_atomic_open(&c, at("killed.bin"), e2, sizeof e2) != LGP_OK) _exit(3);
        lgp_write_all(c.fd, "partial", 7);
        lgp_write_all(p[1], c.tmp, strlen(c.tmp) + 1);
        for (;;) pause();
    }
    close(p[1]);
    ssize_t n = read(p[0], tmp, sizeof tmp);
    close(p[0]);
    ok(n > 0 && access(tmp, F_OK) == 0, "SIGTERM: the child's temporary exists (%s)", n > 0 ? tmp : "none");
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "SIGTERM: the child died of the signal");
    ok(access(tmp, F_OK) != 0, "SIGTERM: its temporary is gone");
    ok(access(at("killed.bin"), F_OK) != 0, "SIGTERM: nothing under the final name");
}

/* Exit status of a child that runs one of cli.c's checks (they die on failure). */
static int child_status(void (*check)(const char *, const char *), const char *flag, const char *path) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"test_atomicfile", NULL};
        lgp_proginit(1, argv);
        if (!freopen("/dev/null", "w", stderr)) _exit(9);
        check(flag, path);
        _exit(0);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_cli_checks(void) {
    put_file(at("plain"), "x", 0644);
    struct {
        void (*check)(const char *, const char *);
        const char *what;
        char *path; /* owned */
        int want;
    } cases[] = {
        {lgp_output_check_path, "path: not given", NULL, 0},
        {lgp_output_check_path, "path: a new name", strdup(at("ok.bin")), 0},
        {lgp_output_check_path, "path: a folder", strdup(at("sub")), 1},
        {lgp_output_check_path, "path: a missing folder", strdup(at("missing/x")), 1},
        {lgp_output_check_path, "path: empty (usage error)", strdup(""), 2},
        {lgp_output_check_dir, "dir: not given", NULL, 0},
        {lgp_output_check_dir, "dir: an existing folder", strdup(at("sub")), 0},
        {lgp_output_check_dir, "dir: a new folder in a writable one", strdup(at("sub/new")), 0},
        {lgp_output_check_dir, "dir: a new folder with a trailing slash", strdup(at("sub/new2/")), 0},
        {lgp_output_check_dir, "dir: its parent is missing", strdup(at("missing/new")), 1},
        {lgp_output_check_dir, "dir: a regular file", strdup(at("plain")), 1},
        {lgp_output_check_dir, "dir: under a regular file", strdup(at("plain/new")), 1},
        {lgp_output_check_dir, "dir: empty (usage error)", strdup(""), 2},
    };
    for (size_t i = 0; i < LGP_ARRAY_LEN(cases); i++) {
        is_int(child_status(cases[i].check, "--x", cases[i].path), cases[i].want, "cli check, %s", cases[i].what);
        free(cases[i].path);
    }
    ok(access(at("sub/new"), F_OK) != 0, "lgp_output_check_dir creates nothing");
}

int main(void) {
    umask(022);
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    test_new_and_replace();
    test_symlink();
    test_fifo();
    test_devices_and_fds();
    test_refused();
    test_cleanup();
    test_cli_checks();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
    return done_testing();
}
