/* gradsync.c — see gradsync.h. */
#include "common/train/gradsync.h"

#include "common/util/dist.h"
#include "common/util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "blocks.3.x" -> 3 (kind 0), "decoder_blocks.1.x" -> 1 (kind 1); -1 otherwise. */
static int block_of(const char *name, int *kind) {
    const char *p = NULL;
    if (!strncmp(name, "blocks.", 7)) p = name + 7, *kind = 0;
    else if (!strncmp(name, "decoder_blocks.", 15)) p = name + 15, *kind = 1;
    if (!p) return -1;
    char *end;
    long l = strtol(p, &end, 10);
    return end != p && *end == '.' && l >= 0 && l < LGP_VIT_MAX_DEPTH ? (int)l : -1;
}

void lgp_gradsync_init(lgp_gradsync *s, const lgp_params *p, float *grads) {
    memset(s, 0, sizeof *s);
    s->grads = grads, s->total = p->total;
    const char *env = getenv("LGP_GRAD_OVERLAP");
    s->overlap = lgp_dist_size() > 1 && !(env && !strcmp(env, "0"));
    size_t lo[2][LGP_VIT_MAX_DEPTH], hi[2][LGP_VIT_MAX_DEPTH], sum[2][LGP_VIT_MAX_DEPTH] = {{0}};
    for (size_t i = 0; i < p->count; i++) {
        int k, l = block_of(p->entries[i].name, &k);
        if (l < 0) continue;
        size_t a = p->entries[i].offset, b = a + p->entries[i].numel;
        if (!sum[k][l] || a < lo[k][l]) lo[k][l] = a;
        if (!sum[k][l] || b > hi[k][l]) hi[k][l] = b;
        sum[k][l] += p->entries[i].numel;
    }
    /* A block whose tensors are not contiguous would pull others into its bucket. */
    for (int k = 0; k < 2; k++)
        for (int l = 0; l < LGP_VIT_MAX_DEPTH; l++)
            if (sum[k][l] && hi[k][l] - lo[k][l] == sum[k][l]) {
                s->b[s->n].off = lo[k][l], s->b[s->n].n = sum[k][l];
                s->n++;
            }
    for (int i = 1; i < s->n; i++) /* insertion sort by offset */
        for (int j = i; j > 0 && s->b[j].off < s->b[j - 1].off; j--) {
            __typeof__(s->b[0]) t = s->b[j];
            s->b[j] = s->b[j - 1], s->b[j - 1] = t;
        }
}

static void block_done(void *ctx, const lgp_block_tensors *g) {
    lgp_gradsync *s = ctx;
    size_t at = (size_t)(g->norm1_w - s->grads);
    for (int i = 0; i < s->n; i++)
        if (at >= s->b[i].off && at < s->b[i].off + s->b[i].n && !s->b[i].started) {
            lgp_dist_isum_f(s->grads + s->b[i].off, s->b[i].n);
            s->b[i].started = 1;
            s->early += s->b[i].n;
        }
    lgp_dist_progress();
}

void lgp_gradsync_arm(lgp_gradsync *s, lgp_vit_stack *st) {
    if (!st || !s->overlap) return;
    st->grads_done = block_done;
    st->grads_done_ctx = s;
}

void lgp_gradsync_disarm(lgp_vit_stack *st) {
    if (st) st->grads_done = NULL, st->grads_done_ctx = NULL;
}

void lgp_gradsync_finish(lgp_gradsync *s) {
    int world = lgp_dist_size();
    if (world == 1) return;
    size_t at = 0;
    for (int i = 0; i < s->n; i++) {
        if (!s->b[i].started) continue;
        if (s->b[i].off > at) lgp_dist_isum_f(s->grads + at, s->b[i].off - at);
        s->late += s->b[i].off - at;
        at = s->b[i].off + s->b[i].n;
        s->b[i].started = 0;
    }
    if (s->total > at) lgp_dist_isum_f(s->grads + at, s->total - at);
    s->late += s->total - at;
    lgp_dist_wait();
    float k = 1.0f / (float)world;
    for (size_t i = 0; i < s->total; i++) s->grads[i] *= k;
}

void lgp_gradsync_report(const lgp_gradsync *s, int64_t steps) {
    if (lgp_dist_size() == 1 || steps <= 0) return;
    double all = (double)(s->early + s->late);
    lgp_debug("communication: %.3f MB and %.4f s blocked per step on rank %d (%d ranks; %.1f MB, %.2f s in all); "
              "%.0f%% of the gradient all-reduce started during backward",
              lgp_dist_bytes() / 1e6 / (double)steps, lgp_dist_seconds() / (double)steps, lgp_dist_rank(),
              lgp_dist_size(), lgp_dist_bytes() / 1e6, lgp_dist_seconds(), all > 0 ? 100.0 * (double)s->early / all : 0.0);
}
