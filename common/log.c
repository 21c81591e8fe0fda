/* log.c — house-form messages, start-up, option-value parsing. */
#define _POSIX_C_SOURCE 200809L
#include "log.h"
#include "lgp.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <unistd.h>

int lgp_log_level = LGP_LOG_NORMAL;
int lgp_progress = 0;
static char progname[64] = "lgp";
static int progress_open = 0;

void lgp_proginit(int argc, char **argv) {
    (void)argc;
    if (argv && argv[0]) {
        const char *b = strrchr(argv[0], '/');
        b = b ? b + 1 : argv[0];
        /* tar-images is an alias of lgp-tar-images: keep the name the user typed. */
        snprintf(progname, sizeof progname, "%s", b);
    }
    signal(SIGPIPE, SIG_DFL); /* a closed downstream ends us quietly */
    signal(SIGXFSZ, SIG_IGN); /* a file-size limit becomes an EFBIG write error we report */
    lgp_progress = isatty(2);
}

static void reader_gone(int sig) {
    (void)sig;
    _exit(LGP_EXIT_OK);
}

void lgp_sigpipe_is_success(void) { signal(SIGPIPE, reader_gone); }

const char *lgp_progname(void) { return progname; }

static void vmsg(const char *fmt, va_list ap, int with_errno, int err) {
    if (progress_open) lgp_progress_end();
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (with_errno)
        fprintf(stderr, "%s: %s: %s\n", progname, buf, strerror(err));
    else
        fprintf(stderr, "%s: %s\n", progname, buf);
}

void lgp_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap, 0, 0);
    va_end(ap);
}

void lgp_info(const char *fmt, ...) {
    if (lgp_log_level < LGP_LOG_NORMAL) return;
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap, 0, 0);
    va_end(ap);
}

void lgp_debug(const char *fmt, ...) {
    if (lgp_log_level < LGP_LOG_VERBOSE) return;
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap, 0, 0);
    va_end(ap);
}

void lgp_warn_errno(const char *fmt, ...) {
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap, 1, e);
    va_end(ap);
}

void lgp_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap, 0, 0);
    va_end(ap);
    exit(LGP_EXIT_FAILURE);
}

void lgp_die_errno(const char *fmt, ...) {
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap, 1, e);
    va_end(ap);
    exit(LGP_EXIT_FAILURE);
}

void lgp_usage_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap, 0, 0);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information.\n", progname);
    exit(LGP_EXIT_USAGE);
}

void lgp_progress_line(const char *fmt, ...) {
    if (!lgp_progress || lgp_log_level < LGP_LOG_NORMAL) return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\r%s: %s\033[K", progname, buf);
    progress_open = 1;
}

void lgp_progress_end(void) {
    if (progress_open) fputc('\n', stderr);
    progress_open = 0;
}

void lgp_print_version(void);

int lgp_common_opt(int c, const char *help_text) {
    switch (c) {
    case 0x1001:
        fputs(help_text, stdout);
        exit(LGP_EXIT_OK);
    case 0x1002:
        lgp_print_version();
        exit(LGP_EXIT_OK);
    case 'q': lgp_log_level = LGP_LOG_QUIET; return 1;
    case 'v': lgp_log_level = LGP_LOG_VERBOSE; return 1;
    case 0x1003: lgp_progress = 1; return 1;
    case '?': /* getopt already named the option */
        fprintf(stderr, "Try '%s --help' for more information.\n", progname);
        exit(LGP_EXIT_USAGE);
    default: return 0;
    }
}

double lgp_opt_double(const char *flag, const char *s, double lo, double hi) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        lgp_usage_die("%s: not a number: '%s'", flag, s);
    if (v < lo || v > hi) lgp_usage_die("%s: %s is out of range [%g, %g]", flag, s, lo, hi);
    return v;
}

long long lgp_opt_int(const char *flag, const char *s, long long lo, long long hi) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) lgp_usage_die("%s: not an integer: '%s'", flag, s);
    if (v < lo || v > hi) lgp_usage_die("%s: %s is out of range [%lld, %lld]", flag, s, lo, hi);
    return v;
}

uint64_t lgp_opt_u64(const char *flag, const char *s) {
    char *end;
    errno = 0;
    if (*s == '-') lgp_usage_die("%s: must not be negative: '%s'", flag, s);
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) lgp_usage_die("%s: not an integer: '%s'", flag, s);
    return v;
}

void lgp_check_stdout_not_tty(int force) {
    if (!force && isatty(1))
        lgp_usage_die("refusing to write binary data to a terminal (use --force or redirect stdout)");
}

double lgp_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
