/* subset.h — few-shot training subsets for lgp-probe.
 *
 * A subset is given either as a size (`--shots`): "all", a percentage of each class
 * ("1%", "10%", "0.5%": round(p·n_c) samples of class c, at least 1), or N per class
 * ("13": min(N, n_c)); or as a list file (`--shots-file`) in the split files' form:
 * one sample per line, "path label" (docs/METHOD.md §5.2's imagenet_1percent.txt) or just a name
 * (SimCLR's 1percent.txt). A line matches the training record whose key has the same
 * basename without extension ("train/n01440764/n01440764_10026.JPEG" ↔ key
 * "n01440764/n01440764_10026"); blank lines and lines starting with '#' are skipped.
 *
 * Size-based selection is stratified and a pure function of (seed, class, the class's
 * members in input order): each class's members are shuffled by a generator keyed
 * (seed, class, 0, LGP_RNG_SUBSET) and the first count taken, so adding samples of
 * another class changes nothing. Selected indices come back sorted ascending in a
 * caller-owned array of n entries. Nothing here exits; errors fill err. */
#ifndef LGP_SUBSET_H
#define LGP_SUBSET_H

#include <stddef.h>
#include <stdint.h>

typedef enum { LGP_SHOTS_ALL = 0, LGP_SHOTS_PERCENT = 1, LGP_SHOTS_PER_CLASS = 2 } lgp_shots_kind;

typedef struct {
    lgp_shots_kind kind;
    double percent;    /* LGP_SHOTS_PERCENT: in (0, 100] */
    int64_t per_class; /* LGP_SHOTS_PER_CLASS: >= 1 */
} lgp_shots;

/* "all" | "<p>%" | "<N>"; LGP_OK or LGP_FATAL with a message. */
int lgp_shots_parse(lgp_shots *s, const char *text, char *err, size_t errlen);
/* Samples wanted from a class of n_class members. */
int64_t lgp_shots_count(const lgp_shots *s, int64_t n_class);

/* idx [n] receives the *m chosen indices of samples with labels y [n] in [0, K). */
int lgp_subset_select(size_t *idx, size_t *m, const int32_t *y, size_t n, int K,
                      const lgp_shots *s, uint64_t seed, char *err, size_t errlen);

/* Same from a list file matched against keys [n] (labels y [n] are checked against the
 * list's labels when a line has one). Every line must match exactly one record, and
 * no record twice; err names the file and line. */
int lgp_subset_from_list(size_t *idx, size_t *m, const char *const *keys, const int32_t *y,
                         size_t n, const char *path, char *err, size_t errlen);

#endif
