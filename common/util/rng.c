/* rng.c — xoshiro256** keyed through splitmix64 (see rng.h). */
#include "common/util/rng.h"

#include <math.h>

uint64_t lgp_mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void lgp_rng_init(lgp_rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
    /* Chain the key words so that (a,b) and (b,a) give different streams. */
    uint64_t k = lgp_mix64(seed);
    k = lgp_mix64(k ^ a);
    k = lgp_mix64(k ^ (b + 0x632be59bd9b4e019ULL));
    k = lgp_mix64(k ^ (c + 0x8cb92ba72f3d8dd7ULL));
    for (int i = 0; i < 4; i++) {
        k = lgp_mix64(k + (uint64_t)i);
        r->s[i] = k;
    }
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1; /* all-zero is a fixed point */
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t lgp_rng_u64(lgp_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double lgp_rng_uniform(lgp_rng *r) { return (lgp_rng_u64(r) >> 11) * 0x1.0p-53; }

float lgp_rng_uniformf(lgp_rng *r) { return (float)(lgp_rng_u64(r) >> 40) * 0x1.0p-24f; }

uint64_t lgp_rng_below(lgp_rng *r, uint64_t n) {
    /* Rejection on the top of the range keeps the result unbiased. */
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = lgp_rng_u64(r);
    while (x >= lim);
    return x % n;
}

double lgp_rng_normal(lgp_rng *r) {
    double u1 = lgp_rng_uniform(r), u2 = lgp_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Marsaglia and Tsang (2000); shapes below 1 through Gamma(a + 1) * U^(1/a). */
double lgp_rng_gamma(lgp_rng *r, double a) {
    if (a < 1.0) {
        double u = lgp_rng_uniform(r);
        return lgp_rng_gamma(r, a + 1.0) * pow(u > 0 ? u : 1e-300, 1.0 / a);
    }
    double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = lgp_rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0);
        v = v * v * v;
        double u = lgp_rng_uniform(r);
        if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
        if (u > 0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v;
    }
}

double lgp_rng_beta(lgp_rng *r, double a, double b) {
    double x = lgp_rng_gamma(r, a), y = lgp_rng_gamma(r, b);
    return x + y > 0 ? x / (x + y) : 0.5;
}
