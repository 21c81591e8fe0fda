/* trainer.c — see trainer.h. */
#include "common/train/trainer.h"

#include "common/nn/gemm.h"

#include "formats/checkpoint.h"
#include "common/util/dist.h"
#include "common/train/gradsync.h"
#include "common/lgp.h"
#include "common/util/log.h"
#include "common/util/signals.h"
#include "common/util/threads.h"
#include "common/train/schedule.h"
#include "common/train/snapshot.h"
#include "common/train/trainlog.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int64_t lgp_trainer_first_nonfinite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return (int64_t)i;
    return -1;
}

/* Reads on through concatenated streams and (one process) stops waiting for a slow
 * producer when SIGTERM/SIGINT arrives. */
static void trainer_input(lgp_reader *r, int world) {
    lgp_reader_set_concat(r, 1);
    /* With several ranks a rank that stopped reading alone would leave the others in a
     * collective; there the stop is agreed after each step instead. */
    if (world == 1) lgp_reader_set_stop_flag(r, &lgp_stop_requested);
}

void lgp_trainer_init(int *argc, char ***argv) {
    /* OpenMP threads that sleep instead of spinning leave the cores to OpenBLAS. */
    lgp_threads_passive_reexec(*argv);
    lgp_signals_hold(); /* before any thread starts: see lgp_signals_hold */
    lgp_proginit(*argc, *argv);
    lgp_dist_init(argc, argv);
}

void lgp_trainer_ready(const lgp_trainopts *o, const char *recon_png) {
    /* where bf16 would be emulated (slower than fp32) or is not built, say so up front */
    if (o->bf16 && lgp_gemm_set_bf16(1) < 0)
        lgp_usage_die("--bf16: needs oneDNN (LGP_GEMM=onednn) and a CPU with AVX512_BF16; here: %s", lgp_gemm_describe());
    if (lgp_dist_rank() == 0) lgp_trainopts_check_outputs(o, recon_png);
    else { /* only rank 0 reports progress; warnings still come from every rank */
        lgp_log_level = LGP_LOG_QUIET;
        lgp_progress = 0;
    }
    lgp_threads_set(o->threads);
    lgp_signals_install();
}

void lgp_trainer_save(const lgp_trainer *t, const lgp_trainopts *o, int complete, int to_output) {
    char err[1024], path[4096];
    lgp_dist_check_same(t->hash(t->state), "the parameters");
    if (lgp_dist_rank() != 0) return;
    lgp_record rec;
    if (t->record(t->state, &rec) != LGP_OK) lgp_die("out of memory");
    char *meta = t->meta(t->state, complete);
    if (o->ckpt_dir) {
        if (lgp_snapshot_save(o->ckpt_dir, t->prefix, t->run->step, o->keep, &rec, meta, &o->out.w, path, sizeof path,
                              err, sizeof err) != LGP_OK)
            lgp_die("%s", err);
        lgp_debug("snapshot %s", path);
    }
    if (to_output) {
        if (!o->out.path) lgp_check_stdout_not_tty(o->out.force);
        if (lgp_ckpt_save(o->out.path, &rec, meta, &o->out.w, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    }
    free(meta);
    lgp_record_free(&rec);
}

/* A run that ends before its last step: the state goes to a snapshot (or FILE.partial),
 * never to the output, and the exit status is 1. */
static _Noreturn void stop_early(const lgp_trainer *t, const lgp_trainopts *o, const char *why) {
    char err[1024], where[4096] = "", msg[9000];
    const lgp_run *run = t->run;
    long long step = (long long)run->step, total = (long long)run->sched.total_steps;
    lgp_signals_release(); /* no more computing: a second signal may kill now */
    lgp_dist_check_same(t->hash(t->state), "the parameters");
    if (lgp_dist_rank() == 0) {
        const char *slow = getenv("LGP_TEST_SLOW_STOP"); /* test hook (t0960): a slow save on rank 0 */
        if (slow) sleep((unsigned)atoi(slow));
        lgp_record rec;
        if (t->record(t->state, &rec) != LGP_OK) lgp_die("out of memory");
        char *meta = t->meta(t->state, 0);
        if (lgp_snapshot_keep_partial(o->ckpt_dir, t->prefix, o->keep, o->out.path, run->step, &rec, meta, &o->out.w,
                                     where, sizeof where, err, sizeof err) != LGP_OK)
            lgp_die("%s at step %lld of %lld; saving the state failed: %s", why, step, total, err);
        free(meta);
        lgp_record_free(&rec);
    }
    if (lgp_dist_rank() != 0)
        snprintf(msg, sizeof msg, "%s at step %lld of %lld (rank %d; rank 0 says where the state went)", why, step,
                 total, lgp_dist_rank());
    else if (!where[0])
        snprintf(msg, sizeof msg, "%s at step %lld of %lld; nothing written (give --checkpoint-dir to keep the state)",
                 why, step, total);
    else if (o->ckpt_dir)
        snprintf(msg, sizeof msg, "%s at step %lld of %lld; state saved to %s; continue with --resume %s/%s-latest.ckpt",
                 why, step, total, where, o->ckpt_dir, t->prefix);
    else
        snprintf(msg, sizeof msg, "%s at step %lld of %lld; state saved to %s; continue with --resume %s", why, step,
                 total, where, where);
    if (lgp_dist_size() == 1) lgp_die("%s", msg);
    /* mpirun ends the whole job as soon as one rank exits non-zero: every rank says why
     * and then waits until rank 0 has saved the state, so that no rank is killed halfway
     * (a rank that left early once took rank 0's snapshot and message with it). */
    lgp_warn("%s", msg);
    double done = 1;
    lgp_dist_sum_d(&done, 1);
    lgp_die_said();
}

/* Name of the first tensor whose gradient is not finite, or NULL. */
static const char *bad_grad(const lgp_trainer *t) {
    for (size_t i = 0; i < t->table->count; i++)
        if (lgp_trainer_first_nonfinite(t->grads + t->table->entries[i].offset, t->table->entries[i].numel) >= 0)
            return t->table->entries[i].name;
    return NULL;
}

/* --nan-policy rollback: back to the newest snapshot; the data stream goes on. */
static void rollback(const lgp_trainer *t, const lgp_trainopts *o, const char *pre, const char *bad, int *in_a_row) {
    char err[1024], path[4096];
    long long at = (long long)t->run->step + 1;
    if (++*in_a_row > LGP_MAX_ROLLBACKS)
        lgp_die("step %lld: non-finite %s%s after %d rollbacks to the same snapshot; stopping (last snapshot intact)", at,
                pre, bad, LGP_MAX_ROLLBACKS);
    lgp_record live;
    if (t->record(t->state, &live) != LGP_OK) lgp_die("out of memory");
    int64_t step, opt_t;
    if (lgp_snapshot_rollback(o->ckpt_dir, t->prefix, &live, &step, &opt_t, path, sizeof path, err, sizeof err) != LGP_OK)
        lgp_die("step %lld: non-finite %s%s; cannot roll back: %s", at, pre, bad, err);
    lgp_record_free(&live);
    t->run->step = step;
    t->opt->t = opt_t;
    lgp_warn("step %lld: non-finite %s%s; rolled back to %s (step %lld); the batches since then are passed over", at, pre,
             bad, path, (long long)step);
}

/* The non-finite guard. 0: the step is good; 1: skipped; 2: rolled back. */
static int guard(const lgp_trainer *t, const lgp_trainopts *o, const lgp_trainer_step_out *so, int *in_a_row) {
    const char *bad = !isfinite(so->loss) ? "loss" : bad_grad(t);
    if (!bad) return 0;
    const char *pre = strcmp(bad, "loss") ? "gradient of " : "";
    long long at = (long long)t->run->step + 1;
    if (o->nan_policy == LGP_NAN_ROLLBACK) {
        rollback(t, o, pre, bad, in_a_row);
        return 2;
    }
    if (o->nan_policy == LGP_NAN_STOP) lgp_die("step %lld: non-finite %s%s; stopping (last snapshot intact)", at, pre, bad);
    const char *broken = t->skip_check ? t->skip_check(t->state) : NULL;
    if (broken) lgp_die("step %lld: non-finite %s%s reached %s; stopping (last snapshot intact)", at, pre, bad, broken);
    lgp_warn("step %lld: non-finite %s%s; batch skipped", at, pre, bad);
    return 1;
}

void lgp_trainer_io_open(lgp_trainer_io *io, const char *input) {
    char err[1024];
    memset(io, 0, sizeof *io);
    if (lgp_reader_open(&io->r, input, err, sizeof err) != LGP_OK) lgp_die("%s", err);
}

void lgp_trainer_io_ready(lgp_trainer_io *io, const lgp_vit_config *cfg, int nviews, int n_patches, const lgp_run *run,
                        int strict, const lgp_params *table, float *grads) {
    trainer_input(io->r, lgp_dist_size());
    io->bc = (lgp_batch_cfg){.img_size = cfg->img_size, .in_chans = cfg->in_chans, .nviews = nviews,
                             .view_names = {"view0", "view1"}, .n_patches = n_patches, .on_bad_fatal = strict,
                             .max_bad = -1};
    memcpy(io->bc.mean, run->mean, sizeof io->bc.mean);
    memcpy(io->bc.std, run->std, sizeof io->bc.std);
    if (lgp_batch_init(&io->b, &io->bc, run->sched.batch) != LGP_OK)
        lgp_die("cannot allocate a batch of %d images", run->sched.batch);
    lgp_record_init(&io->scratch);
    lgp_gradsync_init(&io->gs, table, grads);
}

static int stop_agreed;

double lgp_trainer_stop_flag(void) { return lgp_stop_requested ? 1 : 0; }

void lgp_trainer_stop_agreed(double summed) {
    stop_agreed = summed > 0;
    if (stop_agreed && !lgp_stop_requested) lgp_stop_requested = SIGTERM;
}

int lgp_trainer_fill(lgp_trainer_io *io) {
    char err[1024];
    lgp_signals_release(); /* a stop request lands here, between the steps' computations */
    int rc = lgp_batch_fill(&io->b, &io->bc, io->r, &io->scratch, err, sizeof err);
    lgp_signals_hold();
    if (rc == LGP_FATAL) {
        /* only one process reads with the stop flag (trainer_input), so no rank returns alone */
        if (lgp_reader_interrupted(io->r)) return -1;
        lgp_die("%s", err);
    }
    double short_ranks = io->b.n < io->b.cap ? 1 : 0;
    lgp_dist_sum_d(&short_ranks, 1);
    return short_ranks > 0 ? 0 : 1;
}

uint64_t lgp_trainer_params_hash(const float *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    const unsigned char *d = (const unsigned char *)p;
    for (size_t i = 0; i < n * sizeof(float); i++) h = (h ^ d[i]) * 0x100000001b3ULL;
    return h;
}

void lgp_trainer_io_close(lgp_trainer_io *io, int64_t steps) {
    lgp_gradsync_report(&io->gs, steps);
    lgp_record_free(&io->scratch);
    lgp_batch_free(&io->b);
    lgp_reader_close(io->r);
    memset(io, 0, sizeof *io);
}

void lgp_trainer_run(const lgp_trainer *t, const lgp_trainopts *o, lgp_trainer_io *io) {
    char err[1024];
    lgp_reader *r = io->r;
    lgp_batch *b = &io->b;
    lgp_run *run = t->run;
    lgp_record scratch;
    lgp_record_init(&scratch);
    lgp_signals_release();
    int skip = run->consumed ? lgp_batch_skip(b, r, &scratch, run->consumed, err, sizeof err) : LGP_OK;
    lgp_signals_hold();
    if (skip != LGP_OK)
        lgp_die("%s: cannot skip to record %lld to resume%s%s", lgp_reader_name(r), (long long)run->consumed,
                err[0] ? ": " : " (input too short)", err);
    lgp_record_free(&scratch);
    lgp_dist_check_same(t->hash(t->state), "the initial parameters");
    lgp_trainlog log;
    if (lgp_trainlog_open(&log, lgp_dist_rank() == 0 ? o->log : NULL, o->resume != NULL, o->log_every,
                          run->sched.total_steps) != LGP_OK)
        lgp_die_errno("%s: cannot open log", o->log);
    int64_t skipped_nan = 0;
    int rollbacks = 0, rollbacks_in_a_row = 0, injected = 0;
    if (o->nan_policy == LGP_NAN_ROLLBACK) lgp_trainer_save(t, o, 0, 0); /* something to roll back to */
    /* Test hook (t0960): the last rank signals itself right after step N's stop agreement,
     * the window in which a signal once stopped one rank alone. */
    const char *late_env = getenv("LGP_TEST_SIGTERM_AFTER_STEP");
    int64_t late_signal = late_env ? atoll(late_env) : 0;
    while (run->step < run->sched.total_steps) {
        lgp_trainer_step_out so = {0};
        int got = t->step(t->state, &so);
        if (got <= 0) {
            lgp_trainlog_close(&log);
            lgp_batch_report(b);
            char why[600];
            if (got < 0) snprintf(why, sizeof why, "stopped by %s", lgp_signal_name(lgp_stop_requested));
            else snprintf(why, sizeof why, "%s: input ended (%lld records used)", lgp_reader_name(r), (long long)b->consumed);
            stop_early(t, o, why);
        }
        if (late_signal == run->step + 1 && lgp_dist_rank() == lgp_dist_size() - 1)
            raise(SIGTERM); /* test hook: just after the step's stop agreement */
        if (o->inject_nan && run->step + 1 == o->inject_nan && (o->inject_always || !injected++))
            t->grads[0] = NAN; /* test hook for the guard */
        so.gnorm = lgp_grad_clip(t->table, t->grads, run->clip);
        int g = guard(t, o, &so, &rollbacks_in_a_row);
        if (g) {
            skipped_nan += g == 1;
            rollbacks += g == 2;
            continue;
        }
        const lgp_schedule *sc = &run->sched;
        double lr = lgp_lr_schedule(run->step, sc->total_steps, sc->warmup_steps, sc->lr, sc->min_lr);
        lgp_adamw_step(t->opt, t->params, t->grads, (float)lr); /* pitfall M1: the optimizer steps (docs/METHOD.md) */
        run->step++;
        if (t->after_update) t->after_update(t->state, &so);
        int64_t spe = sc->steps_per_epoch;
        lgp_trainlog_step(&log, run->step, spe ? (run->step - 1) / spe : 0, so.loss, lr * t->log_lr_scale, so.gnorm,
                          so.images, so.extra[0] ? so.extra : NULL);
        if (o->save_every && run->step % o->save_every == 0 && run->step < sc->total_steps) {
            lgp_trainer_save(t, o, 0, 0);
            rollbacks_in_a_row = 0;
        }
        int stop = lgp_dist_size() > 1 ? stop_agreed : lgp_stop_requested != 0;
        if (stop && run->step < sc->total_steps) {
            char why[64];
            snprintf(why, sizeof why, "stopped by %s", lgp_signal_name(lgp_stop_requested));
            lgp_trainlog_close(&log);
            stop_early(t, o, why);
        }
    }
    if (lgp_trainlog_close(&log) != LGP_OK) lgp_fail_at_exit();
    if (t->finish) t->finish(t->state);
    lgp_trainer_save(t, o, 1, 1);
    lgp_batch_report(b);
    lgp_info("trained %lld steps; %lld records used, %lld skipped as bad, %lld batches skipped for NaN, %d rollbacks%s",
             (long long)run->step, (long long)run->consumed, (long long)b->skipped, (long long)skipped_nan, rollbacks,
             lgp_dist_size() > 1 ? " (rank 0)" : "");
}
