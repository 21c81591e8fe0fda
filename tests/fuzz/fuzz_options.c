/* fuzz_options.c — libFuzzer target: the option parsers that return instead of exiting.
 * lgp_opt_double/_int/_u64 (common/util/log.h) exit on bad input and the --shard parser is
 * private to bin/lgp-tar-images.c, so this covers common/eval/subset.h: lgp-probe's --shots
 * parser, the stratified selection it drives, and the --shots-file list matcher.
 * Input: line 1 is the --shots text; the remaining bytes are both the labels of a small
 * training set (one byte per sample) and, as text, a --shots-file.
 * Checked: an accepted --shots is in range; the selection is strictly ascending, in
 * range, and takes exactly lgp_shots_count(n_c) of each class c (counted here
 * independently); a list match returns distinct listed records only. */
#include "common/eval/subset.h"

#include "common/lgp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NMAX 512
#define KMAX 16

static void check_select(const lgp_shots *s, const uint8_t *b, size_t nb) {
    size_t n = nb < NMAX ? nb : NMAX, idx[NMAX + 1], m = 0;
    int32_t y[NMAX + 1];
    int K = 1 + (nb ? b[0] % KMAX : 0);
    int64_t per[KMAX] = {0}, got[KMAX] = {0};
    for (size_t i = 0; i < n; i++) per[y[i] = b[i] % K]++;
    char err[256] = "";
    int rc = lgp_subset_select(idx, &m, y, n, K, s, 42, err, sizeof err);
    LGP_ASSERT(rc == LGP_OK && m <= n);
    for (size_t i = 0; i < m; i++) {
        LGP_ASSERT(idx[i] < n && (i == 0 || idx[i - 1] < idx[i]));
        got[y[idx[i]]]++;
    }
    for (int k = 0; k < K; k++) {
        int64_t want = lgp_shots_count(s, per[k]);
        LGP_ASSERT(got[k] == want && want <= per[k] && (per[k] == 0 || want >= 1));
    }
}

/* Keys "nKK/xI" with labels from the bytes; the list file is the bytes as text. */
static void check_list(const uint8_t *b, size_t nb) {
    enum { N = 64 };
    char kb[N][16];
    const char *keys[N];
    int32_t y[N];
    size_t idx[N], m = 0;
    for (size_t i = 0; i < N; i++) {
        y[i] = (int32_t)(i % 5);
        snprintf(kb[i], sizeof kb[i], "n%02d/x%zu", (int)y[i], i);
        keys[i] = kb[i];
    }
    int fd = memfd_create("fuzz-list", 0);
    if (fd < 0) return;
    if (write(fd, b, nb) != (ssize_t)nb) { close(fd); return; }
    char path[64], err[512] = "";
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int rc = lgp_subset_from_list(idx, &m, keys, y, N, path, err, sizeof err);
    if (rc == LGP_OK) {
        LGP_ASSERT(m >= 1 && m <= N);
        for (size_t i = 0; i < m; i++) LGP_ASSERT(idx[i] < N && (i == 0 || idx[i - 1] < idx[i]));
    } else {
        LGP_ASSERT(err[0]);
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 16)) return 0;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t l = nl ? (size_t)(nl - data) : size;
    char *text = malloc(l + 1);
    if (!text) return 0;
    memcpy(text, data, l);
    text[l] = 0;
    lgp_shots s;
    char err[512] = "";
    int rc = lgp_shots_parse(&s, text, err, sizeof err);
    free(text);
    const uint8_t *rest = nl ? nl + 1 : data + size;
    size_t nrest = size - (size_t)(rest - data);
    if (rc == LGP_OK) {
        LGP_ASSERT(s.kind == LGP_SHOTS_ALL || (s.kind == LGP_SHOTS_PERCENT && s.percent > 0 && s.percent <= 100) ||
                   (s.kind == LGP_SHOTS_PER_CLASS && s.per_class >= 1));
        for (int64_t nc = 0; nc < 3000; nc = nc * 3 + 1) {
            int64_t c = lgp_shots_count(&s, nc);
            LGP_ASSERT(c <= nc && (nc == 0 || c >= 1));
        }
        check_select(&s, rest, nrest);
    } else {
        LGP_ASSERT(err[0]);
    }
    check_list(rest, nrest);
    return 0;
}
