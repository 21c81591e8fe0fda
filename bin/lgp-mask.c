/* lgp-mask — attach an MAE random mask (or a BEiT block mask) to every record,
 * deterministic per (seed, epoch, sample index). */
#include "common/util/cli.h"
#include "common/util/filterloop.h"
#include "common/lgp.h"
#include "common/util/log.h"
#include "common/data/mask.h"
#include "common/nn/vit.h"
#include "formats/json.h"
#include "formats/stream.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SEED 20240607ULL

static const char help[] =
    "lgp-mask — attach a per-sample patch mask (MAE random or BEiT block-wise)\n"
    "\n"
    "usage: lgp-mask [options] [INPUT|-] > masked.lgps\n"
    "\n"
    "Reads any record stream (typically lgp-augment output) and adds `mask` u8 [N]\n"
    "(1 = masked, row-major patch order, N = (S/P)^2) and, with --ids-keep, `ids_keep`\n"
    "i64 [K] (the unmasked patches, ascending); everything else passes through. The patch\n"
    "grid comes from --img-size, or else from the shape of the --view tensor of each\n"
    "record. Random masking is MAE's: noise U[0,1) per patch from (seed, epoch, index),\n"
    "argsort ascending, keep the first int(N * (1 - ratio)); lgp-mim-train draws the very\n"
    "same mask (lgp_mask_random) when its input has none. Block masking is BEiT's\n"
    "MaskingGenerator (blocks of >= --min-block patches, aspect in [A, 1/A]) until\n"
    "N - int(N * (1 - ratio)) patches are masked, topped up at random if it stalls.\n"
    "Output header metadata = input metadata plus \"mask\" (all parameters, seed).\n"
    "\n"
    "options:\n"
    "  --patch P              patch side in pixels (default: the patch of lgp's model for the\n"
    "                         view size the input announces: 4 at 28 (fmnist), else 16)\n"
    "  --img-size S           image side (default: from the --view tensor's shape)\n"
    "  --view NAME            tensor whose shape gives the grid (default view0, then image)\n"
    "  --ratio R              fraction masked, 0 <= R < 1 (default 0.75)\n"
    "  --block                BEiT block-wise masking instead of random\n"
    "  --min-block N          smallest block, patches (default 16)\n"
    "  --min-aspect A         block aspect range [A, 1/A] (default 0.3)\n"
    "  --ids-keep             also write ids_keep i64 [K]\n"
    "  --seed N               (default 20240607)\n"
    "  --epoch N              (default 0)\n"
    "  --start-index N        index of the first input record (default 0)\n"
    "  --strict               die on the first bad record instead of skipping it\n"
    LGP_OUTPUT_HELP
    "  --progress            a live count on stderr (default: a summary line at the end;\n"
    "                        the trainer or lgp-embed at the end of the pipe draws its\n"
    "                        live line)\n"
    "  -q, --quiet / -v, --verbose / --help / --version\n"
    "\n"
    "example:\n"
    "  tar-images /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz |\n"
    "    lgp-augment --recipe mae --size 28 | lgp-mask --patch 4 | lgp-mim-train ...\n"
    "\n"
    "exit status: 0 ok (damaged records skipped: 10 named, the rest counted), 1 bad input,\n"
    "a view --patch does not divide, every record skipped, or write error, 2 usage error.\n"
    "See lgp-mask(1).\n";

struct opts {
    int patch, img_size, block, ids_keep, strict;
    double ratio;
    lgp_block_opts bo;
    const char *view;
    uint64_t seed, epoch, start;
    lgp_output_opts out;
    const char *input;
};

/* No --patch: the view size from --img-size, lgp-augment's header ("augment": {"size"})
 * or tar-images' ("image_shape"), mapped to the patch of lgp's model of that size. */
static void default_patch(struct opts *o, const char *in_meta) {
    lgp_json *m = lgp_json_parse(in_meta, strlen(in_meta), NULL, 0);
    int side = o->img_size;
    if (!side) side = (int)lgp_json_get_num(lgp_json_get(m, "augment"), "size", 0);
    const lgp_json *sh = lgp_json_get(m, "image_shape");
    if (!side && sh && sh->type == LGP_JSON_ARR && sh->n == 3 && sh->items[0]->type == LGP_JSON_NUM)
        side = (int)sh->items[0]->num;
    lgp_json_free(m);
    o->patch = lgp_vit_default_patch(side);
    lgp_debug("--patch %d for %d-pixel views", o->patch, side);
}

static char *make_meta(void *ctx, const char *in_meta) {
    struct opts *o = ctx;
    if (!o->patch) default_patch(o, in_meta);
    lgp_json *m = in_meta ? lgp_json_parse(in_meta, strlen(in_meta), NULL, 0) : NULL;
    if (!m || m->type != LGP_JSON_OBJ) {
        lgp_json_free(m);
        m = lgp_json_new_obj();
    }
    lgp_json *k = lgp_json_new_obj();
    lgp_json_set_str(k, "kind", o->block ? "block" : "random");
    lgp_json_set_num(k, "patch", o->patch);
    if (o->img_size) lgp_json_set_num(k, "img_size", o->img_size);
    else lgp_json_set_str(k, "img_size_from", o->view ? o->view : "view0|image");
    lgp_json_set_num(k, "ratio", o->ratio);
    if (o->block) {
        lgp_json_set_num(k, "min_block", o->bo.min_patches);
        lgp_json_set_num(k, "min_aspect", o->bo.min_aspect);
    }
    lgp_json_set(k, "ids_keep", lgp_json_new_bool(o->ids_keep));
    lgp_json_set_u64(k, "seed", o->seed);
    lgp_json_set_u64(k, "epoch", o->epoch);
    lgp_json_set_u64(k, "start_index", o->start);
    lgp_json_set(m, "mask", k);
    char *s = lgp_json_dump(m);
    lgp_json_free(m);
    return s;
}

/* Patch grid of this record: gh x gw. */
static int grid(const struct opts *o, const lgp_record *r, int *gh, int *gw, char *err, size_t errlen) {
    int64_t h = o->img_size, w = o->img_size;
    if (!h) {
        const lgp_tensor *t = lgp_record_get(r, o->view ? o->view : "view0");
        if (!t && !o->view) t = lgp_record_get(r, "image");
        if (!t || t->ndim < 2) {
            snprintf(err, errlen, "no %s tensor to size the mask (use --img-size)", o->view ? o->view : "view0/image");
            return LGP_FATAL;
        }
        h = t->shape[0], w = t->shape[1];
    }
    if (h % o->patch || w % o->patch || h / o->patch > 4096 || w / o->patch > 4096) {
        snprintf(err, errlen, "image %lldx%lld is not a multiple of --patch %d", (long long)w, (long long)h, o->patch);
        return LGP_FATAL; /* a geometry mismatch: every record after it has it too */
    }
    *gh = (int)(h / o->patch), *gw = (int)(w / o->patch);
    return LGP_OK;
}

static int process(void *ctx, lgp_record *r, uint64_t index, char *err, size_t errlen) {
    const struct opts *o = ctx;
    int gh, gw, rc;
    if ((rc = grid(o, r, &gh, &gw, err, errlen)) != LGP_OK) return rc;
    int n = gh * gw, keep = lgp_mask_keep_count(n, o->ratio);
    uint8_t *mask = malloc((size_t)n);
    int64_t *ids = malloc(sizeof(int64_t) * (size_t)n);
    int got = -1;
    if (mask && ids)
        got = o->block ? lgp_mask_block(mask, gh, gw, n - keep, &o->bo, o->seed, o->epoch, index)
                       : lgp_mask_random(mask, n, o->ratio, o->seed, o->epoch, index);
    rc = got < 0 ? LGP_FATAL : LGP_OK;
    int64_t shape[1] = {n};
    if (rc == LGP_OK) rc = lgp_record_put(r, "mask", LGP_DT_U8, 1, shape, mask, (size_t)n, LGP_COPY);
    if (rc == LGP_OK && o->ids_keep) {
        shape[0] = lgp_mask_ids_keep(ids, mask, n);
        rc = lgp_record_put(r, "ids_keep", LGP_DT_I64, 1, shape, ids, sizeof(int64_t) * (size_t)shape[0], LGP_COPY);
    }
    if (rc != LGP_OK) snprintf(err, errlen, "out of memory");
    free(mask);
    free(ids);
    return rc;
}

static void run(struct opts *o) {
    lgp_filterloop f = {.input = o->input, .out = &o->out, .strict = o->strict, .batch = 1, .threads = 1,
                         .start = o->start, .flags = LGP_FILTERLOOP_POSITION_FATAL | LGP_FILTERLOOP_POSITION_SKIP,
                         .ctx = o, .make_meta = make_meta, .process = process};
    lgp_filterloop_counts k;
    lgp_filterloop_run(&f, &k);
    lgp_info("records in %lld, out %lld, skipped %lld", k.in, k.out, k.skipped);
}

int main(int argc, char **argv) {
    lgp_proginit(argc, argv);
    lgp_sigpipe_is_success();
    lgp_progress_feeder(); /* the pipeline's live line is its consumer's (--progress: ours too) */
    struct opts o = {.patch = 0, .ratio = 0.75, .bo = LGP_BLOCK_OPTS_DEFAULT, .seed = DEFAULT_SEED, .input = "-"};
    lgp_output_opts_init(&o.out);
    enum { O_PATCH = 0x2001, O_IMG, O_VIEW, O_RATIO, O_BLOCK, O_MINB, O_MINA, O_IDS, O_SEED, O_EPOCH, O_START, O_STRICT };
    static const struct option lo[] = {
        LGP_COMMON_LONGOPTS, LGP_OUTPUT_LONGOPTS,
        {"patch", required_argument, 0, O_PATCH}, {"img-size", required_argument, 0, O_IMG},
        {"view", required_argument, 0, O_VIEW}, {"ratio", required_argument, 0, O_RATIO},
        {"block", no_argument, 0, O_BLOCK}, {"min-block", required_argument, 0, O_MINB},
        {"min-aspect", required_argument, 0, O_MINA}, {"ids-keep", no_argument, 0, O_IDS},
        {"seed", required_argument, 0, O_SEED}, {"epoch", required_argument, 0, O_EPOCH},
        {"start-index", required_argument, 0, O_START}, {"strict", no_argument, 0, O_STRICT},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "qvo:", lo, NULL)) != -1) {
        if (lgp_common_opt(c, help) || lgp_output_opt(&o.out, c, optarg)) continue;
        switch (c) {
        case O_PATCH: o.patch = (int)lgp_opt_int("--patch", optarg, 1, 4096); break;
        case O_IMG: o.img_size = (int)lgp_opt_int("--img-size", optarg, 1, 1 << 20); break;
        case O_VIEW: o.view = optarg; break;
        case O_RATIO: o.ratio = lgp_opt_double("--ratio", optarg, 0, 0.999999); break;
        case O_BLOCK: o.block = 1; break;
        case O_MINB: o.bo.min_patches = (int)lgp_opt_int("--min-block", optarg, 1, 1 << 20); break;
        case O_MINA: o.bo.min_aspect = lgp_opt_double("--min-aspect", optarg, 0.01, 1); break;
        case O_IDS: o.ids_keep = 1; break;
        case O_SEED: o.seed = lgp_opt_u64("--seed", optarg); break;
        case O_EPOCH: o.epoch = lgp_opt_u64("--epoch", optarg); break;
        case O_START: o.start = lgp_opt_u64("--start-index", optarg); break;
        case O_STRICT: o.strict = 1; break;
        default: lgp_usage_die("unexpected option");
        }
    }
    if (optind < argc) o.input = argv[optind++];
    if (optind != argc) lgp_usage_die("extra operand '%s'", argv[optind]);
    if (o.img_size && o.patch && o.img_size % o.patch) lgp_usage_die("--img-size %d is not a multiple of --patch %d", o.img_size, o.patch);
    lgp_output_precheck(&o.out);
    run(&o);
    return LGP_EXIT_OK;
}
