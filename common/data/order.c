/* order.c — shard, shuffle buffer and output window (see order.h). */
#include "common/data/order.h"

#include "common/lgp.h"

#include <stdio.h>
#include <stdlib.h>

void lgp_order_item_free(lgp_order_item *it) {
    free(it->key);
    if (!it->borrowed) free(it->data);
    it->key = NULL, it->data = NULL;
}

int lgp_order_init(lgp_order *ord, const lgp_order_opts *o, char *err, size_t errlen) {
    *ord = (lgp_order){.o = *o};
    ord->cap = o->shuffle > 1 ? (size_t)o->shuffle : 0;
    if (ord->cap && !(ord->buf = malloc(ord->cap * sizeof *ord->buf))) {
        snprintf(err, errlen, "out of memory");
        return LGP_FATAL;
    }
    return LGP_OK;
}

void lgp_order_begin_epoch(lgp_order *ord, int64_t epoch) {
    LGP_ASSERT(ord->nbuf == 0);
    ord->j = 0;
    lgp_rng_init(&ord->rng, ord->o.seed, (uint64_t)epoch, (uint64_t)ord->o.shard_i, LGP_RNG_SHUFFLE);
}

/* The --skip/--limit window: 1 if it goes out (moved to *out), else freed. */
static int window(lgp_order *ord, lgp_order_item *it, lgp_order_item *out) {
    int64_t limit = ord->o.limit;
    if (ord->emitted++ < ord->o.skip) { lgp_order_item_free(it); return 0; }
    if (limit >= 0 && ord->written >= limit) { /* --limit 0 */
        ord->done = 1;
        lgp_order_item_free(it);
        return 0;
    }
    *out = *it;
    ord->written++;
    if (limit >= 0 && ord->written >= limit) ord->done = 1;
    return 1;
}

int lgp_order_push(lgp_order *ord, lgp_order_item *it, lgp_order_item *out) {
    int64_t j = ord->j++;
    it->id = j;
    if (ord->done || j % ord->o.shard_n != ord->o.shard_i) { lgp_order_item_free(it); return 0; }
    if (!ord->cap) return window(ord, it, out);
    if (ord->nbuf < ord->cap) { ord->buf[ord->nbuf++] = *it; return 0; }
    size_t k = (size_t)lgp_rng_below(&ord->rng, ord->cap);
    lgp_order_item old = ord->buf[k];
    ord->buf[k] = *it;
    return window(ord, &old, out);
}

int lgp_order_drain(lgp_order *ord, lgp_order_item *out) {
    while (ord->nbuf) {
        size_t k = (size_t)lgp_rng_below(&ord->rng, ord->nbuf);
        lgp_order_item it = ord->buf[k];
        ord->buf[k] = ord->buf[--ord->nbuf];
        if (ord->done) lgp_order_item_free(&it);
        else if (window(ord, &it, out)) return 1;
    }
    return 0;
}

int lgp_order_begin_full(lgp_order *ord, int64_t epoch, int64_t n, char *err, size_t errlen) {
    LGP_ASSERT(n >= 0);
    if (n != ord->nperm || !ord->perm) {
        free(ord->perm);
        ord->perm = malloc((size_t)(n ? n : 1) * sizeof *ord->perm);
        if (!ord->perm) return snprintf(err, errlen, "out of memory for a permutation of %lld images", (long long)n), LGP_FATAL;
        ord->nperm = n;
    }
    /* Keyed by n as well: the same seed over another data set is another permutation. */
    lgp_rng r;
    lgp_rng_init(&r, ord->o.seed, (uint64_t)epoch, (uint64_t)n, LGP_RNG_SHUFFLE);
    for (int64_t i = 0; i < n; i++) ord->perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t k = (int64_t)lgp_rng_below(&r, (uint64_t)i + 1), t = ord->perm[i];
        ord->perm[i] = ord->perm[k], ord->perm[k] = t;
    }
    ord->pos = ord->o.shard_i;
    return LGP_OK;
}

int64_t lgp_order_full_next(lgp_order *ord) {
    if (ord->done || ord->pos >= ord->nperm) return -1;
    int64_t i = ord->perm[ord->pos];
    ord->pos += ord->o.shard_n;
    return i;
}

int lgp_order_full_take(lgp_order *ord, lgp_order_item *it, lgp_order_item *out) {
    if (ord->done) { lgp_order_item_free(it); return 0; }
    return window(ord, it, out);
}

void lgp_order_free(lgp_order *ord) {
    for (size_t i = 0; i < ord->nbuf; i++) lgp_order_item_free(&ord->buf[i]);
    free(ord->buf);
    free(ord->perm);
    ord->buf = NULL, ord->nbuf = 0, ord->perm = NULL;
}

int64_t lgp_order_epoch_items(const lgp_order_opts *o, int64_t n) {
    int64_t k = n / o->shard_n + (o->shard_i < n % o->shard_n);
    if (o->limit >= 0 && o->limit <= INT64_MAX - o->skip && o->skip + o->limit < k) k = o->skip + o->limit;
    return k;
}
