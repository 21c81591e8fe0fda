/* tarindex.c — member offsets of a plain tar file, inner tars in place; of a zip,
 * from its central directory; the sorted file list of a directory (see tarindex.h). */
#include "tarindex.h"

#include "archive.h"
#include "common/lgp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define BLOCK 512
#define IS_ZIP 100 /* first_block: the file is a zip, its end record read into the walker */
#define NOT_ZIP 101

/* The walk's state. Codes inside: LGP_OK (end of this tar), LGP_BAD_RECORD (this tar
 * is damaged), LGP_EOF (cannot be indexed: stream instead), LGP_FATAL (read error or
 * out of memory); msg says why for all but LGP_OK. */
typedef struct {
    int fd;
    uint64_t fsize;
    const char *path;
    const char *inner_name;  /* outer member path of the inner tar walked, borrowed, or NULL */
    lgp_tarindex *ix;
    uint64_t woff;           /* win holds the file's bytes [woff, woff + wlen) */
    size_t wlen;
    char *meta;              /* pax or 'L' payload */
    size_t meta_cap;
    char *lname, *ppath;     /* pending 'L' name and pax path for the next entry */
    size_t lname_cap, ppath_cap;
    int has_lname, has_ppath, has_psize, pending; /* pending: extension headers seen */
    uint64_t psize;          /* pending pax size */
    uint64_t zcd, zcd_size;  /* a zip: its central directory's bytes [zcd, zcd + zcd_size) */
    uint64_t zcount, zshift; /* entries its end record says; bytes before the recorded offsets */
    int z64;                 /* the end record is ZIP64's */
    uint8_t *zb;             /* central directory bytes [zb_off, zb_off + zb_len) */
    uint64_t zb_off;
    size_t zb_len, zb_cap;
    char msg[1024];
    uint8_t win[LGP_TARINDEX_WINDOW];
} walker;

/* Sets msg to "path: [inner: ]byte OFF: <fmt...>" and returns rc. */
static int fail(walker *w, int rc, uint64_t off, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(walker *w, int rc, uint64_t off, const char *fmt, ...) {
    int k = snprintf(w->msg, sizeof w->msg, "%s: %s%sbyte %llu: ", w->path, w->inner_name ? w->inner_name : "",
                     w->inner_name ? ": " : "", (unsigned long long)off);
    if (k < 0) k = 0;
    if ((size_t)k < sizeof w->msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->msg + k, sizeof w->msg - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int pread_all(walker *w, void *dst, size_t n, uint64_t off) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(w->fd, (uint8_t *)dst + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return fail(w, LGP_FATAL, off + got, "read failed: %s", strerror(errno));
        if (r == 0) return fail(w, LGP_FATAL, off + got, "the file ended early (changed while read?)");
        got += (size_t)r;
    }
    return LGP_OK;
}

/* The n bytes at off (n <= the window, off + n <= fsize), from the window when it
 * holds them, else by one pread of a whole window; NULL with msg on a read error. */
static const uint8_t *view(walker *w, uint64_t off, size_t n) {
    if (off >= w->woff && off - w->woff <= w->wlen && n <= w->wlen - (off - w->woff))
        return w->win + (off - w->woff);
    size_t want = w->fsize - off < sizeof w->win ? (size_t)(w->fsize - off) : sizeof w->win;
    w->wlen = 0;
    if (pread_all(w, w->win, want, off) != LGP_OK) return NULL;
    w->woff = off;
    w->wlen = want;
    return w->win;
}

static int grow(char **p, size_t *cap, size_t n) {
    if (n <= *cap) return 0;
    char *q = realloc(*p, n);
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int is_zero(const uint8_t *h) {
    for (size_t i = 0; i < BLOCK; i++)
        if (h[i]) return 0;
    return 1;
}

/* Octal ASCII as libarchive reads it: leading blanks, then digits up to the first other byte. */
static uint64_t octal(const uint8_t *f, size_t n) {
    size_t i = 0;
    uint64_t x = 0;
    while (i < n && (f[i] == ' ' || f[i] == '\t')) i++;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) x = x * 8 + (uint64_t)(f[i] - '0');
    return x;
}

/* chksum @148 holds only octal digits, blanks and NULs, and equals the header's byte
 * sum with itself as spaces, bytes unsigned (POSIX) or signed (old BSD/Solaris tars). */
static int checksum_ok(const uint8_t *h) {
    for (size_t i = 148; i < 156; i++)
        if (h[i] != ' ' && h[i] && (h[i] < '0' || h[i] > '7')) return 0;
    long want = (long)octal(h + 148, 8), sum = 8 * ' ', high = 0;
    for (size_t i = 0; i < BLOCK; i++) sum += h[i]; /* one pass the compiler vectorizes */
    for (size_t i = 148; i < 156; i++) sum -= h[i];
    if (want == sum) return 1;
    for (size_t i = 0; i < BLOCK; i++) high += (i < 148 || i >= 156) && h[i] >= 0x80;
    return want == sum - 256 * high; /* each byte >= 0x80 counts 256 less when signed */
}

/* size[12] @124: octal, or GNU base-256 when the first byte's high bit is set (0x40
 * also set means negative: refused). */
static int parse_size(const uint8_t *f, uint64_t *v) {
    if (!(f[0] & 0x80)) {
        *v = octal(f, 12);
        return 0;
    }
    if (f[0] & 0x40) return -1;
    uint64_t x = f[0] & 0x3f;
    for (size_t i = 1; i < 12; i++) {
        if (x >> 56) return -1;
        x = x << 8 | f[i];
    }
    *v = x;
    return 0;
}

/* name[100], after prefix[155] and a '/' for POSIX ustar (not GNU's "ustar  \0"). */
static void header_name(const uint8_t *h, char out[257]) {
    size_t k = 0;
    if (memcmp(h + 257, "ustar", 5) == 0 && memcmp(h + 257, "ustar  \0", 8) != 0 && h[345]) {
        k = strnlen((const char *)h + 345, 155);
        memcpy(out, h + 345, k);
        if (out[k - 1] != '/') out[k++] = '/';
    }
    size_t n = strnlen((const char *)h, 100);
    memcpy(out + k, h, n);
    out[k + n] = 0;
}

static const char *compressed(const uint8_t *p, size_t n) {
    static const struct { const char *magic; size_t n; const char *what; } tab[] = {
        {"\x1f\x8b", 2, "gzip"},         {"\x1f\x9d", 2, "compress (.Z)"},
        {"BZh", 3, "bzip2"},             {"\xfd" "7zXZ\0", 6, "xz"},
        {"\x28\xb5\x2f\xfd", 4, "zstd"}, {"\x04\x22\x4d\x18", 4, "lz4"},
        {"LZIP", 4, "lzip"},
    };
    for (size_t i = 0; i < LGP_ARRAY_LEN(tab); i++)
        if (n >= tab[i].n && memcmp(p, tab[i].magic, tab[i].n) == 0) return tab[i].what;
    return NULL;
}

/* pax records "LEN key=value\n": "path" and "size" for the next entry (an empty value
 * removes the override, as POSIX says); other keys are ignored. */
static int parse_pax(walker *w, const char *p, size_t n, uint64_t off) {
    while (n && p[0]) {
        size_t k = 0;
        uint64_t len = 0;
        for (; k < n && k < 19 && p[k] >= '0' && p[k] <= '9'; k++) len = len * 10 + (uint64_t)(p[k] - '0');
        if (k == 0 || k >= n || p[k] != ' ' || len < k + 3 || len > n || p[len - 1] != '\n')
            return fail(w, LGP_BAD_RECORD, off, "bad pax record");
        const char *kv = p + k + 1, *end = p + len - 1, *eq = memchr(kv, '=', (size_t)(end - kv));
        if (!eq) return fail(w, LGP_BAD_RECORD, off, "bad pax record (no '=')");
        size_t kn = (size_t)(eq - kv), vn = (size_t)(end - eq - 1);
        if (kn == 4 && memcmp(kv, "path", 4) == 0) {
            if (grow(&w->ppath, &w->ppath_cap, vn + 1)) return fail(w, LGP_FATAL, off, "out of memory");
            memcpy(w->ppath, eq + 1, vn);
            w->ppath[vn] = 0;
            w->has_ppath = vn > 0;
        } else if (kn == 4 && memcmp(kv, "size", 4) == 0) {
            uint64_t s = 0;
            size_t i = 0;
            for (; i < vn && i < 19 && eq[1 + i] >= '0' && eq[1 + i] <= '9'; i++) s = s * 10 + (uint64_t)(eq[1 + i] - '0');
            if (i != vn) return fail(w, LGP_BAD_RECORD, off, "bad pax size '%.*s'", (int)(vn < 40 ? vn : 40), eq + 1);
            w->psize = s;
            w->has_psize = vn > 0;
        }
        p += len;
        n -= (size_t)len;
    }
    return LGP_OK;
}

/* c is one of the bytes of set (never the NUL). */
static int in(const char *set, char c) { return c && strchr(set, c); }

static void pending_clear(walker *w) { w->has_lname = w->has_ppath = w->has_psize = w->pending = 0; }

/* An extension header's payload [data, data + size) into w->meta, NUL-terminated. */
static int read_meta(walker *w, uint64_t data, uint64_t size, uint64_t off) {
    if (size > LGP_TARINDEX_MAX_META)
        return fail(w, LGP_BAD_RECORD, off, "extension header of %llu bytes (more than %zu)",
                    (unsigned long long)size, LGP_TARINDEX_MAX_META);
    if (grow(&w->meta, &w->meta_cap, (size_t)size + 1)) return fail(w, LGP_FATAL, off, "out of memory");
    if (size <= sizeof w->win) {
        const uint8_t *p = view(w, data, (size_t)size);
        if (!p) return LGP_FATAL;
        memcpy(w->meta, p, (size_t)size);
    } else if (pread_all(w, w->meta, (size_t)size, data) != LGP_OK) return LGP_FATAL;
    w->meta[size] = 0;
    return LGP_OK;
}

/* An 'L', 'x'/'X', 'K' or 'g' header: updates what applies to the next entry. */
static int extension(walker *w, char type, uint64_t data, uint64_t size, uint64_t off) {
    w->pending |= type != 'g'; /* libarchive: a 'g' header alone may end the archive */
    if (type != 'L' && type != 'x' && type != 'X') return LGP_OK;
    int rc = read_meta(w, data, size, off);
    if (rc != LGP_OK) return rc;
    if (type != 'L') return parse_pax(w, w->meta, (size_t)size, off);
    size_t n = strlen(w->meta);
    if (grow(&w->lname, &w->lname_cap, n + 1)) return fail(w, LGP_FATAL, off, "out of memory");
    memcpy(w->lname, w->meta, n + 1);
    w->has_lname = 1;
    return LGP_OK;
}

/* Appends an entry (strings copied); -1 when out of memory. */
static int push(lgp_tarindex *ix, const char *name, const char *stem, uint64_t data, uint64_t size, uint64_t csize,
                int method, int64_t mtime) {
    if (ix->n == ix->cap) {
        size_t nc = ix->cap ? ix->cap * 2 : 1024;
        lgp_tarent *nv = nc > SIZE_MAX / sizeof *nv ? NULL : realloc(ix->v, nc * sizeof *nv);
        if (!nv) return -1;
        ix->v = nv;
        ix->cap = nc;
    }
    lgp_tarent *e = &ix->v[ix->n];
    e->name = strdup(name);
    e->inner = stem ? strdup(stem) : NULL;
    if (!e->name || (stem && !e->inner)) {
        free(e->name);
        free(e->inner);
        return -1;
    }
    e->offset = data;
    e->size = size;
    e->csize = csize;
    e->method = method;
    e->mtime_ns = mtime;
    ix->n++;
    return 0;
}

static int add(walker *w, const char *name, const char *stem, uint64_t data, uint64_t size, uint64_t off) {
    return push(w->ix, name, stem, data, size, size, LGP_TARENT_STORED, 0) ? fail(w, LGP_FATAL, off, "out of memory") : LGP_OK;
}

static int zip_end(walker *w, int pk);

/* The first block of a tar at start (size bytes): LGP_OK when it is a tar header or
 * an end block; otherwise, for the outer file, IS_ZIP (a zip's end record found) or
 * LGP_EOF (or LGP_FATAL: a damaged zip, a read error); LGP_EOF for a compressed inner
 * tar, and LGP_BAD_RECORD for an inner tar that is no tar. */
static int first_block(walker *w, uint64_t start, uint64_t size) {
    size_t n = size < BLOCK ? (size_t)size : BLOCK;
    const uint8_t *h = n ? view(w, start, n) : NULL;
    if (n && !h) return LGP_FATAL;
    if (n == BLOCK && (is_zero(h) || checksum_ok(h))) return LGP_OK;
    const char *z = h ? compressed(h, n) : NULL;
    if (z) return fail(w, LGP_EOF, start, "%s%s-compressed: cannot be indexed in place", w->inner_name ? "inner tar is " : "", z);
    if (w->inner_name) return fail(w, LGP_BAD_RECORD, start, "not a tar");
    int rc = zip_end(w, n >= 4 && memcmp(h, "PK\3\4", 4) == 0); /* h is stale from here on */
    if (rc != NOT_ZIP) return rc;
    return fail(w, LGP_EOF, start, n < BLOCK ? "shorter than one tar block" : "not a tar (no valid header)");
}

static int walk(walker *w, uint64_t start, uint64_t end, const char *stem);

/* A regular member named *.tar of the outer tar: its members in place. Damage is
 * counted in ix and the walk goes on after it. */
static int walk_inner(walker *w, const char *name, uint64_t data, uint64_t size) {
    size_t n = strlen(name) + 1;
    char *stem = malloc(n);
    if (!stem) return fail(w, LGP_FATAL, data, "out of memory");
    lgp_archive_stem(name, stem, n);
    w->ix->n_inner++;
    w->inner_name = name;
    int rc = first_block(w, data, size);
    if (rc == LGP_OK) rc = walk(w, data, data + size, stem);
    if (rc == LGP_BAD_RECORD) {
        if (!w->ix->bad_first && !(w->ix->bad_first = strdup(w->msg))) rc = fail(w, LGP_FATAL, data, "out of memory");
        else rc = LGP_OK;
        w->ix->bad_inner++;
    }
    w->inner_name = NULL;
    pending_clear(w);
    free(stem);
    return rc;
}

/* One header at off, valid, in a tar ending at end: sets *next to the next header. */
static int entry(walker *w, const uint8_t *h, uint64_t off, uint64_t end, const char *stem, uint64_t *next) {
    uint64_t size, data = off + BLOCK;
    char type = (char)h[156], hname[257];
    if (parse_size(h + 124, &size)) return fail(w, LGP_BAD_RECORD, off, "bad size field");
    int ext = in("LKxXg", type);
    if (!ext && w->has_psize) size = w->psize;
    header_name(h, hname);
    const char *name = ext ? hname : w->has_ppath ? w->ppath : w->has_lname ? w->lname : hname;
    size_t nl = strlen(name);
    int dir = type == '5' || (!in("123456D", type) && nl && name[nl - 1] == '/');
    if (in("123456", type) || dir) size = 0; /* no data, as in libarchive */
    if (size > end - data || ((size + BLOCK - 1) & ~(uint64_t)(BLOCK - 1)) > end - data)
        return fail(w, LGP_BAD_RECORD, off, "%s: truncated (%llu data bytes, %llu left)", name,
                    (unsigned long long)size, (unsigned long long)(end - data));
    *next = data + ((size + BLOCK - 1) & ~(uint64_t)(BLOCK - 1));
    if (ext) return extension(w, type, data, size, off);
    pending_clear(w); /* the overrides applied to this entry, not to an inner tar's first */
    if ((type != '0' && type != 0 && type != '7') || dir) return LGP_OK;
    if (name[0] == '.' && name[1] == '/') name += 2;
    if (stem || lgp_archive_classify(name) != LGP_MEMBER_TAR) return add(w, name, stem, data, size, off);
    char *own = strdup(name); /* name may point into ppath or lname, which the inner walk reuses */
    int rc = own ? walk_inner(w, own, data, size) : fail(w, LGP_FATAL, off, "out of memory");
    free(own);
    return rc;
}

/* The tar in the file's bytes [start, end), its first block checked. */
static int walk(walker *w, uint64_t start, uint64_t end, const char *stem) {
    for (uint64_t off = start;;) {
        if (off == end) return w->pending ? fail(w, LGP_BAD_RECORD, off, "the archive ends after an extension header") : LGP_OK;
        if (end - off < BLOCK)
            return fail(w, LGP_BAD_RECORD, off, "truncated (%llu bytes where a header should be)", (unsigned long long)(end - off));
        const uint8_t *h = view(w, off, BLOCK);
        if (!h) return LGP_FATAL;
        if (h[0] == 0 && is_zero(h)) return LGP_OK;
        if (!checksum_ok(h)) return fail(w, LGP_BAD_RECORD, off, "bad header checksum");
        int rc = entry(w, h, off, end, stem, &off);
        if (rc != LGP_OK) return rc;
    }
}

/* ---- a zip: its central directory, then each member's local header ---- */

#define ZIP_EOCD 22                        /* the end record without its comment */
#define ZIP_TAIL (65535 + ZIP_EOCD)        /* where the end record can start, from the end */
#define ZIP_PIECE ((size_t)1 << 20)        /* central directory bytes read at once */
#define AE_TYPE 0170000                    /* file type bits of a Unix mode, as libarchive's */
#define AE_REG 0100000
#define AE_DIR 0040000
#define AE_FIFO 0010000

static unsigned le16(const uint8_t *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* The ZIP64 end record the locator at loc (20 bytes, before the end record at eocd)
 * points to, when both are sane (libarchive's checks): its count, size and offset. */
static int zip64_end(walker *w, const uint8_t *loc, uint64_t eocd) {
    uint64_t at = le64(loc + 8);
    if (le32(loc + 4) != 0 || le32(loc + 16) != 1 || eocd < 20 || at > eocd - 20 || eocd - 20 - at < 56) return LGP_EOF;
    const uint8_t *r = view(w, at, 56);
    if (!r) return LGP_FATAL;
    if (memcmp(r, "PK\6\6", 4) != 0 || le32(r + 16) != 0 || le32(r + 20) != 0 || le64(r + 24) != le64(r + 32))
        return LGP_EOF;
    uint64_t count = le64(r + 32), size = le64(r + 40), cd = le64(r + 48);
    if (cd > at || size > at - cd) return LGP_EOF;
    w->zcount = count, w->zcd_size = size, w->zcd = cd, w->zshift = 0, w->z64 = 1;
    return LGP_OK;
}

/* The end of central directory record: the last "PK\5\6" in the file's last 64 KiB +
 * 22 bytes. As in libarchive, that one decides: when it does not hold up (a
 * multi-volume zip, a signature in a comment after the real record), libarchive
 * streams the file from its first local header, and so must the caller. IS_ZIP with
 * the walker's z fields set; NOT_ZIP when there is none or it does not hold up and the
 * file does not start as a zip (pk); else LGP_EOF or LGP_FATAL. */
static int zip_end(walker *w, int pk) {
    size_t t = w->fsize < ZIP_TAIL ? (size_t)w->fsize : ZIP_TAIL;
    uint64_t base = w->fsize - t;
    uint8_t *p = t >= ZIP_EOCD ? malloc(t) : NULL;
    if (t >= ZIP_EOCD && !p) return fail(w, LGP_FATAL, base, "out of memory");
    if (p && pread_all(w, p, t, base) != LGP_OK) return free(p), LGP_FATAL;
    size_t i = t >= ZIP_EOCD ? t - ZIP_EOCD + 1 : 0;
    while (i-- > 0)
        if (p[i] == 'P' && memcmp(p + i, "PK\5\6", 4) == 0) break;
    if (i == (size_t)-1) {
        free(p);
        return pk ? fail(w, LGP_EOF, 0, "a zip archive with no end of central directory record: cannot be indexed in place")
                  : NOT_ZIP;
    }
    const uint8_t *e = p + i;
    uint64_t eocd = base + i, size = le32(e + 12), cd = le32(e + 16);
    int rc = i >= 20 && memcmp(e - 20, "PK\6\7", 4) == 0 ? zip64_end(w, e - 20, eocd) : LGP_EOF;
    if (rc == LGP_EOF && (le16(e + 4) != 0 || le16(e + 6) != 0 || le16(e + 8) != le16(e + 10) || cd + size > eocd))
        rc = LGP_BAD_RECORD;
    if (rc == LGP_EOF) /* the 32-bit record, the central directory right before it */
        w->zcount = le16(e + 10), w->zcd_size = size, w->zcd = eocd - size, w->zshift = eocd - size - cd, w->z64 = 0;
    free(p);
    if (rc == LGP_FATAL) return LGP_FATAL;
    if (rc == LGP_BAD_RECORD)
        return pk ? fail(w, LGP_EOF, eocd, "the zip end record does not hold up (a multi-volume zip? damage?): cannot be "
                                           "indexed in place")
                  : NOT_ZIP;
    if (!w->zcd_size && !w->zcount) return IS_ZIP; /* an empty zip */
    const uint8_t *h = w->zcd_size >= 4 ? view(w, w->zcd, 4) : NULL;
    if (w->zcd_size >= 4 && !h) return LGP_FATAL;
    if (h && memcmp(h, "PK\1\2", 4) == 0) return IS_ZIP;
    return pk ? fail(w, LGP_FATAL, w->zcd, "no central directory entry where the zip end record puts it") : NOT_ZIP;
}

/* The n bytes at off (off + n <= fsize) of the central directory, from w->zb when it
 * holds them, else by one read of at least ZIP_PIECE bytes; NULL with msg. */
static const uint8_t *piece(walker *w, uint64_t off, size_t n) {
    if (off >= w->zb_off && off - w->zb_off <= w->zb_len && n <= w->zb_len - (off - w->zb_off))
        return w->zb + (off - w->zb_off);
    size_t want = n > ZIP_PIECE ? n : ZIP_PIECE;
    if (want > w->fsize - off) want = (size_t)(w->fsize - off);
    w->zb_len = 0;
    if (want > w->zb_cap) {
        uint8_t *q = realloc(w->zb, want);
        if (!q) return fail(w, LGP_FATAL, off, "out of memory"), NULL;
        w->zb = q;
        w->zb_cap = want;
    }
    if (pread_all(w, w->zb, want, off) != LGP_OK) return NULL;
    w->zb_off = off;
    w->zb_len = want;
    return w->zb;
}

/* What libarchive keeps of an entry's fields as it reads them (archive_read_support_
 * format_zip.c: the central directory's, then the local header's over them). */
typedef struct {
    unsigned sys;                  /* host system: 0 MS-DOS, 3 Unix */
    uint32_t mode;                 /* Unix mode, 0 when unknown */
    uint64_t usize, csize, lho;    /* 0xffffffff: in the ZIP64 extra field */
    const uint8_t *upath;          /* Info-ZIP Unicode Path (0x7075): UTF-8 name, or NULL */
    size_t upath_n;
    uint32_t upath_crc;            /* CRC-32 of the name it replaces */
} zfields;

/* The mode libarchive gives from "external attributes" for a host system. */
static uint32_t zip_mode(unsigned sys, uint32_t ext) {
    if (sys == 3) return ext >> 16;
    if (sys != 0) return 0;
    uint32_t m = (ext & 0x10) ? AE_DIR | 0775 : AE_REG | 0664;
    return (ext & 1) ? m & 0555 : m; /* read-only: the type bits go too, as in libarchive */
}

/* An extra field (n bytes at p) over z; -1 when it is malformed (libarchive refuses the
 * entry and the archive with it). */
static int zip_extra(const uint8_t *p, size_t n, zfields *z) {
    if (n < 4) {
        for (size_t i = 0; i < n; i++)
            if (p[i]) return -1;
        return 0;
    }
    for (size_t off = 0; off + 4 <= n;) {
        unsigned id = le16(p + off), len = le16(p + off + 2);
        off += 4;
        if (len > n - off) return -1;
        const uint8_t *d = p + off;
        size_t left = len;
        if (id == 0x0001) { /* ZIP64: the saturated fields, in this order */
            uint64_t *f[3] = {&z->usize, &z->csize, &z->lho};
            for (int k = 0; k < 3; k++) {
                if (*f[k] != 0xffffffffu) continue;
                if (left < 8 || le64(d) > INT64_MAX) return -1;
                *f[k] = le64(d);
                d += 8, left -= 8;
            }
        } else if (id == 0x6c78 && left >= 1) { /* libarchive's 'xl': version made by, attributes */
            unsigned bitmap = d[0], last = d[0];
            d++, left--;
            while ((last & 0x80) && left >= 1) last = d[0], d++, left--;
            if ((bitmap & 1) && left >= 2) z->sys = le16(d) >> 8, d += 2, left -= 2;
            else if (bitmap & 1) left = 0, bitmap = 0;
            if ((bitmap & 2) && left >= 2) d += 2, left -= 2;
            else if (bitmap & 2) bitmap = 0;
            if ((bitmap & 4) && left >= 4) z->mode = zip_mode(z->sys, le32(d));
        } else if (id == 0x7075 && left >= 5) {
            z->upath_crc = le32(d + 1);
            z->upath = d + 5;
            z->upath_n = left - 5;
        }
        off += len;
    }
    return 0;
}

static int has_high(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s > 127) return 1;
    return 0;
}

static const char *method_name(unsigned m) {
    switch (m) {
    case 1: return "shrink";
    case 6: return "implode";
    case 9: return "deflate64";
    case 12: return "bzip2";
    case 14: return "LZMA";
    case 93: return "zstd";
    case 95: return "xz";
    case 98: return "PPMd";
    case 99: return "AES";
    default: return "unknown";
    }
}

typedef struct {
    uint64_t lho, usize, csize;
    uint32_t idx, mode;
    unsigned flags, method;
} zentry;

static int by_offset(const void *a, const void *b) {
    const zentry *x = a, *y = b;
    if (x->lho != y->lho) return x->lho < y->lho ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The central directory's entries into *out (*n of them, in its order). */
static int zip_entries(walker *w, zentry **out, size_t *n) {
    uint64_t end = w->zcd + w->zcd_size;
    size_t cap = 0;
    zentry *v = NULL;
    *n = 0;
    for (uint64_t at = w->zcd; at < end;) {
        if (end - at < 46) return free(v), fail(w, LGP_FATAL, at, "zip central directory cut short");
        const uint8_t *p = piece(w, at, 46);
        if (!p) return free(v), LGP_FATAL;
        if (memcmp(p, "PK\1\2", 4) != 0) return free(v), fail(w, LGP_FATAL, at, "bad zip central directory entry signature");
        unsigned nlen = le16(p + 28), xlen = le16(p + 30), clen = le16(p + 32);
        zfields z = {.sys = p[5], .csize = le32(p + 20), .usize = le32(p + 24), .lho = le32(p + 42)};
        zentry e = {.flags = le16(p + 8), .method = le16(p + 10), .idx = (uint32_t)*n};
        z.mode = zip_mode(z.sys, le32(p + 38));
        if ((uint64_t)46 + nlen + xlen + clen > end - at)
            return free(v), fail(w, LGP_FATAL, at, "zip central directory entry runs past the directory");
        const uint8_t *x = piece(w, at + 46 + nlen, xlen);
        if (!x) return free(v), LGP_FATAL;
        if (zip_extra(x, xlen, &z)) return free(v), fail(w, LGP_FATAL, at, "bad extra field in the zip central directory");
        e.lho = z.lho + w->zshift, e.usize = z.usize, e.csize = z.csize, e.mode = z.mode;
        if (e.lho < z.lho || e.lho > w->fsize || w->fsize - e.lho < 30)
            return free(v), fail(w, LGP_FATAL, at, "zip local header offset %llu past the end of the file",
                                 (unsigned long long)e.lho);
        if (*n == cap) {
            size_t nc = cap ? 2 * cap : 1024;
            zentry *nv = nc > SIZE_MAX / sizeof *nv || nc > UINT32_MAX ? NULL : realloc(v, nc * sizeof *nv);
            if (!nv) return free(v), fail(w, LGP_FATAL, at, "out of memory");
            v = nv, cap = nc;
        }
        v[(*n)++] = e;
        at += 46 + (uint64_t)nlen + xlen + clen;
    }
    *out = v;
    /* without ZIP64, writers wrap the 16-bit count past 65535 entries */
    if (w->z64 ? *n != w->zcount : (*n & 0xffff) != w->zcount)
        return fail(w, LGP_FATAL, w->zcd, "the zip central directory holds %zu entries, its end record says %llu", *n,
                    (unsigned long long)w->zcount);
    return LGP_OK;
}

/* Entry e: its local header, name and kind; a regular file is listed (or walked, an
 * inner tar). */
static int zip_member(walker *w, const zentry *e) {
    const uint8_t *p = view(w, e->lho, 30);
    if (!p) return LGP_FATAL;
    if (memcmp(p, "PK\3\4", 4) != 0) return fail(w, LGP_FATAL, e->lho, "no zip local header where the central directory puts one");
    unsigned flags = le16(p + 6), method = le16(p + 8), nlen = le16(p + 26), xlen = le16(p + 28);
    uint64_t data = e->lho + 30 + nlen + xlen;
    zfields z = {.sys = p[5], .mode = e->mode, .csize = le32(p + 18), .usize = le32(p + 22), .lho = e->lho};
    if (data > w->fsize) return fail(w, LGP_FATAL, e->lho, "zip local header cut short");
    size_t k = (size_t)nlen + xlen;
    const uint8_t *q = k <= LGP_TARINDEX_WINDOW ? view(w, e->lho + 30, k) : NULL;
    if (k > LGP_TARINDEX_WINDOW) {
        if (read_meta(w, e->lho + 30, k, e->lho) != LGP_OK) return LGP_FATAL;
        q = (const uint8_t *)w->meta;
    }
    if (!q) return LGP_FATAL;
    if (grow(&w->lname, &w->lname_cap, (size_t)nlen + 2)) return fail(w, LGP_FATAL, e->lho, "out of memory");
    char *name = w->lname; /* the name libarchive gives: its bytes up to a NUL */
    memcpy(name, q, nlen);
    name[nlen] = 0;
    if (zip_extra(q + nlen, xlen, &z)) return fail(w, LGP_FATAL, e->lho, "%s: bad extra field in the zip local header", name);
    int unnamed = (flags & 0x800) && has_high(name); /* UTF-8 in the C locale: no name */
    if (z.upath && (unnamed || (uint32_t)crc32(0, (const Bytef *)name, (uInt)strlen(name)) == z.upath_crc)) {
        size_t m = z.upath_n;
        if (grow(&w->lname, &w->lname_cap, m + 2)) return fail(w, LGP_FATAL, e->lho, "out of memory");
        name = w->lname;
        memcpy(name, z.upath, m);
        name[m] = 0;
        unnamed = has_high(name);
    }
    uint32_t type = z.mode & AE_TYPE;
    if (type == AE_FIFO) type = AE_REG; /* Info-ZIP zipping a pipe */
    size_t len = strlen(name);
    if (z.sys == 0 && !has_high(name) && !strchr(name, '/') && strchr(name, '\\'))
        for (char *c = name; *c; c++)
            if (*c == '\\') *c = '/';
    if (type != AE_DIR) type = len && name[len - 1] == '/' ? AE_DIR : type ? type : AE_REG;
    if (unnamed || type != AE_REG) return LGP_OK; /* archive.c skips these */
    if (name[0] == '.' && name[1] == '/') name += 2;
    if (method != e->method)
        return fail(w, LGP_FATAL, e->lho, "%s: compression method %u in the zip local header, %u in the central directory",
                    name, method, e->method);
    if ((z.csize && z.csize != e->csize) || (z.usize && z.usize != 0xffffffffu && z.usize != e->usize))
        return fail(w, LGP_FATAL, e->lho, "%s: the zip local header and the central directory give other sizes", name);
    if ((flags | e->flags) & 0x41) return fail(w, LGP_EOF, e->lho, "%s: encrypted: cannot be read by position", name);
    if (method != LGP_TARENT_STORED && method != LGP_TARENT_DEFLATE)
        return fail(w, LGP_EOF, e->lho, "%s: compression method %u (%s): cannot be read by position", name, method,
                    method_name(method));
    if (method == LGP_TARENT_STORED && e->csize != e->usize)
        return fail(w, LGP_FATAL, e->lho, "%s: stored member of %llu bytes holds %llu", name, (unsigned long long)e->usize,
                    (unsigned long long)e->csize);
    if (e->csize > w->fsize - data)
        return fail(w, LGP_FATAL, e->lho, "%s: truncated (%llu data bytes, %llu left)", name, (unsigned long long)e->csize,
                    (unsigned long long)(w->fsize - data));
    if (lgp_archive_classify(name) != LGP_MEMBER_TAR) {
        if (!push(w->ix, name, NULL, data, e->usize, e->csize, (int)method, 0)) return LGP_OK;
        return fail(w, LGP_FATAL, e->lho, "out of memory");
    }
    if (method != LGP_TARENT_STORED) return fail(w, LGP_EOF, e->lho, "%s: a deflated inner tar: cannot be indexed in place", name);
    char *own = strdup(name); /* lname is the inner walk's */
    int rc = own ? walk_inner(w, own, data, e->usize) : fail(w, LGP_FATAL, e->lho, "out of memory");
    free(own);
    return rc;
}

/* The zip whose end record zip_end read. */
static int zip_walk(walker *w) {
    zentry *v = NULL;
    size_t n = 0;
    w->ix->zip = 1;
    int rc = zip_entries(w, &v, &n);
    free(w->zb);
    w->zb = NULL, w->zb_cap = w->zb_len = 0;
    if (rc == LGP_OK && n > 1) qsort(v, n, sizeof *v, by_offset);
    for (size_t i = 0; i < n && rc == LGP_OK; i++)
        if (i == 0 || v[i].lho != v[i - 1].lho) rc = zip_member(w, &v[i]); /* libarchive keeps one entry per offset */
    free(v);
    return rc;
}

/* ---- reading a member back ---- */

static int read_exact(int fd, uint8_t *dst, size_t n, uint64_t off, char *err, size_t errlen) {
    for (size_t got = 0; got < n;) {
        ssize_t r = pread(fd, dst + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
            return snprintf(err, errlen, "%s at byte %llu", r < 0 ? strerror(errno) : "unexpected end of file",
                            (unsigned long long)(off + got)), LGP_FATAL;
        got += (size_t)r;
    }
    return LGP_OK;
}

int lgp_tarindex_read(int fd, uint64_t offset, uint64_t size, uint64_t csize, int method, uint8_t *dst, char *err,
                      size_t errlen) {
    if (method == LGP_TARENT_STORED) return read_exact(fd, dst, (size_t)size, offset, err, errlen);
    if (method != LGP_TARENT_DEFLATE) return snprintf(err, errlen, "compression method %d", method), LGP_FATAL;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    size_t cap = csize < ZIP_PIECE ? (size_t)csize : ZIP_PIECE;
    uint8_t *in = malloc(cap ? cap : 1), spare;
    if (!in || inflateInit2(&zs, -15) != Z_OK) return free(in), snprintf(err, errlen, "out of memory"), LGP_FATAL;
    uint64_t used = 0, left = size; /* compressed bytes read, output bytes still to come */
    int rc = LGP_OK;
    for (;;) {
        if (!zs.avail_in && used < csize) {
            size_t k = csize - used < cap ? (size_t)(csize - used) : cap;
            if ((rc = read_exact(fd, in, k, offset + used, err, errlen)) != LGP_OK) break;
            zs.next_in = in, zs.avail_in = (uInt)k, used += k;
        }
        uInt room = left == 0 ? 1 : left > UINT32_MAX ? UINT32_MAX : (uInt)left; /* one spare byte: too long? */
        zs.next_out = left == 0 ? &spare : dst + (size - left), zs.avail_out = room;
        int zr = inflate(&zs, Z_NO_FLUSH);
        uint64_t made = room - zs.avail_out;
        if (left == 0 && made) {
            rc = LGP_FATAL, snprintf(err, errlen, "deflate data at byte %llu inflates to more than %llu bytes",
                                     (unsigned long long)offset, (unsigned long long)size);
            break;
        }
        left -= made;
        if (zr == Z_STREAM_END) break;
        const char *why = zr == Z_BUF_ERROR && !zs.avail_in && used == csize ? "the stream is cut short"
                          : zr != Z_OK && zr != Z_BUF_ERROR ? (zs.msg ? zs.msg : "inflate failed") : NULL;
        if (why) {
            rc = LGP_FATAL, snprintf(err, errlen, "bad deflate data at byte %llu: %s",
                                     (unsigned long long)(offset + used - zs.avail_in), why);
            break;
        }
    }
    if (rc == LGP_OK && left)
        rc = LGP_FATAL, snprintf(err, errlen, "deflate data at byte %llu ends at %llu of %llu bytes", (unsigned long long)offset,
                                 (unsigned long long)(size - left), (unsigned long long)size);
    inflateEnd(&zs);
    free(in);
    return rc;
}

/* ---- a directory: its files, recursively, sorted by relative path ---- */

typedef struct {
    lgp_tarindex *ix;
    const char *root;
    int root_len;     /* root without trailing '/', for messages */
    char *rel;        /* the folder being read, relative to root, with a trailing '/' ("" at the root) */
    size_t rel_len, rel_cap;
    char msg[1024];
} lister;

/* "root/rel/name: what" (the folder itself when name is ""). */
static int list_fail(lister *l, const char *name, const char *what) {
    size_t n = l->rel_len - (!name[0] && l->rel_len);
    snprintf(l->msg, sizeof l->msg, "%.*s%s%.*s%s: %s", l->root_len, l->root, n || name[0] ? "/" : "", (int)n, l->rel,
             name, what);
    return LGP_FATAL;
}

static int64_t mtime_ns(const struct stat *st) { return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec; }

/* The entries of the open folder dfd (taken over: closed here), at l->rel. */
static int list_folder(lister *l, int dfd) {
    DIR *d = fdopendir(dfd);
    if (!d) {
        int e = errno;
        close(dfd);
        return list_fail(l, "", strerror(e));
    }
    int rc = LGP_OK;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno) rc = list_fail(l, "", strerror(errno));
            break;
        }
        const char *nm = de->d_name;
        if (nm[0] == '.') continue; /* hidden, and "." and ".." */
        struct stat st, lst;
        if (fstatat(dirfd(d), nm, &lst, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue; /* removed while listed */
            rc = list_fail(l, nm, strerror(errno));
            break;
        }
        int link = S_ISLNK(lst.st_mode), dangling = link && fstatat(dirfd(d), nm, &st, 0) != 0;
        if (!link || dangling) st = lst;
        size_t k = strlen(nm);
        if (grow(&l->rel, &l->rel_cap, l->rel_len + k + 2)) {
            rc = list_fail(l, nm, "out of memory");
            break;
        }
        if (S_ISDIR(st.st_mode) && !link && !dangling) {
            int sub = openat(dirfd(d), nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                rc = list_fail(l, nm, strerror(errno));
                break;
            }
            size_t at = l->rel_len;
            memcpy(l->rel + at, nm, k);
            memcpy(l->rel + at + k, "/", 2);
            l->rel_len = at + k + 1;
            rc = list_folder(l, sub);
            l->rel_len = at;
            l->rel[at] = 0;
            if (rc != LGP_OK) break;
            continue;
        }
        if (!dangling && !S_ISREG(st.st_mode)) continue; /* devices, pipes, links to folders */
        memcpy(l->rel + l->rel_len, nm, k + 1);
        uint64_t size = dangling ? 0 : (uint64_t)st.st_size;
        int bad = push(l->ix, l->rel, NULL, 0, size, size, LGP_TARENT_STORED, mtime_ns(&st));
        l->rel[l->rel_len] = 0;
        if (bad) {
            rc = list_fail(l, nm, "out of memory");
            break;
        }
    }
    closedir(d);
    return rc;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const lgp_tarent *)a)->name, ((const lgp_tarent *)b)->name);
}

/* The listing of the directory open as fd (taken over). */
static int list_dir(lgp_tarindex *ix, const char *path, int fd, char *err, size_t errlen) {
    lister l = {.ix = ix, .root = path, .root_len = (int)strlen(path)};
    while (l.root_len > 1 && path[l.root_len - 1] == '/') l.root_len--;
    int rc = grow(&l.rel, &l.rel_cap, 256) ? (close(fd), list_fail(&l, "", "out of memory")) : LGP_OK;
    if (rc == LGP_OK) {
        l.rel[0] = 0;
        rc = list_folder(&l, fd);
    }
    free(l.rel);
    ix->dir = 1;
    if (rc != LGP_OK) {
        snprintf(err, errlen, "%s", l.msg);
        lgp_tarindex_free(ix);
        return rc;
    }
    if (ix->n > 1) qsort(ix->v, ix->n, sizeof *ix->v, by_name);
    return LGP_OK;
}

void lgp_tarindex_free(lgp_tarindex *ix) {
    for (size_t i = 0; i < ix->n; i++) {
        free(ix->v[i].name);
        free(ix->v[i].inner);
    }
    free(ix->v);
    free(ix->bad_first);
    memset(ix, 0, sizeof *ix);
}

int lgp_tarindex_build(lgp_tarindex *ix, const char *path, char *err, size_t errlen) {
    memset(ix, 0, sizeof *ix);
    if (errlen) err[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return LGP_FATAL;
    }
    struct stat st;
    int rc = fstat(fd, &st) != 0 ? LGP_FATAL : S_ISDIR(st.st_mode) ? LGP_OK : !S_ISREG(st.st_mode) ? LGP_EOF : LGP_OK;
    if (rc == LGP_OK && S_ISDIR(st.st_mode)) return list_dir(ix, path, fd, err, errlen);
    if (rc != LGP_OK) {
        snprintf(err, errlen, "%s: %s", path,
                 rc == LGP_FATAL ? strerror(errno) : "neither a regular file nor a folder: cannot be indexed in place");
        close(fd);
        return rc;
    }
    walker *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "%s: out of memory", path);
        close(fd);
        return LGP_FATAL;
    }
    w->fd = fd;
    w->fsize = (uint64_t)st.st_size;
    w->path = path;
    w->ix = ix;
    rc = first_block(w, 0, w->fsize);
    if (rc == IS_ZIP) rc = zip_walk(w);
    else if (rc == LGP_OK) rc = walk(w, 0, w->fsize, NULL);
    if (rc == LGP_BAD_RECORD) rc = LGP_FATAL;
    if (rc != LGP_OK) {
        snprintf(err, errlen, "%s", w->msg);
        lgp_tarindex_free(ix);
    }
    free(w->zb);
    free(w->meta);
    free(w->lname);
    free(w->ppath);
    free(w);
    close(fd);
    return rc;
}
