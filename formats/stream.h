/* stream.h — the lgp tensor stream: records of named tensors, the format every lgp
 * program reads and writes. The byte layout is specified in formats/STREAM.md.
 *
 * A record is a key plus named tensors (like a WebDataset sample). Stages read a record,
 * look tensors up by name, add or replace some, and write the record on: tensors they
 * do not know pass through untouched.
 *
 * Ownership: an lgp_record owns its key, its tensor table and every tensor whose data
 * was copied in (LGP_COPY) or read from a stream. A tensor put with LGP_BORROW points
 * into the caller's memory, which must outlive the record's use (checkpoint writers
 * borrow the flat parameter buffers). lgp_record_free releases what the record owns.
 * Readers and writers are heap objects: _open/_close (reader), _open/_finish or _abort
 * (writer). Library functions never exit: they return LGP_OK / LGP_EOF /
 * LGP_BAD_RECORD / LGP_FATAL and leave a one-line message in *_error(). */
#ifndef LGP_STREAM_H
#define LGP_STREAM_H

#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include "common/lgp.h"

typedef enum {
    LGP_DT_U8 = 0,
    LGP_DT_I8 = 1,
    LGP_DT_I32 = 2,
    LGP_DT_I64 = 3,
    LGP_DT_F16 = 4,
    LGP_DT_BF16 = 5,
    LGP_DT_F32 = 6,
    LGP_DT_F64 = 7,
    LGP_DT_STR = 8,  /* UTF-8 text, shape [nbytes] */
    LGP_DT_JSON = 9, /* UTF-8 JSON text, shape [nbytes] */
    LGP_DT_COUNT
} lgp_dtype;

#define LGP_MAX_NDIM 8
#define LGP_MAX_KEY 4096      /* bytes in a record key */
#define LGP_MAX_NAME 1024     /* bytes in a tensor name */
#define LGP_MAX_TENSORS 65536 /* tensors in one record */
#define LGP_MAX_META (64u << 20) /* bytes of header metadata JSON */

size_t lgp_dtype_size(lgp_dtype dt);    /* bytes per element; 1 for STR/JSON */
const char *lgp_dtype_name(lgp_dtype dt); /* "u8", "f32", ... ; "?" if invalid */
int lgp_dtype_from_name(const char *s);   /* -1 if unknown */

typedef struct {
    char *name;            /* owned */
    lgp_dtype dtype;
    int ndim;
    int64_t shape[LGP_MAX_NDIM]; /* PyTorch order, outermost first */
    size_t nbytes;
    void *data;            /* owned unless borrowed */
    int borrowed;
} lgp_tensor;

typedef struct {
    char *key;             /* owned, NUL-terminated */
    lgp_tensor *t;         /* t[0..n) */
    size_t n, cap;
    unsigned char *buf;    /* body of the last record read into this struct (owned) */
    size_t buf_cap;
} lgp_record;

enum { LGP_COPY = 0, LGP_BORROW = 1 };

void lgp_record_init(lgp_record *r);
void lgp_record_clear(lgp_record *r); /* drop key and tensors, keep allocations */
void lgp_record_free(lgp_record *r);
int lgp_record_set_key(lgp_record *r, const char *key);
/* Adds or replaces the tensor called name. shape has ndim entries; nbytes must equal
 * numel * dtype size (checked, returns LGP_FATAL with no change if not). */
int lgp_record_put(lgp_record *r, const char *name, lgp_dtype dt, int ndim,
                   const int64_t *shape, const void *data, size_t nbytes, int mode);
int lgp_record_put_str(lgp_record *r, const char *name, lgp_dtype dt, const char *text);
int lgp_record_put_i64(lgp_record *r, const char *name, int64_t v); /* 0-d i64 */
const lgp_tensor *lgp_record_get(const lgp_record *r, const char *name);
int lgp_record_remove(lgp_record *r, const char *name); /* LGP_OK, or LGP_EOF if absent */
/* Deep copy (all data copied, nothing borrowed). */
int lgp_record_copy(lgp_record *dst, const lgp_record *src);
int64_t lgp_tensor_numel(const lgp_tensor *t);
/* Reads a 0-d or 1-element integer tensor (u8/i8/i32/i64) into *v; LGP_FATAL if not one. */
int lgp_tensor_get_int(const lgp_tensor *t, int64_t *v);

/* ---- reading ---- */
typedef struct lgp_reader lgp_reader;

/* path "-" is stdin. Reads and validates the stream header. On failure returns
 * LGP_FATAL with a message in err (and *out = NULL). */
int lgp_reader_open(lgp_reader **out, const char *path, char *err, size_t errlen);
/* Same, on an already open file descriptor (not closed by lgp_reader_close). */
int lgp_reader_open_fd(lgp_reader **out, int fd, const char *name, char *err, size_t errlen);
/* When fd is a pipe, grows its buffer to 1 MiB (Linux' default limit for any user; a
 * failure is ignored): a producer then runs batches ahead of its consumer instead of
 * 64 KiB, less than one batch of views, so that upstream stages work while a trainer
 * computes rather than while it waits. Readers and writers of streams call it. */
void lgp_fd_widen_pipe(int fd);
/* LGP_OK: *rec holds the next record (previous contents replaced).
 * LGP_EOF: the end record was read and verified (count matches, zstd frame complete).
 * LGP_BAD_RECORD: the record's checksum or fields are wrong but the framing is intact;
 *                 the next call continues with the following record.
 * LGP_FATAL: truncated or corrupt framing; nothing more can be read. */
int lgp_reader_next(lgp_reader *r, lgp_record *rec);
/* After LGP_EOF: LGP_OK if another stream follows in the same input (its header has
 * been read), LGP_EOF at the true end of input, LGP_FATAL on garbage. */
int lgp_reader_next_stream(lgp_reader *r);
const char *lgp_reader_error(const lgp_reader *r); /* "<name>: record N: problem" */
const char *lgp_reader_meta(const lgp_reader *r);  /* header JSON text, NUL-terminated */
const char *lgp_reader_name(const lgp_reader *r);
uint64_t lgp_reader_index(const lgp_reader *r);    /* records returned so far in this stream */
int lgp_reader_compressed(const lgp_reader *r);
/* Data mode (on: 1): lgp_reader_next reads on through the streams concatenated after
 * this one, each end record checked, so LGP_EOF means the end of all input; bytes after
 * an end record that do not start a stream are LGP_FATAL. lgp_reader_meta then names
 * the current stream's header. */
void lgp_reader_set_concat(lgp_reader *r, int on);
/* While *flag is non-zero, a read that would wait for input fails instead (LGP_FATAL,
 * lgp_reader_interrupted true): a trainer blocked on a slow producer still saves and
 * exits on SIGTERM. The signal handler must not use SA_RESTART. */
void lgp_reader_set_stop_flag(lgp_reader *r, volatile sig_atomic_t *flag);
int lgp_reader_interrupted(const lgp_reader *r);
void lgp_reader_close(lgp_reader *r);

/* ---- writing ---- */
typedef struct {
    int compress; /* 1: zstd (default), 0: raw */
    int level;    /* zstd level, default 1: level 3 made streams of views <1 % smaller for ~1.5x the CPU */
    int threads;  /* zstd worker threads, 0 = compress in the caller's thread */
} lgp_writer_opts;
#define LGP_WRITER_OPTS_DEFAULT {1, 1, 0}

typedef struct lgp_writer lgp_writer;

/* path NULL or "-": stdout (never closed by the writer). Otherwise the stream goes to
 * a temporary file beside path which lgp_writer_finish fsyncs and renames into place
 * (then fsyncs the folder), so path never holds a partial stream. meta_json may be
 * NULL ("{}"). */
int lgp_writer_open(lgp_writer **out, const char *path, const lgp_writer_opts *o,
                    const char *meta_json, char *err, size_t errlen);
int lgp_writer_open_fd(lgp_writer **out, int fd, const char *name, const lgp_writer_opts *o,
                       const char *meta_json, char *err, size_t errlen);
int lgp_writer_write(lgp_writer *w, const lgp_record *rec);
/* Pushes buffered bytes down the pipe now (for interactive/slow producers). */
int lgp_writer_flush(lgp_writer *w);
/* Writes the end record, completes the zstd frame, flushes; commits a file output.
 * Frees w in every case; returns LGP_FATAL (message in err) if anything failed, in
 * which case a file output is removed and any previous file at path is untouched. */
int lgp_writer_finish(lgp_writer *w, char *err, size_t errlen);
/* Drops the output: a file output is removed, stdout gets no end record. Frees w. */
void lgp_writer_abort(lgp_writer *w);
const char *lgp_writer_error(const lgp_writer *w);
uint64_t lgp_writer_count(const lgp_writer *w);

#endif
