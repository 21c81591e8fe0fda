/* lgp-cl-train — stage 2: MoCo v3 on a stream of two-view records, grafted on the MIM
 * layers (from lgp-graft) or from scratch (the plain-CL baseline). */
#include "common/batch.h"
#include "common/cli.h"
#include "common/clstate.h"
#include "common/dist.h"
#include "common/lgp.h"
#include "common/log.h"
#include "common/modelcfg.h"
#include "common/signals.h"
#include "common/threads.h"
#include "common/trainer.h"
#include "common/trainlog.h"
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
    "  --tau T               temperature (default: the checkpoint's, else 0.2)\n"
    "  --moco-m M            momentum at step 0, cosine to 1 at the end (default 0.99)\n"
    "  --mim-weight W        add W x MAE loss on view 0 (needs the decoder: lgp-graft\n"
    "                        --keep-decoder, or created for the baseline)\n"
    "  --mean M[,M,M] --std S[,S,S]  input normalisation (default: the checkpoint's)\n"
    "schedule:\n"
    "  --batch B             images per step (default 256); lr_g = blr_g*B/256\n"
    "  --epochs E | --steps N  training length (epochs need the stream's record count or\n"
    "                        --samples-per-epoch N)\n"
    "  --warmup-epochs E     (default 40) or --warmup-steps N; then half-cosine to 0\n"
    "  --weight-decay X      (default 0.1: ndim >= 2 and cls, none on 1-d)\n"
    "  --beta1 X --beta2 X   AdamW betas (default 0.9, 0.999)\n"
    "  --clip-grad X         global-norm clipping (default 0: off)\n"
    "  --seed S              init seed of a baseline / new heads (default 0)\n"
    "state and output:\n"
    "  --checkpoint-dir DIR  snapshots DIR/cl-stepNNNNNNNN.ckpt and DIR/cl-latest.ckpt\n"
    "  --save-every N        snapshot every N steps (default 0: only at the end/on signal)\n"
    "  --keep N              keep the newest N snapshots (default 3)\n"
    "  --resume FILE         continue a run exactly (weights, momentum, BN statistics,\n"
    "                        optimizer, schedule, data position); add it to the run's own\n"
    "                        command line: its start is passed over (options that differ:\n"
    "                        error)\n"
    "  --allow-partial       accept an unfinished start checkpoint (complete: false)\n"
    "  --nan-policy skip|stop|rollback  on a non-finite loss or gradient: skip the batch\n"
    "                        (default), stop, or reload the newest snapshot of\n"
    "                        --checkpoint-dir and go on with the data after the bad batch\n"
    "  --log FILE.jsonl      one JSON object per logged step (loss, ctr, mim, collapse, m)\n"
    "  --log-every N         plain progress line every N steps (default 50)\n"
    "  --threads N           OpenMP/OpenBLAS threads (default: all cores)\n"
    "  --strict              a bad record is fatal (default: skip with a message)\n"
    LGP_OUTPUT_HELP
    "  -q, --quiet / -v, --verbose / --progress / --help / --version\n"
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
    const char *model, *init, *resume, *input, *ckpt_dir, *log;
    lgp_modelcfg_overrides ov;
    lgp_cl_opts co;
    double epochs, warmup_epochs, clip, mean[4], std[4];
    int batch, keep, threads, strict, nan_policy, nmean, nstd;
    int64_t steps, warmup_steps, samples_per_epoch, save_every, log_every, inject_nan;
    int inject_always, given_seed;
    unsigned given; /* LGP_GIVEN_*: schedule options on the command line */
    uint64_t seed;
    lgp_adamw_hparams hp;
    lgp_output_opts out;
};

static int parse_floats(const char *flag, const char *s, double *v) {
    int n = 0;
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", s);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == 4) lgp_usage_die("%s: at most 4 values", flag);
        v[n++] = lgp_opt_double(flag, t, -1e6, 1e6);
    }
    return n;
}

static void parse(int argc, char **argv, struct opts *o) {
    enum { O_MODEL = 0x4001, O_INIT, O_MLP, O_MOCO, O_LW, O_BLR, O_FREEZE, O_TAU, O_M, O_MIM, O_BATCH, O_EPOCHS,
           O_STEPS, O_SPE, O_WE, O_WS, O_WD, O_B1, O_B2, O_CLIP, O_SEED, O_CKD, O_SAVE, O_KEEP, O_RESUME, O_NAN,
           O_LOG, O_LOGE, O_THR, O_STRICT, O_MEAN, O_STD, O_INJ, O_PARTIAL };
    static const struct option lo[] = {
        LGP_COMMON_LONGOPTS, LGP_OUTPUT_LONGOPTS, LGP_MODELCFG_LONGOPTS,
        {"model", 1, 0, O_MODEL}, {"init", 1, 0, O_INIT}, {"mlp-dim", 1, 0, O_MLP}, {"moco-dim", 1, 0, O_MOCO},
        {"lr-layer-wise", 1, 0, O_LW}, {"blr", 1, 0, O_BLR}, {"freeze-below", 1, 0, O_FREEZE}, {"tau", 1, 0, O_TAU},
        {"moco-m", 1, 0, O_M}, {"mim-weight", 1, 0, O_MIM}, {"batch", 1, 0, O_BATCH}, {"epochs", 1, 0, O_EPOCHS},
        {"steps", 1, 0, O_STEPS}, {"samples-per-epoch", 1, 0, O_SPE}, {"warmup-epochs", 1, 0, O_WE},
        {"warmup-steps", 1, 0, O_WS}, {"weight-decay", 1, 0, O_WD}, {"beta1", 1, 0, O_B1}, {"beta2", 1, 0, O_B2},
        {"clip-grad", 1, 0, O_CLIP}, {"seed", 1, 0, O_SEED}, {"checkpoint-dir", 1, 0, O_CKD},
        {"save-every", 1, 0, O_SAVE}, {"keep", 1, 0, O_KEEP}, {"resume", 1, 0, O_RESUME},
        {"nan-policy", 1, 0, O_NAN}, {"log", 1, 0, O_LOG}, {"log-every", 1, 0, O_LOGE}, {"threads", 1, 0, O_THR},
        {"strict", 0, 0, O_STRICT}, {"mean", 1, 0, O_MEAN}, {"std", 1, 0, O_STD}, {"inject-nan-at", 1, 0, O_INJ},
        {"allow-partial", 0, 0, O_PARTIAL}, {0, 0, 0, 0},
    };
    char err[512];
    int c;
    while ((c = getopt_long(argc, argv, "qvo:", lo, NULL)) != -1) {
        if (lgp_common_opt(c, help) || lgp_output_opt(&o->out, c, optarg) || lgp_modelcfg_opt(&o->ov, c, optarg)) continue;
        switch (c) {
        case O_MODEL: o->model = optarg; break;
        case O_INIT: o->init = optarg; break;
        case O_MLP: o->co.mlp_dim = (int)lgp_opt_int("--mlp-dim", optarg, 1, 65536); break;
        case O_MOCO: o->co.moco_dim = (int)lgp_opt_int("--moco-dim", optarg, 1, 65536); break;
        case O_LW:
            if (lgp_cl_groups_parse(&o->co.groups, optarg, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
            break;
        case O_BLR: o->co.groups.n = 1, o->co.groups.blr[0] = lgp_opt_double("--blr", optarg, 0, 1e3); break;
        case O_FREEZE:
            o->co.groups.freeze_below = (int)lgp_opt_int("--freeze-below", optarg, 0, LGP_VIT_MAX_DEPTH);
            o->co.freeze_set = 1;
            break;
        case O_TAU: o->co.tau = lgp_opt_double("--tau", optarg, 1e-4, 100); break;
        case O_M: o->co.m0 = lgp_opt_double("--moco-m", optarg, 1e-6, 1); break;
        case O_MIM: o->co.mim_weight = lgp_opt_double("--mim-weight", optarg, 0, 1e6); break;
        case O_BATCH: o->batch = (int)lgp_opt_int("--batch", optarg, 2, 1 << 16), o->given |= LGP_GIVEN_BATCH; break;
        case O_EPOCHS:
            o->epochs = lgp_opt_double("--epochs", optarg, 1e-9, 1e7), o->given |= LGP_GIVEN_LENGTH;
            if (o->steps) lgp_usage_die("--epochs and --steps exclude each other");
            break;
        case O_STEPS:
            o->steps = lgp_opt_int("--steps", optarg, 1, INT64_MAX / 2), o->given |= LGP_GIVEN_LENGTH;
            if (o->epochs > 0) lgp_usage_die("--epochs and --steps exclude each other");
            break;
        case O_SPE: o->samples_per_epoch = lgp_opt_int("--samples-per-epoch", optarg, 1, INT64_MAX / 2); break;
        case O_WE: o->warmup_epochs = lgp_opt_double("--warmup-epochs", optarg, 0, 1e7), o->given |= LGP_GIVEN_WARMUP; break;
        case O_WS: o->warmup_steps = lgp_opt_int("--warmup-steps", optarg, 0, INT64_MAX / 2), o->given |= LGP_GIVEN_WARMUP; break;
        case O_WD: o->hp.weight_decay = (float)lgp_opt_double("--weight-decay", optarg, 0, 10); break;
        case O_B1: o->hp.beta1 = (float)lgp_opt_double("--beta1", optarg, 0, 0.999999); break;
        case O_B2: o->hp.beta2 = (float)lgp_opt_double("--beta2", optarg, 0, 0.999999); break;
        case O_CLIP: o->clip = lgp_opt_double("--clip-grad", optarg, 0, 1e9); break;
        case O_SEED: o->seed = lgp_opt_u64("--seed", optarg), o->given_seed = 1; break;
        case O_PARTIAL: lgp_ckpt_allow_partial = 1; break;
        case O_CKD: o->ckpt_dir = optarg; break;
        case O_SAVE: o->save_every = lgp_opt_int("--save-every", optarg, 0, INT64_MAX / 2); break;
        case O_KEEP: o->keep = (int)lgp_opt_int("--keep", optarg, 1, 1000000); break;
        case O_RESUME: o->resume = optarg; break;
        case O_NAN:
            if ((o->nan_policy = lgp_nan_policy_parse(optarg)) < 0)
                lgp_usage_die("--nan-policy: 'skip', 'stop' or 'rollback', not '%s'", optarg);
            break;
        case O_LOG: o->log = optarg; break;
        case O_LOGE: o->log_every = lgp_opt_int("--log-every", optarg, 1, INT64_MAX / 2); break;
        case O_THR: o->threads = (int)lgp_opt_int("--threads", optarg, 1, 1024); break;
        case O_STRICT: o->strict = 1; break;
        case O_MEAN: o->nmean = parse_floats("--mean", optarg, o->mean); break;
        case O_STD:
            o->nstd = parse_floats("--std", optarg, o->std);
            for (int k = 0; k < o->nstd; k++)
                if (!(o->std[k] > 0)) lgp_usage_die("--std: %g is not > 0 (every input would become non-finite)", o->std[k]);
            break;
        case O_INJ: { /* test hook: "K" the first attempt at step K, "K+" every attempt */
            char k[32];
            size_t n = strlen(optarg);
            o->inject_always = n > 1 && n < sizeof k && optarg[n - 1] == '+';
            snprintf(k, sizeof k, "%.*s", (int)(n - (size_t)o->inject_always), optarg);
            o->inject_nan = lgp_opt_int("--inject-nan-at", k, 1, INT64_MAX / 2);
            break;
        }
        default: lgp_usage_die("unexpected option");
        }
    }
    if (optind < argc) o->input = argv[optind++];
    if (optind < argc) lgp_usage_die("extra operand '%s'", argv[optind]);
    if (o->save_every && !o->ckpt_dir) lgp_usage_die("--save-every needs --checkpoint-dir");
    if (o->nan_policy == LGP_NAN_ROLLBACK && !o->ckpt_dir) lgp_usage_die("--nan-policy rollback needs --checkpoint-dir");
}

/* Is the current stream of r a checkpoint (lgp-graft / lgp-cl-train output)? */
static int stream_is_checkpoint(lgp_reader *r) {
    const char *mt = lgp_reader_meta(r);
    lgp_json *m = lgp_json_parse(mt, strlen(mt), NULL, 0);
    int yes = strcmp(lgp_json_get_str(m, "kind", ""), "checkpoint") == 0;
    lgp_json_free(m);
    return yes;
}

/* A checkpoint fixes the model: --model and size options that ask for another are an
 * error, not ignored. */
static void check_model(const struct opts *o, const lgp_vit_config *have, const char *src) {
    char err[1024];
    lgp_vit_config asked = *have;
    if (o->model && lgp_vit_config_by_name(o->model, &asked) != LGP_OK) lgp_usage_die("--model: unknown model '%s'", o->model);
    lgp_modelcfg_apply(&asked, &o->ov);
    if (lgp_modelcfg_check_encoder(&asked, have, src, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
}

/* The start: resume, a checkpoint (file or first stream on the input), or a baseline. */
static void start(lgp_cl_state *s, const struct opts *o, lgp_reader *r) {
    char err[2048];
    lgp_vit_config cfg, *fb = NULL;
    if (o->model) {
        if (lgp_vit_config_by_name(o->model, &cfg) != LGP_OK) lgp_usage_die("--model: unknown model '%s'", o->model);
        lgp_modelcfg_apply(&cfg, &o->ov);
        if (lgp_vit_config_check(&cfg, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
        fb = &cfg;
    }
    int on_input = stream_is_checkpoint(r);
    if (o->resume) {
        /* The same command line plus --resume continues the run: the start it names (a
         * checkpoint on the input, --init, --model) is passed over, the state is the
         * snapshot's. */
        if (lgp_cl_state_resume(s, o->resume, err, sizeof err) != LGP_OK) lgp_die("%s", err);
        if (s->sched.world != lgp_dist_size())
            lgp_die("%s: written by %d ranks; resume with the same number (this run has %d)", o->resume,
                    s->sched.world, lgp_dist_size());
        check_model(o, &s->m.cfg, o->resume);
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
        lgp_info("resuming %s at step %lld/%lld (skipping %lld records already used)", o->resume,
                 (long long)s->step, (long long)s->sched.total_steps, (long long)s->consumed);
        return;
    }
    if (on_input && o->init) lgp_usage_die("--init given, but the input starts with a checkpoint too");
    int rc;
    if (o->init || on_input) {
        lgp_record rec;
        lgp_record_init(&rec);
        char *meta = NULL;
        const char *src = o->init ? o->init : lgp_reader_name(r);
        rc = o->init ? lgp_ckpt_load(o->init, &rec, &meta, err, sizeof err) : lgp_ckpt_read(r, &rec, &meta, err, sizeof err);
        if (rc != LGP_OK || lgp_ckpt_check_complete(meta, src, err, sizeof err) != LGP_OK) lgp_die("%s", err);
        if (on_input && lgp_reader_next_stream(r) != LGP_OK)
            lgp_die("%s: no view stream follows the checkpoint%s%s", src, lgp_reader_error(r)[0] ? ": " : "", lgp_reader_error(r));
        rc = lgp_cl_state_start(s, &rec, meta, src, fb, &o->co, o->seed, &o->hp, err, sizeof err);
        free(meta);
        lgp_record_free(&rec);
        if (rc == LGP_OK) check_model(o, &s->m.cfg, src);
    } else if (fb) {
        rc = lgp_cl_state_new(s, &cfg, &o->co, o->seed, &o->hp, err, sizeof err);
    } else
        lgp_usage_die("%s: no checkpoint on the input; give --init FILE, or --model NAME for the MoCo v3 baseline", lgp_reader_name(r));
    if (rc != LGP_OK) {
        if (strstr(err, "--lr-layer-wise") || strstr(err, "--freeze-below") || strstr(err, "--mlp-dim")) lgp_usage_die("%s", err);
        lgp_die("%s", err);
    }
}

/* The schedule the options and the stream ask for. */
static int asked_schedule(const struct opts *o, lgp_reader *r, lgp_schedule *sc, char *err, size_t errlen) {
    /* A stream's count is this rank's shard (tar-images --shard): the epoch is world times it. */
    int64_t spe = o->samples_per_epoch ? o->samples_per_epoch : lgp_stream_records_per_epoch(lgp_reader_meta(r));
    if (!o->samples_per_epoch && spe > 0) spe *= lgp_dist_size();
    /* blr 1: the peak is global batch/256 and each group's lr_scale is its base lr (P10). */
    return lgp_schedule_make_dist(sc, o->steps, o->epochs, spe, o->warmup_epochs, o->warmup_steps, o->batch, 1,
                                  lgp_dist_size(), 1.0, 0, 0, err, errlen);
}

static void setup(lgp_cl_state *s, const struct opts *o, lgp_reader *r) {
    char err[1024];
    start(s, o, r);
    if (o->resume) {
        if (o->given) {
            lgp_schedule asked;
            if (asked_schedule(o, r, &asked, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
            if (lgp_schedule_check_resume(&s->sched, &asked, o->given, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
        }
        return;
    }
    int C = s->m.cfg.in_chans;
    if (o->nmean || o->nstd) {
        if (o->nmean != C || o->nstd != C) lgp_usage_die("--mean/--std need %d values each", C);
        for (int c = 0; c < C; c++) s->mean[c] = (float)o->mean[c], s->std[c] = (float)o->std[c];
    }
    if (asked_schedule(o, r, &s->sched, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
    s->clip = o->clip;
    if (!s->classes) {
        lgp_json *im = lgp_json_parse(lgp_reader_meta(r), strlen(lgp_reader_meta(r)), NULL, 0);
        const lgp_json *cl = lgp_json_get(im, "classes");
        if (cl) s->classes = lgp_json_clone(cl);
        lgp_json_free(im);
    }
    const lgp_cl_groups *g = &s->co.groups;
    lgp_info("%s: %zu parameters, heads %d/%d; %lld steps of %d x %d ranks images, %d lr group%s (last %.3g), "
             "warmup %lld", s->init, s->m.params.total, s->co.mlp_dim, s->co.moco_dim, (long long)s->sched.total_steps,
             s->sched.batch, s->sched.world, g->n, g->n == 1 ? "" : "s", g->blr[g->n - 1] * s->sched.lr,
             (long long)s->sched.warmup_steps);
}

/* FNV-1a over everything the ranks must agree on: online and momentum weights, BN stats. */
static uint64_t state_hash(const lgp_cl_state *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    const float *bufs[4] = {s->m.params.data, s->mom.params.data, s->stats, s->mstats};
    size_t lens[4] = {s->m.params.total, s->mom.params.total, s->nstats, s->nstats};
    for (int k = 0; k < 4; k++) {
        const unsigned char *p = (const unsigned char *)bufs[k];
        for (size_t i = 0; i < lens[k] * sizeof(float); i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    }
    return h;
}

/* Saves to the snapshot folder (if any) and/or the output (NULL = stdout). */
static void save(const lgp_cl_state *s, const struct opts *o, int complete, int to_output) {
    char err[1024], path[4096];
    lgp_dist_check_same(state_hash(s), "the parameters");
    if (lgp_dist_rank() != 0) return;
    lgp_record rec;
    if (lgp_cl_state_record(s, &rec, 1) != LGP_OK) lgp_die("out of memory");
    char *meta = lgp_cl_state_meta(s, complete);
    if (o->ckpt_dir) {
        if (lgp_snapshot_save(o->ckpt_dir, "cl", s->step, o->keep, &rec, meta, &o->out.w, path, sizeof path, err, sizeof err) != LGP_OK)
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
static _Noreturn void stop_early(const lgp_cl_state *s, const struct opts *o, const char *why) {
    char err[1024], where[4096] = "";
    lgp_dist_check_same(state_hash(s), "the parameters");
    if (lgp_dist_rank() == 0) {
        lgp_record rec;
        if (lgp_cl_state_record(s, &rec, 1) != LGP_OK) lgp_die("out of memory");
        char *meta = lgp_cl_state_meta(s, 0);
        if (lgp_trainer_keep_partial(o->ckpt_dir, "cl", o->keep, o->out.path, s->step, &rec, meta, &o->out.w, where,
                                     sizeof where, err, sizeof err) != LGP_OK)
            lgp_die("%s at step %lld of %lld; saving the state failed: %s", why, (long long)s->step,
                    (long long)s->sched.total_steps, err);
        free(meta);
        lgp_record_free(&rec);
    }
    if (!where[0])
        lgp_die("%s at step %lld of %lld; nothing written (give --checkpoint-dir to keep the state)", why,
                (long long)s->step, (long long)s->sched.total_steps);
    lgp_die("%s at step %lld of %lld; state saved to %s; continue with --resume %s%s", why, (long long)s->step,
            (long long)s->sched.total_steps, where, o->ckpt_dir ? o->ckpt_dir : where, o->ckpt_dir ? "/cl-latest.ckpt" : "");
}

/* Name of the first tensor whose gradient is not finite, or NULL. */
static const char *bad_grad(const lgp_cl_state *s) {
    const lgp_params *p = &s->m.params;
    for (size_t i = 0; i < p->count; i++)
        if (lgp_first_nonfinite(s->m.grads + p->entries[i].offset, p->entries[i].numel) >= 0) return p->entries[i].name;
    return NULL;
}

typedef struct { double loss, ctr, mim, collapse, m, gnorm; } step_info;

/* Forward/backward of one batch on every rank, gradients averaged over the ranks.
 * Returns 0 when any rank's data ended (every rank then stops at the same step), -1 when
 * a signal came while waiting for input. */
static int train_step(lgp_cl_state *s, lgp_cl_engine *e, lgp_batch *b, const lgp_batch_cfg *bc, lgp_reader *r,
                      lgp_record *scratch, const struct opts *o, step_info *si) {
    char err[1024];
    int rc = lgp_batch_fill(b, bc, r, scratch, err, sizeof err);
    if (rc == LGP_FATAL) {
        if (lgp_reader_interrupted(r)) return -1; /* SIGTERM while waiting for input */
        lgp_die("%s", err);
    }
    /* The step itself has collectives (keys, SyncBN), so whether every rank has a full
     * batch (drop_last) must be agreed before it, not after as in lgp-mim-train. */
    double short_ranks = b->n < b->cap ? 1 : 0;
    lgp_dist_sum_d(&short_ranks, 1);
    if (short_ranks > 0) return 0;
    static uint64_t ids[1 << 16];
    int epoch_same = 1;
    for (int i = 0; i < b->n; i++) {
        ids[i] = (uint64_t)b->index[i];
        epoch_same &= b->epoch[i] == b->epoch[0];
    }
    if (!epoch_same)
        for (int i = 0; i < b->n; i++) ids[i] |= (uint64_t)b->epoch[i] << 40;
    si->m = lgp_cl_momentum_at(s);
    si->loss = lgp_cl_engine_step(e, b->x[0], b->x[1], b->n, si->m, ids, epoch_same ? (uint64_t)b->epoch[0] : 0,
                                  &si->collapse, &si->ctr, &si->mim);
    /* One small reduction after the step: a stop request on any rank stops them all at
     * this step; the losses become global means (collapse: the mean of the ranks' local
     * monitors). */
    double f[5] = {lgp_stop_requested ? 1 : 0, si->loss, si->ctr, si->mim, si->collapse};
    lgp_dist_sum_d(f, 5);
    double w = lgp_dist_size();
    if (f[0] > 0 && !lgp_stop_requested) lgp_stop_requested = SIGTERM;
    si->loss = f[1] / w, si->ctr = f[2] / w, si->mim = f[3] / w, si->collapse = f[4] / w;
    lgp_grad_sync_finish(e->grads);
    s->consumed = b->consumed;
    static int injected;
    if (o->inject_nan && s->step + 1 == o->inject_nan && (o->inject_always || !injected++))
        s->m.grads[0] = NAN; /* test hook for the guard */
    si->gnorm = lgp_grad_clip(&s->m.params, s->m.grads, s->clip);
    return 1;
}


/* --nan-policy rollback: back to the newest snapshot; the data stream goes on. */
static void rollback(lgp_cl_state *s, const struct opts *o, const char *pre, const char *bad, int *in_a_row) {
    char err[1024], path[4096];
    long long at = (long long)s->step + 1;
    if (++*in_a_row > LGP_MAX_ROLLBACKS)
        lgp_die("step %lld: non-finite %s%s after %d rollbacks to the same snapshot; stopping (last snapshot intact)", at,
                pre, bad, LGP_MAX_ROLLBACKS);
    lgp_record live;
    if (lgp_cl_state_record(s, &live, 1) != LGP_OK) lgp_die("out of memory");
    int64_t step, t;
    if (lgp_rollback(o->ckpt_dir, "cl", &live, &step, &t, path, sizeof path, err, sizeof err) != LGP_OK)
        lgp_die("step %lld: non-finite %s%s; cannot roll back: %s", at, pre, bad, err);
    lgp_record_free(&live);
    s->step = step;
    s->opt.t = t;
    lgp_warn("step %lld: non-finite %s%s; rolled back to %s (step %lld); the batches since then are passed over", at, pre,
             bad, path, (long long)step);
}

/* Non-finite loss or gradient: skip the batch, stop or roll back, by policy. Returns 0
 * when the step is good. */
static int guard(lgp_cl_state *s, const struct opts *o, const step_info *si, int *in_a_row) {
    const char *bad = !isfinite(si->loss) ? "loss" : bad_grad(s);
    if (!bad) return 0;
    const char *pre = strcmp(bad, "loss") ? "gradient of " : "";
    if (o->nan_policy == LGP_NAN_ROLLBACK) { /* the BN statistics come back too */
        rollback(s, o, pre, bad, in_a_row);
        return 2;
    }
    if (o->nan_policy == LGP_NAN_STOP) lgp_die("step %lld: non-finite %s%s; stopping (last snapshot intact)", (long long)s->step + 1, pre, bad);
    if (lgp_first_nonfinite(s->stats, s->nstats) >= 0 || lgp_first_nonfinite(s->mstats, s->nstats) >= 0)
        lgp_die("step %lld: non-finite %s%s reached the BatchNorm statistics; stopping (last snapshot intact)",
                (long long)s->step + 1, pre, bad);
    lgp_warn("step %lld: non-finite %s%s; batch skipped", (long long)s->step + 1, pre, bad);
    return 1;
}

int main(int argc, char **argv) {
    /* OpenMP threads that sleep instead of spinning leave the cores to OpenBLAS. */
    lgp_threads_passive_reexec(argv);
    lgp_proginit(argc, argv);
    lgp_dist_init(&argc, &argv);
    struct opts o = {.batch = 256, .warmup_epochs = 40, .warmup_steps = -1, .keep = 3, .log_every = 50, .input = "-",
                     .hp = {0.9f, 0.999f, 1e-8f, 0.1f}};
    lgp_cl_opts_init(&o.co);
    lgp_output_opts_init(&o.out);
    lgp_modelcfg_overrides_init(&o.ov);
    parse(argc, argv, &o);
    if (lgp_dist_rank() == 0) { /* every output is checked before the work starts */
        lgp_output_precheck(&o.out);
        lgp_check_output_dir("--checkpoint-dir", o.ckpt_dir);
        lgp_check_output_path("--log", o.log);
    } else { /* only rank 0 reports progress; warnings still come from every rank */
        lgp_log_level = LGP_LOG_QUIET;
        lgp_progress = 0;
    }
    lgp_threads_set(o.threads);
    lgp_signals_install();
    char err[1024];
    lgp_reader *r;
    if (lgp_reader_open(&r, o.input, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    lgp_cl_state s;
    setup(&s, &o, r); /* reads a start checkpoint off the input first */
    lgp_trainer_input(r, lgp_dist_size());
    const lgp_vit_config *cfg = &s.m.cfg;
    lgp_batch_cfg bc = {.img_size = cfg->img_size, .in_chans = cfg->in_chans, .nviews = 2, .view_names = {"view0", "view1"},
                        .on_bad_fatal = o.strict, .max_bad = -1};
    memcpy(bc.mean, s.mean, sizeof bc.mean);
    memcpy(bc.std, s.std, sizeof bc.std);
    lgp_batch b;
    lgp_cl_engine e;
    if (lgp_batch_init(&b, &bc, s.sched.batch) != LGP_OK || lgp_cl_engine_init(&e, &s, s.sched.batch, err, sizeof err) != LGP_OK)
        lgp_die("cannot allocate batch %d: %s", s.sched.batch, err);
    lgp_grad_sync gs;
    lgp_grad_sync_init(&gs, &s.m.params, s.m.grads);
    e.grads = &gs;
    lgp_record scratch;
    lgp_record_init(&scratch);
    if (s.consumed && lgp_batch_skip(&b, r, &scratch, s.consumed, err, sizeof err) != LGP_OK)
        lgp_die("%s: cannot skip to record %lld to resume%s%s", lgp_reader_name(r), (long long)s.consumed,
                err[0] ? ": " : " (input too short)", err);
    lgp_dist_check_same(state_hash(&s), "the initial parameters");
    lgp_trainlog log;
    if (lgp_trainlog_open(&log, lgp_dist_rank() == 0 ? o.log : NULL, o.resume != NULL, o.log_every, s.sched.total_steps) != LGP_OK)
        lgp_die_errno("%s: cannot open log", o.log);
    int64_t skipped_nan = 0;
    int rollbacks = 0, rollbacks_in_a_row = 0;
    if (o.nan_policy == LGP_NAN_ROLLBACK) save(&s, &o, 0, 0); /* something to roll back to */
    double top = s.co.groups.blr[s.co.groups.n - 1];
    while (s.step < s.sched.total_steps) {
        step_info si;
        int got = train_step(&s, &e, &b, &bc, r, &scratch, &o, &si);
        if (got <= 0) {
            lgp_trainlog_close(&log);
            lgp_batch_report(&b);
            char why[600];
            if (got < 0) snprintf(why, sizeof why, "stopped by %s", lgp_signal_name(lgp_stop_requested));
            else snprintf(why, sizeof why, "%s: input ended (%lld records used)", lgp_reader_name(r), (long long)b.consumed);
            stop_early(&s, &o, why);
        }
        int g = guard(&s, &o, &si, &rollbacks_in_a_row);
        if (g) {
            skipped_nan += g == 1;
            rollbacks += g == 2;
            continue;
        }
        double lr = lgp_lr_schedule(s.step, s.sched.total_steps, s.sched.warmup_steps, s.sched.lr, 0);
        lgp_adamw_step(&s.opt, s.m.params.data, s.m.grads, (float)lr); /* P1: the optimizer steps */
        s.step++;
        int64_t spe = s.sched.steps_per_epoch;
        char extra[256];
        snprintf(extra, sizeof extra, ",\"ctr\":%.9g,\"mim\":%.9g,\"collapse\":%.6g,\"moco_m\":%.9g", si.ctr, si.mim,
                 si.collapse, si.m);
        lgp_trainlog_step(&log, s.step, spe ? (s.step - 1) / spe : 0, si.loss, lr * top, si.gnorm,
                          s.sched.batch * s.sched.world, extra);
        if (o.save_every && s.step % o.save_every == 0 && s.step < s.sched.total_steps) {
            save(&s, &o, 0, 0);
            rollbacks_in_a_row = 0;
        }
        if (lgp_stop_requested && s.step < s.sched.total_steps) {
            char why[64];
            snprintf(why, sizeof why, "stopped by %s", lgp_signal_name(lgp_stop_requested));
            lgp_trainlog_close(&log);
            stop_early(&s, &o, why);
        }
    }
    lgp_trainlog_close(&log);
    save(&s, &o, 1, 1);
    lgp_batch_report(&b);
    lgp_info("trained %lld steps; %lld records used, %lld skipped as bad, %lld batches skipped for NaN, %d rollbacks%s",
             (long long)s.step, (long long)s.consumed, (long long)b.skipped, (long long)skipped_nan, rollbacks,
             lgp_dist_size() > 1 ? " (rank 0)" : "");
    lgp_grad_sync_report(&gs, s.step);
    lgp_record_free(&scratch);
    lgp_batch_free(&b);
    lgp_cl_engine_free(&e);
    lgp_cl_state_free(&s);
    lgp_reader_close(r);
    lgp_dist_finalize();
    return LGP_EXIT_OK;
}
