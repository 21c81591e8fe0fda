/* test_mask.c — MAE random masking: exact kept count per sample, the same masks as the
 * MAE trainer's own lgp_mae_random_mask (the trainer and lgp-mask must agree), an
 * independent argsort twin, per-patch masking frequency ~ ratio, determinism; BEiT
 * block masking: exact count, blocks are contiguous (fewer connected components than
 * a random mask), determinism. */
#include "common/lgp.h"
#include "common/nn/mae.h"
#include "common/data/mask.h"
#include "common/util/rng.h"
#include "tests/unit/tap.h"

#include <stdint.h>

/* O(N^2) twin: the k-th kept patch is the one with the k-th smallest noise. */
static void mask_ref(uint8_t *mask, int n, double ratio, uint64_t seed, uint64_t ep, uint64_t idx) {
    double noise[1024];
    lgp_rng r;
    lgp_rng_init(&r, seed, ep, idx, LGP_RNG_MASK);
    for (int i = 0; i < n; i++) noise[i] = lgp_rng_uniform(&r);
    int keep = (int)(n * (1.0 - ratio));
    for (int i = 0; i < n; i++) {
        int rank = 0;
        for (int j = 0; j < n; j++) rank += noise[j] < noise[i] || (noise[j] == noise[i] && j < i);
        mask[i] = rank >= keep;
    }
}

static int components(const uint8_t *m, int gh, int gw) {
    int lab[1024] = {0}, n = 0, stack[1024];
    for (int s = 0; s < gh * gw; s++) {
        if (!m[s] || lab[s]) continue;
        int sp = 0;
        stack[sp++] = s;
        lab[s] = ++n;
        while (sp) {
            int q = stack[--sp], y = q / gw, x = q % gw;
            int nb[4][2] = {{y - 1, x}, {y + 1, x}, {y, x - 1}, {y, x + 1}};
            for (int k = 0; k < 4; k++) {
                int yy = nb[k][0], xx = nb[k][1];
                if (yy < 0 || xx < 0 || yy >= gh || xx >= gw) continue;
                int t = yy * gw + xx;
                if (m[t] && !lab[t]) lab[t] = n, stack[sp++] = t;
            }
        }
    }
    return n;
}

static void test_random(void) {
    const int Ns[] = {196, 49, 16, 1};
    const double ratios[] = {0.75, 0.5, 0.9, 0.0};
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 4; b++) {
            int N = Ns[a], bad = 0, mism = 0, trainer = 0;
            double ratio = ratios[b];
            int want_keep = (int)(N * (1.0 - ratio));
            for (int i = 0; i < 500; i++) {
                uint8_t m[1024], ref[1024];
                int keep = lgp_mask_random(m, N, ratio, 99, 2, (uint64_t)i), sum = 0;
                for (int k = 0; k < N; k++) sum += m[k];
                bad += keep != want_keep || sum != N - want_keep;
                mask_ref(ref, N, ratio, 99, 2, (uint64_t)i);
                mism += memcmp(m, ref, (size_t)N) != 0;
                if (want_keep > 0) {
                    int ids[1024];
                    float fm[1024];
                    lgp_mae_random_mask(ids, fm, N, want_keep, 99, 2, (uint64_t)i);
                    for (int k = 0; k < N; k++) trainer += (fm[k] != 0) != m[k];
                }
            }
            ok(!bad, "N=%d ratio %.2f: exactly %d kept in each of 500 samples", N, ratio, want_keep);
            ok(!mism, "N=%d ratio %.2f: equals the argsort twin (%d differ)", N, ratio, mism);
            ok(!trainer, "N=%d ratio %.2f: equals lgp_mae_random_mask (%d patches differ)", N, ratio, trainer);
        }
    /* each patch is masked with probability ratio */
    int cnt[196] = {0}, T = 4000;
    for (int i = 0; i < T; i++) {
        uint8_t m[196];
        lgp_mask_random(m, 196, 0.75, 1, 0, (uint64_t)i);
        for (int k = 0; k < 196; k++) cnt[k] += m[k];
    }
    int worst = 0;
    for (int k = 0; k < 196; k++) {
        int d = abs(cnt[k] - 3000);
        if (d > worst) worst = d;
    }
    /* sd = sqrt(4000 * .75 * .25) = 27.4; 196 patches: max |z| < 4.5 */
    ok(worst < 123, "per-patch mask frequency 0.75 +- 4.5 sd (worst deviation %d of 4000)", worst);
    uint8_t a[196], b[196];
    lgp_mask_random(a, 196, 0.75, 5, 1, 7);
    lgp_mask_random(b, 196, 0.75, 5, 1, 7);
    ok(!memcmp(a, b, 196), "same seed/epoch/index: same mask");
    lgp_mask_random(b, 196, 0.75, 6, 1, 7);
    ok(memcmp(a, b, 196), "other seed: other mask");
    lgp_mask_random(b, 196, 0.75, 5, 1, 8);
    ok(memcmp(a, b, 196), "other index: other mask");
    is_int(lgp_mask_random(a, 196, 1.0, 5, 1, 7), -1, "ratio 1 refused");
    is_int(lgp_mask_random(a, 0, 0.5, 5, 1, 7), -1, "no patches refused");
}

static void test_block(void) {
    lgp_block_opts o = LGP_BLOCK_OPTS_DEFAULT;
    const int grids[][3] = {{14, 14, 75}, {14, 14, 147}, {7, 7, 36}, {8, 8, 16}};
    for (size_t g = 0; g < 4; g++) {
        int gh = grids[g][0], gw = grids[g][1], nm = grids[g][2], bad = 0;
        double comp_block = 0, comp_rand = 0;
        for (int i = 0; i < 300; i++) {
            uint8_t m[1024], r[1024];
            int got = lgp_mask_block(m, gh, gw, nm, &o, 3, 0, (uint64_t)i), sum = 0;
            for (int k = 0; k < gh * gw; k++) sum += m[k];
            bad += got != nm || sum != nm;
            comp_block += components(m, gh, gw) / 300.0;
            lgp_mask_random(r, gh * gw, 1.0 - (double)(gh * gw - nm) / (gh * gw) + 1e-9, 3, 0, (uint64_t)i);
            comp_rand += components(r, gh, gw) / 300.0;
        }
        ok(!bad, "block %dx%d: exactly %d masked in each of 300 samples", gh, gw, nm);
        ok(comp_block < comp_rand, "block %dx%d: %.2f connected pieces vs %.2f for random masks", gh, gw,
           comp_block, comp_rand);
    }
    uint8_t a[196], b[196];
    lgp_mask_block(a, 14, 14, 75, &o, 9, 0, 4);
    lgp_mask_block(b, 14, 14, 75, &o, 9, 0, 4);
    ok(!memcmp(a, b, 196), "block: same draws, same mask");
    lgp_mask_block(b, 14, 14, 75, &o, 9, 0, 5);
    ok(memcmp(a, b, 196), "block: other index, other mask");
    int64_t ids[196];
    is_int(lgp_mask_ids_keep(ids, a, 196), 121, "ids_keep counts the unmasked patches");
    ok(ids[0] < ids[1] && !a[ids[0]] && !a[ids[120]], "ids_keep ascending and unmasked");
}

int main(void) {
    test_random();
    test_block();
    return done_testing();
}
