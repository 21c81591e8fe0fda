/* test_knn.c — weighted cosine kNN against a brute-force NumPy twin (probe_ref.py knn:
 * identical votes to float precision, identical top-1 and top-5), plus hand cases for
 * neighbour ties, k > n, and label validation. */
#include "common/eval/knn.h"
#include "common/lgp.h"
#include "common/eval/logreg.h"
#include "tests/unit/probe_fixture.h"
#include "tests/unit/tap.h"

static void test_vs_numpy(const lgp_record *rec) {
    const lgp_tensor *ttr = fx_get(rec, "Xtr");
    size_t n = (size_t)ttr->shape[0], C = (size_t)ttr->shape[1], m;
    int K = (int)fx_num(rec, "K");
    int32_t *ytr = fx_labels(rec, "ytr", NULL), *yte = fx_labels(rec, "yte", &m);
    int32_t *pred = fx_labels(rec, "pred", NULL), *top5 = fx_labels(rec, "top5", NULL);
    const double *vref = (const double *)fx_get(rec, "votes")->data; /* [m, K] */
    float *tr = malloc(n * C * sizeof *tr), *te = malloc(m * C * sizeof *te), *v = malloc(m * K * sizeof *v);
    memcpy(tr, fx_f32(rec, "Xtr"), n * C * sizeof *tr);
    memcpy(te, fx_f32(rec, "Xte"), m * C * sizeof *te);
    lgp_knn_normalize(tr, n, C);
    lgp_knn_normalize(te, m, C);
    lgp_knn_opts o = {(int)fx_num(rec, "k"), fx_num(rec, "T")};
    char err[256];
    is_int(lgp_knn_scores(v, tr, ytr, n, te, m, C, K, &o, err, sizeof err), LGP_OK, "knn runs (n %zu, m %zu, C %zu, K %d, k %d, T %g)", n, m, C, K, o.k, o.temperature);
    double worst = 0;
    size_t same1 = 0, same5 = 0;
    for (size_t i = 0; i < m; i++) {
        double mx = 0;
        for (int c = 0; c < K; c++) mx = fmax(mx, vref[i * K + c]);
        for (int c = 0; c < K; c++) worst = fmax(worst, fabs(v[i * K + c] - vref[i * K + c]) / mx);
        int a = 0;
        for (int c = 1; c < K; c++) a = v[i * K + c] > v[i * K + a] ? c : a;
        same1 += a == pred[i];
        /* Our top-5 set (rank < 5 with lower-index tie-break) equals NumPy's. */
        int match = 1;
        for (int j = 0; j < 5; j++) {
            int c = top5[i * 5 + j], rank = 0;
            for (int k = 0; k < K; k++) rank += v[i * K + k] > v[i * K + c] || (v[i * K + k] == v[i * K + c] && k < c);
            match &= rank < 5;
        }
        same5 += match;
    }
    ok(worst < 1e-4, "votes match NumPy: max rel err %.2e < 1e-4 (float32 similarities)", worst);
    is_int(same1, m, "identical top-1 predictions (%zu of %zu)", same1, m);
    is_int(same5, m, "identical top-5 sets (%zu of %zu)", same5, m);
    size_t h1, h5, r1 = 0;
    lgp_logreg_topk(&h1, &h5, v, yte, m, K);
    for (size_t i = 0; i < m; i++) r1 += pred[i] == yte[i];
    is_int(h1, r1, "top-1 hits equal NumPy's count (%zu)", r1);
    ok(h1 > 2 * m / (size_t)K && h5 >= h1, "clusters beat twice chance: top-1 %zu, top-5 %zu of %zu", h1, h5, m);
    free(tr), free(te), free(v), free(ytr), free(yte), free(pred), free(top5);
}

static void test_hand(void) {
    /* Three training rows at the same angle as the query: with k = 2 the two lowest
     * indices vote, whatever their label order. */
    float tr[4 * 2] = {1, 0, 2, 0, 3, 0, 0, 1}, te[2] = {5, 0}, v[3];
    int32_t y[4] = {2, 1, 0, 0};
    char err[256] = "";
    lgp_knn_normalize(tr, 4, 2);
    lgp_knn_normalize(te, 1, 2);
    lgp_knn_opts o = {2, 0.5};
    lgp_knn_scores(v, tr, y, 4, te, 1, 2, 3, &o, err, sizeof err);
    double e = exp(1.0 / 0.5);
    ok(v[0] == 0 && fabs(v[1] - e) < 1e-4 && fabs(v[2] - e) < 1e-4, "ties go to lower training index: votes %g %g %g", v[0], v[1], v[2]);
    o.k = 100; /* k > n: every training row votes */
    lgp_knn_scores(v, tr, y, 4, te, 1, 2, 3, &o, err, sizeof err);
    ok(fabs(v[0] - (e + 1.0)) < 1e-4, "k > n uses all rows: class 0 votes %g, want %g", v[0], e + 1.0);
    y[3] = 7;
    is_int(lgp_knn_scores(v, tr, y, 4, te, 1, 2, 3, &o, err, sizeof err), LGP_FATAL, "bad label is an error");
    ok(strstr(err, "training sample 3: label 7 outside [0, 3)") != NULL, "message: '%s'", err);
}

int main(void) {
    test_hand();
    lgp_record rec;
    lgp_record_init(&rec);
    if (fx_make(&rec, "knn") == 0) test_vs_numpy(&rec);
    else ok(1, "# SKIP NumPy reference unavailable");
    lgp_record_free(&rec);
    return done_testing();
}
