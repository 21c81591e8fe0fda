/* threads.h — one knob for both thread pools: OpenMP (our loops) and OpenBLAS (matrix
 * products), and the OpenBLAS set-up the engine relies on. Environment variables are read
 * before main, so programs call lgp_threads_set.
 *
 * OpenBLAS kernel choice: Debian bookworm's OpenBLAS 0.3.21 (DYNAMIC_ARCH) does not know
 * recent Xeons (family 6 model 207) and falls back to its SSE3 "Prescott" kernels, 3-4x
 * slower than its AVX-512 ones. Likewise an AVX-512 CPU taken for an AVX2 one loses
 * half its sgemm: on a Zen 5 (family 26, which this build does detect, as Cooperlake)
 * forcing the "Zen" or "Haswell" kernels measured 85 GFLOP/s per core against 185. A
 * load-time constructor (lgp_blas_fix_core) re-selects the kernels from the CPU's
 * features: SkylakeX's wherever the CPU has AVX-512 F/BW/DQ/VL/CD and the detected core
 * does not use it, Haswell's (AVX2) for a pre-AVX2 fallback on an AVX2 CPU.
 * OPENBLAS_CORETYPE in the environment always wins (nothing is changed).
 *
 * OpenMP waiting: libgomp's default makes idle threads spin ~300k iterations after each
 * parallel region. On a machine shared with other work (a pipeline's other stages, other
 * jobs) a spinning thread takes the core its partner needs: an MAE step measured 2-3x
 * slower than with OMP_WAIT_POLICY=passive under load. libgomp reads the variable in its
 * own load-time constructor, before any code of ours (even a .preinit_array entry: libc
 * resets environ after it), so a program that wants passive waiting by default must
 * re-execute itself with it set: lgp_threads_passive_reexec.
 * Nothing here allocates. */
#ifndef LGP_THREADS_H
#define LGP_THREADS_H

/* n <= 0 leaves the defaults (all cores). */
void lgp_threads_set(int n);
int lgp_threads_get(void);

/* Unless OMP_WAIT_POLICY, GOMP_SPINCOUNT or LGP_OMP_ACTIVE is set, sets
 * OMP_WAIT_POLICY=passive and re-executes the program (/proc/self/exe, same argv, same
 * file descriptors and pid); returns only when nothing was done or exec failed. Call
 * first thing in main, before any thread exists. */
void lgp_threads_passive_reexec(char **argv);

/* Runs at load time; idempotent. Returns OpenBLAS' core name after the fix. */
const char *lgp_blas_fix_core(void);
/* The rule it applies: the core to switch to from `current` on this CPU, or NULL. */
const char *lgp_blas_wanted_core(const char *current);
/* 1 for the OpenBLAS cores whose sgemm uses AVX-512 (SkylakeX, Cooperlake, SapphireRapids). */
int lgp_blas_core_is_avx512(const char *name);

/* OpenBLAS single-threaded between begin and end, for products issued from inside our
 * own OpenMP regions (one thread per product, no second pool competing for the cores).
 * begin returns the previous thread count for end. Call outside parallel regions. */
int lgp_blas_serial_begin(void);
void lgp_blas_serial_end(int prev);

#endif
