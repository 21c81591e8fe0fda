/* trainer.c — see trainer.h. */
#include "common/train/trainer.h"

#include "formats/checkpoint.h"
#include "formats/json.h"
#include "common/lgp.h"
#include "common/util/signals.h"

#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lgp_schedule_make_dist(lgp_schedule *s, int64_t steps, double epochs, int64_t samples_per_epoch,
                           double warmup_epochs, int64_t warmup_steps, int batch, int accum, int world,
                           double blr, double lr_abs, double min_lr, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->batch = batch;
    s->accum = accum;
    s->world = world;
    int64_t per_step = (int64_t)batch * accum * world;
    if (samples_per_epoch > 0) s->steps_per_epoch = samples_per_epoch / per_step;
    if (steps > 0) s->total_steps = steps;
    else if (epochs > 0 && s->steps_per_epoch > 0) s->total_steps = (int64_t)llround(epochs * (double)s->steps_per_epoch);
    else if (epochs > 0)
        return snprintf(err, errlen, "--epochs needs the number of records per epoch: the input does not announce it; "
                                     "give --samples-per-epoch N or --steps N"), LGP_FATAL;
    else return snprintf(err, errlen, "give --steps N or --epochs E"), LGP_FATAL;
    if (s->total_steps < 1)
        return snprintf(err, errlen, "the schedule has no step (epoch of %lld records < batch %lld)",
                        (long long)samples_per_epoch, (long long)per_step), LGP_FATAL;
    if (warmup_steps >= 0) s->warmup_steps = warmup_steps;
    else s->warmup_steps = (int64_t)llround(warmup_epochs * (double)s->steps_per_epoch);
    if (s->warmup_steps > s->total_steps) s->warmup_steps = s->total_steps;
    s->blr = blr;
    s->lr = lr_abs > 0 ? lr_abs : blr * (double)per_step / 256.0;
    s->min_lr = min_lr;
    return LGP_OK;
}

int lgp_schedule_make(lgp_schedule *s, int64_t steps, double epochs, int64_t samples_per_epoch,
                      double warmup_epochs, int64_t warmup_steps, int batch, int accum,
                      double blr, double lr_abs, double min_lr, char *err, size_t errlen) {
    return lgp_schedule_make_dist(s, steps, epochs, samples_per_epoch, warmup_epochs, warmup_steps, batch,
                                  accum, 1, blr, lr_abs, min_lr, err, errlen);
}

int64_t lgp_stream_records_per_epoch(const char *meta_json) {
    lgp_json *m = lgp_json_parse(meta_json, strlen(meta_json), NULL, 0);
    int64_t n = lgp_json_get_i64_def(m, "records_per_epoch", lgp_json_get_i64_def(m, "count", -1));
    lgp_json_free(m);
    return n > 0 ? n : -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Removes all but the newest `keep` snapshots of prefix in dir (names sort by step). */
static void prune(const char *dir, const char *prefix, int keep) {
    DIR *d = opendir(dir);
    if (!d) return;
    char **names = NULL, pat[128];
    size_t n = 0, cap = 0;
    snprintf(pat, sizeof pat, "%s-step", prefix);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        const char *t = strstr(e->d_name, ".tmp.");
        if (e->d_name[0] == '.' && t && strncmp(e->d_name + 1, pat, strlen(pat)) == 0) {
            /* A temporary left by a writer that was killed: remove it once its owner is gone. */
            long pid = strtol(t + 5, NULL, 10);
            if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
                char p[4096];
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                unlink(p);
            }
            continue;
        }
        if (strncmp(e->d_name, pat, strlen(pat)) || l < 5 || strcmp(e->d_name + l - 5, ".ckpt")) continue;
        if (n == cap) names = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i + (size_t)keep < n; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

int lgp_snapshot_save(const char *dir, const char *prefix, int64_t step, int keep,
                      const lgp_record *rec, const char *meta_json, const lgp_writer_opts *o,
                      char *path_out, size_t cap, char *err, size_t errlen) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return snprintf(err, errlen, "%s: cannot create folder: %s", dir, strerror(errno)), LGP_FATAL;
    char name[128], link[4096], tmp[4200];
    snprintf(name, sizeof name, "%s-step%08lld.ckpt", prefix, (long long)step);
    snprintf(path_out, cap, "%s/%s", dir, name);
    if (lgp_ckpt_save(path_out, rec, meta_json, o, err, errlen) != LGP_OK) return LGP_FATAL;
    snprintf(link, sizeof link, "%s/%s-latest.ckpt", dir, prefix);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", link, (long)getpid());
    unlink(tmp);
    if (symlink(name, tmp) != 0 || rename(tmp, link) != 0) {
        unlink(tmp);
        return snprintf(err, errlen, "%s: cannot update: %s", link, strerror(errno)), LGP_FATAL;
    }
    if (keep > 0) prune(dir, prefix, keep);
    return LGP_OK;
}

int64_t lgp_first_nonfinite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return (int64_t)i;
    return -1;
}

int lgp_rollback(const char *dir, const char *prefix, const lgp_record *live, int64_t *step, int64_t *opt_t,
                 char *path_out, size_t cap, char *err, size_t errlen) {
    snprintf(path_out, cap, "%s/%s-latest.ckpt", dir, prefix);
    lgp_record rec;
    lgp_record_init(&rec);
    char *meta = NULL;
    int rc = lgp_ckpt_load(path_out, &rec, &meta, err, errlen);
    lgp_json *m = rc == LGP_OK ? lgp_json_parse(meta, strlen(meta), NULL, 0) : NULL;
    if (rc == LGP_OK && !m) {
        snprintf(err, errlen, "%s: unreadable __meta__", path_out);
        rc = LGP_FATAL;
    }
    /* Every tensor of the live state must come back, or the state would be a mix. */
    for (size_t i = 0; rc == LGP_OK && i < live->n; i++) {
        const lgp_tensor *d = &live->t[i], *s = lgp_record_get(&rec, d->name);
        if (!s || s->dtype != d->dtype || s->nbytes != d->nbytes) {
            snprintf(err, errlen, "%s: %s %s", path_out, d->name, s ? "has another shape" : "missing");
            rc = LGP_FATAL;
        }
    }
    if (rc == LGP_OK) {
        for (size_t i = 0; i < live->n; i++)
            memcpy(live->t[i].data, lgp_record_get(&rec, live->t[i].name)->data, live->t[i].nbytes);
        *step = lgp_json_get_i64_def(m, "step", 0);
        *opt_t = lgp_json_get_i64_def(lgp_json_get(m, "optim"), "t", *step);
    }
    lgp_json_free(m);
    free(meta);
    lgp_record_free(&rec);
    return rc;
}

int lgp_nan_policy_parse(const char *s) {
    return !strcmp(s, "skip") ? LGP_NAN_SKIP : !strcmp(s, "stop") ? LGP_NAN_STOP : !strcmp(s, "rollback") ? LGP_NAN_ROLLBACK : -1;
}

int lgp_schedule_check_resume(const lgp_schedule *stored, const lgp_schedule *asked, unsigned given,
                              char *err, size_t errlen) {
    struct {
        unsigned bit;
        const char *flag;
        double want, have;
    } c[] = {
        {LGP_GIVEN_LENGTH, "--steps/--epochs (total steps)", (double)asked->total_steps, (double)stored->total_steps},
        {LGP_GIVEN_BATCH, "--batch", asked->batch, stored->batch},
        {LGP_GIVEN_ACCUM, "--accum", asked->accum, stored->accum},
        {LGP_GIVEN_LR, "--lr/--blr (peak lr)", asked->lr, stored->lr},
        {LGP_GIVEN_MIN_LR, "--min-lr", asked->min_lr, stored->min_lr},
        {LGP_GIVEN_WARMUP, "--warmup-steps/--warmup-epochs (warmup steps)", (double)asked->warmup_steps,
         (double)stored->warmup_steps},
    };
    for (size_t i = 0; i < LGP_ARRAY_LEN(c); i++) {
        if (!(given & c[i].bit)) continue;
        double d = fabs(c[i].want - c[i].have), scale = fabs(c[i].have) > 1 ? fabs(c[i].have) : 1;
        if (d > 1e-9 * scale)
            return snprintf(err, errlen, "--resume: %s %.9g differs from the resumed run's %.9g; a resumed run keeps its "
                                         "schedule (give the same options, or none)",
                            c[i].flag, c[i].want, c[i].have), LGP_FATAL;
    }
    return LGP_OK;
}

void lgp_trainer_input(lgp_reader *r, int world) {
    lgp_reader_set_concat(r, 1);
    /* With several ranks a rank that stopped reading alone would leave the others in a
     * collective; there the stop is agreed after each step instead. */
    if (world == 1) lgp_reader_set_stop_flag(r, &lgp_stop_requested);
}

int lgp_trainer_keep_partial(const char *dir, const char *prefix, int keep, const char *out_path, int64_t step,
                             const lgp_record *rec, const char *meta_json, const lgp_writer_opts *o, char *where,
                             size_t cap, char *err, size_t errlen) {
    where[0] = 0;
    if (dir) return lgp_snapshot_save(dir, prefix, step, keep, rec, meta_json, o, where, cap, err, errlen);
    if (!out_path) return LGP_OK;
    snprintf(where, cap, "%s.partial", out_path);
    int rc = lgp_ckpt_save(where, rec, meta_json, o, err, errlen);
    if (rc != LGP_OK) where[0] = 0;
    return rc;
}
