/* augment.c — recipes, parameter sampling, the per-view op chain and the PIL-exact
 * single ops (see augment.h). PIL's arithmetic is mirrored type for type (float vs
 * double, truncation vs rounding) because the golden tests compare bytes. */
#include "common/data/augment.h"

#include "common/lgp.h"
#include "common/util/rng.h"
#include "formats/jpeg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *recipe_names[] = {"mae", "moco", "eval", "finetune"};
_Static_assert(LGP_ARRAY_LEN(recipe_names) == LGP_RECIPE_FINETUNE + 1, "recipe_names follows lgp_recipe_kind");

const char *lgp_recipe_name(lgp_recipe_kind k) {
    return (unsigned)k < LGP_ARRAY_LEN(recipe_names) ? recipe_names[k] : "?";
}

static void view_defaults(lgp_view_opts *v, double scale_min, lgp_filter interp) {
    memset(v, 0, sizeof *v);
    v->scale[0] = scale_min;
    v->scale[1] = 1.0;
    v->ratio[0] = 3.0 / 4.0;
    v->ratio[1] = 4.0 / 3.0;
    v->interp = interp;
    v->flip_p = 0.5;
    v->sigma[0] = 0.1;
    v->sigma[1] = 2.0;
}

/* timm create_transform(is_training=True) as MAE's main_finetune.py calls it. */
static void finetune_defaults(lgp_view_opts *v) {
    view_defaults(v, 0.08, LGP_FILTER_BICUBIC);
    v->ra_n = 2; /* "rand-m9-mstd0.5-inc1" */
    v->ra_m = 9;
    v->ra_mstd = 0.5;
    v->ra_p = 0.5;
    /* create_transform's img_mean = round(255 * IMAGENET_DEFAULT_MEAN) */
    v->ra_fill[0] = 124, v->ra_fill[1] = 116, v->ra_fill[2] = 104;
    v->erase_p = 0.25; /* re_prob */
    v->erase_area[0] = 0.02, v->erase_area[1] = 1.0 / 3.0;
    v->erase_ratio[0] = 0.3, v->erase_ratio[1] = 1 / 0.3;
    v->erase_mean = 0.5, v->erase_std = 0.5;
}

int lgp_recipe_init(lgp_recipe *rc, const char *name, int size) {
    memset(rc, 0, sizeof *rc);
    rc->size = size;
    rc->crop_ratio = 224.0 / 256.0;
    rc->n_views = 1;
    if (strcmp(name, "mae") == 0) {
        rc->kind = LGP_RECIPE_MAE;
        view_defaults(&rc->view[0], 0.2, LGP_FILTER_BICUBIC);
    } else if (strcmp(name, "moco") == 0) {
        rc->kind = LGP_RECIPE_MOCO;
        rc->n_views = 2;
        for (int v = 0; v < 2; v++) {
            lgp_view_opts *o = &rc->view[v];
            view_defaults(o, 0.08, LGP_FILTER_BILINEAR);
            o->jitter_p = 0.8;
            o->brightness = 0.4;
            o->contrast = 0.4;
            o->saturation = 0.2;
            o->hue = 0.1;
            o->gray_p = 0.2;
            o->blur_p = v == 0 ? 1.0 : 0.1;
            o->solarize_p = v == 0 ? 0.0 : 0.2;
        }
    } else if (strcmp(name, "finetune") == 0) {
        rc->kind = LGP_RECIPE_FINETUNE;
        finetune_defaults(&rc->view[0]);
    } else if (strcmp(name, "eval") == 0) {
        rc->kind = LGP_RECIPE_EVAL;
        view_defaults(&rc->view[0], 1.0, LGP_FILTER_BILINEAR);
        rc->view[0].flip_p = 0.0;
    } else {
        return LGP_FATAL;
    }
    return LGP_OK;
}

unsigned lgp_recipe_finetune_low_res(lgp_recipe *rc, unsigned given) {
    if (rc->kind != LGP_RECIPE_FINETUNE || rc->size > LGP_LOW_RES_MAX) return 0;
    unsigned set = ~given & (LGP_RECIPE_GIVEN_SCALE | LGP_RECIPE_GIVEN_RATIO | LGP_RECIPE_GIVEN_RANDAUG |
                             LGP_RECIPE_GIVEN_ERASE);
    for (int v = 0; v < LGP_AUG_MAX_VIEWS; v++) {
        lgp_view_opts *o = &rc->view[v];
        if (set & LGP_RECIPE_GIVEN_SCALE) o->scale[0] = o->scale[1] = 1.0;
        if (set & LGP_RECIPE_GIVEN_RATIO) o->ratio[0] = o->ratio[1] = 1.0;
        if (set & LGP_RECIPE_GIVEN_RANDAUG) o->ra_n = 0;
        if (set & LGP_RECIPE_GIVEN_ERASE) o->erase_p = 0.0;
    }
    rc->low_res = set;
    return set;
}

static lgp_json *pair(const double v[2]) {
    lgp_json *a = lgp_json_new_arr();
    lgp_json_push(a, lgp_json_new_num(v[0]));
    lgp_json_push(a, lgp_json_new_num(v[1]));
    return a;
}

/* Only finetune records these, so the other recipes' metadata keeps its bytes. */
static void finetune_json(lgp_json *w, const lgp_view_opts *o) {
    lgp_json *ra = lgp_json_new_obj(), *er = lgp_json_new_obj(), *fill = lgp_json_new_arr();
    lgp_json_set_num(ra, "n", o->ra_n);
    lgp_json_set_num(ra, "m", o->ra_m);
    lgp_json_set_num(ra, "mstd", o->ra_mstd);
    lgp_json_set_num(ra, "p", o->ra_p);
    lgp_json_set_str(ra, "ops", "timm _RAND_INCREASING_TRANSFORMS (inc1), uniform with replacement");
    for (int k = 0; k < 3; k++) lgp_json_push(fill, lgp_json_new_num(o->ra_fill[k]));
    lgp_json_set(ra, "fill", fill);
    lgp_json_set_str(ra, "affine_interp", "bicubic");
    lgp_json_set(w, "randaug", ra);
    lgp_json_set_num(er, "p", o->erase_p);
    lgp_json_set(er, "area", pair(o->erase_area));
    lgp_json_set(er, "ratio", pair(o->erase_ratio));
    lgp_json_set_str(er, "mode", "pixel: u8 clamp(round(255 * (mean + std * N(0, 1))))");
    lgp_json_set_num(er, "mean", o->erase_mean);
    lgp_json_set_num(er, "std", o->erase_std);
    lgp_json_set(w, "erase", er);
}

lgp_json *lgp_recipe_to_json(const lgp_recipe *rc) {
    lgp_json *j = lgp_json_new_obj(), *views = lgp_json_new_arr();
    lgp_json_set_str(j, "recipe", lgp_recipe_name(rc->kind));
    lgp_json_set_num(j, "size", rc->size);
    if (rc->low_res) { /* only then, so other streams' metadata keeps its bytes */
        static const char *field[] = {"scale", "ratio", "randaug", "erase"};
        lgp_json *set = lgp_json_new_arr();
        for (int k = 0; k < 4; k++)
            if (rc->low_res & (1u << k)) lgp_json_push(set, lgp_json_new_str(field[k]));
        char form[32];
        snprintf(form, sizeof form, "low-res (size <= %d)", LGP_LOW_RES_MAX);
        lgp_json_set_str(j, "form", form);
        lgp_json_set(j, "low_res_set", set);
    }
    if (rc->kind == LGP_RECIPE_EVAL) {
        lgp_json_set_num(j, "crop_ratio", rc->crop_ratio);
        lgp_json_set_num(j, "resize", (int)(rc->size / rc->crop_ratio));
        lgp_json_set_str(j, "interp", lgp_filter_name(rc->view[0].interp));
        return j;
    }
    for (int v = 0; v < rc->n_views; v++) {
        const lgp_view_opts *o = &rc->view[v];
        lgp_json *w = lgp_json_new_obj();
        lgp_json_set(w, "scale", pair(o->scale));
        lgp_json_set(w, "ratio", pair(o->ratio));
        lgp_json_set_str(w, "interp", lgp_filter_name(o->interp));
        lgp_json_set_num(w, "hflip_p", o->flip_p);
        lgp_json_set_num(w, "jitter_p", o->jitter_p);
        lgp_json_set_num(w, "brightness", o->brightness);
        lgp_json_set_num(w, "contrast", o->contrast);
        lgp_json_set_num(w, "saturation", o->saturation);
        lgp_json_set_num(w, "hue", o->hue);
        lgp_json_set_num(w, "grayscale_p", o->gray_p);
        lgp_json_set_num(w, "blur_p", o->blur_p);
        lgp_json_set(w, "blur_sigma", pair(o->sigma));
        lgp_json_set_num(w, "solarize_p", o->solarize_p);
        if (rc->kind == LGP_RECIPE_FINETUNE) finetune_json(w, o);
        lgp_json_push(views, w);
    }
    lgp_json_set(j, "views", views);
    lgp_json_set_str(j, "crop_layout", "f32 [5] = x, y, w, h (source pixels), hflip (0/1)");
    return j;
}

/* ---- sampling ---- */

void lgp_aug_sample_crop(int *x, int *y, int *cw, int *ch, int h, int w, const double scale[2],
                         const double ratio[2], void *rng) {
    lgp_rng *r = rng;
    double area = (double)h * w, lr0 = log(ratio[0]), lr1 = log(ratio[1]);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * (scale[0] + (scale[1] - scale[0]) * lgp_rng_uniform(r));
        double aspect = exp(lr0 + (lr1 - lr0) * lgp_rng_uniform(r));
        int tw = (int)nearbyint(sqrt(target * aspect)), th = (int)nearbyint(sqrt(target / aspect));
        if (0 < tw && tw <= w && 0 < th && th <= h) {
            *y = (int)lgp_rng_below(r, (uint64_t)(h - th + 1));
            *x = (int)lgp_rng_below(r, (uint64_t)(w - tw + 1));
            *cw = tw;
            *ch = th;
            return;
        }
    }
    /* torchvision's fallback: the largest centred crop with an allowed aspect */
    double in_ratio = (double)w / h;
    int tw = w, th = h;
    if (in_ratio < ratio[0]) th = (int)nearbyint(w / ratio[0]);
    else if (in_ratio > ratio[1]) tw = (int)nearbyint(h * ratio[1]);
    *cw = tw;
    *ch = th;
    *y = (h - th) / 2;
    *x = (w - tw) / 2;
}

/* Fixed draw count per view: crop (variable only inside the sampler), then 12 uniforms. */
static void sample_view(lgp_view_params *p, const lgp_view_opts *o, int h, int w, lgp_rng *r) {
    memset(p, 0, sizeof *p);
    lgp_aug_sample_crop(&p->x, &p->y, &p->w, &p->h, h, w, o->scale, o->ratio, r);
    p->box[0] = p->x;
    p->box[1] = p->y;
    p->box[2] = p->x + p->w;
    p->box[3] = p->y + p->h;
    p->jitter = lgp_rng_uniform(r) < o->jitter_p;
    for (int i = 0; i < 4; i++) p->order[i] = i; /* torch.randperm(4) as Fisher-Yates */
    for (int i = 3; i > 0; i--) {
        int j = (int)lgp_rng_below(r, (uint64_t)i + 1), t = p->order[i];
        p->order[i] = p->order[j];
        p->order[j] = t;
    }
    double ub = lgp_rng_uniform(r), uc = lgp_rng_uniform(r), us = lgp_rng_uniform(r), uh = lgp_rng_uniform(r);
    double b0 = fmax(0, 1 - o->brightness), c0 = fmax(0, 1 - o->contrast), s0 = fmax(0, 1 - o->saturation);
    p->bright_f = b0 + (1 + o->brightness - b0) * ub;
    p->contrast_f = c0 + (1 + o->contrast - c0) * uc;
    p->sat_f = s0 + (1 + o->saturation - s0) * us;
    p->hue_f = -o->hue + 2 * o->hue * uh;
    p->gray = lgp_rng_uniform(r) < o->gray_p;
    p->blur = lgp_rng_uniform(r) < o->blur_p;
    p->sigma = o->sigma[0] + (o->sigma[1] - o->sigma[0]) * lgp_rng_uniform(r);
    p->solarize = lgp_rng_uniform(r) < o->solarize_p;
    p->flip = lgp_rng_uniform(r) < o->flip_p;
}

/* torchvision Resize(int) (shorter side) + CenterCrop, as one box into the source. */
static void sample_eval(lgp_view_params *p, const lgp_recipe *rc, int h, int w) {
    int rs = (int)(rc->size / rc->crop_ratio), rw, rh;
    if (w <= h) {
        rw = rs;
        rh = (int)((double)rs * h / w);
    } else {
        rh = rs;
        rw = (int)((double)rs * w / h);
    }
    int top = (int)nearbyint((rh - rc->size) / 2.0), left = (int)nearbyint((rw - rc->size) / 2.0);
    double sx = (double)w / rw, sy = (double)h / rh;
    memset(p, 0, sizeof *p);
    p->box[0] = left * sx;
    p->box[1] = top * sy;
    p->box[2] = fmin(w, (left + rc->size) * sx);
    p->box[3] = fmin(h, (top + rc->size) * sy);
    p->x = (int)floor(p->box[0]);
    p->y = (int)floor(p->box[1]);
    p->w = (int)ceil(p->box[2]) - p->x;
    p->h = (int)ceil(p->box[3]) - p->y;
}

/* timm RandomErasing._erase, one box on the S x S view: always 1 + 10 x 4 uniforms,
 * the first fitting attempt kept; then the key of the box's noise. */
static void sample_erase(lgp_view_params *p, const lgp_view_opts *o, int S, lgp_rng *r) {
    double la0 = log(o->erase_ratio[0]), la1 = log(o->erase_ratio[1]), area = (double)S * S;
    int want = lgp_rng_uniform(r) < o->erase_p;
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * (o->erase_area[0] + (o->erase_area[1] - o->erase_area[0]) * lgp_rng_uniform(r));
        double aspect = exp(la0 + (la1 - la0) * lgp_rng_uniform(r));
        double uy = lgp_rng_uniform(r), ux = lgp_rng_uniform(r);
        int bh = (int)nearbyint(sqrt(target * aspect)), bw = (int)nearbyint(sqrt(target / aspect));
        if (want && !p->erase && bw < S && bh < S) { /* timm's strict <, randint inclusive */
            p->erase = 1;
            p->eh = bh, p->ew = bw;
            p->ey = (int)(uy * (S - bh + 1));
            p->ex = (int)(ux * (S - bw + 1));
        }
    }
    p->noise_key = lgp_rng_u64(r);
}

/* timm RandAugment: per slot the op (uniform, with replacement), the apply coin, the
 * magnitude's normal and the sign, all drawn whether used or not. */
static void sample_randaug(lgp_view_params *p, const lgp_view_opts *o, lgp_rng *r) {
    LGP_ASSERT(o->ra_n >= 0 && o->ra_n <= LGP_AUG_MAX_RA);
    p->n_ra = o->ra_n;
    for (int i = 0; i < p->n_ra; i++) {
        p->ra[i].op = (int)lgp_rng_below(r, LGP_RA_COUNT);
        p->ra[i].apply = lgp_rng_uniform(r) < o->ra_p;
        double m = o->ra_m + o->ra_mstd * lgp_rng_normal(r);
        p->ra[i].m = m < 0 ? 0 : m > 10 ? 10 : m;
        p->ra[i].neg = lgp_rng_uniform(r) > 0.5; /* timm _randomly_negate */
    }
}

void lgp_augment_sample(lgp_view_params p[LGP_AUG_MAX_VIEWS], const lgp_recipe *rc, int h, int w,
                        uint64_t seed, uint64_t epoch, uint64_t index) {
    if (rc->kind == LGP_RECIPE_EVAL) {
        sample_eval(&p[0], rc, h, w);
        return;
    }
    lgp_rng r;
    lgp_rng_init(&r, seed, epoch, index, LGP_RNG_AUGMENT);
    for (int v = 0; v < rc->n_views; v++) {
        sample_view(&p[v], &rc->view[v], h, w, &r);
        if (rc->kind != LGP_RECIPE_FINETUNE) continue;
        sample_erase(&p[v], &rc->view[v], rc->size, &r);
        sample_randaug(&p[v], &rc->view[v], &r);
    }
}

/* ---- single ops (PIL arithmetic) ---- */

/* PIL ImagingBlend: in1 + alpha * (in2 - in1) in float, truncated, clipped. */
static inline uint8_t blend(int deg, int v, float alpha) {
    float t = (float)deg + alpha * (float)(v - deg);
    return t <= 0.0f ? 0 : t >= 255.0f ? 255 : (uint8_t)t;
}

/* PIL convert("L"): ITU-R 601-2 luma in 16-bit fixed point. */
static inline uint8_t luma(const uint8_t *p) {
    return (uint8_t)((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
}

LGP_HOT void lgp_aug_brightness(uint8_t *img, size_t n_px, int c, double f) {
    for (size_t i = 0; i < n_px * c; i++) img[i] = blend(0, img[i], (float)f);
}

LGP_HOT void lgp_aug_contrast(uint8_t *img, size_t n_px, int c, double f) {
    double sum = 0;
    for (size_t i = 0; i < n_px; i++) sum += c >= 3 ? luma(img + i * c) : img[i * c];
    int mean = (int)(sum / (double)n_px + 0.5);
    for (size_t i = 0; i < n_px * c; i++) img[i] = blend(mean, img[i], (float)f);
}

LGP_HOT void lgp_aug_saturation(uint8_t *img, size_t n_px, int c, double f) {
    if (c < 3) return; /* needs colour */
    for (size_t i = 0; i < n_px; i++) {
        uint8_t *p = img + i * c, g = luma(p);
        for (int k = 0; k < 3; k++) p[k] = blend(g, p[k], (float)f);
    }
}

LGP_HOT void lgp_aug_grayscale(uint8_t *img, size_t n_px, int c) {
    if (c < 3) return;
    for (size_t i = 0; i < n_px; i++) {
        uint8_t *p = img + i * c, g = luma(p);
        p[0] = p[1] = p[2] = g;
    }
}

LGP_HOT void lgp_aug_solarize_at(uint8_t *img, size_t n_px, int c, int thresh) {
    for (size_t i = 0; i < n_px * c; i++)
        if (img[i] >= thresh) img[i] = (uint8_t)(255 - img[i]);
}

void lgp_aug_solarize(uint8_t *img, size_t n_px, int c) { lgp_aug_solarize_at(img, n_px, c, 128); }

/* PIL Filter.c ImagingFilter3x3 with SMOOTH (1 1 1 / 1 5 1 / 1 1 1) / 13: float
 * kernel and sum in PIL's order, +0.5 then truncation; one-pixel border copied. */
static void smooth3x3(uint8_t *out, const uint8_t *in, int h, int w, int c) {
    const float k1 = 1.0f / 13.0f, k5 = 5.0f / 13.0f;
    size_t row = (size_t)w * c;
    memcpy(out, in, (size_t)h * row);
    for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++)
            for (int ch = 0; ch < c; ch++) {
                const uint8_t *q = in + (size_t)y * row + (size_t)x * c + ch;
                const uint8_t *u = q - row, *d = q + row;
                float ss = 0.5f;
                ss += (float)d[-c] * k1 + (float)d[0] * k1 + (float)d[c] * k1;
                ss += (float)q[-c] * k1 + (float)q[0] * k5 + (float)q[c] * k1;
                ss += (float)u[-c] * k1 + (float)u[0] * k1 + (float)u[c] * k1;
                out[(size_t)y * row + (size_t)x * c + ch] = ss <= 0.0f ? 0 : ss >= 255.0f ? 255 : (uint8_t)ss;
            }
}

/* PIL ImageEnhance.Sharpness: blend of SMOOTH(img) and img. */
int lgp_aug_sharpness(uint8_t *img, int h, int w, int c, double f) {
    size_t n = (size_t)h * w * c;
    uint8_t *deg = malloc(n);
    if (!deg) return LGP_FATAL;
    smooth3x3(deg, img, h, w, c);
    for (size_t i = 0; i < n; i++) img[i] = blend(deg[i], img[i], (float)f);
    free(deg);
    return LGP_OK;
}

void lgp_aug_hflip(uint8_t *img, int h, int w, int c) {
    for (int y = 0; y < h; y++) {
        uint8_t *row = img + (size_t)y * w * c;
        for (int a = 0, b = w - 1; a < b; a++, b--)
            for (int k = 0; k < c; k++) {
                uint8_t t = row[a * c + k];
                row[a * c + k] = row[b * c + k];
                row[b * c + k] = t;
            }
    }
}

static inline uint8_t clip8i(int v) { return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v; }

/* PIL Convert.c rgb2hsv_row, types as there. */
static void rgb_to_hsv(uint8_t *hsv, const uint8_t *p) {
    uint8_t r = p[0], g = p[1], b = p[2];
    uint8_t maxc = r > g ? (r > b ? r : b) : (g > b ? g : b);
    uint8_t minc = r < g ? (r < b ? r : b) : (g < b ? g : b);
    hsv[2] = maxc;
    if (minc == maxc) {
        hsv[0] = hsv[1] = 0;
        return;
    }
    float cr = (float)(maxc - minc), s = cr / (float)maxc, h;
    float rc = (float)(maxc - r) / cr, gc = (float)(maxc - g) / cr, bc = (float)(maxc - b) / cr;
    if (r == maxc) h = bc - gc;
    else if (g == maxc) h = (float)(2.0 + rc - bc);
    else h = (float)(4.0 + gc - rc);
    h = (float)fmod((h / 6.0 + 1.0), 1.0);
    hsv[0] = clip8i((int)(h * 255.0));
    hsv[1] = clip8i((int)(s * 255.0));
}

/* PIL Convert.c hsv2rgb. */
static void hsv_to_rgb(uint8_t *p, const uint8_t *hsv) {
    uint8_t h = hsv[0], s = hsv[1], v = hsv[2];
    if (s == 0) {
        p[0] = p[1] = p[2] = v;
        return;
    }
    int i = (int)floor((float)h * 6.0 / 255.0);
    float f = (float)((float)h * 6.0 / 255.0 - (float)i), fs = (float)((float)s / 255.0);
    uint8_t up = clip8i((int)round((float)v * (1.0 - fs)));
    uint8_t uq = clip8i((int)round((float)v * (1.0 - fs * f)));
    uint8_t ut = clip8i((int)round((float)v * (1.0 - fs * (1.0 - f))));
    static const int sel[6][3] = {{0, 3, 1}, {2, 0, 1}, {1, 0, 3}, {1, 2, 0}, {3, 1, 0}, {0, 1, 2}};
    uint8_t val[4] = {v, up, uq, ut}; /* sel indexes: 0 v, 1 p, 2 q, 3 t */
    for (int k = 0; k < 3; k++) p[k] = val[sel[i % 6][k]];
}

LGP_HOT void lgp_aug_hue(uint8_t *img, size_t n_px, int c, double f) {
    if (c < 3) return;
    /* torchvision: np_h += np.uint8(hue_factor * 255) — truncation, then mod 256 */
    uint8_t shift = (uint8_t)(int64_t)(f * 255);
    for (size_t i = 0; i < n_px; i++) {
        uint8_t hsv[3], *p = img + i * c;
        rgb_to_hsv(hsv, p);
        hsv[0] = (uint8_t)(hsv[0] + shift);
        hsv_to_rgb(p, hsv);
    }
}

/* PIL BoxBlur.c ImagingLineBoxBlur8: one pass of a box of fractional radius along a
 * line; the two edge pixels of the box get weight fw, the inner ones ww (24-bit). */
LGP_HOT static void box_blur_line(uint8_t *out, const uint8_t *in, int n, int radius, uint32_t ww,
                          uint32_t fw) {
    int lastx = n - 1, edge_a = radius + 1 < n ? radius + 1 : n;
    int edge_b = n - radius - 1 > 0 ? n - radius - 1 : 0;
    uint32_t acc = in[0] * (radius + 1), bulk;
    for (int x = 0; x < edge_a - 1; x++) acc += in[x];
    acc += in[lastx] * (radius - edge_a + 1);
#define MOVE_ACC(sub, add) acc += in[add] - in[sub]
#define ADD_FAR(l, r) bulk = acc * ww + (in[l] + in[r]) * fw
#define SAVE(x) out[x] = (uint8_t)((bulk + (1 << 23)) >> 24)
    if (edge_a <= edge_b) {
        for (int x = 0; x < edge_a; x++) {
            MOVE_ACC(0, x + radius);
            ADD_FAR(0, x + radius + 1);
            SAVE(x);
        }
        for (int x = edge_a; x < edge_b; x++) {
            MOVE_ACC(x - radius - 1, x + radius);
            ADD_FAR(x - radius - 1, x + radius + 1);
            SAVE(x);
        }
        for (int x = edge_b; x <= lastx; x++) {
            MOVE_ACC(x - radius - 1, lastx);
            ADD_FAR(x - radius - 1, lastx);
            SAVE(x);
        }
    } else {
        for (int x = 0; x < edge_b; x++) {
            MOVE_ACC(0, x + radius);
            ADD_FAR(0, lastx);
            SAVE(x);
        }
        for (int x = edge_b; x < edge_a; x++) {
            MOVE_ACC(0, lastx);
            ADD_FAR(0, lastx);
            SAVE(x);
        }
        for (int x = edge_a; x <= lastx; x++) {
            MOVE_ACC(x - radius - 1, lastx);
            ADD_FAR(x - radius - 1, lastx);
            SAVE(x);
        }
    }
#undef MOVE_ACC
#undef ADD_FAR
#undef SAVE
}

/* Three passes over `count` lines of length n: element k of line l at
 * img[l * lstep + k * estep]. buf: [2, n] scratch. */
static void box_blur_lines(uint8_t *img, int count, size_t lstep, int n, size_t estep, float fr,
                           uint8_t *buf) {
    int radius = (int)fr;
    uint32_t ww = (uint32_t)((float)(1 << 24) / (fr * 2 + 1));
    uint32_t fw = ((1u << 24) - (uint32_t)(radius * 2 + 1) * ww) / 2;
    for (int l = 0; l < count; l++) {
        uint8_t *a = buf, *b = buf + n, *base = img + l * lstep;
        for (int k = 0; k < n; k++) a[k] = base[k * estep];
        for (int pass = 0; pass < 3; pass++) {
            box_blur_line(b, a, n, radius, ww, fw);
            uint8_t *t = a;
            a = b;
            b = t;
        }
        for (int k = 0; k < n; k++) base[k * estep] = a[k];
    }
}

/* PIL ImageFilter.GaussianBlur(radius=sigma): 3 box passes per axis (Gwosdek et al.). */
int lgp_aug_blur(uint8_t *img, int h, int w, int c, double sigma) {
    float radius = (float)sigma, sigma2 = radius * radius / 3;
    float L = (float)sqrt(12.0 * sigma2 + 1.0);
    float l = (float)floor((L - 1.0) / 2.0);
    float a = (2 * l + 1) * (l * (l + 1) - 3 * sigma2);
    a /= 6 * (sigma2 - (l + 1) * (l + 1));
    float fr = l + a;
    if (fr == 0) return LGP_OK;
    uint8_t *buf = malloc(2 * (size_t)(h > w ? h : w));
    if (!buf) return LGP_FATAL;
    for (int ch = 0; ch < c; ch++) {
        box_blur_lines(img + ch, h, (size_t)w * c, w, (size_t)c, fr, buf); /* rows */
        box_blur_lines(img + ch, w, (size_t)c, h, (size_t)w * c, fr, buf); /* columns */
    }
    free(buf);
    return LGP_OK;
}

/* ---- views and records ---- */

static int jitter(uint8_t *img, size_t n_px, int c, const lgp_view_params *p) {
    for (int i = 0; i < 4; i++) switch (p->order[i]) {
        case 0: lgp_aug_brightness(img, n_px, c, p->bright_f); break;
        case 1: lgp_aug_contrast(img, n_px, c, p->contrast_f); break;
        case 2: lgp_aug_saturation(img, n_px, c, p->sat_f); break;
        default: lgp_aug_hue(img, n_px, c, p->hue_f); break;
        }
    return LGP_OK;
}

/* dst: [S, S, c] <- the box (bx) of src: [sh, sw, c], then view v's op chain. */
static int view_from_box(uint8_t *dst, const uint8_t *src, size_t stride, int sh, int sw, int c,
                         const double bx[4], const lgp_recipe *rc, int v, const lgp_view_params *p) {
    int S = rc->size;
    size_t n_px = (size_t)S * S;
    int r = lgp_resize_u8_strided(src, stride, sh, sw, c, bx[0], bx[1], bx[2], bx[3], dst, S, S,
                                  rc->view[v].interp);
    if (r != LGP_OK || rc->kind == LGP_RECIPE_EVAL) return r;
    if (p->jitter) jitter(dst, n_px, c, p);
    if (p->gray) lgp_aug_grayscale(dst, n_px, c);
    if (p->blur && lgp_aug_blur(dst, S, S, c, p->sigma) != LGP_OK) return LGP_FATAL;
    if (p->solarize) lgp_aug_solarize(dst, n_px, c);
    if (p->flip) lgp_aug_hflip(dst, S, S, c);
    const lgp_view_opts *o = &rc->view[v];
    for (int i = 0; i < p->n_ra; i++)
        if (p->ra[i].apply &&
            lgp_aug_randaug_op(dst, S, S, c, (lgp_ra_op)p->ra[i].op, p->ra[i].m, p->ra[i].neg, o->ra_fill) != LGP_OK)
            return LGP_FATAL;
    if (p->erase) lgp_aug_erase(dst, S, S, c, p->ex, p->ey, p->ew, p->eh, o->erase_mean, o->erase_std, p->noise_key);
    return LGP_OK;
}

int lgp_augment_view(uint8_t *dst, const uint8_t *src, size_t stride, int h, int w, int c,
                     const lgp_recipe *rc, int v, const lgp_view_params *p) {
    if (rc->kind == LGP_RECIPE_EVAL) return view_from_box(dst, src, stride, h, w, c, p->box, rc, v, p);
    /* torchvision crops first, so the filter never reads outside the crop */
    const uint8_t *crop = src + (size_t)p->y * stride + (size_t)p->x * c;
    double bx[4] = {0, 0, p->w, p->h};
    return view_from_box(dst, crop, stride, p->h, p->w, c, bx, rc, v, p);
}

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

/* Where the view's source pixels are: full-resolution (X, Y) sits at pix (ox + X * sx,
 * oy + Y * sy). exact: unscaled pixels, so a crop can be cut out as torchvision does. */
typedef struct {
    const uint8_t *pix; /* [h, w, c], borrowed or im.pix */
    int h, w, c, exact;
    double ox, oy, sx, sy;
    lgp_image im;
} pix_source;

static int view_from_source(uint8_t *dst, const pix_source *s, const lgp_recipe *rc, int v,
                            const lgp_view_params *p) {
    size_t stride = (size_t)s->w * s->c;
    if (s->exact && rc->kind != LGP_RECIPE_EVAL) {
        int x = (int)lround(s->ox) + p->x, y = (int)lround(s->oy) + p->y;
        if (x < 0 || y < 0 || x + p->w > s->w || y + p->h > s->h) return LGP_FATAL;
        double bx[4] = {0, 0, p->w, p->h};
        return view_from_box(dst, s->pix + (size_t)y * stride + (size_t)x * s->c, stride, p->h, p->w,
                             s->c, bx, rc, v, p);
    }
    double bx[4] = {fmax(0, s->ox + p->box[0] * s->sx), fmax(0, s->oy + p->box[1] * s->sy),
                    fmin(s->w, s->ox + p->box[2] * s->sx), fmin(s->h, s->oy + p->box[3] * s->sy)};
    return view_from_box(dst, s->pix, stride, s->h, s->w, s->c, bx, rc, v, p);
}

/* Decodes `enc` (JPEG/PNG bytes): for random crops of a JPEG only the union of the
 * crops (jpeg_crop_scanline), at a reduced DCT scale if dct_scale allows it. */
static int decode_source(pix_source *s, const lgp_tensor *enc, const lgp_recipe *rc,
                         lgp_view_params *p, int n_views, int H, int W, int dct_scale, char *err,
                         size_t errlen) {
    lgp_decode_opts o = {3, 0, 0, 0, 0};
    int r, crop = rc->kind != LGP_RECIPE_EVAL &&
                  lgp_image_sniff(enc->data, enc->nbytes) == LGP_IMG_JPEG;
    int bx = W, by = H, bx1 = 0, by1 = 0;
    for (int v = 0; v < n_views; v++) {
        bx = p[v].x < bx ? p[v].x : bx, by = p[v].y < by ? p[v].y : by;
        bx1 = p[v].x + p[v].w > bx1 ? p[v].x + p[v].w : bx1;
        by1 = p[v].y + p[v].h > by1 ? p[v].y + p[v].h : by1;
    }
    /* one spare pixel around the union: libjpeg's fancy chroma upsampling at the edge of
     * a partial decode differs from a full decode (DALI does the same) */
    bx = bx > 0 ? bx - 1 : 0, by = by > 0 ? by - 1 : 0;
    bx1 = bx1 < W ? bx1 + 1 : W, by1 = by1 < H ? by1 + 1 : H;
    if (dct_scale) o.min_w = o.min_h = rc->size;
    if (crop) r = lgp_jpeg_decode_crop(enc->data, enc->nbytes, &o, bx, by, bx1 - bx, by1 - by, &s->im, err, errlen);
    else r = lgp_image_decode(enc->data, enc->nbytes, &o, &s->im, err, errlen);
    if (r != LGP_OK) return r;
    if (!crop) bx = by = 0, bx1 = W, by1 = H;
    s->pix = s->im.pix, s->h = s->im.h, s->w = s->im.w, s->c = s->im.c;
    s->sx = (s->im.x1 - s->im.x0) / (bx1 - bx);
    s->sy = (s->im.y1 - s->im.y0) / (by1 - by);
    s->ox = s->im.x0 - bx * s->sx;
    s->oy = s->im.y0 - by * s->sy;
    s->exact = s->im.scale_denom == 1 && s->sx == 1 && s->sy == 1;
    return LGP_OK;
}

/* Finds the record's picture: decoded `image`, or encoded `jpeg` / `png` (header only). */
static int find_source(const lgp_record *rec, const lgp_tensor **img, const lgp_tensor **enc,
                       int *H, int *W, int *C, char *err, size_t errlen) {
    *img = lgp_record_get(rec, "image");
    *enc = NULL;
    if (!*img) {
        *enc = lgp_record_get(rec, "jpeg");
        if (!*enc) *enc = lgp_record_get(rec, "png");
        /* Not damage but the wrong kind of record (views, features): every record after
         * it is the same, so it is fatal at the first. */
        if (!*enc) return fail(err, errlen, LGP_FATAL, "no 'image', 'jpeg' or 'png' tensor (not an image stream)");
        if ((*enc)->dtype != LGP_DT_U8) return fail(err, errlen, LGP_FATAL, "%s: want u8 bytes", (*enc)->name);
        int c;
        int r = lgp_image_info((*enc)->data, (*enc)->nbytes, W, H, &c, err, errlen);
        *C = 3;
        return r;
    }
    const lgp_tensor *t = *img;
    if (t->dtype != LGP_DT_U8 || (t->ndim != 3 && t->ndim != 2))
        return fail(err, errlen, LGP_FATAL, "image: want u8 [H, W, C], got %s with %d dims",
                    lgp_dtype_name(t->dtype), t->ndim);
    int64_t h = t->shape[0], w = t->shape[1], c = t->ndim == 3 ? t->shape[2] : 1;
    if (h < 1 || w < 1 || h > 65535 || w > 65535 || c < 1 || c > 4)
        return fail(err, errlen, LGP_BAD_RECORD, "image: shape [%lld, %lld, %lld] out of range",
                    (long long)h, (long long)w, (long long)c);
    *H = (int)h, *W = (int)w, *C = (int)c;
    return LGP_OK;
}

static int put_view(lgp_record *rec, int v, const uint8_t *view, int S, int C, const lgp_view_params *p) {
    char name[16];
    int64_t vshape[3] = {S, S, C}, cshape[1] = {5};
    float crop[5] = {(float)p->box[0], (float)p->box[1], (float)(p->box[2] - p->box[0]),
                     (float)(p->box[3] - p->box[1]), (float)p->flip};
    snprintf(name, sizeof name, "view%d", v);
    int r = lgp_record_put(rec, name, LGP_DT_U8, 3, vshape, view, (size_t)S * S * C, LGP_COPY);
    snprintf(name, sizeof name, "crop%d", v);
    if (r == LGP_OK) r = lgp_record_put(rec, name, LGP_DT_F32, 1, cshape, crop, sizeof crop, LGP_COPY);
    return r;
}

int lgp_augment_record(lgp_record *rec, const lgp_recipe *rc, uint64_t seed, uint64_t epoch,
                       uint64_t index, int flags, char *err, size_t errlen) {
    const lgp_tensor *img, *enc;
    int H, W, C, S = rc->size, r;
    if ((r = find_source(rec, &img, &enc, &H, &W, &C, err, errlen)) != LGP_OK) return r;
    lgp_view_params p[LGP_AUG_MAX_VIEWS];
    int n_views = rc->kind == LGP_RECIPE_EVAL ? 1 : rc->n_views;
    lgp_augment_sample(p, rc, H, W, seed, epoch, index);
    pix_source s = {0};
    if (img) s = (pix_source){img->data, H, W, C, 1, 0, 0, 1, 1, {0}};
    else if ((r = decode_source(&s, enc, rc, p, n_views, H, W, flags & LGP_AUG_DCT_SCALE, err, errlen)) != LGP_OK)
        return r;
    C = s.c;
    uint8_t *view = malloc((size_t)S * S * C);
    r = view ? LGP_OK : LGP_FATAL;
    for (int v = 0; v < n_views && r == LGP_OK; v++) {
        r = view_from_source(view, &s, rc, v, &p[v]);
        if (r == LGP_OK) r = put_view(rec, v, view, S, C, &p[v]);
    }
    free(view);
    lgp_image_free(&s.im);
    if (r != LGP_OK) return fail(err, errlen, LGP_FATAL, "out of memory or bad resampling arguments");
    if (!(flags & LGP_AUG_KEEP_IMAGE)) {
        lgp_record_remove(rec, "image");
        lgp_record_remove(rec, "jpeg");
        lgp_record_remove(rec, "png");
    }
    return LGP_OK;
}
