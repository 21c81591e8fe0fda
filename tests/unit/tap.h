/* tap.h — TAP output for C unit tests: one line per assertion, both values and
 * file:line on failure, keep going, exit status = number of failures (capped). */
#ifndef LGP_TAP_H
#define LGP_TAP_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n = 0, tap_fail = 0;

#define ok(cond, ...) tap_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
static void tap_ok_(int c, const char *f, int l, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#include <stdarg.h>
static void tap_ok_(int c, const char *f, int l, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%sok %d - ", c ? "" : "not ", ++tap_n);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (!c) {
        tap_fail++;
        printf("#   failed at %s:%d\n", f, l);
    }
    fflush(stdout);
}

#define is_int(got, want, ...)                                                     \
    do {                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                   \
        ok(g_ == w_, __VA_ARGS__);                                                 \
        if (g_ != w_) printf("#   got %lld, want %lld\n", g_, w_);                 \
    } while (0)

#define is_str(got, want, ...)                                                     \
    do {                                                                           \
        const char *g_ = (got), *w_ = (want);                                      \
        int e_ = g_ && w_ && strcmp(g_, w_) == 0;                                  \
        ok(e_, __VA_ARGS__);                                                       \
        if (!e_) printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
    } while (0)

/* |got - want| <= atol + rtol * |want| */
#define is_close(got, want, rtol, atol, ...)                                       \
    do {                                                                           \
        double g_ = (got), w_ = (want);                                            \
        int e_ = fabs(g_ - w_) <= (atol) + (rtol) * fabs(w_);                      \
        ok(e_, __VA_ARGS__);                                                       \
        if (!e_) printf("#   got %.10g, want %.10g (rtol %g, atol %g)\n", g_, w_, (double)(rtol), (double)(atol)); \
    } while (0)

static int done_testing(void) {
    printf("1..%d\n", tap_n);
    if (tap_fail) printf("# %d of %d failed\n", tap_fail, tap_n);
    return tap_fail > 100 ? 100 : tap_fail;
}

#endif
