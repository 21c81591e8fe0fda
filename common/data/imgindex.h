/* imgindex.h — where every image of a seekable data set lies, so that tar-images can
 * read the images in any order (--shuffle full) with positioned reads.
 *
 * The index lists the images an lgp_imagesrc pass hands out (same keys, labels, order
 * and skipped members: one sequential pass of the source gives them, so every label
 * rule of imagesrc.h holds unchanged), each with the input file, byte offset and size of
 * its encoded bytes found by walking the plain tar (formats/tarindex.h; tar of tars
 * included) or the zip's central directory (a deflated member: its compressed size
 * too, inflated when read), or, for a folder input, the image's file (path relative to the folder,
 * size from the folder's listing, formats/tarindex.h too; read whole by openat). That
 * pass reads archives whole but only peeks at a folder's images (lgp_imagesrc_peek:
 * one open and LGP_ARCHIVE_PEEK_BYTES per image), so indexing a folder costs a listing
 * and an open per file, not a read of the data set. Entry i is the image's position in
 * the source order, the `index` of its record in any order.
 *
 * Index file (--index FILE, text, written atomically): the line "lgp-imgindex 2", a
 * "sig" line naming the label rules (class list hash, labels file), one "input STAMP
 * PATH" line per input, "n N", then N lines "INPUT OFFSET SIZE LABEL KIND NAME" (KIND
 * j or p: JPEG or PNG, followed for a deflated zip member by 'd' and its compressed
 * size, "jd5120": raw deflate at OFFSET that inflates to SIZE bytes; NAME, the rest of
 * the line after one space: the record key for an image in a tar or zip, read at
 * OFFSET; for a folder input the file's path relative to
 * the folder, OFFSET 0, the key being that path's WebDataset key). STAMP is "SIZE
 * MTIME" of a file, and "dir FILES HASH" of a folder: the number of files its listing
 * holds and an FNV-1a hash of each one's relative path, size and mtime (nanoseconds),
 * so adding, removing, renaming or rewriting any file in any subfolder changes it
 * (the folder's own size and mtime would not see edits below it); checking it costs a
 * listing (readdir and a stat per file, no file opened). A file whose sig or inputs
 * differ from the run's is stale: load says so and the caller rebuilds it. Files of
 * version 1 (tar inputs only, same lines) are still read.
 *
 * Ownership: lgp_imgindex is caller-owned (_free). Nothing here exits or prints: a
 * one-line message in err with LGP_FATAL; LGP_EOF where the data set cannot be read by
 * position (compressed tar, a zip with an encrypted member or one neither stored nor
 * deflated, stdin) or an index file is stale. */
#ifndef LGP_IMGINDEX_H
#define LGP_IMGINDEX_H

#include "common/data/imagesrc.h"
#include "common/data/order.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t n;
    int32_t *input;    /* [n] which input file */
    uint64_t *offset;  /* [n] byte offset of the image's bytes in that file */
    uint64_t *size;    /* [n] */
    int64_t *label;    /* [n] -1: none */
    uint8_t *png;      /* [n] 1 PNG, 0 JPEG */
    char **key;        /* [n] owned */
    char **path;       /* [n] a folder input's file, relative to it, owned; NULL in a tar */
    uint64_t *csize;   /* [n] a deflated zip member: its raw deflate bytes at offset; 0:
                          the size bytes at offset are the image as it is */
    int64_t cap;
    int *fds;          /* [ninputs] open by lgp_imgindex_open_inputs, -1 otherwise */
    int ninputs;
} lgp_imgindex;

/* The label rules of a source as one line (class count and hash, labels file): an index
 * built under other rules is stale. */
void lgp_imgindex_sig(char *sig, size_t n, const lgp_imagesrc *src, const char *labels_file);

/* Builds the index of inputs with one pass of src (rewound first and after, peeking at
 * folders' images). Every member src skips is passed to bad(ctx, message) as the pass
 * meets it (bad may be NULL). LGP_OK, LGP_EOF (an input is neither a plain tar, a zip
 * of stored or deflated members, nor a folder: err says which and why), or LGP_FATAL. */
int lgp_imgindex_build(lgp_imgindex *ix, lgp_imagesrc *src, char *const *inputs, int ninputs,
                       void (*bad)(void *ctx, const char *msg), void *ctx, char *err, size_t errlen);
int lgp_imgindex_save(const lgp_imgindex *ix, const char *path, char *const *inputs, int ninputs,
                      const char *sig, char *err, size_t errlen);
/* LGP_OK, LGP_EOF (missing or stale file: err says why) or LGP_FATAL (damaged file). */
int lgp_imgindex_load(lgp_imgindex *ix, const char *path, char *const *inputs, int ninputs,
                      const char *sig, char *err, size_t errlen);
/* Opens the inputs for lgp_imgindex_read. LGP_OK or LGP_FATAL. */
int lgp_imgindex_open_inputs(lgp_imgindex *ix, char *const *inputs, int ninputs, char *err, size_t errlen);
/* Image i as tar-images writes it (key, bytes, label; id = i), read with pread (a
 * deflated zip member: inflated; a folder's file: opened relative to it, its size
 * checked); the item is the caller's.
 * LGP_OK or LGP_FATAL (the file changed or cannot be read). */
int lgp_imgindex_read(const lgp_imgindex *ix, char *const *inputs, int64_t i, lgp_order_item *it, char *err,
                      size_t errlen);
void lgp_imgindex_free(lgp_imgindex *ix);

#endif
