/* warncap.h — repeated warnings of one kind, capped: the first LGP_WARNCAP_FIRST are
 * printed as they come, the rest only counted, and lgp_warncap_summary prints one line
 * with the count of those not shown; with -v (lgp_log_level verbose) every one is
 * printed. A kind is a static struct the caller owns
 * (usually one per message kind in a program); not thread-safe. */
#ifndef LGP_WARNCAP_H
#define LGP_WARNCAP_H

#include <stdint.h>

#define LGP_WARNCAP_FIRST 10

typedef struct {
    const char *kind; /* what the messages are about, e.g. "damaged record" */
    int64_t n;        /* messages of this kind so far */
} lgp_warncap;

/* Prints "<prog>: <text>" for the first few; the one after them prints instead that
 * further ones are counted. */
void lgp_warncap_emit(lgp_warncap *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "<prog>: N more <kind> messages not shown" when some were held back; resets nothing. */
void lgp_warncap_summary(const lgp_warncap *c);

#endif
