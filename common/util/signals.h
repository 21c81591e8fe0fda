/* signals.h — graceful preemption. After lgp_signals_install(), the first SIGTERM or
 * SIGINT only sets lgp_stop_requested: the trainer finishes its step, writes a checkpoint
 * and exits 1 with a "stopped by signal" message (Slurm sends SIGTERM 30 s before
 * SIGKILL). A second signal removes the temporaries of unfinished outputs
 * (lgp_atomic_cleanup), restores the default action and kills the process at once;
 * checkpoint files are written atomically, so nothing under a final name is damaged. */
#ifndef LGP_SIGNALS_H
#define LGP_SIGNALS_H

#include <signal.h>

extern volatile sig_atomic_t lgp_stop_requested; /* the signal number, 0 if none */

void lgp_signals_install(void);
const char *lgp_signal_name(int sig);

#endif
