/* test_probe_fixture.c — embedding-stream fixtures for lgp-probe's pipeline tests.
 *
 *   test_probe_fixture                      TAP self-test: write a stream, read it back
 *   test_probe_fixture write IN.st PREFIX [K]
 *       turns probe_ref.py's "embed" safetensors (Xtr, ytr, Xte, yte) into
 *       PREFIX-train.lgps and PREFIX-test.lgps: one record per row, key
 *       "train/000123" / "test/000123", 'feature' f32 [C], 'label' i64 0-d; with K the
 *       header carries "classes": ["c0", ..., "cK-1"]. */
#include "common/lgp.h"
#include "formats/safetensors.h"
#include "formats/stream.h"
#include "tests/unit/tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_split(const char *path, const char *prefix, const float *X, const int64_t *y,
                       size_t n, size_t C, int K) {
    char meta[65536] = "{\"producer\":\"test_probe_fixture\"", err[512], key[64];
    if (K > 0) {
        strcat(meta, ",\"classes\":[");
        for (int k = 0; k < K && strlen(meta) < sizeof meta - 64; k++)
            snprintf(meta + strlen(meta), sizeof meta - strlen(meta), "%s\"c%d\"", k ? "," : "", k);
        strcat(meta, "]");
    }
    strcat(meta, "}");
    lgp_writer_opts wo = LGP_WRITER_OPTS_DEFAULT;
    lgp_writer *w;
    if (lgp_writer_open(&w, path, &wo, meta, err, sizeof err) != LGP_OK) return fprintf(stderr, "%s\n", err), -1;
    lgp_record rec;
    lgp_record_init(&rec);
    int64_t shape[1] = {(int64_t)C};
    for (size_t i = 0; i < n; i++) {
        lgp_record_clear(&rec);
        snprintf(key, sizeof key, "%s/%06zu", prefix, i);
        lgp_record_set_key(&rec, key);
        lgp_record_put(&rec, "feature", LGP_DT_F32, 1, shape, X + i * C, C * sizeof *X, LGP_BORROW);
        lgp_record_put_i64(&rec, "label", y[i]);
        if (lgp_writer_write(w, &rec) != LGP_OK) return fprintf(stderr, "%s\n", lgp_writer_error(w)), -1;
    }
    lgp_record_free(&rec);
    if (lgp_writer_finish(w, err, sizeof err) != LGP_OK) return fprintf(stderr, "%s\n", err), -1;
    return 0;
}

static int cmd_write(const char *in, const char *prefix, int K) {
    lgp_record st;
    lgp_record_init(&st);
    char err[512], path[4096];
    if (lgp_st_load(in, &st, NULL, err, sizeof err) != LGP_OK) return fprintf(stderr, "%s\n", err), 1;
    const char *sp[2] = {"train", "test"}, *xn[2] = {"Xtr", "Xte"}, *yn[2] = {"ytr", "yte"};
    for (int s = 0; s < 2; s++) {
        const lgp_tensor *x = lgp_record_get(&st, xn[s]), *y = lgp_record_get(&st, yn[s]);
        if (!x || !y || x->dtype != LGP_DT_F32 || y->dtype != LGP_DT_I64 || x->ndim != 2)
            return fprintf(stderr, "%s: want %s f32 [n, C] and %s i64 [n]\n", in, xn[s], yn[s]), 1;
        snprintf(path, sizeof path, "%s-%s.lgps", prefix, sp[s]);
        if (write_split(path, sp[s], x->data, y->data, (size_t)x->shape[0], (size_t)x->shape[1], K)) return 1;
    }
    lgp_record_free(&st);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "write") == 0) return cmd_write(argv[2], argv[3], argc > 4 ? atoi(argv[4]) : 0);
    /* Self-test: a written split reads back with the same keys, features and labels. */
    char path[] = "/tmp/lgp-probe-fixture-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    float X[3 * 2] = {1, 2, 3, 4, 5, 6};
    int64_t y[3] = {2, 0, 1};
    is_int(write_split(path, "train", X, y, 3, 2, 3), 0, "fixture stream written");
    lgp_reader *r;
    char err[512];
    is_int(lgp_reader_open(&r, path, err, sizeof err), LGP_OK, "fixture stream opens");
    ok(strstr(lgp_reader_meta(r), "\"classes\":[\"c0\",\"c1\",\"c2\"]") != NULL, "header lists the classes: %s", lgp_reader_meta(r));
    lgp_record rec;
    lgp_record_init(&rec);
    int good = 0;
    char last[64] = "";
    for (int i = 0; i < 3; i++) {
        int64_t lab = -1;
        if (lgp_reader_next(r, &rec) != LGP_OK) break;
        const lgp_tensor *f = lgp_record_get(&rec, "feature");
        lgp_tensor_get_int(lgp_record_get(&rec, "label"), &lab);
        snprintf(last, sizeof last, "%s", rec.key);
        good += f && f->ndim == 1 && f->shape[0] == 2 && memcmp(f->data, X + 2 * i, 8) == 0 && lab == y[i];
    }
    is_int(good, 3, "three records read back intact");
    is_int(lgp_reader_next(r, &rec), LGP_EOF, "then the end record");
    is_str(last, "train/000002", "keys are prefix/index");
    lgp_record_free(&rec);
    lgp_reader_close(r);
    unlink(path);
    return done_testing();
}
