/* strlist.h — a growable list of strings: the class lists, labels-file columns and
 * member-name lists that tar-images builds before its first record.
 *
 * Ownership: an lgp_strlist is a caller-owned struct, zero-initialised to empty; it
 * owns a copy of every string pushed (lgp_strlist_push strdup's) and the array, both
 * released by lgp_strlist_free. lgp_strlist_sort_unique frees the duplicates it drops.
 * Nothing here exits: allocation failures return LGP_FATAL. */
#ifndef LGP_STRLIST_H
#define LGP_STRLIST_H

#include <stddef.h>

typedef struct {
    char **v;
    size_t n, cap;
} lgp_strlist;

/* Appends a copy of x. LGP_OK or LGP_FATAL (out of memory). */
int lgp_strlist_push(lgp_strlist *s, const char *x);
/* Sorts by strcmp and drops repeats. */
void lgp_strlist_sort_unique(lgp_strlist *s);
/* Index of x in a list sorted by strcmp, or -1. */
long lgp_strlist_find_sorted(const lgp_strlist *s, const char *x);
/* Appends the non-empty lines of the file at path, trailing blanks and CR/LF removed
 * (lines are cut at 8191 bytes). LGP_OK, or LGP_FATAL with "path: strerror" in err. */
int lgp_strlist_read_lines(lgp_strlist *s, const char *path, char *err, size_t errlen);
/* The stem of a record key or list name: "train/n01/n01_10026.JPEG" -> "n01_10026"
 * (the part after the last '/', without its last extension), into out (bounded). Split
 * files and keys meet on it (lgp-probe --shots-file, lgp-augment --keep-list). */
void lgp_key_stem(char *out, size_t cap, const char *s, size_t len);
/* qsort/bsearch comparison of two char * elements. */
int lgp_strlist_cmp(const void *a, const void *b);
void lgp_strlist_free(lgp_strlist *s);

#endif
