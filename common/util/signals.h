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

/* Hold SIGTERM and SIGINT back from the calling thread, and from every thread it starts
 * from now on (OpenMP's and MPI's inherit the mask), or let them through again (one that
 * came meanwhile is handled then). A trainer holds them from its start and lets them
 * through only while it waits for input or stops: oneDNN's JIT sgemm kernels point rsp
 * into the heap, so a handler that interrupts one writes its frame there (oneDNN issue
 * #4845, fixed in 3.11; Debian has 2.6: "corrupted size vs. prev_size" after a few
 * caught signals, and a t0960 rank killed by one SIGTERM now and then). No thread may
 * take one while it computes. */
void lgp_signals_hold(void);
void lgp_signals_release(void);
const char *lgp_signal_name(int sig);

#endif
