/* rng.h — counter-based randomness: every draw is a function of (seed, key...).
 *
 * lgp_rng_init(&r, seed, a, b, c) gives a generator whose sequence depends only on its
 * four 64-bit inputs, e.g. (seed, epoch, sample index, purpose). Stages never carry
 * generator state across samples, so a resumed, sharded or multithreaded run draws
 * exactly the same numbers for the same sample. The generator is xoshiro256** seeded
 * through splitmix64; the struct is plain data (caller-owned, no free). */
#ifndef LGP_RNG_H
#define LGP_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } lgp_rng;

/* Purposes: keep draws of different stages/ops independent for the same sample. */
enum {
    LGP_RNG_INIT = 1,    /* parameter initialisation */
    LGP_RNG_SHUFFLE = 2, /* tar-images buffer shuffle */
    LGP_RNG_AUGMENT = 3, /* lgp-augment views */
    LGP_RNG_MASK = 4,    /* MAE / block masks */
    LGP_RNG_SUBSET = 5,  /* lgp-probe few-shot subsets */
    LGP_RNG_PROBE = 6,   /* lgp-probe SGD order / init */
    LGP_RNG_DROPPATH = 7, /* lgp-finetune stochastic depth, per sample */
    LGP_RNG_MIXUP = 8,   /* lgp-finetune mixup / cutmix, per step */
};

void lgp_rng_init(lgp_rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c);
uint64_t lgp_rng_u64(lgp_rng *r);
/* Uniform in [0, 1) with 53 (double) or 24 (float) random bits. */
double lgp_rng_uniform(lgp_rng *r);
float lgp_rng_uniformf(lgp_rng *r);
/* Uniform integer in [0, n), unbiased (n > 0). */
uint64_t lgp_rng_below(lgp_rng *r, uint64_t n);
/* Standard normal (Box–Muller, one value per call, deterministic). */
double lgp_rng_normal(lgp_rng *r);
/* Gamma(a, 1) (Marsaglia-Tsang; shapes below 1 boosted) and Beta(a, b): mixup's lam.
 * The number of draws depends on the rejections: key a generator per use. */
double lgp_rng_gamma(lgp_rng *r, double a);
double lgp_rng_beta(lgp_rng *r, double a, double b);
/* 64-bit mix used to derive keys (splitmix64 finaliser). */
uint64_t lgp_mix64(uint64_t x);

#endif
