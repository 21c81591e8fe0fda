/* archive.c — libarchive iteration with in-place inner tars, and the files of a
 * directory (see archive.h). */
#include "archive.h"

#include "common/lgp.h"
#include "json.h"
#include "tarindex.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct lgp_archive {
    struct archive *outer, *inner; /* inner != NULL while inside a nested tar */
    int flags;
    char *path;
    char name[4096];               /* current member path */
    char inner_stem[1024];
    char inner_name[4096];         /* outer member path of the current inner tar */
    int resync;                    /* damaged headers met since the last good one */
    uint8_t *buf;                  /* member data, grown as needed */
    size_t cap;
    lgp_tarindex *list;            /* a directory: its files (formats/tarindex.h), else NULL */
    size_t next;                   /* the next entry of list */
    int rootfd;                    /* the directory, for openat */
    char err[1024];
    uint8_t chunk[1 << 16];        /* inner tar bytes handed to libarchive */
};

static void set_err(lgp_archive *a, const char *fmt, const char *x, const char *y) {
    /* a long member name may be cut short in the message; that is fine */
    if (snprintf(a->err, sizeof a->err, fmt, a->path, x, y ? y : "unknown error") < 0) a->err[0] = 0;
}

static struct archive *new_reader(int any_format) {
    struct archive *r = archive_read_new();
    if (!r) return NULL;
    archive_read_support_filter_all(r);
    archive_read_support_format_tar(r);
    archive_read_support_format_gnutar(r);
    if (any_format) archive_read_support_format_zip(r);
    return r;
}

/* A directory: its listing and an fd to open its files relative to. */
static int open_dir(lgp_archive *a, const char *path, char *err, size_t errlen) {
    if (!(a->list = calloc(1, sizeof *a->list))) return snprintf(err, errlen, "%s: out of memory", path), LGP_FATAL;
    if (lgp_tarindex_build(a->list, path, err, errlen) != LGP_OK) return LGP_FATAL;
    if ((a->rootfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return snprintf(err, errlen, "%s: %s", path, strerror(errno)), LGP_FATAL;
    return LGP_OK;
}

int lgp_archive_open(lgp_archive **out, const char *path, int flags, char *err, size_t errlen) {
    *out = NULL;
    struct stat st;
    int dir = strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    lgp_archive *a = calloc(1, sizeof *a);
    if (a) a->rootfd = -1;
    if (a && dir) {
        a->flags = flags;
        if (!(a->path = strdup(path))) snprintf(err, errlen, "%s: out of memory", path);
        if (!a->path || open_dir(a, path, err, errlen) != LGP_OK) {
            lgp_archive_close(a);
            return LGP_FATAL;
        }
        *out = a;
        return LGP_OK;
    }
    if (!a || !(a->path = strdup(path)) || !(a->outer = new_reader(1))) {
        snprintf(err, errlen, "%s: out of memory", path);
        if (a) free(a->path);
        free(a);
        return LGP_FATAL;
    }
    a->flags = flags;
    int r = strcmp(path, "-") == 0 ? archive_read_open_fd(a->outer, 0, 1 << 16)
                                   : archive_read_open_filename(a->outer, path, 1 << 16);
    if (r != ARCHIVE_OK) {
        snprintf(err, errlen, "%s: %s", path, archive_error_string(a->outer) ? archive_error_string(a->outer) : "cannot open");
        lgp_archive_close(a);
        return LGP_FATAL;
    }
    *out = a;
    return LGP_OK;
}

/* libarchive client callback: the inner tar's bytes are the outer entry's data. */
static la_ssize_t inner_read(struct archive *inner, void *client, const void **buf) {
    (void)inner;
    lgp_archive *a = client;
    la_ssize_t n = archive_read_data(a->outer, a->chunk, sizeof a->chunk);
    *buf = a->chunk;
    return n;
}

static int open_inner(lgp_archive *a) {
    a->inner = new_reader(0);
    if (!a->inner) {
        set_err(a, "%s: %s: %s", a->name, "out of memory");
        return LGP_FATAL;
    }
    memcpy(a->inner_name, a->name, sizeof a->name);
    lgp_archive_stem(a->name, a->inner_stem, sizeof a->inner_stem);
    if (archive_read_open(a->inner, a, NULL, inner_read, NULL) != ARCHIVE_OK) {
        set_err(a, "%s: %s: inner tar: %s (skipped)", a->inner_name, archive_error_string(a->inner));
        archive_read_free(a->inner);
        a->inner = NULL;
        return LGP_BAD_RECORD;
    }
    return LGP_OK;
}

/* Reads the current entry's data of archive r into a->buf. */
static int read_data(lgp_archive *a, struct archive *r, lgp_member *m) {
    size_t n = 0;
    for (;;) {
        if (a->cap - n < (1 << 16)) {
            size_t nc = a->cap ? a->cap * 2 : (1 << 20);
            if (nc > LGP_ARCHIVE_MAX_MEMBER + (1 << 16)) {
                set_err(a, "%s: %s: %s", m->name, "member larger than 1 GiB (skipped)");
                return LGP_BAD_RECORD;
            }
            uint8_t *nb = realloc(a->buf, nc);
            if (!nb) {
                set_err(a, "%s: %s: %s", m->name, "out of memory");
                return LGP_FATAL;
            }
            a->buf = nb;
            a->cap = nc;
        }
        la_ssize_t got = archive_read_data(r, a->buf + n, a->cap - n);
        if (got < 0) {
            set_err(a, "%s: %s: %s", m->name, archive_error_string(r));
            return LGP_FATAL; /* the stream position is unknown: stop */
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    m->data = a->buf;
    m->size = n;
    return LGP_OK;
}

/* Next regular-file header of r; LGP_OK, LGP_EOF, LGP_BAD_RECORD (a damaged header: one
 * message per damaged stretch) or LGP_FATAL. */
static int next_header(lgp_archive *a, struct archive *r) {
    struct archive_entry *e;
    for (;;) {
        int rc = archive_read_next_header(r, &e);
        if (rc == ARCHIVE_EOF) return LGP_EOF;
        /* A damaged header: libarchive goes on at the next block that parses as one,
         * so the member it belonged to is lost. Say so once per damaged stretch. */
        if (rc == ARCHIVE_RETRY) {
            if (a->resync++) continue;
            const char *s = archive_error_string(r);
            if (snprintf(a->err, sizeof a->err, "%s: %s%sbyte %lld: %s: a member is lost (skipped)", a->path,
                         r == a->inner ? a->inner_name : "", r == a->inner ? ": " : "",
                         (long long)archive_read_header_position(r), s ? s : "damaged header") < 0)
                a->err[0] = 0;
            return LGP_BAD_RECORD;
        }
        a->resync = 0;
        if (rc < ARCHIVE_WARN) {
            const char *s = archive_error_string(r);
            if (snprintf(a->err, sizeof a->err, "%s: %s%s%s", a->path, a->inner ? a->inner_name : "",
                         a->inner ? ": " : "", s ? s : "unreadable archive") < 0)
                a->err[0] = 0;
            return LGP_FATAL;
        }
        if (archive_entry_filetype(e) != AE_IFREG) continue;
        const char *p = archive_entry_pathname(e);
        if (!p) continue;
        snprintf(a->name, sizeof a->name, "%s", p[0] == '.' && p[1] == '/' ? p + 2 : p);
        return LGP_OK;
    }
}

/* The member's file, whole (with LGP_ARCHIVE_PEEK an image's first bytes only), into
 * a->buf; LGP_BAD_RECORD naming the directory and the file when it cannot be read. */
static int read_file(lgp_archive *a, lgp_member *m) {
    int fd = openat(a->rootfd, m->name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    const char *why = fd < 0 || fstat(fd, &st) != 0 ? strerror(errno) : !S_ISREG(st.st_mode) ? "not a regular file"
                      : (uint64_t)st.st_size > LGP_ARCHIVE_MAX_MEMBER ? "member larger than 1 GiB" : NULL;
    size_t want = why ? 0 : (size_t)st.st_size, n = 0;
    if (!why && (a->flags & LGP_ARCHIVE_PEEK) && m->kind == LGP_MEMBER_IMAGE && want > LGP_ARCHIVE_PEEK_BYTES)
        want = LGP_ARCHIVE_PEEK_BYTES;
    if (!why && a->cap < want + 1) {
        uint8_t *nb = realloc(a->buf, want + 1);
        if (!nb) {
            close(fd);
            set_err(a, "%s: %s: %s", m->name, "out of memory");
            return LGP_FATAL;
        }
        a->buf = nb;
        a->cap = want + 1;
    }
    while (!why && n < want) { /* a file that shrank since its stat ends early: what it holds */
        ssize_t got = read(fd, a->buf + n, want - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) why = strerror(errno);
        if (got <= 0) break;
        n += (size_t)got;
    }
    if (fd >= 0) close(fd);
    if (why) {
        set_err(a, "%s: %s: %s (skipped)", m->name, why);
        return LGP_BAD_RECORD;
    }
    m->data = a->buf;
    m->size = n;
    return LGP_OK;
}

/* The next file of a directory: names only, or with its data; kinds no reader uses
 * (LGP_MEMBER_TAR, LGP_MEMBER_OTHER) come without data. */
static int next_file(lgp_archive *a, lgp_member *m) {
    if (a->next >= a->list->n) return LGP_EOF;
    const lgp_tarent *e = &a->list->v[a->next++];
    m->name = e->name;
    m->kind = lgp_archive_classify(e->name);
    if ((a->flags & LGP_ARCHIVE_NAMES_ONLY) || m->kind == LGP_MEMBER_TAR || m->kind == LGP_MEMBER_OTHER) return LGP_OK;
    return read_file(a, m);
}

int lgp_archive_next(lgp_archive *a, lgp_member *m) {
    memset(m, 0, sizeof *m);
    if (a->list) return next_file(a, m);
    for (;;) {
        if (a->inner) {
            int rc = next_header(a, a->inner);
            if (rc == LGP_OK) {
                m->name = a->name;
                m->inner = a->inner_stem;
                m->kind = lgp_archive_classify(a->name);
                return read_data(a, a->inner, m);
            }
            if (rc == LGP_BAD_RECORD) return rc; /* a damaged header: the inner tar goes on */
            archive_read_free(a->inner);
            a->inner = NULL;
            if (rc == LGP_FATAL) return LGP_BAD_RECORD; /* damaged inner tar: go on outside */
        }
        int rc = next_header(a, a->outer);
        if (rc != LGP_OK) return rc;
        m->name = a->name;
        m->kind = lgp_archive_classify(a->name);
        if (m->kind == LGP_MEMBER_TAR && (a->flags & LGP_ARCHIVE_NESTED) && !(a->flags & LGP_ARCHIVE_NAMES_ONLY)) {
            int r2 = open_inner(a);
            if (r2 != LGP_OK) return r2;
            continue;
        }
        if (a->flags & LGP_ARCHIVE_NAMES_ONLY) return LGP_OK;
        return read_data(a, a->outer, m);
    }
}

const char *lgp_archive_error(const lgp_archive *a) { return a->err; }

void lgp_archive_close(lgp_archive *a) {
    if (!a) return;
    if (a->inner) archive_read_free(a->inner);
    if (a->outer) archive_read_free(a->outer);
    if (a->list) lgp_tarindex_free(a->list);
    free(a->list);
    if (a->rootfd >= 0) close(a->rootfd);
    free(a->buf);
    free(a->path);
    free(a);
}

lgp_member_kind lgp_archive_classify(const char *name) {
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash + 1 : name, '.');
    if (!dot) return LGP_MEMBER_OTHER;
    static const struct { const char *ext; lgp_member_kind k; } tab[] = {
        {".jpg", LGP_MEMBER_IMAGE}, {".jpeg", LGP_MEMBER_IMAGE}, {".png", LGP_MEMBER_IMAGE},
        {".cls", LGP_MEMBER_CLS},   {".json", LGP_MEMBER_JSON},  {".tar", LGP_MEMBER_TAR},
    };
    for (size_t i = 0; i < LGP_ARRAY_LEN(tab); i++)
        if (strcasecmp(dot, tab[i].ext) == 0) return tab[i].k;
    return LGP_MEMBER_OTHER;
}

int lgp_archive_key(const char *name, char *key, size_t n) {
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strchr(base, '.');
    size_t len = dot ? (size_t)(dot - name) : strlen(name);
    if (len + 1 > n) return LGP_FATAL;
    memcpy(key, name, len);
    key[len] = 0;
    return LGP_OK;
}

int lgp_archive_stem(const char *name, char *stem, size_t n) {
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (len + 1 > n) return LGP_FATAL;
    memcpy(stem, base, len);
    stem[len] = 0;
    return LGP_OK;
}

int lgp_archive_folder(const char *name, char *dir, size_t n) {
    const char *sl = strrchr(name, '/'), *p = sl;
    if (!sl) return LGP_EOF;
    while (p > name && p[-1] != '/') p--;
    snprintf(dir, n, "%.*s", (int)(sl - p), p);
    return LGP_OK;
}

int lgp_archive_parse_label(const char *s, int64_t *v, const char **why) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && strchr(" \t\r\n", s[n - 1])) n--;
    char *end;
    if (!n) { *why = "empty"; return LGP_BAD_RECORD; }
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) {
            *why = "control characters";
            return LGP_BAD_RECORD;
        }
    if (!strchr("0123456789+-.", s[0])) return LGP_EOF;
    (void)strtod(s, &end);
    if (end != s + n) return LGP_EOF; /* starts like a number but is none: a name */
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end != s + n) *why = "not an integer";
    else if (s[0] == '-' && (x < 0 || errno == ERANGE)) *why = "negative";
    else if (errno == ERANGE || x > LGP_ARCHIVE_LABEL_MAX) *why = "larger than " LGP_ARCHIVE_LABEL_MAX_TEXT;
    else { *v = x; return LGP_OK; }
    return LGP_BAD_RECORD;
}

int lgp_archive_json_label(const uint8_t *data, size_t n, int64_t *v, const char **why) {
    lgp_json *j = lgp_json_parse((const char *)data, n, NULL, 0);
    if (!j) { *why = "not valid JSON"; return LGP_BAD_RECORD; }
    const lgp_json *x = j->type == LGP_JSON_OBJ ? lgp_json_get(j, "label") : NULL;
    if (!x && j->type == LGP_JSON_OBJ) x = lgp_json_get(j, "cls");
    int64_t k = -1;
    int rc = LGP_BAD_RECORD;
    if (!x) rc = LGP_EOF;
    else if (x->type != LGP_JSON_NUM) *why = "not a number";
    else if (lgp_json_to_i64(x, &k) != 0) /* not integral, or past 2^53 as a double */
        *why = x->num < 0 ? "negative" : x->num != floor(x->num) ? "not an integer" : "larger than " LGP_ARCHIVE_LABEL_MAX_TEXT;
    else if (k < 0) *why = "negative";
    else if (k > LGP_ARCHIVE_LABEL_MAX) *why = "larger than " LGP_ARCHIVE_LABEL_MAX_TEXT;
    else { *v = k; rc = LGP_OK; }
    lgp_json_free(j);
    return rc;
}

void lgp_archive_quote(char *q, size_t qn, const void *text, size_t n) {
    const unsigned char *s = text;
    size_t i = 0, k = 0;
    for (; i < n && k + 4 < qn; i++) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
            if (!k || q[k - 1] != ' ') q[k++] = ' ';
        } else q[k++] = s[i] >= 0x20 && s[i] != 0x7f && s[i] != '\'' ? (char)s[i] : '?';
    }
    if (i < n) memcpy(q + k, "...", 3), k += 3;
    q[k] = 0;
}
