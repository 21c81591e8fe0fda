/* lgp-embed — frozen-encoder features for every image of a stream. */
#include "common/data/batch.h"
#include "common/util/cli.h"
#include "common/util/dist.h"
#include "common/lgp.h"
#include "common/util/log.h"
#include "common/model/modelload.h"
#include "common/util/threads.h"
#include "formats/checkpoint.h"
#include "common/util/warncap.h"
#include "formats/json.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "lgp-embed — frozen-encoder features (one f32 vector per image)\n"
    "\n"
    "usage: lgp-embed --model CKPT [options] [INPUT|-] > features.lgps\n"
    "       lgp-embed --pixels [options] [INPUT|-]\n"
    "       lgp-embed --random --arch NAME [--seed S] [INPUT|-]\n"
    "\n"
    "Reads images (u8 [S, S, C] tensors 'view0' or 'image', as lgp-augment --recipe eval or\n"
    "tar-images on IDX files write them) and writes one record per image: its key, 'label'\n"
    "and 'feature' (f32 [C]). The encoder runs without storing activations for backward.\n"
    "Normalisation (mean/std) comes from the checkpoint; the default feature is the cls\n"
    "token after the final LayerNorm, as the paper uses.\n"
    "\n"
    "options:\n"
    "  --model FILE          checkpoint of any stage, or timm/MAE safetensors\n"
    "  --allow-partial       accept an unfinished run's checkpoint (complete: false)\n"
    "  --arch NAME           config when the file has none, or for --random (vit-tiny,\n"
    "                        vit-small, vit-base, vit-large, fmnist)\n"
    "  --pool cls|mean       cls token (default) or mean of the patch tokens\n"
    "  --layer K             features after the first K blocks (then the final norm);\n"
    "                        default: all blocks\n"
    "  --pixels              features = the normalised pixels themselves (the raw floor)\n"
    "  --random              a randomly initialised encoder (the random-init floor)\n"
    "  --seed S              initialisation seed for --random (default 0)\n"
    "  --batch N             images per forward pass (default 256)\n"
    "  --threads N           OpenMP/OpenBLAS threads (default: all cores)\n"
    "  --strict              a bad record is fatal (default: skip it with a message)\n"
    LGP_MODELCFG_HELP LGP_OUTPUT_HELP
    "  --progress            the live line (default on a terminal): images done, of how\n"
    "                        many when the header says, rate and ETA\n"
    "  -q, --quiet / -v, --verbose / --help / --version\n"
    "\n"
    "example:\n"
    "  tar-images /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz |\n"
    "    lgp-embed --model stage2.ckpt | lgp-probe --train train.emb --shots 1%\n"
    "\n"
    "\n"
    "across processes (make MPI=1): each rank embeds its own shard and rank 0 writes one\n"
    "stream with every image once, rank-interleaved per batch (rank 0's batch k, rank 1's\n"
    "batch k, ...):\n"
    "  mpirun -np 4 sh -c 'tar-images --shard auto test.idx.gz | lgp-embed --model M -o f.lgps'\n"
    "\n"
    "exit status: 0 ok, 1 bad input, a record that does not fit the model, no image\n"
    "embedded, a non-finite feature, or write error, 2 usage error. See lgp-embed(1).\n";

struct opts {
    const char *model, *arch, *input;
    int pool, layer, pixels, random, batch, strict, threads;
    uint64_t seed;
    lgp_modelcfg_overrides ov;
    lgp_output_opts out;
};

static void parse(int argc, char **argv, struct opts *o) {
    static const struct option lo[] = {
        LGP_COMMON_LONGOPTS, LGP_OUTPUT_LONGOPTS, LGP_MODELCFG_LONGOPTS,
        {"model", required_argument, 0, 'm'}, {"arch", required_argument, 0, 'a'},
        {"pool", required_argument, 0, 'p'},  {"layer", required_argument, 0, 'l'},
        {"pixels", no_argument, 0, 'P'},      {"random", no_argument, 0, 'R'},
        {"seed", required_argument, 0, 's'},  {"batch", required_argument, 0, 'b'},
        {"threads", required_argument, 0, 't'}, {"strict", no_argument, 0, 'S'},
        {"allow-partial", no_argument, 0, 'A'}, {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "qvo:", lo, NULL)) != -1) {
        if (lgp_common_opt(c, help) || lgp_output_opt(&o->out, c, optarg) || lgp_modelcfg_opt(&o->ov, c, optarg)) continue;
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'A': lgp_ckpt_allow_partial = 1; break;
        case 'a': o->arch = optarg; break;
        case 'p':
            if (strcmp(optarg, "cls") && strcmp(optarg, "mean")) lgp_usage_die("--pool: 'cls' or 'mean', not '%s'", optarg);
            o->pool = strcmp(optarg, "mean") == 0 ? LGP_POOL_MEAN : LGP_POOL_CLS;
            break;
        case 'l': o->layer = (int)lgp_opt_int("--layer", optarg, 0, LGP_VIT_MAX_DEPTH); break;
        case 'P': o->pixels = 1; break;
        case 'R': o->random = 1; break;
        case 's': o->seed = lgp_opt_u64("--seed", optarg); break;
        case 'b': o->batch = (int)lgp_opt_int("--batch", optarg, 1, 1 << 16); break;
        case 't': o->threads = (int)lgp_opt_int("--threads", optarg, 1, 1024); break;
        case 'S': o->strict = 1; break;
        default: lgp_usage_die("unexpected option");
        }
    }
    if (optind < argc) o->input = argv[optind++];
    if (optind < argc) lgp_usage_die("extra operand '%s'", argv[optind]);
    if (!!o->model + o->pixels + o->random != 1) lgp_usage_die("give exactly one of --model, --pixels, --random");
    if (o->random && !o->arch) lgp_usage_die("--random needs --arch NAME");
}

static char *out_meta(const char *in_meta, const struct opts *o, int dim) {
    lgp_json *m = lgp_json_parse(in_meta, strlen(in_meta), NULL, 0);
    if (!m || m->type != LGP_JSON_OBJ) {
        lgp_json_free(m);
        m = lgp_json_new_obj();
    }
    lgp_json *e = lgp_json_new_obj();
    lgp_json_set_str(e, "source", o->pixels ? "pixels" : o->random ? "random" : o->model);
    if (o->arch) lgp_json_set_str(e, "arch", o->arch);
    lgp_json_set_str(e, "pool", o->pool == LGP_POOL_MEAN ? "mean" : "cls");
    lgp_json_set_num(e, "layer", o->layer);
    lgp_json_set_num(e, "dim", dim);
    if (lgp_dist_size() > 1) lgp_json_set_num(e, "ranks", lgp_dist_size());
    if (o->random) lgp_json_set_u64(e, "seed", o->seed);
    lgp_json_set(m, "embed", e);
    char *s = lgp_json_dump(m);
    lgp_json_free(m);
    return s;
}

static void emit(lgp_writer *w, lgp_record *rec, const char *key, int64_t label, const float *f, int dim) {
    int64_t shape[1] = {dim};
    for (int i = 0; i < dim; i++)
        if (!isfinite(f[i])) {
            lgp_writer_abort(w);
            lgp_die("%s: feature %d is not finite (broken weights or input); nothing written", key, i);
        }
    lgp_record_clear(rec);
    lgp_record_set_key(rec, key);
    lgp_record_put_i64(rec, "label", label);
    lgp_record_put(rec, "feature", LGP_DT_F32, 1, shape, f, (size_t)dim * 4, LGP_BORROW);
    lgp_output_write(w, rec);
}

/* --pixels: the normalised pixels of each image are its feature. */
static int64_t embed_pixels(lgp_reader *r, const struct opts *o, int64_t *skipped) {
    lgp_record in, out;
    lgp_record_init(&in);
    lgp_record_init(&out);
    lgp_writer *w = NULL;
    float *f = NULL;
    int64_t n = 0, dim = -1;
    int rc;
    lgp_warncap damaged = {"skipped-record", 0};
    while ((rc = lgp_reader_next(r, &in)) != LGP_EOF) {
        if (rc == LGP_FATAL) lgp_die("%s", lgp_reader_error(r));
        const lgp_tensor *t = rc == LGP_OK ? lgp_record_get(&in, "view0") : NULL;
        if (rc == LGP_OK && !t) t = lgp_record_get(&in, "image");
        if (rc != LGP_OK) { /* damaged: the reader's message names input and record */
            if (o->strict) lgp_die("%s", lgp_reader_error(r));
            lgp_warncap_emit(&damaged, "%s (skipped)", lgp_reader_error(r));
            (*skipped)++;
            continue;
        }
        /* A record that does not fit is a mismatch, fatal at the first one. */
        const char *why = !t || t->dtype != LGP_DT_U8 || t->ndim != 3 ? "no u8 [H, W, C] 'view0' or 'image'"
                          : dim >= 0 && lgp_tensor_numel(t) != dim ? "image size differs from the first image's"
                          : NULL;
        if (why) {
            if (w) lgp_writer_abort(w);
            lgp_die("%s: record %lld '%s': %s", lgp_reader_name(r), (long long)(n + *skipped), in.key ? in.key : "", why);
        }
        int c = (int)t->shape[2];
        float mean[4], std[4];
        lgp_modelcfg_default_norm(c, mean, std);
        if (!w) {
            dim = lgp_tensor_numel(t);
            f = malloc((size_t)dim * sizeof *f);
            char *m = out_meta(lgp_reader_meta(r), o, (int)dim);
            w = lgp_output_open(&o->out, m);
            free(m);
        }
        lgp_batch_normalize(f, t->data, (int)t->shape[0], (int)t->shape[1], c, mean, std);
        int64_t label = -1;
        lgp_tensor_get_int(lgp_record_get(&in, "label"), &label);
        emit(w, &out, in.key, label, f, (int)dim);
        n++;
    }
    lgp_warncap_summary(&damaged);
    if (!n) {
        if (w) lgp_writer_abort(w);
        lgp_die("%s: no image embedded (%lld skipped); nothing written", lgp_reader_name(r), (long long)*skipped);
    }
    lgp_output_close(w);
    free(f);
    lgp_record_free(&in);
    lgp_record_free(&out);
    return n;
}

/* One batch as a byte blob for the gather: n (i64), labels i64 [n], features f32 [n, dim],
 * then the n keys, each NUL-terminated. Returns the size; *buf grows as needed. */
static size_t pack_batch(char **buf, size_t *cap, const lgp_batch *b, const float *feat, int dim) {
    size_t need = 8 + (size_t)b->n * (8 + 4 * (size_t)dim);
    for (int i = 0; i < b->n; i++) need += strlen(b->keys[i]) + 1;
    if (need > *cap) {
        char *p = realloc(*buf, need);
        if (!p) lgp_die("out of memory for a batch of %d features", b->n);
        *buf = p, *cap = need;
    }
    int64_t n = b->n;
    char *at = *buf;
    memcpy(at, &n, 8), at += 8;
    memcpy(at, b->label, 8 * (size_t)n), at += 8 * (size_t)n;
    memcpy(at, feat, 4 * (size_t)n * dim), at += 4 * (size_t)n * dim;
    for (int i = 0; i < b->n; i++) {
        size_t l = strlen(b->keys[i]) + 1;
        memcpy(at, b->keys[i], l), at += l;
    }
    return need;
}

/* Rank 0: writes the records of one rank's blob; returns how many. */
static int64_t emit_blob(lgp_writer *w, lgp_record *out, const char *blob, size_t len, int dim, float *f) {
    if (len < 8) return 0;
    int64_t n, label;
    memcpy(&n, blob, 8);
    const char *lab = blob + 8, *fe = lab + 8 * (size_t)n, *key = fe + 4 * (size_t)n * dim;
    for (int64_t i = 0; i < n; i++) {
        memcpy(&label, lab + 8 * i, 8);
        memcpy(f, fe + 4 * (size_t)i * dim, 4 * (size_t)dim); /* aligned copy for the tensor */
        emit(w, out, key, label, f, dim);
        key += strlen(key) + 1;
    }
    return n;
}

/* Every rank's batch to rank 0, written in rank order. Returns the images written. */
static int64_t gather_emit(lgp_writer *w, lgp_record *out, const lgp_batch *b, const float *feat, int dim) {
    static char *send, *recv;
    static size_t scap, rcap;
    static size_t counts[4096];
    static float *f;
    LGP_ASSERT(lgp_dist_size() <= 4096);
    size_t len = pack_batch(&send, &scap, b, feat, dim);
    if (lgp_dist_gather_bytes(send, len, (void **)&recv, &rcap, counts) != LGP_OK) lgp_die("out of memory gathering features");
    if (lgp_dist_rank() != 0) return 0;
    if (!f && !(f = malloc(4 * (size_t)dim))) lgp_die("out of memory");
    int64_t n = 0;
    size_t at = 0;
    for (int r = 0; r < lgp_dist_size(); r++) {
        n += emit_blob(w, out, recv + at, counts[r], dim, f);
        at += counts[r];
    }
    return n;
}

/* Images the input announces: records_per_epoch x epochs of its header (tar-images
 * writes them), for every rank's shard together; -1 when it does not say. */
static int64_t announced_images(const char *meta_json) {
    lgp_json *m = lgp_json_parse(meta_json, strlen(meta_json), NULL, 0);
    int64_t per = lgp_json_get_i64_def(m, "records_per_epoch", -1), epochs = lgp_json_get_i64_def(m, "epochs", 1);
    lgp_json_free(m);
    return per > 0 && epochs > 0 ? per * epochs * lgp_dist_size() : -1;
}

/* The live line, a few times a second: images done (of how many, when announced), the
 * rate and an ETA. */
static void progress(int64_t n, int64_t total, double t0, double *last) {
    if (!lgp_progress_due(last)) return;
    double dt = lgp_now() - t0, ips = dt > 0 ? (double)n / dt : 0;
    char e[32];
    if (total > 0 && n <= total)
        lgp_progress_line("%lld/%lld images (%.0f%%) %.0f img/s %s", (long long)n, (long long)total,
                          100.0 * (double)n / (double)total, ips,
                          ips > 0 ? lgp_progress_eta(e, sizeof e, (double)(total - n) / ips) : "");
    else lgp_progress_line("%lld images %.0f img/s", (long long)n, ips);
}

static int64_t embed_model(lgp_reader *r, const struct opts *o, int64_t *skipped) {
    char err[1024];
    lgp_vit_model m;
    lgp_json *meta = NULL;
    if (o->random) {
        lgp_vit_config cfg;
        if (lgp_vit_config_by_name(o->arch, &cfg) != LGP_OK) lgp_usage_die("--arch: unknown model '%s'", o->arch);
        lgp_modelcfg_apply(&cfg, &o->ov);
        if (lgp_vit_model_init(&m, &cfg, 0, o->seed, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    } else if (lgp_model_load(&m, o->model, o->arch, &o->ov, 0, &meta, err, sizeof err) != LGP_OK)
        lgp_die("%s", err);
    const lgp_vit_config *cfg = &m.cfg;
    if (o->layer > cfg->depth) lgp_usage_die("--layer %d: the model has %d blocks", o->layer, cfg->depth);
    lgp_batch_cfg bc = {.img_size = cfg->img_size, .in_chans = cfg->in_chans, .nviews = 1,
                        .view_names = {"view0"}, .on_bad_fatal = o->strict, .max_bad = -1};
    lgp_model_norm(meta, cfg->in_chans, bc.mean, bc.std);
    lgp_batch b;
    lgp_vit_infer inf;
    if (lgp_batch_init(&b, &bc, o->batch) != LGP_OK || lgp_vit_infer_init(&inf, &m, o->batch, err, sizeof err) != LGP_OK)
        lgp_die("out of memory for batch %d", o->batch);
    float *feat = malloc((size_t)o->batch * cfg->width * sizeof *feat);
    char *mj = out_meta(lgp_reader_meta(r), o, cfg->width);
    lgp_writer *w = lgp_dist_rank() == 0 ? lgp_output_open(&o->out, mj) : NULL; /* rank 0 writes */
    free(mj);
    lgp_record scratch, out;
    lgp_record_init(&scratch);
    lgp_record_init(&out);
    int64_t n = 0, total = announced_images(lgp_reader_meta(r));
    int rc, done = 0;
    double busy = 1; /* ranks that still have data: the loop runs until none has */
    double t0 = lgp_now(), last = 0;
    while (busy > 0) {
        b.n = 0;
        if (!done) {
            rc = lgp_batch_fill(&b, &bc, r, &scratch, err, sizeof err);
            if (rc == LGP_FATAL) lgp_die("%s", err);
            done = rc != LGP_OK;
            if (b.n) lgp_vit_embed(&inf, b.x[0], b.n, o->pool, o->layer ? o->layer : -1, feat);
        }
        if (lgp_dist_size() > 1) {
            n += gather_emit(w, &out, &b, feat, cfg->width);
            busy = done ? 0 : 1;
            lgp_dist_sum_d(&busy, 1);
        } else {
            for (int i = 0; i < b.n; i++) emit(w, &out, b.keys[i], b.label[i], feat + (size_t)i * cfg->width, cfg->width);
            n += b.n;
            busy = !done;
        }
        progress(n, total, t0, &last);
    }
    last = 0; /* the last count, drawn */
    progress(n, total, t0, &last);
    lgp_batch_report(&b);
    if (w && !n) {
        lgp_writer_abort(w);
        lgp_die("%s: no image embedded (%lld skipped); nothing written", lgp_reader_name(r), (long long)b.skipped);
    }
    if (w) lgp_output_close(w);
    double sk = (double)b.skipped;
    lgp_dist_sum_d(&sk, 1);
    *skipped = (int64_t)sk;
    free(feat);
    lgp_record_free(&scratch);
    lgp_record_free(&out);
    lgp_vit_infer_free(&inf);
    lgp_batch_free(&b);
    lgp_vit_model_free(&m);
    lgp_json_free(meta);
    return n;
}

int main(int argc, char **argv) {
    /* OpenMP threads that sleep instead of spinning leave the cores to OpenBLAS. */
    lgp_threads_passive_reexec(argv);
    lgp_proginit(argc, argv);
    struct opts o = {.input = "-", .batch = 256};
    lgp_output_opts_init(&o.out);
    lgp_modelcfg_overrides_init(&o.ov);
    lgp_dist_init(&argc, &argv);
    parse(argc, argv, &o);
    if (lgp_dist_size() > 1 && o.pixels) lgp_usage_die("--pixels runs on one rank (it needs no model to share)");
    if (lgp_dist_rank() == 0) lgp_output_precheck(&o.out);
    if (lgp_dist_rank() != 0) { /* only rank 0 reports; warnings still come from every rank */
        lgp_log_level = LGP_LOG_QUIET;
        lgp_progress = 0;
    }
    lgp_threads_set(o.threads);
    char err[512];
    lgp_reader *r;
    if (lgp_reader_open(&r, o.input, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    lgp_reader_set_concat(r, 1);
    double t0 = lgp_now();
    int64_t skipped = 0;
    int64_t n = o.pixels ? embed_pixels(r, &o, &skipped) : embed_model(r, &o, &skipped);
    lgp_reader_close(r);
    double dt = lgp_now() - t0;
    lgp_progress_end();
    lgp_info("embedded %lld images, skipped %lld (%.1f s, %.0f img/s)", (long long)n, (long long)skipped, dt,
             dt > 0 ? n / dt : 0.0);
    if (lgp_dist_size() > 1)
        lgp_debug("communication: %.1f MB gathered in %.2f s on rank 0 (%d ranks)", lgp_dist_bytes() / 1e6,
                  lgp_dist_seconds(), lgp_dist_size());
    lgp_dist_finalize();
    return LGP_EXIT_OK;
}
