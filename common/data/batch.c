/* batch.c — record stream → normalized float batches (see batch.h). */
#include "common/data/batch.h"

#include "formats/checkpoint.h"

#include "common/util/log.h"
#include "common/util/warncap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lgp_batch_init(lgp_batch *b, const lgp_batch_cfg *cfg, int cap) {
    memset(b, 0, sizeof *b);
    b->cap = cap;
    size_t img = (size_t)cfg->in_chans * cfg->img_size * cfg->img_size;
    for (int v = 0; v < cfg->nviews; v++)
        if (!(b->x[v] = malloc((size_t)cap * img * sizeof(float)))) return LGP_FATAL;
    if (cfg->n_patches > 0 && !(b->mask = calloc((size_t)cap, (size_t)cfg->n_patches))) return LGP_FATAL;
    b->index = calloc((size_t)cap, sizeof(int64_t));
    b->epoch = calloc((size_t)cap, sizeof(int64_t));
    b->label = calloc((size_t)cap, sizeof(int64_t));
    b->keys = calloc((size_t)cap, sizeof(char *));
    return b->index && b->epoch && b->label && b->keys ? LGP_OK : LGP_FATAL;
}

void lgp_batch_free(lgp_batch *b) {
    for (int v = 0; v < LGP_BATCH_MAX_VIEWS; v++) free(b->x[v]);
    for (int i = 0; b->keys && i < b->cap; i++) free(b->keys[i]);
    free(b->keys);
    free(b->mask);
    free(b->index);
    free(b->epoch);
    free(b->label);
    memset(b, 0, sizeof *b);
}

void lgp_batch_normalize(float *dst, const uint8_t *src, int h, int w, int c,
                         const float *mean, const float *std) {
    for (int ch = 0; ch < c; ch++) {
        float scale = 1.0f / (255.0f * std[ch]), shift = mean[ch] / std[ch];
        float *o = dst + (size_t)ch * h * w;
        for (int i = 0; i < h * w; i++) o[i] = (float)src[(size_t)i * c + ch] * scale - shift;
    }
}

static void shape_str(char *dst, size_t cap, const lgp_tensor *t) {
    int k = snprintf(dst, cap, "%s [", lgp_dtype_name(t->dtype));
    for (int d = 0; d < t->ndim && k > 0 && (size_t)k < cap; d++)
        k += snprintf(dst + k, cap - (size_t)k, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    if (k > 0 && (size_t)k < cap) snprintf(dst + k, cap - (size_t)k, "]");
}

/* Checks one record against the model's geometry and copies it into slot i; returns 0,
 * or -1 with what was expected and what came in why. */
static int take(lgp_batch *b, const lgp_batch_cfg *cfg, const lgp_record *rec, int i, int64_t pos, char *why,
                size_t cap) {
    size_t img = (size_t)cfg->in_chans * cfg->img_size * cfg->img_size;
    for (int v = 0; v < cfg->nviews; v++) {
        const char *name = cfg->view_names[v];
        const lgp_tensor *t = lgp_record_get(rec, name);
        if (!t && cfg->nviews == 1) t = lgp_record_get(rec, name = "image");
        if (!t) {
            if (cfg->nviews == 1)
                snprintf(why, cap, "no 'view0' or 'image' tensor (expected u8 [%d, %d, %d] views)", cfg->img_size,
                         cfg->img_size, cfg->in_chans);
            else
                snprintf(why, cap, "no '%s' tensor: %d views expected (lgp-augment --recipe moco)", cfg->view_names[v],
                         cfg->nviews);
            return -1;
        }
        if (t->dtype != LGP_DT_U8 || t->ndim != 3 || t->shape[0] != cfg->img_size ||
            t->shape[1] != cfg->img_size || t->shape[2] != cfg->in_chans) {
            char got[160];
            shape_str(got, sizeof got, t);
            snprintf(why, cap, "'%s' is %s; the model expects u8 [%d, %d, %d]%s", name, got, cfg->img_size,
                     cfg->img_size, cfg->in_chans,
                     t->ndim == 3 && (t->shape[0] != cfg->img_size || t->shape[1] != cfg->img_size)
                         ? " (lgp-augment --size, or a model of that image size)"
                         : "");
            return -1;
        }
        lgp_batch_normalize(b->x[v] + (size_t)i * img, t->data, cfg->img_size, cfg->img_size,
                            cfg->in_chans, cfg->mean, cfg->std);
    }
    if (cfg->n_patches > 0) {
        const lgp_tensor *m = lgp_record_get(rec, "mask");
        if (m) {
            if (m->dtype != LGP_DT_U8 || lgp_tensor_numel(m) != cfg->n_patches) {
                char got[160];
                shape_str(got, sizeof got, m);
                snprintf(why, cap, "'mask' is %s; the model has %d patches (lgp-mask --patch must match the model's)",
                         got, cfg->n_patches);
                return -1;
            }
            memcpy(b->mask + (size_t)i * cfg->n_patches, m->data, (size_t)cfg->n_patches);
            b->mask_count++;
        }
    }
    int64_t v = -1;
    b->label[i] = lgp_tensor_get_int(lgp_record_get(rec, "label"), &v) == LGP_OK ? v : -1;
    b->index[i] = lgp_tensor_get_int(lgp_record_get(rec, "index"), &v) == LGP_OK ? v : pos;
    b->epoch[i] = lgp_tensor_get_int(lgp_record_get(rec, "epoch"), &v) == LGP_OK ? v : 0;
    free(b->keys[i]);
    b->keys[i] = strdup(rec->key ? rec->key : "");
    return 0;
}

/* A damaged record (checksum, framing of one record): skipped with a capped message,
 * or fatal by policy. */
static int damaged(lgp_batch *b, const lgp_batch_cfg *cfg, const char *where, char *err, size_t errlen) {
    if (cfg->on_bad_fatal) {
        snprintf(err, errlen, "%s (damaged record; --strict)", where);
        return LGP_FATAL;
    }
    lgp_warncap_emit(&b->damaged, "%s (skipped)", where);
    b->skipped++;
    if (cfg->max_bad >= 0 && b->skipped > cfg->max_bad) {
        snprintf(err, errlen, "%s: more than %lld damaged records", where, (long long)cfg->max_bad);
        return LGP_FATAL;
    }
    return LGP_OK;
}

int lgp_batch_fill(lgp_batch *b, const lgp_batch_cfg *cfg, lgp_reader *r, lgp_record *scratch,
                   char *err, size_t errlen) {
    b->n = 0;
    b->mask_count = 0;
    if (!b->damaged.kind) b->damaged.kind = "damaged-record";
    while (b->n < b->cap) {
        int rc = lgp_reader_next(r, scratch);
        if (rc == LGP_EOF) return LGP_EOF;
        if (rc == LGP_FATAL) return snprintf(err, errlen, "%s", lgp_reader_error(r)), LGP_FATAL;
        int64_t pos = b->consumed++;
        if (rc == LGP_BAD_RECORD) {
            if (damaged(b, cfg, lgp_reader_error(r), err, errlen) != LGP_OK) return LGP_FATAL;
            continue;
        }
        char why[512];
        if (take(b, cfg, scratch, b->n, pos, why, sizeof why) != 0) {
            /* A geometry mismatch is not damage: every later record has it too. */
            if (lgp_ckpt_is_stream(lgp_reader_meta(r))) snprintf(why, sizeof why, "a checkpoint where image records were expected");
            snprintf(err, errlen, "%s: record %lld '%s': %s", lgp_reader_name(r), (long long)pos, scratch->key, why);
            return LGP_FATAL;
        }
        b->n++;
    }
    return LGP_OK;
}

void lgp_batch_report(const lgp_batch *b) { lgp_warncap_summary(&b->damaged); }

int lgp_batch_skip(lgp_batch *b, lgp_reader *r, lgp_record *scratch, int64_t n, char *err, size_t errlen) {
    while (b->consumed < n) {
        int rc = lgp_reader_next(r, scratch);
        if (rc == LGP_EOF) return LGP_EOF;
        if (rc == LGP_FATAL) return snprintf(err, errlen, "%s", lgp_reader_error(r)), LGP_FATAL;
        b->consumed++;
    }
    return LGP_OK;
}
