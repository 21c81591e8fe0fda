/* signals.c — see signals.h. */
#include "common/util/signals.h"

#include "formats/atomicfile.h"

#include <string.h>

volatile sig_atomic_t lgp_stop_requested = 0;

static void on_signal(int sig) {
    if (lgp_stop_requested) { /* the second one kills: leave no temporary (a snapshot's too) */
        lgp_atomic_cleanup();
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    lgp_stop_requested = sig;
}

void lgp_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

static void stop_mask(int how) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGINT);
    pthread_sigmask(how, &s, NULL);
}

void lgp_signals_hold(void) { stop_mask(SIG_BLOCK); }
void lgp_signals_release(void) { stop_mask(SIG_UNBLOCK); }

const char *lgp_signal_name(int sig) {
    return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "a signal";
}
