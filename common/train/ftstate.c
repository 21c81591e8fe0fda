/* ftstate.c — see ftstate.h. */
#include "common/train/ftstate.h"

#include "formats/checkpoint.h"
#include "common/lgp.h"
#include "common/model/modelload.h"
#include "common/model/named.h"
#include "common/util/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lgp_ft_opts_init(lgp_ft_opts *o) {
    memset(o, 0, sizeof *o);
    o->layer_decay = 0.75;
    o->drop_path = 0.1;
    o->smoothing = 0.1;
    o->mixup = 0.8, o->cutmix = 1.0, o->mix_prob = 1.0, o->switch_prob = 0.5;
}

/* The head's entries appended to the encoder's table; layer decay and the no-decay
 * rules over the whole table. */
static int add_head(lgp_ft_state *s, char *err, size_t errlen) {
    lgp_vit_model *m = &s->m;
    s->nvit = m->params.count;
    lgp_head_init(&s->head, s->fo.first_fc, m->cfg.width, s->fo.fc_dim, s->fo.num_classes, m->params.total);
    lgp_param extra[3];
    int n = lgp_head_count(&s->head);
    for (int i = 0; i < n; i++) {
        lgp_param *e = &extra[i];
        memset(e, 0, sizeof *e);
        lgp_head_entry(&s->head, i, e->name, &e->ndim, e->shape, &e->offset, &e->numel);
        e->flags = e->ndim < 2 ? LGP_PARAM_NO_WD : 0;
        e->block = m->cfg.depth;
    }
    if (lgp_vit_model_extend(m, extra, (size_t)n, s->head.base + s->head.n, err, errlen) != LGP_OK) return LGP_FATAL;
    int L = m->cfg.depth;
    for (size_t i = 0; i < m->params.count; i++) {
        lgp_param *e = &m->params.entries[i];
        int id = e->block < 0 ? 0 : e->block >= L ? L + 1 : e->block + 1;
        e->lr_scale = (float)pow(s->fo.layer_decay, L + 1 - id);
        if (!strcmp(e->name, "cls_token")) e->flags |= LGP_PARAM_NO_WD;
    }
    return LGP_OK;
}

/* The projector's first Linear under lgp's name or MoCo v3's wrapped ones. */
static const lgp_tensor *find_first_fc(const lgp_record *rec) {
    static const char *const names[] = {"head.0.weight", "module.base_encoder.head.0.weight", "base_encoder.head.0.weight",
                                        "module.head.0.weight", NULL};
    const lgp_tensor *t = NULL;
    for (int i = 0; names[i] && !t; i++) t = lgp_record_get(rec, names[i]);
    return t;
}

/* A copy of the start's "head.0.weight" [F, C] (malloc'd, *F its rows), read once. */
static float *load_first_fc(const char *path, int64_t C, int *F, char *err, size_t errlen) {
    lgp_record rec;
    lgp_record_init(&rec);
    char *meta = NULL;
    float *w = NULL;
    if (lgp_ckpt_load(path, &rec, &meta, err, errlen) == LGP_OK) {
        const lgp_tensor *t = find_first_fc(&rec);
        if (!t)
            snprintf(err, errlen, "%s: no head.0.weight (the MoCo v3 projector's first Linear) for --tune-from-first-fc",
                     path);
        else if (t->dtype != LGP_DT_F32 || t->ndim != 2 || t->shape[1] != C || t->shape[0] < 1)
            snprintf(err, errlen, "%s: head.0.weight is not f32 [F, %lld]", path, (long long)C);
        else if ((w = malloc(t->nbytes))) memcpy(w, t->data, t->nbytes), *F = (int)t->shape[0];
        else snprintf(err, errlen, "out of memory");
    }
    free(meta);
    lgp_record_free(&rec);
    return w;
}

int lgp_ft_state_new(lgp_ft_state *s, const char *init_path, const char *arch, const lgp_modelcfg_overrides *ov,
                     const lgp_vit_config *cfg, const lgp_ft_opts *fo, uint64_t seed, const lgp_adamw_hparams *hp,
                     char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->fo = *fo;
    s->run.seed = seed;
    char e2[800];
    float *fc = NULL; /* --tune-from-first-fc: the projector's first layer */
    if (init_path) {
        lgp_json *meta = NULL;
        if (lgp_model_load(&s->m, init_path, arch, ov, LGP_VIT_WITH_GRADS, &meta, err, errlen) != LGP_OK)
            return LGP_FATAL;
        lgp_model_norm(meta, s->m.cfg.in_chans, s->run.mean, s->run.std);
        const lgp_json *cl = lgp_meta_classes(meta);
        if (cl) s->run.classes = lgp_json_clone(cl);
        if (!s->fo.num_classes && cl) s->fo.num_classes = (int)cl->n;
        lgp_json_free(meta);
        snprintf(s->run.init, sizeof s->run.init, "%s", init_path);
        if (s->fo.first_fc && !(fc = load_first_fc(init_path, s->m.cfg.width, &s->fo.fc_dim, err, errlen)))
            return LGP_FATAL;
    } else {
        if (s->fo.first_fc) return snprintf(err, errlen, "--tune-from-first-fc needs --init with a MoCo v3 projector"), LGP_FATAL;
        if (lgp_vit_model_init(&s->m, cfg, LGP_VIT_WITH_GRADS, seed, err, errlen) != LGP_OK) return LGP_FATAL;
        lgp_modelcfg_default_norm(cfg->in_chans, s->run.mean, s->run.std);
        snprintf(s->run.init, sizeof s->run.init, "random (seed %llu)", (unsigned long long)seed);
    }
    if (s->fo.num_classes < 2)
        return free(fc), snprintf(err, errlen, "%s: no class list to size the head; give --num-classes K",
                        init_path ? init_path : "the input"), LGP_FATAL;
    if (add_head(s, err, errlen) != LGP_OK) return free(fc), LGP_FATAL;
    lgp_head_init_weights(&s->head, s->m.params.data, seed);
    if (fc) memcpy(s->m.params.data + s->head.w0, fc, sizeof(float) * (size_t)s->fo.fc_dim * s->m.cfg.width);
    free(fc);
    if (lgp_adamw_init(&s->opt, &s->m.params, hp, e2, sizeof e2) != LGP_OK)
        return snprintf(err, errlen, "%s", e2), LGP_FATAL;
    return LGP_OK;
}

void lgp_ft_state_free(lgp_ft_state *s) {
    lgp_adamw_free(&s->opt);
    lgp_vit_model_free(&s->m);
    lgp_run_free(&s->run);
    memset(s, 0, sizeof *s);
}

static void state_names(const lgp_ft_state *s, lgp_named_list *l) {
    lgp_named_init(l);
    lgp_named_add_params(l, NULL, &s->m.params, s->m.params.data, 0);
    lgp_named_add_params(l, "optim.m.", &s->m.params, s->opt.m, LGP_PARAM_FROZEN);
    lgp_named_add_params(l, "optim.v.", &s->m.params, s->opt.v, LGP_PARAM_FROZEN);
}

char *lgp_ft_state_meta(const lgp_ft_state *s, int complete) {
    lgp_json *m = lgp_run_meta(&s->run, "finetune", &s->m.cfg, &s->opt, complete);
    lgp_json *h = lgp_json_new_obj(), *f = lgp_json_new_obj();
    lgp_json_set_str(h, "kind", s->fo.first_fc ? "first-fc" : "linear");
    lgp_json_set_i64(h, "fc_dim", s->fo.first_fc ? s->fo.fc_dim : 0);
    lgp_json_set_i64(h, "num_classes", s->fo.num_classes);
    lgp_json_set(m, "head", h);
    lgp_json_set_num(f, "layer_decay", s->fo.layer_decay);
    lgp_json_set_num(f, "drop_path", s->fo.drop_path);
    lgp_json_set_num(f, "smoothing", s->fo.smoothing);
    lgp_json_set_num(f, "mixup", s->fo.mixup);
    lgp_json_set_num(f, "cutmix", s->fo.cutmix);
    lgp_json_set_num(f, "mix_prob", s->fo.mix_prob);
    lgp_json_set_num(f, "switch_prob", s->fo.switch_prob);
    lgp_json_set(m, "finetune", f);
    char *t = lgp_json_dump(m);
    lgp_json_free(m);
    return t;
}

int lgp_ft_state_record(const lgp_ft_state *s, lgp_record *rec) {
    lgp_named_list l;
    state_names(s, &l);
    lgp_record_init(rec);
    int rc = lgp_named_put(rec, &l);
    lgp_named_free(&l);
    return rc;
}

/* The head and recipe members of a finetune checkpoint's metadata. */
static int read_ft_meta(lgp_ft_opts *fo, const lgp_json *m) {
    const lgp_json *h = lgp_json_get(m, "head"), *f = lgp_json_get(m, "finetune");
    if (!h || !f) return LGP_FATAL;
    lgp_ft_opts_init(fo);
    fo->first_fc = !strcmp(lgp_json_get_str(h, "kind", "linear"), "first-fc");
    fo->fc_dim = (int)lgp_json_get_i64_def(h, "fc_dim", 0);
    fo->num_classes = (int)lgp_json_get_i64_def(h, "num_classes", 0);
    fo->layer_decay = lgp_json_get_num(f, "layer_decay", -1);
    fo->drop_path = lgp_json_get_num(f, "drop_path", -1);
    fo->smoothing = lgp_json_get_num(f, "smoothing", -1);
    fo->mixup = lgp_json_get_num(f, "mixup", -1);
    fo->cutmix = lgp_json_get_num(f, "cutmix", -1);
    fo->mix_prob = lgp_json_get_num(f, "mix_prob", -1);
    fo->switch_prob = lgp_json_get_num(f, "switch_prob", -1);
    if (fo->num_classes < 1 || (fo->first_fc && fo->fc_dim < 1) || fo->layer_decay < 0 || fo->drop_path < 0 ||
        fo->smoothing < 0 || fo->mixup < 0 || fo->cutmix < 0 || fo->mix_prob < 0 || fo->switch_prob < 0)
        return LGP_FATAL;
    return LGP_OK;
}

int lgp_ft_state_resume(lgp_ft_state *s, const char *path, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    lgp_record rec;
    lgp_record_init(&rec);
    char *mt = NULL, e2[800];
    if (lgp_ckpt_load(path, &rec, &mt, err, errlen) != LGP_OK) {
        lgp_record_free(&rec);
        return LGP_FATAL;
    }
    lgp_json *m = lgp_json_parse(mt, strlen(mt), NULL, 0);
    free(mt);
    lgp_vit_config cfg;
    memset(&cfg, 0, sizeof cfg);
    lgp_adamw_hparams hp = {0.9f, 0.999f, 1e-8f, 0.05f};
    int64_t t = 0;
    int rc = lgp_modelcfg_from_json(&cfg, lgp_json_get(m, "model"), e2, sizeof e2);
    if (rc == LGP_OK && read_ft_meta(&s->fo, m) != LGP_OK)
        rc = (snprintf(e2, sizeof e2, "not a resumable lgp-finetune checkpoint (no head/finetune metadata)"), LGP_FATAL);
    if (rc == LGP_OK) rc = lgp_vit_model_init(&s->m, &cfg, LGP_VIT_WITH_GRADS, 0, e2, sizeof e2);
    if (rc == LGP_OK) {
        lgp_modelcfg_default_norm(cfg.in_chans, s->run.mean, s->run.std);
        if (lgp_run_meta_read(&s->run, m, "finetune", cfg.in_chans, &hp, &t) != LGP_OK)
            rc = (snprintf(e2, sizeof e2, "not a resumable lgp-finetune checkpoint (metadata incomplete)"), LGP_FATAL);
    }
    if (rc == LGP_OK) rc = add_head(s, e2, sizeof e2);
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

/* ---- the step ---- */

int lgp_ft_engine_init(lgp_ft_engine *e, lgp_ft_state *s, int maxB, char *err, size_t errlen) {
    memset(e, 0, sizeof *e);
    e->s = s;
    e->maxB = maxB;
    if (lgp_encoder_init(&e->enc, &s->m, maxB, 1, err, errlen) != LGP_OK) return LGP_FATAL;
    int L = s->m.cfg.depth, C = s->m.cfg.width, K = s->fo.num_classes, F = s->fo.first_fc ? s->fo.fc_dim : 0;
    size_t B = (size_t)maxB, n = 2 * L * B + 2 * B * F + 3 * B * K + B * C;
    e->buf = lgp_floats_alloc(n);
    if (!e->buf) return snprintf(err, errlen, "out of memory for a batch of %d", maxB), LGP_FATAL;
    float *p = e->buf;
    e->drop = p, p += 2 * L * B;
    e->hid = p, p += B * F;
    e->dhid = p, p += B * F;
    e->logits = p, p += B * K;
    e->dlogits = p, p += B * K;
    e->target = p, p += B * K;
    e->dfeat = p;
    e->mc = (lgp_mixup_cfg){s->fo.mixup, s->fo.cutmix, s->fo.mix_prob, s->fo.switch_prob, s->fo.smoothing, K};
    return LGP_OK;
}

void lgp_ft_engine_free(lgp_ft_engine *e) {
    lgp_encoder_free(&e->enc);
    free(e->buf);
    memset(e, 0, sizeof *e);
}

void lgp_ft_engine_draw_drop(lgp_ft_engine *e, const int64_t *epoch, const int64_t *index, int B) {
    int L = e->s->m.cfg.depth;
    double p = e->s->fo.drop_path;
    for (int b = 0; b < B; b++) {
        lgp_rng r;
        lgp_rng_init(&r, e->s->run.seed, (uint64_t)epoch[b], (uint64_t)index[b], LGP_RNG_DROPPATH);
        for (int l = 0; l < L; l++) {
            /* timm: dpr = linspace(0, drop_path, depth); a rate of 0 never drops */
            double rate = L > 1 ? p * l / (L - 1) : 0, keep = 1.0 - rate;
            for (int k = 0; k < 2; k++) {
                double u = lgp_rng_uniform(&r);
                e->drop[(size_t)(2 * l + k) * B + b] = rate <= 0 ? 1.0f : u < keep ? (float)(1.0 / keep) : 0.0f;
            }
        }
    }
}

double lgp_ft_engine_step(lgp_ft_engine *e, float *x, const int64_t *labels, int B, const lgp_mixup_draw *d,
                          float loss_scale) {
    lgp_ft_state *s = e->s;
    const lgp_vit_config *c = &s->m.cfg;
    int K = s->fo.num_classes;
    static const lgp_mixup_draw none = {0, 0, 1.0, 0, 0, 0, 0};
    lgp_mixup_apply(x, e->target, labels, B, c->in_chans, c->img_size, c->img_size, &e->mc, d ? d : &none);
    e->enc.s.drop_scale = e->drop;
    const float *feat = lgp_encoder_forward(&e->enc, x, B);
    lgp_head_forward(&s->head, s->m.params.data, feat, e->hid, e->logits, B);
    double loss = lgp_soft_ce(e->logits, e->target, e->dlogits, B, K, loss_scale);
    lgp_head_backward(&s->head, s->m.params.data, s->m.grads, feat, e->hid, e->dlogits, e->dhid, e->dfeat, B);
    lgp_encoder_backward(&e->enc, e->dfeat);
    e->enc.s.drop_scale = NULL;
    return loss;
}

const float *lgp_ft_engine_logits(lgp_ft_engine *e, const float *x, int B) {
    e->enc.s.drop_scale = NULL;
    const float *feat = lgp_encoder_forward(&e->enc, x, B);
    lgp_head_forward(&e->s->head, e->s->m.params.data, feat, e->hid, e->logits, B);
    return e->logits;
}
