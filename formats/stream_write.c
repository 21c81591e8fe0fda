/* stream_write.c — lgp_writer: raw or zstd (checksummed) output to stdout or to an
 * atomically committed file (layout in STREAM.md). */
#include "atomicfile.h"
#include "crc32c.h"
#include "le.h"
#include "stream.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#define OUT_CAP (1u << 17)

struct lgp_writer {
    int fd;
    int atomic;
    lgp_atomic at;
    char *name;
    ZSTD_CCtx *cctx;
    unsigned char *ob;
    size_t ob_len, ob_cap;
    uint64_t count;
    int failed;
    char err[512];
};

static int wfail(lgp_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int wfail(lgp_writer *w, const char *fmt, ...) {
    if (w->failed) return LGP_FATAL;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(w->err, sizeof w->err, "%s: %s", w->name, msg);
    w->failed = 1;
    return LGP_FATAL;
}

static int drain(lgp_writer *w) {
    if (w->ob_len && lgp_write_all(w->fd, w->ob, w->ob_len) != 0)
        return wfail(w, "write error: %s", strerror(errno));
    w->ob_len = 0;
    return LGP_OK;
}

/* Pushes stream bytes through the compressor (or the raw buffer). */
static int sink(lgp_writer *w, const void *p, size_t n, ZSTD_EndDirective mode) {
    if (w->failed) return LGP_FATAL;
    if (!w->cctx) {
        if (w->ob_len + n > w->ob_cap && drain(w)) return LGP_FATAL;
        if (n >= w->ob_cap) {
            if (lgp_write_all(w->fd, p, n) != 0) return wfail(w, "write error: %s", strerror(errno));
        } else {
            memcpy(w->ob + w->ob_len, p, n);
            w->ob_len += n;
        }
        if (mode != ZSTD_e_continue) return drain(w);
        return LGP_OK;
    }
    ZSTD_inBuffer in = {p, n, 0};
    for (;;) {
        ZSTD_outBuffer o = {w->ob, w->ob_cap, w->ob_len};
        size_t left = ZSTD_compressStream2(w->cctx, &o, &in, mode);
        if (ZSTD_isError(left)) return wfail(w, "zstd: %s", ZSTD_getErrorName(left));
        w->ob_len = o.pos;
        if (w->ob_len == w->ob_cap || (mode != ZSTD_e_continue && w->ob_len)) {
            if (drain(w)) return LGP_FATAL;
        }
        if (mode == ZSTD_e_continue ? in.pos == in.size : left == 0) break;
    }
    return LGP_OK;
}

static int put(lgp_writer *w, const void *p, size_t n, uint32_t *crc) {
    if (crc) *crc = lgp_crc32c(*crc, p, n);
    return sink(w, p, n, ZSTD_e_continue);
}

int lgp_writer_open_fd(lgp_writer **out, int fd, const char *name, const lgp_writer_opts *o,
                       const char *meta_json, char *err, size_t errlen) {
    lgp_writer_opts def = LGP_WRITER_OPTS_DEFAULT;
    if (!o) o = &def;
    *out = NULL;
    lgp_fd_widen_pipe(fd);
    lgp_writer *w = calloc(1, sizeof *w);
    if (!w) goto oom;
    w->fd = fd;
    w->at.fd = -1;
    w->name = strdup(name);
    w->ob_cap = o->compress ? ZSTD_CStreamOutSize() : OUT_CAP;
    w->ob = malloc(w->ob_cap);
    if (!w->name || !w->ob) goto oom;
    if (o->compress) {
        w->cctx = ZSTD_createCCtx();
        if (!w->cctx) goto oom;
        ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, o->level);
        ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
        if (o->threads > 0) ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_nbWorkers, o->threads);
    }
    const char *meta = meta_json ? meta_json : "{}";
    size_t mlen = strlen(meta);
    if (mlen > LGP_MAX_META) {
        snprintf(err, errlen, "%s: stream metadata too large", name);
        lgp_writer_abort(w);
        return LGP_FATAL;
    }
    unsigned char h[12] = {'L', 'G', 'P', 'S', 1, 0, 0, 0};
    lgp_wr32(h + 8, (uint32_t)mlen);
    uint32_t crc = 0;
    unsigned char c[4];
    put(w, h, sizeof h, &crc);
    put(w, meta, mlen, &crc);
    lgp_wr32(c, crc);
    if (put(w, c, 4, NULL) != LGP_OK) {
        snprintf(err, errlen, "%s", w->err);
        lgp_writer_abort(w);
        return LGP_FATAL;
    }
    *out = w;
    return LGP_OK;
oom:
    snprintf(err, errlen, "%s: out of memory", name);
    lgp_writer_abort(w);
    return LGP_FATAL;
}

int lgp_writer_open(lgp_writer **out, const char *path, const lgp_writer_opts *o,
                    const char *meta_json, char *err, size_t errlen) {
    if (!path || strcmp(path, "-") == 0)
        return lgp_writer_open_fd(out, 1, "stdout", o, meta_json, err, errlen);
    lgp_atomic at;
    if (lgp_atomic_open(&at, path, err, errlen) != LGP_OK) return LGP_FATAL;
    if (lgp_writer_open_fd(out, at.fd, path, o, meta_json, err, errlen) != LGP_OK) {
        lgp_atomic_abort(&at);
        return LGP_FATAL;
    }
    (*out)->atomic = 1;
    (*out)->at = at;
    return LGP_OK;
}

/* Size of the body, with each payload aligned to 8 bytes from the body start. */
static uint64_t body_size(const lgp_record *rec) {
    uint64_t p = 4 + strlen(rec->key ? rec->key : "") + 4;
    for (size_t i = 0; i < rec->n; i++) {
        const lgp_tensor *t = &rec->t[i];
        p += 2 + strlen(t->name) + 2 + 8 * (uint64_t)t->ndim + 8;
        p += (8 - p % 8) % 8;
        p += t->nbytes;
    }
    return p;
}

int lgp_writer_write(lgp_writer *w, const lgp_record *rec) {
    if (w->failed) return LGP_FATAL;
    const char *key = rec->key ? rec->key : "";
    if (strlen(key) > LGP_MAX_KEY || rec->n > LGP_MAX_TENSORS)
        return wfail(w, "record '%.64s' exceeds the key or tensor-count limit", key);
    unsigned char h[16];
    memcpy(h, "LREC", 4);
    lgp_wr64(h + 4, body_size(rec));
    put(w, h, 12, NULL);
    uint32_t crc = 0;
    uint64_t p = 0;
    lgp_wr32(h, (uint32_t)strlen(key));
    put(w, h, 4, &crc);
    put(w, key, strlen(key), &crc);
    lgp_wr32(h, (uint32_t)rec->n);
    put(w, h, 4, &crc);
    p = 8 + strlen(key);
    static const unsigned char zeros[8];
    for (size_t i = 0; i < rec->n; i++) {
        const lgp_tensor *t = &rec->t[i];
        size_t nl = strlen(t->name);
        lgp_wr16(h, (uint16_t)nl);
        put(w, h, 2, &crc);
        put(w, t->name, nl, &crc);
        h[0] = (unsigned char)t->dtype;
        h[1] = (unsigned char)t->ndim;
        put(w, h, 2, &crc);
        for (int d = 0; d < t->ndim; d++) {
            lgp_wr64(h, (uint64_t)t->shape[d]);
            put(w, h, 8, &crc);
        }
        lgp_wr64(h, t->nbytes);
        put(w, h, 8, &crc);
        p += 2 + nl + 2 + 8 * (uint64_t)t->ndim + 8;
        size_t pad = (8 - p % 8) % 8;
        put(w, zeros, pad, &crc);
        p += pad + t->nbytes;
        put(w, t->data, t->nbytes, &crc);
    }
    lgp_wr32(h, crc);
    if (put(w, h, 4, NULL) != LGP_OK) return LGP_FATAL;
    w->count++;
    return LGP_OK;
}

int lgp_writer_flush(lgp_writer *w) {
    if (sink(w, NULL, 0, ZSTD_e_flush) != LGP_OK) return LGP_FATAL;
    return drain(w);
}

int lgp_writer_finish(lgp_writer *w, char *err, size_t errlen) {
    unsigned char e[16];
    memcpy(e, "LEND", 4);
    lgp_wr64(e + 4, w->count);
    lgp_wr32(e + 12, lgp_crc32c(0, e, 12));
    int rc = sink(w, e, 16, ZSTD_e_end);
    if (rc == LGP_OK) rc = drain(w);
    if (rc == LGP_OK && w->atomic) {
        rc = lgp_atomic_commit(&w->at, w->err, sizeof w->err);
        w->atomic = 0;
        if (rc != LGP_OK) w->failed = 1;
    }
    if (rc != LGP_OK && err) snprintf(err, errlen, "%s", w->err);
    lgp_writer_abort(w);
    return rc;
}

void lgp_writer_abort(lgp_writer *w) {
    if (!w) return;
    if (w->atomic) lgp_atomic_abort(&w->at);
    ZSTD_freeCCtx(w->cctx);
    free(w->ob);
    free(w->name);
    free(w);
}

const char *lgp_writer_error(const lgp_writer *w) { return w->err; }
uint64_t lgp_writer_count(const lgp_writer *w) { return w->count; }
