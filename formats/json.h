/* json.h — a small JSON reader/writer for metadata: stream headers, checkpoint
 * metadata, safetensors headers, --json result files.
 *
 * Parsing builds a tree of heap nodes owned by the root: lgp_json_free(root) frees
 * all. Nodes passed to lgp_json_set/lgp_json_push become owned by their new parent.
 * The parser is strict RFC 8259 (no comments, no trailing commas), rejects duplicate
 * object keys, caps nesting at 64 and never reads past len. */
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
    double num;
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

lgp_json *lgp_json_new_obj(void);
lgp_json *lgp_json_new_arr(void);
lgp_json *lgp_json_new_num(double v);
lgp_json *lgp_json_new_str(const char *s);
lgp_json *lgp_json_new_bool(int b);
lgp_json *lgp_json_new_null(void);
lgp_json *lgp_json_clone(const lgp_json *j);
/* Takes ownership of val; replaces an existing member of that key. */
void lgp_json_set(lgp_json *obj, const char *key, lgp_json *val);
void lgp_json_set_num(lgp_json *obj, const char *key, double v);
void lgp_json_set_str(lgp_json *obj, const char *key, const char *s);
void lgp_json_push(lgp_json *arr, lgp_json *val);
void lgp_json_remove(lgp_json *obj, const char *key);

#endif
