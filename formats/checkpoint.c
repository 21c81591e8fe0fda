/* checkpoint.c — one-record checkpoint streams (see checkpoint.h). */
#include "checkpoint.h"

#include "json.h"
#include "safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *lgp_ckpt_find_nonfinite(const lgp_record *rec) {
    for (size_t i = 0; i < rec->n; i++) {
        const lgp_tensor *t = &rec->t[i];
        if (t->dtype != LGP_DT_F32) continue;
        const float *p = t->data;
        size_t n = t->nbytes / 4;
        for (size_t k = 0; k < n; k++)
            if (!isfinite(p[k])) return t->name;
    }
    return NULL;
}

/* The stream header repeats the checkpoint metadata (lgp-inspect --meta shows it
 * without reading the tensors) and says what the stream is. */
static char *header_meta(const char *meta_json) {
    lgp_json *m = meta_json ? lgp_json_parse(meta_json, strlen(meta_json), NULL, 0) : NULL;
    if (!m || m->type != LGP_JSON_OBJ) {
        lgp_json_free(m);
        m = lgp_json_new_obj();
    }
    lgp_json_set_str(m, "kind", "checkpoint");
    char *s = lgp_json_dump(m);
    lgp_json_free(m);
    return s;
}

int lgp_ckpt_save(const char *path, const lgp_record *rec, const char *meta_json,
                  const lgp_writer_opts *o, char *err, size_t errlen) {
    const char *bad = lgp_ckpt_find_nonfinite(rec);
    if (bad) return snprintf(err, errlen, "%s: tensor '%s' holds NaN/Inf; checkpoint not written", path ? path : "stdout", bad), LGP_FATAL;
    lgp_record out;
    lgp_record_init(&out);
    int rc = lgp_record_set_key(&out, LGP_CKPT_KEY);
    for (size_t i = 0; rc == LGP_OK && i < rec->n; i++) {
        const lgp_tensor *t = &rec->t[i];
        if (strcmp(t->name, LGP_CKPT_META) == 0) continue;
        rc = lgp_record_put(&out, t->name, t->dtype, t->ndim, t->shape, t->data, t->nbytes, LGP_BORROW);
    }
    if (rc == LGP_OK) rc = lgp_record_put_str(&out, LGP_CKPT_META, LGP_DT_JSON, meta_json ? meta_json : "{}");
    lgp_writer *w = NULL;
    char *hmeta = header_meta(meta_json);
    if (rc != LGP_OK) snprintf(err, errlen, "out of memory");
    else if ((rc = lgp_writer_open(&w, path, o, hmeta, err, errlen)) == LGP_OK) {
        if (lgp_writer_write(w, &out) != LGP_OK) {
            snprintf(err, errlen, "%s", lgp_writer_error(w));
            lgp_writer_abort(w);
            rc = LGP_FATAL;
        } else
            rc = lgp_writer_finish(w, err, errlen);
    }
    free(hmeta);
    lgp_record_free(&out);
    return rc;
}

static int take_meta(lgp_record *rec, char **meta_out) {
    const lgp_tensor *m = lgp_record_get(rec, LGP_CKPT_META);
    if (!meta_out) return LGP_OK;
    if (!m) { *meta_out = strdup("{}"); return LGP_OK; }
    char *s = malloc(m->nbytes + 1);
    if (!s) return LGP_FATAL;
    memcpy(s, m->data, m->nbytes);
    s[m->nbytes] = 0;
    *meta_out = s;
    return LGP_OK;
}

int lgp_ckpt_read(lgp_reader *r, lgp_record *rec, char **meta_out, char *err, size_t errlen) {
    if (meta_out) *meta_out = NULL;
    int rc = lgp_reader_next(r, rec);
    if (rc == LGP_EOF) return snprintf(err, errlen, "%s: checkpoint stream holds no record", lgp_reader_name(r)), LGP_FATAL;
    if (rc != LGP_OK) return snprintf(err, errlen, "%s", lgp_reader_error(r)), LGP_FATAL;
    if (!rec->key || strcmp(rec->key, LGP_CKPT_KEY) != 0 || !lgp_record_get(rec, LGP_CKPT_META))
        return snprintf(err, errlen, "%s: not a checkpoint (first record is '%s')", lgp_reader_name(r), rec->key ? rec->key : ""), LGP_FATAL;
    /* The end record must follow: a checkpoint is verified whole before it is used. */
    lgp_record extra;
    lgp_record_init(&extra);
    int e = lgp_reader_next(r, &extra);
    lgp_record_free(&extra);
    if (e == LGP_OK) return snprintf(err, errlen, "%s: checkpoint stream holds more than one record", lgp_reader_name(r)), LGP_FATAL;
    if (e != LGP_EOF) return snprintf(err, errlen, "%s", lgp_reader_error(r)), LGP_FATAL;
    if (take_meta(rec, meta_out) != LGP_OK) return snprintf(err, errlen, "out of memory"), LGP_FATAL;
    return LGP_OK;
}

int lgp_ckpt_load(const char *path, lgp_record *rec, char **meta_out, char *err, size_t errlen) {
    if (strcmp(path, "-") != 0 && lgp_st_sniff(path)) {
        char *st_meta = NULL;
        if (lgp_st_load(path, rec, &st_meta, err, errlen) != LGP_OK) return LGP_FATAL;
        if (meta_out) {
            lgp_json *m = lgp_json_parse(st_meta, strlen(st_meta), NULL, 0);
            const char *lm = lgp_json_get_str(m, "lgp_meta", NULL);
            *meta_out = strdup(lm ? lm : "{}");
            lgp_json_free(m);
        }
        free(st_meta);
        return lgp_record_set_key(rec, LGP_CKPT_KEY);
    }
    lgp_reader *r;
    if (lgp_reader_open(&r, path, err, errlen) != LGP_OK) return LGP_FATAL;
    int rc = lgp_ckpt_read(r, rec, meta_out, err, errlen);
    lgp_reader_close(r);
    return rc;
}

int lgp_ckpt_allow_partial = 0;

int lgp_ckpt_check_complete(const char *meta_json, const char *src, char *err, size_t errlen) {
    if (lgp_ckpt_allow_partial || !meta_json) return LGP_OK;
    lgp_json *m = lgp_json_parse(meta_json, strlen(meta_json), NULL, 0);
    const lgp_json *c = lgp_json_get(m, "complete");
    int partial = c && c->type == LGP_JSON_BOOL && !c->boolean;
    long long step = (long long)lgp_json_get_num(m, "step", -1);
    long long total = (long long)lgp_json_get_num(lgp_json_get(m, "schedule"), "total_steps", -1);
    lgp_json_free(m);
    if (!partial) return LGP_OK;
    snprintf(err, errlen, "%s: an unfinished run's checkpoint (complete: false, step %lld of %lld); finish it with "
                          "--resume, or give --allow-partial to use it anyway", src, step, total);
    return LGP_FATAL;
}

int lgp_ckpt_is_stream(const char *meta_json) {
    lgp_json *m = lgp_json_parse(meta_json, strlen(meta_json), NULL, 0);
    int yes = strcmp(lgp_json_get_str(m, "kind", ""), "checkpoint") == 0;
    lgp_json_free(m);
    return yes;
}
