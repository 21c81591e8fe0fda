/* gradsync.h — the gradient all-reduce of data-parallel training, overlapped with the
 * backward pass.
 *
 * The flat gradient buffer is cut into buckets: one per transformer block (encoder
 * "blocks.L.*", decoder "decoder_blocks.L.*": each block's tensors are contiguous in the
 * table, vit.h) and the gaps between them. A trainer arms the stacks of the LAST backward
 * pass of a step (the one after which a block's gradient no longer changes); as block
 * L's backward ends, its bucket's MPI_Iallreduce starts while the blocks below still
 * compute. lgp_gradsync_finish starts the gaps and whatever was not started, waits for
 * all of it and divides by the world size: the same sums as one all-reduce of the whole
 * buffer, only started earlier. Every rank issues the same calls in the same order, as
 * MPI requires, because every rank runs the same passes.
 *
 * One rank: nothing happens. LGP_GRAD_OVERLAP=0 in the environment turns the overlap off
 * (everything is reduced by finish), for the benchmark. */
#ifndef LGP_GRADSYNC_H
#define LGP_GRADSYNC_H

#include "common/nn/vit.h"

typedef struct {
    float *grads;
    size_t total;
    int n, overlap;
    uint64_t early, late; /* floats whose reduction started during / after backward */
    struct {
        size_t off, n;
        int started;
    } b[2 * LGP_VIT_MAX_DEPTH]; /* sorted by offset */
} lgp_gradsync;

/* Buckets from the parameter table of the buffer grads[p->total]. */
void lgp_gradsync_init(lgp_gradsync *s, const lgp_params *p, float *grads);
/* Hooks stack st (may be NULL) so that its backward starts each block's bucket;
 * disarm removes the hook. */
void lgp_gradsync_arm(lgp_gradsync *s, lgp_vit_stack *st);
void lgp_gradsync_disarm(lgp_vit_stack *st);
/* Reduces the rest, waits, scales by 1/world; ready for the next step. */
void lgp_gradsync_finish(lgp_gradsync *s);
/* -v line (several ranks only): bytes and blocked seconds of all of this rank's
 * communication per step, and the share of the gradient started during backward. */
void lgp_gradsync_report(const lgp_gradsync *s, int64_t steps);

#endif
