/* groups.c — stage-2 parameter groups and the MoCo v3 ViT init (see groups.h). */
#include "common/train/groups.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/lgp.h"
#include "common/util/rng.h"

int lgp_groups_parse(lgp_groups *g, const char *list, char *err, size_t errlen) {
    char buf[1024], *save = NULL;
    if (strlen(list) >= sizeof buf) return snprintf(err, errlen, "--lr-layer-wise: list too long"), LGP_FATAL;
    snprintf(buf, sizeof buf, "%s", list);
    int n = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end;
        double v = strtod(t, &end);
        if (end == t || *end || !(v >= 0 && v <= 1e3))
            return snprintf(err, errlen, "--lr-layer-wise: '%s' is not a learning rate in [0, 1000]", t), LGP_FATAL;
        if (n == LGP_CL_MAX_GROUPS)
            return snprintf(err, errlen, "--lr-layer-wise: more than %d values", LGP_CL_MAX_GROUPS), LGP_FATAL;
        g->blr[n++] = v;
    }
    if (n == 0) return snprintf(err, errlen, "--lr-layer-wise: empty list"), LGP_FATAL;
    g->n = n;
    return LGP_OK;
}

int lgp_groups_check(const lgp_groups *g, int depth, char *err, size_t errlen) {
    if (g->n < 1 || g->n > depth || depth % g->n)
        return snprintf(err, errlen, "--lr-layer-wise: %d values do not split %d blocks into equal groups", g->n, depth),
               LGP_USAGE;
    if (g->freeze_below < 0 || g->freeze_below > depth)
        return snprintf(err, errlen, "--freeze-below %d: the model has %d blocks", g->freeze_below, depth), LGP_USAGE;
    return LGP_OK;
}

int lgp_groups_of(const lgp_groups *g, int block, int depth) {
    if (block < 0) return 0;
    if (block >= depth) return g->n - 1;
    return block / (depth / g->n);
}

static int is_patch_embed(const char *name) { return strncmp(name, "patch_embed.", 12) == 0; }

void lgp_groups_apply(const lgp_groups *g, lgp_params *p, int depth) {
    LGP_ASSERT(g->n >= 1 && depth % g->n == 0);
    for (size_t i = 0; i < p->count; i++) {
        lgp_param *e = &p->entries[i];
        int cls = strcmp(e->name, "cls_token") == 0;
        e->lr_scale = (float)(g->heads_set && e->block >= depth ? g->heads_blr : g->blr[lgp_groups_of(g, e->block, depth)]);
        /* pitfall M7: decay every tensor of ndim >= 2, the cls token included; none on 1-D ones. */
        e->flags = (e->flags & ~(unsigned)LGP_PARAM_NO_WD) | (e->ndim < 2 ? LGP_PARAM_NO_WD : 0);
        /* pitfall M3: stop-grad-conv1 (unless train_patch), fixed sin-cos pos_embed */
        if (strcmp(e->name, "pos_embed") == 0 || (is_patch_embed(e->name) && !g->train_patch)) e->flags |= LGP_PARAM_FROZEN;
        if (g->freeze_below > 0 && (cls || (e->block >= 0 && e->block < g->freeze_below && e->block < depth)))
            e->flags |= LGP_PARAM_FROZEN;
    }
}

lgp_json *lgp_groups_json(const lgp_groups *g, const lgp_params *p, int depth, int batch) {
    lgp_json *j = lgp_json_new_obj(), *lw = lgp_json_new_arr(), *gs = lgp_json_new_arr(), *fr = lgp_json_new_arr();
    for (int k = 0; k < g->n; k++) lgp_json_push(lw, lgp_json_new_num(g->blr[k]));
    lgp_json_set(j, "layer_wise", lw);
    lgp_json_set_num(j, "freeze_below", g->freeze_below);
    if (g->heads_set) lgp_json_set_num(j, "heads_blr", g->heads_blr);
    lgp_json_set_str(j, "patch_embed", g->train_patch ? "trainable" : "frozen");
    lgp_json_set_str(j, "rule", "lr_g(step) = warmup_cosine(step) * layer_wise[g] * batch / 256; blocks split into "
                                "equal consecutive groups, cls with the first, norm/head/predictor with the last "
                                "(or heads_blr if given); wd on ndim >= 2 and cls, none on 1-d; pos_embed frozen, "
                                "patch_embed as patch_embed says");
    int s = depth / g->n;
    for (int k = 0; k < g->n; k++) {
        lgp_json *o = lgp_json_new_obj(), *b = lgp_json_new_arr();
        lgp_json_set_num(o, "blr", g->blr[k]);
        if (batch > 0) lgp_json_set_num(o, "lr_peak", g->blr[k] * batch / 256.0);
        if (k == g->n - 1 && g->heads_set) lgp_json_set_num(o, "heads_blr", g->heads_blr);
        lgp_json_push(b, lgp_json_new_num(k * s));
        lgp_json_push(b, lgp_json_new_num(k * s + s - 1));
        lgp_json_set(o, "blocks", b);
        lgp_json_set(o, "cls", lgp_json_new_bool(k == 0));
        lgp_json_set(o, "heads", lgp_json_new_bool(k == g->n - 1));
        int nt = 0;
        for (size_t i = 0; i < p->count; i++)
            nt += !(p->entries[i].flags & LGP_PARAM_FROZEN) && lgp_groups_of(g, p->entries[i].block, depth) == k;
        lgp_json_set_num(o, "tensors", nt);
        lgp_json_push(gs, o);
    }
    lgp_json_set(j, "groups", gs);
    for (size_t i = 0; i < p->count; i++)
        if (p->entries[i].flags & LGP_PARAM_FROZEN) lgp_json_push(fr, lgp_json_new_str(p->entries[i].name));
    lgp_json_set(j, "frozen", fr);
    return j;
}

int lgp_groups_from_json(lgp_groups *g, const lgp_json *j, char *err, size_t errlen) {
    const lgp_json *lw = lgp_json_get(j, "layer_wise");
    if (!lw || lw->type != LGP_JSON_ARR || lw->n < 1 || lw->n > LGP_CL_MAX_GROUPS)
        return snprintf(err, errlen, "metadata: lr_groups.layer_wise missing or malformed"), LGP_FATAL;
    memset(g, 0, sizeof *g);
    g->n = (int)lw->n;
    for (int k = 0; k < g->n; k++) {
        if (lw->items[k]->type != LGP_JSON_NUM) return snprintf(err, errlen, "metadata: lr_groups.layer_wise[%d] is not a number", k), LGP_FATAL;
        g->blr[k] = lw->items[k]->num;
    }
    g->freeze_below = (int)lgp_json_get_num(j, "freeze_below", 0);
    const lgp_json *h = lgp_json_get(j, "heads_blr");
    if (h) {
        if (h->type != LGP_JSON_NUM) return snprintf(err, errlen, "metadata: lr_groups.heads_blr is not a number"), LGP_FATAL;
        g->heads_set = 1, g->heads_blr = h->num;
    }
    const char *pe = lgp_json_get_str(j, "patch_embed", "frozen");
    if (strcmp(pe, "frozen") && strcmp(pe, "trainable"))
        return snprintf(err, errlen, "metadata: lr_groups.patch_embed '%s' is neither frozen nor trainable", pe), LGP_FATAL;
    g->train_patch = strcmp(pe, "trainable") == 0;
    return LGP_OK;
}

void lgp_groups_moco_init(lgp_vit_model *m, uint64_t seed) {
    int C = m->cfg.width;
    for (size_t i = 0; i < m->params.count; i++) {
        const lgp_param *e = &m->params.entries[i];
        if (e->flags & LGP_PARAM_DECODER) continue;
        float *w = m->params.data + e->offset;
        size_t len = strlen(e->name);
        lgp_rng r;
        lgp_rng_init(&r, seed, i, 1, LGP_RNG_INIT);
        if (strcmp(e->name, "cls_token") == 0) {
            for (size_t k = 0; k < e->numel; k++) w[k] = (float)(1e-6 * lgp_rng_normal(&r));
        } else if (len > 15 && strcmp(e->name + len - 15, "attn.qkv.weight") == 0) {
            float bound = sqrtf(6.0f / (float)(C + C));
            for (size_t k = 0; k < e->numel; k++) w[k] = (2.0f * lgp_rng_uniformf(&r) - 1.0f) * bound;
        }
    }
}
