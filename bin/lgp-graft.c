/* lgp-graft — stage 1 → stage 2: keep the MIM encoder, drop the MAE decoder, add the
 * MoCo v3 heads and momentum copies, fix the layer-wise lr groups. */
#include "common/util/cli.h"
#include "common/train/clstate.h"
#include "common/train/graft.h"
#include "common/lgp.h"
#include "common/util/log.h"
#include "common/model/modelcfg.h"
#include "formats/checkpoint.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "lgp-graft — graft a stage-1 (MIM) encoder into a stage-2 (MoCo v3) checkpoint\n"
    "\n"
    "usage: lgp-graft [options] [STAGE1|-] > stage2.ckpt\n"
    "\n"
    "Reads a stage-1 checkpoint (lgp-mim-train output, or a timm-named safetensors file\n"
    "such as converted MAE weights) and writes a stage-2 checkpoint for lgp-cl-train: the\n"
    "encoder (cls, pos, patch embedding, blocks, final norm) unchanged, the MAE decoder\n"
    "dropped, a projector head.* (C→F→F→E) and predictor predictor.* (E→F→E) freshly\n"
    "initialised (PyTorch defaults), momentum copies momentum.* of the encoder and\n"
    "projector, BN running statistics, and the lr groups in the metadata.\n"
    "\n"
    "  --model NAME          config when the file has no lgp metadata (timm weights):\n"
    "                        fmnist, vit-tiny, vit-small, vit-base, vit-large\n"
    LGP_MODELCFG_HELP
    "  --mlp-dim F           hidden width of the heads (default 4096 for width >= 384,\n"
    "                        else 1024)\n"
    "  --moco-dim E          output width (default 256 for width >= 384, else 128)\n"
    "  --lr-layer-wise LIST  base lrs per 256 images, one per equal group of blocks, e.g.\n"
    "                        1.5e-5,1.5e-5,1.5e-4 (LGP); cls joins the first group, final\n"
    "                        norm and heads the last; depth must be a multiple of the count\n"
    "  --blr X               one group for everything (default 1.5e-4; MoCo v3)\n"
    "  --freeze-below K      freeze the cls token and blocks 0..K-1 entirely (default 0)\n"
    "  --lr-heads X          base lr of the final norm and heads (default: the last\n"
    "                        group's), e.g. every block at 0.1x and the heads at 1x\n"
    "  --train-patch-embed   train the patch embedding in stage 2 (default frozen)\n"
    "  --reinit-above K      re-initialise blocks K.. and the final norm (MoCo v3 init)\n"
    "  --keep-decoder        keep the MAE decoder (for lgp-cl-train --mim-weight)\n"
    "  --tau T               contrastive temperature recorded for lgp-cl-train (0.2)\n"
    "  --moco-m M            start of the momentum schedule (default 0.99)\n"
    "  --seed S              head initialisation seed (default 0)\n"
    "  --allow-partial       accept an unfinished run's checkpoint (complete: false)\n"
    LGP_OUTPUT_HELP
    "  -q, --quiet / -v, --verbose / --help / --version\n"
    "\n"
    "pos_embed (sin-cos) is always frozen, the patch embedding unless --train-patch-embed\n"
    "(MoCo v3's stop-grad-conv1); weight decay applies to every tensor of 2 or more\n"
    "dimensions and the cls token. lgp-inspect --meta shows the groups.\n"
    "\n"
    "example:\n"
    "  lgp-graft --lr-layer-wise 1.5e-5,1.5e-5,1.5e-4 stage1.ckpt -o stage2.ckpt\n"
    "\n"
    "exit status: 0 written; 1 unreadable or mismatched input, write error; 2 usage error.\n"
    "See lgp-graft(1).\n";

struct opts {
    const char *model, *input;
    lgp_modelcfg_overrides ov;
    lgp_cl_opts co;
    uint64_t seed;
    lgp_output_opts out;
};

static void parse(int argc, char **argv, struct opts *o) {
    enum { O_MODEL = 0x4001, O_MLP, O_MOCO, O_LW, O_BLR, O_FREEZE, O_REINIT, O_KEEP, O_TAU, O_M, O_SEED, O_PARTIAL, O_HEADS, O_PATCH };
    static const struct option lo[] = {
        LGP_COMMON_LONGOPTS, LGP_OUTPUT_LONGOPTS, LGP_MODELCFG_LONGOPTS,
        {"model", 1, 0, O_MODEL}, {"mlp-dim", 1, 0, O_MLP}, {"moco-dim", 1, 0, O_MOCO},
        {"lr-layer-wise", 1, 0, O_LW}, {"blr", 1, 0, O_BLR}, {"freeze-below", 1, 0, O_FREEZE},
        {"reinit-above", 1, 0, O_REINIT}, {"keep-decoder", 0, 0, O_KEEP}, {"tau", 1, 0, O_TAU},
        {"moco-m", 1, 0, O_M}, {"seed", 1, 0, O_SEED}, {"allow-partial", 0, 0, O_PARTIAL},
        {"lr-heads", 1, 0, O_HEADS}, {"train-patch-embed", 0, 0, O_PATCH}, {0, 0, 0, 0},
    };
    char err[512];
    int c;
    while ((c = getopt_long(argc, argv, "qvo:", lo, NULL)) != -1) {
        if (lgp_common_opt(c, help) || lgp_output_opt(&o->out, c, optarg) || lgp_modelcfg_opt(&o->ov, c, optarg)) continue;
        switch (c) {
        case O_MODEL: o->model = optarg; break;
        case O_MLP: o->co.mlp_dim = (int)lgp_opt_int("--mlp-dim", optarg, 1, 65536); break;
        case O_MOCO: o->co.moco_dim = (int)lgp_opt_int("--moco-dim", optarg, 1, 65536); break;
        case O_LW:
            if (lgp_groups_parse(&o->co.groups, optarg, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
            break;
        case O_BLR:
            o->co.groups.n = 1;
            o->co.groups.blr[0] = lgp_opt_double("--blr", optarg, 0, 1e3);
            break;
        case O_FREEZE: o->co.groups.freeze_below = (int)lgp_opt_int("--freeze-below", optarg, 0, LGP_VIT_MAX_DEPTH); break;
        case O_REINIT: o->co.reinit_above = (int)lgp_opt_int("--reinit-above", optarg, 0, LGP_VIT_MAX_DEPTH); break;
        case O_KEEP: o->co.keep_decoder = 1; break;
        case O_TAU: o->co.tau = lgp_opt_double("--tau", optarg, 1e-4, 100); break;
        case O_M: o->co.m0 = lgp_opt_double("--moco-m", optarg, 1e-6, 1); break;
        case O_SEED: o->seed = lgp_opt_u64("--seed", optarg); break;
        case O_PARTIAL: lgp_ckpt_allow_partial = 1; break;
        case O_HEADS: o->co.groups.heads_set = 1, o->co.groups.heads_blr = lgp_opt_double("--lr-heads", optarg, 0, 1e3); break;
        case O_PATCH: o->co.groups.train_patch = 1; break;
        default: lgp_usage_die("unexpected option");
        }
    }
    if (optind < argc) o->input = argv[optind++];
    if (optind < argc) lgp_usage_die("extra operand '%s'", argv[optind]);
}

int main(int argc, char **argv) {
    lgp_proginit(argc, argv);
    struct opts o = {.input = "-"};
    lgp_cl_opts_init(&o.co);
    lgp_output_opts_init(&o.out);
    lgp_modelcfg_overrides_init(&o.ov);
    parse(argc, argv, &o);
    lgp_output_precheck(&o.out);
    lgp_vit_config cfg, *fallback = NULL;
    if (o.model) {
        if (lgp_vit_config_by_name(o.model, &cfg) != LGP_OK) lgp_usage_die("--model: unknown model '%s'", o.model);
        lgp_modelcfg_apply(&cfg, &o.ov);
        fallback = &cfg;
    }
    char err[2048], *meta = NULL;
    lgp_record rec;
    lgp_record_init(&rec);
    if (lgp_ckpt_load(o.input, &rec, &meta, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    if (lgp_ckpt_check_complete(meta, o.input, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    if (lgp_record_get(&rec, "head.0.weight"))
        lgp_die("%s: already a stage-2 checkpoint (it has MoCo heads); graft a stage-1 checkpoint", o.input);
    lgp_adamw_hparams hp = {0.9f, 0.999f, 1e-8f, 0.1f};
    lgp_cl_state s;
    const char *src = strcmp(o.input, "-") ? o.input : "stdin";
    int rc = lgp_graft(&s, &rec, meta, src, fallback, &o.co, o.seed, &hp, err, sizeof err);
    if (rc == LGP_USAGE) lgp_usage_die("%s", err);
    if (rc != LGP_OK) lgp_die("%s", err);
    free(meta);
    lgp_record_free(&rec);
    /* A checkpoint with a config fixes the model: options asking for another are an error. */
    lgp_vit_config asked = s.m.cfg;
    if (o.model) lgp_vit_config_by_name(o.model, &asked);
    lgp_modelcfg_apply(&asked, &o.ov);
    if (lgp_modelcfg_check_encoder(&asked, &s.m.cfg, src, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
    lgp_record out;
    if (lgp_cl_state_record(&s, &out, 0) != LGP_OK) lgp_die("out of memory");
    char *m = lgp_cl_state_meta(&s, 1); /* a finished graft: a start that lgp-cl-train may take */
    if (lgp_ckpt_save(o.out.path, &out, m, &o.out.w, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    lgp_info("grafted %s: encoder %016llx, heads %d/%d, %d lr group%s, freeze below %d; %zu parameters", src,
             (unsigned long long)lgp_cl_encoder_hash(&s, 0), s.co.mlp_dim, s.co.moco_dim, s.co.groups.n,
             s.co.groups.n == 1 ? "" : "s", s.co.groups.freeze_below, s.m.params.total);
    free(m);
    lgp_record_free(&out);
    lgp_cl_state_free(&s);
    return LGP_EXIT_OK;
}
