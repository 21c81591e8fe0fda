/* mimstate.c — see mimstate.h. */
#include "common/train/mimstate.h"

#include "formats/checkpoint.h"
#include "common/lgp.h"
#include "common/model/modelcfg.h"
#include "common/model/modelload.h"
#include "common/model/named.h"

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
    s->run.seed = seed;
    lgp_modelcfg_default_norm(cfg->in_chans, s->run.mean, s->run.std);
    if (lgp_vit_model_init(&s->m, cfg, LGP_VIT_WITH_DECODER | LGP_VIT_WITH_GRADS, seed, err, errlen) != LGP_OK)
        return LGP_FATAL;
    if (lgp_adamw_init(&s->opt, &s->m.params, hp, err, errlen) != LGP_OK) return LGP_FATAL;
    snprintf(s->run.init, sizeof s->run.init, "random (seed %llu)", (unsigned long long)seed);
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
    if (rc == LGP_OK) snprintf(s->run.init, sizeof s->run.init, "%s", init_path);
    free(meta);
    lgp_record_free(&rec);
    return rc;
}

void lgp_mim_state_free(lgp_mim_state *s) {
    lgp_adamw_free(&s->opt);
    lgp_vit_model_free(&s->m);
    lgp_run_free(&s->run);
    memset(s, 0, sizeof *s);
}

char *lgp_mim_state_meta(const lgp_mim_state *s, int complete) {
    lgp_json *m = lgp_run_meta(&s->run, "mim", &s->m.cfg, &s->opt, complete);
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
    int64_t t = 0;
    lgp_modelcfg_default_norm(cfg.in_chans, s->run.mean, s->run.std);
    if (rc == LGP_OK && lgp_run_meta_read(&s->run, m, "mim", cfg.in_chans, &hp, &t) != LGP_OK)
        rc = (snprintf(e2, sizeof e2, "not a resumable lgp-mim-train checkpoint (metadata incomplete)"), LGP_FATAL);
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
