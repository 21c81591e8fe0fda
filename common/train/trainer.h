/* trainer.h — the one training loop every trainer runs: skip the records a resumed
 * run has used, then per step the trainer's forward/backward, the test hook for NaNs,
 * gradient clipping, the non-finite guard (--nan-policy skip, stop or rollback), the
 * scheduled AdamW step, the log, snapshots, a stop on SIGTERM/SIGINT, and at the end
 * either the finished checkpoint on the output or, when the run ended early, its state
 * as a snapshot only (snapshot.h: lgp_snapshot_keep_partial) and exit 1.
 *
 * A trainer fills lgp_trainer with what its objective does differently; the loop
 * borrows everything in it. */
#ifndef LGP_TRAINER_H
#define LGP_TRAINER_H

#include "formats/stream.h"
#include "common/data/batch.h"
#include "common/train/gradsync.h"
#include "common/nn/optim.h"
#include "common/train/runstate.h"
#include "common/train/trainopts.h"
#include "common/nn/vit.h"

/* The input side every trainer has: the reader, its batches (views normalised with the
 * run's mean/std), a scratch record, and the gradient all-reduce of the trainable table. */
typedef struct {
    lgp_reader *r;
    lgp_batch_cfg bc;
    lgp_batch b;
    lgp_record scratch;
    lgp_gradsync gs;
} lgp_trainer_io;

/* Opens the input stream (a start checkpoint may be read off it before _ready). */
void lgp_trainer_io_open(lgp_trainer_io *io, const char *input);
/* Once the model is known: reads on through concatenated streams, stops waiting on
 * SIGTERM (one process), batches of run->sched.batch records with nviews views of the
 * model's size (and masks of n_patches when > 0), the all-reduce over table/grads. */
void lgp_trainer_io_ready(lgp_trainer_io *io, const lgp_vit_config *cfg, int nviews, int n_patches, const lgp_run *run,
                        int strict, const lgp_params *table, float *grads);
/* One micro-batch into io->b. 1: every rank has a full batch; 0: some rank's data ended
 * (drop_last: a partial batch ends training, agreed by all ranks before the step's
 * collectives start); -1: a signal came while this process waited for input. Bad input
 * is fatal (the batch's message). */
int lgp_trainer_fill(lgp_trainer_io *io);
/* The stop agreement that ends every step: f0 = lgp_trainer_stop_flag() goes into the
 * step's one reduction, lgp_trainer_stop_agreed(the sum) comes out of it. With several
 * ranks the run loop acts on the agreed request only: a signal that lands after the
 * reduction waits for the next step's, or its rank would stop alone and leave the others
 * in a collective. A request agreed on becomes every rank's lgp_stop_requested. */
double lgp_trainer_stop_flag(void);
void lgp_trainer_stop_agreed(double summed);
/* FNV-1a over n floats: the hash of the parameters the ranks must agree on. */
uint64_t lgp_trainer_params_hash(const float *p, size_t n);
/* Reports the all-reduce overlap over steps, frees everything, closes the input. */
void lgp_trainer_io_close(lgp_trainer_io *io, int64_t steps);

typedef struct {
    double loss;     /* mean over the ranks */
    double gnorm;    /* set by the loop (before clipping) */
    int64_t images;  /* images in the step, for the log */
    char extra[1024]; /* more log members, ",\"name\":value..." (may be empty) */
} lgp_trainer_step_out;

typedef struct {
    const char *prefix;      /* "mim", "cl": snapshot names DIR/<prefix>-step*.ckpt */
    void *state;             /* the trainer's own */
    lgp_run *run;            /* in the state */
    lgp_adamw *opt;          /* in the state */
    const lgp_params *table; /* parameters the optimizer updates, and their... */
    float *params, *grads;   /* ...flat buffers */
    double log_lr_scale;     /* the logged lr is the scheduled one times this */
    /* One optimizer step's forward/backward over the batch(es), gradients averaged over
     * the ranks, run->consumed updated. 1: done; 0: the data ended on some rank; -1: a
     * signal came while this process waited for input. */
    int (*step)(void *state, lgp_trainer_step_out *out);
    /* The state as a checkpoint record borrowing its buffers, and its metadata. */
    int (*record)(const void *state, lgp_record *rec);
    char *(*meta)(const void *state, int complete);
    /* Hash of everything the ranks must agree on. */
    uint64_t (*hash)(const void *state);
    /* Optional: after a skipped non-finite step, NULL if the state is still sound, else
     * what is not (lgp-cl-train: the BatchNorm statistics). */
    const char *(*skip_check)(const void *state);
    /* Optional: after the optimizer step, before the step's log line; may append
     * members to out->extra (lgp-finetune's --eval-every: the updated weights' test
     * accuracy on the line of the step that made them). */
    void (*after_update)(void *state, lgp_trainer_step_out *out);
    /* Optional: just before the final checkpoint (lgp-mim-train's --recon-png). */
    void (*finish)(void *state);
} lgp_trainer;

/* Index of the first non-finite value of x[n], or -1. */
int64_t lgp_trainer_first_nonfinite(const float *x, size_t n);

/* Program start of every trainer, before its options: OpenMP threads that sleep
 * instead of spinning (re-exec), program name, MPI. */
void lgp_trainer_init(int *argc, char ***argv);
/* After the options: every output path checked before any work (rank 0; the other ranks
 * are quiet), threads, and SIGTERM/SIGINT handled as a request to save and stop. */
void lgp_trainer_ready(const lgp_trainopts *o, const char *recon_png);

/* Runs the loop to the end of the schedule. Returns only when every step was trained
 * and the checkpoint written; every other end exits the process with a message (1). */
void lgp_trainer_run(const lgp_trainer *t, const lgp_trainopts *o, lgp_trainer_io *io);

/* Writes the state to the snapshot folder (if any) and, when to_output, to the output. */
void lgp_trainer_save(const lgp_trainer *t, const lgp_trainopts *o, int complete, int to_output);

#endif
