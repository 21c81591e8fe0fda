/* vit.c — ViT configuration, parameter table, MAE init, blocks and stacks (see vit.h). */
#include "common/nn/vit.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "common/lgp.h"
#include "common/nn/gemm.h" /* lgp_gemm_bf16 */
#include "common/nn/ops.h"
#include "common/util/rng.h"
#include "common/util/threads.h" /* lgp_blas_serial_begin */

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return LGP_FATAL;
}

/* ---- configs ---- */

static const struct {
    const char *name;
    lgp_vit_config cfg;
} named[] = {
    {"vit-tiny", {224, 16, 3, 192, 12, 3, 4, 512, 8, 16, 1, 0.75f}},
    {"vit-small", {224, 16, 3, 384, 12, 6, 4, 512, 8, 16, 1, 0.75f}},
    {"vit-base", {224, 16, 3, 768, 12, 12, 4, 512, 8, 16, 1, 0.75f}},
    {"vit-large", {224, 16, 3, 1024, 24, 16, 4, 512, 8, 16, 1, 0.75f}},
    /* Fashion-MNIST on two cores: 7x7 patches of 4x4, a small decoder. */
    {"fmnist", {28, 4, 1, 192, 6, 3, 4, 128, 2, 4, 1, 0.75f}},
};

int lgp_vit_default_patch(int img_size) {
    for (size_t i = 0; i < LGP_ARRAY_LEN(named); i++)
        if (named[i].cfg.img_size == img_size) return named[i].cfg.patch;
    return 16;
}

int lgp_vit_config_by_name(const char *name, lgp_vit_config *cfg) {
    for (size_t i = 0; i < LGP_ARRAY_LEN(named); i++)
        if (strcmp(name, named[i].name) == 0) {
            *cfg = named[i].cfg;
            return LGP_OK;
        }
    return LGP_FATAL;
}

int lgp_vit_config_check(const lgp_vit_config *c, char *err, size_t errlen) {
    if (c->patch < 1 || c->img_size < c->patch || c->img_size % c->patch)
        return fail(err, errlen, "img_size %d is not a multiple of patch %d", c->img_size, c->patch);
    if (c->in_chans < 1 || c->in_chans > 64) return fail(err, errlen, "in_chans %d out of range", c->in_chans);
    if (c->depth < 1 || c->depth > LGP_VIT_MAX_DEPTH)
        return fail(err, errlen, "depth %d out of range 1..%d", c->depth, LGP_VIT_MAX_DEPTH);
    if (c->dec_depth < 0 || c->dec_depth > LGP_VIT_MAX_DEPTH)
        return fail(err, errlen, "dec_depth %d out of range 0..%d", c->dec_depth, LGP_VIT_MAX_DEPTH);
    if (c->heads < 1 || c->width % c->heads || c->width % 4)
        return fail(err, errlen, "width %d must be a multiple of 4 and of heads %d", c->width, c->heads);
    if (c->dec_depth && (c->dec_heads < 1 || c->dec_width % c->dec_heads || c->dec_width % 4))
        return fail(err, errlen, "dec_width %d must be a multiple of 4 and of dec_heads %d",
                    c->dec_width, c->dec_heads);
    if (c->mlp_ratio < 1 || c->mlp_ratio > 16) return fail(err, errlen, "mlp_ratio %d out of range", c->mlp_ratio);
    if (c->width > 8192 || c->dec_width > 8192 || c->img_size > 4096)
        return fail(err, errlen, "model too large");
    if (!(c->mask_ratio >= 0.0f && c->mask_ratio < 1.0f))
        return fail(err, errlen, "mask_ratio %g not in [0, 1)", c->mask_ratio);
    return LGP_OK;
}

int lgp_vit_len_keep(const lgp_vit_config *cfg) {
    return (int)((double)lgp_vit_num_patches(cfg) * (1.0 - (double)cfg->mask_ratio));
}

int lgp_vit_config_json(const lgp_vit_config *c, char *buf, size_t len) {
    return snprintf(buf, len,
                    "{\"img_size\":%d,\"patch\":%d,\"in_chans\":%d,\"width\":%d,\"depth\":%d,"
                    "\"heads\":%d,\"mlp_ratio\":%d,\"dec_width\":%d,\"dec_depth\":%d,"
                    "\"dec_heads\":%d,\"norm_pix\":%d,\"mask_ratio\":%.9g}",
                    c->img_size, c->patch, c->in_chans, c->width, c->depth, c->heads, c->mlp_ratio,
                    c->dec_width, c->dec_depth, c->dec_heads, c->norm_pix, (double)c->mask_ratio);
}

/* ---- the table: one walk builds it and maps views ---- */

typedef struct {
    lgp_params *p;   /* building: append entries; mapping: read them in order */
    float *base;     /* mapping: the buffer; NULL while building */
    size_t i;
} walker;

static float *walk(walker *wk, const char *name, unsigned flags, int block, int ndim, int64_t d0,
                   int64_t d1, int64_t d2, int64_t d3) {
    lgp_params *p = wk->p;
    if (!wk->base) {
        lgp_param *e = &p->entries[p->count++];
        int64_t d[4] = {d0, d1, d2, d3};
        snprintf(e->name, sizeof e->name, "%s", name);
        e->ndim = ndim;
        e->numel = 1;
        for (int k = 0; k < 4; k++) {
            e->shape[k] = k < ndim ? d[k] : 0;
            if (k < ndim) e->numel *= (size_t)d[k];
        }
        e->flags = flags | (ndim < 2 ? LGP_PARAM_NO_WD : 0);
        e->lr_scale = 1.0f;
        e->block = block;
        e->offset = p->total;
        p->total += (e->numel + 15) & ~(size_t)15; /* keep every tensor 64-byte aligned */
        return NULL;
    }
    lgp_param *e = &p->entries[wk->i++];
    LGP_ASSERT(strcmp(e->name, name) == 0);
    return wk->base + e->offset;
}

static void walk_block(walker *wk, lgp_block_tensors *b, const char *pre, int i, int blk, unsigned fl,
                       int64_t C, int64_t F) {
    char n[LGP_PARAM_NAME];
#define W(field, sub, nd, a, bb)                                                   \
    snprintf(n, sizeof n, "%s.%d.%s", pre, i, sub);                                \
    b->field = walk(wk, n, fl, blk, nd, a, bb, 0, 0)
    W(norm1_w, "norm1.weight", 1, C, 0);
    W(norm1_b, "norm1.bias", 1, C, 0);
    W(qkv_w, "attn.qkv.weight", 2, 3 * C, C);
    W(qkv_b, "attn.qkv.bias", 1, 3 * C, 0);
    W(proj_w, "attn.proj.weight", 2, C, C);
    W(proj_b, "attn.proj.bias", 1, C, 0);
    W(norm2_w, "norm2.weight", 1, C, 0);
    W(norm2_b, "norm2.bias", 1, C, 0);
    W(fc1_w, "mlp.fc1.weight", 2, F, C);
    W(fc1_b, "mlp.fc1.bias", 1, F, 0);
    W(fc2_w, "mlp.fc2.weight", 2, C, F);
    W(fc2_b, "mlp.fc2.bias", 1, C, 0);
#undef W
}

static void walk_all(walker *wk, lgp_vit_tensors *t, const lgp_vit_config *c, int with_dec) {
    int64_t C = c->width, N = lgp_vit_num_patches(c), L = c->depth, Q = lgp_vit_patch_dim(c);
    memset(t, 0, sizeof *t);
    t->cls_token = walk(wk, "cls_token", 0, -1, 3, 1, 1, C, 0);
    t->pos_embed = walk(wk, "pos_embed", LGP_PARAM_FROZEN, -1, 3, 1, N + 1, C, 0);
    t->patch_w = walk(wk, "patch_embed.proj.weight", 0, -1, 4, C, c->in_chans, c->patch, c->patch);
    t->patch_b = walk(wk, "patch_embed.proj.bias", 0, -1, 1, C, 0, 0, 0);
    for (int i = 0; i < L; i++) walk_block(wk, &t->blocks[i], "blocks", i, i, 0, C, C * c->mlp_ratio);
    t->norm_w = walk(wk, "norm.weight", 0, (int)L, 1, C, 0, 0, 0);
    t->norm_b = walk(wk, "norm.bias", 0, (int)L, 1, C, 0, 0, 0);
    if (!with_dec) return;
    int64_t Cd = c->dec_width;
    unsigned D = LGP_PARAM_DECODER;
    t->dec_embed_w = walk(wk, "decoder_embed.weight", D, (int)L, 2, Cd, C, 0, 0);
    t->dec_embed_b = walk(wk, "decoder_embed.bias", D, (int)L, 1, Cd, 0, 0, 0);
    t->mask_token = walk(wk, "mask_token", D, (int)L, 3, 1, 1, Cd, 0);
    t->dec_pos_embed = walk(wk, "decoder_pos_embed", D | LGP_PARAM_FROZEN, (int)L, 3, 1, N + 1, Cd, 0);
    for (int i = 0; i < c->dec_depth; i++)
        walk_block(wk, &t->dec_blocks[i], "decoder_blocks", i, (int)L, D, Cd, Cd * c->mlp_ratio);
    t->dec_norm_w = walk(wk, "decoder_norm.weight", D, (int)L, 1, Cd, 0, 0, 0);
    t->dec_norm_b = walk(wk, "decoder_norm.bias", D, (int)L, 1, Cd, 0, 0, 0);
    t->dec_pred_w = walk(wk, "decoder_pred.weight", D, (int)L, 2, Q, Cd, 0, 0);
    t->dec_pred_b = walk(wk, "decoder_pred.bias", D, (int)L, 1, Q, 0, 0, 0);
}

float *lgp_floats_alloc(size_t n) {
    if (n == 0 || n > SIZE_MAX / sizeof(float) - 64) return NULL;
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

int lgp_params_build(lgp_params *p, const lgp_vit_config *cfg, int with_decoder, char *err,
                     size_t errlen) {
    memset(p, 0, sizeof *p);
    int rc = lgp_vit_config_check(cfg, err, errlen);
    if (rc != LGP_OK) return rc;
    size_t max = 6 + 12 * (size_t)(cfg->depth + cfg->dec_depth) + 8;
    p->entries = calloc(max, sizeof *p->entries);
    if (!p->entries) return fail(err, errlen, "out of memory");
    walker wk = {p, NULL, 0};
    lgp_vit_tensors t;
    walk_all(&wk, &t, cfg, with_decoder);
    LGP_ASSERT(p->count <= max);
    p->data = lgp_floats_alloc(p->total);
    if (!p->data) {
        lgp_params_free(p);
        return fail(err, errlen, "out of memory for %zu parameters", p->total);
    }
    return LGP_OK;
}

void lgp_params_free(lgp_params *p) {
    free(p->entries);
    free(p->data);
    memset(p, 0, sizeof *p);
}

lgp_param *lgp_params_find(const lgp_params *p, const char *name) {
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->entries[i].name, name) == 0) return &p->entries[i];
    return NULL;
}

void lgp_vit_tensors_map(lgp_vit_tensors *t, const lgp_vit_config *cfg, const lgp_params *p,
                         float *buf) {
    walker wk = {(lgp_params *)p, buf, 0};
    int with_dec = p->count > 0 && (p->entries[p->count - 1].flags & LGP_PARAM_DECODER);
    walk_all(&wk, t, cfg, with_dec);
    LGP_ASSERT(wk.i == p->count);
}

/* ---- init ---- */

void lgp_vit_sincos_pos_embed(float *pos, int E, int G) {
    int E4 = E / 4;
    memset(pos, 0, sizeof(float) * E);
    for (int i = 0; i < G; i++)
        for (int j = 0; j < G; j++) {
            float *row = pos + (size_t)(1 + i * G + j) * E;
            for (int k = 0; k < E4; k++) {
                double w = 1.0 / pow(10000.0, (double)k / E4);
                row[k] = (float)sin(j * w);
                row[E4 + k] = (float)cos(j * w);
                row[2 * E4 + k] = (float)sin(i * w);
                row[3 * E4 + k] = (float)cos(i * w);
            }
        }
}

static int name_ends(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

void lgp_vit_init_weights(lgp_vit_model *m, uint64_t seed) {
    const lgp_params *p = &m->params;
    int G = m->cfg.img_size / m->cfg.patch;
    for (size_t i = 0; i < p->count; i++) {
        const lgp_param *e = &p->entries[i];
        float *x = p->data + e->offset;
        lgp_rng r;
        lgp_rng_init(&r, seed, i, 0, LGP_RNG_INIT);
        if (strcmp(e->name, "pos_embed") == 0 || strcmp(e->name, "decoder_pos_embed") == 0) {
            lgp_vit_sincos_pos_embed(x, (int)e->shape[2], G);
        } else if (strcmp(e->name, "cls_token") == 0 || strcmp(e->name, "mask_token") == 0) {
            for (size_t k = 0; k < e->numel; k++) x[k] = (float)(0.02 * lgp_rng_normal(&r));
        } else if (e->ndim >= 2) { /* linear or patch conv: xavier on [out, numel/out] */
            double fan_out = (double)e->shape[0], fan_in = (double)e->numel / fan_out;
            double a = sqrt(6.0 / (fan_in + fan_out));
            for (size_t k = 0; k < e->numel; k++) x[k] = (float)((2.0 * lgp_rng_uniform(&r) - 1.0) * a);
        } else {
            float v = name_ends(e->name, "norm1.weight") || name_ends(e->name, "norm2.weight") ||
                              strcmp(e->name, "norm.weight") == 0 ||
                              strcmp(e->name, "decoder_norm.weight") == 0
                          ? 1.0f
                          : 0.0f;
            for (size_t k = 0; k < e->numel; k++) x[k] = v;
        }
    }
}

int lgp_vit_model_init(lgp_vit_model *m, const lgp_vit_config *cfg, unsigned flags,
                       uint64_t seed, char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->with_decoder = !!(flags & LGP_VIT_WITH_DECODER);
    int rc = lgp_params_build(&m->params, cfg, m->with_decoder, err, errlen);
    if (rc != LGP_OK) return rc;
    lgp_vit_tensors_map(&m->w, cfg, &m->params, m->params.data);
    if (flags & LGP_VIT_WITH_GRADS) {
        m->grads = lgp_floats_alloc(m->params.total);
        if (!m->grads) {
            lgp_vit_model_free(m);
            return fail(err, errlen, "out of memory for gradients");
        }
        lgp_vit_tensors_map(&m->g, cfg, &m->params, m->grads);
    }
    lgp_vit_init_weights(m, seed);
    return LGP_OK;
}

void lgp_vit_model_free(lgp_vit_model *m) {
    lgp_params_free(&m->params);
    free(m->grads);
    memset(m, 0, sizeof *m);
}

int lgp_vit_model_extend(lgp_vit_model *m, const lgp_param *extra, size_t n, size_t new_total, char *err,
                         size_t errlen) {
    lgp_params *p = &m->params;
    size_t nvit = p->count;
    LGP_ASSERT(new_total >= p->total);
    lgp_param *ne = realloc(p->entries, (nvit + n) * sizeof *ne);
    float *data = lgp_floats_alloc(new_total), *grads = m->grads ? lgp_floats_alloc(new_total) : NULL;
    if (ne) p->entries = ne;
    if (!ne || !data || (m->grads && !grads)) {
        free(data);
        free(grads);
        return snprintf(err, errlen, "out of memory for %zu parameters", new_total), LGP_FATAL;
    }
    memcpy(p->entries + nvit, extra, n * sizeof *extra);
    p->count += n;
    memcpy(data, p->data, sizeof(float) * p->total);
    free(p->data);
    p->data = data;
    if (grads) {
        memcpy(grads, m->grads, sizeof(float) * p->total);
        free(m->grads), m->grads = grads;
    }
    p->total = new_total;
    lgp_params vt = *p; /* the views' walker must see exactly the ViT's entries */
    vt.count = nvit;
    lgp_vit_tensors_map(&m->w, &m->cfg, &vt, p->data);
    if (grads) lgp_vit_tensors_map(&m->g, &m->cfg, &vt, grads);
    return LGP_OK;
}

void lgp_vit_zero_grad(lgp_vit_model *m) {
    if (m->grads) memset(m->grads, 0, sizeof(float) * m->params.total);
}

/* ---- arena and stacks ---- */

float *lgp_arena_take(lgp_arena *a, size_t n) {
    size_t at = a->used;
    a->used += (n + 15) & ~(size_t)15;
    if (!a->base) return NULL;
    LGP_ASSERT(a->used <= a->cap);
    return a->base + at;
}

static void bind_acts(lgp_block_acts *x, lgp_arena *a, size_t BT, int C, int H, int T, int F) {
    x->ln1 = lgp_arena_take(a, BT * C);
    x->ln1_mean = lgp_arena_take(a, BT);
    x->ln1_rstd = lgp_arena_take(a, BT);
    x->qkv = lgp_arena_take(a, BT * 3 * C);
    x->att = lgp_arena_take(a, BT * (size_t)H * T);
    x->atty = lgp_arena_take(a, BT * C);
    x->res_mid = lgp_arena_take(a, BT * C);
    x->ln2 = lgp_arena_take(a, BT * C);
    x->ln2_mean = lgp_arena_take(a, BT);
    x->ln2_rstd = lgp_arena_take(a, BT);
    x->fc1 = lgp_arena_take(a, BT * F);
    x->gelu = lgp_arena_take(a, BT * F);
}

/* The threads a stack bound now splits its batch over (see lgp_vit_stack.replicas). */
static int batch_split_threads(void) {
    const char *e = getenv("LGP_BATCH_SPLIT");
    int nt = omp_get_max_threads();
    if ((e && atoi(e) == 0) || nt < 2) return 1;
    return nt < LGP_VIT_MAX_THREADS ? nt : LGP_VIT_MAX_THREADS;
}

void lgp_vit_stack_bind(lgp_vit_stack *s, lgp_arena *a, int maxB, int maxT, int C, int H, int F,
                        int L, int keep_acts) {
    size_t BT = (size_t)maxB * maxT;
    memset(s, 0, sizeof *s);
    s->maxB = maxB, s->maxT = maxT, s->C = C, s->H = H, s->F = F, s->L = L;
    int nres = keep_acts ? L + 1 : 2;
    for (int l = 0; l < nres; l++) s->res[l] = lgp_arena_take(a, BT * C);
    for (int l = 0; l < (keep_acts ? L : 1); l++) bind_acts(&s->acts[l], a, BT, C, H, maxT, F);
    for (int l = 1; !keep_acts && l < L; l++) s->acts[l] = s->acts[0];
    s->tmp = lgp_arena_take(a, BT * C);
    s->replicas = batch_split_threads();
    if (!keep_acts) return;
    s->dres = lgp_arena_take(a, BT * C);
    s->dmid = lgp_arena_take(a, BT * C);
    s->dln = lgp_arena_take(a, BT * C);
    s->datty = lgp_arena_take(a, BT * C);
    s->dqkv = lgp_arena_take(a, BT * 3 * C);
    s->dgelu = lgp_arena_take(a, BT * F);
    s->dfc1 = s->dgelu; /* the GELU backward runs in place */
    s->att_scratch = lgp_arena_take(a, lgp_attention_scratch(maxT));
    if (s->replicas < 2) return;
    s->dres2 = lgp_arena_take(a, BT * C);
    s->dbr_m = s->tmp; /* the forward's scratch; no backward uses it */
    s->dbr_a = lgp_arena_take(a, BT * C);
    s->part = lgp_arena_take(a, (size_t)maxB * PART_FLOATS(C, F));
}

/* tmp [B, T, C] *= per-sample scale[b] (drop path); scale NULL: nothing. */
static void scale_rows(float *tmp, const float *scale, int B, size_t per) {
    if (!scale) return;
    for (int b = 0; b < B; b++) {
        float k = scale[b], *t = tmp + (size_t)b * per;
        if (k == 1.0f) continue;
        for (size_t i = 0; i < per; i++) t[i] *= k;
    }
}

/* The attention half of a block: a->res_mid = inp + proj(attn(qkv(ln1(inp)))), the
 * branch times drop_a [B] (NULL: none). */
static void attn_forward(lgp_block_acts *a, float *tmp, const float *inp, const lgp_block_tensors *w,
                         int B, int T, int C, int H, const float *drop_a) {
    int M = B * T;
    lgp_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, inp, w->norm1_w, w->norm1_b, M, C,
                          LGP_VIT_LN_EPS);
    lgp_linear_forward(a->qkv, a->ln1, w->qkv_w, w->qkv_b, M, C, 3 * C);
    lgp_attention_forward(a->atty, a->att, a->qkv, B, T, C, H);
    lgp_linear_forward(tmp, a->atty, w->proj_w, w->proj_b, M, C, C);
    scale_rows(tmp, drop_a, B, (size_t)T * C);
    lgp_residual_forward(a->res_mid, inp, tmp, (size_t)M * C);
}

/* The MLP half over M = B x rows tokens: out = x + fc2(gelu(fc1(ln2(x)))), the branch
 * times drop_m [B] (NULL: none); a's ln2, fc1 and gelu hold M rows. */
static void mlp_forward(float *out, lgp_block_acts *a, float *tmp, const float *x,
                        const lgp_block_tensors *w, int B, int M, int C, int F, const float *drop_m) {
    lgp_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, x, w->norm2_w, w->norm2_b, M, C,
                          LGP_VIT_LN_EPS);
    lgp_linear_forward(a->fc1, a->ln2, w->fc1_w, w->fc1_b, M, C, F);
    lgp_gelu_forward(a->gelu, a->fc1, (size_t)M * F);
    lgp_linear_forward(tmp, a->gelu, w->fc2_w, w->fc2_b, M, F, C);
    scale_rows(tmp, drop_m, B, (size_t)M / B * C);
    lgp_residual_forward(out, x, tmp, (size_t)M * C);
}

/* drop_a, drop_m [B] (NULL: none): the attention and MLP branch scales of this block. */
static void block_forward(float *out, lgp_block_acts *a, float *tmp, const float *inp,
                          const lgp_block_tensors *w, int B, int T, int C, int H, int F,
                          const float *drop_a, const float *drop_m) {
    attn_forward(a, tmp, inp, w, B, T, C, H, drop_a);
    mlp_forward(out, a, tmp, a->res_mid, w, B, B * T, C, F, drop_m);
}

void lgp_vit_block_forward(float *out, lgp_block_acts *a, float *tmp, const float *inp,
                           const lgp_block_tensors *w, int B, int T, int C, int H, int F) {
    block_forward(out, a, tmp, inp, w, B, T, C, H, F, NULL, NULL);
}

/* A gradient tensor of g, NULL when g is (input gradients only). */
#define GRAD(g, t) ((g) ? (g)->t : NULL)

/* Backward of mlp_forward: dx = dout + d(x) through the branch (dx may be dout itself);
 * s->dgelu and s->dln are scratch, and with drop_m s->dbr_m (or s->datty where no dbr_m
 * is bound). A NULL tensor of g is skipped (NULL g: input gradient only); dgelu is left
 * holding fc1's output gradient. */
static void mlp_backward(float *dx, lgp_block_tensors *g, const float *dout, const float *x,
                         const lgp_block_tensors *w, const lgp_block_acts *a, lgp_vit_stack *s, int B,
                         int M, const float *drop_m) {
    int C = s->C, F = s->F;
    /* dgelu turns into d(fc1) in place */
    const float *dbr = dout;
    if (drop_m) {
        float *d = s->dbr_m ? s->dbr_m : s->datty;
        memcpy(d, dout, sizeof(float) * (size_t)M * C);
        scale_rows(d, drop_m, B, (size_t)M / B * C);
        dbr = d;
    }
    lgp_linear_backward_set(s->dgelu, GRAD(g, fc2_w), GRAD(g, fc2_b), dbr, a->gelu, w->fc2_w, M, F, C);
    lgp_gelu_backward_set(s->dgelu, s->dgelu, a->fc1, (size_t)M * F);
    lgp_linear_backward_set(s->dln, GRAD(g, fc1_w), GRAD(g, fc1_b), s->dgelu, a->ln2, w->fc1_w, M, C, F);
    lgp_layernorm_backward_set(dx, dout, GRAD(g, norm2_w), GRAD(g, norm2_b), s->dln, x, w->norm2_w,
                               a->ln2_mean, a->ln2_rstd, M, C);
}

/* Backward of attn_forward from s->dmid = d(res_mid): set: dinp = d(inp) (dinp may be
 * s->dres); otherwise dinp += d(inp). With drop_a the scaled branch gradient is made in
 * s->dbr_a (or s->dln, free at that point, where no dbr_a is bound). g NULL: input
 * gradient only. */
static void attn_backward(float *dinp, int set, lgp_block_tensors *g, const float *inp,
                          const lgp_block_tensors *w, const lgp_block_acts *a, lgp_vit_stack *s, int B,
                          int T, const float *drop_a) {
    int C = s->C, H = s->H, M = B * T;
    size_t n = (size_t)M * C;
    const float *dbr = s->dmid;
    float *dln = s->dln;
    if (drop_a) {
        float *d = s->dbr_a ? s->dbr_a : s->dln;
        memcpy(d, s->dmid, sizeof(float) * n);
        scale_rows(d, drop_a, B, (size_t)T * C);
        dbr = d;
    }
    lgp_linear_backward_set(s->datty, GRAD(g, proj_w), GRAD(g, proj_b), dbr, a->atty, w->proj_w, M, C, C);
    lgp_attention_backward_set(s->dqkv, s->datty, a->qkv, a->att, s->att_scratch, B, T, C, H);
    lgp_linear_backward_set(dln, GRAD(g, qkv_w), GRAD(g, qkv_b), s->dqkv, a->ln1, w->qkv_w, M, C, 3 * C);
    if (set) {
        lgp_layernorm_backward_set(dinp, s->dmid, GRAD(g, norm1_w), GRAD(g, norm1_b), dln, inp,
                                   w->norm1_w, a->ln1_mean, a->ln1_rstd, M, C);
        return;
    }
    lgp_add_inplace(dinp, s->dmid, n);
    lgp_layernorm_backward(dinp, GRAD(g, norm1_w), GRAD(g, norm1_b), dln, inp, w->norm1_w, a->ln1_mean,
                           a->ln1_rstd, M, C);
}

/* set: dinp = d(block input), and dinp may be dout itself (dout is dead once the MLP
 * branch's norm has been back-propagated); otherwise dinp += d(block input). Every
 * scratch buffer is overwritten by the op that fills it (the _set ops), never zeroed.
 * drop_a, drop_m [B] (NULL: none): the forward's branch scales; a branch's gradient is
 * the residual's times its scale, made in dbr_m / dbr_a where bound (a batch split's
 * weight-gradient tiles read them afterwards), or else in a scratch buffer that is free
 * at that point (datty before the attention backward fills it, dln once the norm2
 * backward used it). g NULL: input gradients only (batch split). */
static void block_backward(float *dinp, int set, lgp_block_tensors *g, const float *dout,
                           const float *inp, const lgp_block_tensors *w, const lgp_block_acts *a,
                           lgp_vit_stack *s, int B, int T, const float *drop_a,
                           const float *drop_m) {
    mlp_backward(s->dmid, g, dout, a->res_mid, w, a, s, B, B * T, drop_m);
    attn_backward(dinp, set, g, inp, w, a, s, B, T, drop_a);
}

void lgp_vit_block_backward(float *dinp, lgp_block_tensors *g, const float *dout,
                            const float *inp, const lgp_block_tensors *w, const lgp_block_acts *a,
                            lgp_vit_stack *s, int B, int T) {
    block_backward(dinp, 0, g, dout, inp, w, a, s, B, T, NULL, NULL);
}

/* v = s seen from sample b0 on, for sequences of T tokens: every per-sample buffer
 * advanced by b0 samples, and the attention scratch to slot r (each thread of a batch
 * split is thread 0 of its own ops). */
static void stack_slice(lgp_vit_stack *v, const lgp_vit_stack *s, int b0, int T, int r) {
    *v = *s;
    size_t bt = (size_t)b0 * T, C = s->C, F = s->F, H = s->H;
#define ADV(p, k) ((p) ? (p) + (k) : NULL)
    for (int l = 0; l <= s->L; l++) v->res[l] = ADV(s->res[l], bt * C);
    for (int l = 0; l < s->L; l++) {
        const lgp_block_acts *a = &s->acts[l];
        lgp_block_acts *x = &v->acts[l];
        x->ln1 = ADV(a->ln1, bt * C), x->ln1_mean = ADV(a->ln1_mean, bt), x->ln1_rstd = ADV(a->ln1_rstd, bt);
        x->qkv = ADV(a->qkv, bt * 3 * C), x->att = ADV(a->att, bt * H * T);
        x->atty = ADV(a->atty, bt * C), x->res_mid = ADV(a->res_mid, bt * C);
        x->ln2 = ADV(a->ln2, bt * C), x->ln2_mean = ADV(a->ln2_mean, bt), x->ln2_rstd = ADV(a->ln2_rstd, bt);
        x->fc1 = ADV(a->fc1, bt * F), x->gelu = ADV(a->gelu, bt * F);
    }
    v->tmp = ADV(s->tmp, bt * C);
    v->dres = ADV(s->dres, bt * C), v->dmid = ADV(s->dmid, bt * C);
    v->dln = ADV(s->dln, bt * C), v->datty = ADV(s->datty, bt * C);
    v->dqkv = ADV(s->dqkv, bt * 3 * C), v->dgelu = ADV(s->dgelu, bt * F), v->dfc1 = v->dgelu;
    v->dres2 = ADV(s->dres2, bt * C);
    v->dbr_m = ADV(s->dbr_m, bt * C), v->dbr_a = ADV(s->dbr_a, bt * C);
    v->att_scratch = ADV(s->att_scratch, (size_t)r * T * T);
#undef ADV
    v->grads_done = NULL;
}

/* Threads for a batch of B: the bound replicas, at most one per sample; 1 = per-op split.
 * Not with bf16 products: the per-op split rounds each operand to bf16 once for all the
 * threads, a thread of its own would round the weights again (a ViT-B step with --bf16
 * ran 3-18 % slower split by batch). */
static int split_threads(const lgp_vit_stack *s, int B) {
    if (s->replicas < 2 || B < 2 || omp_in_parallel() || lgp_gemm_bf16()) return 1;
    return B < s->replicas ? B : s->replicas;
}

/* Samples per chunk of a batch split over R threads: s->chunk, or about 8 chunks per
 * thread, so that a thread running slower than the others ends at most one small chunk
 * behind them. */
static int split_chunk(const lgp_vit_stack *s, int B, int R) {
    int c = s->chunk > 0 ? s->chunk : B / (8 * R);
    return c < 1 ? 1 : c;
}

/* Chunk c of the batch of B in chunks of cs: its first sample *b0, its sample count. */
static int chunk_at(int c, int cs, int B, int *b0) {
    *b0 = c * cs;
    return B - *b0 < cs ? B - *b0 : cs;
}

/* Branch scales of block l for samples [b0, b0 + n) of B: *a attention, *m MLP. */
static void drop_slices(const float **a, const float **m, const lgp_vit_stack *s, int l, int B,
                        int b0) {
    const float *d = s->drop_scale ? s->drop_scale + (size_t)2 * l * B : NULL;
    *a = d ? d + b0 : NULL;
    *m = d ? d + B + b0 : NULL;
}

/* Blocks 0..nblocks-1 on view v of s: its n samples start at sample b0 of the batch of B
 * (v = s, b0 = 0, n = B without a batch split). Returns the view's output. */
static float *forward_blocks(lgp_vit_stack *v, const lgp_vit_stack *s, const lgp_block_tensors *w,
                             int nblocks, int n, int B, int b0, int T) {
    int keep = s->dres != NULL;
    float *x = v->res[0];
    for (int l = 0; l < nblocks; l++) {
        float *out = keep ? v->res[l + 1] : v->res[(l + 1) & 1];
        const float *da, *dm;
        drop_slices(&da, &dm, s, l, B, b0);
        block_forward(out, &v->acts[l], v->tmp, x, &w[l], n, T, s->C, s->H, s->F, da, dm);
        x = out;
    }
    return x;
}

float *lgp_vit_stack_forward(lgp_vit_stack *s, const lgp_block_tensors *w, int nblocks, int B,
                             int T) {
    LGP_ASSERT(B <= s->maxB && T <= s->maxT && nblocks <= s->L);
    int R = split_threads(s, B);
    if (R == 1) return forward_blocks(s, s, w, nblocks, B, B, 0, T);
    int cs = split_chunk(s, B, R), nc = (B + cs - 1) / cs, prev = lgp_blas_serial_begin();
#pragma omp parallel num_threads(R)
    {
        omp_set_num_threads(1); /* each op of a chunk on this thread alone */
        lgp_vit_stack v;
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < nc; c++) {
            int b0, n = chunk_at(c, cs, B, &b0);
            stack_slice(&v, s, b0, T, omp_get_thread_num());
            forward_blocks(&v, s, w, nblocks, n, B, b0, T);
        }
    }
    lgp_blas_serial_end(prev);
    return s->dres ? s->res[nblocks] : s->res[nblocks & 1];
}

/* Chunk c's slot of s->part as the gradients of a block: its biases and norm weights,
 * summed over the chunk's rows by the input-gradient pass (ops.h: a NULL weight
 * gradient is skipped, a bias still summed); weight matrices NULL. */
static lgp_block_tensors part_of(const lgp_vit_stack *s, int c) {
    size_t C = s->C;
    float *p = s->part + (size_t)c * PART_FLOATS(s->C, s->F);
    lgp_block_tensors t = {0};
    t.norm1_w = p, t.norm1_b = p + C, t.norm2_w = p + 2 * C, t.norm2_b = p + 3 * C;
    t.proj_b = p + 4 * C, t.fc2_b = p + 5 * C, t.qkv_b = p + 6 * C, t.fc1_b = p + 9 * C;
    memset(p, 0, sizeof(float) * PART_FLOATS(s->C, s->F));
    return t;
}

/* g's biases and norm weights += the nc chunks' sums, in chunk order. */
static void add_parts(lgp_block_tensors *g, const lgp_vit_stack *s, int nc) {
    size_t C = s->C, n = PART_FLOATS(s->C, s->F);
    float *dst[8] = {g->norm1_w, g->norm1_b, g->norm2_w, g->norm2_b, g->proj_b, g->fc2_b, g->qkv_b, g->fc1_b};
    size_t at[9] = {0, C, 2 * C, 3 * C, 4 * C, 5 * C, 6 * C, 9 * C, n};
    for (int c = 0; c < nc; c++)
        for (int k = 0; k < 8; k++) {
            const float *p = s->part + (size_t)c * n + at[k];
            for (size_t i = 0; i < at[k + 1] - at[k]; i++) dst[k][i] += p[i];
        }
}

/* What a block's weight matrices' gradients are made of once its input-gradient pass has
 * run for every chunk (batch split): the MLP half's over Mm rows, the attention half's
 * over Ma (they differ in the tail). a: the block's activations (rows as the halves
 * count them). */
typedef struct {
    const lgp_block_acts *a;
    const float *dbr_m, *dfc1, *dbr_a, *dqkv; /* fc2's, fc1's, proj's, qkv's output gradients */
    int Mm, Ma;
} wgrad_src;

/* Output rows per tile of a weight gradient with Out rows, split over R threads: two
 * tiles per thread (at least 64 rows, a multiple of 16), so that each tile's product
 * reads its input (all B x T rows of it) as few times as balance allows: tiles of 64
 * rows made ViT-B's weight gradients 28 % slower than whole products. */
static int tile_rows(int Out, int R) {
    int t = ((Out + 2 * R - 1) / (2 * R) + 15) & ~15;
    return t < 64 ? 64 : t;
}

static int tiles(int Out, int R) {
    int t = tile_rows(Out, R);
    return (Out + t - 1) / t;
}

/* Tiles of a block's four weight matrices, and one task more: the chunks' bias and
 * norm sums. */
static int wgrad_tasks(int C, int F, int R) {
    return 2 * tiles(C, R) + tiles(3 * C, R) + tiles(F, R) + 1;
}

/* Task k of block g's weight gradients, the largest products first (fc2's tiles sum over
 * F inputs), the chunks' sums last. */
static void wgrad_task(lgp_block_tensors *g, const wgrad_src *q, const lgp_vit_stack *s, int nc, int R,
                       int k) {
    int C = s->C, F = s->F;
    const struct {
        float *dw;
        const float *dy, *x;
        int M, In, Out;
    } lin[4] = {{g->fc2_w, q->dbr_m, q->a->gelu, q->Mm, F, C},
                {g->qkv_w, q->dqkv, q->a->ln1, q->Ma, C, 3 * C},
                {g->fc1_w, q->dfc1, q->a->ln2, q->Mm, C, F},
                {g->proj_w, q->dbr_a, q->a->atty, q->Ma, C, C}};
    for (int i = 0; i < 4; i++) {
        int t = tiles(lin[i].Out, R), rows = tile_rows(lin[i].Out, R);
        if (k < t) {
            int o0 = k * rows, o1 = o0 + rows < lin[i].Out ? o0 + rows : lin[i].Out;
            lgp_linear_backward_weights(lin[i].dw, lin[i].dy, lin[i].x, lin[i].M, lin[i].In, lin[i].Out,
                                        o0, o1);
            return;
        }
        k -= t;
    }
    add_parts(g, s, nc);
}

/* Inside a batch split: every thread takes tasks of block g's weight gradients until
 * none are left, then thread 0 reports the block (the others go on to the next block's
 * input gradients, which write no gradient of g). */
static void wgrad_split(lgp_vit_stack *s, lgp_block_tensors *g, const wgrad_src *q, int nc) {
    int R = omp_get_num_threads(), n = wgrad_tasks(s->C, s->F, R);
#pragma omp for schedule(dynamic, 1)
    for (int k = 0; k < n; k++) wgrad_task(g, q, s, nc, R, k);
    if (omp_get_thread_num() == 0 && s->grads_done) s->grads_done(s->grads_done_ctx, g);
}

/* The batch split's backward (lgp_vit_stack.replicas): per block, the input gradients
 * chunk by chunk (with each chunk's bias and norm sums), then the weight matrices'
 * gradients tile by tile. Block l reads its output's gradient from d[l + 1] and writes
 * its input's to d[l]: d[0] = dres, then dres2 and dres alternating, d[nblocks] = dout,
 * so that fc2's tiles can still read d[l + 1]. */
static void backward_split(lgp_vit_stack *s, const lgp_block_tensors *w, lgp_block_tensors *g,
                           const float *dout, int nblocks, int B, int T, int R) {
    LGP_ASSERT(s->dres2 && s->part);
    float *d[2] = {s->dres, s->dres2};
    if (dout == d[(nblocks - 1) & 1]) { /* the first block would overwrite its own input */
        memcpy(d[nblocks & 1], dout, sizeof(float) * (size_t)B * T * s->C);
        dout = d[nblocks & 1];
    }
    int cs = split_chunk(s, B, R), nc = (B + cs - 1) / cs, prev = lgp_blas_serial_begin();
#pragma omp parallel num_threads(R)
    {
        omp_set_num_threads(1);
        lgp_vit_stack v;
        for (int l = nblocks - 1; l >= 0; l--) {
            const float *dl = l + 1 == nblocks ? dout : d[(l + 1) & 1];
#pragma omp for schedule(dynamic, 1)
            for (int c = 0; c < nc; c++) {
                int b0, n = chunk_at(c, cs, B, &b0);
                size_t off = (size_t)b0 * T * s->C;
                const float *da, *dm;
                lgp_block_tensors pg = part_of(s, c);
                stack_slice(&v, s, b0, T, omp_get_thread_num());
                drop_slices(&da, &dm, s, l, B, b0);
                block_backward(d[l & 1] + off, 1, &pg, dl + off, v.res[l], &w[l], &v.acts[l], &v, n,
                               T, da, dm);
            }
            wgrad_src q = {&s->acts[l], s->drop_scale ? s->dbr_m : dl, s->dgelu,
                           s->drop_scale ? s->dbr_a : s->dmid, s->dqkv, B * T, B * T};
            wgrad_split(s, &g[l], &q, nc);
        }
    }
    lgp_blas_serial_end(prev);
}

void lgp_vit_stack_backward(lgp_vit_stack *s, const lgp_block_tensors *w, lgp_block_tensors *g,
                            const float *dout, int nblocks, int B, int T) {
    LGP_ASSERT(s->dres && B <= s->maxB && T <= s->maxT && nblocks <= s->L);
    int R = split_threads(s, B);
    if (R > 1 && nblocks > 0) {
        backward_split(s, w, g, dout, nblocks, B, T, R);
        return;
    }
    /* dres carries d(res[l+1]) in and d(res[l]) out, overwritten in place per block */
    if (dout != s->dres) memcpy(s->dres, dout, sizeof(float) * (size_t)B * T * s->C);
    for (int l = nblocks - 1; l >= 0; l--) {
        const float *da, *dm;
        drop_slices(&da, &dm, s, l, B, 0);
        block_backward(s->dres, 1, &g[l], s->dres, s->res[l], &w[l], &s->acts[l], s, B, T, da, dm);
        if (s->grads_done) s->grads_done(s->grads_done_ctx, &g[l]);
    }
}

/* The last block for the tail rows (vit.h), in two halves on views of n samples: v
 * sliced by sequences of T (the attention half's buffers), vq by sequences of Tq (the
 * MLP half's, compact). The halves use the same scratch at different offsets, so a
 * batch split runs all chunks of the first before any of the second. */
static void tail_attn_forward(lgp_vit_stack *v, const lgp_block_tensors *wl, int n, int T, int q0,
                              float *xt) {
    int l = v->L - 1, Tq = T - q0, C = v->C;
    lgp_block_acts *a = &v->acts[l];
    attn_forward(a, v->tmp, v->res[l], wl, n, T, C, v->H, NULL);
    for (int b = 0; b < n; b++)
        memcpy(xt + (size_t)b * Tq * C, a->res_mid + ((size_t)b * T + q0) * C, sizeof(float) * (size_t)Tq * C);
}

static void tail_mlp_forward(lgp_vit_stack *vq, const lgp_block_tensors *wl, int n, int Tq, const float *xt) {
    int l = vq->L - 1;
    mlp_forward(vq->res[l + 1], &vq->acts[l], vq->tmp, xt, wl, n, n * Tq, vq->C, vq->F, NULL);
}

/* The tail's backward for n samples, the gradients of g that are not NULL: the MLP
 * half's input gradients go through dxt into v->dmid, none for the rows nothing reads.
 * The MLP half writes vq->dgelu, vq->dln and dxt, the attention half v->datty, dqkv,
 * dln, dmid and dres: with vq->dln apart from v->dln, chunks of a batch split can run
 * both halves back to back. */
static void tail_backward(lgp_vit_stack *v, lgp_vit_stack *vq, const lgp_block_tensors *wl,
                          lgp_block_tensors *gl, const float *dout, int n, int T, int q0, const float *xt,
                          float *dxt) {
    int l = v->L - 1, Tq = T - q0, C = v->C;
    mlp_backward(dxt, gl, dout, xt, wl, &vq->acts[l], vq, n, n * Tq, NULL);
    for (int b = 0; b < n; b++) {
        float *d = v->dmid + (size_t)b * T * C;
        memset(d, 0, sizeof(float) * (size_t)q0 * C);
        memcpy(d + (size_t)q0 * C, dxt + (size_t)b * Tq * C, sizeof(float) * (size_t)Tq * C);
    }
    attn_backward(v->dres, 1, gl, v->res[l], wl, &v->acts[l], v, n, T, NULL);
}

float *lgp_vit_stack_forward_tail(lgp_vit_stack *s, const lgp_block_tensors *w, int B, int T, int q0,
                                  float *x_tail) {
    int l = s->L - 1, Tq = T - q0, C = s->C, R = split_threads(s, B);
    LGP_ASSERT(l >= 0 && s->dres && B <= s->maxB && T <= s->maxT && q0 >= 0 && Tq >= 1);
    if (R == 1) {
        tail_attn_forward(s, &w[l], B, T, q0, x_tail);
        tail_mlp_forward(s, &w[l], B, Tq, x_tail);
        return s->res[l + 1];
    }
    int cs = split_chunk(s, B, R), nc = (B + cs - 1) / cs, prev = lgp_blas_serial_begin();
#pragma omp parallel num_threads(R)
    {
        omp_set_num_threads(1);
        lgp_vit_stack v;
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < nc; c++) {
            int b0, n = chunk_at(c, cs, B, &b0);
            stack_slice(&v, s, b0, T, omp_get_thread_num());
            tail_attn_forward(&v, &w[l], n, T, q0, x_tail + (size_t)b0 * Tq * C);
        }
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < nc; c++) {
            int b0, n = chunk_at(c, cs, B, &b0);
            stack_slice(&v, s, b0, Tq, omp_get_thread_num());
            tail_mlp_forward(&v, &w[l], n, Tq, x_tail + (size_t)b0 * Tq * C);
        }
    }
    lgp_blas_serial_end(prev);
    return s->res[l + 1];
}

void lgp_vit_stack_backward_tail(lgp_vit_stack *s, const lgp_block_tensors *w, lgp_block_tensors *g,
                                 const float *dout, int B, int T, int q0, const float *x_tail,
                                 float *dx_tail) {
    int l = s->L - 1, Tq = T - q0, C = s->C, R = split_threads(s, B);
    LGP_ASSERT(l >= 0 && s->dres && B <= s->maxB && T <= s->maxT && q0 >= 0 && Tq >= 1);
    if (R == 1) {
        tail_backward(s, s, &w[l], &g[l], dout, B, T, q0, x_tail, dx_tail);
        if (s->grads_done) s->grads_done(s->grads_done_ctx, &g[l]);
        return;
    }
    LGP_ASSERT(s->part && s->dres2);
    int cs = split_chunk(s, B, R), nc = (B + cs - 1) / cs, prev = lgp_blas_serial_begin();
    /* the MLP half's rows are compact [B, Tq] in the same buffers */
    wgrad_src q = {&s->acts[l], dout, s->dgelu, s->dmid, s->dqkv, B * Tq, B * T};
#pragma omp parallel num_threads(R)
    {
        omp_set_num_threads(1);
        lgp_vit_stack v, vq;
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < nc; c++) {
            int b0, n = chunk_at(c, cs, B, &b0), r = omp_get_thread_num();
            size_t off = (size_t)b0 * Tq * C;
            lgp_block_tensors pg = part_of(s, c);
            stack_slice(&v, s, b0, T, r);
            stack_slice(&vq, s, b0, Tq, r);
            vq.dln = vq.dres2; /* v.dln is the attention half's, at other offsets */
            tail_backward(&v, &vq, &w[l], &pg, dout + off, n, T, q0, x_tail + off, dx_tail + off);
        }
        wgrad_split(s, &g[l], &q, nc);
    }
    lgp_blas_serial_end(prev);
}

/* ---- patches ---- */

/* out[B, K, c*P*P]: image b's patches ids[b*N + 0..K) (all N in order when ids is NULL)
 * in conv (c, py, px) order. Pure copies: the loop order cannot change a bit. */
LGP_HOT static void im2col(float *out, const float *img, const int *ids, int B, int K,
                   const lgp_vit_config *cfg) {
    int P = cfg->patch, c = cfg->in_chans, S = cfg->img_size, G = S / P, N = G * G, Q = P * P * c;
#pragma omp parallel for schedule(static) if (B * K > 64)
    for (int bj = 0; bj < B * K; bj++) {
        int b = bj / K, n = ids ? ids[(size_t)b * N + bj % K] : bj % K, i = n / G, j = n % G;
        float *o = out + (size_t)bj * Q;
        for (int ch = 0; ch < c; ch++)
            for (int py = 0; py < P; py++)
                memcpy(o + (ch * P + py) * P,
                       img + (((size_t)b * c + ch) * S + (size_t)i * P + py) * S + (size_t)j * P,
                       sizeof(float) * P);
    }
}

void lgp_vit_patchify_conv(float *out, const float *img, int B, const lgp_vit_config *cfg) {
    im2col(out, img, NULL, B, lgp_vit_num_patches(cfg), cfg);
}

void lgp_vit_patchify_mae(float *out, const float *img, int B, const lgp_vit_config *cfg) {
    int P = cfg->patch, c = cfg->in_chans, S = cfg->img_size, G = S / P, N = G * G, Q = P * P * c;
#pragma omp parallel for schedule(static) if (B * N > 64)
    for (int bn = 0; bn < B * N; bn++) {
        int b = bn / N, i = (bn % N) / G, j = (bn % N) % G;
        float *o = out + (size_t)bn * Q;
        for (int py = 0; py < P; py++)
            for (int px = 0; px < P; px++)
                for (int ch = 0; ch < c; ch++)
                    o[(py * P + px) * c + ch] =
                        img[(((size_t)b * c + ch) * S + (size_t)i * P + py) * S + (size_t)j * P + px];
    }
}

LGP_HOT void lgp_vit_unpatchify_mae(float *img, const float *patches, int B, const lgp_vit_config *cfg) {
    int P = cfg->patch, c = cfg->in_chans, S = cfg->img_size, G = S / P, N = G * G, Q = P * P * c;
    for (int bn = 0; bn < B * N; bn++) {
        int b = bn / N, i = (bn % N) / G, j = (bn % N) % G;
        const float *o = patches + (size_t)bn * Q;
        for (int py = 0; py < P; py++)
            for (int px = 0; px < P; px++)
                for (int ch = 0; ch < c; ch++)
                    img[(((size_t)b * c + ch) * S + (size_t)i * P + py) * S + (size_t)j * P + px] =
                        o[(py * P + px) * c + ch];
    }
}

/* ---- patch embedding ---- */

LGP_HOT void lgp_vit_patch_embed_forward(float *x, float *patches, float *emb, const float *images,
                                 const int *ids, const lgp_vit_model *m, int B, int K) {
    const lgp_vit_config *c = &m->cfg;
    const lgp_vit_tensors *w = &m->w;
    int N = lgp_vit_num_patches(c), T = K + 1, C = c->width, Q = lgp_vit_patch_dim(c);
    LGP_ASSERT(K >= 1 && K <= N && (ids || K == N));
    im2col(patches, images, ids, B, K, c);
    if (emb) {
        lgp_linear_forward(emb, patches, w->patch_w, w->patch_b, B * K, Q, C);
    } else { /* one product per image leaves row 0 free for cls */
        for (int b = 0; b < B; b++)
            lgp_linear_forward(x + ((size_t)b * T + 1) * C, patches + (size_t)b * K * Q, w->patch_w,
                               w->patch_b, K, Q, C);
    }
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        float *xb = x + (size_t)b * T * C;
        const float *eb = emb ? emb + (size_t)b * K * C : xb + C; /* without emb: in place */
        for (int k = 0; k < C; k++) xb[k] = w->cls_token[k] + w->pos_embed[k];
        for (int j = 0; j < K; j++) {
            const float *pos = w->pos_embed + (size_t)(1 + (ids ? ids[(size_t)b * N + j] : j)) * C;
            const float *e = eb + (size_t)j * C;
            float *o = xb + (size_t)(1 + j) * C;
            for (int k = 0; k < C; k++) o[k] = e[k] + pos[k];
        }
    }
}

LGP_HOT void lgp_vit_patch_embed_backward(lgp_vit_tensors *g, float *demb, const float *dx,
                                  const float *patches, const lgp_vit_model *m, int B, int K) {
    int T = K + 1, C = m->cfg.width, Q = lgp_vit_patch_dim(&m->cfg);
    for (int b = 0; b < B; b++) /* fixed order: bitwise reproducible */
        for (int k = 0; k < C; k++) g->cls_token[k] += dx[(size_t)b * T * C + k];
    if (!demb) return;
    for (int b = 0; b < B; b++)
        memcpy(demb + (size_t)b * K * C, dx + ((size_t)b * T + 1) * C, sizeof(float) * (size_t)K * C);
    lgp_linear_backward(NULL, g->patch_w, g->patch_b, demb, patches, m->w.patch_w, B * K, Q, C);
}

/* ---- inference ---- */

int lgp_vit_infer_init(lgp_vit_infer *inf, const lgp_vit_model *m, int chunk, char *err,
                       size_t errlen) {
    memset(inf, 0, sizeof *inf);
    const lgp_vit_config *c = &m->cfg;
    int N = lgp_vit_num_patches(c), T = N + 1, C = c->width;
    if (chunk < 1) chunk = 1;
    lgp_arena a = {NULL, 0, 0};
    for (int pass = 0; pass < 2; pass++) {
        lgp_vit_stack_bind(&inf->s, &a, chunk, T, C, c->heads, C * c->mlp_ratio, c->depth, 0);
        inf->patches = lgp_arena_take(&a, (size_t)chunk * N * lgp_vit_patch_dim(c));
        inf->normed = lgp_arena_take(&a, (size_t)chunk * T * C);
        inf->ln_mean = lgp_arena_take(&a, (size_t)chunk * T);
        inf->ln_rstd = lgp_arena_take(&a, (size_t)chunk * T);
        if (pass == 0) {
            inf->arena = lgp_floats_alloc(a.used);
            if (!inf->arena) return fail(err, errlen, "out of memory for %zu activations", a.used);
            a = (lgp_arena){inf->arena, a.used, 0};
        }
    }
    inf->m = m;
    inf->chunk = chunk;
    return LGP_OK;
}

void lgp_vit_infer_free(lgp_vit_infer *inf) {
    free(inf->arena);
    memset(inf, 0, sizeof *inf);
}

void lgp_vit_embed(lgp_vit_infer *inf, const float *images, int B, int pool, int nblocks,
                   float *out) {
    const lgp_vit_model *m = inf->m;
    const lgp_vit_config *c = &m->cfg;
    int N = lgp_vit_num_patches(c), T = N + 1, C = c->width;
    size_t img_floats = (size_t)c->in_chans * c->img_size * c->img_size;
    if (nblocks < 0 || nblocks > c->depth) nblocks = c->depth;
    for (int b0 = 0; b0 < B; b0 += inf->chunk) {
        int nb = B - b0 < inf->chunk ? B - b0 : inf->chunk;
        lgp_vit_patch_embed_forward(inf->s.res[0], inf->patches, NULL, images + (size_t)b0 * img_floats,
                                    NULL, m, nb, N);
        float *x = lgp_vit_stack_forward(&inf->s, m->w.blocks, nblocks, nb, T);
        lgp_layernorm_forward(inf->normed, inf->ln_mean, inf->ln_rstd, x, m->w.norm_w,
                              m->w.norm_b, nb * T, C, LGP_VIT_LN_EPS);
        for (int b = 0; b < nb; b++) {
            const float *xb = inf->normed + (size_t)b * T * C;
            float *o = out + (size_t)(b0 + b) * C;
            if (pool == LGP_POOL_CLS) {
                memcpy(o, xb, sizeof(float) * C);
                continue;
            }
            for (int k = 0; k < C; k++) {
                double s = 0.0;
                for (int t = 1; t < T; t++) s += xb[(size_t)t * C + k];
                o[k] = (float)(s / N);
            }
        }
    }
}
