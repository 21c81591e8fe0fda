/* modelcfg.h — model configuration from names, flags and checkpoint metadata, shared by
 * every program that builds a ViT. The JSON form is lgp_vit_config_json's (vit.h), kept
 * under "model" in checkpoint metadata. */
#ifndef LGP_MODELCFG_H
#define LGP_MODELCFG_H

#include "formats/json.h"
#include "common/nn/vit.h"

/* Fields of a JSON object (as written by lgp_vit_config_json) into cfg; absent fields
 * keep cfg's values. LGP_OK, or LGP_FATAL if a field is not a number. */
int lgp_modelcfg_from_json(lgp_vit_config *cfg, const lgp_json *obj, char *err, size_t errlen);

/* Command-line overrides: long options --width --depth --heads --patch --img-size
 * --in-chans --mlp-ratio --dec-width --dec-depth --dec-heads, as getopt_long entries
 * returning the codes below; lgp_modelcfg_opt applies one (returns 1 if it was one). */
enum {
    LGP_OPT_WIDTH = 0x2001, LGP_OPT_DEPTH, LGP_OPT_HEADS, LGP_OPT_PATCH, LGP_OPT_IMG_SIZE,
    LGP_OPT_IN_CHANS, LGP_OPT_MLP_RATIO, LGP_OPT_DEC_WIDTH, LGP_OPT_DEC_DEPTH, LGP_OPT_DEC_HEADS,
};
#define LGP_MODELCFG_LONGOPTS                                                          \
    {"width", required_argument, 0, LGP_OPT_WIDTH},                                    \
    {"depth", required_argument, 0, LGP_OPT_DEPTH},                                    \
    {"heads", required_argument, 0, LGP_OPT_HEADS},                                    \
    {"patch", required_argument, 0, LGP_OPT_PATCH},                                    \
    {"img-size", required_argument, 0, LGP_OPT_IMG_SIZE},                              \
    {"in-chans", required_argument, 0, LGP_OPT_IN_CHANS},                              \
    {"mlp-ratio", required_argument, 0, LGP_OPT_MLP_RATIO},                            \
    {"dec-width", required_argument, 0, LGP_OPT_DEC_WIDTH},                            \
    {"dec-depth", required_argument, 0, LGP_OPT_DEC_DEPTH},                            \
    {"dec-heads", required_argument, 0, LGP_OPT_DEC_HEADS}

/* Overrides are recorded (value or -1) and applied after the base config is known. */
typedef struct { int v[10]; } lgp_modelcfg_overrides;
void lgp_modelcfg_overrides_init(lgp_modelcfg_overrides *o);
int lgp_modelcfg_opt(lgp_modelcfg_overrides *o, int c, const char *arg);
void lgp_modelcfg_apply(lgp_vit_config *cfg, const lgp_modelcfg_overrides *o);
#define LGP_MODELCFG_HELP                                                                \
    "  --width C --depth L --heads H --patch P --img-size S --in-chans c --mlp-ratio R\n" \
    "  --dec-width Cd --dec-depth Ld --dec-heads Hd   override the named config\n"

/* A checkpoint fixes its model: options that describe another encoder (--model, --width,
 * ...) are an error, not silently ignored. LGP_OK, or LGP_FATAL with "the options ask
 * for width 64, <src> has 192". Compares the encoder fields only. */
int lgp_modelcfg_check_encoder(const lgp_vit_config *asked, const lgp_vit_config *have, const char *src, char *err,
                               size_t errlen);

/* Default per-channel normalisation: Fashion-MNIST statistics for 1 channel, ImageNet
 * mean/std for 3. */
void lgp_modelcfg_default_norm(int in_chans, float *mean, float *std);

#endif
