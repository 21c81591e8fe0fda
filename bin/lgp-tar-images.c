/* lgp-tar-images (alias tar-images) — turn image archives or IDX files into a record
 * stream: one record per image with its encoded bytes (or IDX pixels) and class label,
 * in a deterministic, optionally shuffled, sharded and multi-epoch order. */
#include "common/cli.h"
#include "common/lgp.h"
#include "common/log.h"
#include "common/warncap.h"
#include "common/rng.h"
#include "formats/archive.h"
#include "formats/idx.h"
#include "formats/json.h"
#include "formats/stream.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char help[] =
    "tar-images — image archives or IDX files to an lgp record stream\n"
    "\n"
    "usage: tar-images [options] INPUT... > out.lgps\n"
    "\n"
    "INPUT is a tar (.tar, .tar.gz, .tar.zst, ...) or zip archive, '-' for stdin, or an\n"
    "IDX image file (*-images-idx3-ubyte[.gz], e.g. Fashion-MNIST). Several archives are\n"
    "read one after the other as one data set (shards, explicit lists).\n"
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
    "order of --classes FILE. Without --classes, seekable inputs get a first pass over\n"
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
    "512; a later epoch cut short by --limit is not counted). Archives announce neither\n"
    "(their counts are only known once read).\n"
    "\n"
    "options:\n"
    "  --labels FILE     lines 'name label' (name = image basename with or without its\n"
    "                    extension; label = index or class name), or one label per line\n"
    "                    for the images in sorted name order (ImageNet val style);\n"
    "                    for IDX: the labels file (default: derived from the name)\n"
    "  --classes FILE    class names, one per line, line order = index (default: sorted)\n"
    "  --shuffle N       buffer shuffle with N records, WebDataset style (default 0: off)\n"
    "  --epochs N        emit N epochs, each reshuffled (default 1)\n"
    "  --shard I/N       keep records j with j mod N == I (archive order); 'auto' takes\n"
    "                    OMPI_COMM_WORLD_RANK/SIZE or SLURM_PROCID/NTASKS (default 0/1)\n"
    "  --skip N          drop the first N output records (resume) (default 0)\n"
    "  --limit N         stop after N output records, counted over all epochs\n"
    "                    (default: no limit); see \"records_per_epoch\" above\n"
    "  --seed S          shuffle seed (default 0)\n"
    LGP_OUTPUT_HELP
    "  -q, --quiet / -v, --verbose / --progress / --help / --version\n"
    "\n"
    "example:\n"
    "  tar-images --shuffle 1000 --seed 1 ILSVRC2012_img_train.tar | lgp-decode --size 256 | ...\n"
    "  tar-images /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz | lgp-inspect\n"
    "\n"
    "exit status: 0 ok, 1 unreadable input or write error, 2 usage error.\n"
    "See lgp-tar-images(1).\n";

static const char *const fashion_classes[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

struct opts {
    const char *labels, *classes;
    lgp_output_opts out;
    long long shuffle, epochs, skip, limit;
    long long shard_i, shard_n;
    uint64_t seed;
    char **inputs;
    int ninputs;
};

typedef struct { char **v; size_t n, cap; } strvec;

static void sv_push(strvec *s, const char *x) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) lgp_die("out of memory");
    }
    if (!(s->v[s->n++] = strdup(x))) lgp_die("out of memory");
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void sv_sort_unique(strvec *s) {
    if (s->n) qsort(s->v, s->n, sizeof *s->v, cmp_str); /* an empty list may have no array */
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (k && strcmp(s->v[k - 1], s->v[i]) == 0) free(s->v[i]);
        else s->v[k++] = s->v[i];
    }
    s->n = k;
}
static long sv_find_sorted(const strvec *s, const char *x) {
    char *const *p = bsearch(&x, s->v, s->n, sizeof *s->v, cmp_str);
    return p ? (long)(p - s->v) : -1;
}

/* One image on its way out: owned data unless borrowed (IDX pixels). */
typedef struct {
    char *key;
    int64_t id;    /* position in the source order, before sharding and shuffling */
    int64_t label; /* -1: none */
    const char *tname;
    int ndim;
    int64_t shape[3];
    uint8_t *data;
    size_t size;
    int borrowed;
} item;

static void item_free(item *it) {
    free(it->key);
    if (!it->borrowed) free(it->data);
}

/* Everything the record loop needs. */
struct ctx {
    const struct opts *o;
    lgp_warncap msgs;    /* skipped members: the first few named, the rest counted */
    strvec classes;      /* index -> name (order = index) */
    strvec classes_sorted; /* for lookup when --classes gives an unsorted order */
    long *class_of_sorted;
    int have_classes;
    strvec lab_names, lab_vals; /* --labels 'name label', sorted by name */
    int64_t epoch, j, pos;      /* archive-order counter, position in epoch */
    int64_t emitted, written, bad, unlabeled;
    int64_t per_epoch; /* records per epoch when known before reading (IDX), else -1 */
    int64_t image_shape[3]; /* [H, W, C] of every image when fixed (IDX), else 0s */
    int done;
    lgp_rng rng;
    item *buf;
    size_t nbuf;
    lgp_writer *w;
    lgp_record rec;
};

static void read_lines(const char *path, strvec *out) {
    FILE *f = fopen(path, "r");
    if (!f) lgp_die_errno("%s", path);
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = 0;
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\t')) line[--n] = 0;
        if (n) sv_push(out, line);
    }
    if (ferror(f)) lgp_die_errno("%s", path);
    fclose(f);
}

static void set_classes(struct ctx *c) {
    c->have_classes = 1;
    c->classes_sorted.n = 0;
    for (size_t i = 0; i < c->classes.n; i++) sv_push(&c->classes_sorted, c->classes.v[i]);
    if (c->classes_sorted.n) qsort(c->classes_sorted.v, c->classes_sorted.n, sizeof(char *), cmp_str);
    c->class_of_sorted = calloc(c->classes.n + 1, sizeof(long));
    for (size_t i = 0; i < c->classes.n; i++) {
        long k = sv_find_sorted(&c->classes_sorted, c->classes.v[i]);
        if (i && strcmp(c->classes_sorted.v[i], c->classes_sorted.v[i - 1]) == 0)
            lgp_die("%s: class '%s' listed twice", c->o->classes, c->classes_sorted.v[i]);
        c->class_of_sorted[k] = (long)i;
    }
}

/* Class name -> index; -1 if not in the list. Dies if there is no list (stdin, or
 * class names in .cls members, which the first pass does not read). */
static int64_t class_index(struct ctx *c, const char *name, const char *input) {
    if (!c->have_classes)
        lgp_die("%s: labels are class names but there is no class list: pass --classes FILE%s", input,
                strcmp(input, "-") == 0 ? " (stdin cannot be pre-scanned)" : "");
    long k = sv_find_sorted(&c->classes_sorted, name);
    return k < 0 ? -1 : c->class_of_sorted[k];
}

/* ---- output: skip/limit, records, shuffle buffer ---- */

static void write_item(struct ctx *c, item *it) {
    int64_t index = it->id;
    c->pos++;
    if (c->emitted++ < c->o->skip) return;
    if (c->o->limit >= 0 && c->written >= c->o->limit) { c->done = 1; return; }
    lgp_record *r = &c->rec;
    lgp_record_clear(r);
    int ok = lgp_record_set_key(r, it->key) == LGP_OK &&
             lgp_record_put(r, it->tname, LGP_DT_U8, it->ndim, it->shape, it->data, it->size, LGP_BORROW) == LGP_OK &&
             (it->label < 0 || lgp_record_put_i64(r, "label", it->label) == LGP_OK) &&
             lgp_record_put_i64(r, "epoch", c->epoch) == LGP_OK &&
             lgp_record_put_i64(r, "index", index) == LGP_OK;
    if (!ok) lgp_die("%s: cannot build record", it->key);
    lgp_output_write(c->w, r);
    c->written++;
    if (it->label < 0) c->unlabeled++;
    if (c->o->limit >= 0 && c->written >= c->o->limit) c->done = 1;
    if ((c->written & 1023) == 0) lgp_progress_line("%lld records", (long long)c->written);
}

/* Archive order in; this shard's records out through the shuffle buffer. Takes it. */
static void push_item(struct ctx *c, item *it) {
    int64_t j = c->j++;
    it->id = j;
    if (c->done || j % c->o->shard_n != c->o->shard_i) { item_free(it); return; }
    size_t cap = c->o->shuffle > 1 ? (size_t)c->o->shuffle : 0;
    if (!cap) { write_item(c, it); item_free(it); return; }
    if (c->nbuf < cap) { c->buf[c->nbuf++] = *it; return; }
    size_t k = (size_t)lgp_rng_below(&c->rng, cap);
    write_item(c, &c->buf[k]);
    item_free(&c->buf[k]);
    c->buf[k] = *it;
}

static void drain(struct ctx *c) {
    while (c->nbuf) {
        size_t k = (size_t)lgp_rng_below(&c->rng, c->nbuf);
        if (!c->done) write_item(c, &c->buf[k]);
        item_free(&c->buf[k]);
        c->buf[k] = c->buf[--c->nbuf];
    }
}

/* ---- IDX input ---- */

struct idxset { lgp_idx img, lab; char prefix[64]; };

static void idx_load(struct idxset *s, const struct opts *o, struct ctx *c) {
    char err[1024], lpath[4096];
    const char *in = o->inputs[0];
    if (lgp_idx_load(in, &s->img, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    if (s->img.ndim != 3) lgp_die("%s: IDX images must be 3-d [N, H, W], got %d-d", in, s->img.ndim);
    if (o->labels) snprintf(lpath, sizeof lpath, "%s", o->labels);
    else {
        const char *p = strstr(in, "-images-idx3-");
        if (!p) lgp_die("%s: cannot derive the labels file name (use --labels FILE)", in);
        snprintf(lpath, sizeof lpath, "%.*s-labels-idx1-%s", (int)(p - in), in, p + 13);
    }
    if (lgp_idx_load(lpath, &s->lab, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    if (s->lab.ndim != 1 || s->lab.dims[0] != s->img.dims[0])
        lgp_die("%s: %u labels for %u images in %s", lpath, s->lab.dims[0], s->img.dims[0], in);
    if (!c->have_classes) {
        int fashion = strstr(in, "fashion") || strstr(in, "Fashion");
        char d[16];
        for (int k = 0; k < 10; k++) {
            snprintf(d, sizeof d, "%d", k);
            sv_push(&c->classes, fashion ? fashion_classes[k] : d);
        }
        set_classes(c);
    }
    for (uint32_t i = 0; i < s->lab.dims[0]; i++)
        if (s->lab.data[i] >= c->classes.n)
            lgp_die("%s: label %u of image %u is not below %zu classes", lpath, s->lab.data[i], i, c->classes.n);
    const char *b = strrchr(in, '/');
    b = b ? b + 1 : in;
    snprintf(s->prefix, sizeof s->prefix, "%.*s", (int)strcspn(b, "-."), b);
}

/* "records_per_epoch" for n source images: this shard's share (j mod N == I), cut to
 * --skip + --limit when the run ends inside the first epoch. It is the length of the
 * first epoch of the data order this output is a window of, so a resumed run
 * (--skip K --limit L) announces what the run it continues (--limit K + L) did. */
static int64_t epoch_records(const struct opts *o, int64_t n) {
    int64_t k = n / o->shard_n + (o->shard_i < n % o->shard_n);
    if (o->limit >= 0 && o->limit <= INT64_MAX - o->skip && o->skip + o->limit < k) k = o->skip + o->limit;
    return k;
}

static void idx_epoch(struct ctx *c, const struct idxset *s) {
    size_t hw = (size_t)s->img.dims[1] * s->img.dims[2];
    for (uint32_t i = 0; i < s->img.dims[0] && !c->done; i++) {
        item it = {.label = s->lab.data[i], .tname = "image", .ndim = 3,
                   .shape = {s->img.dims[1], s->img.dims[2], 1},
                   .data = s->img.data + i * hw, .size = hw, .borrowed = 1};
        char key[96];
        snprintf(key, sizeof key, "%s-%05u", s->prefix, i);
        if (!(it.key = strdup(key))) lgp_die("out of memory");
        push_item(c, &it);
    }
}

/* ---- archive input ---- */

/* The WebDataset group being collected: members sharing one key. */
struct group {
    char key[LGP_MAX_KEY], name[4096], inner[1024];
    uint8_t *img;
    size_t size;
    int has_img;
    int has_label; /* 0 none, 1 index in label, 2 class name in label_name, 3 bad (reported) */
    int64_t label;
    char label_name[1024];
};

/* 1 if v names a class of the class list, or there is no list; else fills why. */
static int label_in_range(const struct ctx *c, int64_t v, char *why, size_t n) {
    if (!c->have_classes || v < (int64_t)c->classes.n) return 1;
    snprintf(why, n, "not below %zu classes", c->classes.n);
    return 0;
}

static int64_t resolve_label(struct ctx *c, struct group *g, const char *input, int *bad) {
    *bad = 0;
    const char *cname = NULL;
    if (g->has_label == 1) return g->label;
    if (g->has_label == 2) cname = g->label_name;
    else if (c->lab_names.n) {
        char stem[1024];
        lgp_archive_stem(g->name, stem, sizeof stem);
        long k = sv_find_sorted(&c->lab_names, stem);
        if (k < 0) return -1;
        int64_t v;
        const char *why;
        char whyb[64], q[48];
        int r = lgp_archive_parse_label(c->lab_vals.v[k], &v, &why);
        if (r == LGP_OK && !label_in_range(c, v, whyb, sizeof whyb)) r = LGP_BAD_RECORD, why = whyb;
        if (r == LGP_OK) return v;
        if (r == LGP_BAD_RECORD) {
            lgp_archive_quote(q, sizeof q, c->lab_vals.v[k], strlen(c->lab_vals.v[k]));
            lgp_warncap_emit(&c->msgs, "%s: %s: bad label '%s' in %s: %s (skipped)", input, g->key, q, c->o->labels, why);
            *bad = 1;
            return -1;
        }
        cname = c->lab_vals.v[k];
    } else if (g->inner[0]) cname = g->inner;
    else {
        const char *sl = strrchr(g->name, '/');
        if (!sl) return -1;
        const char *p = sl;
        while (p > g->name && p[-1] != '/') p--;
        snprintf(g->label_name, sizeof g->label_name, "%.*s", (int)(sl - p), p);
        cname = g->label_name;
    }
    int64_t k = class_index(c, cname, input);
    if (k < 0) {
        lgp_warncap_emit(&c->msgs, "%s: %s: class '%s' is not in the class list (skipped)", input, g->key, cname);
        *bad = 1;
    }
    return k;
}

static void flush_group(struct ctx *c, struct group *g, const char *input) {
    if (!g->has_img) { g->key[0] = 0; g->has_label = 0; return; }
    int bad = 0;
    int64_t label = g->has_label == 3 ? -1 : resolve_label(c, g, input, &bad);
    if (bad) c->bad++;
    if (bad || g->has_label == 3) { /* a bad sidecar was counted when it was read */
        free(g->img);
    } else {
        static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        int png = g->size >= 8 && memcmp(g->img, png_magic, 8) == 0;
        item it = {.key = strdup(g->key), .label = label, .tname = png ? "png" : "jpeg",
                   .ndim = 1, .shape = {(int64_t)g->size}, .data = g->img, .size = g->size};
        if (!it.key) lgp_die("out of memory");
        push_item(c, &it);
    }
    g->img = NULL;
    g->has_img = g->has_label = 0;
    g->key[0] = 0;
}

/* A sidecar whose label is unusable: one line, counted once, and the group's image
 * (before or after it) is dropped at flush_group. */
static void bad_label(struct ctx *c, struct group *g, const lgp_member *m, const char *input,
                      const char *text, size_t n, const char *why) {
    char q[48];
    lgp_archive_quote(q, sizeof q, text, n);
    lgp_warncap_emit(&c->msgs, "%s: %s%s%s: bad label '%s': %s (skipped)", input, m->inner ? m->inner : "",
             m->inner ? "/" : "", m->name, q, why);
    c->bad++;
    g->has_label = 3;
}

static void take_member(struct ctx *c, struct group *g, const lgp_member *m, const char *input) {
    char key[LGP_MAX_KEY];
    int n = snprintf(key, sizeof key, "%s%s", m->inner ? m->inner : "", m->inner ? "/" : "");
    if (lgp_archive_key(m->name, key + n, sizeof key - (size_t)n) != LGP_OK) {
        lgp_warncap_emit(&c->msgs, "%s: %s: member name too long (skipped)", input, m->name);
        c->bad++;
        return;
    }
    if (strcmp(key, g->key) != 0) {
        flush_group(c, g, input);
        memcpy(g->key, key, sizeof key);
    }
    if (m->kind == LGP_MEMBER_IMAGE && !g->has_img) {
        if (!(g->img = malloc(m->size ? m->size : 1))) lgp_die("out of memory");
        memcpy(g->img, m->data, m->size);
        g->size = m->size;
        g->has_img = 1;
        snprintf(g->name, sizeof g->name, "%s", m->name);
        snprintf(g->inner, sizeof g->inner, "%s", m->inner ? m->inner : "");
    } else if (m->kind == LGP_MEMBER_CLS && g->has_label != 3) {
        char t[1024], whyb[64];
        const char *why;
        snprintf(t, sizeof t, "%.*s", (int)(m->size < 1023 ? m->size : 1023), (const char *)m->data);
        t[strcspn(t, "\r\n")] = 0;
        int r = lgp_archive_parse_label(t, &g->label, &why);
        if (r == LGP_OK && !label_in_range(c, g->label, whyb, sizeof whyb)) r = LGP_BAD_RECORD, why = whyb;
        if (r == LGP_BAD_RECORD) { bad_label(c, g, m, input, t, strlen(t), why); return; }
        g->has_label = r == LGP_OK ? 1 : 2;
        snprintf(g->label_name, sizeof g->label_name, "%s", t);
    } else if (m->kind == LGP_MEMBER_JSON && !g->has_label) {
        char whyb[64];
        const char *why;
        int r = lgp_archive_json_label(m->data, m->size, &g->label, &why);
        if (r == LGP_OK && !label_in_range(c, g->label, whyb, sizeof whyb)) r = LGP_BAD_RECORD, why = whyb;
        if (r == LGP_BAD_RECORD) bad_label(c, g, m, input, (const char *)m->data, m->size, why);
        else if (r == LGP_OK) g->has_label = 1;
    }
}

static void archive_epoch(struct ctx *c) {
    struct group g = {0};
    char err[1024];
    for (int i = 0; i < c->o->ninputs && !c->done; i++) {
        const char *in = c->o->inputs[i];
        lgp_archive *a;
        if (lgp_archive_open(&a, in, LGP_ARCHIVE_NESTED, err, sizeof err) != LGP_OK) lgp_die("%s", err);
        lgp_member m;
        int rc;
        while (!c->done && (rc = lgp_archive_next(a, &m)) != LGP_EOF) {
            if (rc == LGP_FATAL) lgp_die("%s", lgp_archive_error(a));
            if (rc == LGP_BAD_RECORD) { lgp_warncap_emit(&c->msgs, "%s", lgp_archive_error(a)); c->bad++; continue; }
            take_member(c, &g, &m, in);
        }
        if (!c->done) flush_group(c, &g, in);
        free(g.img);
        g.img = NULL;
        g.has_img = 0;
        lgp_archive_close(a);
    }
}

/* ---- class list and labels file before the first record ---- */

static int seekable(const char *p) {
    struct stat st;
    return strcmp(p, "-") != 0 && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* First pass over member names: inner tar stems, image folders, image stems. */
static void scan_names(const struct opts *o, strvec *tars, strvec *dirs, strvec *stems, int *wds) {
    char err[1024], buf[4096];
    for (int i = 0; i < o->ninputs; i++) {
        lgp_archive *a;
        if (lgp_archive_open(&a, o->inputs[i], LGP_ARCHIVE_NAMES_ONLY, err, sizeof err) != LGP_OK) lgp_die("%s", err);
        lgp_member m;
        int rc;
        while ((rc = lgp_archive_next(a, &m)) == LGP_OK) {
            if (m.kind == LGP_MEMBER_TAR) { lgp_archive_stem(m.name, buf, sizeof buf); sv_push(tars, buf); }
            if (m.kind == LGP_MEMBER_CLS || m.kind == LGP_MEMBER_JSON) *wds = 1;
            if (m.kind != LGP_MEMBER_IMAGE) continue;
            lgp_archive_stem(m.name, buf, sizeof buf);
            sv_push(stems, buf);
            const char *sl = strrchr(m.name, '/'), *p = sl;
            if (!sl) continue;
            while (p > m.name && p[-1] != '/') p--;
            snprintf(buf, sizeof buf, "%.*s", (int)(sl - p), p);
            sv_push(dirs, buf);
        }
        if (rc != LGP_EOF) lgp_die("%s", lgp_archive_error(a));
        lgp_archive_close(a);
    }
}

static void load_labels(struct ctx *c, const strvec *stems) {
    strvec lines = {0};
    read_lines(c->o->labels, &lines);
    int one_per_line = lines.n && !strpbrk(lines.v[0], " \t");
    if (one_per_line && stems->n != lines.n)
        lgp_die("%s: %zu labels for %zu images (one label per line needs exactly one per image,"
                " in sorted name order%s)", c->o->labels, lines.n, stems->n,
                stems->n ? "" : "; stdin cannot be pre-scanned");
    for (size_t i = 0; i < lines.n; i++) {
        char *s = lines.v[i], *sp = strpbrk(s, " \t");
        if (!one_per_line && !sp) lgp_die("%s: line %zu: want 'name label'", c->o->labels, i + 1);
        if (one_per_line) { sv_push(&c->lab_names, stems->v[i]); sv_push(&c->lab_vals, s); continue; }
        *sp++ = 0;
        sp += strspn(sp, " \t");
        char stem[1024];
        lgp_archive_stem(s, stem, sizeof stem);
        sv_push(&c->lab_names, stem);
        sv_push(&c->lab_vals, sp);
    }
    /* sort names and values together through an index */
    size_t n = c->lab_names.n;
    char **pairs = malloc(2 * n * sizeof(char *) + 1);
    for (size_t i = 0; i < n; i++) { pairs[2 * i] = c->lab_names.v[i]; pairs[2 * i + 1] = c->lab_vals.v[i]; }
    qsort(pairs, n, 2 * sizeof(char *), cmp_str);
    for (size_t i = 0; i < n; i++) { c->lab_names.v[i] = pairs[2 * i]; c->lab_vals.v[i] = pairs[2 * i + 1]; }
    free(pairs);
    int64_t v;
    const char *why;
    if (!c->have_classes) { /* class names in the labels file, sorted */
        for (size_t i = 0; i < n; i++)
            if (lgp_archive_parse_label(c->lab_vals.v[i], &v, &why) == LGP_EOF) sv_push(&c->classes, c->lab_vals.v[i]);
        sv_sort_unique(&c->classes);
        if (c->classes.n) set_classes(c);
    }
    for (size_t i = 0; i < lines.n; i++) free(lines.v[i]);
    free(lines.v);
}

static void prepare_archives(struct ctx *c) {
    const struct opts *o = c->o;
    int all_seekable = 1;
    for (int i = 0; i < o->ninputs; i++) all_seekable &= seekable(o->inputs[i]);
    int need_names = (o->labels && all_seekable) || (!c->have_classes && !o->labels);
    strvec tars = {0}, dirs = {0}, stems = {0};
    int wds = 0;
    if (need_names && all_seekable) scan_names(o, &tars, &dirs, &stems, &wds);
    sv_sort_unique(&stems);
    if (o->labels) load_labels(c, &stems);
    else if (!c->have_classes && all_seekable) {
        strvec *src = tars.n ? &tars : &dirs;
        sv_sort_unique(src);
        if (tars.n || !wds)
            for (size_t i = 0; i < src->n; i++) sv_push(&c->classes, src->v[i]);
        if (c->classes.n) set_classes(c);
    }
    strvec *all[3] = {&tars, &dirs, &stems};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < all[k]->n; i++) free(all[k]->v[i]);
        free(all[k]->v);
    }
}

static char *make_meta(struct ctx *c, int is_idx) {
    const struct opts *o = c->o;
    lgp_json *m = lgp_json_new_obj(), *in = lgp_json_new_arr();
    lgp_json_set_str(m, "source", "tar-images");
    for (int i = 0; i < o->ninputs; i++) lgp_json_push(in, lgp_json_new_str(o->inputs[i]));
    lgp_json_set(m, "inputs", in);
    lgp_json_set_str(m, "input_kind", is_idx ? "idx" : "archive");
    if (c->have_classes) {
        lgp_json *cl = lgp_json_new_arr();
        for (size_t i = 0; i < c->classes.n; i++) lgp_json_push(cl, lgp_json_new_str(c->classes.v[i]));
        lgp_json_set(m, "classes", cl);
    }
    char shard[64];
    snprintf(shard, sizeof shard, "%lld/%lld", o->shard_i, o->shard_n);
    lgp_json_set_str(m, "shard", shard);
    lgp_json_set_u64(m, "seed", o->seed);
    lgp_json_set_i64(m, "shuffle", o->shuffle);
    lgp_json_set_i64(m, "epochs", o->epochs);
    lgp_json_set_i64(m, "skip", o->skip);
    lgp_json_set_i64(m, "limit", o->limit);
    if (c->per_epoch >= 0) lgp_json_set_i64(m, "records_per_epoch", c->per_epoch);
    if (c->image_shape[0]) {
        lgp_json *sh = lgp_json_new_arr();
        for (int k = 0; k < 3; k++) lgp_json_push(sh, lgp_json_new_i64(c->image_shape[k]));
        lgp_json_set(m, "image_shape", sh);
    }
    char *s = lgp_json_dump(m);
    lgp_json_free(m);
    return s;
}

/* IDX by name (so a damaged IDX file still gets an IDX message) or by its magic. */
static int is_idx_input(const char *p) {
    return strstr(p, "-idx3-") || strstr(p, "idx3-ubyte") || (strcmp(p, "-") != 0 && lgp_idx_sniff(p));
}

static void parse_shard(struct opts *o, const char *s) {
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
        {"shuffle", required_argument, 0, 'S'}, {"epochs", required_argument, 0, 'E'},
        {"shard", required_argument, 0, 'H'}, {"skip", required_argument, 0, 'K'},
        {"limit", required_argument, 0, 'N'}, {"seed", required_argument, 0, 's'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "qvo:", lo, NULL)) != -1) {
        if (lgp_common_opt(c, help) || lgp_output_opt(&o->out, c, optarg)) continue;
        switch (c) {
        case 'L': o->labels = optarg; break;
        case 'C': o->classes = optarg; break;
        case 'S': o->shuffle = lgp_opt_int("--shuffle", optarg, 0, 1 << 24); break;
        case 'E': o->epochs = lgp_opt_int("--epochs", optarg, 1, 1 << 20); break;
        case 'H': parse_shard(o, optarg); break;
        case 'K': o->skip = lgp_opt_int("--skip", optarg, 0, INT64_MAX); break;
        case 'N': o->limit = lgp_opt_int("--limit", optarg, 0, INT64_MAX); break;
        case 's': o->seed = lgp_opt_u64("--seed", optarg); break;
        default: lgp_usage_die("unexpected option");
        }
    }
    if (optind == argc) lgp_usage_die("no input (give an archive, an IDX file or '-')");
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
    struct opts o = {.epochs = 1, .limit = -1, .shard_n = 1};
    lgp_output_opts_init(&o.out);
    parse_args(&o, argc, argv);
    int is_idx = is_idx_input(o.inputs[0]);
    if (is_idx && o.ninputs != 1) lgp_usage_die("an IDX input must be the only input");
    lgp_output_precheck(&o.out);
    struct ctx c = {.o = &o, .msgs = {"skipped-member", 0}, .per_epoch = -1};
    lgp_record_init(&c.rec);
    if (o.classes) {
        read_lines(o.classes, &c.classes);
        set_classes(&c);
    }
    struct idxset s = {0};
    if (is_idx) {
        idx_load(&s, &o, &c);
        c.per_epoch = epoch_records(&o, s.img.dims[0]);
        c.image_shape[0] = s.img.dims[1], c.image_shape[1] = s.img.dims[2], c.image_shape[2] = 1;
    } else
        prepare_archives(&c);
    char *meta = make_meta(&c, is_idx);
    c.w = lgp_output_open(&o.out, meta);
    free(meta);
    if (o.shuffle > 1 && !(c.buf = malloc((size_t)o.shuffle * sizeof(item)))) lgp_die("out of memory");
    for (c.epoch = 0; c.epoch < o.epochs && !c.done; c.epoch++) {
        c.j = c.pos = 0;
        lgp_rng_init(&c.rng, o.seed, (uint64_t)c.epoch, (uint64_t)o.shard_i, LGP_RNG_SHUFFLE);
        if (is_idx) idx_epoch(&c, &s);
        else archive_epoch(&c);
        drain(&c);
    }
    lgp_progress_end();
    lgp_warncap_summary(&c.msgs);
    lgp_output_close(c.w);
    lgp_info("%lld records written, %lld bad members skipped%s", (long long)c.written, (long long)c.bad,
             c.unlabeled ? " (some records have no label: no .cls/.json, --labels or folder)" : "");
    free(c.buf);
    strvec *lists[] = {&c.classes, &c.classes_sorted, &c.lab_names, &c.lab_vals};
    for (size_t k = 0; k < LGP_ARRAY_LEN(lists); k++) {
        for (size_t i = 0; i < lists[k]->n; i++) free(lists[k]->v[i]);
        free(lists[k]->v);
    }
    free(c.class_of_sorted);
    lgp_record_free(&c.rec);
    lgp_idx_free(&s.img);
    lgp_idx_free(&s.lab);
    return LGP_EXIT_OK;
}
