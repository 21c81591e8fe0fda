/* test_gradconf.c — the per-part gradient cosines (gradconf.h), the split of the joint
 * step into its contrastive and MAE gradients (clstate.h grad_ctr), the lenient start
 * lgp-gradconf uses (lgp_cl_state_open_any), and the writer of the PyTorch twin:
 *
 *   test_gradconf --twin-write DIR   DIR/in.safetensors (weights, momentum, BN stats,
 *                                    views x1 x2, the MAE masks), DIR/c.safetensors
 *                                    (the C cosines and both gradients)
 *   gradconf_twin.py DIR             (tests/pipeline/t1300) the same in torch, compares */
#include "common/train/clstate.h"
#include "common/train/gradconf.h"
#include "common/util/rng.h"
#include "formats/safetensors.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TB 8

static lgp_vit_config tiny_cfg(void) {
    lgp_vit_config c = {8, 4, 3, 16, 3, 2, 2, 16, 1, 2, 1, 0.75f};
    return c;
}

static void fill(float *x, size_t n, uint64_t seed, double scale) {
    lgp_rng r;
    lgp_rng_init(&r, seed, 0, 0, 99);
    for (size_t i = 0; i < n; i++) x[i] = (float)(scale * (2.0 * lgp_rng_uniform(&r) - 1.0));
}

/* A joint-baseline-like state: decoder, heads, patch embedding trained; every tensor
 * nudged off its init so no gradient is trivially zero. */
static void joint_state(lgp_cl_state *s) {
    char err[256];
    lgp_cl_opts o;
    lgp_cl_opts_init(&o);
    o.mlp_dim = 32, o.moco_dim = 8, o.mim_weight = 1, o.groups.train_patch = 1;
    lgp_adamw_hparams hp = {0.9f, 0.999f, 1e-8f, 0.1f};
    lgp_vit_config c = tiny_cfg();
    LGP_ASSERT(lgp_cl_state_new(s, &c, &o, 5, &hp, err, sizeof err) == LGP_OK);
    float *noise = lgp_floats_alloc(s->m.params.total);
    fill(noise, s->m.params.total, 3, 0.02);
    for (size_t i = 0; i < s->m.params.total; i++) s->m.params.data[i] += noise[i];
    lgp_cl_state_sync_momentum(s);
    for (size_t i = 0; i < s->enc_end; i++) s->mom.params.data[i] -= 0.5f * noise[i];
    free(noise);
}

static void test_parts(void) {
    lgp_cl_state s;
    joint_state(&s);
    lgp_gradconf g;
    char err[256], nm[32];
    ok(lgp_gradconf_init(&g, &s.m.params, err, sizeof err) == LGP_OK, "init");
    is_int(g.nparts, 5, "patch_embed, 3 blocks, norm");
    is_str(lgp_gradconf_part_name(&g, 2, nm, sizeof nm), "block 1", "part names");
    int seen[5] = {0}, wrong = 0;
    for (size_t i = 0; i < s.m.params.count; i++) {
        const char *n = s.m.params.entries[i].name;
        int k = g.part_of[i], l;
        if (k >= 0) seen[k]++;
        if (sscanf(n, "blocks.%d.", &l) == 1) wrong += k != 1 + l;
        else if (!strncmp(n, "patch_embed.", 12)) wrong += k != 0;
        else if (!strcmp(n, "norm.weight") || !strcmp(n, "norm.bias")) wrong += k != 4;
        else wrong += k != -1; /* cls, pos, decoder, heads: in no part */
    }
    is_int(wrong, 0, "every tensor in its part (decoder_blocks, heads, cls in none)");
    ok(seen[0] == 2 && seen[4] == 2 && seen[1] == seen[3] && seen[1] > 4, "part sizes %d %d %d %d", seen[0], seen[1], seen[3], seen[4]);
    /* cosines of known pairs */
    size_t n = s.m.params.total;
    float *a = lgp_floats_alloc(n), *b = lgp_floats_alloc(n);
    fill(a, n, 1, 1), fill(b, n, 2, 1);
    double c[LGP_GC_MAX_PARTS], c2[LGP_GC_MAX_PARTS];
    lgp_gradconf_cosines(&g, a, a, c);
    ok(fabs(c[0] - 1) < 1e-12 && fabs(c[2] - 1) < 1e-12, "cos(a, a) = 1");
    for (size_t i = 0; i < n; i++) b[i] = -3 * a[i];
    lgp_gradconf_cosines(&g, a, b, c);
    ok(fabs(c[1] + 1) < 1e-12 && fabs(c[4] + 1) < 1e-12, "cos(a, -3a) = -1");
    /* one block's b orthogonal to a: b = a' - (a'.a / a.a) a over that block */
    fill(b, n, 2, 1);
    double d = 0, aa = 0;
    for (size_t i = 0; i < s.m.params.count; i++)
        if (g.part_of[i] == 2) {
            const lgp_param *e = &s.m.params.entries[i];
            for (size_t j = e->offset; j < e->offset + e->numel; j++) d += (double)a[j] * b[j], aa += (double)a[j] * a[j];
        }
    for (size_t i = 0; i < s.m.params.count; i++)
        if (g.part_of[i] == 2) {
            const lgp_param *e = &s.m.params.entries[i];
            for (size_t j = e->offset; j < e->offset + e->numel; j++) b[j] -= (float)(d / aa) * a[j];
        }
    lgp_gradconf_cosines(&g, a, b, c);
    ok(fabs(c[2]) < 1e-5, "orthogonal within block 1: %g", c[2]);
    memset(b, 0, n * sizeof *b);
    lgp_gradconf_cosines(&g, a, b, c);
    ok(isnan(c[0]) && isnan(c[3]), "a zero gradient has no cosine (NaN)");
    /* summary: rows 0.1, 0.2, ..., 0.5 for every part, and one NaN row */
    for (int r = 0; r < 5; r++) {
        for (int k = 0; k < g.nparts; k++) c2[k] = 0.1 * (r + 1) * (k == 1 ? -1 : 1);
        ok(lgp_gradconf_add(&g, c2) == LGP_OK, "add row %d", r);
    }
    lgp_gradconf_add(&g, c); /* c: all NaN (b was zero) */
    lgp_json *j = lgp_gradconf_json(&g);
    const lgp_json *bl = lgp_json_get(j, "blocks");
    ok(bl && bl->type == LGP_JSON_ARR && bl->n == 3, "3 blocks in the JSON");
    const lgp_json *b0 = bl->items[0], *pe = lgp_json_get(j, "patch_embed");
    is_close(lgp_json_get_num(b0, "cosine", 0), -0.3, 1e-12, 1e-12, "block 0 mean");
    is_close(lgp_json_get_num(pe, "std", 0), sqrt(0.025), 1e-12, 1e-12, "std (n - 1)");
    const lgp_json *q = lgp_json_get(pe, "quantiles");
    ok(q && q->n == 5, "5 quantiles");
    is_close(q->items[1]->num, 0.2, 1e-12, 1e-12, "25%% quantile (numpy linear)");
    is_close(q->items[2]->num, 0.3, 1e-12, 1e-12, "median");
    is_int(lgp_json_get_num(pe, "n", 0), 5, "the NaN row is not averaged");
    is_int(lgp_json_get_num(pe, "nonfinite", 0), 1, "and is counted");
    is_int(lgp_json_get_num(lgp_json_get(j, "norm"), "block", -1), -1, "norm has no block index");
    lgp_json_free(j);
    char line[64];
    ok(lgp_gradconf_log(&g, c2, line, sizeof line) > 0 && strstr(line, "\"gradconf\":[0.5000,-0.5000,"), "log: %s", line);
    ok(lgp_gradconf_log(&g, c2, line, 20) == 0 && line[0] == 0, "log that does not fit: nothing");
    free(a), free(b);
    lgp_gradconf_free(&g);
    lgp_cl_state_free(&s);
}

/* The split step's two gradients add up to the joint step's. */
static void test_split(void) {
    lgp_cl_state s;
    char err[256];
    joint_state(&s);
    lgp_cl_engine e;
    LGP_ASSERT(lgp_cl_engine_init(&e, &s, TB, err, sizeof err) == LGP_OK);
    size_t n = (size_t)TB * 3 * 8 * 8, P = s.m.params.total;
    float *x = lgp_floats_alloc(2 * n), *joint = lgp_floats_alloc(P), *gc = lgp_floats_alloc(P);
    fill(x, 2 * n, 7, 1.5);
    uint64_t ids[TB];
    for (int i = 0; i < TB; i++) ids[i] = 100 + (uint64_t)i;
    double lc, lm, lc2, lm2;
    double l1 = lgp_cl_engine_step(&e, x, x + n, TB, 1.0, ids, 3, NULL, &lc, &lm);
    memcpy(joint, s.m.grads, P * sizeof(float));
    e.grad_ctr = gc;
    double l2 = lgp_cl_engine_step(&e, x, x + n, TB, 1.0, ids, 3, NULL, &lc2, &lm2);
    ok(l1 == l2 && lc == lc2 && lm == lm2, "same losses with the split (m = 1 leaves the momentum model)");
    double worst = 0, scale = 0, mim_on_heads = 0, ctr_on_dec = 0;
    for (size_t i = 0; i < s.m.params.count; i++) {
        const lgp_param *p = &s.m.params.entries[i];
        for (size_t k = p->offset; k < p->offset + p->numel; k++) {
            worst = fmax(worst, fabs((double)gc[k] + s.m.grads[k] - joint[k]));
            scale = fmax(scale, fabs(joint[k]));
            if (!strncmp(p->name, "head.", 5) || !strncmp(p->name, "predictor.", 10)) mim_on_heads = fmax(mim_on_heads, fabs(s.m.grads[k]));
            if (p->flags & LGP_PARAM_DECODER) ctr_on_dec = fmax(ctr_on_dec, fabs(gc[k]));
        }
    }
    ok(worst <= 1e-5 * scale, "g_CL + g_MIM = the joint gradient (max diff %.3g of %.3g)", worst, scale);
    ok(mim_on_heads == 0 && ctr_on_dec == 0, "MAE moves no head, MoCo no decoder tensor");
    free(x), free(joint), free(gc);
    lgp_cl_engine_free(&e);
    lgp_cl_state_free(&s);
}

/* lgp_cl_state_open_any: a stage-1-like record (encoder + decoder, no heads) and a
 * MoCo-like one (encoder + heads, no decoder) both open; what came is what *have says. */
static void test_open_any(void) {
    lgp_cl_state s, t;
    char err[512];
    joint_state(&s);
    char *meta = lgp_cl_state_meta(&s, 1);
    lgp_record rec, part;
    LGP_ASSERT(lgp_cl_state_record(&s, &rec, 0) == LGP_OK);
    lgp_cl_opts o;
    lgp_cl_opts_init(&o);
    unsigned have = 0;
    ok(lgp_cl_state_open_any(&t, &rec, meta, "joint", &o, 9, &have, err, sizeof err) == LGP_OK, "a joint checkpoint: %s", err);
    is_int(have, LGP_CL_HAVE_DECODER | LGP_CL_HAVE_HEADS | LGP_CL_HAVE_MOMENTUM, "everything from it");
    ok(!memcmp(t.m.params.data, s.m.params.data, s.m.params.total * sizeof(float)), "the same weights");
    lgp_cl_state_free(&t);
    /* without the heads and the momentum model: a stage-1 record */
    lgp_record_init(&part);
    for (size_t i = 0; i < rec.n; i++) {
        const lgp_tensor *x = &rec.t[i];
        if (strncmp(x->name, "head.", 5) && strncmp(x->name, "predictor.", 10) && strncmp(x->name, "momentum.", 9))
            lgp_record_put(&part, x->name, x->dtype, x->ndim, x->shape, x->data, x->nbytes, LGP_BORROW);
    }
    ok(lgp_cl_state_open_any(&t, &part, "{\"model\":{\"img_size\":8,\"patch\":4,\"in_chans\":3,\"width\":16,\"depth\":3,"
                                        "\"heads\":2,\"mlp_ratio\":2,\"dec_width\":16,\"dec_depth\":1,\"dec_heads\":2,"
                                        "\"norm_pix\":1,\"mask_ratio\":0.75},\"stage\":\"mim\"}",
                             "s1", &o, 9, &have, err, sizeof err) == LGP_OK, "a record without heads: %s", err);
    is_int(have, LGP_CL_HAVE_DECODER, "only the decoder came");
    ok(!memcmp(t.mom.params.data, t.m.params.data, t.enc_end * sizeof(float)), "momentum = online copy");
    lgp_cl_state_free(&t);
    lgp_record_free(&part);
    ok(lgp_cl_state_open_any(&t, &rec, "{}", "nometa", &o, 9, &have, err, sizeof err) != LGP_OK && strstr(err, "nometa: no model"),
       "no model config: %s", err);
    lgp_record_free(&rec);
    free(meta);
    lgp_cl_state_free(&s);
}

static void put(lgp_record *r, const char *name, int ndim, const int64_t *shape, const void *d, size_t bytes, int dt) {
    lgp_record_put(r, name, dt, ndim, shape, d, bytes, LGP_COPY);
}

static int twin_write(const char *dir) {
    lgp_cl_state s;
    char err[512], path[4096];
    joint_state(&s);
    lgp_record in, out;
    LGP_ASSERT(lgp_cl_state_record(&s, &in, 0) == LGP_OK);
    size_t n = (size_t)TB * 3 * 8 * 8, P = s.m.params.total;
    float *x = lgp_floats_alloc(2 * n), *gc = lgp_floats_alloc(P);
    fill(x, 2 * n, 31, 1.5);
    int64_t xs[4] = {TB, 3, 8, 8};
    put(&in, "x1", 4, xs, x, n * 4, LGP_DT_F32);
    put(&in, "x2", 4, xs, x + n, n * 4, LGP_DT_F32);
    lgp_cl_engine e;
    LGP_ASSERT(lgp_cl_engine_init(&e, &s, TB, err, sizeof err) == LGP_OK);
    e.grad_ctr = gc;
    uint64_t ids[TB];
    for (int i = 0; i < TB; i++) ids[i] = (uint64_t)i * 7 + 1;
    double lc, lm;
    lgp_cl_engine_step(&e, x, x + n, TB, 1.0, ids, 2, NULL, &lc, &lm);
    /* the masks the MAE term drew: kept patch indices in the order the encoder saw them */
    int N = e.mae.N, K = e.mae.K;
    int64_t *keep = malloc(sizeof *keep * (size_t)TB * K);
    for (int b = 0; b < TB; b++)
        for (int k = 0; k < K; k++) keep[b * K + k] = e.mae.ids_keep[b * N + k];
    int64_t ks[2] = {TB, K}, ms[2] = {TB, N};
    put(&in, "ids_keep", 2, ks, keep, sizeof *keep * (size_t)TB * K, LGP_DT_I64);
    put(&in, "mask", 2, ms, e.mae.mask, sizeof(float) * (size_t)TB * N, LGP_DT_F32);
    char cj[512], meta[1024];
    lgp_vit_config_json(&s.m.cfg, cj, sizeof cj);
    snprintf(meta, sizeof meta, "{\"config\":%s,\"tau\":%.17g,\"mlp_dim\":%d,\"moco_dim\":%d}", cj, s.co.tau, s.co.mlp_dim,
             s.co.moco_dim);
    snprintf(path, sizeof path, "%s/in.safetensors", dir);
    int rc = lgp_st_save(path, &in, meta, err, sizeof err);
    lgp_gradconf g;
    LGP_ASSERT(lgp_gradconf_init(&g, &s.m.params, err, sizeof err) == LGP_OK);
    double cos[LGP_GC_MAX_PARTS];
    lgp_gradconf_cosines(&g, gc, s.m.grads, cos);
    lgp_record_init(&out);
    int64_t np = g.nparts, two = 2;
    put(&out, "cos", 1, &np, cos, sizeof(double) * (size_t)g.nparts, LGP_DT_F64);
    double losses[2] = {lc, lm};
    put(&out, "losses", 1, &two, losses, sizeof losses, LGP_DT_F64);
    char name[160];
    for (size_t i = 0; i < s.m.params.count; i++) {
        const lgp_param *p = &s.m.params.entries[i];
        if (g.part_of[i] < 0) continue;
        snprintf(name, sizeof name, "g_ctr.%s", p->name);
        put(&out, name, p->ndim, p->shape, gc + p->offset, p->numel * 4, LGP_DT_F32);
        snprintf(name, sizeof name, "g_mim.%s", p->name);
        put(&out, name, p->ndim, p->shape, s.m.grads + p->offset, p->numel * 4, LGP_DT_F32);
    }
    snprintf(path, sizeof path, "%s/c.safetensors", dir);
    if (rc == LGP_OK) rc = lgp_st_save(path, &out, NULL, err, sizeof err);
    if (rc != LGP_OK) fprintf(stderr, "test_gradconf: %s\n", err);
    printf("twin: C losses contrastive %.7f MAE %.7f\n", lc, lm);
    lgp_record_free(&in);
    lgp_record_free(&out);
    lgp_gradconf_free(&g);
    lgp_cl_engine_free(&e);
    free(x), free(gc), free(keep);
    lgp_cl_state_free(&s);
    return rc == LGP_OK ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--twin-write") == 0) return twin_write(argv[2]);
    test_parts();
    test_split();
    test_open_any();
    return done_testing();
}
