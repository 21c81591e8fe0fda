/* threads.h — one knob for both thread pools: OpenMP (our loops) and OpenBLAS (matrix
 * products). Environment variables are read before main, so programs call this. */
#ifndef LGP_THREADS_H
#define LGP_THREADS_H

/* n <= 0 leaves the defaults (all cores). */
void lgp_threads_set(int n);
int lgp_threads_get(void);

#endif
