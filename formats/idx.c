/* idx.c — IDX reader (see idx.h for the format). */
#include "idx.h"

#include "common/lgp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int lgp_idx_parse_header(const uint8_t *mem, size_t n, lgp_idx *out, size_t *hdr_len,
                         char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (n < 4) {
        snprintf(err, errlen, "truncated IDX header (%zu bytes)", n);
        return LGP_FATAL;
    }
    if (mem[0] != 0 || mem[1] != 0) {
        snprintf(err, errlen, "not an IDX file (bad magic %02x %02x)", mem[0], mem[1]);
        return LGP_FATAL;
    }
    if (mem[2] != 0x08) {
        snprintf(err, errlen, "IDX element type 0x%02x not supported (only 0x08, unsigned byte)", mem[2]);
        return LGP_FATAL;
    }
    int nd = mem[3];
    if (nd < 1 || nd > LGP_IDX_MAX_NDIM) {
        snprintf(err, errlen, "IDX ndim %d out of range [1, %d]", nd, LGP_IDX_MAX_NDIM);
        return LGP_FATAL;
    }
    if (n < 4 + 4 * (size_t)nd) {
        snprintf(err, errlen, "truncated IDX header (%zu of %d bytes)", n, 4 + 4 * nd);
        return LGP_FATAL;
    }
    size_t total = 1;
    for (int d = 0; d < nd; d++) {
        uint32_t v = be32(mem + 4 + 4 * d);
        if (v == 0 && d > 0) {
            snprintf(err, errlen, "IDX dimension %d is 0", d);
            return LGP_FATAL;
        }
        /* overflow-checked product, capped well below SIZE_MAX */
        if (v && total > LGP_IDX_MAX_BYTES / v) {
            snprintf(err, errlen, "IDX dimensions too large (over %zu bytes)", (size_t)LGP_IDX_MAX_BYTES);
            return LGP_FATAL;
        }
        total *= v;
        out->dims[d] = v;
    }
    out->ndim = nd;
    *hdr_len = 4 + 4 * (size_t)nd;
    out->nbytes = total;
    return LGP_OK;
}

/* Reads exactly n bytes unless the file ends; returns bytes read or -1 on a zlib error. */
static long long gz_read_full(gzFile f, uint8_t *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        unsigned chunk = n - got > (1u << 30) ? (1u << 30) : (unsigned)(n - got);
        int r = gzread(f, buf + got, chunk);
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (long long)got;
}

/* Reads up to n bytes into a buffer grown as the data arrives (*buf, heap), so that a
 * short file whose header claims gigabytes costs only what it holds. Returns bytes
 * read, -1 on a zlib error, -2 when out of memory. */
static long long gz_read_grow(gzFile f, uint8_t **buf, size_t n) {
    size_t got = 0, cap = n < ((size_t)1 << 24) ? n : ((size_t)1 << 24);
    *buf = malloc(cap ? cap : 1);
    if (!*buf) return -2;
    for (;;) {
        long long r = gz_read_full(f, *buf + got, cap - got);
        if (r < 0) return -1;
        got += (size_t)r;
        if (got < cap || cap == n) return (long long)got;
        size_t nc = cap > n / 2 ? n : cap * 2;
        uint8_t *nb = realloc(*buf, nc);
        if (!nb) return -2;
        *buf = nb, cap = nc;
    }
}

static int gz_fail(gzFile f, const char *path, const char *what, char *err, size_t errlen) {
    int zerr = 0;
    const char *m = gzerror(f, &zerr);
    snprintf(err, errlen, "%s: %s (%s)", path, what, zerr ? m : "unexpected end of file");
    return LGP_FATAL;
}

int lgp_idx_load(const char *path, lgp_idx *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, errno ? strerror(errno) : "cannot open");
        return LGP_FATAL;
    }
    uint8_t hdr[4 + 4 * LGP_IDX_MAX_NDIM];
    long long got = gz_read_full(f, hdr, 4);
    if (got < 0) goto zfail;
    int nd = got == 4 ? hdr[3] : 0;
    if (got == 4 && nd >= 1 && nd <= LGP_IDX_MAX_NDIM) {
        long long g2 = gz_read_full(f, hdr + 4, 4 * (size_t)nd);
        if (g2 < 0) goto zfail;
        got += g2;
    }
    size_t hl, nbytes;
    char m[200];
    if (lgp_idx_parse_header(hdr, (size_t)got, out, &hl, m, sizeof m) != LGP_OK) {
        snprintf(err, errlen, "%s: %s", path, m);
        gzclose(f);
        return LGP_FATAL;
    }
    nbytes = out->nbytes;
    got = gz_read_grow(f, &out->data, nbytes);
    if (got == -2) {
        snprintf(err, errlen, "%s: out of memory (%zu bytes)", path, nbytes);
        goto fail;
    }
    if (got < 0) goto zfail;
    if ((size_t)got != nbytes) {
        snprintf(err, errlen, "%s: truncated IDX data (%lld of %zu bytes)", path, got, nbytes);
        goto fail;
    }
    uint8_t extra;
    got = gz_read_full(f, &extra, 1);
    if (got < 0) goto zfail;
    if (got != 0) {
        snprintf(err, errlen, "%s: trailing bytes after %zu bytes of IDX data", path, nbytes);
        goto fail;
    }
    gzclose(f);
    return LGP_OK;
zfail:
    gz_fail(f, path, "read error", err, errlen);
fail:
    gzclose(f);
    lgp_idx_free(out);
    return LGP_FATAL;
}

void lgp_idx_free(lgp_idx *x) {
    free(x->data);
    memset(x, 0, sizeof *x);
}

int lgp_idx_sniff(const char *path) {
    gzFile f = gzopen(path, "rb");
    if (!f) return 0;
    uint8_t h[4];
    long long got = gz_read_full(f, h, 4);
    gzclose(f);
    return got == 4 && h[0] == 0 && h[1] == 0 && h[2] == 0x08 && h[3] >= 1 && h[3] <= LGP_IDX_MAX_NDIM;
}
