/* archive.h — member-by-member iteration over image archives through libarchive, and
 * over the files of a directory.
 *
 * Reads tar (plain, .gz, .zst, .bz2, .xz — any filter libarchive knows) and zip, from a
 * file or from stdin ("-"). With LGP_ARCHIVE_NESTED, a member whose name ends in ".tar"
 * (ImageNet's train tar holds one n01440764.tar per class) is opened as an inner
 * archive and its members are returned in place, streaming from the outer entry's
 * data: nothing is extracted to disk and the inner tar is never held in memory whole.
 * Directories, links and other non-regular entries are skipped.
 *
 * A directory path yields its regular files, recursively, as members: the listing of
 * formats/tarindex.h (names relative to the directory without "./", strcmp order of
 * those names, hidden files and folders skipped, symlinks to files followed, to
 * folders not), so a directory and a tar of the same tree with relative names give
 * the same names in the same order when the tar's members are in that order. Each
 * file is opened (relative to the directory) and read whole when it is returned; one
 * that cannot be opened or read, is no longer a regular file, or is larger than
 * LGP_ARCHIVE_MAX_MEMBER is LGP_BAD_RECORD, "DIR: NAME: why (skipped)", and the next
 * call goes on with the next file. LGP_ARCHIVE_NESTED does not apply: a ".tar" file in
 * a folder is a member of kind LGP_MEMBER_TAR (common/data/imagesrc ignores it, as it
 * ignores any non-image file). Members of kind LGP_MEMBER_TAR and LGP_MEMBER_OTHER of
 * a directory are returned without data (data NULL, size 0) and never opened: nothing
 * reads them, and a folder may hold large or unreadable files beside its images. A
 * folder that cannot be read, the directory included, is LGP_FATAL at open.
 *
 * Ownership: lgp_archive is a heap object (_open/_close). A returned lgp_member is a
 * borrowed view: its name, inner and data stay valid until the next lgp_archive_next
 * or lgp_archive_close. Library code: returns LGP_OK, LGP_EOF (end of archive),
 * LGP_BAD_RECORD (this member or inner tar is unreadable; the next call continues
 * with the following outer member) or LGP_FATAL (the archive is unusable), with a
 * one-line message in lgp_archive_error. */
#ifndef LGP_ARCHIVE_H
#define LGP_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#define LGP_ARCHIVE_MAX_MEMBER ((size_t)1 << 30) /* a 1 GiB "image" is refused */

enum {
    LGP_ARCHIVE_NESTED = 1,     /* descend into *.tar members */
    LGP_ARCHIVE_NAMES_ONLY = 2, /* do not read member data (first pass over names) */
    LGP_ARCHIVE_PEEK = 4,       /* a directory's images: only their first LGP_ARCHIVE_PEEK_BYTES
                                   bytes (size = the bytes given), enough for the format's
                                   magic; other members whole; ignored by archives */
};
#define LGP_ARCHIVE_PEEK_BYTES 16

typedef enum {
    LGP_MEMBER_IMAGE, /* .jpg .jpeg .png (case-insensitive) */
    LGP_MEMBER_CLS,   /* .cls: WebDataset class index as text */
    LGP_MEMBER_JSON,  /* .json: WebDataset metadata */
    LGP_MEMBER_TAR,   /* .tar: an inner archive (only seen without NESTED) */
    LGP_MEMBER_OTHER,
    LGP_MEMBER_COUNT
} lgp_member_kind;

typedef struct {
    const char *name;     /* path inside its (inner) archive, borrowed */
    const char *inner;    /* stem of the enclosing inner tar ("n01440764"), or NULL */
    lgp_member_kind kind;
    const uint8_t *data;  /* [size] borrowed; NULL with LGP_ARCHIVE_NAMES_ONLY (and see above) */
    size_t size;
} lgp_member;

typedef struct lgp_archive lgp_archive;

int lgp_archive_open(lgp_archive **out, const char *path, int flags, char *err, size_t errlen);
int lgp_archive_next(lgp_archive *a, lgp_member *m);
const char *lgp_archive_error(const lgp_archive *a);
void lgp_archive_close(lgp_archive *a);

/* Kind from the name's last extension. */
lgp_member_kind lgp_archive_classify(const char *name);
/* WebDataset key: directory part + basename up to its first '.'. "a/b/x.y.jpg" ->
 * "a/b/x". Returns LGP_FATAL if it does not fit in n bytes. */
int lgp_archive_key(const char *name, char *key, size_t n);
/* Basename without its last extension: "train/n0144.tar" -> "n0144". */
int lgp_archive_stem(const char *name, char *stem, size_t n);
/* ImageFolder class: the name of the folder holding the member, "train/cat/x.jpg" ->
 * "cat", cut to n - 1 bytes (n >= 1). LGP_EOF if the name has no folder part. */
int lgp_archive_folder(const char *name, char *dir, size_t n);

/* Labels from WebDataset sidecars and label files. A label is a class index,
 * 0..LGP_ARCHIVE_LABEL_MAX; anything past 2^31 - 1 is a broken file, not a class. */
#define LGP_ARCHIVE_LABEL_MAX 2147483647
#define LGP_ARCHIVE_LABEL_MAX_TEXT "2147483647"
/* Label text (a .cls member's first line, a labels-file value), surrounding blanks
 * ignored. LGP_OK: *v is the index. LGP_EOF: not a number, so a class name
 * ("n01440764", "001.Albatross"). LGP_BAD_RECORD: empty, control characters, or a
 * number that is no index ("-5", "1.5", "1e3", 10^22); *why (static) says which. */
int lgp_archive_parse_label(const char *text, int64_t *v, const char **why);
/* A .json sidecar: {"label": N} or else {"cls": N}. LGP_OK: *v set. LGP_EOF: not an
 * object with either key (metadata without a label). LGP_BAD_RECORD: not valid JSON,
 * or the value is not an index ({"cls":"x"}, {"label":1e300}); *why says which. */
int lgp_archive_json_label(const uint8_t *data, size_t n, int64_t *v, const char **why);
/* The n bytes at s as a one-line quote in q[qn] (qn >= 8): whitespace runs become one
 * space, other control bytes and single quotes '?', a text cut short ends in "...". */
void lgp_archive_quote(char *q, size_t qn, const void *s, size_t n);

#endif
