/* export.c — see export.h. */
#include "common/model/export.h"

#include "formats/json.h"
#include "formats/safetensors.h"
#include "common/lgp.h"
#include "common/model/modelload.h"
#include "common/model/named.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "[0.286]": each float in the fewest digits that read back as the same float, so the
 * metadata says 0.286 rather than the double 0.28600001335144043. */
static void float_list(char *buf, size_t len, const float *v, int n) {
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < n && k < len; i++) {
        char one[32];
        for (int p = 6; p <= 9; p++) {
            snprintf(one, sizeof one, "%.*g", p, (double)v[i]);
            if (strtof(one, NULL) == v[i]) break;
        }
        k += (size_t)snprintf(buf + k, len - k, i ? ", %s" : "%s", one);
    }
    if (k < len) snprintf(buf + k, len - k, "]");
}

static void set_int(lgp_json *m, const char *key, int v) {
    char s[16];
    snprintf(s, sizeof s, "%d", v);
    lgp_json_set_str(m, key, s);
}

/* The __metadata__ object (see export.h); meta is the checkpoint's, updated in place. */
static lgp_json *metadata(const lgp_vit_config *c, lgp_json *meta) {
    float mean[4], std[4];
    lgp_model_norm(meta, c->in_chans, mean, std);
    char cfg[512], ms[128], ss[128];
    lgp_vit_config_json(c, cfg, sizeof cfg);
    float_list(ms, sizeof ms, mean, c->in_chans);
    float_list(ss, sizeof ss, std, c->in_chans);
    lgp_json *norm = lgp_json_new_obj();
    lgp_json_set(norm, "mean", lgp_json_parse(ms, strlen(ms), NULL, 0));
    lgp_json_set(norm, "std", lgp_json_parse(ss, strlen(ss), NULL, 0));
    lgp_json_set(meta, "model", lgp_json_parse(cfg, strlen(cfg), NULL, 0));
    lgp_json_set(meta, "norm", norm);
    lgp_json *m = lgp_json_new_obj();
    lgp_json_set_str(m, "format", "pt");
    set_int(m, "img_size", c->img_size);
    set_int(m, "patch_size", c->patch);
    set_int(m, "in_chans", c->in_chans);
    set_int(m, "embed_dim", c->width);
    set_int(m, "depth", c->depth);
    set_int(m, "num_heads", c->heads);
    set_int(m, "mlp_ratio", c->mlp_ratio);
    set_int(m, "num_classes", 0);
    lgp_json_set_str(m, "global_pool", "token");
    lgp_json_set_str(m, "mean", ms);
    lgp_json_set_str(m, "std", ss);
    char *lm = lgp_json_dump(meta);
    lgp_json_set_str(m, "lgp_meta", lm);
    free(lm);
    return m;
}

int lgp_export_encoder(const char *ckpt, const char *arch, const char *path, size_t *ntensors, char *err,
                       size_t errlen) {
    lgp_vit_model m;
    lgp_json *meta = NULL;
    if (lgp_model_load(&m, ckpt, arch, NULL, 0, &meta, err, errlen) != LGP_OK) return LGP_FATAL;
    lgp_named_list l;
    lgp_named_init(&l);
    lgp_named_add_params(&l, NULL, &m.params, m.params.data, LGP_PARAM_DECODER);
    lgp_record rec;
    lgp_record_init(&rec);
    int rc = lgp_named_put(&rec, &l);
    if (rc != LGP_OK) snprintf(err, errlen, "%s: out of memory", path);
    lgp_json *md = metadata(&m.cfg, meta);
    char *mt = lgp_json_dump(md);
    if (rc == LGP_OK) rc = lgp_st_save(path, &rec, mt, err, errlen);
    if (rc == LGP_OK && ntensors) *ntensors = rec.n;
    free(mt);
    lgp_json_free(md);
    lgp_json_free(meta);
    lgp_record_free(&rec);
    lgp_named_free(&l);
    lgp_vit_model_free(&m);
    return rc;
}
