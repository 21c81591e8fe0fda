/* test_threads.c — the OpenBLAS kernel re-selection rule and its effect at load time. */
#include "common/threads.h"

#include <cblas.h>

#include "tap.h"

static int avx512_set(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512cd");
}

static void test_rule(void) {
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const char *w = lgp_blas_wanted_core("Prescott");
    if (avx512_set())
        is_str(w, "SkylakeX", "a pre-AVX2 fallback on an AVX-512 CPU becomes SkylakeX");
    else if (avx2)
        is_str(w, "Haswell", "a pre-AVX2 fallback on an AVX2 CPU becomes Haswell");
    else
        ok(w == NULL, "a pre-AVX2 CPU keeps its fallback");
    ok(lgp_blas_wanted_core("SkylakeX") == NULL, "an AVX-512 core is kept");
    ok(lgp_blas_wanted_core("Cooperlake") == NULL, "Cooperlake is kept");
    w = lgp_blas_wanted_core("Zen");
    if (avx512_set())
        is_str(w, "SkylakeX", "Zen's AVX2 kernels on an AVX-512 CPU become SkylakeX");
    else
        ok(w == NULL, "Zen's kernels are kept on a CPU without AVX-512");
    ok(lgp_blas_wanted_core("Haswell") == NULL || avx512_set(), "Haswell is kept without AVX-512");
}

static void test_at_load(void) {
    const char *core = openblas_get_corename();
    printf("# OpenBLAS core %s, AVX-512 %s, OPENBLAS_CORETYPE %s\n", core, avx512_set() ? "yes" : "no",
           getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "unset");
    if (getenv("OPENBLAS_CORETYPE")) {
        ok(1, "# SKIP OPENBLAS_CORETYPE is set: the user's choice stands");
        return;
    }
    ok(lgp_blas_wanted_core(core) == NULL, "after load the core (%s) is what the rule wants", core);
    /* sgemm still computes after the switch: a 3x3 product by hand. */
    float a[9] = {1, 2, 3, 4, 5, 6, 7, 8, 10}, b[9] = {1, 0, 0, 0, 1, 0, 1, 1, 1}, c[9] = {0};
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 3, 3, 3, 1.f, a, 3, b, 3, 0.f, c, 3);
    float want[9] = {4, 5, 3, 10, 11, 6, 17, 18, 10};
    int same = 1;
    for (int i = 0; i < 9; i++) same &= c[i] == want[i];
    ok(same, "sgemm on the selected kernels gives the exact product");
}

int main(void) {
    test_rule();
    test_at_load();
    return done_testing();
}
