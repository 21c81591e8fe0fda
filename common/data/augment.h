/* augment.h — training and evaluation views of decoded u8 images, torchvision/PIL
 * semantics: RandomResizedCrop (torchvision's sampler: 10 log-uniform-ratio attempts,
 * then the centre-crop fallback), horizontal flip, ColorJitter (brightness, contrast,
 * saturation, hue in random order; PIL ImageEnhance / torchvision F_pil.adjust_hue
 * arithmetic), RandomGrayscale (PIL convert("L"), channels kept), PIL GaussianBlur
 * (three box-blur passes, radius = sigma), PIL Solarize (v >= 128 -> 255 - v), and the
 * evaluation transform Resize(int(size / crop_ratio)) + CenterCrop(size).
 *
 * Recipes (lgp_recipe_init): "mae" (one view: RRC scale 0.2-1 bicubic + flip), "moco"
 * (two views, BYOL/MoCo v3: RRC 0.08-1 bilinear, jitter 0.8, gray 0.2, blur 1.0/0.1,
 * solarize 0/0.2, flip) and "eval". Every field may be changed after init.
 *
 * Determinism: lgp_augment_sample draws every random number of a sample from one
 * lgp_rng_init(seed, epoch, index, LGP_RNG_AUGMENT) stream in a fixed order and always
 * the same count of draws, whatever the outcomes, so a sample's views depend on nothing
 * else. Single-channel images skip saturation, hue and grayscale (they need colour);
 * the draws are still made.
 *
 * Memory: images are caller-owned u8 HWC buffers; functions allocate only transient
 * scratch. Functions return LGP_OK, LGP_BAD_RECORD (unusable image, message in err) or
 * LGP_FATAL (out of memory). */
#ifndef LGP_AUGMENT_H
#define LGP_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/data/resize.h"
#include "formats/json.h"
#include "formats/stream.h"

#define LGP_AUG_MAX_VIEWS 2

typedef struct {
    double scale[2];   /* RandomResizedCrop area fraction range */
    double ratio[2];   /* aspect (w/h) range, sampled log-uniformly */
    lgp_filter interp; /* crop resampling filter */
    double flip_p;
    double jitter_p, brightness, contrast, saturation, hue; /* ColorJitter(b, c, s, h) */
    double gray_p;
    double blur_p, sigma[2]; /* GaussianBlur radius ~ U(sigma[0], sigma[1]) */
    double solarize_p;
} lgp_view_opts;

typedef enum { LGP_RECIPE_MAE, LGP_RECIPE_MOCO, LGP_RECIPE_EVAL } lgp_recipe_kind;

typedef struct {
    lgp_recipe_kind kind;
    int size;          /* output side S */
    int n_views;       /* 1 or 2 */
    double crop_ratio; /* eval: Resize(int(size / crop_ratio)) then CenterCrop(size) */
    lgp_view_opts view[LGP_AUG_MAX_VIEWS];
} lgp_recipe;

/* name: "mae", "moco" or "eval". Returns LGP_OK or LGP_FATAL for an unknown name. */
int lgp_recipe_init(lgp_recipe *rc, const char *name, int size);
const char *lgp_recipe_name(lgp_recipe_kind k);
/* The recipe as a JSON object (caller frees), recorded in stream metadata. */
lgp_json *lgp_recipe_to_json(const lgp_recipe *rc);

/* Everything drawn for one view. The crop is in source pixels; box is the exact source
 * box resized into the view (equal to the crop for random crops, fractional for eval). */
typedef struct {
    int x, y, w, h;
    double box[4]; /* x0, y0, x1, y1 */
    int flip;
    int jitter;     /* apply ColorJitter */
    int order[4];   /* 0 brightness, 1 contrast, 2 saturation, 3 hue */
    double bright_f, contrast_f, sat_f, hue_f;
    int gray, blur, solarize;
    double sigma;
} lgp_view_params;

/* torchvision RandomResizedCrop.get_params on an image of h x w. */
void lgp_aug_sample_crop(int *x, int *y, int *cw, int *ch, int h, int w, const double scale[2],
                         const double ratio[2], void *rng /* lgp_rng * */);

/* Draws the parameters of every view of sample `index` of an h x w image. For eval,
 * p[0] holds the source region of the centre crop (rounded outwards) and no flags. */
void lgp_augment_sample(lgp_view_params p[LGP_AUG_MAX_VIEWS], const lgp_recipe *rc, int h, int w,
                        uint64_t seed, uint64_t epoch, uint64_t index);

/* dst: [S, S, c] <- view `v` of src: [h, w, c] (row stride in bytes). Random crops
 * read only the crop's pixels (torchvision crops, then resizes), so src may also be just
 * the decoded crop region if p->x, p->y are 0 and p->box is shifted to match. */
int lgp_augment_view(uint8_t *dst, const uint8_t *src, size_t stride, int h, int w, int c,
                     const lgp_recipe *rc, int v, const lgp_view_params *p);

enum {
    LGP_AUG_KEEP_IMAGE = 1, /* keep the source tensor (image / jpeg / png) */
    LGP_AUG_DCT_SCALE = 2,  /* let JPEG decoding use DCT scaling (not bit-exact vs PIL) */
};

/* One stream record: reads `image` (u8 [H, W, C] or [H, W]) or, failing that, encoded
 * `jpeg` / `png` bytes (decoded to RGB; for random crops of a JPEG only the union of
 * the crops is decoded), adds view0 (, view1) u8 [S, S, C] and crop0 (, crop1)
 * f32 [5] = (x, y, w, h, flip) in source pixels, and removes the source tensor unless
 * flags has LGP_AUG_KEEP_IMAGE. LGP_BAD_RECORD with a message if its image is damaged
 * (undecodable, empty); LGP_FATAL if the record holds no image or one of another dtype
 * or rank (the wrong kind of stream, not damage). */
int lgp_augment_record(lgp_record *rec, const lgp_recipe *rc, uint64_t seed, uint64_t epoch,
                       uint64_t index, int flags, char *err, size_t errlen);

/* Single ops on u8 HWC images, in place; exposed for the golden tests. */
void lgp_aug_brightness(uint8_t *img, size_t n_px, int c, double f);
void lgp_aug_contrast(uint8_t *img, size_t n_px, int c, double f);
void lgp_aug_saturation(uint8_t *img, size_t n_px, int c, double f);
void lgp_aug_hue(uint8_t *img, size_t n_px, int c, double f);
void lgp_aug_grayscale(uint8_t *img, size_t n_px, int c);
int lgp_aug_blur(uint8_t *img, int h, int w, int c, double sigma);
void lgp_aug_solarize(uint8_t *img, size_t n_px, int c);
void lgp_aug_hflip(uint8_t *img, int h, int w, int c);

#endif
