/* runstate.c — see runstate.h. */
#include "common/train/runstate.h"

#include "common/lgp.h"
#include "common/nn/gemm.h"
#include "common/util/log.h"

#include <string.h>

void lgp_run_free(lgp_run *r) {
    lgp_json_free(r->classes);
    r->classes = NULL;
}

void lgp_run_take_classes(lgp_run *r, const char *stream_meta) {
    if (r->classes) return;
    lgp_json *im = lgp_json_parse(stream_meta, strlen(stream_meta), NULL, 0);
    const lgp_json *cl = lgp_json_get(im, "classes");
    if (cl) r->classes = lgp_json_clone(cl);
    lgp_json_free(im);
}

static lgp_json *float_arr(const float *v, int n) {
    lgp_json *a = lgp_json_new_arr();
    for (int i = 0; i < n; i++) lgp_json_push(a, lgp_json_new_num(v[i]));
    return a;
}

lgp_json *lgp_run_meta(const lgp_run *r, const char *stage, const lgp_vit_config *cfg, const lgp_adamw *opt,
                       int complete) {
    char cj[1024];
    lgp_vit_config_json(cfg, cj, sizeof cj);
    lgp_json *m = lgp_json_new_obj(), *n = lgp_json_new_obj(), *o = lgp_json_new_obj(), *sc = lgp_json_new_obj();
    lgp_json_set_str(m, "stage", stage);
    lgp_json_set(m, "model", lgp_json_parse(cj, strlen(cj), NULL, 0));
    lgp_json_set(n, "mean", float_arr(r->mean, cfg->in_chans));
    lgp_json_set(n, "std", float_arr(r->std, cfg->in_chans));
    lgp_json_set(m, "norm", n);
    lgp_json_set_u64(m, "seed", r->seed);
    lgp_json_set_i64(m, "step", r->step);
    lgp_json_set_i64(m, "records_consumed", r->consumed);
    lgp_json_set(m, "complete", lgp_json_new_bool(complete));
    lgp_json_set_i64(o, "t", opt->t);
    lgp_json_set_num(o, "beta1", opt->hp.beta1);
    lgp_json_set_num(o, "beta2", opt->hp.beta2);
    lgp_json_set_num(o, "eps", opt->hp.eps);
    lgp_json_set_num(o, "weight_decay", opt->hp.weight_decay);
    lgp_json_set_num(o, "clip_grad", r->clip);
    lgp_json_set(m, "optim", o);
    const lgp_schedule *s = &r->sched;
    lgp_json_set_i64(sc, "total_steps", s->total_steps);
    lgp_json_set_i64(sc, "warmup_steps", s->warmup_steps);
    lgp_json_set_i64(sc, "steps_per_epoch", s->steps_per_epoch);
    lgp_json_set_i64(sc, "batch", s->batch);
    lgp_json_set_i64(sc, "accum", s->accum > 0 ? s->accum : 1);
    lgp_json_set_i64(sc, "world", s->world > 0 ? s->world : 1);
    lgp_json_set_num(sc, "lr", s->lr);
    lgp_json_set_num(sc, "blr", s->blr);
    lgp_json_set_num(sc, "min_lr", s->min_lr);
    lgp_json_set(m, "schedule", sc);
    if (r->classes) lgp_json_set(m, "classes", lgp_json_clone(r->classes));
    lgp_json_set_str(m, "init", r->init);
    lgp_json_set_str(m, "gemm", lgp_gemm_describe());
    return m;
}

static int read_floats(const lgp_json *a, float *v, int n) {
    if (!a || a->type != LGP_JSON_ARR || (int)a->n != n) return LGP_FATAL;
    for (int i = 0; i < n; i++) v[i] = (float)a->items[i]->num;
    return LGP_OK;
}

int lgp_run_meta_read(lgp_run *r, const lgp_json *m, const char *stage, int in_chans, lgp_adamw_hparams *hp,
                      int64_t *opt_t) {
    const lgp_json *o = lgp_json_get(m, "optim"), *sc = lgp_json_get(m, "schedule"), *n = lgp_json_get(m, "norm");
    if (!o || !sc || strcmp(lgp_json_get_str(m, "stage", ""), stage) != 0) return LGP_FATAL;
    hp->beta1 = (float)lgp_json_get_num(o, "beta1", hp->beta1);
    hp->beta2 = (float)lgp_json_get_num(o, "beta2", hp->beta2);
    hp->eps = (float)lgp_json_get_num(o, "eps", hp->eps);
    hp->weight_decay = (float)lgp_json_get_num(o, "weight_decay", hp->weight_decay);
    r->clip = lgp_json_get_num(o, "clip_grad", 0);
    *opt_t = lgp_json_get_i64_def(o, "t", 0);
    lgp_schedule *s = &r->sched;
    s->total_steps = lgp_json_get_i64_def(sc, "total_steps", 0);
    s->warmup_steps = lgp_json_get_i64_def(sc, "warmup_steps", 0);
    s->steps_per_epoch = lgp_json_get_i64_def(sc, "steps_per_epoch", 0);
    s->batch = (int)lgp_json_get_i64_def(sc, "batch", 0);
    s->accum = (int)lgp_json_get_i64_def(sc, "accum", 1);
    s->world = (int)lgp_json_get_i64_def(sc, "world", 1);
    s->lr = lgp_json_get_num(sc, "lr", 0);
    s->blr = lgp_json_get_num(sc, "blr", 0);
    s->min_lr = lgp_json_get_num(sc, "min_lr", 0);
    r->seed = lgp_json_get_u64_def(m, "seed", 0);
    r->step = lgp_json_get_i64_def(m, "step", 0);
    r->consumed = lgp_json_get_i64_def(m, "records_consumed", 0);
    snprintf(r->init, sizeof r->init, "%s", lgp_json_get_str(m, "init", "?"));
    snprintf(r->gemm, sizeof r->gemm, "%s", lgp_json_get_str(m, "gemm", ""));
    const lgp_json *cl = lgp_json_get(m, "classes");
    if (cl && !r->classes) r->classes = lgp_json_clone(cl);
    if (s->batch < 1 || s->total_steps < 1) return LGP_FATAL;
    /* an old checkpoint without "norm" keeps the caller's (default) normalisation */
    if (n && (read_floats(lgp_json_get(n, "mean"), r->mean, in_chans) || read_floats(lgp_json_get(n, "std"), r->std, in_chans)))
        return LGP_FATAL;
    return LGP_OK;
}

void lgp_run_check_gemm(const lgp_run *r, const char *path) {
    const char *now = lgp_gemm_describe();
    if (r->gemm[0] && strcmp(r->gemm, now) != 0)
        lgp_warn("%s: its steps so far ran on %s, this run's on %s: it continues, but not bit for bit as one run "
                 "would (LGP_GEMM picks the backend)", path, r->gemm, now);
}
