/* crc32c.h — CRC-32C (Castagnoli), the per-record checksum of lgp streams.
 * Uses the SSE4.2 instruction when the build targets it, a table otherwise; both give
 * identical values. lgp_crc32c(0, buf, n) starts a new checksum; pass the previous
 * value to continue one. */
#ifndef LGP_CRC32C_H
#define LGP_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t lgp_crc32c(uint32_t crc, const void *buf, size_t n);

#endif
