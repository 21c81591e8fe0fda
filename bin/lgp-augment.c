/* lgp-augment — training views (MAE, MoCo v3, fine-tuning) or the evaluation view of
 * every image record, deterministic per (seed, epoch, sample index). */
#include "common/data/augment.h"
#include "common/util/cli.h"
#include "common/util/filterloop.h"
#include "common/util/strlist.h"
#include "common/util/threads.h"
#include "common/lgp.h"
#include "common/util/log.h"
#include "formats/json.h"
#include "formats/stream.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SEED 20240607ULL
#define BATCH 64

static const char help[] =
    "lgp-augment — random-resized-crop training views or the eval view of image records\n"
    "\n"
    "usage: lgp-augment [options] [INPUT|-] > views.lgps\n"
    "\n"
    "Reads records holding `image` u8 [H, W, C] (tar-images on IDX files, lgp-decode) or\n"
    "encoded `jpeg`/`png` bytes (tar-images on archives; JPEG crops are decoded partially)\n"
    "and writes each with `view0` (and `view1`) u8 [S, S, C] and `crop0` (`crop1`) f32 [5]\n"
    "= (x, y, w, h, hflip) in source pixels; `image`/`jpeg`/`png` is dropped unless\n"
    "--keep-image, every other tensor (label, ...) passes through. Output header metadata\n"
    "= input metadata plus \"augment\" (recipe, every parameter, seed, epoch, start index).\n"
    "A record's draws come from (seed, --epoch + its `epoch`, its `index`) when it carries\n"
    "them (tar-images writes both: the image's place in the data), else from (seed,\n"
    "--epoch, --start-index + position): threads, resumption and sharding do not change\n"
    "a byte, and ranks reading disjoint shards (--shard auto) draw independently.\n"
    "\n"
    "recipes:\n"
    "  mae   view0: RandomResizedCrop(S, scale 0.2-1, ratio 3/4-4/3, bicubic), hflip 0.5\n"
    "  moco  view0, view1: RandomResizedCrop(S, scale 0.08-1, bilinear); ColorJitter(0.4,\n"
    "        0.4, 0.2, 0.1) p 0.8, ops in random order; grayscale p 0.2; Gaussian blur\n"
    "        sigma U(0.1, 2) p 1.0 / 0.1; solarize p 0 / 0.2; hflip 0.5 (last)\n"
    "  finetune  view0, MAE/BEiT fine-tuning (timm create_transform, is_training):\n"
    "        RandomResizedCrop(S, scale 0.08-1, bicubic), hflip 0.5, RandAugment\n"
    "        rand-m9-mstd0.5-inc1 (2 of timm's 15 increasing ops, each p 0.5, magnitude\n"
    "        N(9, 0.5) clipped to 0-10, geometric ops bicubic with fill 124,116,104),\n"
    "        RandomErasing p 0.25 (one box, area 0.02-1/3, aspect 0.3-3.3, u8 noise\n"
    "        255 * (0.5 + 0.5 N(0, 1)), clamped)\n"
    "        At S <= 32 (Fashion-MNIST, CIFAR) the low-resolution form: scale 1,1, ratio\n"
    "        1,1 (the whole image when square, else its largest centred square) and hflip\n"
    "        0.5, no RandAugment, no erasing; the ImageNet views zoom in while such test\n"
    "        images are used as they are. --scale, --ratio, --randaug (or --randaug-mstd),\n"
    "        --erase-p given are kept (--scale 0.08,1 --ratio 0.75,1.3333333333333333\n"
    "        --randaug 2,9 --erase-p 0.25 is the ImageNet form at any size)\n"
    "  eval  view0: Resize(int(S / crop-ratio), shorter side) + CenterCrop(S), bilinear\n"
    "Single-channel images (Fashion-MNIST) skip saturation, hue, grayscale and RandAugment's\n"
    "Color, which need colour; the other ops still apply (geometric fill: the fill's luma).\n"
    "\n"
    "options (defaults are the recipe's):\n"
    "  --recipe NAME          mae, moco, finetune or eval (default mae)\n"
    "  --size S               output side (default 224; a source that announces a smaller\n"
    "                         fixed image shape, as IDX input does, keeps its size: 28 for\n"
    "                         Fashion-MNIST)\n"
    "  --scale MIN,MAX        crop area fraction (mae 0.2,1; moco and finetune 0.08,1;\n"
    "                         finetune at S <= 32: 1,1)\n"
    "  --ratio MIN,MAX        crop aspect w/h, log-uniform (default 0.75,1.3333; finetune\n"
    "                         at S <= 32: 1,1)\n"
    "  --interp NAME          bilinear, bicubic, lanczos, nearest, box (mae and finetune\n"
    "                         bicubic, else bilinear; RandAugment stays bicubic)\n"
    "  --hflip P              horizontal flip probability (default 0.5; eval 0)\n"
    "  --jitter P             ColorJitter probability (moco 0.8, mae 0)\n"
    "  --brightness X  --contrast X  --saturation X  --hue X   (moco 0.4 0.4 0.2 0.1)\n"
    "  --grayscale P          (moco 0.2, mae 0)\n"
    "  --blur P0[,P1]         blur probability per view (moco 1,0.1; mae 0)\n"
    "  --blur-sigma MIN,MAX   blur radius range (default 0.1,2)\n"
    "  --solarize P0[,P1]     per view (moco 0,0.2; mae 0)\n"
    "  --randaug N,M          finetune: RandAugment ops per image (0-10) and magnitude\n"
    "                         (0-10) (default 2,9, at S <= 32 off; 0,0 turns it off)\n"
    "  --randaug-mstd X       finetune: magnitude std (default 0.5; 0 = fixed M)\n"
    "  --erase-p P            finetune: RandomErasing probability (default 0.25, at S <= 32\n"
    "                         0)\n"
    "  --crop-ratio R         eval: centre crop fraction (default 0.875 = 224/256)\n"
    "  --seed N               (default 20240607)\n"
    "  --epoch N              (default 0)\n"
    "  --start-index N        index of the first input record without an `index` tensor\n"
    "                         (default 0), for resumed\n"
    "                         or sharded runs\n"
    "  --threads N            worker threads; output order is kept (default 2)\n"
    "  --keep-image           keep the source image tensor\n"
    "  --dct-scale            JPEG: allow DCT-scaled decoding of large crops (faster, not\n"
    "                         bit-identical to PIL)\n"
    "  --strict               die on the first bad record instead of skipping it\n"
    "  --keep-list FILE       only records whose key matches a line of FILE ('name' or\n"
    "                         'path label' lines, matched by the name without folder and\n"
    "                         extension: SimCLR's 10percent.txt, lgp-probe --write-subset);\n"
    "                         the rest are left out before decoding; a line that matched\n"
    "                         no record is an error at the end\n"
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
    "a record with no u8 image, every record skipped, or write error, 2 usage error.\n"
    "See lgp-augment(1).\n";

struct opts {
    lgp_recipe rc;
    uint64_t seed, epoch, start;
    int threads, flags, strict, size_given;
    unsigned given; /* LGP_RECIPE_GIVEN_*: what the low-resolution form leaves alone */
    lgp_output_opts out;
    const char *input;
    const char *keep_list; /* --keep-list FILE */
    lgp_strlist keep;      /* its stems, sorted */
    unsigned char *hit;    /* [keep.n] matched at least once */
};

/* --keep-list: the stems of the file's names, sorted; a name listed twice is an error. */
static void load_keep_list(struct opts *o) {
    char err[1024], st[4096];
    lgp_strlist lines = {0};
    if (lgp_strlist_read_lines(&lines, o->keep_list, err, sizeof err) != LGP_OK) lgp_die("--keep-list: %s", err);
    for (size_t i = 0; i < lines.n; i++) {
        char *name = lines.v[i];
        size_t len = strcspn(name, " \t");
        if (!len || name[0] == '#') continue;
        lgp_key_stem(st, sizeof st, name, len);
        if (lgp_strlist_push(&o->keep, st) != LGP_OK) lgp_die("out of memory");
    }
    lgp_strlist_free(&lines);
    size_t n = o->keep.n;
    lgp_strlist_sort_unique(&o->keep);
    if (o->keep.n != n) lgp_die("--keep-list: %s: %zu names are listed twice", o->keep_list, n - o->keep.n);
    if (!o->keep.n) lgp_die("--keep-list: %s: lists no names", o->keep_list);
    if (!(o->hit = calloc(o->keep.n, 1))) lgp_die("out of memory");
}

static void parse_list(const char *flag, const char *s, double lo, double hi, double *v, int n_max, int *n) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    *n = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (*n == n_max) lgp_usage_die("%s: at most %d values, got '%s'", flag, n_max, s);
        v[(*n)++] = lgp_opt_double(flag, tok, lo, hi);
    }
    if (*n == 0) lgp_usage_die("%s: missing value", flag);
}

static void set_pair(const char *flag, const char *s, double lo, double hi, lgp_recipe *rc, size_t off) {
    double v[2];
    int n;
    parse_list(flag, s, lo, hi, v, 2, &n);
    if (n != 2 || v[0] > v[1]) lgp_usage_die("%s: want MIN,MAX with MIN <= MAX, got '%s'", flag, s);
    for (int k = 0; k < LGP_AUG_MAX_VIEWS; k++) memcpy((char *)&rc->view[k] + off, v, sizeof v);
}

/* Per-view probability: one value for all views, or one per view. */
static void set_pv(const char *flag, const char *s, lgp_recipe *rc, size_t off) {
    double v[2];
    int n;
    parse_list(flag, s, 0, 1, v, 2, &n);
    for (int k = 0; k < LGP_AUG_MAX_VIEWS; k++) *(double *)((char *)&rc->view[k] + off) = v[n == 2 ? k : 0];
}

/* --randaug N,M: N integral. */
static void set_randaug(const char *s, lgp_recipe *rc) {
    double v[2];
    int n;
    parse_list("--randaug", s, 0, LGP_AUG_MAX_RA, v, 2, &n);
    if (n != 2 || v[0] != (int)v[0] || v[1] > 10)
        lgp_usage_die("--randaug: want N,M with N an integer 0-%d and M 0-10, got '%s'", LGP_AUG_MAX_RA, s);
    for (int k = 0; k < LGP_AUG_MAX_VIEWS; k++) rc->view[k].ra_n = (int)v[0], rc->view[k].ra_m = v[1];
}

static void set_all(lgp_recipe *rc, size_t off, double x) {
    for (int k = 0; k < LGP_AUG_MAX_VIEWS; k++) *(double *)((char *)&rc->view[k] + off) = x;
}

/* Only finetune draws RandAugment and erasing: elsewhere the flags would do nothing. */
static void finetune_only(const char *flag, const lgp_recipe *rc) {
    if (rc->kind != LGP_RECIPE_FINETUNE)
        lgp_usage_die("%s: only --recipe finetune has RandAugment and erasing", flag);
}

/* No --size: a source that announces one image shape smaller than the default (IDX
 * data such as Fashion-MNIST, 28x28) keeps its size; anything else gets 224. */
static void default_size(struct opts *o, const char *in_meta) {
    lgp_json *m = lgp_json_parse(in_meta, strlen(in_meta), NULL, 0);
    const lgp_json *sh = lgp_json_get(m, "image_shape");
    if (sh && sh->type == LGP_JSON_ARR && sh->n == 3 && sh->items[0]->type == LGP_JSON_NUM) {
        double h = sh->items[0]->num, w = sh->items[1]->num;
        double side = h < w ? h : w;
        if (side >= 1 && side < o->rc.size) {
            o->rc.size = (int)side;
            lgp_info("--size %d: the source's image size (give --size to change it)", o->rc.size);
        }
    }
    lgp_json_free(m);
}

static char *make_meta(void *ctx, const char *in_meta) {
    struct opts *o = ctx;
    if (!o->size_given) default_size(o, in_meta);
    unsigned set = lgp_recipe_finetune_low_res(&o->rc, o->given);
    if (set) {
        char what[96] = "";
        if (set & LGP_RECIPE_GIVEN_SCALE) strcat(what, ", scale 1,1");
        if (set & LGP_RECIPE_GIVEN_RATIO) strcat(what, ", ratio 1,1");
        if (set & LGP_RECIPE_GIVEN_RANDAUG) strcat(what, ", no RandAugment");
        if (set & LGP_RECIPE_GIVEN_ERASE) strcat(what, ", no erasing");
        lgp_info("--recipe finetune at %d pixels: the low-resolution form (%s; --scale, --ratio, --randaug or "
                 "--randaug-mstd, --erase-p set them)", o->rc.size, what + 2);
    }
    lgp_json *m = in_meta ? lgp_json_parse(in_meta, strlen(in_meta), NULL, 0) : NULL;
    if (!m || m->type != LGP_JSON_OBJ) {
        lgp_json_free(m);
        m = lgp_json_new_obj();
    }
    lgp_json *a = lgp_recipe_to_json(&o->rc);
    lgp_json_set_u64(a, "seed", o->seed);
    lgp_json_set_u64(a, "epoch", o->epoch);
    lgp_json_set_u64(a, "start_index", o->start);
    lgp_json_set(a, "dct_scale", lgp_json_new_bool(!!(o->flags & LGP_AUG_DCT_SCALE)));
    lgp_json_set_str(a, "single_channel", o->rc.kind == LGP_RECIPE_FINETUNE
                                              ? "saturation, hue, grayscale and RandAugment Color skipped; "
                                                "geometric fill = luma of the fill"
                                              : "saturation, hue and grayscale skipped");
    lgp_json_set(m, "augment", a);
    if (o->keep.n) { /* the subset is the epoch */
        lgp_json_set_i64(m, "records_per_epoch", (int64_t)o->keep.n);
        lgp_json_set_str(m, "keep_list", o->keep_list);
    }
    char *s = lgp_json_dump(m);
    lgp_json_free(m);
    return s;
}

/* Thread-safe: a record's draws depend on (seed, epoch, index) only. */
static int process(void *ctx, lgp_record *r, uint64_t index, char *err, size_t errlen) {
    const struct opts *o = ctx;
    /* A record that says where it is in the data (tar-images' epoch and index) draws by
     * that, not by its position in this stream: the k-th record of every rank's shard is
     * a different image and must not get the same crop. */
    uint64_t epoch = o->epoch;
    int64_t v;
    if (lgp_tensor_get_int(lgp_record_get(r, "index"), &v) == LGP_OK && v >= 0) {
        index = (uint64_t)v;
        if (lgp_tensor_get_int(lgp_record_get(r, "epoch"), &v) == LGP_OK && v >= 0) epoch += (uint64_t)v;
    }
    if (o->keep.n) {
        char st[4096];
        const char *key = r->key ? r->key : "";
        lgp_key_stem(st, sizeof st, key, strlen(key));
        long k = lgp_strlist_find_sorted(&o->keep, st);
        if (k < 0) return LGP_EOF;                 /* not in the subset: left out, never decoded */
        __atomic_store_n(&o->hit[k], 1, __ATOMIC_RELAXED); /* threads may mark the same name */
    }
    return lgp_augment_record(r, &o->rc, o->seed, epoch, index, o->flags, err, errlen);
}

static void progress(void *ctx, const lgp_filterloop_counts *k) {
    (void)ctx;
    lgp_progress_line("%lld images, %.0f img/s", k->out, k->out / (lgp_now() - k->t0 + 1e-9));
}

static void run(struct opts *o) {
    lgp_filterloop f = {.input = o->input, .out = &o->out, .strict = o->strict, .batch = BATCH,
                         .threads = o->threads, .start = o->start, .flags = LGP_FILTERLOOP_POSITION_FATAL,
                         .ctx = o, .make_meta = make_meta, .process = process, .progress = progress};
    lgp_filterloop_counts k;
    lgp_filterloop_run(&f, &k);
    lgp_info("records in %lld, out %lld, skipped %lld%s (%.1f s)", k.in, k.out, k.skipped,
             o->keep.n ? ", the rest not in --keep-list" : "", lgp_now() - k.t0);
    size_t missed = 0, first = 0;
    for (size_t i = 0; i < o->keep.n; i++)
        if (!o->hit[i] && !missed++) first = i;
    if (missed) /* a subset smaller than asked is not the subset */
        lgp_die("--keep-list: %s: %zu of %zu names matched no record (first: '%s')", o->keep_list, missed,
                o->keep.n, o->keep.v[first]);
}

int main(int argc, char **argv) {
    /* Between batches the workers wait for the next one: spinning there took ~8x the CPU
     * the views need, from the trainer the pipeline feeds (bench/README.md). */
    lgp_threads_passive_reexec(argv);
    lgp_proginit(argc, argv);
    lgp_sigpipe_is_success();
    lgp_progress_feeder(); /* the pipeline's live line is its consumer's (--progress: ours too) */
    struct opts o = {.seed = DEFAULT_SEED, .threads = 2, .input = "-"};
    lgp_output_opts_init(&o.out);
    enum { O_RECIPE = 0x2001, O_SIZE, O_SCALE, O_RATIO, O_INTERP, O_HFLIP, O_JITTER, O_BRIGHT, O_CONTRAST,
           O_SAT, O_HUE, O_GRAY, O_BLUR, O_SIGMA, O_SOLAR, O_CROPR, O_SEED, O_EPOCH, O_START, O_THREADS,
           O_KEEP, O_DCT, O_STRICT, O_RANDAUG, O_RA_MSTD, O_ERASE_P, O_KEEPLIST };
    static const struct option lo[] = {
        LGP_COMMON_LONGOPTS, LGP_OUTPUT_LONGOPTS,
        {"recipe", required_argument, 0, O_RECIPE}, {"size", required_argument, 0, O_SIZE},
        {"scale", required_argument, 0, O_SCALE}, {"ratio", required_argument, 0, O_RATIO},
        {"interp", required_argument, 0, O_INTERP}, {"hflip", required_argument, 0, O_HFLIP},
        {"jitter", required_argument, 0, O_JITTER}, {"brightness", required_argument, 0, O_BRIGHT},
        {"contrast", required_argument, 0, O_CONTRAST}, {"saturation", required_argument, 0, O_SAT},
        {"hue", required_argument, 0, O_HUE}, {"grayscale", required_argument, 0, O_GRAY},
        {"blur", required_argument, 0, O_BLUR}, {"blur-sigma", required_argument, 0, O_SIGMA},
        {"solarize", required_argument, 0, O_SOLAR}, {"crop-ratio", required_argument, 0, O_CROPR},
        {"seed", required_argument, 0, O_SEED}, {"epoch", required_argument, 0, O_EPOCH},
        {"start-index", required_argument, 0, O_START}, {"threads", required_argument, 0, O_THREADS},
        {"keep-image", no_argument, 0, O_KEEP}, {"dct-scale", no_argument, 0, O_DCT},
        {"strict", no_argument, 0, O_STRICT}, {"randaug", required_argument, 0, O_RANDAUG},
        {"randaug-mstd", required_argument, 0, O_RA_MSTD}, {"erase-p", required_argument, 0, O_ERASE_P},
        {"keep-list", required_argument, 0, O_KEEPLIST},
        {0, 0, 0, 0},
    };
    /* the recipe sets the defaults the other flags override: find it first */
    const char *recipe = "mae";
    int size = 224;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--recipe") && i + 1 < argc) recipe = argv[i + 1];
        else if (!strncmp(argv[i], "--recipe=", 9)) recipe = argv[i] + 9;
    }
    if (lgp_recipe_init(&o.rc, recipe, size) != LGP_OK)
        lgp_usage_die("--recipe: unknown recipe '%s' (mae, moco, finetune, eval)", recipe);
    lgp_recipe *rc = &o.rc;
    int c, f;
    while ((c = getopt_long(argc, argv, "qvo:", lo, NULL)) != -1) {
        if (lgp_common_opt(c, help) || lgp_output_opt(&o.out, c, optarg)) continue;
        switch (c) {
        case O_RECIPE: break;
        case O_SIZE: rc->size = (int)lgp_opt_int("--size", optarg, 1, 8192), o.size_given = 1; break;
        case O_SCALE:
            set_pair("--scale", optarg, 1e-6, 1, rc, offsetof(lgp_view_opts, scale));
            o.given |= LGP_RECIPE_GIVEN_SCALE;
            break;
        case O_RATIO:
            set_pair("--ratio", optarg, 1e-3, 1e3, rc, offsetof(lgp_view_opts, ratio));
            o.given |= LGP_RECIPE_GIVEN_RATIO;
            break;
        case O_INTERP:
            if ((f = lgp_filter_from_name(optarg)) < 0)
                lgp_usage_die("--interp: unknown filter '%s' (bilinear, bicubic, lanczos, nearest, box)", optarg);
            for (int v = 0; v < LGP_AUG_MAX_VIEWS; v++) rc->view[v].interp = (lgp_filter)f;
            break;
        case O_HFLIP: set_pv("--hflip", optarg, rc, offsetof(lgp_view_opts, flip_p)); break;
        case O_JITTER: set_pv("--jitter", optarg, rc, offsetof(lgp_view_opts, jitter_p)); break;
        case O_BRIGHT: set_all(rc, offsetof(lgp_view_opts, brightness), lgp_opt_double("--brightness", optarg, 0, 10)); break;
        case O_CONTRAST: set_all(rc, offsetof(lgp_view_opts, contrast), lgp_opt_double("--contrast", optarg, 0, 10)); break;
        case O_SAT: set_all(rc, offsetof(lgp_view_opts, saturation), lgp_opt_double("--saturation", optarg, 0, 10)); break;
        case O_HUE: set_all(rc, offsetof(lgp_view_opts, hue), lgp_opt_double("--hue", optarg, 0, 0.5)); break;
        case O_GRAY: set_pv("--grayscale", optarg, rc, offsetof(lgp_view_opts, gray_p)); break;
        case O_BLUR: set_pv("--blur", optarg, rc, offsetof(lgp_view_opts, blur_p)); break;
        case O_SIGMA: set_pair("--blur-sigma", optarg, 0, 100, rc, offsetof(lgp_view_opts, sigma)); break;
        case O_SOLAR: set_pv("--solarize", optarg, rc, offsetof(lgp_view_opts, solarize_p)); break;
        case O_RANDAUG: finetune_only("--randaug", rc), set_randaug(optarg, rc), o.given |= LGP_RECIPE_GIVEN_RANDAUG; break;
        case O_RA_MSTD:
            finetune_only("--randaug-mstd", rc);
            set_all(rc, offsetof(lgp_view_opts, ra_mstd), lgp_opt_double("--randaug-mstd", optarg, 0, 100));
            o.given |= LGP_RECIPE_GIVEN_RANDAUG; /* asks for RandAugment: the low-res form keeps it */
            break;
        case O_ERASE_P:
            finetune_only("--erase-p", rc);
            set_pv("--erase-p", optarg, rc, offsetof(lgp_view_opts, erase_p));
            o.given |= LGP_RECIPE_GIVEN_ERASE;
            break;
        case O_CROPR: rc->crop_ratio = lgp_opt_double("--crop-ratio", optarg, 1e-3, 1); break;
        case O_SEED: o.seed = lgp_opt_u64("--seed", optarg); break;
        case O_EPOCH: o.epoch = lgp_opt_u64("--epoch", optarg); break;
        case O_START: o.start = lgp_opt_u64("--start-index", optarg); break;
        case O_THREADS: o.threads = (int)lgp_opt_int("--threads", optarg, 1, 1024); break;
        case O_KEEP: o.flags |= LGP_AUG_KEEP_IMAGE; break;
        case O_DCT: o.flags |= LGP_AUG_DCT_SCALE; break;
        case O_STRICT: o.strict = 1; break;
        case O_KEEPLIST: o.keep_list = optarg; break;
        default: lgp_usage_die("unexpected option");
        }
    }
    if (optind < argc) o.input = argv[optind++];
    if (optind != argc) lgp_usage_die("extra operand '%s'", argv[optind]);
    lgp_output_precheck(&o.out);
    if (o.keep_list) load_keep_list(&o);
    run(&o);
    lgp_strlist_free(&o.keep);
    free(o.hit);
    return LGP_EXIT_OK;
}
