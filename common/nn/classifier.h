/* classifier.h — the fine-tuning head on the encoder's features and its loss.
 *
 * Two heads (docs: lgp-finetune(1), shared RECIPE §4.3-§4.4):
 *   linear    "head.weight" [K, C], "head.bias" [K]: logits = f W^T + b (MAE/BEiT);
 *   first-fc  "head.0.weight" [F, C] (no bias, initialised from the MoCo v3 projector's
 *             first Linear of the same name), "head.1.weight" [K, F], "head.1.bias" [K],
 *             nothing between them (the paper's --tuneFromFirstFC).
 * The head is a plain description of offsets into the caller's flat buffers (params,
 * grads: the ViT table extended with these entries, as clstate.h does for the MoCo
 * heads); activations are the caller's.
 *
 * Loss: soft-target cross-entropy, mean over the batch of -sum_k t_k log softmax(z)_k
 * (timm SoftTargetCrossEntropy), with the targets of mixup.h. */
#ifndef LGP_CLASSIFIER_H
#define LGP_CLASSIFIER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int first_fc;        /* 0 linear, 1 first-fc */
    int C, F, K;         /* feature width, hidden width (first-fc), classes */
    size_t w0, w1, b1;   /* offsets: linear uses w1/b1 (head.weight/bias); first-fc w0, w1, b1 */
    size_t base, n;      /* the head's range in the buffers */
} lgp_head;

/* Lays the head out from offset base. */
void lgp_head_init(lgp_head *h, int first_fc, int C, int F, int K, size_t base);
/* Entry i < lgp_head_count(h): name, shape (ndim 1 or 2), offset, numel; 1-d has no wd. */
int lgp_head_count(const lgp_head *h);
void lgp_head_entry(const lgp_head *h, int i, char name[64], int *ndim, int64_t shape[2], size_t *offset,
                    size_t *numel);
/* Weight init: the last Linear's weight N(0, 2e-5^2) (timm trunc_normal at that std
 * never truncates), its bias 0 (linear) or U(+-1/sqrt(F)) (first-fc, PyTorch's default);
 * head.0.weight xavier-uniform unless the caller copies the projector's in. */
void lgp_head_init_weights(const lgp_head *h, float *params, uint64_t seed);

/* logits [B, K] from feat [B, C]; hid [B, F] cached for first-fc (NULL for linear). */
void lgp_head_forward(const lgp_head *h, const float *params, const float *feat, float *hid, float *logits,
                      int B);
/* Accumulates the head's gradients into grads and writes dfeat [B, C] (overwritten);
 * dhid [B, F] scratch (first-fc). */
void lgp_head_backward(const lgp_head *h, const float *params, float *grads, const float *feat, const float *hid,
                       const float *dlogits, float *dhid, float *dfeat, int B);

/* Soft-target cross-entropy: returns the mean loss, writes dlogits [B, K] = (softmax - t)
 * * scale / B (scale: the caller's loss scale, e.g. 1 / accum). */
double lgp_soft_ce(const float *logits, const float *target, float *dlogits, int B, int K, float scale);
/* Counts rows whose label is the top-1 / among the top-5 logits (ties: lower index first). */
void lgp_topk_count(const float *logits, const int64_t *labels, int B, int K, int64_t *top1, int64_t *top5);

#endif
