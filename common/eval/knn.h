/* knn.h — weighted k-nearest-neighbour classification on frozen features (the
 * InstDisc/DINO monitor): cosine similarity between l2-normalised rows, the k most
 * similar training samples each vote exp(sim / T) for their class.
 *
 * Neighbour ties (equal similarity) go to the lower training index, class ties in the
 * final ranking to the lower class index (lgp_logreg_topk), so results are a pure
 * function of the inputs. Similarities come from cblas_sgemm in blocks of test rows;
 * votes are summed in double. Memory: caller-owned buffers; lgp_knn_scores allocates
 * one block of similarities internally and frees it. Nothing here exits. */
#ifndef LGP_KNN_H
#define LGP_KNN_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int k;              /* neighbours (default 20; clipped to n_train) */
    double temperature; /* T in exp(sim / T) (default 0.07) */
} lgp_knn_opts;
#define LGP_KNN_OPTS_DEFAULT {20, 0.07}

/* Scales each row of x [n, C] to unit l2 norm in place; an all-zero row stays zero. */
void lgp_knn_normalize(float *x, size_t n, size_t C);

/* votes [m, K] for test rows te [m, C] against training rows tr [n, C] with labels
 * ytr [n] in [0, K). Both inputs must already be normalised (lgp_knn_normalize).
 * LGP_OK, or LGP_FATAL with a message in err. */
int lgp_knn_scores(float *votes, const float *tr, const int32_t *ytr, size_t n, const float *te,
                   size_t m, size_t C, int K, const lgp_knn_opts *o, char *err, size_t errlen);

#endif
