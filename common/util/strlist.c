/* strlist.c — see strlist.h. */
#include "common/util/strlist.h"

#include "common/lgp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lgp_strlist_push(lgp_strlist *s, const char *x) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) return LGP_FATAL;
        s->v = v, s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(x))) return LGP_FATAL;
    s->n++;
    return LGP_OK;
}

int lgp_strlist_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void lgp_strlist_sort_unique(lgp_strlist *s) {
    if (s->n) qsort(s->v, s->n, sizeof *s->v, lgp_strlist_cmp); /* an empty list may have no array */
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (k && strcmp(s->v[k - 1], s->v[i]) == 0) free(s->v[i]);
        else s->v[k++] = s->v[i];
    }
    s->n = k;
}

long lgp_strlist_find_sorted(const lgp_strlist *s, const char *x) {
    if (!s->n) return -1;
    char *const *p = bsearch(&x, s->v, s->n, sizeof *s->v, lgp_strlist_cmp);
    return p ? (long)(p - s->v) : -1;
}

int lgp_strlist_read_lines(lgp_strlist *s, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) return snprintf(err, errlen, "%s: %s", path, strerror(errno)), LGP_FATAL;
    char line[8192];
    int rc = LGP_OK;
    while (rc == LGP_OK && fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = 0;
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\t')) line[--n] = 0;
        if (n && lgp_strlist_push(s, line) != LGP_OK) snprintf(err, errlen, "out of memory"), rc = LGP_FATAL;
    }
    if (rc == LGP_OK && ferror(f)) snprintf(err, errlen, "%s: %s", path, strerror(errno)), rc = LGP_FATAL;
    fclose(f);
    return rc;
}

void lgp_strlist_free(lgp_strlist *s) {
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    s->v = NULL, s->n = s->cap = 0;
}

void lgp_key_stem(char *out, size_t cap, const char *s, size_t len) {
    const char *b = s;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '/') b = s + i + 1;
    size_t bl = len - (size_t)(b - s), e = bl;
    for (size_t i = bl; i > 0; i--)
        if (b[i - 1] == '.') {
            e = i - 1;
            break;
        }
    if (e == 0) e = bl; /* ".hidden" keeps its name */
    if (e >= cap) e = cap - 1;
    memcpy(out, b, e);
    out[e] = 0;
}
