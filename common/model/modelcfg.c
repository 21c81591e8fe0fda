/* modelcfg.c — see modelcfg.h. */
#include "common/model/modelcfg.h"

#include "common/lgp.h"
#include "common/util/log.h"

#include <stdio.h>
#include <string.h>

int lgp_modelcfg_from_json(lgp_vit_config *cfg, const lgp_json *obj, char *err, size_t errlen) {
    if (!obj || obj->type != LGP_JSON_OBJ)
        return snprintf(err, errlen, "model config is not a JSON object"), LGP_FATAL;
    struct { const char *k; int *p; } ints[] = {
        {"img_size", &cfg->img_size}, {"patch", &cfg->patch}, {"in_chans", &cfg->in_chans},
        {"width", &cfg->width}, {"depth", &cfg->depth}, {"heads", &cfg->heads},
        {"mlp_ratio", &cfg->mlp_ratio}, {"dec_width", &cfg->dec_width},
        {"dec_depth", &cfg->dec_depth}, {"dec_heads", &cfg->dec_heads}, {"norm_pix", &cfg->norm_pix},
    };
    for (size_t i = 0; i < LGP_ARRAY_LEN(ints); i++) {
        const lgp_json *v = lgp_json_get(obj, ints[i].k);
        if (!v) continue;
        if (v->type != LGP_JSON_NUM || v->num != (int)v->num)
            return snprintf(err, errlen, "model config field '%s' is not an integer", ints[i].k), LGP_FATAL;
        *ints[i].p = (int)v->num;
    }
    const lgp_json *mr = lgp_json_get(obj, "mask_ratio");
    if (mr && mr->type == LGP_JSON_NUM) cfg->mask_ratio = (float)mr->num;
    return LGP_OK;
}

void lgp_modelcfg_overrides_init(lgp_modelcfg_overrides *o) {
    for (size_t i = 0; i < LGP_ARRAY_LEN(o->v); i++) o->v[i] = -1;
}

int lgp_modelcfg_opt(lgp_modelcfg_overrides *o, int c, const char *arg) {
    static const char *names[] = {"--width", "--depth", "--heads", "--patch", "--img-size",
                                  "--in-chans", "--mlp-ratio", "--dec-width", "--dec-depth", "--dec-heads"};
    _Static_assert(LGP_ARRAY_LEN(names) == LGP_OPT_DEC_HEADS - LGP_OPT_WIDTH + 1, "option table");
    if (c < LGP_OPT_WIDTH || c > LGP_OPT_DEC_HEADS) return 0;
    int i = c - LGP_OPT_WIDTH;
    o->v[i] = (int)lgp_opt_int(names[i], arg, i == 7 || i == 8 || i == 9 ? 0 : 1, 65536);
    return 1;
}

void lgp_modelcfg_apply(lgp_vit_config *cfg, const lgp_modelcfg_overrides *o) {
    int *dst[] = {&cfg->width, &cfg->depth, &cfg->heads, &cfg->patch, &cfg->img_size,
                  &cfg->in_chans, &cfg->mlp_ratio, &cfg->dec_width, &cfg->dec_depth, &cfg->dec_heads};
    for (size_t i = 0; i < LGP_ARRAY_LEN(dst); i++)
        if (o->v[i] >= 0) *dst[i] = o->v[i];
}

void lgp_modelcfg_default_norm(int in_chans, float *mean, float *std) {
    static const float im_mean[3] = {0.485f, 0.456f, 0.406f}, im_std[3] = {0.229f, 0.224f, 0.225f};
    for (int c = 0; c < in_chans && c < 4; c++) {
        mean[c] = in_chans == 3 ? im_mean[c] : 0.2860f; /* Fashion-MNIST train statistics */
        std[c] = in_chans == 3 ? im_std[c] : 0.3530f;
    }
}

int lgp_modelcfg_check_encoder(const lgp_vit_config *asked, const lgp_vit_config *have, const char *src, char *err,
                               size_t errlen) {
    const struct {
        const char *name;
        int a, h;
    } f[] = {
        {"img_size", asked->img_size, have->img_size}, {"patch", asked->patch, have->patch},
        {"in_chans", asked->in_chans, have->in_chans}, {"width", asked->width, have->width},
        {"depth", asked->depth, have->depth},          {"heads", asked->heads, have->heads},
        {"mlp_ratio", asked->mlp_ratio, have->mlp_ratio},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].a != f[i].h)
            return snprintf(err, errlen, "the model options ask for %s %d; %s has %d (drop --model and the size "
                                         "options: a checkpoint fixes its model)",
                            f[i].name, f[i].a, src, f[i].h), LGP_FATAL;
    return LGP_OK;
}
