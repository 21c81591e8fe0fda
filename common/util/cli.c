/* cli.c — see cli.h. */
#include "common/util/cli.h"

#include "common/lgp.h"
#include "common/util/log.h"
#include "formats/atomicfile.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void lgp_output_opts_init(lgp_output_opts *o) {
    lgp_writer_opts d = LGP_WRITER_OPTS_DEFAULT;
    memset(o, 0, sizeof *o);
    o->w = d;
}

int lgp_output_opt(lgp_output_opts *o, int c, const char *arg) {
    switch (c) {
    case 'o': o->path = strcmp(arg, "-") == 0 ? NULL : arg; return 1;
    case LGP_OPT_UNCOMPRESSED: o->w.compress = 0; return 1;
    case LGP_OPT_LEVEL: o->w.level = (int)lgp_opt_int("--level", arg, -7, 22); return 1;
    case LGP_OPT_ZSTD_THREADS: o->w.threads = (int)lgp_opt_int("--zstd-threads", arg, 0, 256); return 1;
    case LGP_OPT_FORCE: o->force = 1; return 1;
    default: return 0;
    }
}

lgp_writer *lgp_output_open(const lgp_output_opts *o, const char *meta_json) {
    if (!o->path) lgp_check_stdout_not_tty(o->force);
    char err[512];
    lgp_writer *w;
    if (lgp_writer_open(&w, o->path, &o->w, meta_json, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    return w;
}

void lgp_output_write(lgp_writer *w, const lgp_record *rec) {
    if (lgp_writer_write(w, rec) != LGP_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", lgp_writer_error(w));
        lgp_writer_abort(w);
        lgp_die("%s", msg);
    }
}

void lgp_output_close(lgp_writer *w) {
    char err[512];
    if (lgp_writer_finish(w, err, sizeof err) != LGP_OK) lgp_die("%s", err);
}

void lgp_output_precheck(const lgp_output_opts *o) {
    if (!o->path) {
        lgp_check_stdout_not_tty(o->force);
        return;
    }
    lgp_output_check_path("-o", o->path);
}

void lgp_output_check_path(const char *flag, const char *path) {
    if (!path) return;
    if (!*path) lgp_usage_die("%s: empty file name", flag);
    char err[PATH_MAX + 128];
    if (lgp_atomic_check(path, err, sizeof err) != LGP_OK) lgp_die("%s", err);
}

void lgp_output_check_dir(const char *flag, const char *dir) {
    if (!dir) return;
    if (!*dir) lgp_usage_die("%s: empty folder name", flag);
    struct stat st;
    int e = 0;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) e = ENOTDIR;
        else if (access(dir, W_OK | X_OK) != 0) e = errno;
    } else if (errno != ENOENT) {
        e = errno;
    } else { /* created later with mkdir(2): the parent must exist and take it */
        char *d = strdup(dir);
        if (!d) lgp_die("out of memory");
        const char *parent = dirname(d);
        if (stat(parent, &st) != 0) e = errno;
        else if (!S_ISDIR(st.st_mode)) e = ENOTDIR;
        else if (access(parent, W_OK | X_OK) != 0) e = errno;
        free(d);
    }
    if (e) lgp_die("%s: cannot write: %s", dir, strerror(e));
}
