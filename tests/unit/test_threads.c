/* test_threads.c — the OpenBLAS kernel re-selection rule and its effect at load time. */
#include "common/util/threads.h"

#include <cblas.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

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
    w = lgp_blas_wanted_core("Haswell");
    if (avx512_set())
        is_str(w, "SkylakeX", "Haswell's kernels on an AVX-512 CPU become SkylakeX");
    else
        ok(w == NULL, "Haswell is kept without AVX-512");
}

/* The core a fresh process of this program ends up with, with OPENBLAS_CORETYPE set to
 * `env` (NULL: unset); the load-time fix runs before main, so it takes a new process. */
static int core_of_child(const char *env, char *name, size_t len) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 1);
        if (env) setenv("OPENBLAS_CORETYPE", env, 1);
        else unsetenv("OPENBLAS_CORETYPE");
        execl("/proc/self/exe", "test_threads", "--print-core", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    ssize_t n = read(fd[0], name, len - 1);
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    if (n <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
    name[n] = 0;
    name[strcspn(name, "\n")] = 0;
    return 0;
}

static void test_at_load(void) {
    char core[64];
    ok(core_of_child(NULL, core, sizeof core) == 0, "a child without OPENBLAS_CORETYPE reports its core");
    printf("# OpenBLAS core at load %s, AVX-512 %s\n", core, avx512_set() ? "yes" : "no");
    ok(lgp_blas_wanted_core(core) == NULL, "without OPENBLAS_CORETYPE the core at load (%s) is what the rule wants", core);
    ok(core_of_child("Sandybridge", core, sizeof core) == 0 && strcasecmp(core, "Sandybridge") == 0,
       "OPENBLAS_CORETYPE=Sandybridge is left alone (%s)", core);
    /* sgemm computes on whatever this process selected: a 3x3 product by hand. */
    float a[9] = {1, 2, 3, 4, 5, 6, 7, 8, 10}, b[9] = {1, 0, 0, 0, 1, 0, 1, 1, 1}, c[9] = {0};
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 3, 3, 3, 1.f, a, 3, b, 3, 0.f, c, 3);
    float want[9] = {4, 5, 3, 10, 11, 6, 17, 18, 10};
    int same = 1;
    for (int i = 0; i < 9; i++) same &= c[i] == want[i];
    ok(same, "sgemm on the selected kernels gives the exact product");
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--print-core") == 0) return printf("%s\n", lgp_blas_fix_core()) < 0;
    test_rule();
    test_at_load();
    return done_testing();
}
