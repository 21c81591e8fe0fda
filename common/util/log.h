/* log.h — messages in the house form, program start-up, and option-value parsing.
 *
 * Every message is one line on stderr: "<prog>: <text>". lgp_die* exit with 1,
 * lgp_usage_die exits with 2 and prints "Try '<prog> --help'". Nothing here writes
 * to stdout except lgp_print_version. */
#ifndef LGP_LOG_H
#define LGP_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum { LGP_LOG_QUIET = 0, LGP_LOG_NORMAL = 1, LGP_LOG_VERBOSE = 2 };

extern int lgp_log_level;   /* -q / -v move it */
extern int lgp_progress;    /* --progress, or stderr is a terminal (see lgp_progress_feeder) */

/* Sets the program name from argv[0]'s basename, installs SIGPIPE default, and:
 *  - at exit, flushes and closes stdout; a failure (`--help > /dev/full`) prints
 *    "<prog>: write error on standard output: reason" and makes the status 1;
 *  - at exit and on SIGTERM/SIGINT/SIGHUP (unless ignored), removes the temporaries of
 *    outputs not yet committed (lgp_atomic_cleanup); the signal then kills as before. */
void lgp_proginit(int argc, char **argv);
/* An output failed but the run goes on (a --log write error): the exit status becomes 1
 * even if main returns 0. Say why with lgp_warn when calling it. */
void lgp_fail_at_exit(void);
/* For the image-stream producers (tar-images, decode, augment, mask): a reader that
 * stops early (a trainer done after its steps) ends them with exit 0, not SIGPIPE's 141,
 * so `set -o pipefail` pipelines succeed; the reader's own status still tells whether it
 * stopped because of an error. */
void lgp_sigpipe_is_success(void);
const char *lgp_progname(void);

void lgp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lgp_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* level >= NORMAL */
void lgp_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* level >= VERBOSE */
/* Appends ": strerror(errno)". */
void lgp_warn_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void lgp_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void lgp_die_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void lgp_usage_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Exit 1 as lgp_die does, when the reason was already said (lgp_warn). */
_Noreturn void lgp_die_said(void);

/* A \r-updated live line when progress is on; otherwise nothing. One live line per
 * pipeline: the stage that does the long work (a trainer, lgp-embed, lgp-probe) draws
 * it; the stages that feed it call lgp_progress_feeder. On a terminal every message
 * first erases the line it lands on (ours or another stage's live line, which that
 * stage redraws below); elsewhere (logs) a live line is ended with a newline first. */
void lgp_progress_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Ends the live line with a newline, keeping its last state on screen. */
void lgp_progress_end(void);
/* A stage that feeds a pipeline (tar-images, lgp-decode, lgp-augment, lgp-mask): no live
 * line unless --progress was given (before or after this call); its summary line at the
 * end stays. */
void lgp_progress_feeder(void);
/* 1 if progress is on and the last update (*last, lgp_now() seconds; 0 at first) is a
 * quarter of a second old or more, then *last becomes now: a few updates a second. */
int lgp_progress_due(double *last);
/* "ETA 42s", "ETA 3m05s", "ETA 2h07m" into buf; "" when seconds is not >= 0. */
const char *lgp_progress_eta(char *buf, size_t n, double seconds);

/* Common flags. Call from a program's getopt loop for the long options below;
 * returns 1 if handled. help_text is printed by --help (to stdout, exit 0). */
#define LGP_COMMON_LONGOPTS                                                        \
    {"help", no_argument, 0, 0x1001}, {"version", no_argument, 0, 0x1002},         \
    {"quiet", no_argument, 0, 'q'}, {"verbose", no_argument, 0, 'v'},              \
    {"progress", no_argument, 0, 0x1003}
int lgp_common_opt(int c, const char *help_text);
void lgp_print_version(void);

/* Option values: die with a usage error (exit 2) naming the flag if out of range. */
double lgp_opt_double(const char *flag, const char *s, double lo, double hi);
long long lgp_opt_int(const char *flag, const char *s, long long lo, long long hi);
uint64_t lgp_opt_u64(const char *flag, const char *s);

/* Refuse to write binary data to a terminal unless force (zstd's rule). */
void lgp_check_stdout_not_tty(int force);

/* Monotonic seconds. */
double lgp_now(void);

#endif
