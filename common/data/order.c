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

void lgp_order_free(lgp_order *ord) {
    for (size_t i = 0; i < ord->nbuf; i++) lgp_order_item_free(&ord->buf[i]);
    free(ord->buf);
    ord->buf = NULL, ord->nbuf = 0;
}

int64_t lgp_order_epoch_items(const lgp_order_opts *o, int64_t n) {
    int64_t k = n / o->shard_n + (o->shard_i < n % o->shard_n);
    if (o->limit >= 0 && o->limit <= INT64_MAX - o->skip && o->skip + o->limit < k) k = o->skip + o->limit;
    return k;
}
