/* lgp-cl-train — stage 2: MoCo v3 on a stream of two-view records, grafted on the MIM
 * layers (from lgp-graft) or from scratch (the plain-CL baseline). The loop, options,
 * snapshots and NaN policy are the shared trainer's (trainer.h); this file is what
 * MoCo v3 does differently: its start, its step and its state. */
#include "common/data/batch.h"
#include "common/train/clstate.h"
#include "common/util/dist.h"
#include "common/train/gradconf.h"
#include "common/train/gradsync.h"
#include "common/lgp.h"
#include "common/util/log.h"
#include "common/model/modelcfg.h"
#include "common/util/signals.h"
#include "common/util/threads.h"
#include "common/train/schedule.h"
#include "common/train/trainer.h"
#include "common/train/trainopts.h"
#include "formats/checkpoint.h"

#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "lgp-cl-train — stage 2 of layer-grafted pre-training: MoCo v3\n"
    "\n"
    "usage: { lgp-graft stage1.ckpt; VIEWS; } | lgp-cl-train [options] > stage2.ckpt\n"
    "       lgp-cl-train --init stage2-start.ckpt [options] [VIEWS|-] > stage2.ckpt\n"
    "       lgp-cl-train --model NAME [options] [VIEWS|-] > baseline.ckpt\n"
    "\n"
    "Reads two-view records (u8 [S, S, C] 'view0' and 'view1', from lgp-augment --recipe\n"
    "moco) and trains MoCo v3: per step the momentum update (encoder + projector), keys\n"
    "from the momentum branch, queries from the online branch, loss ctr(q1,k2)+ctr(q2,k1)\n"
    "with ctr = CE(norm(q)·norm(k)ᵀ/τ)·2τ, backward, AdamW over the lr groups. The start:\n"
    "a checkpoint stream first on the input (lgp-graft's output, views following), or\n"
    "--init FILE (a lgp-graft output, or a stage-1 checkpoint grafted on the fly), or\n"
    "--model NAME without a checkpoint: the MoCo v3 baseline from a random init.\n"
    "\n"
    "model and method:\n"
    "  --model NAME          baseline: fmnist, vit-tiny, vit-small, vit-base, vit-large\n"
    LGP_MODELCFG_HELP
    "  --init FILE           start checkpoint (views then come from INPUT)\n"
    "  --mlp-dim F --moco-dim E  head sizes for a new graft/baseline (see lgp-graft)\n"
    "  --lr-layer-wise LIST  per-group base lrs per 256 images (overrides the checkpoint's)\n"
    "  --blr X               one group (baseline default 1.5e-4)\n"
    "  --freeze-below K      freeze cls and blocks 0..K-1\n"
    "  --lr-heads X          base lr of the final norm and heads (default: the last\n"
    "                        group's)\n"
    "  --train-patch-embed   train the patch embedding (default frozen: MoCo v3's\n"
    "                        stop-grad-conv1; a joint MIM+CL model trains it)\n"
    "  --tau T               temperature (default: the checkpoint's, else 0.2)\n"
    "  --moco-m M            momentum at step 0, cosine to 1 at the end (default 0.99)\n"
    "  --mim-weight W        add W x MAE loss on view 0 (needs the decoder: lgp-graft\n"
    "                        --keep-decoder, or created for the baseline)\n"
    "  --mean M[,M,M] --std S[,S,S]  input normalisation (default: the checkpoint's)\n"
    "  --gradconf-every N    with --mim-weight: every N steps (and the first) log the\n"
    "                        cosine between the MAE and the contrastive gradient of the\n"
    "                        patch embedding, each block and the final norm as \"gradconf\"\n"
    "                        in the JSONL log (lgp-gradconf(1); one process only)\n"
    "schedule:\n"
    "  --batch B             images per step (default 256); lr_g = blr_g*B/256\n"
    "  --epochs E | --steps N  training length (epochs need the stream's record count or\n"
    "                        --samples-per-epoch N)\n"
    "  --warmup-epochs E     (default 40, at most a tenth of the run unless given) or\n"
    "                        --warmup-steps N (one as long as the run is warned about);\n"
    "                        then half-cosine to 0\n"
    "  --weight-decay X      (default 0.1: ndim >= 2 and cls, none on 1-d)\n"
    "  --beta1 X --beta2 X   AdamW betas (default 0.9, 0.999)\n"
    "  --clip-grad X         global-norm clipping (default 0: off)\n"
    "  --seed S              init seed of a baseline / new heads (default 0)\n"
    "state and output:\n"
    LGP_TRAINOPTS_STATE_HELP("cl", "weights, momentum, BN statistics, optimizer, schedule,\n"
                         "                        data position")
    "  --log FILE.jsonl      one JSON object per logged step (loss, ctr, mim, collapse, m)\n"
    LGP_TRAINOPTS_RUN_HELP
    "\n"
    "example:\n"
    "  { lgp-graft --lr-layer-wise 1.5e-5,1.5e-5,1.5e-4 stage1.ckpt;\n"
    "    tar-images train.tar | lgp-augment --recipe moco; } |\n"
    "    lgp-cl-train --epochs 300 --batch 256 -o stage2.ckpt\n"
    "\n"
    "across processes (make MPI=1): --batch is per rank; keys all-gathered, SyncBN in the\n"
    "heads, gradients averaged; rank 0 writes (see lgp-cl-train(1), MULTIPLE PROCESSES):\n"
    "  mpirun -np 4 sh -c 'tar-images --shard auto train.tar | lgp-augment --recipe moco |\n"
    "    lgp-cl-train --init start.ckpt --batch 64 --epochs 300 -o stage2.ckpt'\n"
    "\n"
    "A run that ends early (input ended, SIGTERM/SIGINT, every batch non-finite) exits 1\n"
    "and keeps its state only in --checkpoint-dir (else FILE.partial beside -o FILE).\n"
    "exit status: 0 every planned step trained; 1 bad input or a record that does not fit\n"
    "the model, write error, ended early, NaN with --nan-policy stop; 2 usage error.\n"
    "See lgp-cl-train(1).\n";

struct opts {
    lgp_trainopts t; /* the options every trainer shares (trainopts.h) */
    lgp_cl_opts co;   /* heads, tau, momentum, MIM weight, lr groups */
    int64_t gradconf_every;
};

static void parse(int argc, char **argv, struct opts *o) {
    enum { O_MLP = 0x4001, O_MOCO, O_LW, O_BLR, O_FREEZE, O_TAU, O_M, O_MIM, O_HEADS, O_PATCH, O_GC };
    static const struct option lo[] = {
        LGP_TRAINOPTS_LONGOPTS, {"mlp-dim", 1, 0, O_MLP}, {"moco-dim", 1, 0, O_MOCO}, {"lr-layer-wise", 1, 0, O_LW},
        {"blr", 1, 0, O_BLR}, {"freeze-below", 1, 0, O_FREEZE}, {"tau", 1, 0, O_TAU}, {"moco-m", 1, 0, O_M},
        {"mim-weight", 1, 0, O_MIM}, {"lr-heads", 1, 0, O_HEADS}, {"train-patch-embed", 0, 0, O_PATCH},
        {"gradconf-every", 1, 0, O_GC}, {0, 0, 0, 0},
    };
    char err[512];
    int c;
    while ((c = getopt_long(argc, argv, "qvo:", lo, NULL)) != -1) {
        if (lgp_trainopts_parse(&o->t, c, optarg, help)) continue;
        switch (c) {
        case O_MLP: o->co.mlp_dim = (int)lgp_opt_int("--mlp-dim", optarg, 1, 65536); break;
        case O_MOCO: o->co.moco_dim = (int)lgp_opt_int("--moco-dim", optarg, 1, 65536); break;
        case O_LW:
            if (lgp_groups_parse(&o->co.groups, optarg, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
            break;
        case O_BLR: o->co.groups.n = 1, o->co.groups.blr[0] = lgp_opt_double("--blr", optarg, 0, 1e3); break;
        case O_FREEZE:
            o->co.groups.freeze_below = (int)lgp_opt_int("--freeze-below", optarg, 0, LGP_VIT_MAX_DEPTH);
            o->co.freeze_set = 1;
            break;
        case O_TAU: o->co.tau = lgp_opt_double("--tau", optarg, 1e-4, 100); break;
        case O_M: o->co.m0 = lgp_opt_double("--moco-m", optarg, 1e-6, 1); break;
        case O_MIM: o->co.mim_weight = lgp_opt_double("--mim-weight", optarg, 0, 1e6); break;
        case O_HEADS: o->co.groups.heads_set = 1, o->co.groups.heads_blr = lgp_opt_double("--lr-heads", optarg, 0, 1e3); break;
        case O_PATCH: o->co.groups.train_patch = 1; break;
        case O_GC: o->gradconf_every = lgp_opt_int("--gradconf-every", optarg, 1, INT64_MAX); break;
        default: lgp_usage_die("unexpected option");
        }
    }
    lgp_trainopts_finish(&o->t, argc, argv, optind);
}

/* --resume with method options: they must be the resumed run's (lr groups, freezing,
 * tau, momentum, head sizes), or the run would silently go on with other ones. */
static void check_method(const lgp_cl_opts *asked, const lgp_cl_opts *have, const char *src) {
    const lgp_groups *a = &asked->groups, *h = &have->groups;
    int groups = (a->n && (a->n != h->n || memcmp(a->blr, h->blr, sizeof(double) * (size_t)a->n))) ||
                 (a->heads_set && (!h->heads_set || a->heads_blr != h->heads_blr)) || (a->train_patch && !h->train_patch);
    if (groups || (asked->freeze_set && a->freeze_below != h->freeze_below) || (asked->tau > 0 && asked->tau != have->tau) ||
        (asked->m0 > 0 && asked->m0 != have->m0) || (asked->mlp_dim && asked->mlp_dim != have->mlp_dim) ||
        (asked->moco_dim && asked->moco_dim != have->moco_dim))
        lgp_usage_die("--resume: the lr groups (--lr-layer-wise, --lr-heads, --train-patch-embed), --freeze-below, --tau, "
                      "--moco-m or head sizes asked for differ from "
                      "%s's; a resumed run keeps its method (give the same options, or none)", src);
}

/* A checkpoint fixes the model: --model and size options that ask for another are an
 * error, not ignored. */
static void check_model(const struct opts *o, const lgp_vit_config *have, const char *src) {
    char err[1024];
    lgp_vit_config asked = *have;
    if (o->t.model && lgp_vit_config_by_name(o->t.model, &asked) != LGP_OK) lgp_usage_die("--model: unknown model '%s'", o->t.model);
    lgp_modelcfg_apply(&asked, &o->t.ov);
    if (lgp_modelcfg_check_encoder(&asked, have, src, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
}

/* The start: resume, a checkpoint (file or first stream on the input), or a baseline. */
static void start(lgp_cl_state *s, const struct opts *o, lgp_reader *r) {
    char err[2048];
    lgp_vit_config cfg, *fb = NULL;
    if (o->t.model) {
        if (lgp_vit_config_by_name(o->t.model, &cfg) != LGP_OK) lgp_usage_die("--model: unknown model '%s'", o->t.model);
        lgp_modelcfg_apply(&cfg, &o->t.ov);
        if (lgp_vit_config_check(&cfg, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
        fb = &cfg;
    }
    int on_input = lgp_ckpt_is_stream(lgp_reader_meta(r));
    if (o->t.resume) {
        /* The same command line plus --resume continues the run: the start it names (a
         * checkpoint on the input, --init, --model) is passed over, the state is the
         * snapshot's. */
        if (lgp_cl_state_resume(s, o->t.resume, err, sizeof err) != LGP_OK) lgp_die("%s", err);
        if (s->run.sched.world != lgp_dist_size())
            lgp_die("%s: written by %d ranks; resume with the same number (this run has %d)", o->t.resume,
                    s->run.sched.world, lgp_dist_size());
        lgp_run_check_gemm(&s->run, o->t.resume);
        check_model(o, &s->m.cfg, o->t.resume);
        check_method(&o->co, &s->co, o->t.resume);
        if (o->t.given_seed && o->t.seed != s->run.seed)
            lgp_usage_die("--resume: --seed %llu differs from the resumed run's %llu", (unsigned long long)o->t.seed,
                          (unsigned long long)s->run.seed);
        if (on_input) {
            lgp_record rec;
            lgp_record_init(&rec);
            char *meta = NULL;
            if (lgp_ckpt_read(r, &rec, &meta, err, sizeof err) != LGP_OK) lgp_die("%s", err);
            free(meta);
            lgp_record_free(&rec);
            if (lgp_reader_next_stream(r) != LGP_OK)
                lgp_die("%s: no view stream follows the checkpoint%s%s", lgp_reader_name(r),
                        lgp_reader_error(r)[0] ? ": " : "", lgp_reader_error(r));
        }
        lgp_info("resuming %s at step %lld/%lld (skipping %lld records already used)", o->t.resume,
                 (long long)s->run.step, (long long)s->run.sched.total_steps, (long long)s->run.consumed);
        return;
    }
    if (on_input && o->t.init) lgp_usage_die("--init given, but the input starts with a checkpoint too");
    int rc;
    if (o->t.init || on_input) {
        lgp_record rec;
        lgp_record_init(&rec);
        char *meta = NULL;
        const char *src = o->t.init ? o->t.init : lgp_reader_name(r);
        rc = o->t.init ? lgp_ckpt_load(o->t.init, &rec, &meta, err, sizeof err) : lgp_ckpt_read(r, &rec, &meta, err, sizeof err);
        if (rc != LGP_OK || lgp_ckpt_check_complete(meta, src, err, sizeof err) != LGP_OK) lgp_die("%s", err);
        if (on_input && lgp_reader_next_stream(r) != LGP_OK)
            lgp_die("%s: no view stream follows the checkpoint%s%s", src, lgp_reader_error(r)[0] ? ": " : "", lgp_reader_error(r));
        rc = lgp_cl_state_start(s, &rec, meta, src, fb, &o->co, o->t.seed, &o->t.hp, err, sizeof err);
        free(meta);
        lgp_record_free(&rec);
        if (rc == LGP_OK) check_model(o, &s->m.cfg, src);
    } else if (fb) {
        rc = lgp_cl_state_new(s, &cfg, &o->co, o->t.seed, &o->t.hp, err, sizeof err);
    } else
        lgp_usage_die("%s: no checkpoint on the input; give --init FILE, or --model NAME for the MoCo v3 baseline", lgp_reader_name(r));
    if (rc == LGP_USAGE) lgp_usage_die("%s", err);
    if (rc != LGP_OK) lgp_die("%s", err);
}

/* The schedule the options and the stream ask for. */
static int asked_schedule(const struct opts *o, lgp_reader *r, lgp_schedule *sc, char *err, size_t errlen) {
    /* A stream's count is this rank's shard (tar-images --shard): the epoch is world times it. */
    int64_t spe = o->t.samples_per_epoch ? o->t.samples_per_epoch : lgp_schedule_records_per_epoch(lgp_reader_meta(r));
    if (!o->t.samples_per_epoch && spe > 0) spe *= lgp_dist_size();
    /* blr 1: the peak is global batch/256 and each group's lr_scale is its base lr (docs/METHOD.md pitfall M10). */
    return lgp_trainopts_schedule(&o->t, sc, spe, 1, lgp_dist_size(), 1.0, 0, 0, err, errlen);
}

static void setup(lgp_cl_state *s, const struct opts *o, lgp_reader *r) {
    char err[1024];
    start(s, o, r);
    if (o->t.resume) {
        if (o->t.given) {
            lgp_schedule asked;
            if (asked_schedule(o, r, &asked, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
            if (lgp_schedule_check_resume(&s->run.sched, &asked, o->t.given, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
        }
        return;
    }
    int C = s->m.cfg.in_chans;
    if (o->t.nmean || o->t.nstd) {
        if (o->t.nmean != C || o->t.nstd != C) lgp_usage_die("--mean/--std need %d values each", C);
        for (int c = 0; c < C; c++) s->run.mean[c] = (float)o->t.mean[c], s->run.std[c] = (float)o->t.std[c];
    }
    if (asked_schedule(o, r, &s->run.sched, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
    s->run.clip = o->t.clip;
    lgp_run_take_classes(&s->run, lgp_reader_meta(r));
    lgp_trainopts_say_warmup(&o->t, &s->run.sched);
    const lgp_groups *g = &s->co.groups;
    lgp_info("%s: %zu parameters, heads %d/%d; %lld steps of %d x %d ranks images, %d lr group%s (last %.3g), "
             "warmup %lld", s->run.init, s->m.params.total, s->co.mlp_dim, s->co.moco_dim, (long long)s->run.sched.total_steps,
             s->run.sched.batch, s->run.sched.world, g->n, g->n == 1 ? "" : "s", g->blr[g->n - 1] * s->run.sched.lr,
             (long long)s->run.sched.warmup_steps);
}

/* What the step callback needs besides the state. */
typedef struct {
    lgp_cl_state s;
    lgp_cl_engine e;
    lgp_trainer_io io;
    int64_t gradconf_every; /* 0: off */
    lgp_gradconf gc;
    float *gctr;            /* [params.total]: the contrastive part of a measured step */
} cl;

/* FNV-1a over everything the ranks must agree on: online and momentum weights, BN stats. */
static uint64_t state_hash(const void *p) {
    const lgp_cl_state *s = &((const cl *)p)->s;
    uint64_t h = 0xcbf29ce484222325ULL;
    const float *bufs[4] = {s->m.params.data, s->mom.params.data, s->stats, s->mstats};
    size_t lens[4] = {s->m.params.total, s->mom.params.total, s->nstats, s->nstats};
    for (int k = 0; k < 4; k++) {
        const unsigned char *d = (const unsigned char *)bufs[k];
        for (size_t i = 0; i < lens[k] * sizeof(float); i++) h = (h ^ d[i]) * 0x100000001b3ULL;
    }
    return h;
}

static int state_record(const void *p, lgp_record *rec) { return lgp_cl_state_record(&((const cl *)p)->s, rec, 1); }
static char *state_meta(const void *p, int complete) { return lgp_cl_state_meta(&((const cl *)p)->s, complete); }

/* A skipped non-finite step must not have reached the BatchNorm statistics. */
static const char *bn_check(const void *p) {
    const lgp_cl_state *s = &((const cl *)p)->s;
    return lgp_trainer_first_nonfinite(s->stats, s->nstats) >= 0 || lgp_trainer_first_nonfinite(s->mstats, s->nstats) >= 0
               ? "the BatchNorm statistics"
               : NULL;
}

/* Forward/backward of one batch on every rank, gradients averaged over the ranks. */
static int step(void *p, lgp_trainer_step_out *out) {
    cl *x = p;
    lgp_cl_state *s = &x->s;
    /* The step has collectives (keys, SyncBN): a full batch everywhere is agreed first. */
    int got = lgp_trainer_fill(&x->io);
    if (got <= 0) return got;
    static uint64_t ids[1 << 16];
    int epoch_same = 1;
    for (int i = 0; i < x->io.b.n; i++) {
        ids[i] = (uint64_t)x->io.b.index[i];
        epoch_same &= x->io.b.epoch[i] == x->io.b.epoch[0];
    }
    if (!epoch_same)
        for (int i = 0; i < x->io.b.n; i++) ids[i] |= (uint64_t)x->io.b.epoch[i] << 40;
    double m = lgp_cl_momentum_at(s), collapse, ctr, mim;
    /* A measured step takes the two gradients apart (one process: nothing to all-reduce),
     * then adds them back: the update is the same as on any other step. */
    int measure = x->gradconf_every && s->run.step % x->gradconf_every == 0;
    if (measure) x->e.grad_ctr = x->gctr, x->e.grads = NULL;
    double loss = lgp_cl_engine_step(&x->e, x->io.b.x[0], x->io.b.x[1], x->io.b.n, m, ids, epoch_same ? (uint64_t)x->io.b.epoch[0] : 0,
                                     &collapse, &ctr, &mim);
    double gcos[LGP_GC_MAX_PARTS];
    if (measure) {
        lgp_gradconf_cosines(&x->gc, x->gctr, s->m.grads, gcos);
        float *G = s->m.grads;
        for (size_t i = 0; i < s->m.params.total; i++) G[i] += x->gctr[i];
        x->e.grad_ctr = NULL, x->e.grads = &x->io.gs;
    }
    /* One small reduction after the step: a stop request on any rank stops them all at
     * this step (at the next if it lands past the reduction); the losses become global
     * means (collapse: the mean of the ranks' local monitors). */
    double f[5] = {lgp_trainer_stop_flag(), loss, ctr, mim, collapse};
    lgp_dist_sum_d(f, 5);
    double w = lgp_dist_size();
    lgp_trainer_stop_agreed(f[0]);
    lgp_gradsync_finish(x->e.grads);
    s->run.consumed = x->io.b.consumed;
    out->loss = f[1] / w;
    out->images = (int64_t)s->run.sched.batch * s->run.sched.world;
    int k = snprintf(out->extra, sizeof out->extra, ",\"ctr\":%.9g,\"mim\":%.9g,\"collapse\":%.6g,\"moco_m\":%.9g", f[2] / w,
                     f[3] / w, f[4] / w, m);
    if (measure) lgp_gradconf_log(&x->gc, gcos, out->extra + k, sizeof out->extra - (size_t)k);
    return 1;
}

int main(int argc, char **argv) {
    lgp_trainer_init(&argc, &argv);
    static const lgp_adamw_hparams hp = {0.9f, 0.999f, 1e-8f, 0.1f};
    struct opts o = {0};
    lgp_trainopts_init(&o.t, &hp);
    lgp_cl_opts_init(&o.co);
    parse(argc, argv, &o);
    lgp_trainer_ready(&o.t, NULL);
    char err[1024];
    static cl x;
    lgp_trainer_io_open(&x.io, o.t.input);
    lgp_cl_state *s = &x.s;
    setup(s, &o, x.io.r); /* reads a start checkpoint off the input first */
    lgp_trainer_io_ready(&x.io, &s->m.cfg, 2, 0, &s->run, o.t.strict, &s->m.params, s->m.grads);
    if (lgp_cl_engine_init(&x.e, s, s->run.sched.batch, err, sizeof err) != LGP_OK)
        lgp_die("cannot allocate batch %d: %s", s->run.sched.batch, err);
    x.e.grads = &x.io.gs;
    if (o.gradconf_every) {
        if (s->co.mim_weight <= 0) lgp_usage_die("--gradconf-every compares the MAE and the contrastive gradient: it needs --mim-weight");
        if (lgp_dist_size() > 1) lgp_usage_die("--gradconf-every measures one process's gradients; run it without mpirun");
        x.gradconf_every = o.gradconf_every;
        if (lgp_gradconf_init(&x.gc, &s->m.params, err, sizeof err) != LGP_OK || !(x.gctr = lgp_floats_alloc(s->m.params.total)))
            lgp_die("gradconf: %s", err);
    }
    lgp_trainer t = {.prefix = "cl", .state = &x, .run = &s->run, .opt = &s->opt, .table = &s->m.params,
                     .params = s->m.params.data, .grads = s->m.grads,
                     .log_lr_scale = s->co.groups.blr[s->co.groups.n - 1], .step = step, .record = state_record,
                     .meta = state_meta, .hash = state_hash, .skip_check = bn_check};
    lgp_trainer_run(&t, &o.t, &x.io);
    lgp_trainer_io_close(&x.io, s->run.step);
    lgp_cl_engine_free(&x.e);
    if (x.gradconf_every) lgp_gradconf_free(&x.gc), free(x.gctr);
    lgp_cl_state_free(s);
    lgp_dist_finalize();
    return LGP_EXIT_OK;
}
