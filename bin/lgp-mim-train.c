/* lgp-mim-train — stage 1: masked image modeling (MAE) on a stream of views. The loop,
 * options, snapshots and NaN policy are the shared trainer's (trainer.h); this file
 * is what MAE does differently: its model, mask geometry and step. */
#include "common/data/batch.h"
#include "common/util/dist.h"
#include "common/train/gradsync.h"
#include "common/lgp.h"
#include "common/util/log.h"
#include "common/nn/mae.h"
#include "common/train/mimstate.h"
#include "common/model/modelcfg.h"
#include "common/train/recon.h"
#include "common/util/signals.h"
#include "common/util/threads.h"
#include "common/train/schedule.h"
#include "common/train/trainer.h"
#include "common/train/trainopts.h"

#include <getopt.h>
#include <math.h>
#include <signal.h>
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
    "  --warmup-epochs E     (default 40, at most a tenth of the run unless given) or\n"
    "                        --warmup-steps N; one as long as the run is warned about\n"
    "  --weight-decay X      (default 0.05; none on biases, norms)\n"
    "  --beta1 X --beta2 X   AdamW betas (default 0.9, 0.95)\n"
    "  --clip-grad X         global-norm clipping (default 0: off)\n"
    "  --seed S              initialisation and mask seed (default 0)\n"
    "state and output:\n"
    LGP_TRAINOPTS_STATE_HELP("mim", "weights, optimizer, schedule, data position")
    "  --recon-png FILE      PNG grid (original | masked | reconstruction) of the last batch\n"
    "  --log FILE.jsonl      one JSON object per logged step\n"
    LGP_TRAINOPTS_RUN_HELP
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
    lgp_trainopts t; /* the options every trainer shares (trainopts.h) */
    const char *recon_png;
    double mask_ratio, blr, lr, min_lr;
    int norm_pix, accum, given_ratio;
};

static void parse(int argc, char **argv, struct opts *o) {
    enum { O_MASK = 0x4001, O_NONORM, O_ACCUM, O_BLR, O_LR, O_MINLR, O_PNG };
    static const struct option lo[] = {
        LGP_TRAINOPTS_LONGOPTS, {"mask-ratio", 1, 0, O_MASK}, {"no-norm-pix", 0, 0, O_NONORM}, {"accum", 1, 0, O_ACCUM},
        {"blr", 1, 0, O_BLR}, {"lr", 1, 0, O_LR}, {"min-lr", 1, 0, O_MINLR}, {"recon-png", 1, 0, O_PNG}, {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "qvo:", lo, NULL)) != -1) {
        if (lgp_trainopts_parse(&o->t, c, optarg, help)) continue;
        switch (c) {
        case O_MASK: o->mask_ratio = lgp_opt_double("--mask-ratio", optarg, 0.0, 0.99), o->given_ratio = 1; break;
        case O_NONORM: o->norm_pix = 0; break;
        case O_ACCUM: o->accum = (int)lgp_opt_int("--accum", optarg, 1, 1 << 16), o->t.given |= LGP_GIVEN_ACCUM; break;
        case O_BLR: o->blr = lgp_opt_double("--blr", optarg, 0, 1e3), o->t.given |= LGP_GIVEN_LR; break;
        case O_LR: o->lr = lgp_opt_double("--lr", optarg, 0, 1e3), o->t.given |= LGP_GIVEN_LR; break;
        case O_MINLR: o->min_lr = lgp_opt_double("--min-lr", optarg, 0, 1e3), o->t.given |= LGP_GIVEN_MIN_LR; break;
        case O_PNG: o->recon_png = optarg; break;
        default: lgp_usage_die("unexpected option");
        }
    }
    lgp_trainopts_finish(&o->t, argc, argv, optind);
}

/* The model config the options ask for (a fresh run builds it; a resume compares). */
static void asked_config(const struct opts *o, lgp_vit_config *cfg) {
    char err[512];
    if (lgp_vit_config_by_name(o->t.model, cfg) != LGP_OK) lgp_usage_die("--model: unknown model '%s'", o->t.model);
    lgp_modelcfg_apply(cfg, &o->t.ov);
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
    if (o->given_ratio || o->t.resume)
        lgp_die("%s: masks have ratio %g (lgp-mask --ratio); the model's mask ratio is %g", lgp_reader_name(r), ratio,
                (double)cfg->mask_ratio);
    cfg->mask_ratio = (float)ratio;
    lgp_info("mask ratio %g, as lgp-mask made the masks", ratio);
}

/* The schedule the options and the stream ask for. */
static int asked_schedule(const struct opts *o, lgp_reader *r, lgp_schedule *sc, char *err, size_t errlen) {
    /* A stream announces its own shard's count; the epoch is every rank's shards together. */
    int64_t spe = o->t.samples_per_epoch;
    if (!spe && (spe = lgp_schedule_records_per_epoch(lgp_reader_meta(r))) > 0) spe *= lgp_dist_size();
    return lgp_trainopts_schedule(&o->t, sc, spe, o->accum, lgp_dist_size(), o->blr, o->lr, o->min_lr, err, errlen);
}

/* --resume with options of a fresh run: they must describe the run being resumed. */
static void check_resume(const lgp_mim_state *s, const struct opts *o, lgp_reader *r) {
    char err[1024];
    if (o->t.given) {
        lgp_schedule asked;
        if (asked_schedule(o, r, &asked, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
        if (lgp_schedule_check_resume(&s->run.sched, &asked, o->t.given, err, sizeof err) != LGP_OK)
            lgp_usage_die("%s", err);
    }
    if (o->t.given_seed && o->t.seed != s->run.seed)
        lgp_usage_die("--resume: --seed %llu differs from the resumed run's %llu", (unsigned long long)o->t.seed,
                      (unsigned long long)s->run.seed);
    if (o->t.given_model || o->given_ratio) {
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
    const lgp_trainopts *t = &o->t;
    if (t->resume) {
        if (lgp_mim_state_resume(s, t->resume, err, sizeof err) != LGP_OK) lgp_die("%s", err);
        if (s->run.sched.world != lgp_dist_size())
            lgp_die("%s: written by %d ranks; resume with the same number (this run has %d)", t->resume,
                    s->run.sched.world, lgp_dist_size());
        lgp_run_check_gemm(&s->run, t->resume);
        check_resume(s, o, r);
        lgp_vit_config cfg = s->m.cfg;
        mask_geometry(&cfg, o, r);
        if (t->init) lgp_debug("--init %s passed over: the resumed run has its weights", t->init);
        lgp_info("resuming %s at step %lld/%lld (skipping %lld records already used)", t->resume,
                 (long long)s->run.step, (long long)s->run.sched.total_steps, (long long)s->run.consumed);
        return;
    }
    lgp_vit_config cfg;
    asked_config(o, &cfg);
    mask_geometry(&cfg, o, r);
    int n = lgp_vit_num_patches(&cfg), keep = lgp_vit_len_keep(&cfg);
    if (keep < 1 || keep >= n)
        lgp_usage_die("--mask-ratio %g keeps %d of %d patches: MAE needs at least one visible and one masked patch",
                      (double)cfg.mask_ratio, keep, n);
    if (lgp_mim_state_new(s, &cfg, t->seed, &t->hp, t->init, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    if (t->nmean || t->nstd) {
        if (t->nmean != cfg.in_chans || t->nstd != cfg.in_chans) lgp_usage_die("--mean/--std need %d values each", cfg.in_chans);
        for (int c = 0; c < cfg.in_chans; c++) s->run.mean[c] = (float)t->mean[c], s->run.std[c] = (float)t->std[c];
    }
    if (asked_schedule(o, r, &s->run.sched, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
    s->run.clip = t->clip;
    lgp_run_take_classes(&s->run, lgp_reader_meta(r));
    lgp_trainopts_say_warmup(t, &s->run.sched);
    lgp_info("model %s: %zu parameters; %lld steps of %d x %d x %d ranks images, lr %.3g (blr %.3g), warmup %lld",
             t->model, s->m.params.total, (long long)s->run.sched.total_steps, s->run.sched.batch, s->run.sched.accum,
             s->run.sched.world, s->run.sched.lr, s->run.sched.blr, (long long)s->run.sched.warmup_steps);
}

/* What the step callback needs besides the state. */
typedef struct {
    lgp_mim_state s;
    lgp_mae mae;
    lgp_trainer_io io;
    const struct opts *o;
} mim;

static uint64_t state_hash(const void *p) {
    const lgp_mim_state *s = &((const mim *)p)->s;
    return lgp_trainer_params_hash(s->m.params.data, s->m.params.total);
}

static int state_record(const void *p, lgp_record *rec) { return lgp_mim_state_record(&((const mim *)p)->s, rec); }
static char *state_meta(const void *p, int complete) { return lgp_mim_state_meta(&((const mim *)p)->s, complete); }

/* One optimizer step over accum micro-batches, gradients averaged over the ranks (the
 * last micro-batch's backward starts each block's all-reduce as soon as it is done). */
static int step(void *p, lgp_trainer_step_out *out) {
    mim *x = p;
    lgp_mim_state *s = &x->s;
    char err[1024];
    static uint64_t ids[1 << 16];
    lgp_vit_zero_grad(&s->m);
    x->mae.loss_scale = 1.0f / (float)s->run.sched.accum;
    double f[2] = {0, 0}; /* stop requested, loss */
    for (int k = 0; k < s->run.sched.accum; k++) {
        int got = lgp_trainer_fill(&x->io); /* before the backward's collectives */
        if (got <= 0) return got;
        int epoch_same = 1;
        for (int i = 0; i < x->io.b.n; i++) {
            ids[i] = (uint64_t)x->io.b.index[i];
            epoch_same &= x->io.b.epoch[i] == x->io.b.epoch[0];
        }
        if (!epoch_same) /* keep ids unique across an epoch boundary */
            for (int i = 0; i < x->io.b.n; i++) ids[i] |= (uint64_t)x->io.b.epoch[i] << 40;
        const uint8_t *masks = x->io.b.mask_count == x->io.b.n ? x->io.b.mask : NULL;
        if (x->io.b.mask_count && !masks) lgp_die("%s: batch mixes records with and without 'mask'", lgp_reader_name(x->io.r));
        if (k == s->run.sched.accum - 1) {
            lgp_gradsync_arm(&x->io.gs, &x->mae.enc);
            lgp_gradsync_arm(&x->io.gs, &x->mae.dec);
        }
        float l;
        int rc = lgp_mae_forward_backward(&x->mae, x->io.b.x[0], x->io.b.n, masks, s->run.seed,
                                          epoch_same ? (uint64_t)x->io.b.epoch[0] : 0, ids, &l, err, sizeof err);
        lgp_gradsync_disarm(&x->mae.enc);
        lgp_gradsync_disarm(&x->mae.dec);
        if (rc != LGP_OK) lgp_die("%s: %s", lgp_reader_name(x->io.r), err);
        f[1] += l / s->run.sched.accum;
    }
    lgp_gradsync_finish(&x->io.gs);
    /* One small reduction per step keeps the ranks in lock step: a signal on any rank
     * stops all of them after this step (after the next if it lands past the reduction). */
    f[0] = lgp_trainer_stop_flag();
    lgp_dist_sum_d(f, 2);
    lgp_trainer_stop_agreed(f[0]);
    s->run.consumed = x->io.b.consumed;
    out->loss = f[1] / lgp_dist_size();
    out->images = (int64_t)s->run.sched.batch * s->run.sched.accum;
    return 1;
}

static void finish(void *p) {
    mim *x = p;
    char err[1024];
    if (x->o->recon_png && lgp_recon_png(&x->mae, &x->io.b, x->s.run.mean, x->s.run.std, x->o->recon_png, err,
                                              sizeof err) != LGP_OK)
        lgp_die("%s", err);
}

int main(int argc, char **argv) {
    lgp_trainer_init(&argc, &argv);
    static const lgp_adamw_hparams hp = LGP_ADAMW_MAE;
    struct opts o = {.mask_ratio = 0.75, .norm_pix = 1, .accum = 1, .blr = 1.5e-4};
    lgp_trainopts_init(&o.t, &hp);
    o.t.model = "fmnist";
    parse(argc, argv, &o);
    lgp_trainer_ready(&o.t, o.recon_png);
    char err[1024];
    static mim x;
    x.o = &o;
    lgp_trainer_io_open(&x.io, o.t.input);
    setup(&x.s, &o, x.io.r);
    lgp_mim_state *s = &x.s;
    lgp_trainer_io_ready(&x.io, &s->m.cfg, 1, lgp_vit_num_patches(&s->m.cfg), &s->run, o.t.strict, &s->m.params, s->m.grads);
    if (lgp_mae_init(&x.mae, &s->m, s->run.sched.batch, err, sizeof err) != LGP_OK)
        lgp_die("cannot allocate batch %d: %s", s->run.sched.batch, err);
    lgp_trainer t = {.prefix = "mim", .state = &x, .run = &s->run, .opt = &s->opt, .table = &s->m.params,
                     .params = s->m.params.data, .grads = s->m.grads, .log_lr_scale = 1, .step = step,
                     .record = state_record, .meta = state_meta, .hash = state_hash, .finish = finish};
    lgp_trainer_run(&t, &o.t, &x.io);
    lgp_trainer_io_close(&x.io, s->run.step);
    lgp_mae_free(&x.mae);
    lgp_mim_state_free(s);
    lgp_dist_finalize();
    return LGP_EXIT_OK;
}
