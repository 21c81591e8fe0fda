/* imgindex.c — positions of a seekable data set's images (see imgindex.h). */
#include "common/data/imgindex.h"

#include "common/lgp.h"
#include "formats/archive.h"
#include "formats/atomicfile.h"
#include "formats/stream.h"
#include "formats/tarindex.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "lgp-imgindex 2"
#define MAGIC1 "lgp-imgindex 1" /* tars only, entries as in 2: still read */

static int grow(lgp_imgindex *ix) {
    if (ix->n < ix->cap) return 0;
    int64_t c = ix->cap ? 2 * ix->cap : 4096;
    void *p[8] = {realloc(ix->input, (size_t)c * sizeof *ix->input), NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    if (p[0]) ix->input = p[0];
    if (p[0] && (p[1] = realloc(ix->offset, (size_t)c * sizeof *ix->offset))) ix->offset = p[1];
    if (p[1] && (p[2] = realloc(ix->size, (size_t)c * sizeof *ix->size))) ix->size = p[2];
    if (p[2] && (p[3] = realloc(ix->label, (size_t)c * sizeof *ix->label))) ix->label = p[3];
    if (p[3] && (p[4] = realloc(ix->png, (size_t)c))) ix->png = p[4];
    if (p[4] && (p[5] = realloc(ix->key, (size_t)c * sizeof *ix->key))) ix->key = p[5];
    if (p[5] && (p[6] = realloc(ix->path, (size_t)c * sizeof *ix->path))) ix->path = p[6];
    if (p[6] && (p[7] = realloc(ix->csize, (size_t)c * sizeof *ix->csize))) ix->csize = p[7];
    if (!p[7]) return -1;
    ix->cap = c;
    return 0;
}

/* path: the file relative to a folder input, or NULL (an image inside a tar or zip);
 * csize: the raw deflate bytes of a deflated zip member, else 0. */
static int add(lgp_imgindex *ix, int input, uint64_t off, uint64_t size, uint64_t csize, int64_t label, int png,
               const char *key, const char *path) {
    if (grow(ix)) return -1;
    char *k = strdup(key), *p = path ? strdup(path) : NULL;
    if (!k || (path && !p)) return free(k), free(p), -1;
    int64_t i = ix->n++;
    ix->input[i] = input, ix->offset[i] = off, ix->size[i] = size, ix->label[i] = label, ix->png[i] = (uint8_t)png;
    ix->key[i] = k, ix->path[i] = p, ix->csize[i] = csize;
    return 0;
}

void lgp_imgindex_free(lgp_imgindex *ix) {
    for (int64_t i = 0; i < ix->n; i++) free(ix->key[i]), free(ix->path[i]);
    free(ix->input), free(ix->offset), free(ix->size), free(ix->label), free(ix->png), free(ix->key), free(ix->path);
    free(ix->csize);
    for (int i = 0; ix->fds && i < ix->ninputs; i++)
        if (ix->fds[i] >= 0) close(ix->fds[i]);
    free(ix->fds);
    memset(ix, 0, sizeof *ix);
}

void lgp_imgindex_sig(char *sig, size_t n, const lgp_imagesrc *src, const char *labels_file) {
    char *const *names;
    size_t nc = 0;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the names, each with its NUL */
    if (lgp_imagesrc_classes(src, &names, &nc))
        for (size_t k = 0; k < nc; k++)
            for (const char *p = names[k];; p++) {
                h = (h ^ (uint8_t)*p) * 1099511628211ULL;
                if (!*p) break;
            }
    snprintf(sig, n, "classes %zu %016" PRIx64 " labels %s", nc, h, labels_file ? labels_file : "-");
}

/* The walker's entry key as imagesrc makes it: "inner/" + WebDataset key. */
static int entry_key(const lgp_tarent *e, char *key, size_t n) {
    int k = snprintf(key, n, "%s%s", e->inner ? e->inner : "", e->inner ? "/" : "");
    return k < 0 || (size_t)k >= n ? LGP_FATAL : lgp_archive_key(e->name, key + k, n - (size_t)k);
}

int lgp_imgindex_build(lgp_imgindex *ix, lgp_imagesrc *src, char *const *inputs, int ninputs,
                       void (*bad)(void *ctx, const char *msg), void *ctx, char *err, size_t errlen) {
    memset(ix, 0, sizeof *ix);
    lgp_tarindex *walk = calloc((size_t)(ninputs ? ninputs : 1), sizeof *walk);
    if (!walk) return snprintf(err, errlen, "out of memory"), LGP_FATAL;
    int rc = LGP_OK;
    for (int f = 0; f < ninputs && rc == LGP_OK; f++) {
        if (strcmp(inputs[f], "-") == 0) {
            rc = LGP_EOF;
            snprintf(err, errlen, "%s: stdin cannot be read by position", inputs[f]);
        } else if ((rc = lgp_tarindex_build(&walk[f], inputs[f], err, errlen)) == LGP_EOF) {
            char why[1024]; /* the walker's reason, without the path it starts with */
            size_t k = strlen(inputs[f]);
            snprintf(why, sizeof why, "%s", strncmp(err, inputs[f], k) == 0 && strncmp(err + k, ": ", 2) == 0 ? err + k + 2 : err);
            snprintf(err, errlen, "%s: not a plain tar or zip readable by position (%s)", inputs[f], why);
        } else if (rc == LGP_FATAL) {
            /* Damage the walk cannot step over: streaming skips what it can and says so. */
            size_t k = strlen(err);
            snprintf(err + k, errlen > k ? errlen - k : 0, ": cannot be indexed");
            rc = LGP_EOF;
        }
    }
    /* One pass of the source; each image it hands out is the next walker entry with the
     * same key (members the source skips, sidecars and other files are passed over).
     * Folders' images are only peeked at: their sizes are the listing's. */
    int f = 0;
    size_t w = 0;
    lgp_order_item it;
    char key[LGP_MAX_KEY];
    lgp_imagesrc_peek(src, 1);
    while (rc == LGP_OK) {
        int r = lgp_imagesrc_next(src, &it);
        if (r == LGP_EOF) break;
        if (r == LGP_BAD_RECORD) {
            if (bad) bad(ctx, lgp_imagesrc_error(src));
            continue;
        }
        if (r != LGP_OK) {
            snprintf(err, errlen, "%s", lgp_imagesrc_error(src));
            rc = LGP_FATAL;
            break;
        }
        int found = 0;
        for (; f < ninputs && !found; f++, w = 0) {
            for (; w < walk[f].n; w++) {
                const lgp_tarent *e = &walk[f].v[w];
                if (lgp_archive_classify(e->name) != LGP_MEMBER_IMAGE || entry_key(e, key, sizeof key) != LGP_OK ||
                    strcmp(key, it.key) != 0)
                    continue;
                found = 1;
                break;
            }
            if (found) break;
        }
        const lgp_tarent *e = found ? &walk[f].v[w] : NULL;
        int dir = found && walk[f].dir;
        uint64_t seen = dir && e->size > LGP_ARCHIVE_PEEK_BYTES ? LGP_ARCHIVE_PEEK_BYTES : found ? e->size : 0;
        if (!found || seen != it.size) {
            snprintf(err, errlen, "%s: image %s %s the %s: cannot index this %s", inputs[f < ninputs ? f : 0], it.key,
                     found ? "has another size in" : "is missing from", dir ? "listing" : "tar walk", dir ? "folder" : "archive");
            rc = LGP_EOF;
        } else if (add(ix, f, e->offset, e->size, e->method == LGP_TARENT_DEFLATE ? e->csize : 0, it.label,
                       strcmp(it.tname, "png") == 0, it.key, dir ? e->name : NULL)) {
            snprintf(err, errlen, "out of memory for the image index");
            rc = LGP_FATAL;
        }
        w++;
        lgp_order_item_free(&it);
    }
    lgp_imagesrc_peek(src, 0);
    for (int k = 0; k < ninputs; k++) lgp_tarindex_free(&walk[k]);
    free(walk);
    if (rc != LGP_OK) lgp_imgindex_free(ix);
    return rc;
}

/* "SIZE MTIME" of a file, "dir FILES HASH" of a folder (its listing: every file's
 * relative path, size and mtime), as the index records it. */
static int stamp(const char *path, char *out, size_t n) {
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        snprintf(out, n, "%lld %lld.%09ld", (long long)st.st_size, (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
        return 0;
    }
    lgp_tarindex ls;
    char err[256];
    if (lgp_tarindex_build(&ls, path, err, sizeof err) != LGP_OK) return -1;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over name, NUL, size and mtime of each */
    for (size_t i = 0; i < ls.n; i++) {
        uint64_t v[2] = {ls.v[i].size, (uint64_t)ls.v[i].mtime_ns};
        const uint8_t *p = (const uint8_t *)ls.v[i].name;
        for (size_t k = 0, len = strlen(ls.v[i].name) + 1; k < len; k++) h = (h ^ p[k]) * 1099511628211ULL;
        for (size_t k = 0; k < 16; k++) h = (h ^ (uint8_t)(v[k / 8] >> (8 * (k % 8)))) * 1099511628211ULL;
    }
    snprintf(out, n, "dir %zu %016" PRIx64, ls.n, h);
    lgp_tarindex_free(&ls);
    return 0;
}

int lgp_imgindex_save(const lgp_imgindex *ix, const char *path, char *const *inputs, int ninputs,
                      const char *sig, char *err, size_t errlen) {
    lgp_atomic a;
    if (lgp_atomic_open(&a, path, err, errlen) != LGP_OK) return LGP_FATAL;
    FILE *fp = fdopen(dup(a.fd), "w");
    if (!fp) {
        lgp_atomic_abort(&a);
        return snprintf(err, errlen, "%s: %s", path, strerror(errno)), LGP_FATAL;
    }
    fprintf(fp, MAGIC "\nsig %s\n", sig);
    char st[96];
    for (int f = 0; f < ninputs; f++) {
        if (stamp(inputs[f], st, sizeof st)) snprintf(st, sizeof st, "-1 -1");
        fprintf(fp, "input %s %s\n", st, inputs[f]);
    }
    fprintf(fp, "n %lld\n", (long long)ix->n);
    for (int64_t i = 0; i < ix->n; i++) {
        char z[24] = ""; /* a deflated zip member: 'd' and its compressed size after the kind */
        if (ix->csize[i]) snprintf(z, sizeof z, "d%" PRIu64, ix->csize[i]);
        fprintf(fp, "%d %" PRIu64 " %" PRIu64 " %lld %c%s %s\n", ix->input[i], ix->offset[i], ix->size[i],
                (long long)ix->label[i], ix->png[i] ? 'p' : 'j', z, ix->path[i] ? ix->path[i] : ix->key[i]);
    }
    int bad = fflush(fp) != 0 || ferror(fp);
    if (fclose(fp) != 0) bad = 1;
    if (bad) {
        lgp_atomic_abort(&a);
        return snprintf(err, errlen, "%s: write error", path), LGP_FATAL;
    }
    return lgp_atomic_commit(&a, err, errlen);
}

/* A folder entry's NAME: a path the listing could give (relative, no hidden part, no
 * empty part), its key in key[LGP_MAX_KEY]. */
static int dir_name_ok(const char *p, char *key) {
    return p[0] != '/' && p[0] != '.' && !strstr(p, "/.") && !strstr(p, "//") && p[strlen(p) - 1] != '/' &&
           lgp_archive_key(p, key, LGP_MAX_KEY) == LGP_OK;
}

int lgp_imgindex_load(lgp_imgindex *ix, const char *path, char *const *inputs, int ninputs,
                      const char *sig, char *err, size_t errlen) {
    memset(ix, 0, sizeof *ix);
    FILE *fp = fopen(path, "r");
    if (!fp) return snprintf(err, errlen, "%s: %s", path, strerror(errno)), errno == ENOENT ? LGP_EOF : LGP_FATAL;
    size_t cap = 0;
    char *line = NULL, st[96], key[LGP_MAX_KEY];
    uint8_t *isdir = calloc((size_t)ninputs + 1, 1);
    ssize_t len;
    int rc = isdir ? LGP_OK : LGP_FATAL;
    long long n = -1, lineno = 0;
    if (!isdir) snprintf(err, errlen, "out of memory");
#define NEXT() ((len = getline(&line, &cap, fp)) > 0 ? (line[len - 1] == '\n' ? (line[--len] = 0) : 0, ++lineno) : 0)
    if (rc == LGP_OK && (!NEXT() || (strcmp(line, MAGIC) != 0 && strcmp(line, MAGIC1) != 0)))
        rc = LGP_FATAL, snprintf(err, errlen, "%s: not an lgp image index", path);
    if (rc == LGP_OK && (!NEXT() || strncmp(line, "sig ", 4) != 0 || strcmp(line + 4, sig) != 0))
        rc = LGP_EOF, snprintf(err, errlen, "%s: made with other label rules (%s)", path, len > 4 ? line + 4 : "?");
    for (int f = 0; f < ninputs && rc == LGP_OK; f++) {
        char want[4400];
        if (stamp(inputs[f], st, sizeof st)) snprintf(st, sizeof st, "-1 -1");
        snprintf(want, sizeof want, "input %s %s", st, inputs[f]);
        isdir[f] = strncmp(st, "dir ", 4) == 0;
        if (!NEXT() || strcmp(line, want) != 0)
            rc = LGP_EOF, snprintf(err, errlen, "%s: made for other inputs or an older %s (%s)", path, inputs[f],
                                   isdir[f] ? "files added, removed or changed" : "size or mtime differ");
    }
    if (rc == LGP_OK && (!NEXT() || sscanf(line, "n %lld", &n) != 1 || n < 0))
        rc = LGP_FATAL, snprintf(err, errlen, "%s: line %lld: want 'n COUNT'", path, lineno);
    for (long long i = 0; i < n && rc == LGP_OK; i++) {
        int f, pos = 0, zn = 0;
        unsigned long long off, size, csize = 0;
        long long label;
        char kind;
        if (NEXT() && sscanf(line, "%d %llu %llu %lld %c%n", &f, &off, &size, &label, &kind, &pos) == 5 && pos &&
            line[pos] == 'd' && line[pos + 1] >= '1' && line[pos + 1] <= '9' && sscanf(line + pos + 1, "%llu%n", &csize, &zn) == 1)
            pos += 1 + zn; /* "jd123": deflated, 123 bytes at off */
        if (len <= 0 || !pos || f < 0 || f >= ninputs || (kind != 'j' && kind != 'p') || line[pos] != ' ' || !line[pos + 1] ||
            (isdir[f] && (off != 0 || csize || !dir_name_ok(line + pos + 1, key))))
            rc = LGP_FATAL, snprintf(err, errlen, "%s: line %lld: damaged entry", path, lineno);
        else if (add(ix, f, off, size, csize, label, kind == 'p', isdir[f] ? key : line + pos + 1,
                     isdir[f] ? line + pos + 1 : NULL))
            rc = LGP_FATAL, snprintf(err, errlen, "out of memory for the image index");
    }
    if (rc == LGP_OK && NEXT()) rc = LGP_FATAL, snprintf(err, errlen, "%s: line %lld: more entries than n %lld", path, lineno, n);
#undef NEXT
    free(line);
    free(isdir);
    fclose(fp);
    if (rc != LGP_OK) lgp_imgindex_free(ix);
    return rc;
}

int lgp_imgindex_open_inputs(lgp_imgindex *ix, char *const *inputs, int ninputs, char *err, size_t errlen) {
    ix->fds = malloc((size_t)(ninputs ? ninputs : 1) * sizeof *ix->fds);
    if (!ix->fds) return snprintf(err, errlen, "out of memory"), LGP_FATAL;
    ix->ninputs = ninputs;
    for (int f = 0; f < ninputs; f++) ix->fds[f] = -1;
    for (int f = 0; f < ninputs; f++)
        if ((ix->fds[f] = open(inputs[f], O_RDONLY | O_CLOEXEC)) < 0)
            return snprintf(err, errlen, "%s: %s", inputs[f], strerror(errno)), LGP_FATAL;
    return LGP_OK;
}

int lgp_imgindex_read(const lgp_imgindex *ix, char *const *inputs, int64_t i, lgp_order_item *it, char *err,
                      size_t errlen) {
    LGP_ASSERT(i >= 0 && i < ix->n && ix->fds);
    size_t n = (size_t)ix->size[i];
    uint8_t *d = malloc(n ? n : 1);
    char *k = strdup(ix->key[i]);
    if (!d || !k) {
        free(d), free(k);
        return snprintf(err, errlen, "out of memory"), LGP_FATAL;
    }
    int f = ix->input[i], fd = ix->fds[f];
    const char *p = ix->path[i]; /* a folder's file: opened, read from byte 0 */
    if (p) {
        struct stat st;
        fd = openat(ix->fds[f], p, O_RDONLY | O_CLOEXEC);
        const char *why = fd < 0 || fstat(fd, &st) != 0 ? strerror(errno) : (uint64_t)st.st_size != n ? "another size" : NULL;
        if (why) {
            if (fd >= 0) close(fd);
            free(d), free(k);
            return snprintf(err, errlen, "%s: %s: %s (has the folder changed since it was indexed?)", inputs[f], p, why),
                   LGP_FATAL;
        }
    }
    char why[512];
    uint64_t cs = ix->csize[i]; /* a deflated zip member's stream, else the bytes as they are */
    int rc = lgp_tarindex_read(fd, p ? 0 : ix->offset[i], n, cs ? cs : n, cs ? LGP_TARENT_DEFLATE : LGP_TARENT_STORED, d, why,
                               sizeof why);
    if (p) close(fd);
    if (rc != LGP_OK) {
        free(d), free(k);
        return snprintf(err, errlen, "%s: %s: %s (has the %s changed?)", inputs[f], p ? p : ix->key[i], why,
                        p ? "folder" : "archive"), LGP_FATAL;
    }
    *it = (lgp_order_item){.key = k, .id = i, .label = ix->label[i], .tname = ix->png[i] ? "png" : "jpeg", .ndim = 1,
                           .shape = {(int64_t)n}, .data = d, .size = n};
    return LGP_OK;
}
