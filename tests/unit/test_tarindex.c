/* test_tarindex.c — formats/tarindex.h on tars written here byte by byte (ustar, GNU
 * long names and base-256 sizes, pax path and size, v7 trailing-slash directories,
 * tar of tars) and by libarchive's writers (pax, gnutar, ustar, v7): every member's
 * name, inner stem and size, its bytes read back by position (lgp_tarindex_read) at
 * the reported offset, and the same sequence and bytes from formats/archive.h
 * (libarchive, NESTED). Then what is not a plain tar (LGP_EOF), damage to the outer
 * tar (LGP_FATAL naming the path and byte), and damaged inner tars (counted, the walk
 * goes on). Zips written here byte by byte (stored and deflated members, directory
 * entries, subfolders, data descriptors, local extra fields unlike the central ones,
 * ZIP64 fields and end records, more than 65535 entries, a self-extracting stub, MS-DOS
 * and UTF-8 names, symlinks, an inner tar, the central directory in another order than
 * the data): the same members as archive.c, each one's bytes read back (deflated ones
 * inflated); what falls back (LGP_EOF: encrypted, another method, a deflated inner
 * tar) and what is damage (LGP_FATAL). Last, the
 * listing of a directory (strcmp order of relative paths, hidden names skipped,
 * symlinks to files followed, to folders not, dangling ones listed, .tar files not
 * descended) and formats/archive.h reading a directory through it (names, bytes,
 * an unreadable file as LGP_BAD_RECORD, LGP_ARCHIVE_NAMES_ONLY and _PEEK, the 1 GiB
 * limit). */
#include "formats/tarindex.h"
#include "formats/archive.h"
#include "common/lgp.h"
#include "tests/unit/tap.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <zlib.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ---- a tar writer: headers with correct (or deliberately wrong) checksums ---- */

typedef struct { uint8_t *p; size_t n, cap; } buf;

static void put(buf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 4096;
        b->p = realloc(b->p, b->cap);
        LGP_ASSERT(b->p);
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void pad(buf *b) {
    static const uint8_t z[512];
    put(b, z, (512 - b->n % 512) % 512);
}

static void fill(uint8_t *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 8));
}

enum { F_GNU = 1, F_B256 = 2, F_BADSUM = 4, F_NEG = 8, F_SIGNED = 16, F_V7 = 32 };

/* One header block: name (cut at 100), prefix (ustar only), type, size field. */
static void header(buf *b, const char *name, const char *prefix, char type, uint64_t size, int flags) {
    uint8_t h[512] = {0};
    memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0000000", 8);
    memcpy(h + 116, "0000000", 8);
    if (flags & (F_B256 | F_NEG)) {
        h[124] = 0x80;
        for (int i = 11; i >= 1; i--, size >>= 8) h[124 + i] = (uint8_t)size;
        if (flags & F_NEG) memset(h + 124, 0xff, 12);
    } else snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
    memcpy(h + 136, "14670135240", 12);
    h[156] = (uint8_t)type;
    if (flags & F_GNU) {
        memcpy(h + 257, "ustar  ", 8);
        memcpy(h + 345, "14670135240", 12); /* GNU atime where ustar has its prefix */
    } else if (!(flags & F_V7)) {
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        if (prefix) memcpy(h + 345, prefix, strlen(prefix));
    }
    memset(h + 148, ' ', 8);
    long sum = 0;
    for (int i = 0; i < 512; i++) sum += (flags & F_SIGNED) ? (signed char)h[i] : h[i];
    snprintf((char *)h + 148, 8, "%06lo", (unsigned long)sum + ((flags & F_BADSUM) ? 1 : 0));
    h[155] = ' ';
    put(b, h, 512);
}

/* A regular member whose bytes are fill(seed). */
static void member(buf *b, const char *name, size_t n, unsigned seed) {
    uint8_t *d = malloc(n + 1);
    fill(d, n, seed);
    header(b, name, NULL, '0', n, 0);
    put(b, d, n);
    pad(b);
    free(d);
}

/* A member holding another tar's bytes. */
static void member_buf(buf *b, const char *name, const buf *data) {
    header(b, name, NULL, '0', data->n, 0);
    put(b, data->p, data->n);
    pad(b);
}

static void ext(buf *b, char type, const char *payload, size_t n, int flags) {
    header(b, type == 'L' || type == 'K' ? "././@LongLink" : "PaxHeaders/x", NULL, type, n, flags);
    put(b, payload, n);
    pad(b);
}

static void finish(buf *b) {
    static const uint8_t z[1024];
    put(b, z, sizeof z);
}

static void save(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    LGP_ASSERT(f && fwrite(p, 1, n, f) == n && fclose(f) == 0);
}

/* "LEN key=value\n" with LEN counting itself. */
static void pax_record(char *out, size_t cap, const char *key, const char *val) {
    size_t body = strlen(key) + strlen(val) + 3, len = body + 1;
    while (snprintf(NULL, 0, "%zu", len) + body != len) len++;
    snprintf(out + strlen(out), cap - strlen(out), "%zu %s=%s\n", len, key, val);
}

/* ---- checks ---- */

typedef struct { const char *inner, *name; size_t size; unsigned seed; } want;

/* e's bytes, read back by position (inflated when deflated), are exp[n]. */
static int bytes_of(int fd, const lgp_tarent *e, size_t n, const uint8_t *exp) {
    uint8_t *got = malloc(n + 1);
    char err[256];
    int rc = e->size == n ? lgp_tarindex_read(fd, e->offset, e->size, e->csize, e->method, got, err, sizeof err) : LGP_FATAL;
    if (rc != LGP_OK && e->size == n) printf("#   %s: %s\n", e->name, err);
    int same = rc == LGP_OK && memcmp(got, exp, n) == 0;
    free(got);
    return same;
}

static int same_str(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* The index of path holds exactly w[0..n), each member's bytes at its offset. */
static void check(const char *path, const want *w, size_t n, lgp_tarindex *ix) {
    char err[512] = "";
    int rc = lgp_tarindex_build(ix, path, err, sizeof err);
    is_int(rc, LGP_OK, "%s: indexed", path);
    if (rc != LGP_OK) printf("#   %s\n", err);
    is_int(ix->n, n, "%s: %zu members", path, n);
    int fd = open(path, O_RDONLY);
    for (size_t i = 0; i < n && i < ix->n; i++) {
        const lgp_tarent *e = &ix->v[i];
        uint8_t *d = malloc(w[i].size + 1);
        fill(d, w[i].size, w[i].seed);
        int good = same_str(e->inner, w[i].inner) && same_str(e->name, w[i].name) && e->size == w[i].size &&
                   bytes_of(fd, e, w[i].size, d);
        ok(good, "%s: %s%s%s (%zu bytes) at its offset", path, w[i].inner ? w[i].inner : "", w[i].inner ? ": " : "",
           w[i].name, w[i].size);
        if (!good)
            printf("#   got %s: %s, %llu bytes at %llu\n", e->inner ? e->inner : "-", e->name,
                   (unsigned long long)e->size, (unsigned long long)e->offset);
        free(d);
    }
    close(fd);
}

/* libarchive through formats/archive.h gives the same members (inner, name, size) in
 * the same order, and its bytes are the file's bytes at the index's offsets; each
 * damaged inner tar is one LGP_BAD_RECORD there. */
static void same_as_libarchive(const char *path, const lgp_tarindex *ix, size_t want_bad) {
    lgp_archive *a;
    lgp_member m;
    char err[512];
    size_t k = 0, bad = 0;
    int same = 1, rc = lgp_archive_open(&a, path, LGP_ARCHIVE_NESTED, err, sizeof err);
    int fd = open(path, O_RDONLY);
    while (rc == LGP_OK || rc == LGP_BAD_RECORD) {
        rc = lgp_archive_next(a, &m);
        if (rc == LGP_BAD_RECORD) bad++;
        if (rc != LGP_OK) continue;
        const lgp_tarent *e = k < ix->n ? &ix->v[k] : NULL;
        if (!e || !same_str(e->inner, m.inner) || strcmp(e->name, m.name) || e->size != m.size ||
            !bytes_of(fd, e, m.size, m.data)) {
            if (same) printf("#   member %zu: libarchive %s: %s (%zu bytes), index %s: %s\n", k, m.inner ? m.inner : "-",
                             m.name, m.size, e && e->inner ? e->inner : "-", e ? e->name : "(none)");
            same = 0;
        }
        k++;
    }
    if (rc != LGP_EOF) printf("#   libarchive: %s\n", a ? lgp_archive_error(a) : err);
    ok(same && rc == LGP_EOF && k == ix->n && bad == want_bad,
       "%s: libarchive returns the same %zu members and bytes, %zu damaged inner tar(s)", path, ix->n, want_bad);
    if (k != ix->n || bad != want_bad) printf("#   libarchive: %zu members, %zu damaged\n", k, bad);
    lgp_archive_close(a);
    close(fd);
}

static int build(const char *path, char *err, size_t n) {
    lgp_tarindex ix;
    int rc = lgp_tarindex_build(&ix, path, err, n);
    ok(ix.n == 0 && ix.v == NULL, "%s: nothing listed after rc %d", path, rc);
    lgp_tarindex_free(&ix);
    return rc;
}

/* ---- fixtures ---- */

static void test_flat(void) {
    buf b = {0};
    member(&b, "./a.jpg", 100, 1);
    header(&b, "d/", NULL, '5', 512, 0); /* a directory's size field carries no data */
    header(&b, "b.png", "d", '0', 600, 0);
    uint8_t d[600];
    fill(d, sizeof d, 2);
    put(&b, d, sizeof d);
    pad(&b);
    header(&b, "lnk", NULL, '2', 0, 0);
    header(&b, "olddir/", NULL, '0', 700, F_V7); /* v7: a trailing '/' is a directory, no data */
    member(&b, "c.txt", 0, 3);
    member(&b, "exact.bin", 1024, 4);
    header(&b, "caf\xc3\xa9.jpg", NULL, '0', 10, F_SIGNED); /* old signed checksum */
    fill(d, 10, 5);
    put(&b, d, 10);
    pad(&b);
    finish(&b);
    save("flat.tar", b.p, b.n);
    static const want w[] = {
        {NULL, "a.jpg", 100, 1}, {NULL, "d/b.png", 600, 2}, {NULL, "c.txt", 0, 3},
        {NULL, "exact.bin", 1024, 4}, {NULL, "caf\xc3\xa9.jpg", 10, 5},
    };
    lgp_tarindex ix;
    check("flat.tar", w, LGP_ARRAY_LEN(w), &ix);
    is_int(ix.n_inner + ix.bad_inner, 0, "flat.tar: no inner tars");
    same_as_libarchive("flat.tar", &ix, 0);
    lgp_tarindex_free(&ix);
    ok(ix.v == NULL && ix.n == 0, "free leaves the index empty");
    lgp_tarindex_free(&ix); /* twice is harmless */
    /* without the end blocks: the file ends right after the last member's padding */
    save("noend.tar", b.p, b.n - 1024);
    check("noend.tar", w, LGP_ARRAY_LEN(w), &ix);
    lgp_tarindex_free(&ix);
    free(b.p);
}

/* Three members in an inner tar: <dir>x1.JPEG, <dir>x2.JPEG, x3.JPEG, seeds s..s+2. */
static void inner3(buf *t, const char *dir, unsigned s) {
    char n[64];
    snprintf(n, sizeof n, "%sx1.JPEG", dir);
    member(t, n, 300 + s, s);
    snprintf(n, sizeof n, "%sx2.JPEG", dir);
    member(t, n, 5000 + s, s + 1); /* more than a window */
    member(t, "x3.JPEG", 512, s + 2);
    finish(t);
}

static void nested_fixture(buf *b) {
    buf t1 = {0}, t2 = {0}, t3 = {0};
    inner3(&t1, "n01/", 10);
    inner3(&t2, "", 20);
    member(&t3, "deep.tar", 700, 30); /* a tar in an inner tar is a member */
    member(&t3, "y.png", 70, 31);
    finish(&t3);
    member_buf(b, "train/n01.tar", &t1);
    member(b, "loose.txt", 33, 40);
    member_buf(b, "./sub/n02.TAR", &t2);
    member_buf(b, "n03.tar", &t3);
    finish(b);
    free(t1.p), free(t2.p), free(t3.p);
}

static const want nested_want[] = {
    {"n01", "n01/x1.JPEG", 310, 10}, {"n01", "n01/x2.JPEG", 5010, 11}, {"n01", "x3.JPEG", 512, 12},
    {NULL, "loose.txt", 33, 40},
    {"n02", "x1.JPEG", 320, 20},     {"n02", "x2.JPEG", 5020, 21},     {"n02", "x3.JPEG", 512, 22},
    {"n03", "deep.tar", 700, 30},    {"n03", "y.png", 70, 31},
};

static void test_nested(void) {
    buf b = {0};
    nested_fixture(&b);
    save("nested.tar", b.p, b.n);
    lgp_tarindex ix;
    check("nested.tar", nested_want, LGP_ARRAY_LEN(nested_want), &ix);
    is_int(ix.n_inner, 3, "nested.tar: 3 inner tars walked");
    is_int(ix.bad_inner, 0, "nested.tar: none damaged");
    ok(ix.bad_first == NULL, "nested.tar: no damage message");
    same_as_libarchive("nested.tar", &ix, 0);
    lgp_tarindex_free(&ix);
    free(b.p);
}

static void test_gnu_pax_b256(void) {
    char lname[200], ppath[400], note[5000], rec[6000] = "";
    memset(lname, 'L', sizeof lname);
    memcpy(lname, "long/", 5);
    snprintf(lname + 150, sizeof lname - 150, "/end.jpg");
    memset(ppath, 'p', sizeof ppath);
    memcpy(ppath, "pax/", 4);
    snprintf(ppath + 300, sizeof ppath - 300, "/x.png");
    memset(note, 'n', sizeof note - 1);
    note[sizeof note - 1] = 0; /* makes the pax payload longer than a window */
    buf b = {0};
    ext(&b, 'L', lname, strlen(lname) + 1, F_GNU);
    header(&b, lname, NULL, '0', 900, F_GNU); /* the name field holds the first 100 bytes */
    uint8_t d[5000];
    fill(d, 900, 50), put(&b, d, 900), pad(&b);
    member(&b, "plain.jpg", 10, 51);
    header(&b, "gnu.jpg", NULL, '0', 20, F_GNU); /* GNU: the prefix area is no prefix */
    fill(d, 20, 52), put(&b, d, 20), pad(&b);
    ext(&b, 'K', "some/long/link/target", 22, F_GNU);
    header(&b, "sym", NULL, '2', 0, F_GNU);
    pax_record(rec, sizeof rec, "path", "global/not/applied.jpg");
    ext(&b, 'g', rec, strlen(rec), 0);
    rec[0] = 0;
    pax_record(rec, sizeof rec, "mtime", "1700000000.5");
    pax_record(rec, sizeof rec, "comment", note);
    pax_record(rec, sizeof rec, "path", ppath);
    pax_record(rec, sizeof rec, "size", "4321");
    ext(&b, 'x', rec, strlen(rec), 0);
    header(&b, "short-name.png", NULL, '0', 0, 0); /* the pax size replaces this 0 */
    fill(d, 4321, 53), put(&b, d, 4321), pad(&b);
    header(&b, "b256.jpg", NULL, '0', 1000, F_B256);
    fill(d, 1000, 54), put(&b, d, 1000), pad(&b);
    member(&b, "after.jpg", 1, 55);
    finish(&b);
    save("ext.tar", b.p, b.n);
    const want w[] = {
        {NULL, lname, 900, 50}, {NULL, "plain.jpg", 10, 51}, {NULL, "gnu.jpg", 20, 52},
        {NULL, ppath, 4321, 53}, {NULL, "b256.jpg", 1000, 54}, {NULL, "after.jpg", 1, 55},
    };
    lgp_tarindex ix;
    check("ext.tar", w, LGP_ARRAY_LEN(w), &ix);
    same_as_libarchive("ext.tar", &ix, 0);
    lgp_tarindex_free(&ix);
    free(b.p);
}

/* libarchive's own writers: a name over 100 bytes (pax path, GNU 'L', ustar prefix)
 * and an inner tar in each. */
typedef struct { const char *name; size_t size; unsigned seed; const buf *data; } la_member;

static void la_tar(buf *out, int (*format)(struct archive *), const la_member *m, size_t n) {
    size_t cap = 1 << 20, used = 0;
    uint8_t *mem = malloc(cap), *d = malloc(cap);
    struct archive *a = archive_write_new();
    format(a);
    archive_write_set_bytes_in_last_block(a, 1);
    LGP_ASSERT(archive_write_open_memory(a, mem, cap, &used) == ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        size_t k = m[i].data ? m[i].data->n : m[i].size;
        if (m[i].data) memcpy(d, m[i].data->p, k);
        else fill(d, k, m[i].seed);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_size(e, (la_int64_t)k);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        LGP_ASSERT(archive_write_header(a, e) == ARCHIVE_OK);
        LGP_ASSERT(archive_write_data(a, d, k) == (la_ssize_t)k);
        archive_entry_free(e);
    }
    LGP_ASSERT(archive_write_close(a) == ARCHIVE_OK);
    archive_write_free(a);
    put(out, mem, used);
    free(mem), free(d);
}

static void test_libarchive_writers(void) {
    static const struct { const char *file; int (*format)(struct archive *); int names; } fmts[] = {
        {"la-pax.tar", archive_write_set_format_pax, 1},
        {"la-gnutar.tar", archive_write_set_format_gnutar, 1},
        {"la-ustar.tar", archive_write_set_format_ustar, 2},
        {"la-v7.tar", archive_write_set_format_v7tar, 0},
    };
    char lng[300];
    memset(lng, 'q', sizeof lng);
    memcpy(lng, "a/", 2);
    snprintf(lng + 250, sizeof lng - 250, "/z.jpg"); /* 256 bytes */
    const char *split = "dir/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
                        "b.jpg"; /* 110 bytes: ustar prefix + name */
    for (size_t f = 0; f < LGP_ARRAY_LEN(fmts); f++) {
        const char *name2 = fmts[f].names == 1 ? lng : fmts[f].names == 2 ? split : "short.jpg";
        buf in = {0}, out = {0};
        const la_member im[] = {{"i1.jpg", 1234, 60, NULL}, {name2, 99, 61, NULL}, {"./i3.png", 0, 62, NULL}};
        la_tar(&in, fmts[f].format, im, LGP_ARRAY_LEN(im));
        char iname[400]; /* pax and GNU: a long name whose extension header must not reach the inner tar */
        snprintf(iname, sizeof iname, "%s/n05.tar", fmts[f].names == 1 ? lng : "cls");
        const la_member om[] = {{iname, 0, 0, &in}, {name2, 4097, 63, NULL}};
        la_tar(&out, fmts[f].format, om, LGP_ARRAY_LEN(om));
        save(fmts[f].file, out.p, out.n);
        const want w[] = {
            {"n05", "i1.jpg", 1234, 60}, {"n05", name2, 99, 61}, {"n05", "i3.png", 0, 62}, {NULL, name2, 4097, 63},
        };
        lgp_tarindex ix;
        check(fmts[f].file, w, LGP_ARRAY_LEN(w), &ix);
        same_as_libarchive(fmts[f].file, &ix, 0);
        lgp_tarindex_free(&ix);
        free(in.p), free(out.p);
    }
}

/* Many small members: headers found in the window, members across its edges. */
static void test_small_members(void) {
    buf b = {0};
    want w[300];
    char names[300][16];
    for (unsigned i = 0; i < 300; i++) {
        snprintf(names[i], sizeof names[i], "s%03u.png", i);
        w[i] = (want){NULL, names[i], (i * 37) % 1500, 100 + i};
        member(&b, names[i], w[i].size, w[i].seed);
    }
    finish(&b);
    save("small.tar", b.p, b.n);
    lgp_tarindex ix;
    check("small.tar", w, 300, &ix);
    same_as_libarchive("small.tar", &ix, 0);
    lgp_tarindex_free(&ix);
    free(b.p);
}

static void test_not_plain(void) {
    char err[512];
    static const struct { const char *file, *bytes; size_t n; const char *says; } cases[] = {
        {"x.tar.gz", "\x1f\x8b\x08\0\0\0\0\0\0\3", 10, "gzip"},
        {"x.tar.zst", "\x28\xb5\x2f\xfd\0\0\0\0", 8, "zstd"},
        {"x.tar.bz2", "BZh91AY&SY", 10, "bzip2"},
        {"x.tar.xz", "\xfd" "7zXZ\0\0\0", 8, "xz"},
        {"x.zip", "PK\3\4\0\0\0\0", 8, "zip"},
        {"short.tar", "hello", 5, "shorter than one tar block"},
        {"empty.tar", "", 0, "shorter than one tar block"},
    };
    for (size_t i = 0; i < LGP_ARRAY_LEN(cases); i++) {
        uint8_t blk[2048] = {0}; /* compressed files are long enough to hold a header */
        memcpy(blk, cases[i].bytes, cases[i].n);
        save(cases[i].file, blk, cases[i].n < 6 ? cases[i].n : sizeof blk);
        is_int(build(cases[i].file, err, sizeof err), LGP_EOF, "%s: not a plain tar, stream it", cases[i].file);
        ok(strstr(err, cases[i].says) && strstr(err, cases[i].file), "  says '%s': %s", cases[i].says, err);
    }
    uint8_t junk[2048];
    fill(junk, sizeof junk, 7);
    save("junk.tar", junk, sizeof junk);
    is_int(build("junk.tar", err, sizeof err), LGP_EOF, "junk.tar: first block no header: LGP_EOF");
    ok(strstr(err, "not a tar") != NULL, "  says: %s", err);
    is_int(build("/dev/null", err, sizeof err), LGP_EOF, "a device: neither a file nor a folder: LGP_EOF");
    ok(strstr(err, "neither a regular file nor a folder") != NULL, "  says: %s", err);
    uint8_t zero[1024] = {0};
    save("zeros.tar", zero, sizeof zero);
    lgp_tarindex ix;
    is_int(lgp_tarindex_build(&ix, "zeros.tar", err, sizeof err), LGP_OK, "an empty tar (end blocks only): LGP_OK");
    is_int(ix.n, 0, "  with no members");
    lgp_tarindex_free(&ix);
    is_int(build("missing.tar", err, sizeof err), LGP_FATAL, "a missing file: LGP_FATAL");
    ok(strstr(err, "missing.tar") && strstr(err, "No such file"), "  says: %s", err);
}

static void fatal_case(const char *file, const void *p, size_t n, const char *says) {
    char err[512];
    save(file, p, n);
    is_int(build(file, err, sizeof err), LGP_FATAL, "%s: LGP_FATAL", file);
    ok(strncmp(err, file, strlen(file)) == 0 && strstr(err, says) && !strchr(err, '\n'), "  one line with path and '%s': %s",
       says, err);
}

static void test_outer_damage(void) {
    buf b = {0};
    nested_fixture(&b);
    uint64_t loose; /* loose.txt's header, right after the first inner tar */
    {
        lgp_tarindex ix;
        char err[256];
        save("nested.tar", b.p, b.n);
        LGP_ASSERT(lgp_tarindex_build(&ix, "nested.tar", err, sizeof err) == LGP_OK);
        loose = ix.v[3].offset - 512;
        lgp_tarindex_free(&ix);
    }
    char says[64];
    snprintf(says, sizeof says, "byte %llu: loose.txt: truncated", (unsigned long long)loose);
    fatal_case("cut-data.tar", b.p, loose + 512 + 20, says);
    snprintf(says, sizeof says, "byte %llu: truncated", (unsigned long long)loose);
    fatal_case("cut-header.tar", b.p, loose + 100, says);
    fatal_case("cut-inner.tar", b.p, 512 + 3000, "byte 0: train/n01.tar: truncated");
    uint8_t *c = malloc(b.n);
    memcpy(c, b.p, b.n);
    c[loose + 10] ^= 1;
    snprintf(says, sizeof says, "byte %llu: bad header checksum", (unsigned long long)loose);
    fatal_case("badsum.tar", c, b.n, says);
    free(c);
    free(b.p);

    buf n = {0};
    member(&n, "ok.jpg", 10, 1);
    header(&n, "neg.jpg", NULL, '0', 0, F_NEG);
    fatal_case("negsize.tar", n.p, n.n, "byte 1024: bad size field");
    n.n = 0;
    member(&n, "ok.jpg", 10, 1);
    ext(&n, 'x', "9 path=x\n12 bad", 15, 0);
    member(&n, "x", 1, 1);
    finish(&n);
    fatal_case("badpax.tar", n.p, n.n, "byte 1024: bad pax record");
    n.n = 0;
    member(&n, "ok.jpg", 10, 1);
    ext(&n, 'x', "11 size=1x\n", 11, 0);
    member(&n, "x", 1, 1);
    fatal_case("badpaxsize.tar", n.p, n.n, "bad pax size '1x'");
    n.n = 0;
    member(&n, "ok.jpg", 10, 1);
    ext(&n, 'L', "abc", 4, F_GNU);
    fatal_case("lonely.tar", n.p, n.n, "ends after an extension header");
    n.n = 0;
    header(&n, "huge.jpg", NULL, '0', (uint64_t)1 << 62, F_B256);
    fatal_case("huge.tar", n.p, n.n, "byte 0: huge.jpg: truncated");
    free(n.p);
}

static void test_inner_damage(void) {
    buf good1 = {0}, good2 = {0}, bad1 = {0}, bad3 = {0}, b = {0};
    inner3(&good1, "", 10);
    inner3(&good2, "", 20);
    inner3(&bad1, "", 30);
    bad1.p[1024 + 512 + 5120 + 7] ^= 0x20; /* x3's header, after x1 (1024 bytes) and x2 (512 + 5120) */
    member(&bad3, "t1.jpg", 10, 40);
    header(&bad3, "t2.jpg", NULL, '0', 4096, 0); /* runs past the inner tar's end */
    uint8_t junk[1024];
    fill(junk, sizeof junk, 9);
    buf bad2 = {junk, sizeof junk, 0};
    member_buf(&b, "good1.tar", &good1);
    member_buf(&b, "bad1.tar", &bad1);
    member_buf(&b, "bad2.tar", &bad2);
    member_buf(&b, "bad3.tar", &bad3);
    member_buf(&b, "good2.tar", &good2);
    member(&b, "loose.jpg", 5, 50);
    finish(&b);
    save("damaged.tar", b.p, b.n);
    static const want w[] = {
        {"good1", "x1.JPEG", 310, 10}, {"good1", "x2.JPEG", 5010, 11}, {"good1", "x3.JPEG", 512, 12},
        {"bad1", "x1.JPEG", 330, 30},  {"bad1", "x2.JPEG", 5030, 31},  {"bad3", "t1.jpg", 10, 40},
        {"good2", "x1.JPEG", 320, 20}, {"good2", "x2.JPEG", 5020, 21}, {"good2", "x3.JPEG", 512, 22},
        {NULL, "loose.jpg", 5, 50},
    };
    lgp_tarindex ix;
    check("damaged.tar", w, LGP_ARRAY_LEN(w), &ix);
    is_int(ix.n_inner, 5, "damaged.tar: 5 inner tars walked");
    is_int(ix.bad_inner, 3, "damaged.tar: 3 of them damaged");
    uint64_t at = ix.v[4].offset + 5120; /* bad1.tar's x3 header, after x2's padded data */
    char says[160];
    snprintf(says, sizeof says, "damaged.tar: bad1.tar: byte %llu: bad header checksum", (unsigned long long)at);
    is_str(ix.bad_first, says, "damaged.tar: the first damage in one line, path, inner tar and byte");
    lgp_tarindex_free(&ix);
    ok(ix.bad_first == NULL && ix.bad_inner == 0, "free clears the damage report");
    /* archive.c differs on bad1 and bad3 by design (tarindex.h says how), not on bad2 */
    b.n = 0;
    member_buf(&b, "good1.tar", &good1);
    member_buf(&b, "bad2.tar", &bad2);
    member_buf(&b, "good2.tar", &good2);
    finish(&b);
    save("notatar.tar", b.p, b.n);
    const want w2[] = {w[0], w[1], w[2], w[6], w[7], w[8]};
    check("notatar.tar", w2, LGP_ARRAY_LEN(w2), &ix);
    is_int(ix.bad_inner, 1, "notatar.tar: one damaged inner tar");
    ok(ix.bad_first && strstr(ix.bad_first, "notatar.tar: bad2.tar: byte ") && strstr(ix.bad_first, ": not a tar"),
       "  says: %s", ix.bad_first ? ix.bad_first : "(null)");
    same_as_libarchive("notatar.tar", &ix, 1);
    lgp_tarindex_free(&ix);

    /* a compressed inner tar: libarchive would decompress it, so stream the file */
    b.n = 0;
    member_buf(&b, "good1.tar", &good1);
    uint8_t gz[1024] = {0x1f, 0x8b, 8};
    buf z = {gz, sizeof gz, 0};
    member_buf(&b, "n09.tar", &z);
    finish(&b);
    save("gzinner.tar", b.p, b.n);
    char err[512];
    is_int(build("gzinner.tar", err, sizeof err), LGP_EOF, "gzinner.tar: a gzip inner tar: LGP_EOF (stream it)");
    ok(strstr(err, "gzinner.tar: n09.tar: byte ") && strstr(err, "gzip"), "  says: %s", err);
    free(good1.p), free(good2.p), free(bad1.p), free(bad3.p), free(b.p);
}

/* ---- zips, written byte by byte ---- */

static void le(buf *b, uint64_t v, int n) {
    uint8_t x[8];
    for (int i = 0; i < n; i++) x[i] = (uint8_t)(v >> (8 * i));
    put(b, x, (size_t)n);
}

enum {
    ZM_DEFL = 1,    /* deflated (else stored) */
    ZM_DIR = 2,     /* a directory entry (the name ends in '/') */
    ZM_DD = 4,      /* sizes and CRC in a data descriptor after the data; zeros in the local header */
    ZM_LX = 8,      /* a local extra field the central directory does not have */
    ZM_64 = 16,     /* sizes (and the offset) in ZIP64 extra fields */
    ZM_ENC = 32,    /* general purpose bit 0: encrypted */
    ZM_UTF8 = 64,   /* general purpose bit 11: the name is UTF-8 */
    ZM_LINK = 128,  /* a Unix symlink */
    ZM_BZIP2 = 256, /* method 12, the bytes stored as they are */
    ZM_DOS = 512,   /* made by MS-DOS (else Unix) */
};
enum { ZA_END64 = 1, ZA_SFX = 2, ZA_COMMENT = 4, ZA_REVERSE = 8, ZA_FAKE = 16 /* a comment holding "PK\5\6" */ };

typedef struct { const char *name; size_t size; unsigned seed; int flags; const buf *data; } zmem;

/* Raw deflate of d[n] into out. */
static void deflate_raw(buf *out, const uint8_t *d, size_t n) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    LGP_ASSERT(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    size_t cap = deflateBound(&zs, (uLong)n) + 16;
    out->n = 0;
    put(out, NULL, 0);
    if (out->cap < cap) out->cap = cap, out->p = realloc(out->p, cap);
    LGP_ASSERT(out->p);
    zs.next_in = (Bytef *)(uintptr_t)d, zs.avail_in = (uInt)n, zs.next_out = out->p, zs.avail_out = (uInt)cap;
    LGP_ASSERT(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    out->n = zs.total_out;
    deflateEnd(&zs);
}

/* A zip of m[0..n); local header offsets relative to where the zip starts (after a
 * stub with ZA_SFX, as `cat stub x.zip` leaves them); *cd_at: its central directory. */
static void zip_write(buf *b, const zmem *m, size_t n, int opts, uint64_t *cd_at) {
    if (opts & ZA_SFX) {
        uint8_t stub[777];
        fill(stub, sizeof stub, 99);
        memcpy(stub, "#!/bin/sh\nexit 0\n", 17);
        put(b, stub, sizeof stub);
    }
    uint64_t base = b->n, *lho = calloc(n + 1, sizeof *lho), *csz = calloc(n + 1, sizeof *csz);
    uint32_t *crc = calloc(n + 1, sizeof *crc);
    buf z = {0};
    for (size_t i = 0; i < n; i++) {
        int f = m[i].flags;
        size_t k = m[i].data ? m[i].data->n : m[i].size;
        uint8_t *d = malloc(k + 1);
        if (m[i].data) memcpy(d, m[i].data->p, k);
        else fill(d, k, m[i].seed);
        crc[i] = (uint32_t)crc32(0, d, (uInt)k);
        if (f & ZM_DEFL) deflate_raw(&z, d, k);
        else z.n = 0, put(&z, d, k);
        csz[i] = z.n;
        lho[i] = b->n - base;
        unsigned gp = (f & ZM_ENC ? 1 : 0) | (f & ZM_DD ? 8 : 0) | (f & ZM_UTF8 ? 0x800 : 0);
        put(b, "PK\3\4", 4), le(b, f & ZM_64 ? 45 : 20, 2), le(b, gp, 2);
        le(b, f & ZM_DEFL ? 8 : f & ZM_BZIP2 ? 12 : 0, 2), le(b, 0, 2), le(b, 0x21, 2);
        le(b, f & ZM_DD ? 0 : crc[i], 4);
        le(b, f & ZM_DD ? 0 : f & ZM_64 ? 0xffffffffu : csz[i], 4);
        le(b, f & ZM_DD ? 0 : f & ZM_64 ? 0xffffffffu : k, 4);
        size_t nl = strlen(m[i].name), xl = (f & ZM_64 ? 20 : 0) + (f & ZM_LX ? 13 : 0);
        le(b, nl, 2), le(b, xl, 2), put(b, m[i].name, nl);
        if (f & ZM_64) le(b, 0x0001, 2), le(b, 16, 2), le(b, k, 8), le(b, csz[i], 8);
        if (f & ZM_LX) le(b, 0xcafe, 2), le(b, 9, 2), put(b, "local-xtr", 9);
        put(b, z.p, z.n);
        if (f & ZM_DD) put(b, "PK\7\10", 4), le(b, crc[i], 4), le(b, csz[i], 4), le(b, k, 4);
        free(d);
    }
    uint64_t cd = b->n;
    for (size_t j = 0; j < n; j++) {
        size_t i = opts & ZA_REVERSE ? n - 1 - j : j;
        int f = m[i].flags;
        size_t k = m[i].data ? m[i].data->n : m[i].size, nl = strlen(m[i].name);
        unsigned gp = (f & ZM_ENC ? 1 : 0) | (f & ZM_DD ? 8 : 0) | (f & ZM_UTF8 ? 0x800 : 0);
        uint32_t ext = f & ZM_DOS ? (f & ZM_DIR ? 0x10 : 0)
                                  : (uint32_t)(f & ZM_DIR ? 040755 : f & ZM_LINK ? 0120777 : 0100644) << 16;
        put(b, "PK\1\2", 4), le(b, (f & ZM_DOS ? 0 : 3u << 8) | 45, 2), le(b, f & ZM_64 ? 45 : 20, 2), le(b, gp, 2);
        le(b, f & ZM_DEFL ? 8 : f & ZM_BZIP2 ? 12 : 0, 2), le(b, 0, 2), le(b, 0x21, 2), le(b, crc[i], 4);
        le(b, f & ZM_64 ? 0xffffffffu : csz[i], 4), le(b, f & ZM_64 ? 0xffffffffu : k, 4);
        le(b, nl, 2), le(b, f & ZM_64 ? 28 : 0, 2), le(b, 0, 2), le(b, 0, 2), le(b, 0, 2), le(b, ext, 4);
        le(b, f & ZM_64 ? 0xffffffffu : lho[i], 4), put(b, m[i].name, nl);
        if (f & ZM_64) le(b, 0x0001, 2), le(b, 24, 2), le(b, k, 8), le(b, csz[i], 8), le(b, lho[i], 8);
    }
    uint64_t cd_size = b->n - cd, e64 = b->n - base;
    if (opts & ZA_END64) {
        put(b, "PK\6\6", 4), le(b, 44, 8), le(b, 45, 2), le(b, 45, 2), le(b, 0, 4), le(b, 0, 4);
        le(b, n, 8), le(b, n, 8), le(b, cd_size, 8), le(b, cd - base, 8);
        put(b, "PK\6\7", 4), le(b, 0, 4), le(b, e64, 8), le(b, 1, 4);
    }
    int big = opts & ZA_END64;
    const char *note = opts & ZA_FAKE ? "a comment PK\5\6 that looks like an end record" : opts & ZA_COMMENT ? "a comment" : "";
    put(b, "PK\5\6", 4), le(b, 0, 2), le(b, 0, 2), le(b, big ? 0xffff : n, 2), le(b, big ? 0xffff : n, 2);
    le(b, big ? 0xffffffffu : cd_size, 4), le(b, big ? 0xffffffffu : cd - base, 4), le(b, strlen(note), 2);
    put(b, note, strlen(note));
    if (cd_at) *cd_at = cd;
    free(lho), free(csz), free(crc), free(z.p);
}

static void save_zip(const char *path, const zmem *m, size_t n, int opts, buf *b, uint64_t *cd_at) {
    b->n = 0;
    zip_write(b, m, n, opts, cd_at);
    save(path, b->p, b->n);
}

/* A zip's index: w[0..n) as check() sees them, ix->zip set, ndefl deflated members,
 * and archive.c's listing the same. */
static void check_zip(const char *path, const want *w, size_t n, size_t ndefl) {
    lgp_tarindex ix;
    check(path, w, n, &ix);
    size_t d = 0;
    for (size_t i = 0; i < ix.n; i++) d += ix.v[i].method == LGP_TARENT_DEFLATE;
    ok(ix.zip == 1 && ix.dir == 0 && d == ndefl, "%s: a zip, %zu members deflated", path, ndefl);
    same_as_libarchive(path, &ix, 0);
    lgp_tarindex_free(&ix);
}

static void test_zip(void) {
    buf t = {0}, b = {0};
    member(&t, "x1.jpg", 300, 70);
    member(&t, "sub/x2.png", 5000, 71);
    finish(&t);
    const zmem m[] = {
        {"a.jpg", 700, 1, 0, NULL},
        {"cls/", 0, 0, ZM_DIR, NULL},
        {"cls/b.jpg", 5000, 2, ZM_DEFL, NULL},
        {"cls/c.png", 9000, 3, ZM_DEFL | ZM_DD, NULL},
        {"./d.jpg", 100, 4, ZM_LX, NULL},
        {"win\\e.jpg", 50, 5, ZM_DOS, NULL},
        {"empty.jpg", 0, 6, 0, NULL},
        {"link.jpg", 8, 7, ZM_LINK, NULL},
        {"caf\xc3\xa9.jpg", 10, 8, ZM_UTF8, NULL},
        {"pl\x82in.jpg", 10, 9, 0, NULL},
        {"dosdir", 0, 0, ZM_DOS | ZM_DIR, NULL},
        {"n07.tar", 0, 0, 0, &t},
        {"z/big.bin", 70000, 10, ZM_DEFL | ZM_LX, NULL},
        {"z/zero.bin", 0, 11, ZM_DEFL, NULL},
    };
    const want w[] = {
        {NULL, "a.jpg", 700, 1},        {NULL, "cls/b.jpg", 5000, 2},     {NULL, "cls/c.png", 9000, 3},
        {NULL, "d.jpg", 100, 4},        {NULL, "win/e.jpg", 50, 5},       {NULL, "empty.jpg", 0, 6},
        {NULL, "pl\x82in.jpg", 10, 9},  {"n07", "x1.jpg", 300, 70},       {"n07", "sub/x2.png", 5000, 71},
        {NULL, "z/big.bin", 70000, 10}, {NULL, "z/zero.bin", 0, 11},
    };
    save_zip("mixed.zip", m, LGP_ARRAY_LEN(m), 0, &b, NULL);
    check_zip("mixed.zip", w, LGP_ARRAY_LEN(w), 4);
    save_zip("reversed.zip", m, LGP_ARRAY_LEN(m), ZA_REVERSE, &b, NULL);
    check_zip("reversed.zip", w, LGP_ARRAY_LEN(w), 4); /* the central directory backwards: file order */
    save_zip("sfx.zip", m, LGP_ARRAY_LEN(m), ZA_SFX | ZA_COMMENT, &b, NULL);
    check_zip("sfx.zip", w, LGP_ARRAY_LEN(w), 4); /* offsets shifted past the stub, a comment */
    save_zip("fake.zip", m, LGP_ARRAY_LEN(m), ZA_FAKE, &b, NULL); /* libarchive takes the record in the comment */
    char err[512];
    is_int(build("fake.zip", err, sizeof err), LGP_EOF, "fake.zip: the last end record does not hold up: LGP_EOF, as libarchive streams it");
    ok(strstr(err, "fake.zip: byte ") && strstr(err, "the zip end record does not hold up"), "  says: %s", err);
    zmem m64[LGP_ARRAY_LEN(m)];
    for (size_t i = 0; i < LGP_ARRAY_LEN(m); i++) m64[i] = m[i], m64[i].flags |= ZM_64;
    save_zip("zip64.zip", m64, LGP_ARRAY_LEN(m64), ZA_END64, &b, NULL);
    check_zip("zip64.zip", w, LGP_ARRAY_LEN(w), 4);
    save_zip("empty.zip", m, 0, 0, &b, NULL);
    check_zip("empty.zip", w, 0, 0);
    const zmem tm[] = {{"t.jpg", 10, 12, 0, NULL}};
    const want tw[] = {{NULL, "t.jpg", 10, 12}};
    save_zip("tiny.zip", tm, 1, 0, &b, NULL); /* shorter than a tar block */
    check_zip("tiny.zip", tw, 1, 0);

    /* more than 65535 entries: the ZIP64 end record counts them */
    enum { MANY = 65540 };
    zmem *mm = malloc(MANY * sizeof *mm);
    want *mw = malloc(MANY * sizeof *mw);
    char (*names)[16] = malloc(MANY * sizeof *names);
    for (unsigned i = 0; i < MANY; i++) {
        snprintf(names[i], sizeof names[i], "m/%05u.jpg", i);
        mm[i] = (zmem){names[i], i % 7, i, i % 3 ? 0 : ZM_DEFL, NULL};
        mw[i] = (want){NULL, names[i], i % 7, i};
    }
    save_zip("many.zip", mm, MANY, ZA_END64, &b, NULL);
    lgp_tarindex ix;
    int rc = lgp_tarindex_build(&ix, "many.zip", err, sizeof err);
    int good = rc == LGP_OK && ix.n == MANY;
    int fd = open("many.zip", O_RDONLY);
    for (unsigned i = 0; good && i < MANY; i += 997) {
        uint8_t d[8];
        fill(d, mw[i].size, mw[i].seed);
        good = strcmp(ix.v[i].name, names[i]) == 0 && bytes_of(fd, &ix.v[i], mw[i].size, d);
    }
    close(fd);
    ok(good, "many.zip: %d entries, ZIP64 end record: all listed, in order, bytes read back", MANY);
    if (rc == LGP_OK) same_as_libarchive("many.zip", &ix, 0);
    else printf("#   %s\n", err), ok(0, "many.zip: libarchive");
    lgp_tarindex_free(&ix);
    free(mm), free(mw), free(names);

    /* reading back: a deflated member's stream damaged, or a size that does not match */
    LGP_ASSERT(lgp_tarindex_build(&ix, "mixed.zip", err, sizeof err) == LGP_OK);
    const lgp_tarent *e = &ix.v[1]; /* cls/b.jpg, deflated */
    uint8_t *d = malloc(e->size + 1);
    fd = open("mixed.zip", O_RDONLY);
    is_int(lgp_tarindex_read(fd, e->offset, e->size - 1, e->csize, e->method, d, err, sizeof err), LGP_FATAL,
           "read: a deflated member inflating to more than its size: LGP_FATAL");
    ok(strstr(err, "inflates to more than") != NULL, "  says: %s", err);
    is_int(lgp_tarindex_read(fd, e->offset, e->size, e->csize - 3, e->method, d, err, sizeof err), LGP_FATAL,
           "read: a deflate stream cut short: LGP_FATAL");
    ok(strstr(err, "bad deflate data at byte") != NULL, "  says: %s", err);
    close(fd);
    b.n = 0;
    zip_write(&b, m, LGP_ARRAY_LEN(m), 0, NULL);
    b.p[e->offset] |= 6; /* block type 3: no such block */
    save("baddefl.zip", b.p, b.n);
    fd = open("baddefl.zip", O_RDONLY);
    is_int(lgp_tarindex_read(fd, e->offset, e->size, e->csize, e->method, d, err, sizeof err), LGP_FATAL,
           "read: damaged deflate data: LGP_FATAL");
    ok(strstr(err, "bad deflate data at byte ") != NULL, "  says: %s", err);
    is_int(lgp_tarindex_read(fd, b.n - 10, 100, 100, LGP_TARENT_STORED, d, err, sizeof err), LGP_FATAL,
           "read: past the end of the file: LGP_FATAL");
    ok(strstr(err, "unexpected end of file at byte") != NULL, "  says: %s", err);
    close(fd);
    free(d);
    lgp_tarindex_free(&ix);
    free(t.p), free(b.p);
}

/* What cannot be read by position (LGP_EOF, naming the member) and damage (LGP_FATAL,
 * naming the byte). */
static void test_zip_refused(void) {
    buf b = {0}, dz = {0};
    char err[512];
    const zmem enc[] = {{"a.jpg", 10, 1, 0, NULL}, {"secret.jpg", 10, 2, ZM_ENC, NULL}};
    save_zip("enc.zip", enc, 2, 0, &b, NULL);
    is_int(build("enc.zip", err, sizeof err), LGP_EOF, "enc.zip: an encrypted member: LGP_EOF (stream it)");
    ok(strstr(err, "enc.zip: byte ") && strstr(err, "secret.jpg: encrypted"), "  names it: %s", err);
    const zmem bz[] = {{"a.jpg", 10, 1, 0, NULL}, {"notes.txt", 10, 2, ZM_BZIP2, NULL}};
    save_zip("bzip2.zip", bz, 2, 0, &b, NULL);
    is_int(build("bzip2.zip", err, sizeof err), LGP_EOF, "bzip2.zip: a member compressed with bzip2: LGP_EOF");
    ok(strstr(err, "notes.txt: compression method 12 (bzip2)") != NULL, "  names it and the method: %s", err);
    buf t = {0};
    member(&t, "x.jpg", 100, 3);
    finish(&t);
    const zmem it[] = {{"n01.tar", 0, 0, ZM_DEFL, &t}};
    save_zip("deflated-inner.zip", it, 1, 0, &b, NULL);
    is_int(build("deflated-inner.zip", err, sizeof err), LGP_EOF, "a deflated inner tar: LGP_EOF");
    ok(strstr(err, "n01.tar: a deflated inner tar") != NULL, "  says: %s", err);
    free(t.p);

    const zmem m[] = {{"a.jpg", 100, 1, 0, NULL}, {"b.jpg", 200, 2, ZM_DEFL, NULL}, {"c.jpg", 300, 3, 0, NULL}};
    uint64_t cd;
    save_zip("good.zip", m, 3, 0, &dz, &cd);
    char says[128];
    uint8_t *c = malloc(dz.n);
    size_t second = cd + 46 + 5; /* the second central directory entry */
    memcpy(c, dz.p, dz.n);
    c[second + 3] ^= 1;
    snprintf(says, sizeof says, "byte %zu: bad zip central directory entry signature", second);
    fatal_case("badcd.zip", c, dz.n, says);
    memcpy(c, dz.p, dz.n);
    c[dz.n - 22 + 10] = 4, c[dz.n - 22 + 8] = 4; /* the end record counts 4 entries */
    fatal_case("count.zip", c, dz.n, "holds 3 entries, its end record says 4");
    memcpy(c, dz.p, dz.n);
    c[0] = 'X'; /* a's local header */
    fatal_case("nolocal.zip", c, dz.n, "byte 0: no zip local header where the central directory puts one");
    memcpy(c, dz.p, dz.n);
    c[cd + 46 + 5 + 46 + 5 + 20] = 0xff, c[cd + 46 + 5 + 46 + 5 + 24] = 0xff; /* c.jpg: both sizes 300 -> 511 */
    c[cd + 46 + 5 + 46 + 5 + 21] = 1, c[cd + 46 + 5 + 46 + 5 + 25] = 1;
    fatal_case("sizes.zip", c, dz.n, "c.jpg: the zip local header and the central directory give other sizes");
    memcpy(c, dz.p, dz.n);
    c[cd + 46 + 5 + 10] = 0; /* b.jpg: stored in the central directory, deflated locally */
    fatal_case("method.zip", c, dz.n, "b.jpg: compression method 8 in the zip local header, 0 in the central directory");
    memcpy(c, dz.p, dz.n);
    c[dz.n - 22 + 12] -= 4; /* the central directory's size: it would start inside its first entry */
    snprintf(says, sizeof says, "byte %llu: no central directory entry where the zip end record puts it",
             (unsigned long long)cd + 4);
    fatal_case("cdsize.zip", c, dz.n, says);
    save("cut.zip", dz.p, cd + 46 + 5 + 20);
    is_int(build("cut.zip", err, sizeof err), LGP_EOF, "cut.zip: a zip cut short (no end record): LGP_EOF (stream it)");
    ok(strstr(err, "cut.zip: byte 0: a zip archive with no end of central directory record") != NULL, "  says: %s", err);
    free(c);
    free(b.p), free(dz.p);
}

/* ---- directories ---- */

static void save_fill(const char *path, size_t n, unsigned seed) {
    uint8_t *d = malloc(n + 1);
    fill(d, n, seed);
    save(path, d, n);
    free(d);
}

typedef struct { const char *name; size_t size; unsigned seed; lgp_member_kind kind; } dwant;

/* tree/: files, a folder whose name sorts around a file's, hidden names, symlinks, a
 * fifo, an inner tar, an empty folder. */
static const dwant tree_want[] = {
    {"B.png", 30, 1, LGP_MEMBER_IMAGE},      {"a-b.jpg", 40, 2, LGP_MEMBER_IMAGE},
    {"a.jpg", 50, 3, LGP_MEMBER_IMAGE},      {"a/x.cls", 2, 4, LGP_MEMBER_CLS},
    {"a/x.jpg", 5000, 5, LGP_MEMBER_IMAGE},  {"b/10.jpg", 60, 6, LGP_MEMBER_IMAGE},
    {"b/2.jpg", 0, 7, LGP_MEMBER_IMAGE},     {"b/link.jpg", 50, 3, LGP_MEMBER_IMAGE},
    {"d.jpg", 0, 0, LGP_MEMBER_IMAGE},       {"n01.tar", 0, 0, LGP_MEMBER_TAR},
    {"notes.txt", 9, 8, LGP_MEMBER_OTHER},
};

static void tree_fixture(void) {
    LGP_ASSERT(mkdir("tree", 0755) == 0 && mkdir("tree/a", 0755) == 0 && mkdir("tree/b", 0755) == 0 &&
               mkdir("tree/.git", 0755) == 0 && mkdir("tree/empty", 0755) == 0);
    for (size_t i = 0; i < LGP_ARRAY_LEN(tree_want); i++) {
        char p[64];
        snprintf(p, sizeof p, "tree/%s", tree_want[i].name);
        if (tree_want[i].seed && strcmp(tree_want[i].name, "b/link.jpg") != 0) save_fill(p, tree_want[i].size, tree_want[i].seed);
    }
    buf t = {0};
    member(&t, "inside.jpg", 100, 9);
    finish(&t);
    save("tree/n01.tar", t.p, t.n);
    free(t.p);
    save_fill("tree/.hidden.jpg", 10, 10);
    save_fill("tree/.git/c.jpg", 10, 11);
    save_fill("tree/b/._2.jpg", 10, 12);
    LGP_ASSERT(symlink("../a.jpg", "tree/b/link.jpg") == 0 && symlink("b", "tree/c") == 0 &&
               symlink("nowhere.jpg", "tree/d.jpg") == 0 && mkfifo("tree/fifo.jpg", 0644) == 0);
}

static void test_dir_listing(void) {
    tree_fixture();
    char err[512];
    lgp_tarindex ix;
    int rc = lgp_tarindex_build(&ix, "tree", err, sizeof err);
    is_int(rc, LGP_OK, "tree: listed");
    if (rc != LGP_OK) printf("#   %s\n", err);
    ok(ix.dir == 1 && ix.n_inner == 0, "tree: a directory listing, no inner tar walked");
    is_int(ix.n, LGP_ARRAY_LEN(tree_want), "tree: %zu files (hidden, fifo, folder symlink left out)", LGP_ARRAY_LEN(tree_want));
    struct stat st;
    LGP_ASSERT(stat("tree/n01.tar", &st) == 0);
    for (size_t i = 0; i < ix.n && i < LGP_ARRAY_LEN(tree_want); i++) {
        const lgp_tarent *e = &ix.v[i];
        uint64_t size = strcmp(tree_want[i].name, "n01.tar") == 0 ? (uint64_t)st.st_size : tree_want[i].size;
        ok(strcmp(e->name, tree_want[i].name) == 0 && !e->inner && e->offset == 0 && e->size == size && e->mtime_ns > 0,
           "tree: entry %zu is %s, %llu bytes", i, tree_want[i].name, (unsigned long long)size);
        if (strcmp(e->name, tree_want[i].name) != 0) printf("#   got %s\n", e->name);
    }
    lgp_tarindex_free(&ix);
    ok(ix.n == 0 && ix.dir == 0, "free leaves it empty");
    rc = lgp_tarindex_build(&ix, "tree/", err, sizeof err);
    ok(rc == LGP_OK && ix.n == LGP_ARRAY_LEN(tree_want) && strcmp(ix.v[4].name, "a/x.jpg") == 0,
       "tree/ (trailing slash): the same relative names");
    lgp_tarindex_free(&ix);
    LGP_ASSERT(mkdir("void", 0755) == 0);
    rc = lgp_tarindex_build(&ix, "void", err, sizeof err);
    ok(rc == LGP_OK && ix.n == 0 && ix.dir == 1, "an empty folder: LGP_OK, no entries");
    lgp_tarindex_free(&ix);
    is_int(build("no-such-dir/", err, sizeof err), LGP_FATAL, "a missing folder: LGP_FATAL");
    if (geteuid() != 0) { /* root reads whatever the mode says */
        LGP_ASSERT(mkdir("locked", 0755) == 0 && mkdir("locked/in", 0) == 0);
        is_int(build("locked", err, sizeof err), LGP_FATAL, "an unreadable subfolder: LGP_FATAL");
        ok(strstr(err, "locked/in: Permission denied") != NULL, "  names it: %s", err);
        chmod("locked/in", 0755);
    } else
        for (int k = 0; k < 2; k++) ok(1, "# SKIP unreadable folders: running as root");
}

/* formats/archive.h over tree/: the listing's names in its order, each file's bytes. */
static void test_dir_archive(void) {
    char err[512];
    lgp_archive *a;
    lgp_member m;
    is_int(lgp_archive_open(&a, "tree", LGP_ARCHIVE_NESTED, err, sizeof err), LGP_OK, "archive: tree opens");
    size_t i = 0, same = 0;
    int rc, bad = 0;
    char badmsg[512] = "";
    while ((rc = lgp_archive_next(a, &m)) != LGP_EOF && rc != LGP_FATAL && i < LGP_ARRAY_LEN(tree_want)) {
        const dwant *w = &tree_want[i++];
        if (rc == LGP_BAD_RECORD) {
            bad += strcmp(w->name, "d.jpg") == 0;
            snprintf(badmsg, sizeof badmsg, "%s", lgp_archive_error(a));
            continue;
        }
        uint8_t d[5000];
        fill(d, w->size, w->seed);
        int nodata = w->kind == LGP_MEMBER_TAR || w->kind == LGP_MEMBER_OTHER;
        int good = strcmp(m.name, w->name) == 0 && !m.inner && m.kind == w->kind &&
                   (nodata ? !m.data && m.size == 0 : m.data && m.size == w->size && memcmp(m.data, d, w->size) == 0);
        same += good;
        if (!good) printf("#   member %zu: %s (%zu bytes), want %s\n", i - 1, m.name, m.size, w->name);
    }
    ok(rc == LGP_EOF && i == LGP_ARRAY_LEN(tree_want) && same == i - 1 && bad == 1,
       "archive: tree's %zu files in the listing's order, bytes read whole, .tar and .txt without data", i);
    is_str(badmsg, "tree: d.jpg: No such file or directory (skipped)", "archive: the dangling symlink: LGP_BAD_RECORD, one line");
    lgp_archive_close(a);

    LGP_ASSERT(lgp_archive_open(&a, "tree", LGP_ARCHIVE_NAMES_ONLY, err, sizeof err) == LGP_OK);
    size_t n = 0, nodata = 0;
    while ((rc = lgp_archive_next(a, &m)) == LGP_OK) {
        nodata += !m.data && n < LGP_ARRAY_LEN(tree_want) && strcmp(m.name, tree_want[n].name) == 0;
        n++;
    }
    ok(rc == LGP_EOF && n == LGP_ARRAY_LEN(tree_want) && nodata == n,
       "archive: NAMES_ONLY: every name in order, no data, nothing opened (the dangling symlink too)");
    lgp_archive_close(a);

    LGP_ASSERT(lgp_archive_open(&a, "tree", LGP_ARCHIVE_PEEK, err, sizeof err) == LGP_OK);
    int peek_ok = 1;
    for (n = 0; (rc = lgp_archive_next(a, &m)) != LGP_EOF && n < 20; n++) {
        if (rc != LGP_OK) continue;
        size_t want = 0;
        for (size_t k = 0; k < LGP_ARRAY_LEN(tree_want); k++)
            if (strcmp(tree_want[k].name, m.name) == 0) want = tree_want[k].size;
        if (m.kind == LGP_MEMBER_IMAGE && want > LGP_ARCHIVE_PEEK_BYTES) want = LGP_ARCHIVE_PEEK_BYTES;
        if (m.kind == LGP_MEMBER_TAR || m.kind == LGP_MEMBER_OTHER) want = 0;
        peek_ok &= m.size == want;
    }
    ok(peek_ok && n == LGP_ARRAY_LEN(tree_want), "archive: PEEK: images give their first %d bytes, a .cls all",
       LGP_ARCHIVE_PEEK_BYTES);
    lgp_archive_close(a);

    /* a sparse file past the limit: refused by its size, nothing read */
    LGP_ASSERT(mkdir("big", 0755) == 0);
    int fd = open("big/huge.jpg", O_WRONLY | O_CREAT, 0644);
    LGP_ASSERT(fd >= 0 && ftruncate(fd, (off_t)LGP_ARCHIVE_MAX_MEMBER + 1) == 0 && close(fd) == 0);
    save_fill("big/small.jpg", 10, 1);
    LGP_ASSERT(lgp_archive_open(&a, "big", 0, err, sizeof err) == LGP_OK);
    is_int(lgp_archive_next(a, &m), LGP_BAD_RECORD, "archive: a file over 1 GiB: LGP_BAD_RECORD");
    is_str(lgp_archive_error(a), "big: huge.jpg: member larger than 1 GiB (skipped)", "  says so in one line");
    ok(lgp_archive_next(a, &m) == LGP_OK && strcmp(m.name, "small.jpg") == 0 && m.size == 10, "  and the next file follows");
    lgp_archive_close(a);
    is_int(lgp_archive_open(&a, "no-such-dir/", 0, err, sizeof err), LGP_FATAL, "archive: a missing folder: LGP_FATAL");
}

int main(void) {
    char dir[] = "/tmp/test_tarindex.XXXXXX";
    if (!mkdtemp(dir) || chdir(dir) != 0) return printf("not ok 1 - temp dir\n"), 1;
    test_flat();
    test_nested();
    test_gnu_pax_b256();
    test_libarchive_writers();
    test_small_members();
    test_not_plain();
    test_outer_damage();
    test_inner_damage();
    test_zip();
    test_zip_refused();
    test_dir_listing();
    test_dir_archive();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (chdir("/") != 0 || system(cmd) != 0) printf("# could not remove %s\n", dir);
    return done_testing();
}
