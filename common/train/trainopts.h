/* trainopts.h — the options every trainer reads the same way (lgp-mim-train,
 * lgp-cl-train, and the trainers to come): model, start and resume, schedule length,
 * optimizer, snapshots, NaN policy, log, normalisation and output. Each trainer adds
 * its own long options with codes outside 0x5000-0x50ff and passes everything else to
 * lgp_trainopts_parse. The struct owns nothing (strings point into argv). */
#ifndef LGP_TRAINOPTS_H
#define LGP_TRAINOPTS_H

#include <getopt.h>
#include <stdint.h>

#include "common/util/cli.h"
#include "common/model/modelcfg.h"
#include "common/nn/optim.h"
#include "common/train/schedule.h"

typedef struct {
    const char *model, *init, *resume, *input, *ckpt_dir, *log;
    lgp_modelcfg_overrides ov;
    double epochs, warmup_epochs, clip, mean[4], std[4];
    int batch, keep, threads, strict, nan_policy, nmean, nstd, bf16;
    int64_t steps, warmup_steps, samples_per_epoch, save_every, log_every;
    int64_t inject_nan; /* test hook: a NaN gradient at this step (--inject-nan-at K or K+) */
    int inject_always;
    int given_model, given_seed; /* --model or a size option; --seed (a --resume checks them) */
    unsigned given;              /* LGP_GIVEN_* (schedule.h): schedule options given */
    uint64_t seed;
    lgp_adamw_hparams hp;
    lgp_output_opts out;
} lgp_trainopts;

/* --nan-policy: what a step with a non-finite loss or gradient does. */
enum { LGP_NAN_SKIP, LGP_NAN_STOP, LGP_NAN_ROLLBACK };
/* "skip", "stop" or "rollback"; -1 otherwise. */
int lgp_trainopts_nan_policy(const char *s);

/* Defaults shared by the trainers; hp is the trainer's AdamW default. */
void lgp_trainopts_init(lgp_trainopts *o, const lgp_adamw_hparams *hp);

enum {
    LGP_TOPT_MODEL = 0x5001, LGP_TOPT_INIT, LGP_TOPT_BATCH, LGP_TOPT_EPOCHS, LGP_TOPT_STEPS, LGP_TOPT_SPE,
    LGP_TOPT_WE, LGP_TOPT_WS, LGP_TOPT_WD, LGP_TOPT_B1, LGP_TOPT_B2, LGP_TOPT_CLIP, LGP_TOPT_SEED,
    LGP_TOPT_CKD, LGP_TOPT_SAVE, LGP_TOPT_KEEP, LGP_TOPT_RESUME, LGP_TOPT_NAN, LGP_TOPT_LOG,
    LGP_TOPT_LOGE, LGP_TOPT_THR, LGP_TOPT_STRICT, LGP_TOPT_MEAN, LGP_TOPT_STD, LGP_TOPT_INJ,
    LGP_TOPT_PARTIAL, LGP_TOPT_BF16,
};
#define LGP_TRAINOPTS_LONGOPTS                                                                          \
    LGP_COMMON_LONGOPTS, LGP_OUTPUT_LONGOPTS, LGP_MODELCFG_LONGOPTS,                                \
    {"model", 1, 0, LGP_TOPT_MODEL}, {"init", 1, 0, LGP_TOPT_INIT}, {"batch", 1, 0, LGP_TOPT_BATCH},  \
    {"epochs", 1, 0, LGP_TOPT_EPOCHS}, {"steps", 1, 0, LGP_TOPT_STEPS},                              \
    {"samples-per-epoch", 1, 0, LGP_TOPT_SPE}, {"warmup-epochs", 1, 0, LGP_TOPT_WE},                  \
    {"warmup-steps", 1, 0, LGP_TOPT_WS}, {"weight-decay", 1, 0, LGP_TOPT_WD},                         \
    {"beta1", 1, 0, LGP_TOPT_B1}, {"beta2", 1, 0, LGP_TOPT_B2}, {"clip-grad", 1, 0, LGP_TOPT_CLIP},   \
    {"seed", 1, 0, LGP_TOPT_SEED}, {"checkpoint-dir", 1, 0, LGP_TOPT_CKD},                            \
    {"save-every", 1, 0, LGP_TOPT_SAVE}, {"keep", 1, 0, LGP_TOPT_KEEP},                               \
    {"resume", 1, 0, LGP_TOPT_RESUME}, {"nan-policy", 1, 0, LGP_TOPT_NAN}, {"log", 1, 0, LGP_TOPT_LOG}, \
    {"log-every", 1, 0, LGP_TOPT_LOGE}, {"threads", 1, 0, LGP_TOPT_THR},                              \
    {"strict", 0, 0, LGP_TOPT_STRICT}, {"mean", 1, 0, LGP_TOPT_MEAN}, {"std", 1, 0, LGP_TOPT_STD},    \
    {"inject-nan-at", 1, 0, LGP_TOPT_INJ}, {"allow-partial", 0, 0, LGP_TOPT_PARTIAL},     \
    {"bf16", 0, 0, LGP_TOPT_BF16}

/* --help lines for the shared state and output options. */
#define LGP_TRAINOPTS_STATE_HELP(prefix, what)                                                   \
    "  --checkpoint-dir DIR  snapshots DIR/" prefix "-stepNNNNNNNN.ckpt and DIR/" prefix "-latest.ckpt\n" \
    "  --save-every N        snapshot every N steps (default 0: only at the end/on signal)\n" \
    "  --keep N              keep the newest N snapshots (default 3)\n"                      \
    "  --resume FILE         continue a run exactly (" what "); add it to the run's own\n"   \
    "                        command line: its start is passed over, options that differ\n" \
    "                        from the run's are an error\n"                                  \
    "  --allow-partial       accept an unfinished start checkpoint (complete: false)\n"      \
    "  --nan-policy skip|stop|rollback  on a non-finite loss or gradient: skip the batch\n"  \
    "                        (default), stop with exit 1, or reload the newest snapshot of\n" \
    "                        --checkpoint-dir and go on with the data after the bad batch\n" \
    "                        (gives up after 3 in a row); no checkpoint ever holds NaN\n"

/* --help lines for the log, threads, strictness, output and common options. */
#define LGP_TRAINOPTS_RUN_HELP                                                                   \
    "  --log-every N         plain progress line every N steps (default 50)\n"             \
    "  --threads N           OpenMP/OpenBLAS threads (default: all cores)\n"               \
    "  --bf16                matrix products on bf16 operands, fp32 sums, weights and\n"  \
    "                        optimizer (oneDNN on AVX512_BF16 CPUs only; default: fp32)\n" \
    "  --strict              a damaged record is fatal (default: skip with a message)\n"   \
    LGP_OUTPUT_HELP                                                                          \
    "  -q, --quiet / -v, --verbose / --progress / --help / --version\n"

/* Handles one getopt code of the shared options (and the common and output ones);
 * returns 1 if it was one. Dies with a usage error on a bad value. */
int lgp_trainopts_parse(lgp_trainopts *o, int c, const char *arg, const char *help);
/* After the getopt loop: the operand (input) and the rules across options. */
void lgp_trainopts_finish(lgp_trainopts *o, int argc, char **argv, int optind_);
/* The schedule the options ask for (lgp_schedule_make_dist with the length, warmup and
 * batch given, samples_per_epoch from the caller: --samples-per-epoch or the stream's),
 * under the warmup rule of schedule.h: a default warmup capped at a tenth of the run. The
 * same for a fresh run and for the one a --resume is compared with. */
int lgp_trainopts_schedule(const lgp_trainopts *o, lgp_schedule *s, int64_t samples_per_epoch, int accum, int world,
                           double blr, double lr_abs, double min_lr, char *err, size_t errlen);
/* Says what the warmup rule did to a fresh run's schedule s: the default capped (lgp_info,
 * with the cap), or a given warmup as long as the run or longer (lgp_warn: the lr rises to
 * the end and never decays; the run goes on, as asked). */
void lgp_trainopts_say_warmup(const lgp_trainopts *o, const lgp_schedule *s);
/* Every output path checked before any work (rank 0). */
void lgp_trainopts_check_outputs(const lgp_trainopts *o, const char *recon_png);

#endif
