/* safetensors.h — read and write Hugging Face safetensors files, the interchange format
 * for weights (timm / PyTorch).
 *
 * Layout: u64 LE header length N; N bytes of UTF-8 JSON, an object mapping tensor names
 * to {"dtype": "F32"|"F16"|"BF16"|"F64"|"I64"|"I32"|"I8"|"U8"|"BOOL", "shape": [...],
 * "data_offsets": [begin, end]} (offsets relative to the byte buffer after the header),
 * plus an optional "__metadata__" object of string values; then the byte buffer.
 * Validation (before any tensor is used): N ≤ 100 MB and inside the file, JSON strict
 * with no duplicate keys, dtype known, rank ≤ 8, every shape product overflow-checked and
 * equal to (end - begin) / dtype size, offsets inside the buffer, and the tensors tile the
 * buffer exactly (no overlap, no gap), as the reference implementation requires.
 *
 * Tensors travel in an lgp_record (stream.h). lgp_st_load fills rec: the file's bytes
 * are kept in rec->buf and tensors borrow from it (the record owns everything).
 * *metadata_out (if given) receives the __metadata__ object as JSON text (malloc'd,
 * "{}" if absent). Text tensors (str/json) cannot be stored in safetensors. */
#ifndef LGP_SAFETENSORS_H
#define LGP_SAFETENSORS_H

#include <stddef.h>

#include "stream.h"

#define LGP_ST_MAX_HEADER ((size_t)100 << 20)

/* metadata_json: a JSON object; string values are stored as is, others as their JSON
 * text. Written atomically (temp + fsync + rename). */
int lgp_st_save(const char *path, const lgp_record *rec, const char *metadata_json,
                char *err, size_t errlen);
int lgp_st_load(const char *path, lgp_record *rec, char **metadata_out, char *err, size_t errlen);
/* Is path a regular file that looks like safetensors (u64 header length below the
 * limit, then '{'; not an lgp stream or zstd frame)? 1 or 0 (also when it cannot be
 * read). Reads 9 bytes; pipes, FIFOs and devices are not opened (0), so a stream reader
 * can still have all their bytes. */
int lgp_st_sniff(const char *path);
/* Parses an in-memory file image; tensors borrow from buf (caller keeps it alive). */
int lgp_st_parse(const unsigned char *buf, size_t len, lgp_record *rec, char **metadata_out,
                 char *err, size_t errlen);

#endif
