/* test_stream.c — stream round trips (every dtype, 0-d, empty, large; raw and zstd),
 * pass-through, concatenation, and damage: truncation at every offset and byte flips
 * must always end in an error, never in a clean end of stream. */
#include "formats/stream.h"
#include "tap.h"

#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

static char dir[] = "/tmp/lgp-test-stream.XXXXXX";
static char path[256];

static void make_record(lgp_record *r, int i, size_t big) {
    lgp_record_clear(r);
    char key[32];
    snprintf(key, sizeof key, "sample-%d", i);
    lgp_record_set_key(r, key);
    uint8_t u8[6] = {1, 2, 3, 4, 5, (uint8_t)i};
    int64_t s23[2] = {2, 3}, s0[1] = {0}, s6[1] = {6};
    lgp_record_put(r, "image", LGP_DT_U8, 2, s23, u8, 6, LGP_COPY);
    lgp_record_put_i64(r, "label", i);
    lgp_record_put(r, "empty", LGP_DT_F32, 1, s0, NULL, 0, LGP_COPY);
    int8_t i8[6] = {-1, 2, -3, 4, -5, 6};
    lgp_record_put(r, "i8", LGP_DT_I8, 1, s6, i8, 6, LGP_COPY);
    int32_t i32[6] = {-100000, 1, 2, 3, 4, i};
    lgp_record_put(r, "i32", LGP_DT_I32, 2, s23, i32, 24, LGP_COPY);
    uint16_t h[6] = {0x3c00, 0x4000, 0xc000, 0, 1, 0x7bff};
    lgp_record_put(r, "f16", LGP_DT_F16, 1, s6, h, 12, LGP_COPY);
    lgp_record_put(r, "bf16", LGP_DT_BF16, 1, s6, h, 12, LGP_COPY);
    double f64[6] = {1e300, -2.5, 0, 3, 4, 5};
    lgp_record_put(r, "f64", LGP_DT_F64, 2, s23, f64, 48, LGP_COPY);
    lgp_record_put_str(r, "text", LGP_DT_STR, "héllo");
    lgp_record_put_str(r, "meta", LGP_DT_JSON, "{\"a\":[1,2]}");
    if (big) {
        int64_t sb[1] = {(int64_t)big};
        float *f = malloc(big * 4);
        for (size_t k = 0; k < big; k++) f[k] = (float)k * 0.5f + (float)i;
        lgp_record_put(r, "big", LGP_DT_F32, 1, sb, f, big * 4, LGP_COPY);
        free(f);
    }
}

static int same_record(const lgp_record *a, const lgp_record *b) {
    if (strcmp(a->key, b->key) || a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++) {
        const lgp_tensor *x = &a->t[i], *y = lgp_record_get(b, x->name);
        if (!y || x->dtype != y->dtype || x->ndim != y->ndim || x->nbytes != y->nbytes) return 0;
        for (int d = 0; d < x->ndim; d++)
            if (x->shape[d] != y->shape[d]) return 0;
        if (x->nbytes && memcmp(x->data, y->data, x->nbytes)) return 0;
    }
    return 1;
}

static void write_stream(const char *p, int compress, int n, size_t big, const char *meta, int append) {
    lgp_writer_opts o = {compress, 3, 0};
    lgp_writer *w;
    char err[512];
    int fd = open(p, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
    LGP_ASSERT(fd >= 0);
    LGP_ASSERT(lgp_writer_open_fd(&w, fd, p, &o, meta, err, sizeof err) == LGP_OK);
    lgp_record r;
    lgp_record_init(&r);
    for (int i = 0; i < n; i++) {
        make_record(&r, i, big);
        LGP_ASSERT(lgp_writer_write(w, &r) == LGP_OK);
    }
    LGP_ASSERT(lgp_writer_finish(w, err, sizeof err) == LGP_OK);
    lgp_record_free(&r);
    close(fd);
}

/* Reads every stream in p; returns the last return code; *good counts good records. */
static int read_all(const char *p, int *good, int check, size_t big, char *err, size_t errlen) {
    lgp_reader *r;
    *good = 0;
    if (lgp_reader_open(&r, p, err, errlen) != LGP_OK) return LGP_FATAL;
    lgp_record rec, want;
    lgp_record_init(&rec);
    lgp_record_init(&want);
    int rc, bad = 0;
    do {
        while ((rc = lgp_reader_next(r, &rec)) == LGP_OK || rc == LGP_BAD_RECORD) {
            if (rc == LGP_BAD_RECORD) { bad = 1; continue; }
            if (check) {
                make_record(&want, (int)lgp_reader_index(r) - 1, big);
                if (!same_record(&rec, &want)) bad = 1;
            }
            (*good)++;
        }
        if (rc != LGP_EOF) break;
    } while ((rc = lgp_reader_next_stream(r)) == LGP_OK);
    snprintf(err, errlen, "%s", lgp_reader_error(r));
    lgp_reader_close(r);
    lgp_record_free(&rec);
    lgp_record_free(&want);
    return rc == LGP_EOF && bad ? LGP_BAD_RECORD : rc;
}

static void test_round_trip(void) {
    char err[512];
    int good;
    for (int c = 0; c < 2; c++) {
        write_stream(path, c, 5, 0, "{\"classes\":[\"a\",\"b\"]}", 0);
        is_int(read_all(path, &good, 1, 0, err, sizeof err), LGP_EOF, "%s round trip ends cleanly", c ? "zstd" : "raw");
        is_int(good, 5, "%s: 5 records identical", c ? "zstd" : "raw");
        write_stream(path, c, 2, 3u << 20, NULL, 0); /* 12 MiB tensors */
        is_int(read_all(path, &good, 1, 3u << 20, err, sizeof err), LGP_EOF, "%s large tensors", c ? "zstd" : "raw");
        is_int(good, 2, "%s: large records identical", c ? "zstd" : "raw");
        write_stream(path, c, 0, 0, NULL, 0);
        is_int(read_all(path, &good, 1, 0, err, sizeof err), LGP_EOF, "%s empty stream is valid", c ? "zstd" : "raw");
    }
    lgp_reader *r;
    write_stream(path, 1, 1, 0, "{\"x\":1}", 0);
    LGP_ASSERT(lgp_reader_open(&r, path, err, sizeof err) == LGP_OK);
    is_str(lgp_reader_meta(r), "{\"x\":1}", "header metadata survives");
    lgp_reader_close(r);
}

static void test_concat(void) {
    char err[512];
    int good;
    write_stream(path, 0, 3, 0, NULL, 0);
    write_stream(path, 1, 3, 0, NULL, 1);
    write_stream(path, 0, 3, 0, NULL, 1);
    is_int(read_all(path, &good, 1, 0, err, sizeof err), LGP_EOF, "raw+zstd+raw concatenation reads cleanly");
    is_int(good, 9, "all 9 records of 3 concatenated streams");
}

static unsigned char *slurp(const char *p, size_t *n) {
    FILE *f = fopen(p, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*n);
    LGP_ASSERT(fread(b, 1, *n, f) == *n);
    fclose(f);
    return b;
}

static void spit(const char *p, const unsigned char *b, size_t n) {
    FILE *f = fopen(p, "wb");
    LGP_ASSERT(fwrite(b, 1, n, f) == n);
    fclose(f);
}

/* Every proper prefix must fail with LGP_FATAL; every single-byte flip must produce an
 * error (fatal or bad record), never a clean end with the same records. */
static void test_damage(int compress) {
    char err[512], dpath[300];
    int good;
    write_stream(path, compress, 4, 0, "{\"k\":\"v\"}", 0);
    size_t n;
    unsigned char *b = slurp(path, &n);
    snprintf(dpath, sizeof dpath, "%s/damaged", dir);
    int trunc_ok = 1, flip_ok = 1, benign = 0;
    for (size_t cut = 0; cut < n; cut++) {
        spit(dpath, b, cut);
        if (read_all(dpath, &good, 0, 0, err, sizeof err) != LGP_FATAL) {
            trunc_ok = 0;
            printf("# truncation at %zu of %zu not detected\n", cut, n);
        }
    }
    ok(trunc_ok, "%s: all %zu truncations give a fatal error", compress ? "zstd" : "raw", n);
    for (size_t at = 0; at < n; at++) {
        for (int bit = 0; bit < 8; bit += 3) {
            b[at] ^= (unsigned char)(1u << bit);
            spit(dpath, b, n);
            int rc = read_all(dpath, &good, 1, 0, err, sizeof err);
            b[at] ^= (unsigned char)(1u << bit);
            /* read_all compared every record with the original: a clean end means the
             * decoded bytes are identical. In raw mode that must never happen; in zstd a
             * few flips (window-size field, unused bits) change no decoded byte. */
            if (rc == LGP_EOF && !compress) {
                flip_ok = 0;
                printf("# flip of bit %d at byte %zu not detected\n", bit, at);
            }
            benign += rc == LGP_EOF;
        }
    }
    ok(flip_ok, "%s: every bit flip in %zu bytes detected or harmless (%d left the data unchanged)",
       compress ? "zstd" : "raw", n, benign);
    /* A message names the input and the place. */
    spit(dpath, b, n - 3);
    read_all(dpath, &good, 0, 0, err, sizeof err);
    ok(strstr(err, dpath) && strstr(err, "truncated"), "truncation message names file: %s", err);
    free(b);
}

static void test_bad_inputs(void) {
    char err[512];
    int good;
    spit(path, (const unsigned char *)"", 0);
    is_int(read_all(path, &good, 0, 0, err, sizeof err), LGP_FATAL, "empty file is an error");
    ok(strstr(err, "empty") != NULL, "empty: %s", err);
    spit(path, (const unsigned char *)"GIF89a....", 10);
    is_int(read_all(path, &good, 0, 0, err, sizeof err), LGP_FATAL, "wrong magic is an error");
    ok(strstr(err, "not an lgp stream") != NULL, "magic: %s", err);
    /* A record claiming a 10^15-element tensor: framing intact, so a bad record. */
    lgp_record r;
    lgp_record_init(&r);
    int64_t s[1] = {4};
    lgp_record_set_key(&r, "x");
    float f[4] = {0};
    lgp_record_put(&r, "t", LGP_DT_F32, 1, s, f, 16, LGP_COPY);
    r.t[0].shape[0] = 1000000000000000LL; /* lie about the shape */
    lgp_writer *w;
    int fd = open(path, O_WRONLY | O_TRUNC);
    lgp_writer_opts o = {0, 0, 0};
    lgp_writer_open_fd(&w, fd, path, &o, NULL, err, sizeof err);
    lgp_writer_write(w, &r);
    lgp_writer_finish(w, err, sizeof err);
    close(fd);
    r.t[0].shape[0] = 4;
    is_int(read_all(path, &good, 0, 0, err, sizeof err), LGP_BAD_RECORD, "absurd shape rejected without allocating");
    ok(strstr(err, "larger than the record") != NULL || strstr(err, "do not match") != NULL, "shape: %s", err);
    lgp_record_free(&r);
    /* A raw stream claiming a 1 TiB record body ends as truncated, not as a 1 TiB malloc. */
    unsigned char hdr[512] = {0};
    write_stream(path, 0, 0, 0, NULL, 0);
    size_t n;
    unsigned char *b = slurp(path, &n);
    memcpy(hdr, b, n - 16);
    memcpy(hdr + n - 16, "LREC\0\0\0\0\0\1\0\0", 12);
    spit(path, hdr, n - 16 + 12 + 100);
    is_int(read_all(path, &good, 0, 0, err, sizeof err), LGP_FATAL, "lying record length gives truncated");
    free(b);
}

static void test_record_api(void) {
    lgp_record r, c;
    lgp_record_init(&r);
    lgp_record_init(&c);
    make_record(&r, 7, 0);
    int64_t v = 0;
    ok(lgp_tensor_get_int(lgp_record_get(&r, "label"), &v) == LGP_OK && v == 7, "label reads back");
    float x = 1;
    int64_t s1[1] = {1};
    is_int(lgp_record_put(&r, "label", LGP_DT_F32, 1, s1, &x, 4, LGP_COPY), LGP_OK, "replace a tensor");
    is_int(lgp_record_get(&r, "label")->dtype, LGP_DT_F32, "replaced dtype");
    is_int(lgp_record_put(&r, "bad", LGP_DT_F32, 1, s1, &x, 8, LGP_COPY), LGP_FATAL, "nbytes mismatch refused");
    is_int(lgp_record_remove(&r, "image"), LGP_OK, "remove");
    ok(lgp_record_get(&r, "image") == NULL, "removed tensor gone");
    lgp_record_copy(&c, &r);
    ok(same_record(&c, &r), "deep copy equal");
    is_int(lgp_dtype_from_name("bf16"), LGP_DT_BF16, "dtype name table");
    lgp_record_free(&r);
    lgp_record_free(&c);
}

int main(void) {
    LGP_ASSERT(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.lgps", dir);
    test_record_api();
    test_round_trip();
    test_concat();
    test_bad_inputs();
    test_damage(0);
    test_damage(1);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {}
    return done_testing();
}
