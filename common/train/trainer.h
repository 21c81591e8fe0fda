/* trainer.h — what the two trainers (lgp-mim-train, lgp-cl-train) share: the length of
 * the schedule, snapshots with --keep, the NaN/Inf guard.
 *
 * Snapshots are checkpoints written atomically as DIR/<prefix>-step<8 digits>.ckpt; after
 * each, DIR/<prefix>-latest.ckpt (a symlink, replaced atomically) names the newest, and
 * only the newest `keep` snapshot files stay. */
#ifndef LGP_TRAINER_H
#define LGP_TRAINER_H

#include <stddef.h>
#include <stdint.h>

#include "formats/stream.h"

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
/* The same for one rank. */
int lgp_schedule_make(lgp_schedule *s, int64_t steps, double epochs, int64_t samples_per_epoch,
                      double warmup_epochs, int64_t warmup_steps, int batch, int accum,
                      double blr, double lr_abs, double min_lr, char *err, size_t errlen);
/* Records per epoch announced by the stream header ("records_per_epoch", or "count"),
 * or -1. */
int64_t lgp_stream_records_per_epoch(const char *meta_json);

/* Writes a snapshot; *path_out (cap bytes) receives its path. */
int lgp_snapshot_save(const char *dir, const char *prefix, int64_t step, int keep,
                      const lgp_record *rec, const char *meta_json, const lgp_writer_opts *o,
                      char *path_out, size_t cap, char *err, size_t errlen);

/* --nan-policy: what a step with a non-finite loss or gradient does. */
enum { LGP_NAN_SKIP, LGP_NAN_STOP, LGP_NAN_ROLLBACK };
/* "skip", "stop" or "rollback"; -1 otherwise. */
int lgp_nan_policy_parse(const char *s);
/* Rollbacks to the same snapshot in a row before a trainer gives up: a fault that
 * comes back after every rollback is not a bad batch. */
#define LGP_MAX_ROLLBACKS 3

/* --nan-policy rollback: reloads DIR/<prefix>-latest.ckpt (verified like any load) into
 * the state's own buffers, which `live` (the state's checkpoint record, borrowing them)
 * names: every tensor must be there with its dtype and size, or nothing is copied.
 * *step and *opt_t receive the snapshot's step and AdamW step count. The data position
 * is NOT rolled back: the batches since the snapshot are passed over, not replayed,
 * so a batch that blew up is not met again (what large runs do after a loss spike). */
int lgp_rollback(const char *dir, const char *prefix, const lgp_record *live, int64_t *step, int64_t *opt_t,
                 char *path_out, size_t cap, char *err, size_t errlen);

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

/* Prepares a trainer's input: reads on through concatenated streams, and (one process)
 * stops waiting for a slow producer when SIGTERM/SIGINT arrives. */
void lgp_trainer_input(lgp_reader *r, int world);

/* Where a run that did not finish (input ended early, signal) keeps its state: a
 * snapshot in dir when given; else "<out_path>.partial" when the output is a file;
 * else nowhere (stdout gets nothing, as a partial checkpoint there would look
 * finished). *where (cap bytes) receives the path, or "" when nothing was kept. The
 * metadata must say "complete": false. */
int lgp_trainer_keep_partial(const char *dir, const char *prefix, int keep, const char *out_path, int64_t step,
                             const lgp_record *rec, const char *meta_json, const lgp_writer_opts *o, char *where,
                             size_t cap, char *err, size_t errlen);

/* Index of the first non-finite value of x[n], or -1. */
int64_t lgp_first_nonfinite(const float *x, size_t n);

#endif
