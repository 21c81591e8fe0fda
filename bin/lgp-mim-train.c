/* lgp-mim-train — stage 1: masked image modeling (MAE) on a stream of views. */
#include "common/batch.h"
#include "common/dist.h"
#include "common/gradsync.h"
#include "common/cli.h"
#include "common/lgp.h"
#include "common/log.h"
#include "common/mae.h"
#include "common/mimstate.h"
#include "common/modelcfg.h"
#include "common/recon.h"
#include "formats/checkpoint.h"
#include "common/signals.h"
#include "common/threads.h"
#include "common/trainer.h"
#include "common/trainlog.h"

#include <getopt.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "lgp-mim-train — stage 1 of layer-grafted pre-training: MAE\n"
    "\n"
    "usage: lgp-mim-train [options] [INPUT|-] > stage1.ckpt\n"
    "\n"
    "Reads views (u8 [S, S, C] 'view0', or 'image'; a 'mask' u8 [N] from lgp-mask is used\n"
    "when present, else each sample draws its own with the same rule) and trains a ViT\n"
    "encoder + MAE decoder: encoder on the visible patches, loss = MSE on the masked\n"
    "patches against per-patch normalised pixels. Writes a checkpoint (encoder, decoder,\n"
    "AdamW state, config, class list, data position) to stdout or -o.\n"
    "\n"
    "model:\n"
    "  --model NAME          fmnist (default), vit-tiny, vit-small, vit-base, vit-large\n"
    LGP_MODELCFG_HELP
    "  --mask-ratio R        fraction of patches removed (default 0.75)\n"
    "  --no-norm-pix         plain pixel targets (default: per-patch normalised)\n"
    "  --init FILE           start from a checkpoint or timm/MAE safetensors weights\n"
    "  --mean M[,M,M] --std S[,S,S]  input normalisation (default: Fashion-MNIST for 1\n"
    "                        channel, ImageNet for 3)\n"
    "schedule:\n"
    "  --batch B             images per micro-batch (default 256)\n"
    "  --accum K             micro-batches per optimizer step (default 1)\n"
    "  --epochs E | --steps N  training length (epochs need the stream's record count or\n"
    "                        --samples-per-epoch N)\n"
    "  --blr X               base lr per 256 images (default 1.5e-4); lr = blr*B*K/256\n"
    "  --lr X                absolute peak lr (overrides --blr)\n"
    "  --min-lr X            end of the cosine (default 0)\n"
    "  --warmup-epochs E     (default 40) or --warmup-steps N\n"
    "  --weight-decay X      (default 0.05; none on biases, norms)\n"
    "  --beta1 X --beta2 X   AdamW betas (default 0.9, 0.95)\n"
    "  --clip-grad X         global-norm clipping (default 0: off)\n"
    "  --seed S              initialisation and mask seed (default 0)\n"
    "state and output:\n"
    "  --checkpoint-dir DIR  snapshots DIR/mim-stepNNNNNNNN.ckpt and DIR/mim-latest.ckpt\n"
    "  --save-every N        snapshot every N steps (default 0: only at the end/on signal)\n"
    "  --keep N              keep the newest N snapshots (default 3)\n"
    "  --resume FILE         continue a run exactly (weights, optimizer, schedule, data\n"
    "                        position: the first records already used are skipped); add it\n"
    "                        to the run's own command line (options that differ: error)\n"
    "  --allow-partial       accept an unfinished checkpoint (complete: false) for --init\n"
    "  --nan-policy skip|stop|rollback  on a non-finite loss or gradient: skip the batch\n"
    "                        (default), stop with exit 1, or reload the newest snapshot of\n"
    "                        --checkpoint-dir and go on with the data after the bad batch\n"
    "                        (gives up after 3 in a row); no checkpoint ever holds NaN\n"
    "  --recon-png FILE      PNG grid (original | masked | reconstruction) of the last batch\n"
    "  --log FILE.jsonl      one JSON object per logged step\n"
    "  --log-every N         plain progress line every N steps (default 50)\n"
    "  --threads N           OpenMP/OpenBLAS threads (default: all cores)\n"
    "  --strict              a bad record is fatal (default: skip with a message)\n"
    LGP_OUTPUT_HELP
    "  -q, --quiet / -v, --verbose / --progress / --help / --version\n"
    "\n"
    "example:\n"
    "  tar-images /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz |\n"
    "    lgp-augment --recipe mae --size 28 | lgp-mask --patch 4 |\n"
    "    lgp-mim-train --model fmnist --epochs 10 -o stage1.ckpt\n"
    "\n"
    "A run that ends early (input ended, SIGTERM/SIGINT, every batch non-finite) exits 1\n"
    "and keeps its state only in --checkpoint-dir (else FILE.partial beside -o FILE).\n"
    "exit status: 0 every planned step trained; 1 bad input or a record that does not fit\n"
    "the model, write error, ended early, NaN with --nan-policy stop; 2 usage error.\n"
    "See lgp-mim-train(1).\n";

struct opts {
    const char *model, *init, *resume, *input, *ckpt_dir, *log, *recon_png;
    lgp_modelcfg_overrides ov;
    double mask_ratio, epochs, blr, lr, min_lr, warmup_epochs, clip, mean[4], std[4];
    int norm_pix, batch, accum, keep, threads, strict, nan_policy, nmean, nstd;
    int64_t steps, warmup_steps, samples_per_epoch, save_every, log_every, inject_nan;
    int inject_always, given_model, given_ratio, given_seed;
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
    enum { O_MASK = 0x4001, O_NONORM, O_INIT, O_BATCH, O_ACCUM, O_EPOCHS, O_STEPS, O_SPE, O_BLR, O_LR, O_MINLR,
           O_WE, O_WS, O_WD, O_B1, O_B2, O_CLIP, O_SEED, O_CKD, O_SAVE, O_KEEP, O_RESUME, O_NAN, O_PNG, O_LOG,
           O_LOGE, O_THR, O_STRICT, O_MEAN, O_STD, O_MODEL, O_INJ, O_PARTIAL };
    static const struct option lo[] = {
        LGP_COMMON_LONGOPTS, LGP_OUTPUT_LONGOPTS, LGP_MODELCFG_LONGOPTS,
        {"model", 1, 0, O_MODEL}, {"mask-ratio", 1, 0, O_MASK}, {"no-norm-pix", 0, 0, O_NONORM},
        {"init", 1, 0, O_INIT}, {"batch", 1, 0, O_BATCH}, {"accum", 1, 0, O_ACCUM}, {"epochs", 1, 0, O_EPOCHS},
        {"steps", 1, 0, O_STEPS}, {"samples-per-epoch", 1, 0, O_SPE}, {"blr", 1, 0, O_BLR}, {"lr", 1, 0, O_LR},
        {"min-lr", 1, 0, O_MINLR}, {"warmup-epochs", 1, 0, O_WE}, {"warmup-steps", 1, 0, O_WS},
        {"weight-decay", 1, 0, O_WD}, {"beta1", 1, 0, O_B1}, {"beta2", 1, 0, O_B2}, {"clip-grad", 1, 0, O_CLIP},
        {"seed", 1, 0, O_SEED}, {"checkpoint-dir", 1, 0, O_CKD}, {"save-every", 1, 0, O_SAVE},
        {"keep", 1, 0, O_KEEP}, {"resume", 1, 0, O_RESUME}, {"nan-policy", 1, 0, O_NAN},
        {"recon-png", 1, 0, O_PNG}, {"log", 1, 0, O_LOG}, {"log-every", 1, 0, O_LOGE},
        {"threads", 1, 0, O_THR}, {"strict", 0, 0, O_STRICT}, {"mean", 1, 0, O_MEAN}, {"std", 1, 0, O_STD},
        {"inject-nan-at", 1, 0, O_INJ}, {"allow-partial", 0, 0, O_PARTIAL}, {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "qvo:", lo, NULL)) != -1) {
        if (lgp_common_opt(c, help) || lgp_output_opt(&o->out, c, optarg)) continue;
        if (lgp_modelcfg_opt(&o->ov, c, optarg)) {
            o->given_model = 1;
            continue;
        }
        switch (c) {
        case O_MODEL: o->model = optarg, o->given_model = 1; break;
        case O_MASK: o->mask_ratio = lgp_opt_double("--mask-ratio", optarg, 0.0, 0.99), o->given_ratio = 1; break;
        case O_PARTIAL: lgp_ckpt_allow_partial = 1; break;
        case O_NONORM: o->norm_pix = 0; break;
        case O_INIT: o->init = optarg; break;
        case O_BATCH: o->batch = (int)lgp_opt_int("--batch", optarg, 2, 1 << 16), o->given |= LGP_GIVEN_BATCH; break;
        case O_ACCUM: o->accum = (int)lgp_opt_int("--accum", optarg, 1, 1 << 16), o->given |= LGP_GIVEN_ACCUM; break;
        case O_EPOCHS:
            o->epochs = lgp_opt_double("--epochs", optarg, 1e-9, 1e7), o->given |= LGP_GIVEN_LENGTH;
            if (o->steps) lgp_usage_die("--epochs and --steps exclude each other");
            break;
        case O_STEPS:
            o->steps = lgp_opt_int("--steps", optarg, 1, INT64_MAX / 2), o->given |= LGP_GIVEN_LENGTH;
            if (o->epochs > 0) lgp_usage_die("--epochs and --steps exclude each other");
            break;
        case O_SPE: o->samples_per_epoch = lgp_opt_int("--samples-per-epoch", optarg, 1, INT64_MAX / 2); break;
        case O_BLR: o->blr = lgp_opt_double("--blr", optarg, 0, 1e3), o->given |= LGP_GIVEN_LR; break;
        case O_LR: o->lr = lgp_opt_double("--lr", optarg, 0, 1e3), o->given |= LGP_GIVEN_LR; break;
        case O_MINLR: o->min_lr = lgp_opt_double("--min-lr", optarg, 0, 1e3), o->given |= LGP_GIVEN_MIN_LR; break;
        case O_WE: o->warmup_epochs = lgp_opt_double("--warmup-epochs", optarg, 0, 1e7), o->given |= LGP_GIVEN_WARMUP; break;
        case O_WS: o->warmup_steps = lgp_opt_int("--warmup-steps", optarg, 0, INT64_MAX / 2), o->given |= LGP_GIVEN_WARMUP; break;
        case O_WD: o->hp.weight_decay = (float)lgp_opt_double("--weight-decay", optarg, 0, 10); break;
        case O_B1: o->hp.beta1 = (float)lgp_opt_double("--beta1", optarg, 0, 0.999999); break;
        case O_B2: o->hp.beta2 = (float)lgp_opt_double("--beta2", optarg, 0, 0.999999); break;
        case O_CLIP: o->clip = lgp_opt_double("--clip-grad", optarg, 0, 1e9); break;
        case O_SEED: o->seed = lgp_opt_u64("--seed", optarg), o->given_seed = 1; break;
        case O_CKD: o->ckpt_dir = optarg; break;
        case O_SAVE: o->save_every = lgp_opt_int("--save-every", optarg, 0, INT64_MAX / 2); break;
        case O_KEEP: o->keep = (int)lgp_opt_int("--keep", optarg, 1, 1000000); break;
        case O_RESUME: o->resume = optarg; break;
        case O_NAN:
            if ((o->nan_policy = lgp_nan_policy_parse(optarg)) < 0)
                lgp_usage_die("--nan-policy: 'skip', 'stop' or 'rollback', not '%s'", optarg);
            break;
        case O_PNG: o->recon_png = optarg; break;
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

/* The model config the options ask for (a fresh run builds it; a resume compares). */
static void asked_config(const struct opts *o, lgp_vit_config *cfg) {
    char err[512];
    if (lgp_vit_config_by_name(o->model, cfg) != LGP_OK) lgp_usage_die("--model: unknown model '%s'", o->model);
    lgp_modelcfg_apply(cfg, &o->ov);
    cfg->mask_ratio = (float)o->mask_ratio;
    cfg->norm_pix = o->norm_pix;
    if (lgp_vit_config_check(cfg, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
}

/* Masks made by lgp-mask carry their patch and ratio in the stream header: a patch other
 * than the model's is fatal; a ratio other than the model's is taken over when
 * --mask-ratio was not given (so the checkpoint says what was trained), else fatal. */
static void mask_geometry(lgp_vit_config *cfg, const struct opts *o, lgp_reader *r) {
    lgp_json *m = lgp_json_parse(lgp_reader_meta(r), strlen(lgp_reader_meta(r)), NULL, 0);
    const lgp_json *k = lgp_json_get(m, "mask");
    double patch = lgp_json_get_num(k, "patch", 0), ratio = lgp_json_get_num(k, "ratio", -1);
    lgp_json_free(m);
    if (patch > 0 && (int)patch != cfg->patch)
        lgp_die("%s: masks were made for %g-pixel patches (lgp-mask --patch %g); the model's patch is %d",
                lgp_reader_name(r), patch, patch, cfg->patch);
    if (ratio < 0 || fabs(ratio - cfg->mask_ratio) < 1e-6) return;
    if (o->given_ratio || o->resume)
        lgp_die("%s: masks have ratio %g (lgp-mask --ratio); the model's mask ratio is %g", lgp_reader_name(r), ratio,
                (double)cfg->mask_ratio);
    cfg->mask_ratio = (float)ratio;
    lgp_info("mask ratio %g, as lgp-mask made the masks", ratio);
}

/* The schedule the options and the stream ask for. */
static int asked_schedule(const struct opts *o, lgp_reader *r, lgp_schedule *sc, char *err, size_t errlen) {
    /* A stream announces its own shard's count; the epoch is every rank's shards together. */
    int64_t spe = o->samples_per_epoch;
    if (!spe && (spe = lgp_stream_records_per_epoch(lgp_reader_meta(r))) > 0) spe *= lgp_dist_size();
    return lgp_schedule_make_dist(sc, o->steps, o->epochs, spe, o->warmup_epochs, o->warmup_steps, o->batch, o->accum,
                                  lgp_dist_size(), o->blr, o->lr, o->min_lr, err, errlen);
}

/* --resume with options of a fresh run: they must describe the run being resumed. */
static void check_resume(const lgp_mim_state *s, const struct opts *o, lgp_reader *r) {
    char err[1024];
    if (o->given) {
        lgp_schedule asked;
        if (asked_schedule(o, r, &asked, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
        if (lgp_schedule_check_resume(&s->sched, &asked, o->given, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
    }
    if (o->given_seed && o->seed != s->seed)
        lgp_usage_die("--resume: --seed %llu differs from the resumed run's %llu", (unsigned long long)o->seed,
                      (unsigned long long)s->seed);
    if (o->given_model || o->given_ratio) {
        lgp_vit_config want;
        asked_config(o, &want);
        char a[1024], b[1024];
        lgp_vit_config_json(&want, a, sizeof a);
        lgp_vit_config_json(&s->m.cfg, b, sizeof b);
        if (strcmp(a, b)) lgp_usage_die("--resume: the model options ask for %s; the resumed run is %s", a, b);
    }
}

static void setup(lgp_mim_state *s, const struct opts *o, lgp_reader *r) {
    char err[1024];
    if (o->resume) {
        if (lgp_mim_state_resume(s, o->resume, err, sizeof err) != LGP_OK) lgp_die("%s", err);
        if (s->sched.world != lgp_dist_size())
            lgp_die("%s: written by %d ranks; resume with the same number (this run has %d)", o->resume,
                    s->sched.world, lgp_dist_size());
        check_resume(s, o, r);
        if (o->init) lgp_debug("--init %s passed over: the resumed run has its weights", o->init);
        lgp_vit_config cfg = s->m.cfg;
        mask_geometry(&cfg, o, r);
        lgp_info("resuming %s at step %lld/%lld (skipping %lld records already used)", o->resume,
                 (long long)s->step, (long long)s->sched.total_steps, (long long)s->consumed);
        return;
    }
    lgp_vit_config cfg;
    asked_config(o, &cfg);
    mask_geometry(&cfg, o, r);
    int n = lgp_vit_num_patches(&cfg), keep = lgp_vit_len_keep(&cfg);
    if (keep < 1 || keep >= n)
        lgp_usage_die("--mask-ratio %g keeps %d of %d patches: MAE needs at least one visible and one masked patch",
                      (double)cfg.mask_ratio, keep, n);
    if (lgp_mim_state_new(s, &cfg, o->seed, &o->hp, o->init, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    if (o->nmean || o->nstd) {
        if (o->nmean != cfg.in_chans || o->nstd != cfg.in_chans) lgp_usage_die("--mean/--std need %d values each", cfg.in_chans);
        for (int c = 0; c < cfg.in_chans; c++) s->mean[c] = (float)o->mean[c], s->std[c] = (float)o->std[c];
    }
    if (asked_schedule(o, r, &s->sched, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
    s->clip = o->clip;
    lgp_json *im = lgp_json_parse(lgp_reader_meta(r), strlen(lgp_reader_meta(r)), NULL, 0);
    const lgp_json *cl = lgp_json_get(im, "classes");
    if (cl) s->classes = lgp_json_clone(cl);
    lgp_json_free(im);
    lgp_info("model %s: %zu parameters; %lld steps of %d x %d x %d ranks images, lr %.3g (blr %.3g), warmup %lld",
             o->model, s->m.params.total, (long long)s->sched.total_steps, s->sched.batch, s->sched.accum,
             s->sched.world, s->sched.lr, s->sched.blr, (long long)s->sched.warmup_steps);
}

static uint64_t params_hash(const lgp_mim_state *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    const unsigned char *p = (const unsigned char *)s->m.params.data;
    for (size_t i = 0; i < s->m.params.total * sizeof(float); i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* Saves to the snapshot folder (if any) and/or path (NULL = stdout when final). */
static void save(const lgp_mim_state *s, const struct opts *o, int complete, int to_output) {
    char err[1024], path[4096];
    lgp_dist_check_same(params_hash(s), "the parameters");
    if (lgp_dist_rank() != 0) return;
    lgp_record rec;
    if (lgp_mim_state_record(s, &rec) != LGP_OK) lgp_die("out of memory");
    char *meta = lgp_mim_state_meta(s, complete);
    if (o->ckpt_dir) {
        if (lgp_snapshot_save(o->ckpt_dir, "mim", s->step, o->keep, &rec, meta, &o->out.w, path, sizeof path, err, sizeof err) != LGP_OK)
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
static _Noreturn void stop_early(const lgp_mim_state *s, const struct opts *o, const char *why) {
    char err[1024], where[4096] = "";
    lgp_dist_check_same(params_hash(s), "the parameters");
    if (lgp_dist_rank() == 0) {
        lgp_record rec;
        if (lgp_mim_state_record(s, &rec) != LGP_OK) lgp_die("out of memory");
        char *meta = lgp_mim_state_meta(s, 0);
        if (lgp_trainer_keep_partial(o->ckpt_dir, "mim", o->keep, o->out.path, s->step, &rec, meta, &o->out.w, where,
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
            (long long)s->sched.total_steps, where, o->ckpt_dir ? o->ckpt_dir : where, o->ckpt_dir ? "/mim-latest.ckpt" : "");
}

/* Name of the first tensor whose gradient is not finite, or NULL. */
static const char *bad_grad(const lgp_mim_state *s) {
    const lgp_params *p = &s->m.params;
    for (size_t i = 0; i < p->count; i++)
        if (lgp_first_nonfinite(s->m.grads + p->entries[i].offset, p->entries[i].numel) >= 0) return p->entries[i].name;
    return NULL;
}

/* One optimizer step over accum micro-batches, gradients averaged over the ranks (the
 * last micro-batch's backward starts each block's all-reduce as soon as it is done).
 * Returns 0 when any rank's data ended (every rank then stops at the same step), -1 when
 * a signal came while waiting for input. */
static int train_step(lgp_mim_state *s, lgp_mae *mae, lgp_batch *b, const lgp_batch_cfg *bc, lgp_reader *r,
                      lgp_record *scratch, lgp_grad_sync *gs, const struct opts *o, double *loss_out, double *gnorm) {
    char err[1024];
    static uint64_t ids[1 << 16];
    lgp_vit_zero_grad(&s->m);
    mae->loss_scale = 1.0f / (float)s->sched.accum;
    double f[2] = {0, 0}; /* stop requested, loss */
    for (int k = 0; k < s->sched.accum; k++) {
        if (lgp_batch_fill(b, bc, r, scratch, err, sizeof err) == LGP_FATAL) {
            if (lgp_reader_interrupted(r)) return -1; /* SIGTERM while waiting for input */
            lgp_die("%s", err);
        }
        /* drop_last: a partial batch ends training. Agreed before the backward, which
         * starts collectives (the bucketed all-reduce). */
        double short_ranks = b->n < b->cap ? 1 : 0;
        lgp_dist_sum_d(&short_ranks, 1);
        if (short_ranks > 0) return 0;
        int epoch_same = 1;
        for (int i = 0; i < b->n; i++) {
            ids[i] = (uint64_t)b->index[i];
            epoch_same &= b->epoch[i] == b->epoch[0];
        }
        if (!epoch_same) /* keep ids unique across an epoch boundary */
            for (int i = 0; i < b->n; i++) ids[i] |= (uint64_t)b->epoch[i] << 40;
        const uint8_t *masks = b->mask_count == b->n ? b->mask : NULL;
        if (b->mask_count && !masks) lgp_die("%s: batch mixes records with and without 'mask'", lgp_reader_name(r));
        if (k == s->sched.accum - 1) {
            lgp_grad_sync_arm(gs, &mae->enc);
            lgp_grad_sync_arm(gs, &mae->dec);
        }
        float l;
        int rc = lgp_mae_forward_backward(mae, b->x[0], b->n, masks, s->seed, epoch_same ? (uint64_t)b->epoch[0] : 0, ids,
                                          &l, err, sizeof err);
        lgp_grad_sync_disarm(&mae->enc);
        lgp_grad_sync_disarm(&mae->dec);
        if (rc != LGP_OK) lgp_die("%s: %s", lgp_reader_name(r), err);
        f[1] += l / s->sched.accum;
    }
    lgp_grad_sync_finish(gs);
    /* One small reduction per step keeps the ranks in lock step: a signal on any rank
     * stops all of them after this step. */
    f[0] = lgp_stop_requested ? 1 : 0;
    lgp_dist_sum_d(f, 2);
    if (f[0] > 0 && !lgp_stop_requested) lgp_stop_requested = SIGTERM;
    s->consumed = b->consumed;
    static int injected;
    if (o->inject_nan && s->step + 1 == o->inject_nan && (o->inject_always || !injected++))
        s->m.grads[0] = NAN; /* test hook for the guard */
    *loss_out = f[1] / lgp_dist_size();
    *gnorm = lgp_grad_clip(&s->m.params, s->m.grads, s->clip);
    return 1;
}


/* --nan-policy rollback: back to the newest snapshot; the data stream goes on. */
static void rollback(lgp_mim_state *s, const struct opts *o, const char *pre, const char *bad, int *in_a_row) {
    char err[1024], path[4096];
    long long at = (long long)s->step + 1;
    if (++*in_a_row > LGP_MAX_ROLLBACKS)
        lgp_die("step %lld: non-finite %s%s after %d rollbacks to the same snapshot; stopping (last snapshot intact)", at,
                pre, bad, LGP_MAX_ROLLBACKS);
    lgp_record live;
    if (lgp_mim_state_record(s, &live) != LGP_OK) lgp_die("out of memory");
    int64_t step, t;
    if (lgp_rollback(o->ckpt_dir, "mim", &live, &step, &t, path, sizeof path, err, sizeof err) != LGP_OK)
        lgp_die("step %lld: non-finite %s%s; cannot roll back: %s", at, pre, bad, err);
    lgp_record_free(&live);
    s->step = step;
    s->opt.t = t;
    lgp_warn("step %lld: non-finite %s%s; rolled back to %s (step %lld); the batches since then are passed over", at, pre,
             bad, path, (long long)step);
}

int main(int argc, char **argv) {
    /* OpenMP threads that sleep instead of spinning leave the cores to OpenBLAS. */
    lgp_threads_passive_reexec(argv);
    lgp_proginit(argc, argv);
    lgp_dist_init(&argc, &argv);
    struct opts o = {.model = "fmnist", .mask_ratio = 0.75, .norm_pix = 1, .batch = 256, .accum = 1, .blr = 1.5e-4,
                     .warmup_epochs = 40, .warmup_steps = -1, .keep = 3, .log_every = 50, .input = "-",
                     .hp = LGP_ADAMW_MAE};
    lgp_output_opts_init(&o.out);
    lgp_modelcfg_overrides_init(&o.ov);
    parse(argc, argv, &o);
    if (lgp_dist_rank() == 0) { /* every output is checked before the work starts */
        lgp_output_precheck(&o.out);
        lgp_check_output_dir("--checkpoint-dir", o.ckpt_dir);
        lgp_check_output_path("--recon-png", o.recon_png);
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
    lgp_trainer_input(r, lgp_dist_size());
    lgp_mim_state s;
    setup(&s, &o, r);
    const lgp_vit_config *cfg = &s.m.cfg;
    lgp_batch_cfg bc = {.img_size = cfg->img_size, .in_chans = cfg->in_chans, .nviews = 1, .view_names = {"view0"},
                        .n_patches = lgp_vit_num_patches(cfg), .on_bad_fatal = o.strict, .max_bad = -1};
    memcpy(bc.mean, s.mean, sizeof bc.mean);
    memcpy(bc.std, s.std, sizeof bc.std);
    lgp_batch b;
    lgp_mae mae;
    if (lgp_batch_init(&b, &bc, s.sched.batch) != LGP_OK || lgp_mae_init(&mae, &s.m, s.sched.batch, err, sizeof err) != LGP_OK)
        lgp_die("cannot allocate batch %d: %s", s.sched.batch, err);
    lgp_record scratch;
    lgp_record_init(&scratch);
    if (s.consumed && lgp_batch_skip(&b, r, &scratch, s.consumed, err, sizeof err) != LGP_OK)
        lgp_die("%s: cannot skip to record %lld to resume%s%s", lgp_reader_name(r), (long long)s.consumed,
                err[0] ? ": " : " (input too short)", err);
    lgp_dist_check_same(params_hash(&s), "the initial parameters");
    lgp_trainlog log;
    if (lgp_trainlog_open(&log, lgp_dist_rank() == 0 ? o.log : NULL, o.resume != NULL, o.log_every, s.sched.total_steps) != LGP_OK)
        lgp_die_errno("%s: cannot open log", o.log);
    lgp_grad_sync gs;
    lgp_grad_sync_init(&gs, &s.m.params, s.m.grads);
    int64_t skipped_nan = 0;
    int rollbacks = 0, rollbacks_in_a_row = 0;
    if (o.nan_policy == LGP_NAN_ROLLBACK) save(&s, &o, 0, 0); /* something to roll back to */
    while (s.step < s.sched.total_steps) {
        double loss, gnorm;
        int got = train_step(&s, &mae, &b, &bc, r, &scratch, &gs, &o, &loss, &gnorm);
        if (got <= 0) {
            lgp_trainlog_close(&log);
            lgp_batch_report(&b);
            char why[600];
            if (got < 0) snprintf(why, sizeof why, "stopped by %s", lgp_signal_name(lgp_stop_requested));
            else snprintf(why, sizeof why, "%s: input ended (%lld records used)", lgp_reader_name(r), (long long)b.consumed);
            stop_early(&s, &o, why);
        }
        const char *bad = !isfinite(loss) ? "loss" : bad_grad(&s);
        if (bad) {
            const char *pre = strcmp(bad, "loss") ? "gradient of " : "";
            if (o.nan_policy == LGP_NAN_STOP)
                lgp_die("step %lld: non-finite %s%s; stopping (last snapshot intact)", (long long)s.step + 1, pre, bad);
            if (o.nan_policy == LGP_NAN_ROLLBACK) {
                rollback(&s, &o, pre, bad, &rollbacks_in_a_row);
                rollbacks++;
                continue;
            }
            lgp_warn("step %lld: non-finite %s%s; batch skipped", (long long)s.step + 1, pre, bad);
            skipped_nan++;
            continue;
        }
        double lr = lgp_lr_schedule(s.step, s.sched.total_steps, s.sched.warmup_steps, s.sched.lr, s.sched.min_lr);
        lgp_adamw_step(&s.opt, s.m.params.data, s.m.grads, (float)lr);
        s.step++;
        int64_t spe = s.sched.steps_per_epoch;
        lgp_trainlog_step(&log, s.step, spe ? (s.step - 1) / spe : 0, loss, lr, gnorm, s.sched.batch * s.sched.accum, NULL);
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
    if (o.recon_png && lgp_mae_recon_png(&mae, &b, s.mean, s.std, o.recon_png, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    save(&s, &o, 1, 1);
    lgp_batch_report(&b);
    lgp_info("trained %lld steps; %lld records used, %lld skipped as bad, %lld batches skipped for NaN, %d rollbacks",
             (long long)s.step, (long long)s.consumed, (long long)b.skipped, (long long)skipped_nan, rollbacks);
    lgp_grad_sync_report(&gs, s.step);
    lgp_record_free(&scratch);
    lgp_batch_free(&b);
    lgp_mae_free(&mae);
    lgp_mim_state_free(&s);
    lgp_reader_close(r);
    lgp_dist_finalize();
    return LGP_EXIT_OK;
}
