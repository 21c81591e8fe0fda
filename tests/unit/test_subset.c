/* test_subset.c — few-shot subsets: --shots parsing, exact per-class counts,
 * determinism by seed, different seeds differ, indices inside the training set, and
 * list files (SimCLR names, "path label" lines, errors naming file:line). */
#include "common/lgp.h"
#include "common/eval/subset.h"
#include "tests/unit/tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_parse(void) {
    lgp_shots s;
    char err[256];
    ok(lgp_shots_parse(&s, "1%", err, sizeof err) == LGP_OK && s.kind == LGP_SHOTS_PERCENT && s.percent == 1, "'1%%' is a percentage");
    ok(lgp_shots_parse(&s, "12", err, sizeof err) == LGP_OK && s.kind == LGP_SHOTS_PER_CLASS && s.per_class == 12, "'12' is per class");
    ok(lgp_shots_parse(&s, "all", err, sizeof err) == LGP_OK && s.kind == LGP_SHOTS_ALL, "'all'");
    const char *bad[] = {"0%", "101%", "abc", "-3", "0", "1.5", "%", "10%x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        is_int(lgp_shots_parse(&s, bad[i], err, sizeof err), LGP_FATAL, "'%s' is refused", bad[i]);
    lgp_shots_parse(&s, "1%", err, sizeof err);
    ok(lgp_shots_count(&s, 1300) == 13 && lgp_shots_count(&s, 1250) == 13 && lgp_shots_count(&s, 40) == 1, "1%%: round(n/100), at least 1");
    lgp_shots_parse(&s, "7", err, sizeof err);
    ok(lgp_shots_count(&s, 100) == 7 && lgp_shots_count(&s, 3) == 3, "7 per class, capped by the class size");
}

/* Classes of different sizes, interleaved; class k has 50 + 13k members. */
enum { NK = 6 };
static size_t make_labels(int32_t *y) {
    size_t n = 0, left[NK];
    for (int k = 0; k < NK; k++) left[k] = 50 + 13 * (size_t)k;
    for (int more = 1; more;) {
        more = 0;
        for (int k = 0; k < NK; k++)
            if (left[k]) y[n++] = k, left[k]--, more = 1;
    }
    return n;
}

static void test_select(void) {
    int32_t y[1000];
    size_t n = make_labels(y), a[1000], b[1000], c[1000], ma, mb, mc;
    char err[256];
    lgp_shots s;
    const char *cases[] = {"10%", "7", "all", "1%"};
    for (size_t t = 0; t < 4; t++) {
        lgp_shots_parse(&s, cases[t], err, sizeof err);
        lgp_subset_select(a, &ma, y, n, NK, &s, 42, err, sizeof err);
        size_t cnt[NK] = {0}, exact = 1, sorted = 1;
        for (size_t i = 0; i < ma; i++) cnt[y[a[i]]]++, sorted &= i == 0 || a[i] > a[i - 1];
        for (int k = 0; k < NK; k++) exact &= cnt[k] == (size_t)lgp_shots_count(&s, 50 + 13 * k);
        ok(exact, "%s: exact count per class (class 0: %zu, class 5: %zu)", cases[t], cnt[0], cnt[5]);
        ok(sorted && (ma == 0 || a[ma - 1] < n), "%s: indices unique, ascending, inside the training set", cases[t]);
    }
    lgp_shots_parse(&s, "10%", err, sizeof err);
    lgp_subset_select(a, &ma, y, n, NK, &s, 42, err, sizeof err);
    lgp_subset_select(b, &mb, y, n, NK, &s, 42, err, sizeof err);
    lgp_subset_select(c, &mc, y, n, NK, &s, 43, err, sizeof err);
    ok(ma == mb && memcmp(a, b, ma * sizeof *a) == 0, "same seed, same subset");
    ok(ma == mc && memcmp(a, c, ma * sizeof *a) != 0, "seed 43 differs from seed 42");
    /* Per-class draws are keyed by class: dropping class 5's samples leaves the others' picks. */
    size_t n2 = 0;
    int32_t y2[1000];
    size_t map[1000];
    for (size_t i = 0; i < n; i++)
        if (y[i] != 5) y2[n2] = y[i], map[n2++] = i;
    lgp_subset_select(b, &mb, y2, n2, NK, &s, 42, err, sizeof err);
    size_t same = 0, na5 = 0;
    for (size_t i = 0; i < ma; i++) na5 += y[a[i]] != 5;
    for (size_t i = 0; i < mb; i++)
        for (size_t j = 0; j < ma; j++) same += map[b[i]] == a[j];
    ok(mb == na5 && same == mb, "other classes' samples do not move a class's choice (%zu of %zu)", same, mb);
    y[3] = 9;
    is_int(lgp_subset_select(a, &ma, y, n, NK, &s, 42, err, sizeof err), LGP_FATAL, "label outside [0, K) refused");
}

static void test_list(void) {
    const char *keys[] = {"n01/n01_1", "n01/n01_2", "n02/n02_1", "n02/n02_2", "val_1"};
    int32_t y[] = {0, 0, 1, 1, 1};
    char path[] = "/tmp/lgp-subset-XXXXXX", err[512];
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("# SimCLR names and converted lines\nn01_2.JPEG\n\ntrain/n02/n02_1.JPEG 1\n", f);
    fclose(f);
    size_t idx[5], m = 0;
    int rc = lgp_subset_from_list(idx, &m, keys, y, 5, path, err, sizeof err);
    ok(rc == LGP_OK && m == 2 && idx[0] == 1 && idx[1] == 2, "list picks records 1 and 2 (rc %d, m %zu)", rc, m);
    const char *bad[][2] = {{"n03_1.JPEG\n", ":1: 'n03_1.JPEG' matches no training record"},
                            {"n01_1 0\nn01_2 0\nn01/n01_1.JPEG\n", ":3: 'n01/n01_1.JPEG' is listed twice"},
                            {"n02_2.JPEG 0\n", ":1: label '0' but record 3 has label 1"}};
    for (size_t t = 0; t < 3; t++) {
        f = fopen(path, "w");
        fputs(bad[t][0], f);
        fclose(f);
        err[0] = 0;
        rc = lgp_subset_from_list(idx, &m, keys, y, 5, path, err, sizeof err);
        ok(rc == LGP_FATAL && strstr(err, bad[t][1]) && strncmp(err, path, strlen(path)) == 0, "bad list %zu: '%s'", t, err);
    }
    unlink(path);
    rc = lgp_subset_from_list(idx, &m, keys, y, 5, path, err, sizeof err);
    ok(rc == LGP_FATAL && strstr(err, "No such file"), "missing list file: '%s'", err);
}

int main(void) {
    test_parse();
    test_select();
    test_list();
    return done_testing();
}
