/* order.h — the data order of tar-images: which images of the source order this shard
 * keeps (j mod N == I), the WebDataset-style shuffle buffer they pass through, and the
 * --skip/--limit window over the output, counted across epochs.
 *
 * Every image gets its position in the source order (id) before sharding, so the
 * downstream draws keyed by (epoch, id) are the same whatever the shard or shuffle. The
 * buffer is a pure function of (seed, epoch, shard rank): each epoch starts a generator
 * keyed (seed, epoch, shard_i, LGP_RNG_SHUFFLE); when the buffer is full an incoming
 * item replaces a uniformly drawn one, which goes out; at the end of an epoch the rest
 * goes out in uniformly drawn order.
 *
 * Ownership: lgp_order is caller-owned (_init/_free) and owns the items in its buffer.
 * An item handed to lgp_order_push is taken; one handed back (push, drain) belongs to
 * the caller, who releases it with lgp_order_item_free. Nothing here exits. */
#ifndef LGP_ORDER_H
#define LGP_ORDER_H

#include "common/util/rng.h"

#include <stddef.h>
#include <stdint.h>

/* One image on its way out. */
typedef struct {
    char *key;     /* owned */
    int64_t id;    /* position in the source order, before sharding and shuffling */
    int64_t label; /* -1: none */
    const char *tname; /* tensor name: "jpeg", "png" or "image" (static) */
    int ndim;
    int64_t shape[3];
    uint8_t *data; /* [size], owned unless borrowed */
    size_t size;
    int borrowed;  /* data belongs to someone else (IDX pixels) */
} lgp_order_item;

void lgp_order_item_free(lgp_order_item *it);

typedef struct {
    int64_t shard_i, shard_n; /* keep j mod shard_n == shard_i (shard_n >= 1) */
    int64_t shuffle;          /* buffer size; 0 or 1: source order */
    int64_t skip;             /* output items dropped first (resume) */
    int64_t limit;            /* output items after the skip, over all epochs; -1: no limit */
    uint64_t seed;
} lgp_order_opts;

typedef struct {
    lgp_order_opts o;
    lgp_rng rng;
    lgp_order_item *buf; /* [cap] the shuffle buffer, nbuf in use */
    size_t cap, nbuf;
    int64_t j;       /* source position in this epoch */
    int64_t emitted; /* items that reached the window (skipped or not), all epochs */
    int64_t written; /* items handed back, all epochs (read-only for the caller) */
    int done;        /* the limit is reached: push and drain hand back nothing more */
    int64_t *perm;   /* full shuffle: the epoch's permutation of [0, nperm) */
    int64_t nperm, pos;
} lgp_order;

/* LGP_OK, or LGP_FATAL (out of memory for the buffer) with a message. */
int lgp_order_init(lgp_order *ord, const lgp_order_opts *o, char *err, size_t errlen);
/* Starts an epoch: source positions from 0, the epoch's shuffle generator. Items still
 * buffered must have been drained. */
void lgp_order_begin_epoch(lgp_order *ord, int64_t epoch);
/* Takes it (its id is set here). Returns 1 with an item to write in *out, else 0. */
int lgp_order_push(lgp_order *ord, lgp_order_item *it, lgp_order_item *out);
/* End of epoch: call until it returns 0; each 1 hands back an item in *out. */
int lgp_order_drain(lgp_order *ord, lgp_order_item *out);
void lgp_order_free(lgp_order *ord);

/* The exact shuffle (tar-images --shuffle full, for sources that can be read in any
 * order): each epoch is one uniformly random permutation (Fisher-Yates) of all n source
 * images, drawn from a generator keyed (seed, epoch, n, LGP_RNG_SHUFFLE), the same on
 * every shard; this shard takes the permutation's positions p with p mod N == I, so the
 * shards are disjoint, together complete, and differ in size by at most one. The
 * window (--skip/--limit) applies as in the streaming order. LGP_OK or LGP_FATAL (out
 * of memory). */
int lgp_order_begin_full(lgp_order *ord, int64_t epoch, int64_t n, char *err, size_t errlen);
/* The next source index of this shard's part of the epoch, or -1 at its end or once
 * the limit is reached. */
int64_t lgp_order_full_next(lgp_order *ord);
/* Hands an item read for that index (its id set by the caller to the index) through
 * the window: 1 with it in *out, else 0 (skipped or past the limit, freed). */
int lgp_order_full_take(lgp_order *ord, lgp_order_item *it, lgp_order_item *out);

/* Items of the first epoch for n source images: this shard's share, cut to skip + limit
 * when the window ends inside it. That is the epoch length of the order the output is
 * a window of, so a resumed run (--skip K --limit L) announces what the run it
 * continues (--limit K + L) did. */
int64_t lgp_order_epoch_items(const lgp_order_opts *o, int64_t n);

#endif
