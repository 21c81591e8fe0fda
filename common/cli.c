/* cli.c — see cli.h. */
#include "cli.h"

#include "lgp.h"
#include "log.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
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
    char *d = strdup(o->path);
    if (!d) lgp_die("out of memory");
    int bad = access(dirname(d), W_OK | X_OK) != 0;
    int e = errno;
    free(d);
    if (bad) lgp_die("%s: cannot create: %s", o->path, strerror(e));
}
