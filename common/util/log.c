/* log.c — house-form messages, start-up, option-value parsing. */
#define _POSIX_C_SOURCE 200809L
#include "common/util/log.h"
#include "common/lgp.h"
#include "formats/atomicfile.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio_ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int lgp_log_level = LGP_LOG_NORMAL;
int lgp_progress = 0;
static char progname[64] = "lgp";
static int progress_open = 0;
static int progress_asked = 0; /* --progress */
static int stderr_tty = 0;
static volatile sig_atomic_t fail_at_exit = 0;
static int dying = 0; /* lgp_die* said why already: close_stdout adds no second line */

void lgp_fail_at_exit(void) { fail_at_exit = 1; }

/* atexit, registered first so it runs last (gnulib close_stdout): data still buffered
 * for stdout (--help, lgp-inspect, lgp-probe's table) must reach it, or we fail. */
static void close_stdout(void) {
    if (dying) {
        fclose(stdout);
        return;
    }
    errno = 0;
    int pending = __fpending(stdout) != 0, prev = ferror(stdout), e = 0;
    if (fflush(stdout) != 0) e = errno;
    int closed = fclose(stdout) == 0;
    if (!e && !closed && (pending || errno != EBADF)) e = errno;
    if (prev || e) {
        if (e) fprintf(stderr, "%s: write error on standard output: %s\n", progname, strerror(e));
        else fprintf(stderr, "%s: write error on standard output\n", progname);
        _exit(LGP_EXIT_FAILURE);
    }
    if (fail_at_exit) _exit(LGP_EXIT_FAILURE);
}

/* Registered after close_stdout, so it runs before it: an output left unfinished by
 * exit() (lgp_die mid-run) leaves no temporary behind. */
static void cleanup_at_exit(void) { lgp_atomic_cleanup(); }

/* SIGTERM/SIGINT/SIGHUP: remove our temporaries, then die of the signal as before. */
static void on_fatal_signal(int sig) {
    int e = errno;
    lgp_atomic_cleanup();
    signal(sig, SIG_DFL);
    raise(sig); /* delivered when the handler returns */
    errno = e;
}

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
    atexit(close_stdout);
    atexit(cleanup_at_exit);
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    for (size_t i = 0; i < LGP_ARRAY_LEN(sigs); i++) {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        for (size_t k = 0; k < LGP_ARRAY_LEN(sigs); k++) sigaddset(&sa.sa_mask, sigs[k]);
        /* an ignored signal (nohup, a background job's SIGINT) stays ignored */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN) sigaction(sigs[i], &sa, NULL);
    }
    lgp_progress = stderr_tty = isatty(2);
}

static void reader_gone(int sig) {
    (void)sig;
    lgp_atomic_cleanup();
    _exit(LGP_EXIT_OK);
}

void lgp_sigpipe_is_success(void) { signal(SIGPIPE, reader_gone); }

const char *lgp_progname(void) { return progname; }

static void vmsg(const char *fmt, va_list ap, int with_errno, int err) {
    /* a terminal: erase the live line the message lands on (ours, or another stage's:
     * that stage redraws it on the next line); a log: end our live line. The line goes
     * out in one write: stderr is unbuffered, and another stage's live line drawn
     * between the erase and the text once left the message on a half-erased line. */
    const char *lead = stderr_tty ? "\r\033[K" : progress_open ? "\n" : "";
    progress_open = 0;
    char buf[1024], line[1400];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (with_errno)
        snprintf(line, sizeof line, "%s%s: %s: %s\n", lead, progname, buf, strerror(err));
    else
        snprintf(line, sizeof line, "%s%s: %s\n", lead, progname, buf);
    size_t n = strlen(line);
    if (n && line[n - 1] != '\n') line[n - 1] = '\n'; /* cut short: still one line */
    fputs(line, stderr);
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
    dying = 1;
    exit(LGP_EXIT_FAILURE);
}

void lgp_die_errno(const char *fmt, ...) {
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap, 1, e);
    va_end(ap);
    dying = 1;
    exit(LGP_EXIT_FAILURE);
}

void lgp_die_said(void) {
    dying = 1;
    exit(LGP_EXIT_FAILURE);
}

void lgp_usage_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap, 0, 0);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information.\n", progname);
    dying = 1;
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

void lgp_progress_feeder(void) { lgp_progress = progress_asked; }

int lgp_progress_due(double *last) {
    if (!lgp_progress || lgp_log_level < LGP_LOG_NORMAL) return 0;
    double now = lgp_now();
    if (now - *last < 0.25) return 0;
    *last = now;
    return 1;
}

const char *lgp_progress_eta(char *buf, size_t n, double seconds) {
    long long s = (long long)llround(seconds);
    if (!(seconds >= 0) || seconds > 1e9) snprintf(buf, n, "%s", "");
    else if (s < 60) snprintf(buf, n, "ETA %llds", s);
    else if (s < 3600) snprintf(buf, n, "ETA %lldm%02llds", s / 60, s % 60);
    else snprintf(buf, n, "ETA %lldh%02lldm", s / 3600, s % 3600 / 60);
    return buf;
}

void lgp_print_version(void);

int lgp_common_opt(int c, const char *help_text) {
    switch (c) {
    case 0x1001: /* a long help overflows stdio's buffer: catch the error while errno holds it */
        errno = 0;
        if (fputs(help_text, stdout) == EOF || fflush(stdout) != 0)
            lgp_die("write error on standard output: %s", strerror(errno ? errno : EIO));
        exit(LGP_EXIT_OK);
    case 0x1002:
        lgp_print_version();
        exit(LGP_EXIT_OK);
    case 'q': lgp_log_level = LGP_LOG_QUIET; return 1;
    case 'v': lgp_log_level = LGP_LOG_VERBOSE; return 1;
    case 0x1003: lgp_progress = progress_asked = 1; return 1;
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
