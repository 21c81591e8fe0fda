/* clstate.c — stage-2 state, save/resume and the MoCo v3 step (see clstate.h); the graft
 * of stage-1 weights is graft.c's. */
#include "common/train/clstate.h"

#include "formats/checkpoint.h"
#include "common/train/graft.h"
#include "common/util/dist.h"
#include "common/lgp.h"
#include "common/model/modelcfg.h"
#include "common/model/modelload.h"
#include "common/model/named.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEAD_TENSORS (3 * LGP_MLP_MAX_LAYERS * 5)

void lgp_cl_opts_init(lgp_cl_opts *o) {
    memset(o, 0, sizeof *o);
    o->reinit_above = -1;
}

/* Recipe heads at ViT-B scale (4096/256); smaller encoders get 1024/128. */
static void default_dims(lgp_cl_opts *co, int width) {
    if (co->mlp_dim <= 0) co->mlp_dim = width >= 384 ? 4096 : 1024;
    if (co->moco_dim <= 0) co->moco_dim = width >= 384 ? 256 : 128;
    if (co->tau <= 0) co->tau = 0.2;
    if (co->m0 <= 0) co->m0 = 0.99;
    if (co->groups.n == 0) co->groups.n = 1, co->groups.blr[0] = 1.5e-4;
}

/* Appends the head tensors (not the BN statistics) to m's table and grows its buffers. */
static int extend_table(lgp_vit_model *m, const lgp_mlp *proj, const lgp_mlp *pred, char *err, size_t errlen) {
    lgp_head_tensor ht[2 * MAX_HEAD_TENSORS];
    lgp_param extra[2 * MAX_HEAD_TENSORS];
    size_t nh = lgp_mlp_table(proj, ht, MAX_HEAD_TENSORS), n = 0;
    nh += lgp_mlp_table(pred, ht + nh, MAX_HEAD_TENSORS);
    for (size_t k = 0; k < nh; k++) {
        if (ht[k].flags & LGP_HT_STAT) continue;
        lgp_param *e = &extra[n++];
        memset(e, 0, sizeof *e);
        memcpy(e->name, ht[k].name, sizeof e->name); /* both 64 bytes */
        e->name[sizeof e->name - 1] = 0;
        e->ndim = ht[k].ndim;
        for (int d = 0; d < e->ndim; d++) e->shape[d] = ht[k].shape[d];
        e->offset = ht[k].offset;
        e->numel = ht[k].numel;
        e->flags = (ht[k].flags & LGP_HT_NO_WD) ? LGP_PARAM_NO_WD : 0;
        e->lr_scale = 1.0f;
        e->block = m->cfg.depth;
    }
    return lgp_vit_model_extend(m, extra, n, pred->param_base + pred->nparams, err, errlen);
}

/* Builds both models, the heads' layout, the stats buffers, the groups and AdamW. */
static int alloc_state(lgp_cl_state *s, const lgp_vit_config *cfg, int with_dec, uint64_t seed,
                       const lgp_adamw_hparams *hp, char *err, size_t errlen) {
    char e2[512];
    int rc = lgp_groups_check(&s->co.groups, cfg->depth, err, errlen);
    if (rc != LGP_OK) return rc; /* LGP_USAGE: the groups do not fit this model */
    unsigned fl = with_dec ? LGP_VIT_WITH_DECODER : 0;
    if (lgp_vit_model_init(&s->m, cfg, fl | LGP_VIT_WITH_GRADS, seed, err, errlen) != LGP_OK ||
        lgp_vit_model_init(&s->mom, cfg, fl, seed, err, errlen) != LGP_OK)
        return LGP_FATAL;
    s->nvit = s->m.params.count;
    const lgp_param *nb = lgp_params_find(&s->m.params, "norm.bias");
    s->enc_end = nb->offset + nb->numel;
    size_t base = s->m.params.total;
    lgp_mlp_init_projector(&s->proj, cfg->width, s->co.mlp_dim, s->co.moco_dim, base, 0);
    lgp_mlp_init_predictor(&s->pred, s->co.moco_dim, s->co.mlp_dim, base + s->proj.nparams, s->proj.nstats);
    s->nstats = s->proj.nstats + s->pred.nstats;
    if (extend_table(&s->m, &s->proj, &s->pred, err, errlen) != LGP_OK ||
        extend_table(&s->mom, &s->proj, &s->pred, err, errlen) != LGP_OK)
        return LGP_FATAL;
    s->stats = lgp_floats_alloc(s->nstats);
    s->mstats = lgp_floats_alloc(s->nstats);
    if (!s->stats || !s->mstats) return snprintf(err, errlen, "out of memory"), LGP_FATAL;
    lgp_mlp_init_params(&s->proj, s->m.params.data, s->stats, seed);
    lgp_mlp_init_params(&s->pred, s->m.params.data, s->stats, seed);
    lgp_groups_apply(&s->co.groups, &s->m.params, cfg->depth);
    if (lgp_adamw_init(&s->opt, &s->m.params, hp, e2, sizeof e2) != LGP_OK)
        return snprintf(err, errlen, "%s", e2), LGP_FATAL;
    lgp_modelcfg_default_norm(cfg->in_chans, s->run.mean, s->run.std);
    s->run.seed = seed;
    return LGP_OK;
}

void lgp_cl_state_sync_momentum(lgp_cl_state *s) {
    memcpy(s->mom.params.data, s->m.params.data, sizeof(float) * s->m.params.total);
    memcpy(s->mstats, s->stats, sizeof(float) * s->nstats);
}

int lgp_cl_state_new(lgp_cl_state *s, const lgp_vit_config *cfg, const lgp_cl_opts *o, uint64_t seed,
                     const lgp_adamw_hparams *hp, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->co = *o;
    default_dims(&s->co, cfg->width);
    int rc = alloc_state(s, cfg, o->mim_weight > 0 || o->keep_decoder, seed, hp, err, errlen);
    if (rc != LGP_OK) return rc;
    lgp_groups_moco_init(&s->m, seed);
    lgp_cl_state_sync_momentum(s);
    snprintf(s->run.init, sizeof s->run.init, "random MoCo v3 init (seed %llu)", (unsigned long long)seed);
    return LGP_OK;
}

void lgp_cl_state_free(lgp_cl_state *s) {
    lgp_adamw_free(&s->opt);
    lgp_vit_model_free(&s->m);
    lgp_vit_model_free(&s->mom);
    free(s->stats);
    free(s->mstats);
    lgp_run_free(&s->run);
    lgp_json_free(s->graft);
    memset(s, 0, sizeof *s);
}

/* BN running statistics of one head, viewed in buf (a stats buffer). */
static void add_stats(lgp_named_list *l, const char *prefix, const lgp_mlp *h, float *buf) {
    lgp_head_tensor ht[MAX_HEAD_TENSORS];
    size_t n = lgp_mlp_table(h, ht, MAX_HEAD_TENSORS);
    for (size_t k = 0; k < n; k++)
        if (ht[k].flags & LGP_HT_STAT) lgp_named_add(l, prefix, ht[k].name, ht[k].ndim, ht[k].shape, buf + ht[k].offset);
}

static int is_momentum_param(const lgp_param *e) {
    return !(e->flags & LGP_PARAM_DECODER) && strncmp(e->name, "predictor.", 10) != 0;
}

/* Every named tensor of a stage-2 checkpoint, in a fixed order. */
static void state_names(const lgp_cl_state *s, lgp_named_list *l, int with_optim) {
    lgp_named_init(l);
    lgp_named_add_params(l, NULL, &s->m.params, s->m.params.data, 0);
    add_stats(l, NULL, &s->proj, s->stats);
    add_stats(l, NULL, &s->pred, s->stats);
    for (size_t i = 0; i < s->mom.params.count; i++) {
        const lgp_param *e = &s->mom.params.entries[i];
        if (is_momentum_param(e)) lgp_named_add(l, "momentum.", e->name, e->ndim, e->shape, s->mom.params.data + e->offset);
    }
    add_stats(l, "momentum.", &s->proj, s->mstats);
    if (!with_optim) return;
    lgp_named_add_params(l, "optim.m.", &s->m.params, s->opt.m, LGP_PARAM_FROZEN);
    lgp_named_add_params(l, "optim.v.", &s->m.params, s->opt.v, LGP_PARAM_FROZEN);
}

uint64_t lgp_cl_encoder_hash(const lgp_cl_state *s, int momentum) {
    const lgp_vit_model *m = momentum ? &s->mom : &s->m;
    lgp_named_list l;
    lgp_named_init(&l);
    for (size_t i = 0; i < s->nvit; i++) {
        const lgp_param *e = &m->params.entries[i];
        if (!(e->flags & LGP_PARAM_DECODER)) lgp_named_add(&l, NULL, e->name, e->ndim, e->shape, m->params.data + e->offset);
    }
    uint64_t h = lgp_named_hash(&l);
    lgp_named_free(&l);
    return h;
}

double lgp_cl_momentum_at(const lgp_cl_state *s) {
    return lgp_moco_momentum((double)s->run.step, (double)s->run.sched.total_steps, s->co.m0);
}

int lgp_cl_state_record(const lgp_cl_state *s, lgp_record *rec, int with_optim) {
    lgp_named_list l;
    state_names(s, &l, with_optim);
    lgp_record_init(rec);
    int rc = lgp_named_put(rec, &l);
    lgp_named_free(&l);
    return rc;
}

static void meta_moco(lgp_json *m, const lgp_cl_state *s) {
    lgp_json *h = lgp_json_new_obj(), *mo = lgp_json_new_obj();
    lgp_json_set_num(h, "mlp_dim", s->co.mlp_dim);
    lgp_json_set_num(h, "moco_dim", s->co.moco_dim);
    lgp_json_set(m, "heads", h);
    lgp_json_set_num(mo, "tau", s->co.tau);
    lgp_json_set_num(mo, "m0", s->co.m0);
    lgp_json_set_str(mo, "momentum_schedule", "m(step) = 1 - 0.5*(1 + cos(pi*step/total_steps))*(1 - m0), per step");
    lgp_json_set_num(mo, "mim_weight", s->co.mim_weight);
    lgp_json_set(mo, "decoder", lgp_json_new_bool(s->m.with_decoder));
    lgp_json_set(m, "moco", mo);
    lgp_json_set(m, "lr_groups", lgp_groups_json(&s->co.groups, &s->m.params, s->m.cfg.depth,
                                            s->run.sched.batch * (s->run.sched.world > 0 ? s->run.sched.world : 1)));
}

char *lgp_cl_state_meta(const lgp_cl_state *s, int complete) {
    lgp_json *m = lgp_run_meta(&s->run, "cl", &s->m.cfg, &s->opt, complete);
    meta_moco(m, s);
    lgp_json_set_str((lgp_json *)lgp_json_get(m, "schedule"), "lr_rule", /* ours to change */
                     "peak = batch/256; each group multiplies it by its lr_groups.layer_wise value");
    if (s->graft) lgp_json_set(m, "graft", lgp_json_clone(s->graft));
    char *t = lgp_json_dump(m);
    lgp_json_free(m);
    return t;
}

/* Heads, moco settings and groups of a stage-2 checkpoint's metadata into co (fields
 * the command line already set win). Head sizes fall back to the tensors' shapes. */
static int meta_to_opts(lgp_cl_opts *co, const lgp_json *m, const lgp_record *rec, const lgp_cl_opts *o,
                        char *err, size_t errlen) {
    const lgp_json *h = lgp_json_get(m, "heads"), *mo = lgp_json_get(m, "moco"), *g = lgp_json_get(m, "lr_groups");
    const lgp_tensor *w0 = lgp_record_get(rec, "head.0.weight"), *w6 = lgp_record_get(rec, "head.6.weight");
    co->mlp_dim = (int)lgp_json_get_num(h, "mlp_dim", w0 && w0->ndim == 2 ? (double)w0->shape[0] : 0);
    co->moco_dim = (int)lgp_json_get_num(h, "moco_dim", w6 && w6->ndim == 2 ? (double)w6->shape[0] : 0);
    if ((o->mlp_dim && o->mlp_dim != co->mlp_dim) || (o->moco_dim && o->moco_dim != co->moco_dim))
        return snprintf(err, errlen, "the checkpoint's heads are %d/%d; --mlp-dim/--moco-dim cannot change them",
                        co->mlp_dim, co->moco_dim), LGP_USAGE;
    co->tau = o->tau > 0 ? o->tau : lgp_json_get_num(mo, "tau", 0.2);
    co->m0 = o->m0 > 0 ? o->m0 : lgp_json_get_num(mo, "m0", 0.99);
    if (o->groups.n) co->groups = o->groups;
    else if (g && lgp_groups_from_json(&co->groups, g, err, errlen) != LGP_OK) return LGP_FATAL;
    if (o->freeze_set) co->groups.freeze_below = o->groups.freeze_below;
    if (o->groups.heads_set) co->groups.heads_set = 1, co->groups.heads_blr = o->groups.heads_blr;
    if (o->groups.train_patch) co->groups.train_patch = 1;
    return LGP_OK;
}

/* A stage-2 checkpoint's tensors: everything but the optimizer moments. */
static int load_stage2(lgp_cl_state *s, const lgp_record *rec, const lgp_json *meta, const char *src, char *err,
                       size_t errlen) {
    static const char *const ignore[] = {"optim.", NULL};
    lgp_named_list l;
    state_names(s, &l, 0);
    lgp_load_rules r = {NULL, ignore, NULL, 0, 0};
    int rc = lgp_named_load(&l, rec, &r, NULL, NULL, err, errlen);
    lgp_named_free(&l);
    const lgp_json *g = lgp_json_get(meta, "graft");
    if (g) s->graft = lgp_json_clone(g);
    snprintf(s->run.init, sizeof s->run.init, "%s", src);
    return rc;
}

int lgp_cl_state_prepare(lgp_cl_state *s, const lgp_record *rec, const lgp_json *meta, int is_cl,
                         const lgp_vit_config *cfg_fallback, const lgp_cl_opts *o, uint64_t seed,
                         const lgp_adamw_hparams *hp, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    int has_dec = lgp_record_get(rec, "decoder_embed.weight") != NULL;
    lgp_vit_config cfg;
    int rc = LGP_OK;
    s->co = *o;
    const lgp_json *mc = lgp_json_get(meta, "model");
    if (cfg_fallback) cfg = *cfg_fallback;
    if (!mc && !cfg_fallback) rc = (snprintf(err, errlen, "no model config in the file; name one with --model"), LGP_FATAL);
    if (rc == LGP_OK && mc) rc = lgp_modelcfg_from_json(&cfg, mc, err, errlen);
    if (rc == LGP_OK && is_cl) rc = meta_to_opts(&s->co, meta, rec, o, err, errlen);
    int with_dec = is_cl ? has_dec : (o->mim_weight > 0 || o->keep_decoder);
    if (rc == LGP_OK && (o->mim_weight > 0 || o->keep_decoder) && !has_dec)
        rc = (snprintf(err, errlen, "--mim-weight/--keep-decoder need the MAE decoder, which the checkpoint lacks%s",
                       is_cl ? " (graft with --keep-decoder)" : ""), LGP_FATAL);
    if (rc == LGP_OK) {
        default_dims(&s->co, cfg.width);
        rc = alloc_state(s, &cfg, with_dec, seed, hp, err, errlen);
    }
    return rc;
}

void lgp_cl_state_take_meta(lgp_cl_state *s, const lgp_json *meta) {
    lgp_model_norm(meta, s->m.cfg.in_chans, s->run.mean, s->run.std);
    const lgp_json *cl = lgp_meta_classes(meta);
    if (cl && !s->run.classes) s->run.classes = lgp_json_clone(cl);
}

int lgp_cl_state_load(lgp_cl_state *s, const lgp_record *rec, const char *meta_text, const char *src,
                      const lgp_cl_opts *o, uint64_t seed, const lgp_adamw_hparams *hp, char *err, size_t errlen) {
    char e2[900];
    lgp_json *meta = lgp_json_parse(meta_text, strlen(meta_text), NULL, 0);
    if (!meta) meta = lgp_json_new_obj();
    int rc = lgp_cl_state_prepare(s, rec, meta, 1, NULL, o, seed, hp, e2, sizeof e2);
    if (rc == LGP_OK) rc = load_stage2(s, rec, meta, src, e2, sizeof e2);
    if (rc == LGP_OK) lgp_cl_state_take_meta(s, meta);
    if (rc != LGP_OK) snprintf(err, errlen, "%s: %s", src, e2);
    lgp_json_free(meta);
    return rc;
}

int lgp_cl_state_open_any(lgp_cl_state *s, const lgp_record *rec, const char *meta_text, const char *src,
                          const lgp_cl_opts *o, uint64_t seed, unsigned *have, char *err, size_t errlen) {
    /* a fine-tuned model's classifier (head.weight/bias, not head.N.*) serves neither loss */
    static const char *const ignore[] = {"optim.", "head.weight", "head.bias", NULL};
    static const char *const missing_ok[] = {"decoder_", "mask_token", "head.", "predictor.", "momentum.", NULL};
    static const lgp_adamw_hparams hp = {0.9f, 0.999f, 1e-8f, 0.1f};
    char e2[900];
    memset(s, 0, sizeof *s);
    *have = (lgp_record_get(rec, "decoder_embed.weight") ? LGP_CL_HAVE_DECODER : 0) |
            (lgp_record_get(rec, "head.0.weight") ? LGP_CL_HAVE_HEADS : 0) |
            (lgp_record_get(rec, "momentum.cls_token") ? LGP_CL_HAVE_MOMENTUM : 0);
    lgp_json *meta = lgp_json_parse(meta_text, strlen(meta_text), NULL, 0);
    if (!meta) meta = lgp_json_new_obj();
    lgp_vit_config cfg;
    const lgp_json *mc = lgp_json_get(meta, "model");
    int rc = mc ? lgp_modelcfg_from_json(&cfg, mc, e2, sizeof e2) : (snprintf(e2, sizeof e2, "no model config in the file"), LGP_FATAL);
    s->co = *o;
    if (rc == LGP_OK && (*have & LGP_CL_HAVE_HEADS)) rc = meta_to_opts(&s->co, meta, rec, o, e2, sizeof e2);
    if (rc == LGP_OK) {
        default_dims(&s->co, cfg.width);
        s->co.groups.n = 1, s->co.groups.freeze_below = 0, s->co.groups.train_patch = 1;
        rc = alloc_state(s, &cfg, 1, seed, &hp, e2, sizeof e2);
    }
    if (rc == LGP_OK) {
        lgp_groups_moco_init(&s->m, seed);
        lgp_cl_state_sync_momentum(s);
        lgp_named_list l;
        state_names(s, &l, 0);
        lgp_load_rules r = {NULL, ignore, missing_ok, 0, 0};
        rc = lgp_named_load(&l, rec, &r, NULL, NULL, e2, sizeof e2);
        lgp_named_free(&l);
        /* no momentum model in the file: the online one, as at the start of a run */
        if (rc == LGP_OK && !(*have & LGP_CL_HAVE_MOMENTUM)) lgp_cl_state_sync_momentum(s);
    }
    if (rc == LGP_OK) {
        lgp_cl_state_take_meta(s, meta);
        snprintf(s->run.init, sizeof s->run.init, "%s", src);
    } else
        snprintf(err, errlen, "%s: %s", src, e2);
    lgp_json_free(meta);
    return rc == LGP_OK ? LGP_OK : LGP_FATAL;
}

int lgp_cl_state_start(lgp_cl_state *s, const lgp_record *rec, const char *meta_text, const char *src,
                       const lgp_vit_config *cfg_fallback, const lgp_cl_opts *o, uint64_t seed,
                       const lgp_adamw_hparams *hp, char *err, size_t errlen) {
    /* The heads are what a stage-2 checkpoint has and a stage-1 one lacks. */
    if (lgp_record_get(rec, "head.0.weight")) return lgp_cl_state_load(s, rec, meta_text, src, o, seed, hp, err, errlen);
    return lgp_graft(s, rec, meta_text, src, cfg_fallback, o, seed, hp, err, errlen);
}

int lgp_cl_state_resume(lgp_cl_state *s, const char *path, char *err, size_t errlen) {
    lgp_record rec;
    lgp_record_init(&rec);
    char *mt = NULL, e2[900];
    memset(s, 0, sizeof *s);
    err[0] = 0;
    if (lgp_ckpt_load(path, &rec, &mt, err, errlen) != LGP_OK) {
        lgp_record_free(&rec);
        return LGP_FATAL;
    }
    lgp_json *m = lgp_json_parse(mt, strlen(mt), NULL, 0);
    lgp_cl_opts o;
    lgp_cl_opts_init(&o);
    lgp_adamw_hparams hp = {0.9f, 0.999f, 1e-8f, 0.1f};
    int rc = lgp_record_get(&rec, "head.0.weight") && m ? LGP_OK : LGP_FATAL;
    if (rc == LGP_OK) {
        o.mim_weight = lgp_json_get_num(lgp_json_get(m, "moco"), "mim_weight", 0);
        /* The run's metadata is read once; the optimizer needs its hyper-parameters
         * before the start allocates it. */
        lgp_run run;
        memset(&run, 0, sizeof run);
        int64_t t = 0;
        lgp_vit_config cfg;
        memset(&cfg, 0, sizeof cfg);
        lgp_modelcfg_from_json(&cfg, lgp_json_get(m, "model"), e2, sizeof e2);
        rc = lgp_run_meta_read(&run, m, "cl", cfg.in_chans > 0 ? cfg.in_chans : 1, &hp, &t);
        if (rc == LGP_OK && run.sched.batch < 2) rc = LGP_FATAL;
        if (rc == LGP_OK) rc = lgp_cl_state_load(s, &rec, mt, path, &o, run.seed, &hp, err, errlen);
        if (rc == LGP_OK) {
            lgp_run_free(&s->run);
            s->run = run;
            s->opt.t = t;
            lgp_named_list l;
            state_names(s, &l, 1);
            rc = lgp_named_load(&l, &rec, NULL, NULL, NULL, e2, sizeof e2);
            lgp_named_free(&l);
            if (rc != LGP_OK) snprintf(err, errlen, "%s: %s", path, e2);
        } else
            lgp_run_free(&run);
    } else
        snprintf(err, errlen, "%s: not a resumable lgp-cl-train checkpoint (no heads or metadata)", path);
    if (rc == LGP_FATAL && !err[0]) snprintf(err, errlen, "%s: not a resumable lgp-cl-train checkpoint (metadata incomplete)", path);
    free(mt);
    lgp_json_free(m);
    lgp_record_free(&rec);
    return rc;
}

/* ---- the step ---- */

int lgp_cl_engine_init(lgp_cl_engine *e, lgp_cl_state *s, int maxB, char *err, size_t errlen) {
    memset(e, 0, sizeof *e);
    e->s = s;
    e->maxB = maxB;
    e->world = lgp_dist_size();
    e->rank = lgp_dist_rank();
    e->sync.allreduce = lgp_dist_bn_allreduce;
    e->bn = e->world > 1 ? &e->sync : NULL;
    size_t E = (size_t)s->co.moco_dim, C = (size_t)s->m.cfg.width, B = (size_t)maxB, W = (size_t)e->world;
    /* The patch embedding's gradient only when it trains (else stop-grad-conv1). */
    if (lgp_encoder_init(&e->enc, &s->m, maxB, s->co.groups.train_patch, err, errlen) != LGP_OK ||
        lgp_mlp_acts_init(&e->pa, &s->proj, maxB, err, errlen) != LGP_OK ||
        lgp_mlp_acts_init(&e->qa, &s->pred, maxB, err, errlen) != LGP_OK ||
        lgp_moco_ctr_init(&e->ctr, maxB, maxB * e->world, (int)E, err, errlen) != LGP_OK)
        return LGP_FATAL;
    size_t ng = W > 1 ? 2 * W * B * E : 0;
    e->buf = lgp_floats_alloc(5 * B * E + B * C + ng + 64);
    if (!e->buf) return snprintf(err, errlen, "out of memory"), LGP_FATAL;
    e->k[0] = e->buf;
    e->k[1] = e->k[0] + B * E;
    e->q0 = e->k[1] + B * E;
    e->dq = e->q0 + B * E;
    e->dz = e->dq + B * E;
    e->dfeat = e->dz + B * E;
    e->kg[0] = W > 1 ? e->dfeat + B * C : e->k[0];
    e->kg[1] = W > 1 ? e->kg[0] + W * B * E : e->k[1];
    if (s->co.mim_weight > 0) {
        if (!s->m.with_decoder) return snprintf(err, errlen, "--mim-weight needs the MAE decoder"), LGP_FATAL;
        if (lgp_mae_init(&e->mae, &s->m, maxB, err, errlen) != LGP_OK) return LGP_FATAL;
        e->with_mae = 1;
    }
    return LGP_OK;
}

void lgp_cl_engine_free(lgp_cl_engine *e) {
    lgp_encoder_free(&e->enc);
    lgp_mlp_acts_free(&e->pa);
    lgp_mlp_acts_free(&e->qa);
    lgp_moco_ctr_free(&e->ctr);
    if (e->with_mae) lgp_mae_free(&e->mae);
    free(e->buf);
    memset(e, 0, sizeof *e);
}

/* k[B,E] = proj_m(enc_m(x)) with the momentum model; its BN running stats move. */
static void momentum_keys(lgp_cl_engine *e, const float *x, int B, float *k) {
    lgp_cl_state *s = e->s;
    e->enc.m = &s->mom; /* the arena is shared: the momentum branch keeps nothing for backward */
    const float *feat = lgp_encoder_forward(&e->enc, x, B);
    const float *z = lgp_mlp_forward(&s->proj, &e->pa, feat, B, s->mom.params.data, s->mstats, e->bn);
    memcpy(k, z, sizeof(float) * (size_t)B * s->co.moco_dim);
    e->enc.m = &s->m;
}

/* Online branch of one view against the keys of the other: forward, loss, backward. */
static double online_view(lgp_cl_engine *e, const float *x, int B, const float *keys, float *q_keep) {
    lgp_cl_state *s = e->s;
    const float *P = s->m.params.data;
    float *G = s->m.grads;
    size_t BE = (size_t)B * s->co.moco_dim;
    const float *feat = lgp_encoder_forward(&e->enc, x, B);
    const float *z = lgp_mlp_forward(&s->proj, &e->pa, feat, B, P, s->stats, e->bn);
    const float *q = lgp_mlp_forward(&s->pred, &e->qa, z, B, P, s->stats, e->bn);
    if (q_keep) memcpy(q_keep, q, sizeof(float) * BE);
    /* keys [world*B, E] of every rank: the positive of local row i is row rank*B + i */
    double loss = lgp_moco_ctr_forward(&e->ctr, q, B, keys, B * e->world, (int64_t)e->rank * B, (float)s->co.tau);
    memset(e->dq, 0, sizeof(float) * BE);
    lgp_moco_ctr_backward(&e->ctr, e->dq, 1.0f);
    memset(e->dz, 0, sizeof(float) * BE);
    lgp_mlp_backward(&s->pred, &e->qa, e->dz, G, e->dq, z, P, e->bn);
    memset(e->dfeat, 0, sizeof(float) * (size_t)B * s->m.cfg.width);
    lgp_mlp_backward(&s->proj, &e->pa, e->dfeat, G, e->dz, feat, P, e->bn);
    lgp_encoder_backward(&e->enc, e->dfeat);
    return loss;
}

double lgp_cl_engine_step(lgp_cl_engine *e, const float *x0, const float *x1, int B, double m,
                          const uint64_t *ids, uint64_t epoch, double *collapse, double *ctr_loss,
                          double *mim_loss) {
    lgp_cl_state *s = e->s;
    LGP_ASSERT(B >= 2 && B <= e->maxB);
    float *P = s->m.params.data, *M = s->mom.params.data;
    /* 1. θm ← m θm + (1 − m) θ over the encoder and the projector (not BN buffers). */
    lgp_moco_ema(M, P, s->enc_end, m);
    lgp_moco_ema(M + s->proj.param_base, P + s->proj.param_base, s->proj.nparams, m);
    /* 2. keys, no gradient. */
    momentum_keys(e, x0, B, e->k[0]);
    momentum_keys(e, x1, B, e->k[1]);
    if (e->world > 1) { /* concat_all_gather of MoCo v3: every rank's keys, rank order */
        size_t BE = (size_t)B * s->co.moco_dim;
        lgp_dist_allgather_f(e->k[0], BE, e->kg[0]);
        lgp_dist_allgather_f(e->k[1], BE, e->kg[1]);
    }
    /* 3. q1 against k2, q2 against k1; gradients accumulate over both. The last pass
     * through a block (view 1, or the MAE term) starts its all-reduce. */
    lgp_vit_zero_grad(&s->m);
    double lc = online_view(e, x0, B, e->kg[1], e->q0);
    if (e->grads && !e->with_mae) lgp_gradsync_arm(e->grads, &e->enc.s);
    lc += online_view(e, x1, B, e->kg[0], NULL);
    lgp_gradsync_disarm(&e->enc.s);
    double lm = 0;
    if (e->with_mae) {
        if (e->grads) {
            lgp_gradsync_arm(e->grads, &e->mae.enc);
            lgp_gradsync_arm(e->grads, &e->mae.dec);
        }
        if (e->grad_ctr) { /* the two objectives' gradients apart, on the same weights */
            LGP_ASSERT(!e->grads);
            memcpy(e->grad_ctr, s->m.grads, sizeof(float) * s->m.params.total);
            lgp_vit_zero_grad(&s->m);
        }
        float l = 0;
        char err[256];
        e->mae.loss_scale = (float)s->co.mim_weight;
        if (lgp_mae_forward_backward(&e->mae, x0, B, NULL, s->run.seed, epoch, ids, &l, err, sizeof err) != LGP_OK) l = NAN;
        lgp_gradsync_disarm(&e->mae.enc);
        lgp_gradsync_disarm(&e->mae.dec);
        lm = l;
    }
    if (collapse) *collapse = lgp_moco_collapse_std(e->q0, B, s->co.moco_dim);
    if (ctr_loss) *ctr_loss = lc;
    if (mim_loss) *mim_loss = lm;
    return lc + s->co.mim_weight * lm;
}
