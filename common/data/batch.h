/* batch.h — turns a record stream into training/inference batches: u8 HWC views become
 * normalized float CHW tensors, optional per-sample patch masks are gathered, and bad
 * records are skipped or fatal by policy.
 *
 * The caller owns lgp_batch (init/free); the reader and the scratch record are
 * borrowed. Sample positions: each sample carries (epoch, index) from the record's
 * `epoch`/`index` tensors when tar-images wrote them, else (0, position in the stream);
 * random draws keyed by them (masks) are therefore the same however the stream is
 * split, resumed or batched. */
#ifndef LGP_BATCH_H
#define LGP_BATCH_H

#include <stdint.h>

#include "formats/stream.h"
#include "common/util/warncap.h"

#define LGP_BATCH_MAX_VIEWS 2

typedef struct {
    int img_size;          /* H = W of every view */
    int in_chans;          /* C */
    float mean[4], std[4]; /* per channel, applied to x/255 */
    int nviews;            /* 1 (MAE, embed) or 2 (MoCo) */
    const char *view_names[LGP_BATCH_MAX_VIEWS]; /* "view0", "view1"; "image" accepted for one view */
    int n_patches;         /* > 0: gather `mask` tensors of this length when present */
    int on_bad_fatal;      /* a bad record stops the program instead of being skipped */
    int64_t max_bad;       /* more skipped records than this is fatal (-1: no limit) */
} lgp_batch_cfg;

typedef struct {
    int cap, n;                          /* capacity B, samples filled */
    float *x[LGP_BATCH_MAX_VIEWS];       /* [B, C, H, W] per view */
    uint8_t *mask;                       /* [B, N] when cfg.n_patches > 0 */
    int mask_count;                      /* samples in this batch that carried a mask */
    int64_t *index, *epoch, *label;      /* [B] */
    char **keys;                         /* [B] record keys (owned) */
    int64_t consumed;                    /* records read from the stream so far, bad ones included */
    int64_t skipped;                     /* bad records skipped so far */
    lgp_warncap damaged;                 /* their messages, capped */
} lgp_batch;

int lgp_batch_init(lgp_batch *b, const lgp_batch_cfg *cfg, int cap);
void lgp_batch_free(lgp_batch *b);
/* Fills up to cap samples. Returns LGP_OK with b->n > 0, LGP_EOF when the stream ended
 * (b->n may still be > 0: a last partial batch), or LGP_FATAL (message in err).
 * Damaged records (bad checksum or fields) are skipped with a capped message unless
 * on_bad_fatal. A record that does not fit the model (view size, channels, missing
 * view, mask length) or a checkpoint among the data is LGP_FATAL at once: "<input>:
 * record N '<key>': <what came>; the model expects <what>". */
int lgp_batch_fill(lgp_batch *b, const lgp_batch_cfg *cfg, lgp_reader *r, lgp_record *scratch,
                   char *err, size_t errlen);
/* "N more damaged-record messages not shown", when some were held back. */
void lgp_batch_report(const lgp_batch *b);
/* Converts one u8 HWC image to normalized float CHW (dst [C, H, W]). */
void lgp_batch_normalize(float *dst, const uint8_t *src, int h, int w, int c,
                         const float *mean, const float *std);
/* Reads and discards n records (resume: the trainer skips what it has already seen).
 * Returns LGP_OK, LGP_EOF if the stream ended first, LGP_FATAL. */
int lgp_batch_skip(lgp_batch *b, lgp_reader *r, lgp_record *scratch, int64_t n, char *err, size_t errlen);

#endif
