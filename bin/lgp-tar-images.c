/* lgp-tar-images (alias tar-images) — turn image archives, image folders or IDX files
 * into a record stream: one record per image with its encoded bytes (or IDX pixels)
 * and class label, in a deterministic, optionally shuffled, sharded and multi-epoch
 * order. */
#include "common/util/cli.h"
#include "common/data/imagesrc.h"
#include "common/data/imgindex.h"
#include "common/lgp.h"
#include "common/util/log.h"
#include "common/data/order.h"
#include "common/util/warncap.h"
#include "formats/json.h"
#include "formats/stream.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char help[] =
    "tar-images — image archives, folders or IDX files to an lgp record stream\n"
    "\n"
    "usage: tar-images [options] INPUT... > out.lgps\n"
    "\n"
    "INPUT is a tar (.tar, .tar.gz, .tar.zst, ...) or zip archive, '-' for stdin, a\n"
    "folder, or an IDX image file (*-images-idx3-ubyte[.gz], e.g. Fashion-MNIST). Several\n"
    "archives or folders are read one after the other as one data set (shards, lists).\n"
    "A folder is read as a tar of it would be, without tarring it: an ImageFolder tree\n"
    "<root>/<class>/<file>, a flat folder with --labels, or WebDataset files (x.jpg next\n"
    "to x.cls); its files, recursively, in byte-wise order of their paths relative to\n"
    "it (the key: that path without extensions, e.g. cat/1), symlinks to files followed,\n"
    "hidden files and folders (.name) and .tar files in it ignored; a file that cannot\n"
    "be read is skipped with one line, as a bad member of an archive.\n"
    "Archive layouts, recognised per image (first rule that applies gives the label):\n"
    "  WebDataset   <key>.jpg|jpeg|png next to <key>.cls (integer or class name) or\n"
    "               <key>.json ({\"label\": N} or {\"cls\": N}), grouped by adjacent key;\n"
    "               a label that is no class index 0..2147483647 (below the number of\n"
    "               classes, when there is a class list), e.g. '-5', '1.5', '' or\n"
    "               {\"cls\": \"x\"}, skips the image with one line\n"
    "               'tar-images: ARCHIVE: MEMBER: bad label '...': why (skipped)'\n"
    "  --labels     flat archive, labels from FILE (see below)\n"
    "  tar of tars  ImageNet train: n01440764.tar members read in place; label = wnid\n"
    "  ImageFolder  <root>/<class>/<file>: label = name of the parent folder\n"
    "Class names map to indices in sorted order (torchvision ImageFolder), or by the line\n"
    "order of --classes FILE. Without --classes, files and folders get a first pass over\n"
    "member names; stdin cannot be pre-scanned, so named classes there need --classes.\n"
    "\n"
    "Writes records: key (e.g. n01440764/n01440764_10026), `jpeg` or `png` u8 [n] (the\n"
    "bytes, format by magic) or `image` u8 [H, W, 1] (IDX), `label` i64, `epoch` i64,\n"
    "`index` i64 (the image's position in the source order, before sharding and\n"
    "shuffling: downstream random draws are keyed by it and `epoch`, so a sharded or\n"
    "shuffled run sees the same draws per image). Header metadata carries \"classes\"\n"
    "and, for IDX input, \"image_shape\" [H, W, C] (e.g. [28, 28, 1]) and\n"
    "\"records_per_epoch\": this shard's image count (I/N keeps every image j with\n"
    "j mod N == I), cut to --skip + --limit when that is smaller, i.e. the length of\n"
    "the first epoch of the order the output is a window of (--limit 512 announces\n"
    "512; a later epoch cut short by --limit is not counted). When every input is a\n"
    "folder it is always announced: tar-images indexes the folders first (a listing\n"
    "and an open per image); archives announce it once indexed (--shuffle full,\n"
    "--index), else not (counts are only known once read).\n"
    "\n"
    "options:\n"
    "  --labels FILE     lines 'name label' (name = image basename with or without its\n"
    "                    extension; label = index or class name), or one label per line\n"
    "                    for the images in sorted name order (ImageNet val style);\n"
    "                    for IDX: the labels file (default: derived from the name)\n"
    "  --classes FILE    class names, one per line, line order = index (default: sorted)\n"
    "  --class-subset    with --classes: images of unlisted classes are left out quietly\n"
    "                    (counted), not skipped as bad: a subset such as ImageNet-100\n"
    "  --shuffle N|full  buffer shuffle with N records, WebDataset style (default 0: off);\n"
    "                    full: an exact random permutation of all images per epoch (same\n"
    "                    on every shard, each shard a disjoint part), read by position:\n"
    "                    plain tars (tar of tars too), zips of stored or deflated\n"
    "                    members and folders after one indexing pass, IDX files;\n"
    "                    compressed tars, other zips (encrypted members, other methods)\n"
    "                    and stdin fall back to a 10000-record buffer\n"
    "  --index FILE      keep the indexing pass's result in FILE and reuse it while the\n"
    "                    inputs (size, mtime; a folder: its files' paths, sizes, mtimes)\n"
    "                    and label rules are unchanged; any plain-tar or zip run with an\n"
    "                    index announces records_per_epoch\n"
    "  --epochs N        emit N epochs, each reshuffled (default 1)\n"
    "  --shard I/N       keep records j with j mod N == I (archive order); 'auto' takes\n"
    "                    OMPI_COMM_WORLD_RANK/SIZE or SLURM_PROCID/NTASKS (default 0/1)\n"
    "  --skip N          drop the first N output records (resume) (default 0)\n"
    "  --limit N         stop after N output records, counted over all epochs\n"
    "                    (default: no limit); see \"records_per_epoch\" above\n"
    "  --seed S          shuffle seed (default 0)\n"
    LGP_OUTPUT_HELP
    "  --progress            a live count on stderr (default: a summary line at the end;\n"
    "                        the trainer or lgp-embed at the end of the pipe draws its\n"
    "                        live line)\n"
    "  -q, --quiet / -v, --verbose / --help / --version\n"
    "\n"
    "example:\n"
    "  tar-images --shuffle full --index train.idx --seed 1 ILSVRC2012_img_train.tar |\n"
    "    lgp-decode --size 256 | ...\n"
    "  tar-images /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz | lgp-inspect\n"
    "  tar-images --shuffle full --epochs 2 train/ | lgp-inspect   # train/<class>/*.jpg\n"
    "\n"
    "exit status: 0 ok, 1 unreadable input or write error, 2 usage error.\n"
    "See lgp-tar-images(1).\n";

struct opts {
    lgp_imagesrc_opts src;
    lgp_output_opts out;
    lgp_order_opts order; /* shard, shuffle, skip, limit, seed */
    long long epochs;
    char **inputs;
    int ninputs;
    int full;          /* --shuffle full */
    const char *index; /* --index FILE */
};

/* Everything the record loop needs. */
struct ctx {
    const struct opts *o;
    lgp_imagesrc *src;
    lgp_order ord;
    lgp_warncap msgs; /* skipped members: the first few named, the rest counted */
    int64_t epoch, bad, unlabeled;
    lgp_writer *w;
    lgp_record rec;
    lgp_imgindex ix;   /* positions of the images (indexed archives) */
    int64_t n;         /* images per pass when known (IDX, indexed), else -1 */
    int64_t left_index; /* --class-subset: left out by an indexing pass a sequential run repeats */
    int index_loaded;  /* the full shuffle reads a saved index: no pass counted left-outs */
};

static void write_item(struct ctx *c, lgp_order_item *it) {
    lgp_record *r = &c->rec;
    lgp_record_clear(r);
    int ok = lgp_record_set_key(r, it->key) == LGP_OK &&
             lgp_record_put(r, it->tname, LGP_DT_U8, it->ndim, it->shape, it->data, it->size, LGP_BORROW) == LGP_OK &&
             (it->label < 0 || lgp_record_put_i64(r, "label", it->label) == LGP_OK) &&
             lgp_record_put_i64(r, "epoch", c->epoch) == LGP_OK &&
             lgp_record_put_i64(r, "index", it->id) == LGP_OK;
    if (!ok) lgp_die("%s: cannot build record", it->key);
    lgp_output_write(c->w, r);
    if (it->label < 0) c->unlabeled++;
    if ((c->ord.written & 1023) == 0) lgp_progress_line("%lld records", (long long)c->ord.written);
    lgp_order_item_free(it);
}

/* One pass over the source: a bad member is skipped with a (capped) line, anything
 * else unreadable ends the run. */
static void run_epoch(struct ctx *c) {
    lgp_order_item it, out;
    int rc;
    lgp_imagesrc_rewind(c->src);
    lgp_order_begin_epoch(&c->ord, c->epoch);
    while (!c->ord.done && (rc = lgp_imagesrc_next(c->src, &it)) != LGP_EOF) {
        if (rc == LGP_FATAL) lgp_die("%s", lgp_imagesrc_error(c->src));
        if (rc == LGP_BAD_RECORD) {
            lgp_warncap_emit(&c->msgs, "%s", lgp_imagesrc_error(c->src));
            c->bad++;
            continue;
        }
        if (lgp_order_push(&c->ord, &it, &out)) write_item(c, &out);
    }
    while (lgp_order_drain(&c->ord, &out)) write_item(c, &out);
}

/* One epoch of the exact shuffle: the images in the order's permutation, read by
 * position (IDX from memory, archives with pread). */
static void run_epoch_full(struct ctx *c) {
    char err[1024];
    lgp_order_item it, out;
    int64_t i;
    if (lgp_order_begin_full(&c->ord, c->epoch, c->n, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    while ((i = lgp_order_full_next(&c->ord)) >= 0) {
        int rc = c->o->src.idx ? lgp_imagesrc_idx_get(c->src, i, &it)
                               : lgp_imgindex_read(&c->ix, c->o->inputs, i, &it, err, sizeof err);
        if (rc != LGP_OK) lgp_die("%s", c->o->src.idx ? lgp_imagesrc_error(c->src) : err);
        it.id = i;
        if (lgp_order_full_take(&c->ord, &it, &out)) write_item(c, &out);
    }
}

static void index_bad(void *ctx, const char *msg) {
    struct ctx *c = ctx;
    lgp_warncap_emit(&c->msgs, "%s", msg);
    c->bad++;
}

static int all_folders(const struct opts *o) {
    struct stat st;
    for (int i = 0; i < o->ninputs; i++)
        if (strcmp(o->inputs[i], "-") == 0 || stat(o->inputs[i], &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
    return 1;
}

/* The image positions a full shuffle or --index asks for, or, when every input is a
 * folder, the count records_per_epoch needs: loaded from --index when it is current,
 * else made by one pass (and saved to --index); a sequential run keeps only the count
 * (its own pass reports skipped members, so this one does not). A data set that cannot
 * be read by position falls back to the buffer (--shuffle full), is an error (--index)
 * or goes without a count. */
static void prepare_index(struct ctx *c, struct opts *o) {
    char err[1200], sig[256];
    c->n = lgp_imagesrc_count(c->src);
    if (o->src.idx || !(o->full || o->index || all_folders(o))) return;
    lgp_imgindex_sig(sig, sizeof sig, c->src, o->src.labels);
    if (o->src.class_subset) strncat(sig, " subset", sizeof sig - strlen(sig) - 1);
    int rc = LGP_EOF;
    if (o->index) {
        rc = lgp_imgindex_load(&c->ix, o->index, o->inputs, o->ninputs, sig, err, sizeof err);
        if (rc == LGP_FATAL) lgp_die("%s (remove it to rebuild)", err);
        if (rc == LGP_OK) lgp_info("%s: %lld images indexed", o->index, (long long)c->ix.n), c->index_loaded = 1;
        else if (access(o->index, F_OK) == 0) lgp_info("%s; indexing again", err);
    }
    if (rc != LGP_OK) {
        lgp_info("indexing %d input%s (one pass)", o->ninputs, o->ninputs == 1 ? "" : "s");
        rc = lgp_imgindex_build(&c->ix, c->src, o->inputs, o->ninputs, o->full ? index_bad : NULL, c, err, sizeof err);
        if (rc == LGP_FATAL) lgp_die("%s", err);
        if (rc == LGP_EOF && !o->full && !o->index) {
            lgp_warn("%s: no records_per_epoch", err);
            return;
        }
        if (rc == LGP_EOF && !o->full) lgp_die("--index: %s", err);
        if (rc == LGP_EOF) {
            lgp_warn("%s: --shuffle full falls back to a 10000-record buffer", err);
            o->full = 0, o->order.shuffle = 10000;
            return;
        }
        if (o->index && lgp_imgindex_save(&c->ix, o->index, o->inputs, o->ninputs, sig, err, sizeof err) != LGP_OK)
            lgp_die("%s", err);
    }
    c->n = c->ix.n;
    c->left_index = lgp_imagesrc_left_out(c->src);
    if (!o->full) { /* the count is all a sequential run needs */
        lgp_imgindex_free(&c->ix);
        return;
    }
    if (lgp_imgindex_open_inputs(&c->ix, o->inputs, o->ninputs, err, sizeof err) != LGP_OK) lgp_die("%s", err);
}

static char *make_meta(struct ctx *c) {
    const struct opts *o = c->o;
    lgp_json *m = lgp_json_new_obj(), *in = lgp_json_new_arr();
    lgp_json_set_str(m, "source", "tar-images");
    for (int i = 0; i < o->ninputs; i++) lgp_json_push(in, lgp_json_new_str(o->inputs[i]));
    lgp_json_set(m, "inputs", in);
    lgp_json_set_str(m, "input_kind", o->src.idx ? "idx" : "archive");
    char *const *names;
    size_t nclasses;
    if (lgp_imagesrc_classes(c->src, &names, &nclasses)) {
        lgp_json *cl = lgp_json_new_arr();
        for (size_t i = 0; i < nclasses; i++) lgp_json_push(cl, lgp_json_new_str(names[i]));
        lgp_json_set(m, "classes", cl);
    }
    char shard[64];
    snprintf(shard, sizeof shard, "%lld/%lld", (long long)o->order.shard_i, (long long)o->order.shard_n);
    lgp_json_set_str(m, "shard", shard);
    lgp_json_set_u64(m, "seed", o->order.seed);
    if (o->full) lgp_json_set_str(m, "shuffle", "full");
    else lgp_json_set_i64(m, "shuffle", o->order.shuffle);
    lgp_json_set_i64(m, "epochs", o->epochs);
    lgp_json_set_i64(m, "skip", o->order.skip);
    lgp_json_set_i64(m, "limit", o->order.limit);
    int64_t shape[3];
    if (c->n >= 0) lgp_json_set_i64(m, "records_per_epoch", lgp_order_epoch_items(&o->order, c->n));
    if (lgp_imagesrc_image_shape(c->src, shape)) {
        lgp_json *sh = lgp_json_new_arr();
        for (int k = 0; k < 3; k++) lgp_json_push(sh, lgp_json_new_i64(shape[k]));
        lgp_json_set(m, "image_shape", sh);
    }
    char *s = lgp_json_dump(m);
    lgp_json_free(m);
    return s;
}

static void parse_shard(lgp_order_opts *o, const char *s) {
    if (strcmp(s, "auto") == 0) {
        const char *r = getenv("OMPI_COMM_WORLD_RANK"), *n = getenv("OMPI_COMM_WORLD_SIZE");
        if (!r || !n) { r = getenv("SLURM_PROCID"); n = getenv("SLURM_NTASKS"); }
        if (!r || !n) lgp_usage_die("--shard auto: neither OMPI_COMM_WORLD_RANK/SIZE nor SLURM_PROCID/NTASKS is set");
        o->shard_n = lgp_opt_int("--shard (size)", n, 1, 1 << 24);
        o->shard_i = lgp_opt_int("--shard (rank)", r, 0, o->shard_n - 1);
        return;
    }
    char a[32], b[32];
    const char *sl = strchr(s, '/');
    if (!sl || sl - s >= 31 || strlen(sl + 1) >= 31) lgp_usage_die("--shard: want I/N or auto, got '%s'", s);
    snprintf(a, sizeof a, "%.*s", (int)(sl - s), s);
    snprintf(b, sizeof b, "%s", sl + 1);
    o->shard_n = lgp_opt_int("--shard N", b, 1, 1 << 24);
    o->shard_i = lgp_opt_int("--shard I", a, 0, o->shard_n - 1);
}

static void parse_args(struct opts *o, int argc, char **argv) {
    static const struct option lo[] = {
        LGP_COMMON_LONGOPTS, LGP_OUTPUT_LONGOPTS,
        {"labels", required_argument, 0, 'L'}, {"classes", required_argument, 0, 'C'},
        {"class-subset", no_argument, 0, 'U'},
        {"shuffle", required_argument, 0, 'S'}, {"epochs", required_argument, 0, 'E'},
        {"shard", required_argument, 0, 'H'}, {"skip", required_argument, 0, 'K'},
        {"limit", required_argument, 0, 'N'}, {"seed", required_argument, 0, 's'},
        {"index", required_argument, 0, 'I'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "qvo:", lo, NULL)) != -1) {
        if (lgp_common_opt(c, help) || lgp_output_opt(&o->out, c, optarg)) continue;
        switch (c) {
        case 'L': o->src.labels = optarg; break;
        case 'C': o->src.classes = optarg; break;
        case 'U': o->src.class_subset = 1; break;
        case 'S':
            if (strcmp(optarg, "full") == 0) o->full = 1, o->order.shuffle = 0;
            else o->full = 0, o->order.shuffle = lgp_opt_int("--shuffle", optarg, 0, 1 << 24);
            break;
        case 'I': o->index = optarg; break;
        case 'E': o->epochs = lgp_opt_int("--epochs", optarg, 1, 1 << 20); break;
        case 'H': parse_shard(&o->order, optarg); break;
        case 'K': o->order.skip = lgp_opt_int("--skip", optarg, 0, INT64_MAX); break;
        case 'N': o->order.limit = lgp_opt_int("--limit", optarg, 0, INT64_MAX); break;
        case 's': o->order.seed = lgp_opt_u64("--seed", optarg); break;
        default: lgp_usage_die("unexpected option");
        }
    }
    if (o->src.class_subset && !o->src.classes) lgp_usage_die("--class-subset needs --classes FILE (the classes to keep)");
    if (optind == argc) lgp_usage_die("no input (give an archive, a folder, an IDX file or '-')");
    o->inputs = argv + optind;
    o->ninputs = argc - optind;
    int stdin_in = 0;
    for (int i = 0; i < o->ninputs; i++) stdin_in += strcmp(o->inputs[i], "-") == 0;
    if (stdin_in > 1) lgp_usage_die("'-' (stdin) can be given only once");
    if (stdin_in && o->epochs > 1) lgp_usage_die("--epochs %lld needs to re-read the input; stdin can be read only once", o->epochs);
}

int main(int argc, char **argv) {
    lgp_proginit(argc, argv);
    lgp_sigpipe_is_success();
    lgp_progress_feeder(); /* the pipeline's live line is its consumer's (--progress: ours too) */
    struct opts o = {.epochs = 1, .order = {.limit = -1, .shard_n = 1}};
    lgp_output_opts_init(&o.out);
    parse_args(&o, argc, argv);
    o.src.idx = lgp_imagesrc_is_idx(o.inputs[0]);
    if (o.src.idx && o.ninputs != 1) lgp_usage_die("an IDX input must be the only input");
    lgp_output_precheck(&o.out);
    struct ctx c = {.o = &o, .msgs = {"skipped-member", 0}};
    char err[1024];
    lgp_record_init(&c.rec);
    if (lgp_imagesrc_open(&c.src, o.inputs, o.ninputs, &o.src, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    prepare_index(&c, &o);
    char *meta = make_meta(&c);
    c.w = lgp_output_open(&o.out, meta);
    free(meta);
    if (lgp_order_init(&c.ord, &o.order, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    for (c.epoch = 0; c.epoch < o.epochs && !c.ord.done; c.epoch++) o.full ? run_epoch_full(&c) : run_epoch(&c);
    lgp_progress_end();
    lgp_warncap_summary(&c.msgs);
    lgp_output_close(c.w);
    int64_t out_n = lgp_imagesrc_left_out(c.src) - (o.full ? 0 : c.left_index);
    if (o.src.class_subset && c.ord.written == 0 && out_n > 0)
        lgp_die("--class-subset: no image of the classes in %s (%lld of other classes left out)", o.src.classes, (long long)out_n);
    char left[96] = "";
    if (o.src.class_subset && !(o.full && c.index_loaded))
        snprintf(left, sizeof left, ", %lld images of unlisted classes left out", (long long)out_n);
    lgp_info("%lld records written, %lld bad members skipped%s%s", (long long)c.ord.written, (long long)c.bad, left,
             c.unlabeled ? " (some records have no label: no .cls/.json, --labels or folder)" : "");
    lgp_order_free(&c.ord);
    lgp_imgindex_free(&c.ix);
    lgp_imagesrc_close(c.src);
    lgp_record_free(&c.rec);
    return LGP_EXIT_OK;
}
