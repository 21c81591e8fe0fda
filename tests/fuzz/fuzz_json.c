/* fuzz_json.c — libFuzzer target: the JSON parser (formats/json.h) and the writer.
 * Checked, for every input the parser accepts: its dump parses again and dumps to the
 * same text (dump(parse(dump(parse(x)))) == dump(parse(x))), a clone dumps the same,
 * and every object member is found again by lgp_json_get. Rejected input must come
 * with a message. */
#include "formats/json.h"

#include "common/lgp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Walks the tree: each key of an object gets back its own (first and only) item. */
static void check_keys(const lgp_json *j, int depth) {
    LGP_ASSERT(depth <= 64);
    if (j->type == LGP_JSON_OBJ)
        for (size_t i = 0; i < j->n; i++) LGP_ASSERT(lgp_json_get(j, j->keys[i]) == j->items[i]);
    if (j->type == LGP_JSON_OBJ || j->type == LGP_JSON_ARR)
        for (size_t i = 0; i < j->n; i++) check_keys(j->items[i], depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    char err[256] = "";
    lgp_json *j = lgp_json_parse((const char *)data, size, err, sizeof err);
    if (!j) {
        LGP_ASSERT(err[0]);
        return 0;
    }
    check_keys(j, 0);
    char *d1 = lgp_json_dump(j);
    LGP_ASSERT(d1);
    lgp_json *c = lgp_json_clone(j);
    char *dc = lgp_json_dump(c);
    LGP_ASSERT(strcmp(d1, dc) == 0);
    char err2[256] = "";
    lgp_json *j2 = lgp_json_parse(d1, strlen(d1), err2, sizeof err2);
    if (!j2) {
        fprintf(stderr, "dump does not reparse: %s\n  dump: %.200s\n", err2, d1);
        abort();
    }
    char *d2 = lgp_json_dump(j2);
    if (strcmp(d1, d2) != 0) {
        fprintf(stderr, "dump not stable:\n  1: %.200s\n  2: %.200s\n", d1, d2);
        abort();
    }
    free(d1), free(dc), free(d2);
    lgp_json_free(j), lgp_json_free(c), lgp_json_free(j2);
    return 0;
}
