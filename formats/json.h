/* json.h — a small JSON reader/writer for metadata: stream headers, checkpoint
 * metadata, safetensors headers, --json result files.
 *
 * Parsing builds a tree of heap nodes owned by the root: lgp_json_free(root) frees
 * all. Nodes passed to lgp_json_set/lgp_json_push become owned by their new parent.
 * The parser is strict RFC 8259 (no comments, no trailing commas), rejects duplicate
 * object keys, caps nesting at 64 and never reads past len.
 *
 * Numbers: every NUM node has num (the nearest double). A number written as an
 * integer literal (no fraction, no exponent) in [-2^63, 2^64-1], or made by
 * lgp_json_new_i64/_u64, is also kept exactly: is_int = 1, value = is_neg ? -u : u
 * (u is the magnitude; is_neg is never set for 0). The writer prints such nodes
 * digit for digit, so seeds, steps and counts round-trip at any size; other numbers
 * are printed as %.17g (integral values below 1e15 without exponent). */
#ifndef LGP_JSON_H
#define LGP_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    LGP_JSON_NULL, LGP_JSON_BOOL, LGP_JSON_NUM, LGP_JSON_STR, LGP_JSON_ARR, LGP_JSON_OBJ
} lgp_json_type;

typedef struct lgp_json {
    lgp_json_type type;
    int boolean;
    double num;              /* NUM: always set, also for exact integers */
    int is_int;              /* NUM: u/is_neg hold the exact integer value */
    int is_neg;              /* is_int: the value is -u (u <= 2^63) */
    uint64_t u;              /* is_int: magnitude of the value */
    char *str;               /* STR: NUL-terminated (embedded NULs are rejected) */
    char **keys;             /* OBJ: keys[i] names items[i] */
    struct lgp_json **items; /* ARR and OBJ */
    size_t n, cap;
} lgp_json;

lgp_json *lgp_json_parse(const char *text, size_t len, char *err, size_t errlen);
void lgp_json_free(lgp_json *j);
char *lgp_json_dump(const lgp_json *j); /* compact, malloc'd; caller frees */

const lgp_json *lgp_json_get(const lgp_json *obj, const char *key); /* NULL if absent */
const char *lgp_json_get_str(const lgp_json *obj, const char *key, const char *def);
double lgp_json_get_num(const lgp_json *obj, const char *key, double def);
/* Exact integers: 0 and *out set on success; nonzero (and *out untouched) when the
 * member is absent, not a number, not an integer, or outside the type's range. An
 * exact node (is_int) is used as is; a double-only number is accepted when it is
 * integral and |num| < 2^53 (where a double is still exact). */
int lgp_json_get_i64(const lgp_json *obj, const char *key, int64_t *out);
int lgp_json_get_u64(const lgp_json *obj, const char *key, uint64_t *out);
/* The same for a node itself (an array item); NULL or a non-number fails. */
int lgp_json_to_i64(const lgp_json *v, int64_t *out);
int lgp_json_to_u64(const lgp_json *v, uint64_t *out);
/* Lenient forms for metadata readers that must still load files written when every
 * number was a double: the exact integer if there is one, else a finite in-range
 * number truncated toward zero (what those readers used to do), else def. */
int64_t lgp_json_get_i64_def(const lgp_json *obj, const char *key, int64_t def);
uint64_t lgp_json_get_u64_def(const lgp_json *obj, const char *key, uint64_t def);

lgp_json *lgp_json_new_obj(void);
lgp_json *lgp_json_new_arr(void);
lgp_json *lgp_json_new_num(double v);
lgp_json *lgp_json_new_i64(int64_t v); /* exact integer nodes (is_int = 1) */
lgp_json *lgp_json_new_u64(uint64_t v);
lgp_json *lgp_json_new_str(const char *s);
lgp_json *lgp_json_new_bool(int b);
lgp_json *lgp_json_new_null(void);
lgp_json *lgp_json_clone(const lgp_json *j);
/* Takes ownership of val; replaces an existing member of that key. */
void lgp_json_set(lgp_json *obj, const char *key, lgp_json *val);
void lgp_json_set_num(lgp_json *obj, const char *key, double v);
void lgp_json_set_i64(lgp_json *obj, const char *key, int64_t v);
void lgp_json_set_u64(lgp_json *obj, const char *key, uint64_t v);
void lgp_json_set_str(lgp_json *obj, const char *key, const char *s);
void lgp_json_push(lgp_json *arr, lgp_json *val);
void lgp_json_remove(lgp_json *obj, const char *key);

#endif
