/* fuzz_safetensors.c — libFuzzer target: the safetensors header parser and validator
 * (and through it the JSON parser). */
#include "formats/safetensors.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    lgp_record rec;
    lgp_record_init(&rec);
    char err[512], *meta = NULL;
    if (lgp_st_parse(data, size, &rec, &meta, err, sizeof err) == LGP_OK) free(meta);
    lgp_record_free(&rec);
    return 0;
}
