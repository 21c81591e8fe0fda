/* stack.h — a stream's records stacked into arrays, for the interchange formats that
 * hold whole arrays (NumPy .npz, safetensors): each tensor name of the first record
 * becomes one array [N, ...its shape] over the N records, and the keys one text array.
 *
 * Rules: every record must hold the same tensor names as the first, each with the
 * same dtype and shape (a shape that varies, e.g. encoded JPEG bytes, is an error
 * naming the record; nothing is skipped). Text tensors (str, json) are one string per
 * record whatever their length. Everything is kept in memory: N times the size of a
 * record, plus the keys.
 *
 * Output, written atomically (temporary, fsync, rename; nothing on failure):
 * lgp_stack_save_npz writes "key" (the keys, "<U{w}" [N]), the arrays under their
 * tensor names, numbers in their dtype (bf16, which NumPy lacks, is an error), text as
 * "<U{w}" [N], and, given meta_json, "__meta__" (0-d "<U{w}", the stream header); a
 * tensor called "key" or "__meta__" is an error. lgp_stack_save_st writes the numeric
 * arrays and puts the keys (a JSON list) and meta_json under __metadata__ "keys" and
 * "lgp_meta"; text tensors are an error (safetensors holds numbers only), and so is a
 * record rank of 8 (9 with the record axis, past the limit). Both return LGP_OK or
 * LGP_FATAL with "path: problem" in err.
 *
 * Memory: an lgp_stack owns its columns (init/free); records passed to _add are copied. */
#ifndef LGP_STACK_H
#define LGP_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

typedef struct {
    char *name;                  /* tensor name (owned) */
    lgp_dtype dtype;
    int text;                    /* str/json: one string per record */
    int ndim;                    /* per record; text: 0 */
    int64_t shape[LGP_MAX_NDIM];
    size_t rec_bytes;            /* numbers: bytes per record */
    unsigned char *data;         /* numbers: [N, shape...]; text: the strings back to back */
    size_t len, cap;             /* bytes of data used / allocated */
    uint64_t *offs;              /* text: [N + 1] start of string i in data */
    size_t offs_cap;
} lgp_stack_col;

typedef struct {
    uint64_t n;         /* records stacked */
    lgp_stack_col key;  /* the record keys (text) */
    lgp_stack_col *col; /* [ncol], in the first record's tensor order */
    size_t ncol;
} lgp_stack;

void lgp_stack_init(lgp_stack *s);
void lgp_stack_free(lgp_stack *s);
/* Appends rec. LGP_OK, or LGP_FATAL with "record I 'key': problem" in err (tensors that
 * differ from the first record's, out of memory); s is then unchanged. */
int lgp_stack_add(lgp_stack *s, const lgp_record *rec, char *err, size_t errlen);
int lgp_stack_save_npz(const lgp_stack *s, const char *meta_json, const char *path, unsigned npz_flags,
                       char *err, size_t errlen);
int lgp_stack_save_st(const lgp_stack *s, const char *meta_json, const char *path, char *err, size_t errlen);

#endif
