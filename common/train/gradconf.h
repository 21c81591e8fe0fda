/* gradconf.h — how much two objectives' gradients agree, per part of the encoder: the
 * measurement the paper motivates grafting with (RECIPE §5.3). For the patch embedding,
 * each block l and the final norm, cos(g_a, g_b) over all of that part's parameters,
 * flattened; collected over batches and summarised per part (mean, std, quantiles).
 *
 * Works on two gradient buffers in a parameter table's layout (vit.h): the caller
 * makes them (clstate.h: lgp_cl_engine.grad_ctr splits the joint step into the
 * contrastive and the MAE gradient on the same weights). */
#ifndef LGP_GRADCONF_H
#define LGP_GRADCONF_H

#include <stddef.h>
#include <stdio.h>

#include "formats/json.h"
#include "common/nn/vit.h"

#define LGP_GC_MAX_PARTS (LGP_VIT_MAX_DEPTH + 2)

typedef struct {
    int nparts;                       /* patch_embed, blocks 0..depth-1, norm */
    int depth;
    int *part_of;                     /* [table count]: part of each entry, -1 none (owned) */
    const lgp_params *p;              /* borrowed */
    double *cos;                      /* [n, nparts] one row per measured batch (owned) */
    int n, cap;
    /* Optional, set by the caller: the cosine of the gradients summed over the batches.
     * One batch's gradient is mostly sampling noise, and two noisy vectors in millions of
     * dimensions are near orthogonal whatever their means do; the sums keep the part
     * the batches share. */
    int has_pooled;
    double pooled[LGP_GC_MAX_PARTS];
} lgp_gradconf;

/* Parts from the table's names: "patch_embed.*", "blocks.<l>.*", "norm.*". LGP_OK, or
 * LGP_FATAL (out of memory, or a table without blocks). */
int lgp_gradconf_init(lgp_gradconf *g, const lgp_params *p, char *err, size_t errlen);
void lgp_gradconf_free(lgp_gradconf *g);
/* "patch_embed", "block 3", "norm" (static storage per call site is not needed: buf). */
const char *lgp_gradconf_part_name(const lgp_gradconf *g, int part, char *buf, size_t n);
/* cos[nparts] of ga and gb over each part, in double; NAN where either is all zero. */
void lgp_gradconf_cosines(const lgp_gradconf *g, const float *ga, const float *gb, double *cos);
/* Appends one batch's row. LGP_OK or LGP_FATAL (out of memory). */
int lgp_gradconf_add(lgp_gradconf *g, const double *cos);
/* Summary of the collected rows: {"batches": n, "patch_embed": S, "blocks": [S + "block": l
 * ...], "norm": S} with S = {"cosine": mean, "std": (n-1 normalised), "quantiles": [min, 25%,
 * median, 75%, max] (linear interpolation, as numpy), "n"}; non-finite rows are left out
 * of a part's summary and counted in "nonfinite"; with has_pooled, S also has "pooled". */
lgp_json *lgp_gradconf_json(const lgp_gradconf *g);
/* The same as a table, one line per part (a "pooled" column with has_pooled). */
void lgp_gradconf_print(const lgp_gradconf *g, FILE *f);
/* ",\"gradconf\":[patch, block 0, ..., norm]" (4 decimals; null for NAN) into buf, for a
 * JSONL log line; the length written, or 0 if it does not fit. */
size_t lgp_gradconf_log(const lgp_gradconf *g, const double *cos, char *buf, size_t n);

#endif
