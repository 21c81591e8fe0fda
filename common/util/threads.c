/* threads.c — see threads.h. */
#include "common/util/threads.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Exported by DYNAMIC_ARCH builds of OpenBLAS only: weak, so other builds still link. */
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

void lgp_threads_set(int n) {
    if (n <= 0) return;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int lgp_threads_get(void) { return omp_get_max_threads(); }

/* OpenBLAS' generic fallbacks for CPUs it cannot identify (pre-AVX2 kernels). */
static int is_fallback_core(const char *name) {
    static const char *const old[] = {"Prescott", "Katmai", "Core2", "Penryn", "Nehalem",
                                      "Dunnington", "Banias", "Northwood", "Coppermine"};
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++)
        if (strcmp(name, old[i]) == 0) return 1;
    return 0;
}

/* OpenBLAS' cores whose sgemm uses AVX-512 (0.3.21 names; later versions add more). */
int lgp_blas_core_is_avx512(const char *name) {
    return strcmp(name, "SkylakeX") == 0 || strcmp(name, "Cooperlake") == 0 ||
           strcmp(name, "SapphireRapids") == 0;
}

static int cpu_has_skylakex_set(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512cd");
}

const char *lgp_blas_wanted_core(const char *current) {
    __builtin_cpu_init();
    if (cpu_has_skylakex_set()) return lgp_blas_core_is_avx512(current) ? NULL : "SkylakeX";
    if (is_fallback_core(current) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
    return NULL;
}

const char *lgp_blas_fix_core(void) {
    /* (openblas_get_corename is in every OpenBLAS build; the dynamic pair is not.) */
    static int done;
    if (done || getenv("OPENBLAS_CORETYPE") || !gotoblas_dynamic_init || !gotoblas_dynamic_quit)
        return openblas_get_corename();
    done = 1;
    const char *want = lgp_blas_wanted_core(openblas_get_corename());
    if (!want) return openblas_get_corename();
    /* gotoblas_dynamic_init reads OPENBLAS_CORETYPE (the documented override) and is a
     * no-op until _quit clears the selection; no product runs yet (load time). */
    setenv("OPENBLAS_CORETYPE", want, 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");
    return openblas_get_corename();
}

__attribute__((constructor)) static void blas_fix_at_load(void) { (void)lgp_blas_fix_core(); }

void lgp_threads_passive_reexec(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT") || getenv("LGP_OMP_ACTIVE")) return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("OMP_WAIT_POLICY"); /* exec failed (no /proc): carry on as we are */
}

int lgp_blas_serial_begin(void) {
    int prev = openblas_get_num_threads();
    if (prev != 1) openblas_set_num_threads(1);
    return prev;
}

void lgp_blas_serial_end(int prev) {
    if (prev != 1) openblas_set_num_threads(prev);
}
