/* modelload.c — see modelload.h. */
#include "common/model/modelload.h"

#include "formats/checkpoint.h"
#include "common/lgp.h"
#include "common/model/named.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const strip[] = {"module.", "base_encoder.", "model.", NULL};
static const char *const ignore_enc[] = {"optim.", "momentum.", "momentum_encoder.", "head.",
                                         "predictor.", "decoder_", "mask_token", "lgp.", NULL};
static const char *const ignore_dec[] = {"optim.", "momentum.", "momentum_encoder.", "head.",
                                         "predictor.", "lgp.", NULL};

int lgp_model_load(lgp_vit_model *m, const char *path, const char *arch,
                   const lgp_modelcfg_overrides *ov, unsigned model_flags, lgp_json **meta_out,
                   char *err, size_t errlen) {
    lgp_record rec;
    lgp_record_init(&rec);
    char *mtext = NULL, e2[400];
    if (lgp_ckpt_load(path, &rec, &mtext, err, errlen) != LGP_OK) {
        lgp_record_free(&rec);
        return LGP_FATAL;
    }
    if (lgp_ckpt_check_complete(mtext, path, err, errlen) != LGP_OK) {
        free(mtext);
        lgp_record_free(&rec);
        return LGP_FATAL;
    }
    lgp_json *meta = lgp_json_parse(mtext, strlen(mtext), e2, sizeof e2);
    free(mtext);
    if (!meta) meta = lgp_json_new_obj();
    lgp_vit_config cfg;
    memset(&cfg, 0, sizeof cfg);
    const lgp_json *mc = lgp_json_get(meta, "model");
    int rc = LGP_OK;
    if (arch && lgp_vit_config_by_name(arch, &cfg) != LGP_OK)
        rc = (snprintf(err, errlen, "unknown model '%s'", arch), LGP_FATAL);
    else if (!arch && !mc)
        rc = (snprintf(err, errlen, "%s: no model config in the file; name one with --arch", path), LGP_FATAL);
    if (rc == LGP_OK && mc && lgp_modelcfg_from_json(&cfg, mc, e2, sizeof e2) != LGP_OK)
        rc = (snprintf(err, errlen, "%s: %s", path, e2), LGP_FATAL);
    if (rc == LGP_OK && ov) lgp_modelcfg_apply(&cfg, ov);
    if (rc == LGP_OK && lgp_vit_model_init(m, &cfg, model_flags, 0, e2, sizeof e2) != LGP_OK)
        rc = (snprintf(err, errlen, "%s: %s", path, e2), LGP_FATAL);
    if (rc == LGP_OK) {
        lgp_named_list l;
        lgp_named_init(&l);
        lgp_named_add_params(&l, NULL, &m->params, m->params.data, 0);
        lgp_load_rules r = {strip, (model_flags & LGP_VIT_WITH_DECODER) ? ignore_dec : ignore_enc, NULL, 0, 0};
        if (lgp_named_load(&l, &rec, &r, NULL, NULL, e2, sizeof e2) != LGP_OK) {
            snprintf(err, errlen, "%s: %s", path, e2);
            rc = LGP_FATAL;
            lgp_vit_model_free(m);
        }
        lgp_named_free(&l);
    }
    lgp_record_free(&rec);
    if (rc == LGP_OK && meta_out) *meta_out = meta;
    else lgp_json_free(meta);
    return rc;
}

void lgp_model_norm(const lgp_json *meta, int in_chans, float *mean, float *std) {
    lgp_modelcfg_default_norm(in_chans, mean, std);
    const lgp_json *n = lgp_json_get(meta, "norm");
    const lgp_json *mu = lgp_json_get(n, "mean"), *sd = lgp_json_get(n, "std");
    if (!mu || !sd || mu->type != LGP_JSON_ARR || sd->type != LGP_JSON_ARR ||
        (int)mu->n != in_chans || (int)sd->n != in_chans)
        return;
    for (int c = 0; c < in_chans && c < 4; c++) {
        mean[c] = (float)mu->items[c]->num;
        std[c] = (float)sd->items[c]->num;
    }
}

const lgp_json *lgp_meta_classes(const lgp_json *meta) {
    const lgp_json *c = lgp_json_get(meta, "classes");
    return c && c->type == LGP_JSON_ARR ? c : NULL;
}
