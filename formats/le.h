/* le.h — explicit little-endian field access; file fields are never read by casting. */
#ifndef LGP_LE_H
#define LGP_LE_H

#include <stdint.h>
#include <string.h>

static inline uint16_t lgp_rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t lgp_rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t lgp_rd64(const unsigned char *p) {
    return (uint64_t)lgp_rd32(p) | (uint64_t)lgp_rd32(p + 4) << 32;
}
static inline void lgp_wr16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static inline void lgp_wr32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void lgp_wr64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lgp stores tensor payloads little-endian and supports little-endian hosts only"
#endif

#endif
