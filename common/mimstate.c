/* mimstate.c — see mimstate.h. */
#include "mimstate.h"

#include "../formats/checkpoint.h"
#include "lgp.h"
#include "modelcfg.h"
#include "modelload.h"
#include "paramio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The named views of a checkpoint: params, then AdamW moments of trainable tensors. */
static void state_names(const lgp_mim_state *s, lgp_named_list *l) {
    lgp_named_init(l);
    lgp_named_add_params(l, NULL, &s->m.params, s->m.params.data, 0);
    lgp_named_add_params(l, "optim.m.", &s->m.params, s->opt.m, LGP_PARAM_FROZEN);
    lgp_named_add_params(l, "optim.v.", &s->m.params, s->opt.v, LGP_PARAM_FROZEN);
}

int lgp_mim_state_new(lgp_mim_state *s, const lgp_vit_config *cfg, uint64_t seed,
                      const lgp_adamw_hparams *hp, const char *init_path, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->seed = seed;
    lgp_modelcfg_default_norm(cfg->in_chans, s->mean, s->std);
    if (lgp_vit_model_init(&s->m, cfg, LGP_VIT_WITH_DECODER | LGP_VIT_WITH_GRADS, seed, err, errlen) != LGP_OK)
        return LGP_FATAL;
    if (lgp_adamw_init(&s->opt, &s->m.params, hp, err, errlen) != LGP_OK) return LGP_FATAL;
    snprintf(s->init, sizeof s->init, "random (seed %llu)", (unsigned long long)seed);
    if (!init_path) return LGP_OK;
    lgp_record rec;
    lgp_record_init(&rec);
    char *meta = NULL, e2[600];
    int rc = lgp_ckpt_load(init_path, &rec, &meta, err, errlen);
    if (rc == LGP_OK) rc = lgp_ckpt_check_complete(meta, init_path, err, errlen);
    if (rc == LGP_OK) {
        static const char *const strip[] = {"module.", "base_encoder.", "model.", NULL};
        static const char *const ignore[] = {"optim.", "momentum.", "momentum_encoder.", "head.", "predictor.", NULL};
        static const char *const opt_missing[] = {"decoder_", "mask_token", NULL};
        lgp_named_list l;
        lgp_named_init(&l);
        lgp_named_add_params(&l, NULL, &s->m.params, s->m.params.data, 0);
        lgp_load_rules r = {strip, ignore, opt_missing, 0, 0};
        rc = lgp_named_load(&l, &rec, &r, NULL, NULL, e2, sizeof e2);
        lgp_named_free(&l);
        if (rc != LGP_OK) snprintf(err, errlen, "%s: %s", init_path, e2);
    }
    if (rc == LGP_OK) snprintf(s->init, sizeof s->init, "%s", init_path);
    free(meta);
    lgp_record_free(&rec);
    return rc;
}

void lgp_mim_state_free(lgp_mim_state *s) {
    lgp_adamw_free(&s->opt);
    lgp_vit_model_free(&s->m);
    lgp_json_free(s->classes);
    memset(s, 0, sizeof *s);
}

static lgp_json *float_arr(const float *v, int n) {
    lgp_json *a = lgp_json_new_arr();
    for (int i = 0; i < n; i++) lgp_json_push(a, lgp_json_new_num(v[i]));
    return a;
}

char *lgp_mim_state_meta(const lgp_mim_state *s, int complete) {
    char cj[1024];
    lgp_vit_config_json(&s->m.cfg, cj, sizeof cj);
    lgp_json *m = lgp_json_new_obj(), *n = lgp_json_new_obj(), *o = lgp_json_new_obj(), *sc = lgp_json_new_obj();
    lgp_json_set_str(m, "stage", "mim");
    lgp_json_set(m, "model", lgp_json_parse(cj, strlen(cj), NULL, 0));
    lgp_json_set(n, "mean", float_arr(s->mean, s->m.cfg.in_chans));
    lgp_json_set(n, "std", float_arr(s->std, s->m.cfg.in_chans));
    lgp_json_set(m, "norm", n);
    lgp_json_set_u64(m, "seed", s->seed);
    lgp_json_set_i64(m, "step", s->step);
    lgp_json_set_i64(m, "records_consumed", s->consumed);
    lgp_json_set(m, "complete", lgp_json_new_bool(complete));
    lgp_json_set_i64(o, "t", s->opt.t);
    lgp_json_set_num(o, "beta1", s->opt.hp.beta1);
    lgp_json_set_num(o, "beta2", s->opt.hp.beta2);
    lgp_json_set_num(o, "eps", s->opt.hp.eps);
    lgp_json_set_num(o, "weight_decay", s->opt.hp.weight_decay);
    lgp_json_set_num(o, "clip_grad", s->clip);
    lgp_json_set(m, "optim", o);
    lgp_json_set_i64(sc, "total_steps", s->sched.total_steps);
    lgp_json_set_i64(sc, "warmup_steps", s->sched.warmup_steps);
    lgp_json_set_i64(sc, "steps_per_epoch", s->sched.steps_per_epoch);
    lgp_json_set_num(sc, "batch", s->sched.batch);
    lgp_json_set_num(sc, "accum", s->sched.accum);
    lgp_json_set_num(sc, "world", s->sched.world);
    lgp_json_set_num(sc, "lr", s->sched.lr);
    lgp_json_set_num(sc, "blr", s->sched.blr);
    lgp_json_set_num(sc, "min_lr", s->sched.min_lr);
    lgp_json_set(m, "schedule", sc);
    if (s->classes) lgp_json_set(m, "classes", lgp_json_clone(s->classes));
    lgp_json_set_str(m, "init", s->init);
    char *t = lgp_json_dump(m);
    lgp_json_free(m);
    return t;
}

int lgp_mim_state_record(const lgp_mim_state *s, lgp_record *rec) {
    lgp_named_list l;
    state_names(s, &l);
    lgp_record_init(rec);
    int rc = lgp_named_put(rec, &l);
    lgp_named_free(&l);
    return rc;
}

static int read_floats(const lgp_json *a, float *v, int n) {
    if (!a || a->type != LGP_JSON_ARR || (int)a->n != n) return LGP_FATAL;
    for (int i = 0; i < n; i++) v[i] = (float)a->items[i]->num;
    return LGP_OK;
}

/* Schedule, optimizer hyper-parameters and position from __meta__. */
static int restore_meta(lgp_mim_state *s, const lgp_json *m, lgp_adamw_hparams *hp) {
    const lgp_json *o = lgp_json_get(m, "optim"), *sc = lgp_json_get(m, "schedule"), *n = lgp_json_get(m, "norm");
    if (!o || !sc || !n || strcmp(lgp_json_get_str(m, "stage", ""), "mim") != 0) return LGP_FATAL;
    hp->beta1 = (float)lgp_json_get_num(o, "beta1", 0.9);
    hp->beta2 = (float)lgp_json_get_num(o, "beta2", 0.95);
    hp->eps = (float)lgp_json_get_num(o, "eps", 1e-8);
    hp->weight_decay = (float)lgp_json_get_num(o, "weight_decay", 0.05);
    s->clip = lgp_json_get_num(o, "clip_grad", 0);
    s->sched.total_steps = lgp_json_get_i64_def(sc, "total_steps", 0);
    s->sched.warmup_steps = lgp_json_get_i64_def(sc, "warmup_steps", 0);
    s->sched.steps_per_epoch = lgp_json_get_i64_def(sc, "steps_per_epoch", 0);
    s->sched.batch = (int)lgp_json_get_num(sc, "batch", 0);
    s->sched.accum = (int)lgp_json_get_num(sc, "accum", 1);
    s->sched.world = (int)lgp_json_get_num(sc, "world", 1);
    s->sched.lr = lgp_json_get_num(sc, "lr", 0);
    s->sched.blr = lgp_json_get_num(sc, "blr", 0);
    s->sched.min_lr = lgp_json_get_num(sc, "min_lr", 0);
    s->seed = lgp_json_get_u64_def(m, "seed", 0);
    s->step = lgp_json_get_i64_def(m, "step", 0);
    s->consumed = lgp_json_get_i64_def(m, "records_consumed", 0);
    s->opt.t = lgp_json_get_i64_def(o, "t", 0);
    snprintf(s->init, sizeof s->init, "%s", lgp_json_get_str(m, "init", "?"));
    const lgp_json *cl = lgp_json_get(m, "classes");
    if (cl) s->classes = lgp_json_clone(cl);
    if (s->sched.batch < 1 || s->sched.total_steps < 1) return LGP_FATAL;
    return read_floats(lgp_json_get(n, "mean"), s->mean, s->m.cfg.in_chans) ||
           read_floats(lgp_json_get(n, "std"), s->std, s->m.cfg.in_chans);
}

int lgp_mim_state_resume(lgp_mim_state *s, const char *path, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    lgp_record rec;
    lgp_record_init(&rec);
    char *mt = NULL, e2[600];
    if (lgp_ckpt_load(path, &rec, &mt, err, errlen) != LGP_OK) {
        lgp_record_free(&rec);
        return LGP_FATAL;
    }
    lgp_json *m = lgp_json_parse(mt, strlen(mt), NULL, 0);
    free(mt);
    lgp_vit_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int rc = lgp_modelcfg_from_json(&cfg, lgp_json_get(m, "model"), e2, sizeof e2);
    if (rc == LGP_OK) rc = lgp_vit_model_init(&s->m, &cfg, LGP_VIT_WITH_DECODER | LGP_VIT_WITH_GRADS, 0, e2, sizeof e2);
    lgp_adamw_hparams hp = LGP_ADAMW_MAE;
    if (rc == LGP_OK && restore_meta(s, m, &hp) != LGP_OK)
        rc = (snprintf(e2, sizeof e2, "not a resumable lgp-mim-train checkpoint (metadata incomplete)"), LGP_FATAL);
    int64_t t = s->opt.t;
    if (rc == LGP_OK) rc = lgp_adamw_init(&s->opt, &s->m.params, &hp, e2, sizeof e2);
    s->opt.t = t;
    if (rc == LGP_OK) {
        lgp_named_list l;
        state_names(s, &l);
        rc = lgp_named_load(&l, &rec, NULL, NULL, NULL, e2, sizeof e2);
        lgp_named_free(&l);
    }
    if (rc != LGP_OK) snprintf(err, errlen, "%s: %s", path, e2);
    lgp_json_free(m);
    lgp_record_free(&rec);
    return rc;
}
