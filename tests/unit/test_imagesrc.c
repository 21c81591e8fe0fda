/* test_imagesrc.c — images and labels as tar-images reads them, on small archives
 * written here: WebDataset grouping (sidecar before or after its image, .json, a bad
 * sidecar drops its image with one message), ImageFolder classes over two inputs
 * (sorted, shared), --classes order and a class outside it, both labels-file forms,
 * an IDX pair, rewinding, and the fatal cases (a class list that repeats a name, class
 * names with no list). Messages are checked word for word: tar-images prints them. */
#include "common/data/imagesrc.h"
#include "common/lgp.h"
#include "tests/unit/tap.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A tar of (name, bytes) pairs; a NULL name ends the list. */
static void write_tar(const char *path, const char *const *members) {
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_filename(a, path);
    for (size_t i = 0; members[i]; i += 2) {
        struct archive_entry *e = archive_entry_new();
        size_t n = strlen(members[i + 1]);
        archive_entry_set_pathname(e, members[i]);
        archive_entry_set_size(e, (la_int64_t)n);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_write_header(a, e);
        archive_write_data(a, members[i + 1], n);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

/* The whole pass as text: "key=label" per image, "!message" per skip, "X:message" at a
 * fatal error; items are freed. */
static void pass(lgp_imagesrc *s, char *out, size_t cap) {
    lgp_order_item it;
    int rc;
    size_t k = 0;
    out[0] = 0;
    while (k < cap && (rc = lgp_imagesrc_next(s, &it)) != LGP_EOF) {
        if (rc == LGP_OK) {
            k += (size_t)snprintf(out + k, cap - k, "%s=%lld%s ", it.key, (long long)it.label,
                                  strcmp(it.tname, "png") == 0 ? "(png)" : "");
            lgp_order_item_free(&it);
        } else if (rc == LGP_BAD_RECORD) {
            k += (size_t)snprintf(out + k, cap - k, "!%s ", lgp_imagesrc_error(s));
        } else {
            snprintf(out + k, cap - k, "X:%s", lgp_imagesrc_error(s));
            return;
        }
    }
}

static lgp_imagesrc *open_src(char **inputs, int n, const char *labels, const char *classes, char *err) {
    lgp_imagesrc_opts o = {.labels = labels, .classes = classes, .idx = lgp_imagesrc_is_idx(inputs[0])};
    lgp_imagesrc *s = NULL;
    if (lgp_imagesrc_open(&s, inputs, n, &o, err, 512) != LGP_OK) return NULL;
    return s;
}

static void test_webdataset(void) {
    static const char png[] = "\x89PNG\r\n\x1a\nrest";
    const char *m[] = {"a.jpg", "A", "a.cls", "2\n", "b.cls", "1", "b.png", png, "c.jpg", "C", "c.json", "{\"label\": 0}",
                       "d.jpg", "D", "d.cls", "-5\n", "e.cls", "0", "e.jpg", "E", "e.json", "{\"label\": 3}", "f.jpg", "F",
                       NULL};
    write_tar("w.tar", m);
    char *in[] = {"w.tar"}, err[512], got[2048];
    lgp_imagesrc *s = open_src(in, 1, NULL, NULL, err);
    ok(s != NULL, "WebDataset archive opens");
    if (!s) return;
    pass(s, got, sizeof got);
    is_str(got, "a=2 b=1(png) c=0 !w.tar: d.cls: bad label '-5': negative (skipped) e=0 f=-1 ",
           "groups by adjacent key, sidecar before or after, .cls wins over a later .json, bad sidecar drops its image");
    char *const *names;
    size_t nc;
    ok(!lgp_imagesrc_classes(s, &names, &nc), "index labels only: no class list");
    int64_t shape[3];
    ok(lgp_imagesrc_count(s) == -1 && !lgp_imagesrc_image_shape(s, shape), "archives announce no count, no shape");
    lgp_imagesrc_rewind(s);
    char again[2048];
    pass(s, again, sizeof again);
    is_str(again, got, "rewind: the same pass again");
    lgp_imagesrc_close(s);
}

static void test_folders(void) {
    const char *m1[] = {"train/dog/x.jpg", "X", "train/cat/y.jpg", "Y", NULL}, *m2[] = {"train/emu/z.jpg", "Z", NULL};
    write_tar("f1.tar", m1);
    write_tar("f2.tar", m2);
    char *in[] = {"f1.tar", "f2.tar"}, err[512], got[2048];
    lgp_imagesrc *s = open_src(in, 2, NULL, NULL, err);
    ok(s != NULL, "ImageFolder archives open");
    if (!s) return;
    pass(s, got, sizeof got);
    is_str(got, "train/dog/x=1 train/cat/y=0 train/emu/z=2 ", "label = folder, classes sorted over both inputs");
    char *const *names;
    size_t nc;
    ok(lgp_imagesrc_classes(s, &names, &nc) && nc == 3 && !strcmp(names[0], "cat") && !strcmp(names[2], "emu"),
       "class list cat dog emu");
    lgp_imagesrc_close(s);

    write_file("two.txt", "emu\ncat\n", 8);
    s = open_src(in, 2, NULL, "two.txt", err);
    if (!s) return;
    pass(s, got, sizeof got);
    is_str(got, "!f1.tar: train/dog/x: class 'dog' is not in the class list (skipped) train/cat/y=1 train/emu/z=0 ",
           "--classes: line order is the index, a class outside it is skipped with one message");
    lgp_imagesrc_close(s);

    write_file("dup.txt", "cat\ndog\ncat\n", 12);
    s = open_src(in, 2, NULL, "dup.txt", err);
    ok(s == NULL && strcmp(err, "dup.txt: class 'cat' listed twice") == 0, "a class listed twice: '%s'", err);
}

static void test_labels_file(void) {
    const char *m[] = {"val/q.JPEG", "Q", "val/p.JPEG", "P", "val/r.JPEG", "R", NULL};
    write_tar("flat.tar", m);
    write_file("pairs.txt", "q.JPEG 1\np 0\nr -2\n", 18);
    char *in[] = {"flat.tar"}, err[512], got[2048];
    lgp_imagesrc *s = open_src(in, 1, "pairs.txt", NULL, err);
    ok(s != NULL, "flat archive with 'name label' lines opens");
    if (!s) return;
    pass(s, got, sizeof got);
    is_str(got, "val/q=1 val/p=0 !flat.tar: val/r: bad label '-2' in pairs.txt: negative (skipped) ",
           "'name label' lines, name with or without extension; a bad value names the labels file");
    lgp_imagesrc_close(s);

    write_file("ids.txt", "1\n0\n2\n", 6);
    s = open_src(in, 1, "ids.txt", NULL, err);
    if (!s) return;
    pass(s, got, sizeof got);
    is_str(got, "val/q=0 val/p=1 val/r=2 ", "one label per line: the images in sorted name order (p q r)");
    lgp_imagesrc_close(s);

    write_file("short.txt", "1\n0\n", 4);
    s = open_src(in, 1, "short.txt", NULL, err);
    is_str(err, "short.txt: 2 labels for 3 images (one label per line needs exactly one per image, in sorted name order)",
           "one per line with the wrong count is fatal");
    write_file("names.txt", "p cat\nq dog\nr cat\n", 18);
    s = open_src(in, 1, "names.txt", NULL, err);
    if (!s) return;
    pass(s, got, sizeof got);
    is_str(got, "val/q=1 val/p=0 val/r=0 ", "class names in the labels file: sorted, cat = 0, dog = 1");
    lgp_imagesrc_close(s);
}

static void test_fatal_names(void) {
    const char *m[] = {"k0.cls", "cat\n", "k0.jpg", "K", NULL};
    write_tar("named.tar", m);
    char *in[] = {"named.tar"}, err[512], got[2048];
    lgp_imagesrc *s = open_src(in, 1, NULL, NULL, err);
    if (!s) return;
    pass(s, got, sizeof got);
    is_str(got, "X:named.tar: labels are class names but there is no class list: pass --classes FILE",
           "a class name in .cls with no class list is fatal and says what to pass");
    lgp_imagesrc_close(s);
}

static void test_idx(void) {
    static const uint8_t img[] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    static const uint8_t lab[] = {0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9};
    write_file("t-images-idx3-ubyte", img, sizeof img);
    write_file("t-labels-idx1-ubyte", lab, sizeof lab);
    char *in[] = {"t-images-idx3-ubyte"}, err[512];
    lgp_imagesrc *s = open_src(in, 1, NULL, NULL, err);
    ok(s != NULL, "IDX pair opens, labels file derived from the name (%s)", s ? "" : err);
    if (!s) return;
    int64_t shape[3];
    ok(lgp_imagesrc_count(s) == 3 && lgp_imagesrc_image_shape(s, shape) && shape[0] == 2 && shape[1] == 2 && shape[2] == 1,
       "count 3, image_shape [2, 2, 1]");
    lgp_order_item it;
    int good = 1;
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof key, "t-%05d", i);
        good &= lgp_imagesrc_next(s, &it) == LGP_OK && !strcmp(it.key, key) && it.label == lab[8 + i] && it.borrowed &&
                it.size == 4 && it.data[0] == 1 + 4 * i && !strcmp(it.tname, "image");
        lgp_order_item_free(&it);
    }
    ok(good, "keys t-00000.., labels, 4 borrowed pixels each");
    ok(lgp_imagesrc_next(s, &it) == LGP_EOF, "then the end of the pass");
    char *const *names;
    size_t nc;
    ok(lgp_imagesrc_classes(s, &names, &nc) && nc == 10 && !strcmp(names[9], "9"), "classes '0'..'9'");
    lgp_imagesrc_close(s);
}

int main(void) {
    char dir[] = "/tmp/lgp-imagesrc-XXXXXX";
    if (!mkdtemp(dir) || chdir(dir) != 0) return printf("not ok 1 - temp dir\n"), 1;
    test_webdataset();
    test_folders();
    test_labels_file();
    test_fatal_names();
    test_idx();
    const char *files[] = {"w.tar", "f1.tar", "f2.tar", "two.txt", "dup.txt", "flat.tar", "pairs.txt", "ids.txt",
                           "short.txt", "names.txt", "named.tar", "t-images-idx3-ubyte", "t-labels-idx1-ubyte"};
    for (size_t i = 0; i < LGP_ARRAY_LEN(files); i++) unlink(files[i]);
    if (chdir("/") == 0) rmdir(dir);
    return done_testing();
}
