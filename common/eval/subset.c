/* subset.c — few-shot subsets (see subset.h). */
#include "common/eval/subset.h"
#include "common/util/strlist.h"

#include "common/lgp.h"
#include "common/util/rng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lgp_shots_parse(lgp_shots *s, const char *text, char *err, size_t errlen) {
    char *end;
    memset(s, 0, sizeof *s);
    if (strcmp(text, "all") == 0) return s->kind = LGP_SHOTS_ALL, LGP_OK;
    errno = 0;
    double v = strtod(text, &end);
    if (end != text && strcmp(end, "%") == 0 && !errno && v > 0 && v <= 100) {
        s->kind = LGP_SHOTS_PERCENT, s->percent = v;
        return LGP_OK;
    }
    long long nn = strtoll(text, &end, 10);
    if (end != text && *end == 0 && !errno && nn >= 1 && text[0] != '+' && text[0] != '-') {
        s->kind = LGP_SHOTS_PER_CLASS, s->per_class = nn;
        return LGP_OK;
    }
    snprintf(err, errlen, "shots '%s': want 'all', a percentage in (0, 100] like '1%%', or a count per class >= 1", text);
    return LGP_FATAL;
}

int64_t lgp_shots_count(const lgp_shots *s, int64_t n_class) {
    int64_t c;
    switch (s->kind) {
    case LGP_SHOTS_PERCENT: c = (int64_t)llround(s->percent / 100.0 * (double)n_class); c = c < 1 ? 1 : c; break;
    case LGP_SHOTS_PER_CLASS: c = s->per_class; break;
    default: c = n_class;
    }
    return c < n_class ? c : n_class;
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int lgp_subset_select(size_t *idx, size_t *m, const int32_t *y, size_t n, int K,
                      const lgp_shots *s, uint64_t seed, char *err, size_t errlen) {
    size_t *mem = malloc((n ? n : 1) * sizeof *mem), out = 0;
    if (!mem) {
        snprintf(err, errlen, "subset: out of memory (%zu samples)", n);
        return LGP_FATAL;
    }
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= K) {
            snprintf(err, errlen, "subset: sample %zu: label %d outside [0, %d)", i, (int)y[i], K);
            free(mem);
            return LGP_FATAL;
        }
    /* Counting sort by class, stable, so each class's members stay in input order. */
    size_t *start = calloc((size_t)K + 1, sizeof *start);
    if (!start) {
        snprintf(err, errlen, "subset: out of memory (%d classes)", K);
        free(mem);
        return LGP_FATAL;
    }
    for (size_t i = 0; i < n; i++) start[y[i] + 1]++;
    for (int k = 0; k < K; k++) start[k + 1] += start[k];
    {
        size_t *pos = malloc(((size_t)K + 1) * sizeof *pos);
        if (!pos) {
            snprintf(err, errlen, "subset: out of memory (%d classes)", K);
            free(mem), free(start);
            return LGP_FATAL;
        }
        memcpy(pos, start, ((size_t)K + 1) * sizeof *pos);
        for (size_t i = 0; i < n; i++) mem[pos[y[i]]++] = i;
        free(pos);
    }
    for (int k = 0; k < K; k++) {
        size_t *cm = mem + start[k], nk = start[k + 1] - start[k]; /* class k's members */
        size_t want = (size_t)lgp_shots_count(s, (int64_t)nk);
        lgp_rng r;
        lgp_rng_init(&r, seed, (uint64_t)k, 0, LGP_RNG_SUBSET);
        /* Partial Fisher–Yates: the first `want` slots are a uniform random subset. */
        for (size_t i = 0; i < want; i++) {
            size_t j = i + (size_t)lgp_rng_below(&r, nk - i), t = cm[i];
            cm[i] = cm[j], cm[j] = t;
            idx[out++] = cm[i];
        }
    }
    free(start);
    qsort(idx, out, sizeof *idx, cmp_size);
    *m = out;
    free(mem);
    return LGP_OK;
}

typedef struct {
    char *stem;
    size_t idx;
} stem_entry;

static int cmp_stem(const void *a, const void *b) {
    const stem_entry *x = a, *y = b;
    int c = strcmp(x->stem, y->stem);
    return c ? c : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static void free_stems(stem_entry *e, size_t n) {
    for (size_t i = 0; i < n; i++) free(e[i].stem);
    free(e);
}

/* One list line: finds its record (by stem), checks its label, marks it taken. */
static int match_line(char *line, size_t lineno, const stem_entry *tab, size_t n, const int32_t *y,
                      unsigned char *taken, const char *path, char *err, size_t errlen) {
    char *name = strtok(line, " \t\r\n"), *lab = strtok(NULL, " \t\r\n"), st[4096];
    if (!name || name[0] == '#') return 0;
    lgp_key_stem(st, sizeof st, name, strlen(name));
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first entry with stem >= st */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(tab[mid].stem, st) < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo == n || strcmp(tab[lo].stem, st) != 0)
        return snprintf(err, errlen, "%s:%zu: '%s' matches no training record", path, lineno, name), -1;
    if (lo + 1 < n && strcmp(tab[lo + 1].stem, st) == 0)
        return snprintf(err, errlen, "%s:%zu: '%s' matches several training records", path, lineno, name), -1;
    size_t i = tab[lo].idx;
    if (taken[i]) return snprintf(err, errlen, "%s:%zu: '%s' is listed twice", path, lineno, name), -1;
    if (lab) {
        char *end;
        long long v = strtoll(lab, &end, 10);
        if (*end || end == lab || v != y[i])
            return snprintf(err, errlen, "%s:%zu: label '%s' but record %zu has label %d", path, lineno, lab, i, (int)y[i]), -1;
    }
    taken[i] = 1;
    return 1;
}

int lgp_subset_from_list(size_t *idx, size_t *m, const char *const *keys, const int32_t *y,
                         size_t n, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) return snprintf(err, errlen, "%s: %s", path, strerror(errno)), LGP_FATAL;
    stem_entry *tab = calloc(n ? n : 1, sizeof *tab);
    unsigned char *taken = calloc(n ? n : 1, 1);
    int rc = tab && taken ? LGP_OK : LGP_FATAL;
    for (size_t i = 0; i < n && rc == LGP_OK; i++) {
        char st[4096];
        lgp_key_stem(st, sizeof st, keys[i], strlen(keys[i]));
        tab[i].idx = i;
        if (!(tab[i].stem = strdup(st))) rc = LGP_FATAL;
    }
    if (rc != LGP_OK) snprintf(err, errlen, "%s: out of memory indexing %zu keys", path, n);
    else qsort(tab, n, sizeof *tab, cmp_stem);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    while (rc == LGP_OK && getline(&line, &cap, f) >= 0)
        if (match_line(line, ++lineno, tab, n, y, taken, path, err, errlen) < 0) rc = LGP_FATAL;
    if (rc == LGP_OK && ferror(f)) rc = LGP_FATAL, snprintf(err, errlen, "%s: read error", path);
    size_t out = 0;
    for (size_t i = 0; i < n && rc == LGP_OK; i++)
        if (taken[i]) idx[out++] = i;
    if (rc == LGP_OK && out == 0) rc = LGP_FATAL, snprintf(err, errlen, "%s: lists no samples", path);
    *m = out;
    free(line), free(taken), fclose(f);
    if (tab) free_stems(tab, n);
    return rc;
}
