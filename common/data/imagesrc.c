/* imagesrc.c — images and labels from archives or IDX files (see imagesrc.h). */
#include "common/data/imagesrc.h"

#include "common/lgp.h"
#include "common/util/strlist.h"
#include "formats/archive.h"
#include "formats/idx.h"
#include "formats/stream.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const fashion_classes[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

/* The WebDataset sample being collected: members sharing one key. */
struct group {
    char key[LGP_MAX_KEY], name[4096], inner[1024];
    uint8_t *img;
    size_t size;
    int has_img;
    int has_label; /* 0 none, 1 index in label, 2 class name in label_name, 3 bad (reported) */
    int64_t label;
    char label_name[1024];
};

struct lgp_imagesrc {
    char *const *inputs;
    int ninputs;
    lgp_imagesrc_opts o;
    lgp_strlist classes;        /* index -> name (order = index) */
    lgp_strlist classes_sorted; /* for lookup when the classes file is not sorted */
    long *class_of_sorted;      /* [classes.n] index of classes_sorted.v[k] */
    int have_classes;
    lgp_strlist lab_names, lab_vals; /* the labels file, sorted by name */
    lgp_idx img, lab;                /* IDX: [N, H, W] pixels, [N] labels */
    char prefix[64];                 /* IDX: key prefix ("t10k") */
    uint32_t next_i;
    int input;       /* archives: the one being read */
    lgp_archive *a;
    int peek;        /* open archives with LGP_ARCHIVE_PEEK (lgp_imagesrc_peek) */
    lgp_member m;    /* read but not yet taken (it closed the previous group) */
    int pending;
    struct group g;
    int64_t left_out; /* class_subset: images of other classes */
    char err[1024];
};

enum { TAKEN = 2 }; /* internal: a member joined its group, nothing to report */

/* The message of a BAD_RECORD or FATAL outcome; long names are cut at the buffer's
 * end, as the log line would cut them anyway. */
static int fail(lgp_imagesrc *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(lgp_imagesrc *s, int rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return rc;
}

static int oom(lgp_imagesrc *s) { return fail(s, LGP_FATAL, "out of memory"); }

/* ---- class list ---- */

static int set_classes(lgp_imagesrc *s) {
    s->have_classes = 1;
    for (size_t i = 0; i < s->classes.n; i++)
        if (lgp_strlist_push(&s->classes_sorted, s->classes.v[i]) != LGP_OK) return oom(s);
    if (s->classes_sorted.n) qsort(s->classes_sorted.v, s->classes_sorted.n, sizeof(char *), lgp_strlist_cmp);
    if (!(s->class_of_sorted = calloc(s->classes.n + 1, sizeof(long)))) return oom(s);
    for (size_t i = 0; i < s->classes.n; i++) {
        long k = lgp_strlist_find_sorted(&s->classes_sorted, s->classes.v[i]);
        if (i && strcmp(s->classes_sorted.v[i], s->classes_sorted.v[i - 1]) == 0)
            return fail(s, LGP_FATAL, "%s: class '%s' listed twice", s->o.classes, s->classes_sorted.v[i]);
        s->class_of_sorted[k] = (long)i;
    }
    return LGP_OK;
}

/* Class name -> index in *k, -1 if not in the list. LGP_FATAL if there is no list
 * (stdin, or class names in .cls members, which the first pass does not read). */
static int class_index(lgp_imagesrc *s, const char *name, const char *input, int64_t *k) {
    if (!s->have_classes)
        return fail(s, LGP_FATAL, "%s: labels are class names but there is no class list: pass --classes FILE%s",
                    input, strcmp(input, "-") == 0 ? " (stdin cannot be pre-scanned)" : "");
    long j = lgp_strlist_find_sorted(&s->classes_sorted, name);
    *k = j < 0 ? -1 : s->class_of_sorted[j];
    return LGP_OK;
}

/* 1 if v names a class of the class list, or there is no list; else fills why. */
static int label_in_range(const lgp_imagesrc *s, int64_t v, char *why, size_t n) {
    if (!s->have_classes || v < (int64_t)s->classes.n) return 1;
    snprintf(why, n, "not below %zu classes", s->classes.n);
    return 0;
}

/* ---- IDX ---- */

static int idx_load(lgp_imagesrc *s) {
    char lpath[4096];
    const char *in = s->inputs[0];
    if (lgp_idx_load(in, &s->img, s->err, sizeof s->err) != LGP_OK) return LGP_FATAL;
    if (s->img.ndim != 3)
        return fail(s, LGP_FATAL, "%s: IDX images must be 3-d [N, H, W], got %d-d", in, s->img.ndim);
    if (s->o.labels) snprintf(lpath, sizeof lpath, "%s", s->o.labels);
    else {
        const char *p = strstr(in, "-images-idx3-");
        if (!p) return fail(s, LGP_FATAL, "%s: cannot derive the labels file name (use --labels FILE)", in);
        snprintf(lpath, sizeof lpath, "%.*s-labels-idx1-%s", (int)(p - in), in, p + 13);
    }
    if (lgp_idx_load(lpath, &s->lab, s->err, sizeof s->err) != LGP_OK) return LGP_FATAL;
    if (s->lab.ndim != 1 || s->lab.dims[0] != s->img.dims[0])
        return fail(s, LGP_FATAL, "%s: %u labels for %u images in %s", lpath, s->lab.dims[0], s->img.dims[0], in);
    if (!s->have_classes) {
        int fashion = strstr(in, "fashion") || strstr(in, "Fashion");
        char d[16];
        for (int k = 0; k < 10; k++) {
            snprintf(d, sizeof d, "%d", k);
            if (lgp_strlist_push(&s->classes, fashion ? fashion_classes[k] : d) != LGP_OK) return oom(s);
        }
        if (set_classes(s) != LGP_OK) return LGP_FATAL;
    }
    for (uint32_t i = 0; i < s->lab.dims[0]; i++)
        if (s->lab.data[i] >= s->classes.n)
            return fail(s, LGP_FATAL, "%s: label %u of image %u is not below %zu classes", lpath,
                        s->lab.data[i], i, s->classes.n);
    const char *b = strrchr(in, '/');
    b = b ? b + 1 : in;
    snprintf(s->prefix, sizeof s->prefix, "%.*s", (int)strcspn(b, "-."), b);
    return LGP_OK;
}

static int idx_item(lgp_imagesrc *s, uint32_t i, lgp_order_item *it);

static int idx_next(lgp_imagesrc *s, lgp_order_item *it) {
    if (s->next_i >= s->img.dims[0]) return LGP_EOF;
    return idx_item(s, s->next_i++, it);
}

static int idx_item(lgp_imagesrc *s, uint32_t i, lgp_order_item *it) {
    size_t hw = (size_t)s->img.dims[1] * s->img.dims[2];
    *it = (lgp_order_item){.label = s->lab.data[i], .tname = "image", .ndim = 3,
                           .shape = {s->img.dims[1], s->img.dims[2], 1},
                           .data = s->img.data + i * hw, .size = hw, .borrowed = 1};
    char key[96];
    snprintf(key, sizeof key, "%s-%05u", s->prefix, i);
    return (it->key = strdup(key)) ? LGP_OK : oom(s);
}

/* ---- archives: the WebDataset group and its label ---- */

static void group_reset(struct group *g) {
    free(g->img);
    g->img = NULL;
    g->has_img = g->has_label = 0;
    g->key[0] = 0;
}

/* A labels-file entry for the image: LGP_OK with *v, *cname or neither (not listed). */
static int labels_file_label(lgp_imagesrc *s, struct group *g, const char *input, int64_t *v, const char **cname) {
    char stem[1024] = "";
    lgp_archive_stem(g->name, stem, sizeof stem);
    long k = lgp_strlist_find_sorted(&s->lab_names, stem);
    if (k < 0) return LGP_OK;
    const char *why, *val = s->lab_vals.v[k];
    char whyb[64], q[48];
    int r = lgp_archive_parse_label(val, v, &why);
    if (r == LGP_OK && !label_in_range(s, *v, whyb, sizeof whyb)) r = LGP_BAD_RECORD, why = whyb;
    if (r == LGP_EOF) *v = -1, *cname = val;
    if (r != LGP_BAD_RECORD) return LGP_OK;
    lgp_archive_quote(q, sizeof q, val, strlen(val));
    return fail(s, LGP_BAD_RECORD, "%s: %s: bad label '%s' in %s: %s (skipped)", input, g->key, q, s->o.labels, why);
}

/* The label of the group's image in *label (-1: none). */
static int resolve_label(lgp_imagesrc *s, struct group *g, const char *input, int64_t *label) {
    const char *cname = NULL;
    *label = -1;
    if (g->has_label == 1) return *label = g->label, LGP_OK;
    if (g->has_label == 2) cname = g->label_name;
    else if (s->lab_names.n) {
        int r = labels_file_label(s, g, input, label, &cname);
        if (r != LGP_OK || !cname) return r;
    } else if (g->inner[0]) cname = g->inner;
    else if (lgp_archive_folder(g->name, g->label_name, sizeof g->label_name) == LGP_OK) cname = g->label_name;
    else return LGP_OK;
    if (class_index(s, cname, input, label) != LGP_OK) return LGP_FATAL;
    if (*label >= 0) return LGP_OK;
    if (s->o.class_subset) return s->left_out++, TAKEN;
    return fail(s, LGP_BAD_RECORD, "%s: %s: class '%s' is not in the class list (skipped)", input, g->key, cname);
}

/* Ends the group: LGP_OK with its image in *it, TAKEN if there is nothing to hand out
 * (no image, or a bad sidecar already reported), LGP_BAD_RECORD or LGP_FATAL. */
static int flush_group(lgp_imagesrc *s, const char *input, lgp_order_item *it) {
    struct group *g = &s->g;
    int64_t label = -1;
    int rc = (!g->has_img || g->has_label == 3) ? TAKEN : resolve_label(s, g, input, &label);
    if (rc == LGP_OK) {
        static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        int png = g->size >= 8 && memcmp(g->img, png_magic, 8) == 0;
        *it = (lgp_order_item){.key = strdup(g->key), .label = label, .tname = png ? "png" : "jpeg",
                               .ndim = 1, .shape = {(int64_t)g->size}, .data = g->img, .size = g->size};
        if (!it->key) return oom(s);
        g->img = NULL; /* now the item's */
    }
    group_reset(g);
    return rc;
}

/* A sidecar whose label is unusable: one message, and the group's image (before or
 * after it) is dropped at flush_group without another. */
static int bad_label(lgp_imagesrc *s, const lgp_member *m, const char *input, const char *text, size_t n,
                     const char *why) {
    char q[48];
    lgp_archive_quote(q, sizeof q, text, n);
    s->g.has_label = 3;
    return fail(s, LGP_BAD_RECORD, "%s: %s%s%s: bad label '%s': %s (skipped)", input, m->inner ? m->inner : "",
                m->inner ? "/" : "", m->name, q, why);
}

/* A sidecar's label: LGP_OK (index), LGP_EOF (class name, .cls only; .json: none). */
static int sidecar(lgp_imagesrc *s, const lgp_member *m, const char *input) {
    struct group *g = &s->g;
    char t[1024], whyb[64];
    const char *why;
    int r;
    if (m->kind == LGP_MEMBER_CLS) {
        snprintf(t, sizeof t, "%.*s", (int)(m->size < 1023 ? m->size : 1023), (const char *)m->data);
        t[strcspn(t, "\r\n")] = 0;
        r = lgp_archive_parse_label(t, &g->label, &why);
    } else
        r = lgp_archive_json_label(m->data, m->size, &g->label, &why);
    if (r == LGP_OK && !label_in_range(s, g->label, whyb, sizeof whyb)) r = LGP_BAD_RECORD, why = whyb;
    if (r == LGP_BAD_RECORD)
        return m->kind == LGP_MEMBER_CLS ? bad_label(s, m, input, t, strlen(t), why)
                                         : bad_label(s, m, input, (const char *)m->data, m->size, why);
    if (m->kind == LGP_MEMBER_CLS) {
        g->has_label = r == LGP_OK ? 1 : 2;
        snprintf(g->label_name, sizeof g->label_name, "%s", t);
    } else if (r == LGP_OK)
        g->has_label = 1;
    return TAKEN;
}

/* The pending member: a new key ends the current group first, which is returned while
 * the member stays pending; then the member joins its group. */
static int take_member(lgp_imagesrc *s, const char *input, lgp_order_item *it) {
    const lgp_member *m = &s->m;
    struct group *g = &s->g;
    char key[LGP_MAX_KEY];
    int n = snprintf(key, sizeof key, "%s%s", m->inner ? m->inner : "", m->inner ? "/" : "");
    if (lgp_archive_key(m->name, key + n, sizeof key - (size_t)n) != LGP_OK) {
        s->pending = 0;
        return fail(s, LGP_BAD_RECORD, "%s: %s: member name too long (skipped)", input, m->name);
    }
    if (strcmp(key, g->key) != 0) {
        int rc = flush_group(s, input, it);
        memcpy(g->key, key, sizeof key);
        if (rc != TAKEN) return rc;
    }
    s->pending = 0;
    if (m->kind == LGP_MEMBER_IMAGE && !g->has_img) {
        if (!(g->img = malloc(m->size ? m->size : 1))) return oom(s);
        memcpy(g->img, m->data, m->size);
        g->size = m->size;
        g->has_img = 1;
        snprintf(g->name, sizeof g->name, "%s", m->name);
        snprintf(g->inner, sizeof g->inner, "%s", m->inner ? m->inner : "");
    } else if ((m->kind == LGP_MEMBER_CLS && g->has_label != 3) || (m->kind == LGP_MEMBER_JSON && !g->has_label))
        return sidecar(s, m, input);
    return TAKEN;
}

static int archive_next(lgp_imagesrc *s, lgp_order_item *it) {
    for (;;) {
        if (!s->a) {
            if (s->input >= s->ninputs) return LGP_EOF;
            int fl = LGP_ARCHIVE_NESTED | (s->peek ? LGP_ARCHIVE_PEEK : 0);
            if (lgp_archive_open(&s->a, s->inputs[s->input], fl, s->err, sizeof s->err) != LGP_OK)
                return LGP_FATAL;
        }
        const char *in = s->inputs[s->input];
        int rc;
        if (!s->pending) {
            rc = lgp_archive_next(s->a, &s->m);
            if (rc == LGP_EOF) { /* the last group of this input */
                rc = flush_group(s, in, it);
                lgp_archive_close(s->a);
                s->a = NULL;
                s->input++;
                if (rc != TAKEN) return rc;
                continue;
            }
            if (rc != LGP_OK) return fail(s, rc, "%s", lgp_archive_error(s->a));
            s->pending = 1;
        }
        if ((rc = take_member(s, in, it)) != TAKEN) return rc;
    }
}

/* ---- before the first record: class list and labels file ---- */

/* 1 a file, 2 a directory (both can be pre-scanned), 0 stdin or anything else. */
static int seekable(const char *p) {
    struct stat st;
    if (strcmp(p, "-") == 0 || stat(p, &st) != 0) return 0;
    return S_ISREG(st.st_mode) ? 1 : S_ISDIR(st.st_mode) ? 2 : 0;
}

/* First pass over member names: inner tar stems (archives only: a directory does not
 * descend into its .tar files), image folders, image stems. */
static int scan_names(lgp_imagesrc *s, lgp_strlist *tars, lgp_strlist *dirs, lgp_strlist *stems, int *wds) {
    char buf[4096];
    for (int i = 0; i < s->ninputs; i++) {
        int dir = seekable(s->inputs[i]) == 2;
        lgp_archive *a;
        if (lgp_archive_open(&a, s->inputs[i], LGP_ARCHIVE_NAMES_ONLY, s->err, sizeof s->err) != LGP_OK) return LGP_FATAL;
        lgp_member m;
        int rc = LGP_OK, pushed = LGP_OK;
        /* A damaged member is passed over here: the reading pass reports it. */
        while (pushed == LGP_OK && ((rc = lgp_archive_next(a, &m)) == LGP_OK || rc == LGP_BAD_RECORD)) {
            if (rc == LGP_BAD_RECORD) continue;
            if (m.kind == LGP_MEMBER_TAR && !dir) lgp_archive_stem(m.name, buf, sizeof buf), pushed |= lgp_strlist_push(tars, buf);
            if (m.kind == LGP_MEMBER_CLS || m.kind == LGP_MEMBER_JSON) *wds = 1;
            if (m.kind != LGP_MEMBER_IMAGE) continue;
            lgp_archive_stem(m.name, buf, sizeof buf);
            pushed |= lgp_strlist_push(stems, buf);
            if (lgp_archive_folder(m.name, buf, sizeof buf) == LGP_OK) pushed |= lgp_strlist_push(dirs, buf);
        }
        if (pushed == LGP_OK && rc != LGP_EOF) fail(s, LGP_FATAL, "%s", lgp_archive_error(a));
        lgp_archive_close(a);
        if (pushed != LGP_OK) return oom(s);
        if (rc != LGP_EOF) return LGP_FATAL;
    }
    return LGP_OK;
}

/* Sorts the labels file's names and values together, by name. */
static int sort_labels(lgp_imagesrc *s) {
    size_t n = s->lab_names.n;
    char **pairs = malloc(2 * n * sizeof(char *) + 1);
    if (!pairs) return oom(s);
    for (size_t i = 0; i < n; i++) pairs[2 * i] = s->lab_names.v[i], pairs[2 * i + 1] = s->lab_vals.v[i];
    qsort(pairs, n, 2 * sizeof(char *), lgp_strlist_cmp);
    for (size_t i = 0; i < n; i++) s->lab_names.v[i] = pairs[2 * i], s->lab_vals.v[i] = pairs[2 * i + 1];
    free(pairs);
    return LGP_OK;
}

static int parse_labels(lgp_imagesrc *s, lgp_strlist *lines, const lgp_strlist *stems) {
    const char *path = s->o.labels;
    int one_per_line = lines->n && !strpbrk(lines->v[0], " \t");
    if (one_per_line && stems->n != lines->n)
        return fail(s, LGP_FATAL, "%s: %zu labels for %zu images (one label per line needs exactly one per image,"
                    " in sorted name order%s)", path, lines->n, stems->n, stems->n ? "" : "; stdin cannot be pre-scanned");
    for (size_t i = 0; i < lines->n; i++) {
        char *l = lines->v[i], *sp = strpbrk(l, " \t"), stem[1024] = "";
        if (!one_per_line && !sp) return fail(s, LGP_FATAL, "%s: line %zu: want 'name label'", path, i + 1);
        if (one_per_line) {
            if (lgp_strlist_push(&s->lab_names, stems->v[i]) || lgp_strlist_push(&s->lab_vals, l)) return oom(s);
            continue;
        }
        *sp++ = 0;
        sp += strspn(sp, " \t");
        lgp_archive_stem(l, stem, sizeof stem);
        if (lgp_strlist_push(&s->lab_names, stem) || lgp_strlist_push(&s->lab_vals, sp)) return oom(s);
    }
    if (sort_labels(s) != LGP_OK) return LGP_FATAL;
    if (s->have_classes) return LGP_OK;
    int64_t v; /* class names in the labels file, sorted */
    const char *why;
    for (size_t i = 0; i < s->lab_vals.n; i++)
        if (lgp_archive_parse_label(s->lab_vals.v[i], &v, &why) == LGP_EOF && lgp_strlist_push(&s->classes, s->lab_vals.v[i]))
            return oom(s);
    lgp_strlist_sort_unique(&s->classes);
    return s->classes.n ? set_classes(s) : LGP_OK;
}

static int prepare_archives(lgp_imagesrc *s) {
    int all_seekable = 1, wds = 0, rc = LGP_OK;
    for (int i = 0; i < s->ninputs; i++) all_seekable &= seekable(s->inputs[i]) != 0;
    int need_names = (s->o.labels && all_seekable) || (!s->have_classes && !s->o.labels);
    lgp_strlist tars = {0}, dirs = {0}, stems = {0}, lines = {0};
    if (need_names && all_seekable) rc = scan_names(s, &tars, &dirs, &stems, &wds);
    lgp_strlist_sort_unique(&stems);
    if (rc == LGP_OK && s->o.labels) {
        rc = lgp_strlist_read_lines(&lines, s->o.labels, s->err, sizeof s->err);
        if (rc == LGP_OK) rc = parse_labels(s, &lines, &stems);
    } else if (rc == LGP_OK && !s->have_classes && all_seekable) {
        lgp_strlist *src = tars.n ? &tars : &dirs;
        lgp_strlist_sort_unique(src);
        for (size_t i = 0; (tars.n || !wds) && i < src->n && rc == LGP_OK; i++)
            if (lgp_strlist_push(&s->classes, src->v[i]) != LGP_OK) rc = oom(s);
        if (rc == LGP_OK && s->classes.n) rc = set_classes(s);
    }
    lgp_strlist *all[] = {&tars, &dirs, &stems, &lines};
    for (size_t k = 0; k < LGP_ARRAY_LEN(all); k++) lgp_strlist_free(all[k]);
    return rc;
}

/* ---- the API ---- */

int lgp_imagesrc_is_idx(const char *p) {
    return strstr(p, "-idx3-") || strstr(p, "idx3-ubyte") || (strcmp(p, "-") != 0 && lgp_idx_sniff(p));
}

int lgp_imagesrc_open(lgp_imagesrc **out, char *const *inputs, int ninputs, const lgp_imagesrc_opts *o,
                      char *err, size_t errlen) {
    lgp_imagesrc *s = calloc(1, sizeof *s);
    if (!s) return snprintf(err, errlen, "out of memory"), LGP_FATAL;
    s->inputs = inputs, s->ninputs = ninputs, s->o = *o;
    int rc = LGP_OK;
    if (o->classes) {
        rc = lgp_strlist_read_lines(&s->classes, o->classes, s->err, sizeof s->err);
        if (rc == LGP_OK) rc = set_classes(s);
    }
    if (rc == LGP_OK) rc = o->idx ? idx_load(s) : prepare_archives(s);
    if (rc != LGP_OK) {
        snprintf(err, errlen, "%s", s->err);
        lgp_imagesrc_close(s);
        return LGP_FATAL;
    }
    *out = s;
    return LGP_OK;
}

int lgp_imagesrc_next(lgp_imagesrc *s, lgp_order_item *it) {
    return s->o.idx ? idx_next(s, it) : archive_next(s, it);
}

const char *lgp_imagesrc_error(const lgp_imagesrc *s) { return s->err; }

void lgp_imagesrc_peek(lgp_imagesrc *s, int on) {
    lgp_imagesrc_rewind(s);
    s->peek = on;
}

void lgp_imagesrc_rewind(lgp_imagesrc *s) {
    if (s->a) lgp_archive_close(s->a);
    s->a = NULL;
    s->input = 0, s->pending = 0, s->next_i = 0;
    group_reset(&s->g);
}

void lgp_imagesrc_close(lgp_imagesrc *s) {
    if (!s) return;
    lgp_imagesrc_rewind(s);
    lgp_strlist *lists[] = {&s->classes, &s->classes_sorted, &s->lab_names, &s->lab_vals};
    for (size_t k = 0; k < LGP_ARRAY_LEN(lists); k++) lgp_strlist_free(lists[k]);
    free(s->class_of_sorted);
    lgp_idx_free(&s->img);
    lgp_idx_free(&s->lab);
    free(s);
}

int lgp_imagesrc_classes(const lgp_imagesrc *s, char *const **names, size_t *n) {
    *names = s->classes.v, *n = s->classes.n;
    return s->have_classes;
}

int64_t lgp_imagesrc_left_out(const lgp_imagesrc *s) { return s->left_out; }

int64_t lgp_imagesrc_count(const lgp_imagesrc *s) { return s->o.idx ? (int64_t)s->img.dims[0] : -1; }

int lgp_imagesrc_idx_get(lgp_imagesrc *s, int64_t i, lgp_order_item *it) {
    LGP_ASSERT(s->o.idx && i >= 0 && i < (int64_t)s->img.dims[0]);
    return idx_item(s, (uint32_t)i, it);
}

int lgp_imagesrc_image_shape(const lgp_imagesrc *s, int64_t shape[3]) {
    if (!s->o.idx) return 0;
    shape[0] = s->img.dims[1], shape[1] = s->img.dims[2], shape[2] = 1;
    return 1;
}
