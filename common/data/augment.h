/* augment.h — training and evaluation views of decoded u8 images, torchvision/PIL
 * semantics: RandomResizedCrop (torchvision's sampler: 10 log-uniform-ratio attempts,
 * then the centre-crop fallback), horizontal flip, ColorJitter (brightness, contrast,
 * saturation, hue in random order; PIL ImageEnhance / torchvision F_pil.adjust_hue
 * arithmetic), RandomGrayscale (PIL convert("L"), channels kept), PIL GaussianBlur
 * (three box-blur passes, radius = sigma), PIL Solarize (v >= 128 -> 255 - v), timm's
 * RandAugment and RandomErasing (below), and the evaluation transform
 * Resize(int(size / crop_ratio)) + CenterCrop(size).
 *
 * Recipes (lgp_recipe_init): "mae" (one view: RRC scale 0.2-1 bicubic + flip), "moco"
 * (two views, BYOL/MoCo v3: RRC 0.08-1 bilinear, jitter 0.8, gray 0.2, blur 1.0/0.1,
 * solarize 0/0.2, flip), "finetune" (one view, the training transform of MAE/BEiT
 * fine-tuning, timm create_transform(is_training=True, interpolation="bicubic",
 * auto_augment="rand-m9-mstd0.5-inc1", re_prob=0.25, re_mode="pixel", re_count=1):
 * RRC 0.08-1 bicubic, flip, RandAugment, RandomErasing) and "eval". Every field may be
 * changed after init.
 *
 * RandAugment (timm auto_augment.py, "rand-mM-nN-mstdS-inc1"): ra_n slots per image,
 * each an op drawn uniformly with replacement from timm's _RAND_INCREASING_TRANSFORMS
 * (lgp_ra_op), applied with probability ra_p (timm 0.5) at magnitude
 * m = clip(M + S * N(0, 1), 0, 10); with l = m / 10 and "+-" a random sign:
 *   AutoContrast        ImageOps.autocontrast: per channel, [min, max] -> [0, 255]
 *   Equalize            ImageOps.equalize: per channel histogram equalisation
 *   Invert              v -> 255 - v
 *   Rotate              +-30 l degrees about (W/2, H/2), PIL Image.rotate
 *   PosterizeIncreasing keep the 4 - int(4 l) high bits
 *   SolarizeIncreasing  v >= 256 - int(256 l) -> 255 - v
 *   SolarizeAdd         v < 128 -> min(255, v + int(110 l))
 *   Color-, Contrast-, Brightness-, SharpnessIncreasing
 *                       ImageEnhance with factor max(0.1, 1 +- 0.9 l) (Sharpness blends
 *                       with PIL's SMOOTH 3x3 filter, border pixels kept)
 *   ShearX, ShearY      factor f = +-0.3 l; output (x, y) reads (x + f y, y), (x, y + f x)
 *   TranslateXRel, -YRel  +-0.45 l of the width, height: output (x, y) reads (x + t, y)
 * Geometric ops are PIL Image.transform(AFFINE) byte for byte: pixel centres, PIL's
 * a = -1 bicubic with clamped neighbours and truncation, no antialiasing, and output
 * pixels whose source point lies outside the image take ra_fill. Deviations from timm:
 * the affine resampling is always bicubic (timm resamples with the crop's
 * interpolation, bicubic in MAE; here the crop's filter may be changed alone); the
 * fill is ra_fill, by default round(255 * ImageNet mean) = (124, 116, 104) as
 * create_transform sets it (timm's module default is 128); 1-channel images take the
 * fill's PIL luma (PIL refuses an RGB fill for "L" images; timm only sees RGB) and
 * Color is the identity on them; the magnitude and sign are drawn for every slot
 * (timm draws them only for applied ops: same distribution, fixed count).
 *
 * RandomErasing (timm random_erasing.py, mode "pixel", one box, after RandAugment):
 * with probability erase_p, up to 10 attempts of area U(0.02, 1/3) of the view and
 * aspect h/w log-uniform in (0.3, 1/0.3), h = round(sqrt(area * aspect)),
 * w = round(sqrt(area / aspect)), the first with h < S and w < S taken at a uniform
 * position (floor(u * (S - h + 1)) for timm's randint; all 10 attempts always drawn).
 * timm fills the box of the normalised tensor with N(0, 1) per pixel and
 * channel; views here are u8 before normalisation, so each gets
 * clamp(round(255 * (erase_mean + erase_std * z))), z ~ N(0, 1). That equals timm only
 * for a trainer normalising with mean erase_mean and std erase_std (defaults 0.5, 0.5:
 * an approximation; lgp's trainers use the ImageNet or Fashion-MNIST statistics), and
 * the clamp cuts the tails.
 *
 * Determinism: lgp_augment_sample draws every random number of a sample from one
 * lgp_rng_init(seed, epoch, index, LGP_RNG_AUGMENT) stream in a fixed order and always
 * the same count of draws, whatever the outcomes, so a sample's views depend on nothing
 * else. Single-channel images skip saturation, hue and grayscale (they need colour);
 * the draws are still made. finetune draws, after the crop and the 12 uniforms of the
 * view (flip last): erasing (1 + 10 x 4 uniforms), one u64 keying the erasing noise
 * (whose count depends on the box, so it comes from its own generator), then per
 * RandAugment slot op, apply, a normal (2 uniforms) and the sign; so the crop, flip and
 * erasing box do not depend on the RandAugment settings, nor anything on erase_p.
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
#define LGP_AUG_MAX_RA 10 /* RandAugment ops per image */

/* timm's _RAND_INCREASING_TRANSFORMS, in its order (the op draw indexes it). */
typedef enum {
    LGP_RA_AUTOCONTRAST,
    LGP_RA_EQUALIZE,
    LGP_RA_INVERT,
    LGP_RA_ROTATE,
    LGP_RA_POSTERIZE,
    LGP_RA_SOLARIZE,
    LGP_RA_SOLARIZE_ADD,
    LGP_RA_COLOR,
    LGP_RA_CONTRAST,
    LGP_RA_BRIGHTNESS,
    LGP_RA_SHARPNESS,
    LGP_RA_SHEAR_X,
    LGP_RA_SHEAR_Y,
    LGP_RA_TRANSLATE_X,
    LGP_RA_TRANSLATE_Y,
    LGP_RA_COUNT
} lgp_ra_op;

typedef struct {
    double scale[2];   /* RandomResizedCrop area fraction range */
    double ratio[2];   /* aspect (w/h) range, sampled log-uniformly */
    lgp_filter interp; /* crop resampling filter */
    double flip_p;
    double jitter_p, brightness, contrast, saturation, hue; /* ColorJitter(b, c, s, h) */
    double gray_p;
    double blur_p, sigma[2]; /* GaussianBlur radius ~ U(sigma[0], sigma[1]) */
    double solarize_p;
    int ra_n;                 /* RandAugment slots per image (0: off) */
    double ra_m, ra_mstd;     /* magnitude mean M and std S, on timm's 0-10 scale */
    double ra_p;              /* per-slot apply probability */
    uint8_t ra_fill[3];       /* RGB fill of the geometric ops */
    double erase_p;           /* RandomErasing probability */
    double erase_area[2];     /* box area fraction range */
    double erase_ratio[2];    /* box aspect h/w range, sampled log-uniformly */
    double erase_mean, erase_std; /* u8 noise = 255 * (mean + std * N(0, 1)), clamped */
} lgp_view_opts;

typedef enum { LGP_RECIPE_MAE, LGP_RECIPE_MOCO, LGP_RECIPE_EVAL, LGP_RECIPE_FINETUNE } lgp_recipe_kind;

typedef struct {
    lgp_recipe_kind kind;
    int size;          /* output side S */
    int n_views;       /* 1 or 2 */
    double crop_ratio; /* eval: Resize(int(size / crop_ratio)) then CenterCrop(size) */
    unsigned low_res;  /* LGP_RECIPE_GIVEN_* bits finetune's low-resolution form set (0: off) */
    lgp_view_opts view[LGP_AUG_MAX_VIEWS];
} lgp_recipe;

/* name: "mae", "moco", "eval" or "finetune". Returns LGP_OK or LGP_FATAL for an unknown name. */
int lgp_recipe_init(lgp_recipe *rc, const char *name, int size);
const char *lgp_recipe_name(lgp_recipe_kind k);

/* finetune's low-resolution form, for outputs of at most LGP_LOW_RES_MAX pixels a side
 * (Fashion-MNIST 28, CIFAR 32). The ImageNet views zoom in: a crop of 8-100 % of the
 * area resized up, while the test images of such data are used as they are (no
 * Resize + CenterCrop at this size), and RandAugment's grey fill and the erasing box
 * cover much of a 28-pixel garment. The form keeps the whole image (scale 1,1, ratio
 * 1,1: the image resized to S; of a non-square image, RandomResizedCrop's fallback, its
 * largest centred square) and the flip, with RandAugment and erasing off;
 * `given` (LGP_RECIPE_GIVEN_*) names the fields set by the user, which it leaves alone.
 * Applied only to finetune at size <= LGP_LOW_RES_MAX; returns the fields it set (the
 * same bits, also kept in rc->low_res; 0: none). */
#define LGP_LOW_RES_MAX 32
enum {
    LGP_RECIPE_GIVEN_SCALE = 1,
    LGP_RECIPE_GIVEN_RATIO = 2,
    LGP_RECIPE_GIVEN_RANDAUG = 4,
    LGP_RECIPE_GIVEN_ERASE = 8,
};
unsigned lgp_recipe_finetune_low_res(lgp_recipe *rc, unsigned given);
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
    int n_ra; /* RandAugment slots, in order of application */
    struct {
        int op;    /* lgp_ra_op */
        int apply; /* the slot's coin came up */
        int neg;   /* the random sign of the signed ops */
        double m;  /* magnitude, clipped to [0, 10] */
    } ra[LGP_AUG_MAX_RA];
    int erase;          /* RandomErasing box drawn and fitted */
    int ex, ey, ew, eh; /* its box in view pixels */
    uint64_t noise_key; /* keys the generator of the box's noise */
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

/* The RandAugment ops (PIL arithmetic; see the top of this file). */
void lgp_aug_solarize_at(uint8_t *img, size_t n_px, int c, int thresh); /* v >= thresh -> 255 - v */
void lgp_aug_solarize_add(uint8_t *img, size_t n_px, int c, int add, int thresh);
void lgp_aug_invert(uint8_t *img, size_t n_px, int c);
void lgp_aug_posterize(uint8_t *img, size_t n_px, int c, int bits);
void lgp_aug_autocontrast(uint8_t *img, size_t n_px, int c);
void lgp_aug_equalize(uint8_t *img, size_t n_px, int c);
int lgp_aug_sharpness(uint8_t *img, int h, int w, int c, double f);
/* PIL Image.transform(size, AFFINE, a, BICUBIC, fillcolor=fill): output pixel (x, y)
 * reads the source at (a0 X + a1 Y + a2, a3 X + a4 Y + a5), X = x + 0.5, Y = y + 0.5.
 * fill: RGB; 1- and 2-channel images use its luma, a 4th channel gets 255. */
int lgp_aug_affine(uint8_t *img, int h, int w, int c, const double a[6], const uint8_t fill[3]);
/* PIL Image.rotate(degrees, BICUBIC, fillcolor=fill): counter-clockwise, about the centre. */
int lgp_aug_rotate(uint8_t *img, int h, int w, int c, double degrees, const uint8_t fill[3]);
/* One RandAugment op at magnitude m (0-10) with timm's level rules; neg picks the
 * sign of the signed ops; fill is read by the geometric ops only. LGP_OK or LGP_FATAL
 * (out of memory). */
int lgp_aug_randaug_op(uint8_t *img, int h, int w, int c, lgp_ra_op op, double m, int neg,
                       const uint8_t fill[3]);
const char *lgp_aug_randaug_name(lgp_ra_op op); /* timm's name */
/* Fills the box [y, y + bh) x [x, x + bw) of img: [h, w, c] with
 * clamp(round(255 * (mean + std * z))), z ~ N(0, 1) from lgp_rng_init(key, 0, 0, 0). */
void lgp_aug_erase(uint8_t *img, int h, int w, int c, int x, int y, int bw, int bh, double mean,
                   double std, uint64_t key);

#endif
