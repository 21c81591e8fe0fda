/* warncap.c — see warncap.h. */
#include "common/util/warncap.h"

#include "common/util/log.h"

#include <stdarg.h>
#include <stdio.h>

void lgp_warncap_emit(lgp_warncap *c, const char *fmt, ...) {
    c->n++;
    if (c->n > LGP_WARNCAP_FIRST && lgp_log_level < LGP_LOG_VERBOSE) {
        if (c->n == LGP_WARNCAP_FIRST + 1) lgp_warn("further %s messages are counted, not shown", c->kind);
        return;
    }
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lgp_warn("%s", buf);
}

void lgp_warncap_summary(const lgp_warncap *c) {
    if (c->n > LGP_WARNCAP_FIRST && lgp_log_level < LGP_LOG_VERBOSE)
        lgp_warn("%lld more %s messages not shown (%lld in all)", (long long)(c->n - LGP_WARNCAP_FIRST), c->kind,
                 (long long)c->n);
}
