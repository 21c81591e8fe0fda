/* npz.c — .npy members in a stored ZIP archive, written atomically (see npz.h). */
#include "npz.h"

#include "atomicfile.h"
#include "le.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define OUTBUF ((size_t)1 << 20)
#define U32_MAX_FIELD 0xFFFFFFFFu

typedef struct {
    char *name;     /* "<name>.npy" */
    uint32_t crc;
    uint64_t size;  /* stored = uncompressed */
    uint64_t off;   /* of the local header */
    int zip64;      /* local header carries the ZIP64 sizes */
} member;

struct lgp_npz {
    lgp_atomic at;
    char *path;
    unsigned flags;
    uint64_t off;   /* bytes written so far */
    unsigned char *buf;
    size_t blen;
    int failed;     /* a write failed (errno kept in werr) */
    int werr;
    member *m;
    size_t n, cap;
};

static const struct { lgp_dtype dt; const char *descr; } descrs[] = {
    {LGP_DT_U8, "|u1"},  {LGP_DT_I8, "|i1"},  {LGP_DT_I32, "<i4"}, {LGP_DT_I64, "<i8"},
    {LGP_DT_F16, "<f2"}, {LGP_DT_F32, "<f4"}, {LGP_DT_F64, "<f8"},
};

const char *lgp_npz_descr(lgp_dtype dt) {
    for (size_t i = 0; i < LGP_ARRAY_LEN(descrs); i++)
        if (descrs[i].dt == dt) return descrs[i].descr;
    return NULL;
}

/* ---- output: one buffer in front of the atomic file ---- */
static void flush_out(lgp_npz *z) {
    if (!z->failed && z->blen && lgp_write_all(z->at.fd, z->buf, z->blen) != 0) z->failed = 1, z->werr = errno;
    z->blen = 0;
}

static void out(lgp_npz *z, const void *p, size_t n) {
    const unsigned char *b = p;
    z->off += n;
    while (n) {
        if (z->blen == OUTBUF) flush_out(z);
        size_t k = OUTBUF - z->blen < n ? OUTBUF - z->blen : n;
        memcpy(z->buf + z->blen, b, k);
        z->blen += k, b += k, n -= k;
    }
}

static void out16(lgp_npz *z, uint16_t v) { unsigned char b[2]; lgp_wr16(b, v); out(z, b, 2); }
static void out32(lgp_npz *z, uint32_t v) { unsigned char b[4]; lgp_wr32(b, v); out(z, b, 4); }
static void out64(lgp_npz *z, uint64_t v) { unsigned char b[8]; lgp_wr64(b, v); out(z, b, 8); }

int lgp_npz_open(lgp_npz **outp, const char *path, unsigned flags, char *err, size_t errlen) {
    *outp = NULL;
    lgp_npz *z = calloc(1, sizeof *z);
    if (!z || !(z->buf = malloc(OUTBUF)) || !(z->path = strdup(path))) {
        if (z) free(z->buf);
        free(z);
        return snprintf(err, errlen, "%s: out of memory", path), LGP_FATAL;
    }
    if (lgp_atomic_open(&z->at, path, err, errlen) != LGP_OK) {
        free(z->buf);
        free(z->path);
        free(z);
        return LGP_FATAL;
    }
    z->flags = flags;
    *outp = z;
    return LGP_OK;
}

/* ---- member contents, produced twice: once for the CRC, once into the file ---- */
typedef void (*sink_fn)(void *ctx, const void *p, size_t n);

typedef struct {
    char hdr[512];             /* the .npy preamble and header */
    size_t hlen;
    const unsigned char *data; /* numbers: the array's bytes */
    size_t nbytes;
    const char *text;          /* text: bytes[offs[i] .. offs[i+1]) for i < count */
    const uint64_t *offs;
    uint64_t count;
    size_t width;              /* code points per element */
    unsigned char *row;        /* [4 * width] scratch */
} content;

static void crc_sink(void *ctx, const void *p, size_t n) {
    uLong *c = ctx;
    const unsigned char *b = p;
    while (n) { /* zlib takes uInt lengths */
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        *c = crc32(*c, b, k);
        b += k, n -= k;
    }
}

static void file_sink(void *ctx, const void *p, size_t n) { out(ctx, p, n); }

/* Decodes one UTF-8 sequence at s (n > 0 bytes left): the code point, and its length in
 * *len; a malformed or overlong sequence, a surrogate or a value past U+10FFFF is
 * U+FFFD for one byte. */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *len) {
    unsigned c = s[0];
    int k = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : -1;
    *len = 1;
    if (k == 0) return c;
    if (k < 0 || (size_t)k >= n) return 0xFFFD;
    uint32_t v = c & (0x3F >> k);
    for (int i = 1; i <= k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0xFFFD;
        v = v << 6 | (s[i] & 0x3F);
    }
    static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
    if (v < min[k] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0xFFFD;
    *len = (size_t)k + 1;
    return v;
}

/* Code points in s[0..n); with row, also writes them there as UTF-32LE. */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned char *row) {
    size_t cp = 0, len;
    for (size_t i = 0; i < n; i += len, cp++) {
        uint32_t v = utf8_next(s + i, n - i, &len);
        if (row) lgp_wr32(row + 4 * cp, v);
    }
    return cp;
}

static void produce(const content *c, sink_fn sink, void *ctx) {
    sink(ctx, c->hdr, c->hlen);
    if (!c->text) {
        if (c->nbytes) sink(ctx, c->data, c->nbytes);
        return;
    }
    for (uint64_t i = 0; i < c->count; i++) {
        memset(c->row, 0, 4 * c->width);
        utf8_decode((const unsigned char *)c->text + c->offs[i], (size_t)(c->offs[i + 1] - c->offs[i]), c->row);
        sink(ctx, c->row, 4 * c->width);
    }
}

/* The .npy v1.0 preamble and header dict, padded with spaces and '\n' so that the data
 * starts 64-byte aligned, as numpy.lib.format writes it. */
static void npy_header(content *c, const char *descr, int ndim, const int64_t *shape) {
    char sh[(LGP_MAX_NDIM + 1) * 24 + 8], *p = sh;
    p += sprintf(p, "(");
    for (int d = 0; d < ndim; d++) p += sprintf(p, d ? ", %lld" : "%lld", (long long)shape[d]);
    strcpy(p, ndim == 1 ? ",)" : ")");
    char dict[sizeof c->hdr];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, sh);
    LGP_ASSERT(n > 0 && (size_t)n + 10 + 64 < sizeof c->hdr);
    size_t total = ((size_t)n + 10 + 1 + 63) / 64 * 64, hl = total - 10;
    memcpy(c->hdr, "\x93NUMPY\x01\x00", 8);
    lgp_wr16((unsigned char *)c->hdr + 8, (uint16_t)hl);
    memcpy(c->hdr + 10, dict, (size_t)n);
    memset(c->hdr + 10 + n, ' ', hl - (size_t)n - 1);
    c->hdr[total - 1] = '\n';
    c->hlen = total;
}

static int non_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return 1;
    return 0;
}

static void local_header(lgp_npz *z, const member *m) {
    size_t nl = strlen(m->name);
    out32(z, 0x04034b50);
    out16(z, m->zip64 ? 45 : 20);
    out16(z, non_ascii(m->name) ? 0x800 : 0); /* bit 11: the name is UTF-8 */
    out16(z, 0);                              /* stored */
    out16(z, 0), out16(z, 0x21);              /* 00:00, 1980-01-01 */
    out32(z, m->crc);
    out32(z, m->zip64 ? U32_MAX_FIELD : (uint32_t)m->size);
    out32(z, m->zip64 ? U32_MAX_FIELD : (uint32_t)m->size);
    out16(z, (uint16_t)nl);
    out16(z, m->zip64 ? 20 : 0);
    out(z, m->name, nl);
    if (m->zip64) out16(z, 1), out16(z, 16), out64(z, m->size), out64(z, m->size);
}

static int add_member(lgp_npz *z, const char *name, content *c, uint64_t size, char *err, size_t errlen) {
    size_t nl = strlen(name) + 4;
    if (nl > 0xFFFF) return snprintf(err, errlen, "%s: array name of %zu bytes is too long for ZIP", z->path, nl), LGP_FATAL;
    if (z->n == z->cap) {
        size_t cap = z->cap ? 2 * z->cap : 16;
        member *nm = realloc(z->m, cap * sizeof *nm);
        if (!nm) return snprintf(err, errlen, "%s: out of memory", z->path), LGP_FATAL;
        z->m = nm, z->cap = cap;
    }
    member *m = &z->m[z->n];
    memset(m, 0, sizeof *m);
    if (!(m->name = malloc(nl + 1))) return snprintf(err, errlen, "%s: out of memory", z->path), LGP_FATAL;
    snprintf(m->name, nl + 1, "%s.npy", name);
    z->n++;
    uLong crc = crc32(0, Z_NULL, 0);
    produce(c, crc_sink, &crc);
    m->crc = (uint32_t)crc;
    m->size = c->hlen + size;
    m->off = z->off;
    m->zip64 = (z->flags & LGP_NPZ_ZIP64) || m->size >= U32_MAX_FIELD;
    local_header(z, m);
    produce(c, file_sink, z);
    if (z->failed) return snprintf(err, errlen, "%s: write error: %s", z->path, strerror(z->werr)), LGP_FATAL;
    return LGP_OK;
}

/* numel of shape, or -1 when negative or past 2^62. */
static int64_t numel_of(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || (shape[d] && n > ((int64_t)1 << 62) / shape[d])) return -1;
        n *= shape[d];
    }
    return n;
}

int lgp_npz_add(lgp_npz *z, const char *name, lgp_dtype dt, int ndim, const int64_t *shape,
                const void *data, size_t nbytes, char *err, size_t errlen) {
    const char *descr = lgp_npz_descr(dt);
    if (!descr) return snprintf(err, errlen, "%s: '%s': dtype %s has no NumPy equivalent", z->path, name, lgp_dtype_name(dt)), LGP_FATAL;
    int64_t numel = numel_of(ndim, shape);
    LGP_ASSERT(ndim >= 0 && ndim <= LGP_MAX_NDIM + 1 && numel >= 0 && (uint64_t)numel * lgp_dtype_size(dt) == nbytes);
    content c = {.data = data, .nbytes = nbytes};
    npy_header(&c, descr, ndim, shape);
    return add_member(z, name, &c, nbytes, err, errlen);
}

int lgp_npz_add_text(lgp_npz *z, const char *name, int ndim, const int64_t *shape,
                     const char *bytes, const uint64_t *offs, char *err, size_t errlen) {
    int64_t numel = numel_of(ndim, shape);
    LGP_ASSERT(ndim >= 0 && ndim <= LGP_MAX_NDIM + 1 && numel >= 0);
    content c = {.text = bytes, .offs = offs, .count = (uint64_t)numel, .width = 1};
    for (uint64_t i = 0; i < c.count; i++) {
        size_t w = utf8_decode((const unsigned char *)bytes + offs[i], (size_t)(offs[i + 1] - offs[i]), NULL);
        if (w > c.width) c.width = w;
    }
    if (c.width > ((size_t)1 << 40) / 4 || (c.count && 4 * c.width > UINT64_MAX / c.count))
        return snprintf(err, errlen, "%s: '%s': text array too large", z->path, name), LGP_FATAL;
    char descr[32];
    snprintf(descr, sizeof descr, "<U%zu", c.width);
    npy_header(&c, descr, ndim, shape);
    if (!(c.row = malloc(4 * c.width))) return snprintf(err, errlen, "%s: out of memory", z->path), LGP_FATAL;
    int rc = add_member(z, name, &c, c.count * 4 * c.width, err, errlen);
    free(c.row);
    return rc;
}

/* The central directory: one entry per member, ZIP64 extra fields where a value does
 * not fit (or every one with LGP_NPZ_ZIP64), then the end records. */
static void central_directory(lgp_npz *z) {
    int force = z->flags & LGP_NPZ_ZIP64;
    uint64_t cd_off = z->off;
    for (size_t i = 0; i < z->n; i++) {
        const member *m = &z->m[i];
        int big_size = force || m->size >= U32_MAX_FIELD, big_off = force || m->off >= U32_MAX_FIELD;
        uint16_t xlen = (uint16_t)((big_size ? 16 : 0) + (big_off ? 8 : 0));
        size_t nl = strlen(m->name);
        int v = big_size || big_off ? 45 : 20;
        out32(z, 0x02014b50);
        out16(z, (uint16_t)(3 << 8 | v)); /* made by: Unix, so the mode below counts */
        out16(z, (uint16_t)v);
        out16(z, non_ascii(m->name) ? 0x800 : 0);
        out16(z, 0);
        out16(z, 0), out16(z, 0x21);
        out32(z, m->crc);
        out32(z, big_size ? U32_MAX_FIELD : (uint32_t)m->size);
        out32(z, big_size ? U32_MAX_FIELD : (uint32_t)m->size);
        out16(z, (uint16_t)nl);
        out16(z, xlen ? (uint16_t)(xlen + 4) : 0);
        out16(z, 0), out16(z, 0), out16(z, 0); /* comment, disk, internal attributes */
        out32(z, (uint32_t)0100644 << 16);     /* -rw-r--r-- */
        out32(z, big_off ? U32_MAX_FIELD : (uint32_t)m->off);
        out(z, m->name, nl);
        if (xlen) {
            out16(z, 1), out16(z, xlen);
            if (big_size) out64(z, m->size), out64(z, m->size);
            if (big_off) out64(z, m->off);
        }
    }
    uint64_t cd_size = z->off - cd_off, e64 = z->off;
    int zip64 = force || z->n > 0xFFFF || cd_off >= U32_MAX_FIELD || cd_size >= U32_MAX_FIELD;
    if (zip64) {
        out32(z, 0x06064b50), out64(z, 44);
        out16(z, 3 << 8 | 45), out16(z, 45);
        out32(z, 0), out32(z, 0);
        out64(z, z->n), out64(z, z->n), out64(z, cd_size), out64(z, cd_off);
        out32(z, 0x07064b50), out32(z, 0), out64(z, e64), out32(z, 1);
    }
    uint16_t n16 = z->n > 0xFFFF ? 0xFFFF : (uint16_t)z->n;
    out32(z, 0x06054b50);
    out16(z, 0), out16(z, 0), out16(z, n16), out16(z, n16);
    out32(z, cd_size >= U32_MAX_FIELD ? U32_MAX_FIELD : (uint32_t)cd_size);
    out32(z, cd_off >= U32_MAX_FIELD ? U32_MAX_FIELD : (uint32_t)cd_off);
    out16(z, 0);
}

static void npz_free(lgp_npz *z) {
    for (size_t i = 0; i < z->n; i++) free(z->m[i].name);
    free(z->m);
    free(z->buf);
    free(z->path);
    free(z);
}

int lgp_npz_close(lgp_npz *z, char *err, size_t errlen) {
    central_directory(z);
    flush_out(z);
    int rc;
    if (z->failed) {
        snprintf(err, errlen, "%s: write error: %s", z->path, strerror(z->werr));
        lgp_atomic_abort(&z->at);
        rc = LGP_FATAL;
    } else
        rc = lgp_atomic_commit(&z->at, err, errlen);
    npz_free(z);
    return rc;
}

void lgp_npz_abort(lgp_npz *z) {
    if (!z) return;
    lgp_atomic_abort(&z->at);
    npz_free(z);
}
