/* schedule.h — the length and learning rate of a training run: total and warmup steps
 * from --steps or --epochs and the records per epoch the input announces, the peak lr
 * from --blr by the linear scaling rule (docs/METHOD.md §3.4), and the check that a
 * resumed run is asked for the same schedule. */
#ifndef LGP_SCHEDULE_H
#define LGP_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t total_steps, warmup_steps;
    int64_t steps_per_epoch; /* 0 when the data length is unknown (--steps given) */
    int batch, accum;        /* micro-batch per rank, micro-batches per step */
    int world;               /* ranks; the global batch is batch * accum * world */
    double lr, min_lr;       /* peak learning rate (blr * batch * accum / 256 unless given) */
    double blr;
} lgp_schedule;

/* steps > 0 fixes the length; else epochs * floor(samples_per_epoch / global batch).
 * Warmup: warmup_steps if >= 0, else warmup_epochs * steps_per_epoch (or 0). lr: lr_abs if
 * > 0, else blr * global batch / 256 (MAE / MoCo v3 linear scaling). LGP_OK or
 * LGP_FATAL with the reason (e.g. the data length is unknown). */
int lgp_schedule_make_dist(lgp_schedule *s, int64_t steps, double epochs, int64_t samples_per_epoch,
                           double warmup_epochs, int64_t warmup_steps, int batch, int accum, int world,
                           double blr, double lr_abs, double min_lr, char *err, size_t errlen);
/* The warmup rule of every trainer (lgp-mim-train, lgp-cl-train, lgp-finetune): a warmup
 * the command line did not give (the trainer's default: MAE's and MoCo v3's 40 epochs,
 * fine-tuning's 5) is at most total_steps / LGP_WARMUP_CAP_DIV steps, so that a short run
 * still decays (the recipes' own runs are 10 or more times their warmup); a given one is
 * kept, up to the whole run (lgp_trainopts_schedule applies it, and says so). */
#define LGP_WARMUP_CAP_DIV 10
int64_t lgp_schedule_warmup_cap(int64_t total_steps);
/* The same for one rank. */
int lgp_schedule_make(lgp_schedule *s, int64_t steps, double epochs, int64_t samples_per_epoch,
                      double warmup_epochs, int64_t warmup_steps, int batch, int accum,
                      double blr, double lr_abs, double min_lr, char *err, size_t errlen);
/* Records per epoch announced by the stream header ("records_per_epoch", or "count"),
 * or -1. */
int64_t lgp_schedule_records_per_epoch(const char *meta_json);

/* Schedule options the user gave on the command line (a --resume checks them). */
enum {
    LGP_GIVEN_LENGTH = 1, /* --steps or --epochs */
    LGP_GIVEN_BATCH = 2,
    LGP_GIVEN_ACCUM = 4,
    LGP_GIVEN_LR = 8,     /* --lr or --blr */
    LGP_GIVEN_MIN_LR = 16,
    LGP_GIVEN_WARMUP = 32,
};
/* --resume continues the stored schedule; a schedule option given with it must ask for
 * the same (the same command line plus --resume is fine; a changed one is an error, not
 * ignored). `asked` is what the options make for a fresh run. LGP_OK or LGP_FATAL with
 * "--batch 64 differs from the resumed run's 128" in err. */
int lgp_schedule_check_resume(const lgp_schedule *stored, const lgp_schedule *asked, unsigned given,
                              char *err, size_t errlen);

#endif
