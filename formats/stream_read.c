/* stream_read.c — lgp_reader: raw or zstd streams, concatenated, validated field by
 * field before anything is allocated (layout in STREAM.md). */
#include "crc32c.h"
#include "le.h"
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define IN_CAP (1u << 17)
#define BODY_CHUNK ((size_t)64 << 20) /* grow a record buffer at most this much per read */
#define MAX_BODY ((uint64_t)1 << 40)

struct lgp_reader {
    int fd, own_fd;
    char *name;
    unsigned char *ib; /* bytes from the fd */
    size_t ib_pos, ib_len;
    int in_eof;
    ZSTD_DCtx *dctx;
    int zmode, frame_done;
    unsigned char *ob; /* decompressed bytes not yet consumed */
    size_t ob_cap, ob_pos, ob_len;
    uint64_t off;   /* decompressed offset within the current stream */
    uint64_t index; /* records returned (good) */
    uint64_t seen;  /* records framed, good or bad */
    char *meta;
    int state; /* 0 reading records, 1 after end record, 2 failed */
    int concat; /* lgp_reader_next goes on into a following stream */
    volatile sig_atomic_t *stop; /* non-zero: stop waiting for input */
    int interrupted;
    char err[512];
};

static int fail(lgp_reader *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(lgp_reader *r, int code, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->state == 0 && r->meta)
        snprintf(r->err, sizeof r->err, "%s: record %llu (byte %llu): %s", r->name,
                 (unsigned long long)r->seen, (unsigned long long)r->off, msg);
    else
        snprintf(r->err, sizeof r->err, "%s: byte %llu: %s", r->name, (unsigned long long)r->off, msg);
    if (code == LGP_FATAL) r->state = 2;
    return code;
}

/* A stop was requested while the reader waited for input (see lgp_reader_set_stop_flag). */
static long interrupted(lgp_reader *r) {
    r->interrupted = 1;
    errno = EINTR;
    return -1;
}

/* Makes compressed/raw input available; returns bytes buffered, 0 at EOF, -1 on error. */
static long in_fill(lgp_reader *r) {
    if (r->ib_pos < r->ib_len) return (long)(r->ib_len - r->ib_pos);
    r->ib_pos = r->ib_len = 0;
    if (r->in_eof) return 0;
    for (;;) {
        if (r->stop && *r->stop) return interrupted(r);
        ssize_t k = read(r->fd, r->ib, IN_CAP);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -1;
        if (k == 0) r->in_eof = 1;
        r->ib_len = (size_t)k;
        return k;
    }
}

/* One decompression call into out; returns bytes produced or -1 (message set). */
static long z_step(lgp_reader *r, unsigned char *out, size_t cap) {
    long avail = in_fill(r);
    if (avail < 0) return fail(r, LGP_FATAL, "read error: %s", strerror(errno)), -1;
    if (avail == 0) return 0;
    if (r->frame_done) {
        /* A new frame must start here. */
        if (r->ib_len - r->ib_pos >= 4 && lgp_rd32(r->ib + r->ib_pos) != ZSTD_MAGICNUMBER)
            return fail(r, LGP_FATAL, "garbage after zstd frame"), -1;
    }
    ZSTD_inBuffer in = {r->ib, r->ib_len, r->ib_pos};
    ZSTD_outBuffer o = {out, cap, 0};
    size_t ret = ZSTD_decompressStream(r->dctx, &o, &in);
    r->ib_pos = in.pos;
    if (ZSTD_isError(ret)) return fail(r, LGP_FATAL, "zstd: %s", ZSTD_getErrorName(ret)), -1;
    r->frame_done = ret == 0;
    if (o.pos == 0 && in.pos == r->ib_len && r->in_eof) return 0;
    return (long)o.pos;
}

/* Reads up to n stream bytes into dst; returns count (< n only at end of input), -1 on error. */
static long src_read(lgp_reader *r, void *dst, size_t n) {
    unsigned char *d = dst;
    size_t got = 0;
    while (got < n) {
        if (!r->zmode) {
            long a = in_fill(r);
            if (a < 0) return fail(r, LGP_FATAL, "read error: %s", strerror(errno)), -1;
            if (a == 0) break;
            size_t k = (size_t)a < n - got ? (size_t)a : n - got;
            memcpy(d + got, r->ib + r->ib_pos, k);
            r->ib_pos += k;
            got += k;
            continue;
        }
        if (r->ob_pos < r->ob_len) {
            size_t k = r->ob_len - r->ob_pos < n - got ? r->ob_len - r->ob_pos : n - got;
            memcpy(d + got, r->ob + r->ob_pos, k);
            r->ob_pos += k;
            got += k;
            continue;
        }
        long k;
        if (n - got >= r->ob_cap) { /* large read: decompress straight into dst */
            k = z_step(r, d + got, n - got);
            if (k > 0) got += (size_t)k;
        } else {
            r->ob_pos = r->ob_len = 0;
            k = z_step(r, r->ob, r->ob_cap);
            if (k > 0) r->ob_len = (size_t)k;
        }
        if (k < 0) return -1;
        if (k == 0 && in_fill(r) == 0) break;
    }
    r->off += got;
    return (long)got;
}

static int read_exact(lgp_reader *r, void *dst, size_t n, const char *what) {
    long k = src_read(r, dst, n);
    if (k < 0) return LGP_FATAL;
    if ((size_t)k < n) return fail(r, LGP_FATAL, "truncated stream (ends inside %s)", what);
    return LGP_OK;
}

static int read_header(lgp_reader *r) {
    unsigned char h[12];
    r->off = 0;
    r->index = r->seen = 0;
    r->state = 0;
    free(r->meta);
    r->meta = NULL;
    long k = src_read(r, h, sizeof h);
    if (k < 0) return LGP_FATAL;
    if (k == 0 && r->zmode) return fail(r, LGP_FATAL, "truncated stream (zstd frame ends before the header)");
    if (k < 4 || memcmp(h, "LGPS", 4) != 0)
        return fail(r, LGP_FATAL, k == 0 ? "empty input (not an lgp stream)" : "not an lgp stream (bad magic)");
    if ((size_t)k < sizeof h) return fail(r, LGP_FATAL, "truncated stream (ends inside header)");
    if (h[4] != 1) return fail(r, LGP_FATAL, "unsupported stream version %u", h[4]);
    uint32_t mlen = lgp_rd32(h + 8);
    if (mlen > LGP_MAX_META) return fail(r, LGP_FATAL, "header metadata of %u bytes exceeds the limit", mlen);
    char *meta = malloc((size_t)mlen + 1);
    if (!meta) return fail(r, LGP_FATAL, "out of memory");
    unsigned char c[4];
    if (read_exact(r, meta, mlen, "header") || read_exact(r, c, 4, "header")) {
        free(meta);
        return LGP_FATAL;
    }
    uint32_t crc = lgp_crc32c(lgp_crc32c(0, h, sizeof h), meta, mlen);
    if (crc != lgp_rd32(c)) {
        free(meta);
        return fail(r, LGP_FATAL, "header checksum mismatch");
    }
    meta[mlen] = 0;
    if (memchr(meta, 0, mlen)) {
        free(meta);
        return fail(r, LGP_FATAL, "header metadata contains a NUL byte");
    }
    r->meta = meta;
    return LGP_OK;
}

/* Picks raw or zstd from the next input bytes and reads the stream header. */
static int begin_stream(lgp_reader *r, int at_start) {
    if (r->zmode && (r->ob_pos < r->ob_len || !r->frame_done)) return read_header(r);
    r->zmode = 0;
    long a = in_fill(r);
    if (a < 0) return fail(r, LGP_FATAL, "read error: %s", strerror(errno));
    if (a == 0) return at_start ? fail(r, LGP_FATAL, "empty input (not an lgp stream)") : LGP_EOF;
    while (r->ib_len - r->ib_pos < 4 && !r->in_eof) { /* gather 4 magic bytes */
        memmove(r->ib, r->ib + r->ib_pos, r->ib_len - r->ib_pos);
        r->ib_len -= r->ib_pos;
        r->ib_pos = 0;
        if (r->stop && *r->stop) return interrupted(r), fail(r, LGP_FATAL, "read error: %s", strerror(EINTR));
        ssize_t k = read(r->fd, r->ib + r->ib_len, IN_CAP - r->ib_len);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) r->in_eof = 1;
        else r->ib_len += (size_t)k;
    }
    if (r->ib_len - r->ib_pos >= 4 && lgp_rd32(r->ib + r->ib_pos) == ZSTD_MAGICNUMBER) {
        r->zmode = 1;
        r->frame_done = 0;
        r->ob_pos = r->ob_len = 0;
        ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only);
    }
    int rc = read_header(r);
    if (rc != LGP_OK && !at_start && r->state == 2 && !r->zmode)
        snprintf(r->err + strlen(r->err), sizeof r->err - strlen(r->err), " after end of stream");
    return rc;
}

void lgp_fd_widen_pipe(int fd) {
#ifdef F_SETPIPE_SZ
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && fcntl(fd, F_GETPIPE_SZ) < (1 << 20))
        (void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
#else
    (void)fd;
#endif
}

int lgp_reader_open_fd(lgp_reader **out, int fd, const char *name, char *err, size_t errlen) {
    *out = NULL;
    lgp_fd_widen_pipe(fd);
    lgp_reader *r = calloc(1, sizeof *r);
    if (!r) goto oom;
    r->fd = fd;
    r->name = strdup(name);
    r->ib = malloc(IN_CAP);
    r->ob_cap = ZSTD_DStreamOutSize();
    r->ob = malloc(r->ob_cap);
    r->dctx = ZSTD_createDCtx();
    if (!r->name || !r->ib || !r->ob || !r->dctx) goto oom;
    if (begin_stream(r, 1) != LGP_OK) {
        snprintf(err, errlen, "%s", r->err);
        lgp_reader_close(r);
        return LGP_FATAL;
    }
    *out = r;
    return LGP_OK;
oom:
    snprintf(err, errlen, "%s: out of memory", name);
    lgp_reader_close(r);
    return LGP_FATAL;
}

int lgp_reader_open(lgp_reader **out, const char *path, char *err, size_t errlen) {
    if (strcmp(path, "-") == 0) return lgp_reader_open_fd(out, 0, "stdin", err, errlen);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        *out = NULL;
        return LGP_FATAL;
    }
    int rc = lgp_reader_open_fd(out, fd, path, err, errlen);
    if (rc != LGP_OK) close(fd);
    else (*out)->own_fd = 1;
    return rc;
}

void lgp_reader_close(lgp_reader *r) {
    if (!r) return;
    if (r->own_fd) close(r->fd);
    ZSTD_freeDCtx(r->dctx);
    free(r->ib);
    free(r->ob);
    free(r->name);
    free(r->meta);
    free(r);
}

const char *lgp_reader_error(const lgp_reader *r) { return r->err; }
const char *lgp_reader_meta(const lgp_reader *r) { return r->meta ? r->meta : "{}"; }
const char *lgp_reader_name(const lgp_reader *r) { return r->name; }
uint64_t lgp_reader_index(const lgp_reader *r) { return r->index; }
int lgp_reader_compressed(const lgp_reader *r) { return r->zmode; }
void lgp_reader_set_concat(lgp_reader *r, int on) { r->concat = on; }
void lgp_reader_set_stop_flag(lgp_reader *r, volatile sig_atomic_t *flag) { r->stop = flag; }
int lgp_reader_interrupted(const lgp_reader *r) { return r->interrupted; }

int lgp_reader_next_stream(lgp_reader *r) {
    if (r->state == 2) return LGP_FATAL;
    if (r->state == 0) return fail(r, LGP_FATAL, "next stream requested before end record");
    return begin_stream(r, 0);
}

/* After the end record of a zstd stream: the frame must end (checksum verified) or
 * more decompressed bytes (a following stream in the same frame) must appear. */
static int finish_frame(lgp_reader *r) {
    if (!r->zmode || r->ob_pos < r->ob_len) return LGP_OK;
    while (!r->frame_done) {
        long k = z_step(r, r->ob, r->ob_cap);
        if (k < 0) return LGP_FATAL;
        if (k > 0) {
            r->ob_pos = 0;
            r->ob_len = (size_t)k;
            return LGP_OK;
        }
        if (!r->frame_done && in_fill(r) == 0)
            return fail(r, LGP_FATAL, "truncated stream (zstd frame incomplete after end record)");
    }
    return LGP_OK;
}

static int read_end(lgp_reader *r) {
    unsigned char e[12];
    if (read_exact(r, e + 4, 8, "end record") || read_exact(r, e, 4, "end record")) return LGP_FATAL;
    uint32_t want = lgp_rd32(e);
    memcpy(e, "LEND", 4);
    if (lgp_crc32c(0, e, 12) != want) return fail(r, LGP_FATAL, "end record checksum mismatch");
    uint64_t n = lgp_rd64(e + 4);
    if (n != r->seen)
        return fail(r, LGP_FATAL, "end record counts %llu records, stream had %llu",
                    (unsigned long long)n, (unsigned long long)r->seen);
    if (finish_frame(r) != LGP_OK) return LGP_FATAL;
    r->state = 1;
    return LGP_EOF;
}

/* Reads body_len bytes into rec->buf, growing only as bytes arrive. */
static int read_body(lgp_reader *r, lgp_record *rec, uint64_t len) {
    size_t have = 0;
    while (have < len) {
        size_t want = len - have < BODY_CHUNK ? (size_t)(len - have) : BODY_CHUNK;
        if (have + want > rec->buf_cap) {
            size_t cap = rec->buf_cap * 2 > have + want ? rec->buf_cap * 2 : have + want;
            if (cap > len) cap = (size_t)len;
            unsigned char *nb = realloc(rec->buf, cap);
            if (!nb) return fail(r, LGP_FATAL, "out of memory for a %llu-byte record", (unsigned long long)len);
            rec->buf = nb;
            rec->buf_cap = cap;
        }
        long k = src_read(r, rec->buf + have, want);
        if (k < 0) return LGP_FATAL;
        have += (size_t)k;
        if ((size_t)k < want) return fail(r, LGP_FATAL, "truncated stream (ends inside a record)");
    }
    return LGP_OK;
}

/* Parses a checksummed body into borrowed tensors; LGP_BAD_RECORD on any bad field. */
static int parse_body(lgp_reader *r, lgp_record *rec, size_t len) {
    const unsigned char *b = rec->buf;
    size_t p = 0;
#define NEED(n) do { if ((n) > len - p) return fail(r, LGP_BAD_RECORD, "field runs past the record end"); } while (0)
    NEED(4);
    uint32_t klen = lgp_rd32(b);
    p = 4;
    if (klen > LGP_MAX_KEY) return fail(r, LGP_BAD_RECORD, "key of %u bytes exceeds the limit", klen);
    NEED(klen);
    if (memchr(b + p, 0, klen)) return fail(r, LGP_BAD_RECORD, "key contains a NUL byte");
    char key[LGP_MAX_KEY + 1];
    memcpy(key, b + p, klen);
    key[klen] = 0;
    p += klen;
    if (lgp_record_set_key(rec, key) != LGP_OK) return fail(r, LGP_FATAL, "out of memory");
    NEED(4);
    uint32_t nt = lgp_rd32(b + p);
    p += 4;
    if (nt > LGP_MAX_TENSORS) return fail(r, LGP_BAD_RECORD, "%u tensors exceed the limit", nt);
    for (uint32_t i = 0; i < nt; i++) {
        NEED(2);
        uint16_t nlen = lgp_rd16(b + p);
        p += 2;
        if (nlen == 0 || nlen > LGP_MAX_NAME) return fail(r, LGP_BAD_RECORD, "tensor %u: bad name length %u", i, nlen);
        NEED((size_t)nlen + 2);
        char name[LGP_MAX_NAME + 1];
        memcpy(name, b + p, nlen);
        name[nlen] = 0;
        if (strlen(name) != nlen) return fail(r, LGP_BAD_RECORD, "tensor %u: name contains a NUL byte", i);
        p += nlen;
        unsigned dt = b[p], nd = b[p + 1];
        p += 2;
        if (dt >= LGP_DT_COUNT) return fail(r, LGP_BAD_RECORD, "tensor '%s': unknown dtype %u", name, dt);
        if (nd > LGP_MAX_NDIM) return fail(r, LGP_BAD_RECORD, "tensor '%s': %u dimensions exceed the limit", name, nd);
        NEED((size_t)nd * 8 + 8);
        int64_t shape[LGP_MAX_NDIM];
        for (unsigned d = 0; d < nd; d++, p += 8) {
            uint64_t s = lgp_rd64(b + p);
            if (s > len) return fail(r, LGP_BAD_RECORD, "tensor '%s': dimension %llu larger than the record", name, (unsigned long long)s);
            shape[d] = (int64_t)s;
        }
        uint64_t nbytes = lgp_rd64(b + p);
        p += 8;
        if ((dt == LGP_DT_STR || dt == LGP_DT_JSON) && nd != 1)
            return fail(r, LGP_BAD_RECORD, "tensor '%s': text tensors must be 1-d", name);
        size_t pad = (8 - p % 8) % 8;
        NEED(pad);
        p += pad;
        if (nbytes > len - p) return fail(r, LGP_BAD_RECORD, "tensor '%s': %llu data bytes run past the record end", name, (unsigned long long)nbytes);
        if (lgp_record_get(rec, name)) return fail(r, LGP_BAD_RECORD, "duplicate tensor name '%s'", name);
        if (lgp_record_put(rec, name, (lgp_dtype)dt, (int)nd, shape, b + p, (size_t)nbytes, LGP_BORROW) != LGP_OK)
            return fail(r, LGP_BAD_RECORD, "tensor '%s': %llu bytes do not match its %s shape", name, (unsigned long long)nbytes, lgp_dtype_name(dt));
        p += (size_t)nbytes;
    }
    if (p != len) return fail(r, LGP_BAD_RECORD, "%zu unused bytes at the record end", len - p);
#undef NEED
    return LGP_OK;
}

static int next_record(lgp_reader *r, lgp_record *rec);

int lgp_reader_next(lgp_reader *r, lgp_record *rec) {
    for (;;) {
        int rc = next_record(r, rec);
        if (rc != LGP_EOF || !r->concat) return rc;
        rc = lgp_reader_next_stream(r);
        if (rc != LGP_OK) return rc;
    }
}

static int next_record(lgp_reader *r, lgp_record *rec) {
    if (r->state == 1) return LGP_EOF;
    if (r->state == 2) return LGP_FATAL;
    lgp_record_clear(rec);
    unsigned char tag[12];
    long k = src_read(r, tag, 4);
    if (k < 0) return LGP_FATAL;
    if (k < 4) return fail(r, LGP_FATAL, "truncated stream (no end record)");
    if (memcmp(tag, "LEND", 4) == 0) return read_end(r);
    if (memcmp(tag, "LREC", 4) != 0) return fail(r, LGP_FATAL, "bad record tag (corrupt stream)");
    if (read_exact(r, tag, 8, "a record header")) return LGP_FATAL;
    uint64_t len = lgp_rd64(tag);
    if (len < 8 || len > MAX_BODY)
        return fail(r, LGP_FATAL, "record length %llu out of range (corrupt stream)", (unsigned long long)len);
    if (read_body(r, rec, len) || read_exact(r, tag, 4, "a record checksum")) return LGP_FATAL;
    int rc = LGP_OK;
    if (lgp_crc32c(0, rec->buf, (size_t)len) != lgp_rd32(tag))
        rc = fail(r, LGP_BAD_RECORD, "record checksum mismatch");
    else
        rc = parse_body(r, rec, (size_t)len);
    r->seen++;
    if (rc != LGP_OK) {
        lgp_record_clear(rec);
        return rc;
    }
    r->index++;
    return LGP_OK;
}
