/* lgp-finetune — supervised fine-tuning of a pre-trained encoder on labelled views: the
 * MAE/BEiT recipe the paper's 10% and full fine-tuning columns use (shared RECIPE
 * §4.3-§4.4). The loop, options, snapshots and NaN policy are the shared trainer's
 * (trainer.h); this file is what fine-tuning does differently: its start, its step
 * (mixup, drop path, the head) and the test-set evaluation. */
#include "formats/json.h"
#include "formats/atomicfile.h"
#include "common/data/augment.h"
#include "common/data/batch.h"
#include "common/data/mixup.h"
#include "common/util/dist.h"
#include "common/train/gradsync.h"
#include "common/lgp.h"
#include "common/util/log.h"
#include "common/model/modelcfg.h"
#include "common/util/rng.h"
#include "common/util/signals.h"
#include "common/train/ftstate.h"
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
    "lgp-finetune — fine-tune a pre-trained ViT encoder with a classification head\n"
    "\n"
    "usage: lgp-finetune [options] [INPUT|-] > finetuned.ckpt\n"
    "\n"
    "Reads labelled views (u8 [S, S, C] 'view0' or 'image' with a 'label'; lgp-augment\n"
    "--recipe finetune makes them) and trains the encoder and a head on the cls token\n"
    "after the final norm: AdamW with layer-wise lr decay, drop path, mixup/cutmix, label\n"
    "smoothing (MAE/BEiT fine-tuning). With --test, reports top-1/top-5 on a labelled\n"
    "stream file at the end (and every --eval-every epochs). Writes a checkpoint\n"
    "(encoder, head, AdamW state, config) to stdout or -o.\n"
    "\n"
    "model and head:\n"
    "  --init FILE           start: any lgp checkpoint (stage 1, stage 2, fine-tuned) or\n"
    "                        timm/MAE safetensors (default: random init of --model)\n"
    "  --model NAME          random init, or the arch of a file without a config: fmnist\n"
    "                        (default), vit-tiny, vit-small, vit-base, vit-large\n"
    LGP_MODELCFG_HELP
    "  --num-classes K       classes (default: the input's class list, else --init's)\n"
    "  --tune-from-first-fc  head = Linear(C->F, no bias, from the MoCo v3 projector's\n"
    "                        head.0.weight) then Linear(F->K) (the paper's 10% protocol);\n"
    "                        default: Linear(C->K), weight N(0, 2e-5), bias 0\n"
    "  --mean M[,M,M] --std S[,S,S]  input normalisation (default: --init's, else the\n"
    "                        Fashion-MNIST / ImageNet statistics)\n"
    "recipe (defaults: MAE's ViT-B fine-tuning; for images of at most 32 pixels a side,\n"
    "as Fashion-MNIST's 28, the low-resolution defaults: blr 5e-3, no mixup or cutmix):\n"
    "  --layer-decay X       lr scale X^(L+1-id) by depth (default 0.75)\n"
    "  --drop-path P         stochastic depth at the last block, linear from 0 (default 0.1)\n"
    "  --smoothing X         label smoothing (default 0.1)\n"
    "  --mixup A             mixup Beta(A, A) (default 0.8, low-res 0; 0 off)\n"
    "  --cutmix A            cutmix Beta(A, A) (default 1.0, low-res 0; 0 off)\n"
    "  --mixup-prob P        batches mixed (default 1.0)\n"
    "  --mixup-switch-prob P cutmix instead of mixup when both are on (default 0.5)\n"
    "schedule:\n"
    "  --batch B             images per micro-batch (default 64)\n"
    "  --accum K             micro-batches per optimizer step (default 1)\n"
    "  --epochs E | --steps N  training length (epochs need the stream's record count or\n"
    "                        --samples-per-epoch N)\n"
    "  --blr X               base lr per 256 images (default 5e-4, low-res 5e-3);\n"
    "                        lr = blr*B*K/256\n"
    "  --lr X                absolute peak lr (overrides --blr)\n"
    "  --min-lr X            end of the cosine (default 1e-6)\n"
    "  --warmup-epochs E     (default 5, at most a tenth of the run unless given) or\n"
    "                        --warmup-steps N; one as long as the run is warned about\n"
    "  --weight-decay X      (default 0.05; none on 1-d tensors, pos_embed, cls_token)\n"
    "  --beta1 X --beta2 X   AdamW betas (default 0.9, 0.999)\n"
    "  --clip-grad X         global-norm clipping (default 0: off)\n"
    "  --seed S              head init, drop path and mixup seed (default 0)\n"
    "evaluation:\n"
    "  --test FILE           labelled stream file at the model's size (re-read per\n"
    "                        evaluation; e.g. lgp-augment --recipe eval output)\n"
    "  --eval-every E        also evaluate every E epochs (default 0: at the end only)\n"
    "  --json FILE           top1, top5, every evaluation, the recipe in force and the\n"
    "                        input's views (atomic)\n"
    "state and output:\n"
    LGP_TRAINOPTS_STATE_HELP("ft", "weights, head, optimizer, schedule, data position")
    "  --log FILE.jsonl      one JSON object per logged step (and test_top1 when evaluated)\n"
    LGP_TRAINOPTS_RUN_HELP
    "\n"
    "example:\n"
    "  tar-images /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz > test.lgps\n"
    "  tar-images --limit 12000 /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz |\n"
    "    lgp-augment --recipe finetune --size 28 |\n"
    "    lgp-finetune --init stage1.ckpt --test test.lgps --steps 180 --batch 64 \\\n"
    "      --json ft.json -o finetuned.ckpt\n"
    "\n"
    "A run that ends early (input ended, SIGTERM/SIGINT, every batch non-finite) exits 1\n"
    "and keeps its state only in --checkpoint-dir (else FILE.partial beside -o FILE).\n"
    "exit status: 0 every planned step trained and evaluated; 1 bad input, a record that\n"
    "does not fit the model or has no label in [0, K), write error, ended early, NaN with\n"
    "--nan-policy stop; 2 usage error. See lgp-finetune(1).\n";

struct opts {
    lgp_trainopts t; /* the options every trainer shares (trainopts.h) */
    lgp_ft_opts fo;
    const char *test, *json;
    double blr, lr, min_lr, eval_every;
    int accum;
    unsigned given_fo; /* GIVEN_*: the head and recipe options on the command line */
};

/* Head and recipe options given: --resume compares only these with the run's, and the
 * low-resolution defaults leave them alone. */
enum {
    GIVEN_K = 1 << 0,
    GIVEN_FIRSTFC = 1 << 1,
    GIVEN_LD = 1 << 2,
    GIVEN_DP = 1 << 3,
    GIVEN_SM = 1 << 4,
    GIVEN_MIX = 1 << 5,
    GIVEN_CUT = 1 << 6,
    GIVEN_MIXP = 1 << 7,
    GIVEN_SWP = 1 << 8,
};

/* Low-resolution defaults, for images of at most 32 pixels a side (Fashion-MNIST,
 * CIFAR; lgp-augment's finetune recipe turns to its low-resolution form at the same
 * side). MAE's ViT-B recipe is tuned for 100 epochs at 224 pixels; on 28-pixel
 * Fashion-MNIST in a run of about one pass (issue #16's 180 steps of 64), mixup and
 * cutmix and its blr of 5e-4 keep it at 14-42 % top-1 where 5e-3 without them reaches
 * 67 % (pipelines/results/finetune-short/grid.md, a validation split). Whatever is
 * given is kept. */
enum { LOW_RES_BLR = 1, LOW_RES_MIX = 2, LOW_RES_CUT = 4 };
/* Returns what it set (LOW_RES_*), 0 above LGP_LOW_RES_MAX pixels or when all was given. */
static unsigned low_res_defaults(const struct opts *o, int img_size, lgp_ft_opts *fo, double *blr) {
    if (img_size > LGP_LOW_RES_MAX) return 0;
    unsigned set = 0;
    if (!(o->t.given & LGP_GIVEN_LR)) *blr = 5e-3, set |= LOW_RES_BLR;
    if (!(o->given_fo & GIVEN_MIX)) fo->mixup = 0, set |= LOW_RES_MIX;
    if (!(o->given_fo & GIVEN_CUT)) fo->cutmix = 0, set |= LOW_RES_CUT;
    return set;
}

static void parse(int argc, char **argv, struct opts *o) {
    enum { O_ACCUM = 0x4001, O_BLR, O_LR, O_MINLR, O_K, O_FIRSTFC, O_LD, O_DP, O_SM, O_MIX, O_CUT, O_MIXP, O_SWP,
           O_TEST, O_EVERY, O_JSON };
    static const struct option lo[] = {
        LGP_TRAINOPTS_LONGOPTS, {"accum", 1, 0, O_ACCUM}, {"blr", 1, 0, O_BLR}, {"lr", 1, 0, O_LR},
        {"min-lr", 1, 0, O_MINLR}, {"num-classes", 1, 0, O_K}, {"tune-from-first-fc", 0, 0, O_FIRSTFC},
        {"layer-decay", 1, 0, O_LD}, {"drop-path", 1, 0, O_DP}, {"smoothing", 1, 0, O_SM}, {"mixup", 1, 0, O_MIX},
        {"cutmix", 1, 0, O_CUT}, {"mixup-prob", 1, 0, O_MIXP}, {"mixup-switch-prob", 1, 0, O_SWP},
        {"test", 1, 0, O_TEST}, {"eval-every", 1, 0, O_EVERY}, {"json", 1, 0, O_JSON}, {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "qvo:", lo, NULL)) != -1) {
        if (lgp_trainopts_parse(&o->t, c, optarg, help)) continue;
        switch (c) {
        case O_ACCUM: o->accum = (int)lgp_opt_int("--accum", optarg, 1, 1 << 16), o->t.given |= LGP_GIVEN_ACCUM; break;
        case O_BLR: o->blr = lgp_opt_double("--blr", optarg, 0, 1e3), o->t.given |= LGP_GIVEN_LR; break;
        case O_LR: o->lr = lgp_opt_double("--lr", optarg, 0, 1e3), o->t.given |= LGP_GIVEN_LR; break;
        case O_MINLR: o->min_lr = lgp_opt_double("--min-lr", optarg, 0, 1e3), o->t.given |= LGP_GIVEN_MIN_LR; break;
        case O_K: o->fo.num_classes = (int)lgp_opt_int("--num-classes", optarg, 2, 1 << 20), o->given_fo |= GIVEN_K; break;
        case O_FIRSTFC: o->fo.first_fc = 1, o->given_fo |= GIVEN_FIRSTFC; break;
        case O_LD: o->fo.layer_decay = lgp_opt_double("--layer-decay", optarg, 0, 1), o->given_fo |= GIVEN_LD; break;
        case O_DP: o->fo.drop_path = lgp_opt_double("--drop-path", optarg, 0, 0.99), o->given_fo |= GIVEN_DP; break;
        case O_SM: o->fo.smoothing = lgp_opt_double("--smoothing", optarg, 0, 0.99), o->given_fo |= GIVEN_SM; break;
        case O_MIX: o->fo.mixup = lgp_opt_double("--mixup", optarg, 0, 100), o->given_fo |= GIVEN_MIX; break;
        case O_CUT: o->fo.cutmix = lgp_opt_double("--cutmix", optarg, 0, 100), o->given_fo |= GIVEN_CUT; break;
        case O_MIXP: o->fo.mix_prob = lgp_opt_double("--mixup-prob", optarg, 0, 1), o->given_fo |= GIVEN_MIXP; break;
        case O_SWP:
            o->fo.switch_prob = lgp_opt_double("--mixup-switch-prob", optarg, 0, 1), o->given_fo |= GIVEN_SWP;
            break;
        case O_TEST: o->test = optarg; break;
        case O_EVERY: o->eval_every = lgp_opt_double("--eval-every", optarg, 0, 1e6); break;
        case O_JSON: o->json = optarg; break;
        default: lgp_usage_die("unexpected option");
        }
    }
    lgp_trainopts_finish(&o->t, argc, argv, optind);
    if (o->eval_every > 0 && !o->test) lgp_usage_die("--eval-every needs --test");
    if (o->json && !o->test) lgp_usage_die("--json reports test accuracy: it needs --test");
}

/* The schedule the options and the stream ask for; an untold warmup is at most a
 * tenth of the run (5 epochs of a short run would be all warmup: the rule of every
 * trainer, lgp_trainopts_schedule). */
static int asked_schedule(const struct opts *o, double blr, lgp_reader *r, lgp_schedule *sc, char *err,
                          size_t errlen) {
    int64_t spe = o->t.samples_per_epoch;
    if (!spe && (spe = lgp_schedule_records_per_epoch(lgp_reader_meta(r))) > 0) spe *= lgp_dist_size();
    return lgp_trainopts_schedule(&o->t, sc, spe, o->accum, lgp_dist_size(), blr, o->lr, o->min_lr, err, errlen);
}

static void check_resume(const lgp_ft_state *s, const struct opts *o, lgp_reader *r) {
    char err[1024];
    if (o->t.given) {
        lgp_schedule asked;
        if (asked_schedule(o, o->blr, r, &asked, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
        if (lgp_schedule_check_resume(&s->run.sched, &asked, o->t.given, err, sizeof err) != LGP_OK)
            lgp_usage_die("%s", err);
    }
    if (o->t.given_seed && o->t.seed != s->run.seed)
        lgp_usage_die("--resume: --seed %llu differs from the resumed run's %llu", (unsigned long long)o->t.seed,
                      (unsigned long long)s->run.seed);
    /* Only what was given is compared: a default may differ from the run's (the
     * low-resolution defaults, or a default changed since the run began). */
    const lgp_ft_opts *a = &o->fo, *b = &s->fo;
    unsigned g = o->given_fo;
    struct {
        unsigned bit;
        const char *flag;
        double want, have;
    } c[] = {
        {GIVEN_K, "--num-classes", a->num_classes, b->num_classes},
        {GIVEN_FIRSTFC, "--tune-from-first-fc", a->first_fc, b->first_fc},
        {GIVEN_LD, "--layer-decay", a->layer_decay, b->layer_decay},
        {GIVEN_DP, "--drop-path", a->drop_path, b->drop_path},
        {GIVEN_SM, "--smoothing", a->smoothing, b->smoothing},
        {GIVEN_MIX, "--mixup", a->mixup, b->mixup},
        {GIVEN_CUT, "--cutmix", a->cutmix, b->cutmix},
        {GIVEN_MIXP, "--mixup-prob", a->mix_prob, b->mix_prob},
        {GIVEN_SWP, "--mixup-switch-prob", a->switch_prob, b->switch_prob},
    };
    for (size_t i = 0; i < LGP_ARRAY_LEN(c); i++)
        if ((g & c[i].bit) && c[i].want != c[i].have)
            lgp_usage_die("--resume: %s %g differs from the resumed run's %g (see its metadata: lgp-inspect %s)",
                          c[i].flag, c[i].want, c[i].have, o->t.resume);
}

static void setup(lgp_ft_state *s, const struct opts *o, lgp_reader *r) {
    char err[1024];
    const lgp_trainopts *t = &o->t;
    if (t->resume) {
        if (lgp_ft_state_resume(s, t->resume, err, sizeof err) != LGP_OK) lgp_die("%s", err);
        if (s->run.sched.world != lgp_dist_size())
            lgp_die("%s: written by %d ranks; resume with the same number (this run has %d)", t->resume,
                    s->run.sched.world, lgp_dist_size());
        lgp_run_check_gemm(&s->run, t->resume);
        check_resume(s, o, r);
        lgp_info("resuming %s at step %lld/%lld (skipping %lld records already used)", t->resume,
                 (long long)s->run.step, (long long)s->run.sched.total_steps, (long long)s->run.consumed);
        return;
    }
    lgp_vit_config cfg;
    if (lgp_vit_config_by_name(t->model, &cfg) != LGP_OK) lgp_usage_die("--model: unknown model '%s'", t->model);
    lgp_modelcfg_apply(&cfg, &t->ov);
    if (lgp_vit_config_check(&cfg, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
    /* Classes: --num-classes, else the input's class list, else --init's (ftstate.h). */
    lgp_ft_opts fo = o->fo;
    if (!fo.num_classes) {
        lgp_json *m = lgp_json_parse(lgp_reader_meta(r), strlen(lgp_reader_meta(r)), NULL, 0);
        const lgp_json *cl = lgp_json_get(m, "classes");
        fo.num_classes = cl && cl->type == LGP_JSON_ARR ? (int)cl->n : 0;
        lgp_json_free(m);
    }
    const char *arch = t->given_model ? t->model : NULL;
    if (lgp_ft_state_new(s, t->init, arch, &t->ov, &cfg, &fo, t->seed, &t->hp, err, sizeof err) != LGP_OK)
        lgp_die("%s", err);
    if (t->nmean || t->nstd) {
        int ch = s->m.cfg.in_chans;
        if (t->nmean != ch || t->nstd != ch) lgp_usage_die("--mean/--std need %d values each", ch);
        for (int c = 0; c < ch; c++) s->run.mean[c] = (float)t->mean[c], s->run.std[c] = (float)t->std[c];
    }
    double blr = o->blr;
    unsigned set = low_res_defaults(o, s->m.cfg.img_size, &s->fo, &blr);
    if (set) {
        char what[96] = "", *w = what;
        if (set & LOW_RES_BLR) w += sprintf(w, ", blr %g", blr);
        if (set & LOW_RES_MIX) w += sprintf(w, ", mixup 0");
        if (set & LOW_RES_CUT) sprintf(w, ", cutmix 0");
        lgp_info("%d-pixel images: the low-resolution defaults (%s; MAE's ViT-B values are for 224 pixels; "
                 "--blr or --lr, --mixup, --cutmix set them)", s->m.cfg.img_size, what + 2);
    }
    if (asked_schedule(o, blr, r, &s->run.sched, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
    s->run.clip = t->clip;
    /* The head's classes are the input's when it names them (the start's may differ). */
    lgp_json *im = lgp_json_parse(lgp_reader_meta(r), strlen(lgp_reader_meta(r)), NULL, 0);
    if (lgp_json_get(im, "classes")) lgp_run_free(&s->run);
    lgp_json_free(im);
    lgp_run_take_classes(&s->run, lgp_reader_meta(r));
    const lgp_schedule *sc = &s->run.sched;
    lgp_trainopts_say_warmup(&o->t, sc);
    lgp_info("%s: %zu parameters, %d classes, head %s; %lld steps of %d x %d x %d ranks images, lr %.3g (blr %.3g), "
             "warmup %lld, layer decay %g, drop path %g",
             s->run.init, s->m.params.total, s->fo.num_classes, s->fo.first_fc ? "first-fc" : "linear",
             (long long)sc->total_steps, sc->batch, sc->accum, sc->world, sc->lr, sc->blr, (long long)sc->warmup_steps,
             s->fo.layer_decay, s->fo.drop_path);
}

typedef struct {
    int64_t step, n, top1, top5;
} eval_result;

/* What the step callback needs besides the state. */
typedef struct {
    lgp_ft_state s;
    lgp_ft_engine e;
    lgp_trainer_io io;
    const struct opts *o;
    eval_result evals[4096];
    int nevals;
    double t0; /* lgp_now() at the start: the JSON's wall time */
} ft;

/* Top-1/top-5 on --test: every rank reads the file and takes every world-th record. */
static eval_result evaluate(ft *x) {
    char err[1024];
    lgp_reader *r;
    if (lgp_reader_open(&r, x->o->test, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    lgp_batch_cfg bc = x->io.bc;
    bc.nviews = 1, bc.n_patches = 0, bc.on_bad_fatal = 1;
    lgp_batch b;
    lgp_record scratch;
    lgp_record_init(&scratch);
    int64_t *lab = malloc(sizeof *lab * (size_t)x->e.maxB); /* this rank's labels of a batch */
    if (lgp_batch_init(&b, &bc, x->e.maxB) != LGP_OK || !lab) lgp_die("cannot allocate a test batch");
    const lgp_vit_config *c = &x->s.m.cfg;
    size_t img = (size_t)c->in_chans * c->img_size * c->img_size;
    int K = x->s.fo.num_classes, world = lgp_dist_size(), rank = lgp_dist_rank();
    int64_t pos = 0;
    double cnt[3] = {0, 0, 0}; /* n, top1, top5 */
    for (;;) {
        int rc = lgp_batch_fill(&b, &bc, r, &scratch, err, sizeof err);
        if (rc == LGP_FATAL) lgp_die("%s", err);
        int m = 0;
        for (int i = 0; i < b.n; i++, pos++) {
            if (b.label[i] < 0 || b.label[i] >= K)
                lgp_die("%s: record %lld '%s': label %lld; the head has classes 0..%d", x->o->test, (long long)pos,
                        b.keys[i] ? b.keys[i] : "", (long long)b.label[i], K - 1);
            if (pos % world != rank) continue;
            if (m != i) memcpy(b.x[0] + m * img, b.x[0] + i * img, sizeof(float) * img);
            lab[m++] = b.label[i];
        }
        if (m > 0) {
            int64_t t1 = 0, t5 = 0;
            lgp_topk_count(lgp_ft_engine_logits(&x->e, b.x[0], m), lab, m, K, &t1, &t5);
            cnt[0] += m, cnt[1] += (double)t1, cnt[2] += (double)t5;
        }
        if (rc == LGP_EOF) break;
    }
    free(lab);
    lgp_batch_free(&b);
    lgp_record_free(&scratch);
    lgp_reader_close(r);
    lgp_dist_sum_d(cnt, 3);
    if (cnt[0] < 1) lgp_die("%s: no test records", x->o->test);
    eval_result res = {x->s.run.step, (int64_t)cnt[0], (int64_t)cnt[1], (int64_t)cnt[2]};
    if (x->nevals < (int)(sizeof x->evals / sizeof x->evals[0])) x->evals[x->nevals++] = res;
    lgp_info("step %lld: %s: top-1 %.2f%% top-5 %.2f%% (%lld images)", (long long)res.step, x->o->test,
             100.0 * res.top1 / res.n, 100.0 * res.top5 / res.n, (long long)res.n);
    return res;
}

static uint64_t state_hash(const void *p) {
    const lgp_ft_state *s = &((const ft *)p)->s;
    return lgp_trainer_params_hash(s->m.params.data, s->m.params.total);
}

static int state_record(const void *p, lgp_record *rec) { return lgp_ft_state_record(&((const ft *)p)->s, rec); }
static char *state_meta(const void *p, int complete) { return lgp_ft_state_meta(&((const ft *)p)->s, complete); }

/* One optimizer step over accum micro-batches, gradients averaged over the ranks. */
static int step(void *p, lgp_trainer_step_out *out) {
    ft *x = p;
    lgp_ft_state *s = &x->s;
    const lgp_schedule *sc = &s->run.sched;
    lgp_vit_zero_grad(&s->m);
    const lgp_vit_config *c = &s->m.cfg;
    int K = s->fo.num_classes;
    double f[2] = {0, 0}; /* stop requested, loss */
    for (int k = 0; k < sc->accum; k++) {
        lgp_batch *b = &x->io.b;
        int got = lgp_trainer_fill(&x->io); /* before the backward's collectives */
        if (got <= 0) return got;
        for (int i = 0; i < b->n; i++)
            if (b->label[i] < 0 || b->label[i] >= K)
                lgp_die("%s: record %lld '%s': %s; the head has classes 0..%d", lgp_reader_name(x->io.r),
                        (long long)(b->consumed - b->n + i), b->keys[i] ? b->keys[i] : "",
                        b->label[i] < 0 ? "no label" : "label out of range", K - 1);
        lgp_ft_engine_draw_drop(&x->e, b->epoch, b->index, b->n);
        lgp_rng rng;
        lgp_rng_init(&rng, s->run.seed, (uint64_t)s->run.step,
                     (uint64_t)k * (uint64_t)lgp_dist_size() + (uint64_t)lgp_dist_rank(), LGP_RNG_MIXUP);
        lgp_mixup_draw d;
        lgp_mixup_sample(&d, &x->e.mc, c->img_size, c->img_size, &rng);
        if (k == sc->accum - 1) lgp_gradsync_arm(&x->io.gs, &x->e.enc.s);
        f[1] += lgp_ft_engine_step(&x->e, b->x[0], b->label, b->n, &d, 1.0f / (float)sc->accum) / sc->accum;
        lgp_gradsync_disarm(&x->e.enc.s);
    }
    lgp_gradsync_finish(&x->io.gs);
    f[0] = lgp_trainer_stop_flag();
    lgp_dist_sum_d(f, 2);
    lgp_trainer_stop_agreed(f[0]);
    s->run.consumed = x->io.b.consumed;
    out->loss = f[1] / lgp_dist_size();
    out->images = (int64_t)sc->batch * sc->accum;
    return 1;
}

/* --eval-every: the weights at each epoch boundary (every E epochs), on the log line of
 * the step that made them. */
static void after_update(void *p, lgp_trainer_step_out *out) {
    ft *x = p;
    const lgp_run *run = &x->s.run;
    int64_t every = (int64_t)llround(x->o->eval_every * (double)run->sched.steps_per_epoch);
    if (every <= 0 || run->step % every != 0) return;
    eval_result r = evaluate(x);
    size_t k = strlen(out->extra);
    snprintf(out->extra + k, sizeof out->extra - k, ",\"test_top1\":%.4f,\"test_top5\":%.4f", 100.0 * r.top1 / r.n,
             100.0 * r.top5 / r.n);
}

/* The final evaluation, before the checkpoint is written (unless --eval-every has just
 * made it). */
static void finish(void *p) {
    ft *x = p;
    if (x->o->test && !(x->nevals > 0 && x->evals[x->nevals - 1].step == x->s.run.step)) evaluate(x);
}

static void write_json(const ft *x) {
    char err[1024];
    const eval_result *last = &x->evals[x->nevals - 1];
    lgp_json *j = lgp_json_new_obj(), *ev = lgp_json_new_arr();
    lgp_json_set_str(j, "program", "lgp-finetune");
    lgp_json_set_str(j, "protocol", "finetune");
    lgp_json_set_str(j, "init", x->s.run.init);
    lgp_json_set_str(j, "test", x->o->test);
    lgp_json_set_num(j, "top1", 100.0 * last->top1 / last->n);
    lgp_json_set_num(j, "top5", 100.0 * last->top5 / last->n);
    lgp_json_set_i64(j, "n_test", last->n);
    lgp_json_set_i64(j, "steps", x->s.run.step);
    lgp_json_set_i64(j, "images_seen", x->s.run.step * (int64_t)x->s.run.sched.batch * x->s.run.sched.accum *
                                           x->s.run.sched.world);
    lgp_json_set_i64(j, "num_classes", x->s.fo.num_classes);
    lgp_json_set_num(j, "seconds", lgp_now() - x->t0); /* this process, a resumed run's last part only */
    lgp_json_set_str(j, "head", x->s.fo.first_fc ? "first-fc" : "linear");
    /* What was trained with, so a results table can tell recipes apart: the values in
     * force (defaults included) and the input's views as lgp-augment recorded them. */
    lgp_json *rc = lgp_json_new_obj();
    lgp_json_set_num(rc, "blr", x->s.run.sched.blr);
    lgp_json_set_num(rc, "lr", x->s.run.sched.lr);
    lgp_json_set_num(rc, "layer_decay", x->s.fo.layer_decay);
    lgp_json_set_num(rc, "drop_path", x->s.fo.drop_path);
    lgp_json_set_num(rc, "smoothing", x->s.fo.smoothing);
    lgp_json_set_num(rc, "mixup", x->s.fo.mixup);
    lgp_json_set_num(rc, "cutmix", x->s.fo.cutmix);
    lgp_json_set(j, "recipe", rc);
    const char *meta = lgp_reader_meta(x->io.r);
    lgp_json *m = meta ? lgp_json_parse(meta, strlen(meta), NULL, 0) : NULL;
    const lgp_json *aug = lgp_json_get(m, "augment");
    lgp_json_set(j, "views", aug ? lgp_json_clone(aug) : lgp_json_new_null());
    lgp_json_free(m);
    for (int i = 0; i < x->nevals; i++) {
        lgp_json *e = lgp_json_new_obj();
        lgp_json_set_i64(e, "step", x->evals[i].step);
        lgp_json_set_num(e, "top1", 100.0 * x->evals[i].top1 / x->evals[i].n);
        lgp_json_set_num(e, "top5", 100.0 * x->evals[i].top5 / x->evals[i].n);
        lgp_json_push(ev, e);
    }
    lgp_json_set(j, "evals", ev);
    char *text = lgp_json_dump(j);
    lgp_json_free(j);
    if (!text) lgp_die("out of memory");
    size_t n = strlen(text);
    text[n] = '\n';
    if (lgp_atomic_write_file(x->o->json, text, n + 1, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    free(text);
}

int main(int argc, char **argv) {
    lgp_trainer_init(&argc, &argv);
    static const lgp_adamw_hparams hp = {0.9f, 0.999f, 1e-8f, 0.05f};
    struct opts o = {.accum = 1, .blr = 5e-4, .min_lr = 1e-6};
    lgp_ft_opts_init(&o.fo);
    lgp_trainopts_init(&o.t, &hp);
    o.t.model = "fmnist";
    o.t.batch = 64;
    o.t.warmup_epochs = 5;
    parse(argc, argv, &o);
    lgp_trainer_ready(&o.t, NULL);
    if (lgp_dist_rank() == 0) lgp_output_check_path("--json", o.json);
    if (o.test) { /* a missing test file fails now, not after the training */
        char err[1024];
        lgp_reader *r;
        if (lgp_reader_open(&r, o.test, err, sizeof err) != LGP_OK) lgp_die("--test: %s", err);
        lgp_reader_close(r);
    }
    char err[1024];
    static ft x;
    x.o = &o;
    x.t0 = lgp_now();
    lgp_trainer_io_open(&x.io, o.t.input);
    setup(&x.s, &o, x.io.r);
    lgp_ft_state *s = &x.s;
    lgp_trainer_io_ready(&x.io, &s->m.cfg, 1, 0, &s->run, o.t.strict, &s->m.params, s->m.grads);
    if (lgp_ft_engine_init(&x.e, s, s->run.sched.batch, err, sizeof err) != LGP_OK)
        lgp_die("cannot allocate batch %d: %s", s->run.sched.batch, err);
    lgp_trainer t = {.prefix = "ft", .state = &x, .run = &s->run, .opt = &s->opt, .table = &s->m.params,
                     .params = s->m.params.data, .grads = s->m.grads, .log_lr_scale = 1, .step = step,
                     .record = state_record, .meta = state_meta, .hash = state_hash, .after_update = after_update, .finish = finish};
    lgp_trainer_run(&t, &o.t, &x.io);
    if (o.json && lgp_dist_rank() == 0) write_json(&x);
    lgp_trainer_io_close(&x.io, s->run.step);
    lgp_ft_engine_free(&x.e);
    lgp_ft_state_free(s);
    lgp_dist_finalize();
    return LGP_EXIT_OK;
}
