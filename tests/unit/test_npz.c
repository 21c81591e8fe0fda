/* test_npz.c — the .npz writer read back byte by byte: ZIP local headers (sizes, the
 * CRC-32 against zlib's), .npy preambles (version, 64-byte alignment, the header dict),
 * the data, fixed-width unicode text with multi-byte and invalid UTF-8, the central
 * directory and end record, the ZIP64 layout under LGP_NPZ_ZIP64; bf16 refused, an
 * aborted file leaves nothing; and the stack of records (formats/stack.h): shapes,
 * text columns, and the record named on a mismatch.
 *
 *   test_npz --write DIR   writes DIR/plain.npz and DIR/zip64.npz for t1200, where
 *                          NumPy loads them (same arrays as below). */
#include "formats/le.h"
#include "formats/npz.h"
#include "formats/stack.h"
#include "tap.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const float f23[6] = {1.5f, -2, 0.25f, 1e-30f, 3e30f, -0.0f};
static const int64_t i0 = -1234567890123LL;
/* "a", "é漢", an emoji, and an invalid byte: 1, 2, 1 and 2 code points */
static const char text[] = "a" "\xc3\xa9\xe6\xbc\xa2" "\xf0\x9f\x98\x80" "x\xff";
static const uint64_t offs[5] = {0, 1, 6, 10, 12};

static int write_npz(const char *path, unsigned flags, char *err, size_t errlen) {
    lgp_npz *z;
    if (lgp_npz_open(&z, path, flags, err, errlen) != LGP_OK) return LGP_FATAL;
    int64_t s23[2] = {2, 3}, s4[1] = {4};
    if (lgp_npz_add(z, "feature", LGP_DT_F32, 2, s23, f23, sizeof f23, err, errlen) != LGP_OK ||
        lgp_npz_add(z, "label", LGP_DT_I64, 0, NULL, &i0, sizeof i0, err, errlen) != LGP_OK ||
        lgp_npz_add_text(z, "key", 1, s4, text, offs, err, errlen) != LGP_OK) {
        lgp_npz_abort(z);
        return LGP_FATAL;
    }
    return lgp_npz_close(z, err, errlen);
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = malloc(1 << 16);
    *len = fread(b, 1, 1 << 16, f);
    fclose(f);
    return b;
}

/* One member at *at: checks its local header and .npy header, returns the data. */
static const unsigned char *member(const unsigned char *b, size_t *at, const char *name, const char *dict,
                                   size_t nbytes, int zip64) {
    const unsigned char *h = b + *at;
    is_int(lgp_rd32(h), 0x04034b50, "%s: local header signature", name);
    size_t nl = lgp_rd16(h + 26), xl = lgp_rd16(h + 28);
    ok(nl == strlen(name) + 4 && memcmp(h + 30, name, strlen(name)) == 0 && memcmp(h + 30 + strlen(name), ".npy", 4) == 0,
       "%s: member name '%s.npy'", name, name);
    uint64_t size = lgp_rd32(h + 22);
    if (zip64) {
        ok(xl == 20 && lgp_rd16(h + 30 + nl) == 1 && size == 0xFFFFFFFFu, "%s: ZIP64 extra field in the local header", name);
        size = lgp_rd64(h + 30 + nl + 4);
    } else
        is_int(xl, 0, "%s: no extra field", name);
    const unsigned char *m = h + 30 + nl + xl;
    is_int(lgp_rd32(h + 14), crc32(0, m, (uInt)size), "%s: CRC-32 matches zlib's", name);
    ok(memcmp(m, "\x93NUMPY\x01\x00", 8) == 0, "%s: .npy magic, version 1.0", name);
    size_t hl = lgp_rd16(m + 8);
    is_int((10 + hl) % 64, 0, "%s: data 64-byte aligned", name);
    ok(hl > strlen(dict) && memcmp(m + 10, dict, strlen(dict)) == 0 && m[10 + hl - 1] == '\n', "%s: header %s", name, dict);
    is_int(size, 10 + hl + nbytes, "%s: member size", name);
    *at += 30 + nl + xl + size;
    return m + 10 + hl;
}

static void test_layout(const char *dir, unsigned flags) {
    char path[512], err[512] = "";
    snprintf(path, sizeof path, "%s/%s.npz", dir, flags ? "zip64" : "plain");
    int zip64 = flags & LGP_NPZ_ZIP64;
    ok(write_npz(path, flags, err, sizeof err) == LGP_OK, "%s: written (%s)", path, err);
    size_t len = 0, at = 0;
    unsigned char *b = slurp(path, &len);
    if (!b) return;
    const unsigned char *d = member(b, &at, "feature", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24, zip64);
    ok(memcmp(d, f23, 24) == 0, "feature: data");
    d = member(b, &at, "label", "{'descr': '<i8', 'fortran_order': False, 'shape': (), }", 8, zip64);
    is_int((int64_t)lgp_rd64(d), i0, "label: data");
    d = member(b, &at, "key", "{'descr': '<U2', 'fortran_order': False, 'shape': (4,), }", 32, zip64);
    static const uint32_t want[8] = {'a', 0, 0xE9, 0x6F22, 0x1F600, 0, 'x', 0xFFFD};
    int same = 1;
    for (int i = 0; i < 8; i++) same &= lgp_rd32(d + 4 * i) == want[i];
    ok(same, "key: UTF-32LE, zero-padded to the widest, U+FFFD for a bad byte");
    is_int(lgp_rd32(b + at), 0x02014b50, "central directory after the members");
    size_t eocd = len - 22;
    is_int(lgp_rd32(b + eocd), 0x06054b50, "end record at the end");
    is_int(lgp_rd16(b + eocd + 10), 3, "end record counts 3 members");
    if (zip64) {
        is_int(lgp_rd32(b + eocd - 20), 0x07064b50, "ZIP64 locator before the end record");
        uint64_t e64 = lgp_rd64(b + eocd - 12);
        is_int(lgp_rd32(b + e64), 0x06064b50, "ZIP64 end record where the locator says");
        is_int(lgp_rd64(b + e64 + 48), at, "ZIP64 end record: central directory offset");
    } else
        is_int(lgp_rd32(b + eocd + 16), at, "end record: central directory offset");
    free(b);
}

static void test_refusals(const char *dir) {
    char path[512], err[512] = "";
    snprintf(path, sizeof path, "%s/refused.npz", dir);
    lgp_npz *z;
    ok(lgp_npz_open(&z, path, 0, err, sizeof err) == LGP_OK, "open");
    int64_t s[1] = {2};
    uint16_t bf[2] = {0x3f80, 0};
    ok(lgp_npz_add(z, "w", LGP_DT_BF16, 1, s, bf, 4, err, sizeof err) == LGP_FATAL && strstr(err, "bf16"),
       "bf16 refused (%s)", err);
    lgp_npz_abort(z);
    ok(access(path, F_OK) != 0, "an aborted file leaves nothing");
    snprintf(path, sizeof path, "%s/no/such/dir/x.npz", dir);
    ok(lgp_npz_open(&z, path, 0, err, sizeof err) == LGP_FATAL && strstr(err, "cannot write"), "missing folder refused (%s)", err);
}

static void put(lgp_record *r, const char *key, int64_t n, const char *cap) {
    float v[3] = {1, 2, 3};
    lgp_record_clear(r);
    lgp_record_set_key(r, key);
    lgp_record_put_i64(r, "label", n);
    lgp_record_put(r, "feature", LGP_DT_F32, 1, &n, v, 4 * (size_t)n, LGP_COPY);
    lgp_record_put_str(r, "caption", LGP_DT_STR, cap);
}

static void test_stack(void) {
    lgp_stack s;
    lgp_stack_init(&s);
    lgp_record r;
    lgp_record_init(&r);
    char err[512];
    put(&r, "a", 3, "x");
    ok(lgp_stack_add(&s, &r, err, sizeof err) == LGP_OK, "first record");
    put(&r, "bb", 3, "longer text");
    ok(lgp_stack_add(&s, &r, err, sizeof err) == LGP_OK, "second record: text of another length is fine");
    is_int(s.n, 2, "two records");
    is_int(s.ncol, 3, "three columns");
    is_int(s.col[1].len, 24, "feature: [2, 3] f32");
    ok(s.col[2].text && s.col[2].offs[2] == 12, "caption: a text column");
    ok(s.key.offs[1] == 1 && s.key.offs[2] == 3 && memcmp(s.key.data, "abb", 3) == 0, "keys back to back");
    put(&r, "c", 2, "y");
    ok(lgp_stack_add(&s, &r, err, sizeof err) == LGP_FATAL, "another shape refused");
    is_str(err, "record 2 'c': tensor 'feature' is f32 [2], the first record's is f32 [3] (arrays need one shape)", "the message names the record");
    lgp_record_remove(&r, "feature");
    ok(lgp_stack_add(&s, &r, err, sizeof err) == LGP_FATAL && strstr(err, "no tensor 'feature'"), "a missing tensor refused (%s)", err);
    put(&r, "d", 3, "z");
    lgp_record_put_i64(&r, "extra", 1);
    ok(lgp_stack_add(&s, &r, err, sizeof err) == LGP_FATAL && strstr(err, "'extra' is not in the first record"), "an extra tensor refused (%s)", err);
    is_int(s.n, 2, "refused records leave the stack as it was");
    lgp_record_free(&r);
    lgp_stack_free(&s);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        char err[512], path[512];
        for (unsigned f = 0; f < 2; f++) {
            snprintf(path, sizeof path, "%s/%s.npz", argv[2], f ? "zip64" : "plain");
            if (write_npz(path, f ? LGP_NPZ_ZIP64 : 0, err, sizeof err) != LGP_OK) return fprintf(stderr, "%s\n", err), 1;
        }
        return 0;
    }
    char dir[] = "/tmp/lgp-test-npz.XXXXXX";
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    test_layout(dir, 0);
    test_layout(dir, LGP_NPZ_ZIP64);
    test_refusals(dir);
    test_stack();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
    return done_testing();
}
