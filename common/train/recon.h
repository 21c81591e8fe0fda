/* recon.h — MAE reconstruction grids: for the first samples of the last batch, one row
 * each of original | masked input | reconstruction (visible patches from the input,
 * masked ones predicted; per-patch normalised predictions are mapped back with the
 * original patch's mean and variance, as MAE's visualisation does). */
#ifndef LGP_RECON_H
#define LGP_RECON_H

#include "common/data/batch.h"
#include "common/nn/mae.h"

int lgp_recon_png(const lgp_mae *st, const lgp_batch *b, const float *mean, const float *std,
                      const char *path, char *err, size_t errlen);

#endif
