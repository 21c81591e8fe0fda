/* idx.h — the IDX file format of MNIST and Fashion-MNIST, read gzip-compressed or raw.
 *
 * Layout (all integers big-endian):
 *   magic: u8 0, u8 0, u8 type, u8 ndim      type 0x08 = unsigned byte (the only one read)
 *   dims:  u32 * ndim                        outermost first, each >= 1 except dims[0]
 *   data:  product(dims) elements, C order
 * Images are idx3 [N, 28, 28]; labels are idx1 [N]. The reader goes through zlib's
 * gzread, which passes raw (uncompressed) files through unchanged.
 *
 * The header is validated completely (magic, type, 1 <= ndim <= 4, dims overflow-checked
 * and capped at LGP_IDX_MAX_BYTES) before the data buffer is allocated; a file with
 * fewer or more data bytes than the header promises is rejected.
 * Ownership: lgp_idx_load fills a caller-owned lgp_idx whose data is heap memory
 * released by lgp_idx_free. Library code: returns LGP_OK or LGP_FATAL with a message. */
#ifndef LGP_IDX_H
#define LGP_IDX_H

#include <stddef.h>
#include <stdint.h>

#define LGP_IDX_MAX_NDIM 4
#define LGP_IDX_MAX_BYTES ((size_t)1 << 32) /* 4 GiB of pixels is far beyond any IDX set */

typedef struct {
    int ndim;
    uint32_t dims[LGP_IDX_MAX_NDIM]; /* outermost first */
    uint8_t *data;                   /* [dims[0], dims[1], ...] u8, owned */
    size_t nbytes;
} lgp_idx;

/* Loads path (gzip or raw). err gets "<path>: problem" on failure. */
int lgp_idx_load(const char *path, lgp_idx *out, char *err, size_t errlen);
/* Parses a 4 + 4*ndim byte header from mem (n bytes available); fills ndim/dims and
 * *nbytes_out (product of dims). LGP_FATAL with message if invalid. Used by the
 * loader and by fuzzers. */
int lgp_idx_parse_header(const uint8_t *mem, size_t n, lgp_idx *out, size_t *hdr_len,
                         char *err, size_t errlen);
void lgp_idx_free(lgp_idx *x);
/* 1 if path (gzip or raw) starts like an IDX u8 file (00 00 08 ndim), else 0. */
int lgp_idx_sniff(const char *path);

#endif
