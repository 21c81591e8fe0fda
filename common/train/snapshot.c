/* snapshot.c — see snapshot.h. */
#include "common/train/snapshot.h"

#include "common/lgp.h"
#include "formats/checkpoint.h"
#include "formats/json.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Removes the temporaries that writers killed mid-save left: `.PREFIX-stepN.ckpt.tmp.PID`
 * (the snapshot) and `PREFIX-latest.ckpt.tmp.PID` (the link), once PID is gone. Run before
 * each save, so a second kill during the next process's first save cannot pile them up. */
static void remove_dead_temporaries(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    if (!d) return;
    char step[128], latest[128];
    snprintf(step, sizeof step, ".%s-step", prefix);
    snprintf(latest, sizeof latest, "%s-latest.ckpt.tmp.", prefix);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp.");
        if (!t || (strncmp(e->d_name, step, strlen(step)) && strncmp(e->d_name, latest, strlen(latest)))) continue;
        long pid = strtol(t + 5, NULL, 10);
        if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
}

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
    remove_dead_temporaries(dir, prefix);
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

int lgp_snapshot_rollback(const char *dir, const char *prefix, const lgp_record *live, int64_t *step, int64_t *opt_t,
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

int lgp_snapshot_keep_partial(const char *dir, const char *prefix, int keep, const char *out_path, int64_t step,
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
