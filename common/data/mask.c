/* mask.c — MAE random masking and BEiT block masking (see mask.h). */
#include "common/data/mask.h"

#include "common/util/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double noise;
    int32_t idx;
} noise_item;

static int cmp_noise(const void *a, const void *b) {
    const noise_item *x = a, *y = b;
    if (x->noise < y->noise) return -1;
    if (x->noise > y->noise) return 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

int lgp_mask_keep_count(int n_patches, double ratio) {
    return (int)(n_patches * (1.0 - ratio));
}

int lgp_mask_shuffle(int32_t *ids_shuffle, int n_patches, uint64_t seed, uint64_t epoch,
                     uint64_t index) {
    if (n_patches < 1) return -1;
    noise_item *it = malloc(sizeof(noise_item) * (size_t)n_patches);
    if (!it) return -1;
    lgp_rng r;
    lgp_rng_init(&r, seed, epoch, index, LGP_RNG_MASK);
    for (int i = 0; i < n_patches; i++) {
        it[i].noise = lgp_rng_uniform(&r);
        it[i].idx = i;
    }
    qsort(it, (size_t)n_patches, sizeof *it, cmp_noise);
    for (int i = 0; i < n_patches; i++) ids_shuffle[i] = it[i].idx;
    free(it);
    return 0;
}

int lgp_mask_random(uint8_t *mask, int n_patches, double ratio, uint64_t seed, uint64_t epoch,
                    uint64_t index) {
    if (n_patches < 1 || !(ratio >= 0.0 && ratio < 1.0)) return -1;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)n_patches);
    if (!ids || lgp_mask_shuffle(ids, n_patches, seed, epoch, index) != 0) {
        free(ids);
        return -1;
    }
    int keep = lgp_mask_keep_count(n_patches, ratio);
    for (int i = 0; i < n_patches; i++) mask[ids[i]] = i >= keep;
    free(ids);
    return keep;
}

/* Python's random.uniform(a, b) = a + (b - a) * U, also for a > b. */
static double uniform_ab(lgp_rng *r, double a, double b) { return a + (b - a) * lgp_rng_uniform(r); }

/* BEiT MaskingGenerator._mask: one block; returns how many patches it newly masked. */
static int mask_one_block(uint8_t *mask, int gh, int gw, int max_mask, const lgp_block_opts *o,
                          lgp_rng *r) {
    double la = log(o->min_aspect), lb = log(1.0 / o->min_aspect);
    int delta = 0;
    for (int attempt = 0; attempt < 10; attempt++) {
        double area = uniform_ab(r, o->min_patches, max_mask);
        double aspect = exp(uniform_ab(r, la, lb));
        int h = (int)nearbyint(sqrt(area * aspect)), w = (int)nearbyint(sqrt(area / aspect));
        if (w < gw && h < gh) {
            int top = (int)lgp_rng_below(r, (uint64_t)(gh - h + 1));
            int left = (int)lgp_rng_below(r, (uint64_t)(gw - w + 1));
            int already = 0;
            for (int i = top; i < top + h; i++)
                for (int j = left; j < left + w; j++) already += mask[i * gw + j];
            int fresh = h * w - already;
            if (fresh > 0 && fresh <= max_mask)
                for (int i = top; i < top + h; i++)
                    for (int j = left; j < left + w; j++)
                        if (!mask[i * gw + j]) {
                            mask[i * gw + j] = 1;
                            delta++;
                        }
            if (delta > 0) break;
        }
    }
    return delta;
}

int lgp_mask_block(uint8_t *mask, int gh, int gw, int n_masked, const lgp_block_opts *o,
                   uint64_t seed, uint64_t epoch, uint64_t index) {
    int n = gh * gw;
    if (gh < 1 || gw < 1 || n_masked < 0 || n_masked > n || o->min_patches < 1 ||
        !(o->min_aspect > 0 && o->min_aspect <= 1))
        return -1;
    lgp_rng r;
    lgp_rng_init(&r, seed, epoch, index, LGP_RNG_MASK);
    memset(mask, 0, (size_t)n);
    int count = 0, cap = o->max_patches > 0 ? o->max_patches : n_masked;
    while (count < n_masked) {
        int max_mask = n_masked - count < cap ? n_masked - count : cap;
        int delta = mask_one_block(mask, gh, gw, max_mask, o, &r);
        if (delta == 0) break;
        count += delta;
    }
    /* top up a stalled generator: uniform draw among the still unmasked patches */
    while (count < n_masked) {
        int pick = (int)lgp_rng_below(&r, (uint64_t)(n - count));
        for (int i = 0; i < n; i++)
            if (!mask[i] && pick-- == 0) {
                mask[i] = 1;
                count++;
                break;
            }
    }
    return count;
}

int lgp_mask_ids_keep(int64_t *ids_keep, const uint8_t *mask, int n_patches) {
    int k = 0;
    for (int i = 0; i < n_patches; i++)
        if (!mask[i]) ids_keep[k++] = i;
    return k;
}
