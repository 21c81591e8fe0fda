/* test_probe.c — lgp-probe's evaluation pieces: the class-count rule and its errors,
 * the key-leak count, method names, the mean and population std over seeds, the
 * report (one row per seed, a mean row from two seeds on, one JSON object per row),
 * and a kNN run end to end on separable points. */
#include "common/lgp.h"
#include "common/eval/probe.h"
#include "tests/unit/tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *keys_a[] = {"train/0", "train/1", "train/2", "train/3"};
static char *keys_b[] = {"test/0", "train/2", "test/2", "train/3"};

static void test_classes(void) {
    float X[8] = {0};
    int32_t ya[4] = {0, 1, 2, 1}, yb[4] = {0, 4, 1, 0};
    lgp_probe_set tr = {"tr", 4, 2, 0, X, ya, keys_a}, te = {"te", 4, 2, 0, X, yb, keys_b};
    char err[256];
    int K = 0;
    int rc = lgp_probe_classes(&K, &tr, &te, err, sizeof err);
    ok(rc == LGP_OK && K == 5, "no header: largest label + 1 over both sets (K %d)", K);
    tr.K_meta = 10;
    rc = lgp_probe_classes(&K, &tr, &te, err, sizeof err);
    ok(rc == LGP_OK && K == 10, "a header's count wins (K %d)", K);
    tr.K_meta = 3;
    ok(lgp_probe_classes(&K, &tr, &te, err, sizeof err) == LGP_FATAL, "a label past the header's count is fatal");
    is_str(err, "te: record 1 'train/2': label 4 but the header lists 3 classes", "  and names the record");
    te.K_meta = 4;
    lgp_probe_classes(&K, &tr, &te, err, sizeof err);
    is_str(err, "tr: header lists 3 classes but te lists 4", "headers that disagree");
    te.C = 3;
    lgp_probe_classes(&K, &tr, &te, err, sizeof err);
    is_str(err, "te: features have 3 values but tr has 2", "feature widths that disagree come first");
}

static void test_shared_keys(void) {
    lgp_probe_set tr = {.name = "tr", .n = 4, .keys = keys_a}, te = {.name = "te", .n = 4, .keys = keys_b};
    size_t idx[] = {0, 3, 2}, count = 99, first = 99;
    int rc = lgp_probe_shared_keys(&count, &first, &tr, &te, idx, 3);
    ok(rc == LGP_OK && count == 2 && first == 3,
       "two subset rows share a test key, the first in subset order is row 3 (%zu, %zu)", count, first);
    rc = lgp_probe_shared_keys(&count, &first, &tr, &te, idx, 1);
    ok(rc == LGP_OK && count == 0, "row 0 alone leaks nothing");
}

static void test_methods(void) {
    ok(lgp_probe_method_parse("logreg") == LGP_PROBE_LOGREG && lgp_probe_method_parse("linear") == LGP_PROBE_LINEAR &&
           lgp_probe_method_parse("knn") == LGP_PROBE_KNN && lgp_probe_method_parse("all") == LGP_PROBE_ALL,
       "method names parse to their bits");
    ok(lgp_probe_method_parse("knn,") == 0 && lgp_probe_method_parse("") == 0, "anything else is 0");
    for (int m = LGP_PROBE_LOGREG; m <= LGP_PROBE_KNN; m <<= 1)
        is_int(lgp_probe_method_parse(lgp_probe_method_name(m)), m, "name of %d round-trips", m);
}

static void test_aggregate(void) {
    lgp_probe_result r[3] = {{.top1 = 70, .top5 = 96}, {.top1 = 72, .top5 = 98}, {.top1 = 74, .top5 = 97}};
    double mean, sd;
    lgp_probe_mean_std(&mean, &sd, r, 3, 0);
    ok(mean == 72 && fabs(sd - sqrt(8.0 / 3)) < 1e-12, "top-1 mean 72, population std sqrt(8/3) (%g, %g)", mean, sd);
    lgp_probe_mean_std(&mean, &sd, r, 3, 1);
    is_close(mean, 97, 0, 1e-12, "top-5 mean");
    lgp_probe_mean_std(&mean, &sd, r, 1, 0);
    ok(mean == 70 && sd == 0, "one seed: std 0");
}

static void test_report(void) {
    float X[8] = {0};
    int32_t y[4] = {0};
    lgp_probe_set tr = {"tr.lgps", 4, 2, 0, X, y, keys_a}, te = {"te.lgps", 4, 2, 0, X, y, keys_b};
    lgp_probe_opts o = {.knn = LGP_KNN_OPTS_DEFAULT, .lin = LGP_LINPROBE_OPTS_DEFAULT, .tol = 1e-6};
    lgp_probe_result r[2] = {{.method = LGP_PROBE_KNN, .seed = 7, .n_train = 20, .top1 = 70, .top5 = 96},
                             {.method = LGP_PROBE_KNN, .seed = 8, .n_train = 20, .top1 = 72, .top5 = 98}};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    lgp_json *arr = lgp_json_new_arr();
    lgp_probe_report(f, arr, r, 1, "1%", &tr, &te, 3, &o);
    lgp_probe_report(f, arr, r, 2, "1%", &tr, &te, 3, &o);
    fclose(f);
    is_str(text,
           "knn     1%            20      7   70.00   96.00  k=20 T=0.07\n"
           "knn     1%            20      7   70.00   96.00  k=20 T=0.07\n"
           "knn     1%            20      8   72.00   98.00  k=20 T=0.07\n"
           "knn     1%            20  mean2   71.00   97.00  std top1 1.00 top5 1.00 over seeds 7..8\n",
           "one seed: one row; two seeds: a row each and the mean row");
    is_int(arr->n, 4, "one JSON object per row");
    char *js = lgp_json_dump(arr->n == 4 ? arr->items[3] : arr);
    ok(js && strstr(js, "\"seeds\":[7,8]") && strstr(js, "\"top1_std\":1") && strstr(js, "\"top1\":71") &&
           strstr(js, "\"train\":\"tr.lgps\"") && !strstr(js, "\"seconds\""),
       "the mean row's JSON: seeds, std, mean, no time (%s)", js ? js : "null");
    free(js);
    lgp_json_free(arr);
    free(text);
}

/* Two classes on either side of the origin: kNN gets every test point right. */
static void test_knn_run(void) {
    enum { N = 40, C = 4 };
    static float Xtr[N * C], Xte[N * C];
    static int32_t ytr[N], yte[N];
    static char *ktr[N], *kte[N];
    for (int i = 0; i < N; i++) {
        int c = i % 2;
        for (int j = 0; j < C; j++) {
            Xtr[i * C + j] = (c ? 1.f : -1.f) * (1 + 0.01f * (float)((i * 7 + j) % 5));
            Xte[i * C + j] = (c ? 1.f : -1.f) * (1 + 0.01f * (float)((i * 3 + j) % 5));
        }
        ytr[i] = yte[i] = c;
        ktr[i] = kte[i] = "k";
    }
    lgp_probe_set tr = {"tr", N, C, 0, Xtr, ytr, ktr}, te = {"te", N, C, 0, Xte, yte, kte};
    lgp_probe_opts o = {.knn = {5, 0.07}};
    size_t idx[N], m;
    char err[256];
    lgp_shots_parse(&o.shots, "3", err, sizeof err);
    ok(lgp_probe_subset(idx, &m, &tr, 2, &o, 1, err, sizeof err) == LGP_OK && m == 6, "3 shots of 2 classes: 6 rows");
    float *P = lgp_probe_prepare(LGP_PROBE_KNN, Xte, N, C);
    lgp_probe_result r = {.seed = 1};
    int rc = lgp_probe_run(&r, LGP_PROBE_KNN, &tr, &te, P, idx, m, 2, &o, err, sizeof err);
    ok(rc == LGP_OK && r.top1 == 100 && r.top5 == 100 && r.n_train == 6 && r.method == LGP_PROBE_KNN,
       "kNN on separable points: top-1 100%% (%g)", r.top1);
    free(P);
}

int main(void) {
    test_classes();
    test_shared_keys();
    test_methods();
    test_aggregate();
    test_report();
    test_knn_run();
    return done_testing();
}
