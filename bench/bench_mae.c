/* bench_mae.c — training throughput of one MAE step (zero_grad, forward, backward, AdamW)
 * on the ViT engine, its FLOP rate, a per-op profile, and the machine's sgemm peak (each
 * matrix-product backend of common/nn/gemm.h).
 *
 *   bench_mae [--config NAME] [--batch B] [--steps S] [--warmup W] [--threads N] [--profile] [--bf16]
 *   bench_mae --sgemm [--threads N]
 *
 * Prints one "key=value ..." line on stdout (bench/bench_mae.sh parses it); --profile adds
 * a per-op table on stderr. FLOPs are counted by the ops themselves (2 per multiply-add of
 * every matrix product, attention included; elementwise work is not counted), so the rate
 * is the model's useful work per second. Images are random normal, masks random. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/util/log.h"
#include "common/nn/gemm.h"
#include "common/nn/mae.h"
#include "common/nn/ops.h"
#include "common/nn/optim.h"
#include "common/util/rng.h"
#include "common/util/threads.h"

static const char help[] =
    "Usage: bench_mae [--config NAME] [--batch B] [--steps S] [--warmup W] [--threads N] [--profile] [--bf16]\n"
    "       bench_mae --sgemm [--threads N]\n"
    "Times MAE training steps (or square sgemm, per backend) and prints key=value results.\n";

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* Best of several square products of side n: the machine's practical sgemm peak. */
static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* lgp_gemm_describe() as one word for the key=value lines */
static const char *gemm_tag(void) {
    static char t[96];
    snprintf(t, sizeof t, "%s", lgp_gemm_describe());
    for (char *p = t; *p; p++)
        if (*p == ' ') *p = '/';
    return t;
}

static void bench_sgemm(int threads) {
    int n = 2048, reps = 5;
    float *a = lgp_floats_alloc((size_t)n * n), *b = lgp_floats_alloc((size_t)n * n),
          *c = lgp_floats_alloc((size_t)n * n);
    if (!a || !b || !c) lgp_die("out of memory");
    for (size_t i = 0; i < (size_t)n * n; i++) a[i] = b[i] = (float)(i % 7) * 0.1f;
    /* every backend built in (gemm.h), each through lgp_sgemm as the engine calls it, but
     * whole (the backend's own threads): the peak is the best of them */
    static const char *const names[] = {"openblas", "onednn"};
    int keep = lgp_gemm_backend();
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        if (lgp_gemm_select(names[k]) < 0) continue;
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
            double t0 = lgp_now();
            lgp_sgemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            double dt = lgp_now() - t0;
            if (dt < best) best = dt;
        }
        printf("sgemm backend=%s gemm=%s in_use=%d core=%s threads=%d n=%d best_sec=%.4f "
               "gflops=%.2f\n",
               names[k], gemm_tag(), lgp_gemm_backend() == keep, lgp_blas_fix_core(), threads, n, best,
               2.0 * n * n * n / best / 1e9);
    }
    lgp_gemm_select(names[keep]); /* names[] is in LGP_GEMM_* order */
    free(a), free(b), free(c);
}

static void print_profile(double step_sec, int steps) {
    const lgp_op_stat *st = lgp_prof_stats();
    double total = 0.0;
    fprintf(stderr, "%-16s %10s %7s %10s %8s\n", "op", "ms/step", "share", "GFLOP/s", "calls");
    for (int op = 0; op < LGP_OP_COUNT; op++) {
        double ms = st[op].seconds / steps * 1e3;
        total += st[op].seconds / steps;
        if (!st[op].calls) continue;
        fprintf(stderr, "%-16s %10.1f %6.1f%% %10.2f %8ld\n", lgp_prof_name(op), ms,
                100.0 * st[op].seconds / steps / step_sec,
                st[op].seconds > 0 ? st[op].flops / st[op].seconds / 1e9 : 0.0, st[op].calls / steps);
    }
    fprintf(stderr, "%-16s %10.1f %6.1f%%\n", "other (glue)", (step_sec - total) * 1e3,
            100.0 * (step_sec - total) / step_sec);
}

static void bench_mae(const char *name, int B, int steps, int warmup, int threads, int profile) {
    lgp_vit_config cfg;
    char err[256];
    if (lgp_vit_config_by_name(name, &cfg) != LGP_OK) lgp_usage_die("unknown config '%s'", name);
    lgp_vit_model m;
    lgp_mae st;
    lgp_adamw opt;
    lgp_adamw_hparams hp = LGP_ADAMW_MAE;
    if (lgp_vit_model_init(&m, &cfg, LGP_VIT_WITH_DECODER | LGP_VIT_WITH_GRADS, 1, err, sizeof err) ||
        lgp_mae_init(&st, &m, B, err, sizeof err) || lgp_adamw_init(&opt, &m.params, &hp, err, sizeof err))
        lgp_die("%s", err);
    size_t nimg = (size_t)B * cfg.in_chans * cfg.img_size * cfg.img_size;
    float *img = lgp_floats_alloc(nimg);
    if (!img) lgp_die("out of memory");
    lgp_rng r;
    lgp_rng_init(&r, 1, 0, 0, 0);
    for (size_t i = 0; i < nimg; i++) img[i] = (float)lgp_rng_normal(&r);
    double t_total = 0.0, t_min = 1e30, cpu_total = 0.0, loss_sum = 0.0;
    for (int s = 0; s < warmup + steps; s++) {
        if (s == warmup) lgp_prof_enable(1);
        double t0 = lgp_now(), c0 = cpu_seconds();
        float loss;
        lgp_vit_zero_grad(&m);
        if (lgp_mae_forward_backward(&st, img, B, NULL, 1, (uint64_t)s, NULL, &loss, err, sizeof err))
            lgp_die("%s", err);
        lgp_adamw_step(&opt, m.params.data, m.grads, 1e-4f);
        double dt = lgp_now() - t0;
        if (s >= warmup) {
            t_total += dt, loss_sum += loss, cpu_total += cpu_seconds() - c0;
            t_min = dt < t_min ? dt : t_min;
        }
        lgp_info("step %d: %.3f s, loss %.5f", s, dt, (double)loss);
    }
    double flops = 0.0;
    const lgp_op_stat *ps = lgp_prof_stats();
    for (int op = 0; op < LGP_OP_COUNT; op++) flops += ps[op].flops;
    double sec = t_total / steps;
    printf("lgp gemm=%s core=%s config=%s batch=%d threads=%d steps=%d sec_per_step=%.4f img_per_s=%.2f "
           "best_sec=%.4f best_img_per_s=%.2f cpu_sec_per_step=%.4f gflop_per_step=%.2f gflops=%.2f "
           "best_gflops=%.2f peak_rss_mb=%.1f loss=%.6f\n",
           gemm_tag(), lgp_blas_fix_core(), name, B, threads, steps, sec, B / sec, t_min, B / t_min, cpu_total / steps,
           flops / steps / 1e9, flops / t_total / 1e9, flops / steps / t_min / 1e9,
           peak_rss_mb(), loss_sum / steps);
    if (profile) print_profile(sec, steps);
    lgp_prof_enable(0);
    free(img);
    lgp_adamw_free(&opt);
    lgp_mae_free(&st);
    lgp_vit_model_free(&m);
}

int main(int argc, char **argv) {
    lgp_threads_passive_reexec(argv); /* what the programs get (see threads.h) */
    lgp_proginit(argc, argv);
    const char *name = "fmnist";
    int B = 256, steps = 3, warmup = 1, threads = 2, profile = 0, sgemm = 0, bf16 = 0, c;
    static const struct option lo[] = {{"config", 1, 0, 'c'}, {"batch", 1, 0, 'b'},
                                       {"steps", 1, 0, 's'},  {"warmup", 1, 0, 'w'},
                                       {"threads", 1, 0, 't'}, {"profile", 0, 0, 'p'},
                                       {"sgemm", 0, 0, 'g'},  {"bf16", 0, 0, 'h'}, LGP_COMMON_LONGOPTS,
                                       {0, 0, 0, 0}};
    while ((c = getopt_long(argc, argv, "qv", lo, NULL)) != -1) {
        if (lgp_common_opt(c, help)) continue;
        switch (c) {
        case 'c': name = optarg; break;
        case 'b': B = (int)lgp_opt_int("--batch", optarg, 1, 1 << 16); break;
        case 's': steps = (int)lgp_opt_int("--steps", optarg, 1, 1000000); break;
        case 'w': warmup = (int)lgp_opt_int("--warmup", optarg, 0, 1000000); break;
        case 't': threads = (int)lgp_opt_int("--threads", optarg, 1, 1024); break;
        case 'p': profile = 1; break;
        case 'g': sgemm = 1; break;
        case 'h': bf16 = 1; break;
        default: lgp_usage_die("unknown option");
        }
    }
    if (optind != argc) lgp_usage_die("unexpected argument '%s'", argv[optind]);
    lgp_threads_set(threads);
    if (bf16 && lgp_gemm_set_bf16(1) < 0) lgp_die("--bf16: needs oneDNN and AVX512_BF16 (%s)", lgp_gemm_describe());
    if (sgemm)
        bench_sgemm(threads);
    else
        bench_mae(name, B, steps, warmup, threads, profile);
    return 0;
}
