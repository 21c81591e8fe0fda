/* graft.c — see graft.h. */
#include "common/train/graft.h"

#include "common/lgp.h"
#include "common/model/modelcfg.h"
#include "common/model/named.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stage-1 / timm encoder (and decoder, when kept) from rec into the online model. */
static int load_stage1(lgp_cl_state *s, const lgp_record *rec, char *err, size_t errlen) {
    static const char *const strip[] = {"module.", "base_encoder.", "model.", NULL};
    static const char *const ign_dec[] = {"optim.", "momentum.", "momentum_encoder.", "head.", "predictor.", "lgp.",
                                          "fc_norm.", NULL};
    static const char *const ign_enc[] = {"optim.", "momentum.", "momentum_encoder.", "head.", "predictor.", "lgp.",
                                          "fc_norm.", "decoder_", "mask_token", NULL};
    lgp_named_list l;
    lgp_named_init(&l);
    for (size_t i = 0; i < s->nvit; i++) {
        const lgp_param *e = &s->m.params.entries[i];
        lgp_named_add(&l, NULL, e->name, e->ndim, e->shape, s->m.params.data + e->offset);
    }
    lgp_load_rules r = {strip, s->m.with_decoder ? ign_dec : ign_enc, NULL, 0, 0};
    int rc = lgp_named_load(&l, rec, &r, NULL, NULL, err, errlen);
    lgp_named_free(&l);
    return rc;
}

/* --reinit-above K: blocks >= K and the final norm get a fresh MoCo v3 init. */
static int reinit_above(lgp_cl_state *s, int K, char *err, size_t errlen) {
    lgp_vit_model fresh;
    if (lgp_vit_model_init(&fresh, &s->m.cfg, 0, s->run.seed, err, errlen) != LGP_OK) return LGP_FATAL;
    lgp_groups_moco_init(&fresh, s->run.seed);
    int L = s->m.cfg.depth;
    for (size_t i = 0; i < fresh.params.count; i++) {
        const lgp_param *f = &fresh.params.entries[i];
        const lgp_param *e = lgp_params_find(&s->m.params, f->name);
        if (e && f->block >= K && f->block <= L && !(f->flags & LGP_PARAM_DECODER))
            memcpy(s->m.params.data + e->offset, fresh.params.data + f->offset, sizeof(float) * f->numel);
    }
    lgp_vit_model_free(&fresh);
    return LGP_OK;
}

static void graft_json(lgp_cl_state *s, const lgp_json *meta, const char *src, int K) {
    char h[32];
    s->graft = lgp_json_new_obj();
    lgp_json_set_str(s->graft, "source", src);
    lgp_json_set_str(s->graft, "source_stage", lgp_json_get_str(meta, "stage", "timm"));
    snprintf(h, sizeof h, "%016llx", (unsigned long long)lgp_cl_encoder_hash(s, 0));
    lgp_json_set_str(s->graft, "encoder_hash", h);
    lgp_json_set_str(s->graft, "decoder", s->m.with_decoder ? "kept" : "dropped");
    lgp_json_set_num(s->graft, "reinit_above", K);
}

int lgp_graft(lgp_cl_state *s, const lgp_record *rec, const char *meta_text, const char *src,
              const lgp_vit_config *cfg_fallback, const lgp_cl_opts *o, uint64_t seed, const lgp_adamw_hparams *hp,
              char *err, size_t errlen) {
    char e2[900];
    lgp_json *meta = lgp_json_parse(meta_text, strlen(meta_text), NULL, 0);
    if (!meta) meta = lgp_json_new_obj();
    int rc = lgp_cl_state_prepare(s, rec, meta, 0, cfg_fallback, o, seed, hp, e2, sizeof e2);
    if (rc == LGP_OK) rc = load_stage1(s, rec, e2, sizeof e2);
    if (rc == LGP_OK && o->reinit_above >= 0) rc = reinit_above(s, o->reinit_above, e2, sizeof e2);
    if (rc == LGP_OK) {
        lgp_cl_state_sync_momentum(s); /* the momentum encoder starts as the grafted one */
        graft_json(s, meta, src, o->reinit_above);
        snprintf(s->run.init, sizeof s->run.init, "graft of %s", src);
        lgp_cl_state_take_meta(s, meta);
    }
    if (rc != LGP_OK) snprintf(err, errlen, "%s: %s", src, e2);
    lgp_json_free(meta);
    return rc;
}
