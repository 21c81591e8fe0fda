/* export.h — an lgp model as other tools load it: the encoder of any checkpoint (stage 1
 * MAE, stage 2 MoCo v3, fine-tuned, or timm/MAE/MoCo v3 safetensors) as a safetensors
 * file that a timm VisionTransformer(num_classes=0, global_pool='token') loads with
 * load_state_dict(strict=True) — the counterpart of MoCo v3's convert_to_deit.py.
 *
 * Tensors: the encoder's parameter table (vit.h) under its timm names, in table order:
 * cls_token, pos_embed, patch_embed.proj.weight/bias, blocks.N.{norm1, attn.qkv,
 * attn.proj, norm2, mlp.fc1, mlp.fc2}.weight/bias, norm.weight/bias; all f32. Heads,
 * predictor, momentum encoder, MAE decoder, mask token and optimizer state are left
 * behind (lgp_model_load reads the encoder with strict key accounting).
 * __metadata__ (strings, as safetensors requires): "format" "pt"; timm's constructor
 * arguments "img_size", "patch_size", "in_chans", "embed_dim", "depth", "num_heads",
 * "mlp_ratio", "num_classes" ("0"), "global_pool" ("token"); "mean" and "std" (JSON
 * lists, the per-channel normalisation the model was trained with, pixels in [0, 1]);
 * "lgp_meta": the checkpoint's metadata with "model" and "norm" set to what was used,
 * so lgp programs (lgp-embed --model) read the file back without --arch. */
#ifndef LGP_EXPORT_H
#define LGP_EXPORT_H

#include <stddef.h>

/* Reads ckpt (arch: the named config when the file has none, else NULL) and writes
 * path atomically. LGP_OK (with the tensor count in *ntensors if given), or LGP_FATAL
 * with "file: problem" in err (not a checkpoint, keys that do not fit, write error). */
int lgp_export_encoder(const char *ckpt, const char *arch, const char *path, size_t *ntensors, char *err,
                       size_t errlen);

#endif
