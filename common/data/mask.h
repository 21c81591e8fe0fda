/* mask.h — which patches a masked-image-modelling step hides, per sample.
 *
 * lgp_mask_random is MAE's per-sample random masking: noise ~ U[0, 1) per patch from
 * lgp_rng_init(seed, epoch, index, LGP_RNG_MASK), argsort ascending (ids_shuffle),
 * keep the first int(N * (1 - ratio)). lgp-mask and the MAE trainer (when its input
 * carries no mask) call this same function, so both draw the same mask for the same
 * (seed, epoch, sample index). lgp_mask_block is BEiT's block-wise MaskingGenerator.
 *
 * Memory: every output array is caller-owned with the length given in its comment;
 * nothing is allocated except transient scratch inside the call. */
#ifndef LGP_MASK_H
#define LGP_MASK_H

#include <stdint.h>

/* Number of patches MAE keeps: int(n * (1 - ratio)) (the float product, truncated). */
int lgp_mask_keep_count(int n_patches, double ratio);

/* ids_shuffle: [n_patches] = argsort(noise) ascending (ties by index); the MAE order. */
int lgp_mask_shuffle(int32_t *ids_shuffle, int n_patches, uint64_t seed, uint64_t epoch,
                     uint64_t index);

/* mask: [n_patches], 1 = masked (removed), 0 = kept. Returns the kept count, or -1 on
 * bad arguments (n_patches < 1, ratio outside [0, 1)) or out of memory. */
int lgp_mask_random(uint8_t *mask, int n_patches, double ratio, uint64_t seed, uint64_t epoch,
                    uint64_t index);

typedef struct {
    int min_patches;   /* smallest block drawn, BEiT 16 */
    int max_patches;   /* largest block drawn, <= 0: the target count (BEiT default) */
    double min_aspect; /* block aspect in [min_aspect, 1 / min_aspect], BEiT 0.3 */
} lgp_block_opts;
#define LGP_BLOCK_OPTS_DEFAULT {16, 0, 0.3}

/* mask: [gh, gw] row-major, 1 = masked. Runs BEiT's MaskingGenerator (blocks of
 * log-uniform aspect, 10 placement attempts per block, overlap allowed as long as each
 * block adds at most the remaining count) until n_masked patches are masked; if the
 * generator stalls short of the target (tiny grids), the rest are masked uniformly at
 * random among the unmasked patches so every sample has exactly n_masked. Draws come
 * from lgp_rng_init(seed, epoch, index, LGP_RNG_MASK). Returns n_masked, or -1. */
int lgp_mask_block(uint8_t *mask, int gh, int gw, int n_masked, const lgp_block_opts *o,
                   uint64_t seed, uint64_t epoch, uint64_t index);

/* ids_keep: [n_patches - masked] the unmasked patch indices, ascending. Returns count. */
int lgp_mask_ids_keep(int64_t *ids_keep, const uint8_t *mask, int n_patches);

#endif
