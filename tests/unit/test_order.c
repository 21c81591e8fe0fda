/* test_order.c — tar-images' data order: the records_per_epoch rule, shards, the
 * shuffle buffer against a naive twin of its draws (so the order of existing runs
 * cannot change unnoticed), determinism by (seed, epoch, shard), one pass = every item
 * once, and the --skip/--limit window across epochs. */
#include "common/lgp.h"
#include "common/data/order.h"
#include "common/util/rng.h"
#include "tests/unit/tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lgp_order_item make_item(int64_t i) {
    char key[32];
    snprintf(key, sizeof key, "k%lld", (long long)i);
    uint8_t *d = malloc(1);
    d[0] = (uint8_t)i;
    return (lgp_order_item){.key = strdup(key), .label = i % 10, .tname = "jpeg", .ndim = 1, .shape = {1},
                            .data = d, .size = 1};
}

/* Runs n source items per epoch through an order; out[] gets (epoch << 32 | id) per
 * item handed back, in order. Returns how many. */
static size_t run(const lgp_order_opts *o, int64_t n, int epochs, int64_t *out, size_t cap) {
    lgp_order ord;
    char err[64];
    size_t k = 0;
    if (lgp_order_init(&ord, o, err, sizeof err) != LGP_OK) return 0;
    for (int e = 0; e < epochs && !ord.done; e++) {
        lgp_order_begin_epoch(&ord, e);
        lgp_order_item it, got;
        for (int64_t i = 0; i < n && !ord.done; i++) {
            it = make_item(i);
            if (lgp_order_push(&ord, &it, &got)) {
                if (k < cap) out[k] = (int64_t)e << 32 | got.id;
                k++;
                if (got.data[0] != (uint8_t)got.id) out[0] = -1; /* data travels with its id */
                lgp_order_item_free(&got);
            }
        }
        while (lgp_order_drain(&ord, &got)) {
            if (k < cap) out[k] = (int64_t)e << 32 | got.id;
            k++;
            lgp_order_item_free(&got);
        }
    }
    lgp_order_free(&ord);
    return k;
}

/* The buffer's draws written out plainly: one epoch of ids 0..n-1 kept by the shard. */
static size_t naive_epoch(const lgp_order_opts *o, int64_t n, int64_t epoch, int64_t *out) {
    lgp_rng r;
    lgp_rng_init(&r, o->seed, (uint64_t)epoch, (uint64_t)o->shard_i, LGP_RNG_SHUFFLE);
    int64_t buf[64];
    size_t nb = 0, k = 0, cap = (size_t)o->shuffle;
    for (int64_t j = 0; j < n; j++) {
        if (j % o->shard_n != o->shard_i) continue;
        if (nb < cap) { buf[nb++] = j; continue; }
        size_t x = (size_t)lgp_rng_below(&r, cap);
        out[k++] = buf[x];
        buf[x] = j;
    }
    while (nb) {
        size_t x = (size_t)lgp_rng_below(&r, nb);
        out[k++] = buf[x];
        buf[x] = buf[--nb];
    }
    return k;
}

static void test_epoch_items(void) {
    static const struct { int64_t n, i, N, skip, limit, want; } c[] = {
        {10000, 0, 1, 0, -1, 10000}, {10000, 1, 7, 0, -1, 1429}, {10000, 5, 7, 0, -1, 1428},
        {60000, 0, 1, 0, 512, 512},  {10000, 0, 1, 100, 512, 612}, {10000, 1, 7, 0, 20000, 1429},
        {10000, 0, 1, 0, 25000, 10000}, {10, 0, 1, 5, INT64_MAX, 10}, {0, 0, 3, 0, -1, 0},
    };
    for (size_t k = 0; k < LGP_ARRAY_LEN(c); k++) {
        lgp_order_opts o = {.shard_i = c[k].i, .shard_n = c[k].N, .skip = c[k].skip, .limit = c[k].limit};
        is_int(lgp_order_epoch_items(&o, c[k].n), c[k].want, "records_per_epoch: n %lld shard %lld/%lld skip %lld limit %lld",
               (long long)c[k].n, (long long)c[k].i, (long long)c[k].N, (long long)c[k].skip, (long long)c[k].limit);
    }
}

static void test_plain_and_shard(void) {
    int64_t out[64];
    lgp_order_opts o = {.shard_n = 1, .limit = -1};
    size_t k = run(&o, 10, 1, out, 64);
    int in_order = k == 10;
    for (size_t i = 0; in_order && i < k; i++) in_order = out[i] == (int64_t)i;
    ok(in_order, "no shuffle: the source order, ids 0..9 (got %zu items)", k);
    o = (lgp_order_opts){.shard_i = 1, .shard_n = 3, .limit = -1};
    k = run(&o, 10, 1, out, 64);
    ok(k == 3 && out[0] == 1 && out[1] == 4 && out[2] == 7, "shard 1/3 keeps ids 1, 4, 7 (ids count the source order)");
}

static void test_shuffle(void) {
    int64_t a[128], b[128], want[128];
    lgp_order_opts o = {.shard_i = 1, .shard_n = 2, .shuffle = 7, .limit = -1, .seed = 5};
    size_t k = run(&o, 50, 2, a, 128), kw = naive_epoch(&o, 50, 0, want);
    kw += naive_epoch(&o, 50, 1, want + kw);
    int same = k == kw && k == 50;
    for (size_t i = 0; same && i < k; i++) same = (a[i] & 0xffffffff) == want[i] && (a[i] >> 32) == (i >= 25);
    ok(same, "shuffle 7, shard 1/2, 2 epochs: the naive twin's order (%zu vs %zu items)", k, kw);
    int once = 1;
    for (int64_t id = 1; id < 50; id += 2) {
        int n = 0;
        for (size_t i = 0; i < 25; i++) n += a[i] == id;
        once &= n == 1;
    }
    ok(once, "epoch 0 holds each of the shard's items exactly once");
    int reshuffled = 0;
    for (size_t i = 0; i < 25; i++) reshuffled |= (a[i] & 0xffffffff) != (a[25 + i] & 0xffffffff);
    ok(reshuffled, "epoch 1 is another order");
    run(&o, 50, 2, b, 128);
    ok(memcmp(a, b, sizeof(int64_t) * 50) == 0, "same seed, same order");
    o.seed = 6;
    run(&o, 50, 2, b, 128);
    ok(memcmp(a, b, sizeof(int64_t) * 25) != 0, "other seed, other order");
    o = (lgp_order_opts){.shard_n = 1, .shuffle = 100, .limit = -1};
    k = run(&o, 20, 1, a, 128);
    kw = naive_epoch(&o, 20, 0, want);
    same = k == 20 && kw == 20;
    for (size_t i = 0; same && i < k; i++) same = a[i] == want[i];
    ok(same, "a buffer larger than the epoch: drawn out at the end in the twin's order");
}

static void test_window(void) {
    int64_t full[64], win[64];
    lgp_order_opts o = {.shard_n = 1, .shuffle = 4, .limit = -1, .seed = 3};
    size_t kf = run(&o, 10, 2, full, 64);
    o.skip = 3, o.limit = 4;
    size_t kw = run(&o, 10, 2, win, 64);
    ok(kf == 20 && kw == 4 && memcmp(win, full + 3, 4 * sizeof *win) == 0, "--skip 3 --limit 4 = items 3..6 of the full run");
    o.skip = 8, o.limit = 5;
    kw = run(&o, 10, 2, win, 64);
    ok(kw == 5 && memcmp(win, full + 8, 5 * sizeof *win) == 0, "a window across the epoch boundary (items 8..12)");
    o.skip = 0, o.limit = 0;
    ok(run(&o, 10, 2, win, 64) == 0, "--limit 0 hands back nothing");

    /* --skip with --limit 0: done only once the skip is used up, so a source keeps being
     * read (and its bad members counted) exactly as far as before */
    lgp_order ord;
    char err[64];
    o = (lgp_order_opts){.shard_n = 1, .skip = 2, .limit = 0};
    lgp_order_init(&ord, &o, err, sizeof err);
    lgp_order_begin_epoch(&ord, 0);
    lgp_order_item it, got;
    int done_after[3];
    for (int i = 0; i < 3; i++) {
        it = make_item(i);
        lgp_order_push(&ord, &it, &got);
        done_after[i] = ord.done;
    }
    ok(!done_after[0] && !done_after[1] && done_after[2], "--skip 2 --limit 0: done at the third item");
    lgp_order_free(&ord);

    /* stopping with items still buffered frees them */
    o = (lgp_order_opts){.shard_n = 1, .shuffle = 8, .limit = 2};
    lgp_order_init(&ord, &o, err, sizeof err);
    lgp_order_begin_epoch(&ord, 0);
    size_t n = 0;
    for (int i = 0; i < 20 && !ord.done; i++) {
        it = make_item(i);
        if (lgp_order_push(&ord, &it, &got)) n++, lgp_order_item_free(&got);
    }
    ok(n == 2 && ord.done && ord.written == 2, "--limit 2 with a full buffer: two out, done (written %lld)", (long long)ord.written);
    while (lgp_order_drain(&ord, &got)) n++, lgp_order_item_free(&got);
    ok(n == 2 && ord.nbuf == 0, "drain after done hands back nothing and empties the buffer");
    lgp_order_free(&ord);
}

/* The exact shuffle: each epoch a permutation of all n (every id once), another one
 * per epoch and per seed, the same for a given (seed, epoch); shards disjoint, complete,
 * balanced; the window counts across epochs as the streaming order does; and for a
 * class-sorted source the first 64 draws span most of the classes. */
static int64_t full_run(const lgp_order_opts *o, int64_t n, int epochs, int64_t *out, size_t cap) {
    lgp_order ord;
    char err[64];
    size_t k = 0;
    if (lgp_order_init(&ord, o, err, sizeof err) != LGP_OK) return -1;
    for (int e = 0; e < epochs && !ord.done; e++) {
        if (lgp_order_begin_full(&ord, e, n, err, sizeof err) != LGP_OK) return -1;
        int64_t i;
        while ((i = lgp_order_full_next(&ord)) >= 0) {
            lgp_order_item it = make_item(i), got;
            it.id = i;
            if (lgp_order_full_take(&ord, &it, &got)) {
                if (k < cap) out[k] = (int64_t)e << 32 | got.id;
                k++;
                lgp_order_item_free(&got);
            }
        }
    }
    lgp_order_free(&ord);
    return (int64_t)k;
}

static void test_full(void) {
    enum { N = 1000 };
    static int64_t a[2 * N], b[2 * N], seen[N];
    lgp_order_opts o = {.shard_n = 1, .limit = -1, .seed = 3};
    ok(full_run(&o, N, 2, a, 2 * N) == 2 * N, "2 epochs give 2n items");
    int every = 1;
    for (int e = 0; e < 2; e++) {
        memset(seen, 0, sizeof seen);
        for (int i = 0; i < N; i++) seen[a[e * N + i] & 0xffffffff]++, every &= (a[e * N + i] >> 32) == e;
        for (int i = 0; i < N; i++) every &= seen[i] == 1;
    }
    ok(every, "each epoch is a permutation: every image once");
    int differ = 0;
    for (int i = 0; i < N; i++) differ += (a[i] & 0xffffffff) != (a[N + i] & 0xffffffff);
    ok(differ > N / 2, "epoch 1 is another permutation (%d of %d positions differ)", differ, N);
    full_run(&o, N, 2, b, 2 * N);
    ok(memcmp(a, b, sizeof a) == 0, "same seed, same order");
    o.seed = 4;
    full_run(&o, N, 1, b, N);
    ok(memcmp(a, b, sizeof(int64_t) * N) != 0, "another seed, another order");
    /* 40 classes of 25 sorted images: the first 64 draws cover most classes */
    int cls[40] = {0}, span = 0;
    for (int i = 0; i < 64; i++) cls[(a[i] & 0xffffffff) / 25] = 1;
    for (int c = 0; c < 40; c++) span += cls[c];
    ok(span >= 25, "first 64 of a class-sorted source span %d of 40 classes", span);
    /* shards: 3 parts of one permutation */
    o.seed = 3;
    memset(seen, 0, sizeof seen);
    int64_t total = 0, sizes[3];
    for (int s = 0; s < 3; s++) {
        o.shard_i = s, o.shard_n = 3;
        sizes[s] = full_run(&o, N, 1, b, N);
        total += sizes[s];
        for (int64_t i = 0; i < sizes[s]; i++) seen[b[i] & 0xffffffff]++;
        ok(sizes[s] == lgp_order_epoch_items(&o, N), "shard %d/3: %lld items = records_per_epoch", s, (long long)sizes[s]);
    }
    int once = total == N;
    for (int i = 0; i < N; i++) once &= seen[i] == 1;
    ok(once && sizes[0] - sizes[2] <= 1, "shards disjoint, complete, balanced (%lld %lld %lld)", (long long)sizes[0],
       (long long)sizes[1], (long long)sizes[2]);
    o.shard_i = 1;
    full_run(&o, N, 1, b, N);
    int interleaved = 1;
    for (int64_t i = 0; i < sizes[1]; i++) interleaved &= b[i] == a[3 * i + 1];
    ok(interleaved, "shard 1/3 takes positions 1, 4, 7, ... of the shared permutation");
    /* window across epochs: skip 990, limit 20 -> last 10 of epoch 0, first 10 of epoch 1 */
    o = (lgp_order_opts){.shard_n = 1, .limit = 20, .skip = 990, .seed = 3};
    int64_t k = full_run(&o, N, 3, b, 2 * N);
    ok(k == 20 && memcmp(b, a + 990, sizeof(int64_t) * 20) == 0, "--skip/--limit window across epochs");
}

int main(void) {
    test_epoch_items();
    test_plain_and_shard();
    test_shuffle();
    test_window();
    test_full();
    return done_testing();
}
