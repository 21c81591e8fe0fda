/* recon.c — see recon.h. */
#include "common/train/recon.h"

#include "formats/pngwrite.h"
#include "common/lgp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 8
#define SCALE 4 /* 28-pixel images are tiny: enlarge */

static uint8_t to_u8(float v, float mean, float std) {
    float x = (v * std + mean) * 255.0f;
    return (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : lrintf(x));
}

/* Fills out[P*P*c] (py, px, c order) with the reconstruction of patch n of sample b. */
static void patch_values(float *out, const lgp_mae *st, const float *orig, int b, int n, int Q) {
    const lgp_vit_config *cfg = &st->m->cfg;
    const float *src = orig + ((size_t)b * st->N + n) * Q;
    if (st->mask[(size_t)b * st->N + n] == 0.0f) {
        memcpy(out, src, sizeof(float) * (size_t)Q);
        return;
    }
    const float *pred = st->pred + ((size_t)b * st->N + n) * Q;
    double mu = 0, var = 0;
    for (int q = 0; q < Q; q++) mu += src[q];
    mu /= Q;
    for (int q = 0; q < Q; q++) var += (src[q] - mu) * (src[q] - mu);
    var /= Q > 1 ? Q - 1 : 1;
    for (int q = 0; q < Q; q++) out[q] = cfg->norm_pix ? (float)(pred[q] * sqrt(var + 1e-6) + mu) : pred[q];
}

int lgp_recon_png(const lgp_mae *st, const lgp_batch *b, const float *mean, const float *std,
                      const char *path, char *err, size_t errlen) {
    const lgp_vit_config *cfg = &st->m->cfg;
    int S = cfg->img_size, P = cfg->patch, c = cfg->in_chans, Q = lgp_vit_patch_dim(cfg), G = S / P;
    int rows = b->n < ROWS ? b->n : ROWS, W = 3 * S * SCALE + 2 * SCALE, H = rows * S * SCALE;
    if (rows < 1 || st->B < rows) return snprintf(err, errlen, "%s: no batch to show", path), LGP_FATAL;
    float *orig = malloc(sizeof(float) * (size_t)rows * st->N * Q), *pv = malloc(sizeof(float) * (size_t)Q);
    uint8_t *pix = calloc((size_t)H * W * c, 1);
    LGP_ASSERT(orig && pv && pix);
    lgp_vit_patchify_mae(orig, b->x[0], rows, cfg); /* plain (not per-patch normalised) patches */
    for (int r = 0; r < rows; r++)
        for (int n = 0; n < st->N; n++) {
            patch_values(pv, st, orig, r, n, Q);
            int masked = st->mask[(size_t)r * st->N + n] != 0.0f;
            const float *o = orig + ((size_t)r * st->N + n) * Q;
            for (int py = 0; py < P * SCALE; py++)
                for (int px = 0; px < P * SCALE; px++)
                    for (int ch = 0; ch < c; ch++) {
                        int q = ((py / SCALE) * P + px / SCALE) * c + ch;
                        int y = r * S * SCALE + (n / G) * P * SCALE + py, x0 = (n % G) * P * SCALE + px;
                        uint8_t *row = pix + (size_t)y * W * c;
                        row[(size_t)x0 * c + ch] = to_u8(o[q], mean[ch], std[ch]);
                        row[(size_t)(x0 + S * SCALE + SCALE) * c + ch] = masked ? 96 : to_u8(o[q], mean[ch], std[ch]);
                        row[(size_t)(x0 + 2 * S * SCALE + 2 * SCALE) * c + ch] = to_u8(pv[q], mean[ch], std[ch]);
                    }
        }
    int rc = lgp_pngwrite(path, pix, H, W, c, err, errlen);
    free(orig);
    free(pv);
    free(pix);
    return rc;
}
