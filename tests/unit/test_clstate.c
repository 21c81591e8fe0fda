/* test_clstate.c — stage-2 state: lr groups (docs/METHOD.md §4.4), grafting a stage-1 encoder
 * exactly, frozen tensors and lr-0 groups staying bit-identical through training, each
 * group's effective lr read back from the AdamW update, save/load round trip, and the
 * PyTorch twin exchange.
 *
 * Without arguments it is a TAP unit test. The twin (tests/pipeline/t0810) runs
 *   test_clstate --twin-write DIR grafted|scratch|patch  (DIR/in.safetensors before the step,
 *                                                  DIR/c.safetensors the C results)
 *   cl_twin.py check DIR                           (the same step in torch, compares) */
#include "common/train/clstate.h"
#include "common/model/named.h"
#include "common/util/rng.h"
#include "formats/safetensors.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lgp_vit_config tiny_cfg(int depth) {
    lgp_vit_config c = {8, 4, 3, 16, depth, 2, 2, 16, 1, 2, 1, 0.75f};
    return c;
}

static void fill(float *x, size_t n, uint64_t seed, double scale) {
    lgp_rng r;
    lgp_rng_init(&r, seed, 0, 0, 99);
    for (size_t i = 0; i < n; i++) x[i] = (float)(scale * (2.0 * lgp_rng_uniform(&r) - 1.0));
}

/* A "stage-1" model: MAE init, every tensor nudged so nothing is a default value. */
static void stage1_record(lgp_vit_model *m, const lgp_vit_config *c, lgp_record *rec) {
    char err[256];
    LGP_ASSERT(lgp_vit_model_init(m, c, LGP_VIT_WITH_DECODER, 11, err, sizeof err) == LGP_OK);
    float *noise = lgp_floats_alloc(m->params.total);
    fill(noise, m->params.total, 5, 0.01);
    for (size_t i = 0; i < m->params.total; i++) m->params.data[i] += noise[i];
    free(noise);
    lgp_record_init(rec);
    for (size_t i = 0; i < m->params.count; i++) {
        const lgp_param *e = &m->params.entries[i];
        lgp_record_put(rec, e->name, LGP_DT_F32, e->ndim, e->shape, m->params.data + e->offset, e->numel * 4, LGP_BORROW);
    }
}

static uint64_t enc_hash_of(const lgp_vit_model *m) {
    lgp_named_list l;
    lgp_named_init(&l);
    for (size_t i = 0; i < m->params.count; i++) {
        const lgp_param *e = &m->params.entries[i];
        if (!(e->flags & LGP_PARAM_DECODER)) lgp_named_add(&l, NULL, e->name, e->ndim, e->shape, m->params.data + e->offset);
    }
    uint64_t h = lgp_named_hash(&l);
    lgp_named_free(&l);
    return h;
}

static int grafted(lgp_cl_state *s, int depth, const char *lw, int freeze, int reinit) {
    lgp_vit_config c = tiny_cfg(depth);
    lgp_vit_model m1;
    lgp_record rec;
    stage1_record(&m1, &c, &rec);
    lgp_cl_opts o;
    lgp_cl_opts_init(&o);
    o.mlp_dim = 32, o.moco_dim = 8;
    char err[512];
    if (lw) LGP_ASSERT(lgp_groups_parse(&o.groups, lw, err, sizeof err) == LGP_OK);
    o.groups.freeze_below = freeze;
    o.reinit_above = reinit;
    lgp_adamw_hparams hp = {0.9f, 0.999f, 1e-8f, 0.1f};
    int rc = lgp_cl_state_start(s, &rec, "{\"stage\":\"mim\"}", "test", &c, &o, 3, &hp, err, sizeof err);
    if (rc != LGP_OK) printf("# start: %s\n", err);
    lgp_record_free(&rec);
    lgp_vit_model_free(&m1);
    return rc;
}

static void test_groups(void) {
    lgp_groups g;
    char err[256];
    memset(&g, 0, sizeof g);
    ok(lgp_groups_parse(&g, "1.5e-5,1.5e-5,1.5e-4", err, sizeof err) == LGP_OK && g.n == 3, "parse three values");
    ok(lgp_groups_check(&g, 12, err, sizeof err) == LGP_OK, "3 groups split 12 blocks");
    ok(lgp_groups_check(&g, 4, err, sizeof err) != LGP_OK, "3 groups do not split 4 blocks: %s", err);
    ok(lgp_groups_parse(&g, "1e-4,x", err, sizeof err) != LGP_OK, "a bad value is refused: %s", err);
    /* ViT-B's mapping (docs/METHOD.md §4.4 table): blocks 0-3 | 4-7 | 8-11 */
    lgp_groups_parse(&g, "1.5e-5,1.5e-5,1.5e-4", err, sizeof err);
    int want[14] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2}; /* block -1..12 */
    int good = 1;
    for (int b = -1; b <= 12; b++) good &= lgp_groups_of(&g, b, 12) == want[b + 1];
    ok(good, "group of cls, blocks 0..11 and norm/heads as in LGP's param_groups_lrd_moco");

    lgp_cl_state s;
    ok(grafted(&s, 6, "1e-5,2e-5,1e-4", 0, -1) == LGP_OK, "graft with 3 groups on 6 blocks");
    const lgp_params *p = &s.m.params;
    is_close(lgp_params_find(p, "cls_token")->lr_scale, 1e-5, 1e-6, 0, "cls in group 0");
    ok(!(lgp_params_find(p, "cls_token")->flags & (LGP_PARAM_NO_WD | LGP_PARAM_FROZEN)), "cls decayed, trainable (pitfall M7)");
    is_close(lgp_params_find(p, "blocks.2.attn.qkv.weight")->lr_scale, 2e-5, 1e-6, 0, "block 2 in group 1");
    is_close(lgp_params_find(p, "blocks.5.mlp.fc2.bias")->lr_scale, 1e-4, 1e-6, 0, "block 5 in group 2");
    is_close(lgp_params_find(p, "norm.weight")->lr_scale, 1e-4, 1e-6, 0, "final norm in the last group");
    is_close(lgp_params_find(p, "predictor.3.weight")->lr_scale, 1e-4, 1e-6, 0, "predictor in the last group");
    ok(lgp_params_find(p, "head.1.bias")->flags & LGP_PARAM_NO_WD, "BN beta not decayed");
    ok(!(lgp_params_find(p, "head.6.weight")->flags & LGP_PARAM_NO_WD), "head linear decayed");
    ok(lgp_params_find(p, "patch_embed.proj.weight")->flags & LGP_PARAM_FROZEN, "patch embedding frozen (pitfall M3)");
    ok(lgp_params_find(p, "pos_embed")->flags & LGP_PARAM_FROZEN, "pos_embed frozen");
    ok(!lgp_params_find(p, "decoder_embed.weight"), "decoder dropped");
    lgp_cl_state_free(&s);
}

static void test_graft_exact(void) {
    lgp_vit_config c = tiny_cfg(3);
    lgp_vit_model m1;
    lgp_record rec;
    stage1_record(&m1, &c, &rec);
    uint64_t want = enc_hash_of(&m1);
    lgp_record_free(&rec);
    lgp_vit_model_free(&m1);
    lgp_cl_state s;
    ok(grafted(&s, 3, NULL, 0, -1) == LGP_OK, "graft");
    is_int(lgp_cl_encoder_hash(&s, 0) == want, 1, "online encoder hash equals the stage-1 encoder's");
    is_int(lgp_cl_encoder_hash(&s, 1) == want, 1, "momentum encoder hash equals it too");
    ok(memcmp(s.m.params.data + s.proj.param_base, s.mom.params.data + s.proj.param_base,
              sizeof(float) * s.proj.nparams) == 0, "momentum projector is a copy of the online one");
    lgp_cl_state_free(&s);
    ok(grafted(&s, 3, NULL, 0, 1) == LGP_OK, "graft with --reinit-above 1");
    stage1_record(&m1, &c, &rec); /* re-made: same values */
    const lgp_param *b0 = lgp_params_find(&s.m.params, "blocks.0.mlp.fc1.weight"), *b2 = lgp_params_find(&s.m.params, "blocks.2.mlp.fc1.weight");
    const lgp_param *r0 = lgp_params_find(&m1.params, "blocks.0.mlp.fc1.weight"), *r2 = lgp_params_find(&m1.params, "blocks.2.mlp.fc1.weight");
    ok(memcmp(s.m.params.data + b0->offset, m1.params.data + r0->offset, b0->numel * 4) == 0, "block 0 kept");
    ok(memcmp(s.m.params.data + b2->offset, m1.params.data + r2->offset, b2->numel * 4) != 0, "block 2 re-initialised");
    lgp_record_free(&rec);
    lgp_vit_model_free(&m1);
    lgp_cl_state_free(&s);
}

/* n training steps with the trainer's order: momentum, forward/backward, AdamW. */
static void train(lgp_cl_state *s, int steps, int B) {
    lgp_cl_engine e;
    char err[256];
    LGP_ASSERT(lgp_cl_engine_init(&e, s, B, err, sizeof err) == LGP_OK);
    size_t n = (size_t)B * 3 * 8 * 8;
    float *x = malloc(2 * n * sizeof(float));
    for (int k = 0; k < steps; k++) {
        fill(x, 2 * n, 100 + (uint64_t)s->run.step, 1.0);
        lgp_cl_engine_step(&e, x, x + n, B, lgp_cl_momentum_at(s), NULL, 0, NULL, NULL, NULL);
        double lr = lgp_lr_schedule(s->run.step, s->run.sched.total_steps, s->run.sched.warmup_steps, s->run.sched.lr, 0);
        lgp_adamw_step(&s->opt, s->m.params.data, s->m.grads, (float)lr);
        s->run.step++;
    }
    free(x);
    lgp_cl_engine_free(&e);
}

static void set_sched(lgp_cl_state *s, int B) {
    s->run.sched = (lgp_schedule){.total_steps = 10, .warmup_steps = 2, .batch = B, .accum = 1, .lr = B / 256.0, .blr = 1};
}

static int same(const lgp_cl_state *s, const float *before, const char *name) {
    const lgp_param *e = lgp_params_find(&s->m.params, name);
    return memcmp(s->m.params.data + e->offset, before + e->offset, e->numel * 4) == 0;
}

static void test_frozen(void) {
    lgp_cl_state s;
    ok(grafted(&s, 2, "0,0.05", 0, -1) == LGP_OK, "graft with groups 0,0.05");
    set_sched(&s, 8);
    float *before = lgp_floats_alloc(s.m.params.total);
    memcpy(before, s.m.params.data, 4 * s.m.params.total);
    train(&s, 3, 8);
    ok(same(&s, before, "patch_embed.proj.weight") && same(&s, before, "patch_embed.proj.bias"), "patch embedding bit-identical");
    ok(same(&s, before, "pos_embed"), "pos_embed bit-identical");
    ok(same(&s, before, "cls_token"), "cls (lr-0 group) bit-identical");
    int all = 1;
    for (size_t i = 0; i < s.m.params.count; i++)
        if (s.m.params.entries[i].block == 0) all &= same(&s, before, s.m.params.entries[i].name);
    ok(all, "every block-0 tensor (lr-0 group) bit-identical");
    ok(!same(&s, before, "blocks.1.attn.qkv.weight") && !same(&s, before, "norm.weight") &&
           !same(&s, before, "head.0.weight") && !same(&s, before, "predictor.3.weight"),
       "block 1, norm, projector, predictor trained");
    lgp_cl_state_free(&s);
    free(before);

    ok(grafted(&s, 2, "0.05", 1, -1) == LGP_OK, "graft with --freeze-below 1");
    set_sched(&s, 8);
    before = lgp_floats_alloc(s.m.params.total);
    memcpy(before, s.m.params.data, 4 * s.m.params.total);
    float *mom0 = lgp_floats_alloc(s.m.params.total);
    memcpy(mom0, s.mom.params.data, 4 * s.m.params.total);
    train(&s, 3, 8);
    all = same(&s, before, "cls_token");
    for (size_t i = 0; i < s.m.params.count; i++)
        if (s.m.params.entries[i].block == 0) all &= same(&s, before, s.m.params.entries[i].name);
    ok(all, "cls and block 0 bit-identical with --freeze-below 1");
    ok(!same(&s, before, "blocks.1.mlp.fc1.weight"), "block 1 trained");
    const lgp_param *h = lgp_params_find(&s.m.params, "head.3.weight");
    ok(memcmp(s.mom.params.data + h->offset, mom0 + h->offset, h->numel * 4) != 0, "momentum projector moved");
    lgp_cl_state_free(&s);
    free(before);
    free(mom0);
}

/* First AdamW step (t = 1): p' = p(1 - lr·wd) - lr·g/(|g| + eps), so lr = (p - p')/(p·wd + g/(|g|+eps)). */
static void test_effective_lr(void) {
    lgp_cl_state s;
    ok(grafted(&s, 2, "0.02,0.08", 0, -1) == LGP_OK, "graft with groups 0.02,0.08");
    int B = 8;
    set_sched(&s, B);
    s.run.step = 5;
    lgp_cl_engine e;
    char err[256];
    LGP_ASSERT(lgp_cl_engine_init(&e, &s, B, err, sizeof err) == LGP_OK);
    size_t n = (size_t)B * 3 * 8 * 8;
    float *x = malloc(2 * n * sizeof(float)), *before = lgp_floats_alloc(s.m.params.total);
    fill(x, 2 * n, 7, 1.0);
    lgp_cl_engine_step(&e, x, x + n, B, lgp_cl_momentum_at(&s), NULL, 0, NULL, NULL, NULL);
    memcpy(before, s.m.params.data, 4 * s.m.params.total);
    double lr = lgp_lr_schedule(s.run.step, s.run.sched.total_steps, s.run.sched.warmup_steps, s.run.sched.lr, 0);
    lgp_adamw_step(&s.opt, s.m.params.data, s.m.grads, (float)lr);
    double cosf = 0.5 * (1 + cos(M_PI * (5 - 2) / (10 - 2)));
    const char *probe[] = {"cls_token", "blocks.0.attn.qkv.weight", "blocks.1.mlp.fc1.weight", "norm.weight", "head.0.weight", "predictor.0.weight"};
    for (size_t k = 0; k < LGP_ARRAY_LEN(probe); k++) {
        const lgp_param *p = lgp_params_find(&s.m.params, probe[k]);
        double want = cosf * (p->block <= 0 ? 0.02 : 0.08) * B / 256.0, wd = (p->flags & LGP_PARAM_NO_WD) ? 0 : 0.1;
        double *imp = malloc(sizeof(double) * p->numel);
        size_t m = 0;
        for (size_t i = 0; i < p->numel; i++) {
            double g = s.m.grads[p->offset + i], w = before[p->offset + i], d = w - s.m.params.data[p->offset + i];
            double den = w * wd + g / (fabs(g) + 1e-8);
            if (fabs(g) > 1e-5 && fabs(den) > 0.5) imp[m++] = d / den;
        }
        for (size_t i = 1; i < m; i++) /* insertion sort for the median */
            for (size_t j = i; j > 0 && imp[j] < imp[j - 1]; j--) { double t = imp[j]; imp[j] = imp[j - 1]; imp[j - 1] = t; }
        ok(m > 0, "%s: %zu elements with a usable gradient", probe[k], m);
        if (m) is_close(imp[m / 2], want, 2e-3, 0, "%s: lr at step 5 read from the update = cos·blr_g·B/256 = %.4g", probe[k], want);
        free(imp);
    }
    free(x);
    free(before);
    lgp_cl_engine_free(&e);
    lgp_cl_state_free(&s);
}

static void test_roundtrip(void) {
    lgp_cl_state s, t;
    ok(grafted(&s, 2, "0.01,0.05", 1, -1) == LGP_OK, "graft for the round trip");
    set_sched(&s, 8);
    train(&s, 2, 8);
    lgp_record rec;
    LGP_ASSERT(lgp_cl_state_record(&s, &rec, 1) == LGP_OK);
    char *meta = lgp_cl_state_meta(&s, 0), err[512];
    lgp_cl_opts o;
    lgp_cl_opts_init(&o);
    lgp_adamw_hparams hp = {0.9f, 0.999f, 1e-8f, 0.1f};
    ok(lgp_cl_state_start(&t, &rec, meta, "mem", NULL, &o, 0, &hp, err, sizeof err) == LGP_OK, "start from a stage-2 record");
    ok(memcmp(s.m.params.data, t.m.params.data, 4 * s.m.params.total) == 0, "online weights equal");
    ok(memcmp(s.mom.params.data, t.mom.params.data, 4 * s.proj.param_base) == 0, "momentum encoder equal");
    ok(memcmp(s.stats, t.stats, 4 * s.nstats) == 0 && memcmp(s.mstats, t.mstats, 4 * s.proj.nstats) == 0, "BN stats equal");
    is_int(t.co.groups.n, 2, "groups restored");
    is_int(t.co.groups.freeze_below, 1, "freeze_below restored");
    is_int(t.co.mlp_dim, 32, "mlp dim restored");
    free(meta);
    lgp_record_free(&rec);
    lgp_cl_state_free(&t);
    lgp_cl_state_free(&s);
}

/* --lr-heads and --train-patch-embed: the rates and flags they set, and the metadata
 * round trip that a resume and lgp-graft -> lgp-cl-train rely on. */
static void test_heads_patch(void) {
    lgp_cl_state s;
    lgp_cl_opts o;
    char err[512];
    lgp_cl_opts_init(&o);
    o.mlp_dim = 32, o.moco_dim = 8;
    lgp_groups_parse(&o.groups, "1e-4,1e-4,1e-4", err, sizeof err);
    o.groups.heads_set = 1, o.groups.heads_blr = 1e-3, o.groups.train_patch = 1;
    lgp_adamw_hparams hp = {0.9f, 0.999f, 1e-8f, 0.1f};
    lgp_vit_config c = tiny_cfg(3);
    ok(lgp_cl_state_new(&s, &c, &o, 5, &hp, err, sizeof err) == LGP_OK, "baseline with --lr-heads and --train-patch-embed");
    const lgp_params *p = &s.m.params;
    is_close(lgp_params_find(p, "blocks.2.mlp.fc1.weight")->lr_scale, 1e-4, 1e-6, 0, "last block at the groups' rate");
    is_close(lgp_params_find(p, "norm.weight")->lr_scale, 1e-3, 1e-6, 0, "final norm at --lr-heads");
    is_close(lgp_params_find(p, "head.0.weight")->lr_scale, 1e-3, 1e-6, 0, "projector at --lr-heads");
    is_close(lgp_params_find(p, "predictor.3.weight")->lr_scale, 1e-3, 1e-6, 0, "predictor at --lr-heads");
    is_close(lgp_params_find(p, "cls_token")->lr_scale, 1e-4, 1e-6, 0, "cls with group 0");
    ok(!(lgp_params_find(p, "patch_embed.proj.weight")->flags & LGP_PARAM_FROZEN), "patch embedding trainable");
    ok(!(lgp_params_find(p, "patch_embed.proj.weight")->flags & LGP_PARAM_NO_WD), "patch weight decayed (4-d)");
    ok(lgp_params_find(p, "patch_embed.proj.bias")->flags & LGP_PARAM_NO_WD, "patch bias not decayed");
    ok(lgp_params_find(p, "pos_embed")->flags & LGP_PARAM_FROZEN, "pos_embed still frozen (sin-cos)");
    set_sched(&s, 8);
    float w0 = s.m.params.data[lgp_params_find(p, "patch_embed.proj.weight")->offset];
    train(&s, 2, 8);
    ok(s.m.params.data[lgp_params_find(p, "patch_embed.proj.weight")->offset] != w0, "the patch embedding moved in training");
    lgp_record rec;
    LGP_ASSERT(lgp_cl_state_record(&s, &rec, 1) == LGP_OK);
    char *meta = lgp_cl_state_meta(&s, 0);
    ok(strstr(meta, "\"patch_embed\":\"trainable\"") && strstr(meta, "\"heads_blr\":0.001"), "metadata says so");
    lgp_cl_state t;
    lgp_cl_opts none;
    lgp_cl_opts_init(&none);
    ok(lgp_cl_state_start(&t, &rec, meta, "mem", NULL, &none, 0, &hp, err, sizeof err) == LGP_OK, "start from it");
    ok(t.co.groups.train_patch && t.co.groups.heads_set && t.co.groups.heads_blr == 1e-3, "heads rate and trainable patch restored");
    ok(!(lgp_params_find(&t.m.params, "patch_embed.proj.weight")->flags & LGP_PARAM_FROZEN), "restored table trains the patch");
    free(meta);
    lgp_record_free(&rec);
    lgp_cl_state_free(&t);
    lgp_cl_state_free(&s);
    /* an older checkpoint's groups (no heads_blr, no patch_embed): last group's rate, frozen */
    lgp_json *j = lgp_json_parse("{\"layer_wise\":[0.1,0.2],\"freeze_below\":0}", 41, NULL, 0);
    lgp_groups g;
    ok(j && lgp_groups_from_json(&g, j, err, sizeof err) == LGP_OK && !g.heads_set && !g.train_patch, "older metadata reads as before");
    lgp_json_free(j);
    j = lgp_json_parse("{\"layer_wise\":[0.1],\"patch_embed\":\"maybe\"}", 42, NULL, 0);
    ok(j && lgp_groups_from_json(&g, j, err, sizeof err) != LGP_OK, "an unknown patch_embed is refused: %s", err);
    lgp_json_free(j);
}

/* ---- the PyTorch twin ---- */
#define TW_B 16

static void put(lgp_record *r, const char *prefix, const char *name, int ndim, const int64_t *shape, const float *d, size_t n) {
    char full[160];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    lgp_record_put(r, full, LGP_DT_F32, ndim, shape, d, n * 4, LGP_COPY);
}

/* Every tensor of the state that the twin needs (weights, momentum, BN stats). */
static void put_state(lgp_record *r, const lgp_cl_state *s) {
    lgp_record st;
    LGP_ASSERT(lgp_cl_state_record(s, &st, 0) == LGP_OK);
    for (size_t i = 0; i < st.n; i++) {
        const lgp_tensor *t = &st.t[i];
        put(r, "", t->name, t->ndim, t->shape, t->data, (size_t)lgp_tensor_numel(t));
    }
    lgp_record_free(&st);
}

static int twin_write(const char *dir, const char *mode) {
    lgp_cl_state s;
    char err[512], path[4096];
    int depth = 3;
    lgp_vit_config c = tiny_cfg(depth);
    if (strcmp(mode, "grafted") == 0) {
        if (grafted(&s, depth, "1e-4,2e-4,1e-3", 0, -1) != LGP_OK) return 1;
    } else if (strcmp(mode, "patch") == 0) {
        /* the joint baseline's groups: patch embedding trained, heads at their own rate */
        lgp_cl_opts o;
        lgp_cl_opts_init(&o);
        o.mlp_dim = 32, o.moco_dim = 8;
        lgp_groups_parse(&o.groups, "1e-4,2e-4,1e-3", err, sizeof err);
        o.groups.heads_set = 1, o.groups.heads_blr = 3e-3, o.groups.train_patch = 1;
        lgp_adamw_hparams hp = {0.9f, 0.999f, 1e-8f, 0.1f};
        if (lgp_cl_state_new(&s, &c, &o, 11, &hp, err, sizeof err) != LGP_OK) return fprintf(stderr, "%s\n", err), 1;
    } else {
        lgp_cl_opts o;
        lgp_cl_opts_init(&o);
        o.mlp_dim = 32, o.moco_dim = 8;
        lgp_groups_parse(&o.groups, "5e-4", err, sizeof err);
        o.groups.freeze_below = 1;
        lgp_adamw_hparams hp = {0.9f, 0.999f, 1e-8f, 0.1f};
        if (lgp_cl_state_new(&s, &c, &o, 9, &hp, err, sizeof err) != LGP_OK) return fprintf(stderr, "%s\n", err), 1;
    }
    set_sched(&s, TW_B);
    s.run.step = 4;
    /* The momentum model lags the online one and BN affine/stats are not defaults,
     * so the EMA and every BN term are visible. */
    float *noise = lgp_floats_alloc(s.m.params.total);
    fill(noise, s.m.params.total, 77, 0.02);
    for (size_t i = 0; i < s.enc_end; i++) s.mom.params.data[i] += noise[i];
    for (size_t i = 0; i < s.proj.nparams; i++) s.mom.params.data[s.proj.param_base + i] += noise[s.proj.param_base + i];
    for (size_t i = s.proj.param_base; i < s.m.params.total; i++) s.m.params.data[i] += 5 * noise[i];
    for (size_t i = 0; i < s.nstats; i++) s.stats[i] += 0.1f * fabsf(noise[i]) * 5, s.mstats[i] += 0.1f * fabsf(noise[i + 3]) * 5;
    free(noise);
    lgp_record in;
    lgp_record_init(&in);
    put_state(&in, &s);
    size_t n = (size_t)TW_B * 3 * 8 * 8;
    float *x = malloc(2 * n * sizeof(float));
    fill(x, 2 * n, 31, 1.5);
    int64_t xs[4] = {TW_B, 3, 8, 8};
    put(&in, "", "x1", 4, xs, x, n);
    put(&in, "", "x2", 4, xs, x + n, n);
    double m = lgp_cl_momentum_at(&s), lr = lgp_lr_schedule(s.run.step, s.run.sched.total_steps, s.run.sched.warmup_steps, s.run.sched.lr, 0);
    char cj[512], *meta = malloc(1 << 16);
    lgp_vit_config_json(&c, cj, sizeof cj);
    int k = snprintf(meta, 1 << 16, "{\"config\":%s,\"m\":%.17g,\"lr\":%.17g,\"tau\":%.17g,\"weight_decay\":0.1,"
                     "\"mlp_dim\":%d,\"moco_dim\":%d,\"lr_scale\":{", cj, m, (double)(float)lr, s.co.tau, s.co.mlp_dim, s.co.moco_dim);
    for (size_t i = 0; i < s.m.params.count; i++) {
        const lgp_param *e = &s.m.params.entries[i];
        if (!(e->flags & LGP_PARAM_FROZEN)) k += snprintf(meta + k, (1 << 16) - k, "%s\"%s\":%.9g", meta[k - 1] == '{' ? "" : ",", e->name, (double)e->lr_scale);
    }
    snprintf(meta + k, (1 << 16) - k, "}}");
    snprintf(path, sizeof path, "%s/in.safetensors", dir);
    int rc = lgp_st_save(path, &in, meta, err, sizeof err);
    /* the C step */
    lgp_cl_engine e;
    LGP_ASSERT(lgp_cl_engine_init(&e, &s, TW_B, err, sizeof err) == LGP_OK);
    float *before = lgp_floats_alloc(s.m.params.total);
    memcpy(before, s.m.params.data, 4 * s.m.params.total);
    double loss = lgp_cl_engine_step(&e, x, x + n, TW_B, m, NULL, 0, NULL, NULL, NULL);
    lgp_adamw_step(&s.opt, s.m.params.data, s.m.grads, (float)lr);
    lgp_record out;
    lgp_record_init(&out);
    float lf = (float)loss;
    int64_t one = 1;
    put(&out, "", "loss", 1, &one, &lf, 1);
    for (size_t i = 0; i < s.m.params.count; i++) {
        const lgp_param *p = &s.m.params.entries[i];
        if (p->flags & LGP_PARAM_FROZEN) continue;
        put(&out, "grad.", p->name, p->ndim, p->shape, s.m.grads + p->offset, p->numel);
        for (size_t j = 0; j < p->numel; j++) before[p->offset + j] = s.m.params.data[p->offset + j] - before[p->offset + j];
        put(&out, "update.", p->name, p->ndim, p->shape, before + p->offset, p->numel);
    }
    lgp_record st;
    LGP_ASSERT(lgp_cl_state_record(&s, &st, 0) == LGP_OK);
    for (size_t i = 0; i < st.n; i++) {
        const lgp_tensor *t = &st.t[i];
        if (strncmp(t->name, "momentum.", 9) == 0 || strstr(t->name, "running_"))
            put(&out, "", t->name, t->ndim, t->shape, t->data, (size_t)lgp_tensor_numel(t));
    }
    lgp_record_free(&st);
    snprintf(path, sizeof path, "%s/c.safetensors", dir);
    if (rc == LGP_OK) rc = lgp_st_save(path, &out, NULL, err, sizeof err);
    if (rc != LGP_OK) fprintf(stderr, "test_clstate: %s\n", err);
    printf("twin %s: C loss %.7f\n", mode, loss);
    lgp_record_free(&in);
    lgp_record_free(&out);
    lgp_cl_engine_free(&e);
    free(x), free(meta), free(before);
    lgp_cl_state_free(&s);
    return rc == LGP_OK ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--twin-write") == 0) return twin_write(argv[2], argv[3]);
    test_groups();
    test_graft_exact();
    test_frozen();
    test_effective_lr();
    test_roundtrip();
    test_heads_patch();
    return done_testing();
}
