/* lgp-decode — decode the `jpeg`/`png` bytes of tar-images records into `image` u8
 * [H, W, C] pixels, optionally resized (shorter side, antialiased) and center-cropped. */
#include "common/util/cli.h"
#include "common/util/filterloop.h"
#include "common/lgp.h"
#include "common/util/log.h"
#include "common/data/resize.h"
#include "formats/jpeg.h"
#include "formats/json.h"
#include "formats/stream.h"

#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "lgp-decode — decode JPEG/PNG records into u8 HWC images\n"
    "\n"
    "usage: lgp-decode [options] [FILE|-] > out.lgps\n"
    "\n"
    "Reads records from tar-images (FILE or stdin) and replaces the `jpeg` or `png` tensor\n"
    "(the format is taken from the bytes, not the name) with `image` u8 [H, W, C]. Other\n"
    "tensors (label, epoch, index, ...) pass through. Records that already hold `image`\n"
    "(IDX data) pass through, resized/converted if asked. A record that cannot be decoded\n"
    "is skipped with one line on stderr; a summary 'decoded N, skipped K' ends the run.\n"
    "\n"
    "options:\n"
    "  --size S               resize so the shorter side is S (torchvision Resize(S):\n"
    "                         longer side int(S * long / short)) (default: keep size);\n"
    "                         a result over --max-pixels is a skipped record\n"
    "  --center-crop C        then cut the central C x C (torchvision CenterCrop)\n"
    "  --filter NAME          bilinear|bicubic|lanczos|nearest|box, PIL semantics with\n"
    "                         antialiasing (default bilinear, as torchvision Resize)\n"
    "  --rgb                  3 channels for every image (default for decoded images:\n"
    "                         gray JPEGs become RGB; IDX images keep their channels)\n"
    "  --gray                 1 channel (ITU-R 601 luma) for every image\n"
    "  --no-dct-scale         always decode at full resolution (default: let libjpeg\n"
    "                         decode at 1/2, 1/4, 1/8 while still >= the output size)\n"
    "  --max-pixels N         refuse images with more pixels, as decoded or as resized\n"
    "                         (default 134217728)\n"
    "  --strict               stop at the first undecodable record (exit 1)\n"
    LGP_OUTPUT_HELP
    "  --progress            a live count on stderr (default: a summary line at the end;\n"
    "                        the trainer or lgp-embed at the end of the pipe draws its\n"
    "                        live line)\n"
    "  -q, --quiet / -v, --verbose / --help / --version\n"
    "\n"
    "example:\n"
    "  tar-images train.tar | lgp-decode --size 256 --center-crop 224 | lgp-inspect\n"
    "\n"
    "exit status: 0 ok (skipped records: 10 named, the rest counted), 1 unreadable stream,\n"
    "write error, every record skipped, or (--strict) an undecodable record, 2 usage\n"
    "error. See lgp-decode(1).\n";

struct opts {
    int size, crop, gray, rgb, no_dct, strict;
    int64_t max_pixels;
    lgp_filter filter;
    lgp_output_opts out;
    const char *input;
};

/* Size after --size (before the crop) of a w x h image, in 64 bits: for extreme aspect
 * ratios int(S * long / short) passes INT_MAX (a 40000 x 1 image at --size 65535). */
static void resized_dims(const struct opts *o, int w, int h, int64_t *nw, int64_t *nh) {
    *nw = w, *nh = h;
    if (!o->size) return;
    if (w <= h) { *nw = o->size; *nh = (int64_t)((double)o->size * h / w); }
    else { *nh = o->size; *nw = (int64_t)((double)o->size * w / h); }
    if (*nw < 1) *nw = 1;
    if (*nh < 1) *nh = 1;
}

static int64_t pixel_cap(const struct opts *o) { return o->max_pixels > 0 ? o->max_pixels : LGP_IMAGE_MAX_PIXELS; }

/* Output size and full-resolution source box for an image of w x h. The resized
 * (pre-crop) size only has to exist as a number; the output must fit in an int per
 * side and in --max-pixels. */
static int plan(const struct opts *o, int w, int h, int *dw, int *dh, double box[4], char *err, size_t errlen) {
    int64_t nw, nh;
    resized_dims(o, w, h, &nw, &nh);
    box[0] = 0, box[1] = 0, box[2] = w, box[3] = h;
    int64_t ow = nw, oh = nh;
    if (o->crop) {
        if (o->crop > nw || o->crop > nh) {
            snprintf(err, errlen, "%lldx%lld image is smaller than --center-crop %d", (long long)nw, (long long)nh, o->crop);
            return LGP_BAD_RECORD;
        }
        double top = nearbyint((double)(nh - o->crop) / 2.0), left = nearbyint((double)(nw - o->crop) / 2.0);
        double sx = (double)w / (double)nw, sy = (double)h / (double)nh;
        box[0] = left * sx, box[2] = (left + o->crop) * sx;
        box[1] = top * sy, box[3] = (top + o->crop) * sy;
        ow = oh = o->crop;
    }
    int64_t cap = pixel_cap(o);
    if (ow > cap / oh || ow > INT_MAX || oh > INT_MAX) {
        char what[64];
        if (ow > cap / oh) snprintf(what, sizeof what, "over %lld pixels", (long long)cap);
        else snprintf(what, sizeof what, "over %d on a side", INT_MAX);
        snprintf(err, errlen, "resized image too large (%dx%d to %lldx%lld, %s)", w, h,
                 (long long)ow, (long long)oh, what);
        return LGP_BAD_RECORD;
    }
    *dw = (int)ow, *dh = (int)oh;
    return LGP_OK;
}

/* Channel conversion in place of *pix ([h, w, c] -> [h, w, want]); want 0 = keep. */
static int convert_channels(uint8_t **pix, int h, int w, int *c, int want) {
    if (!want || want == *c) return LGP_OK;
    size_t n = (size_t)h * w;
    uint8_t *o = malloc(n * want + 1), *p = *pix;
    if (!o) return LGP_FATAL;
    for (size_t i = 0; i < n; i++) {
        if (want == 3) o[3 * i] = o[3 * i + 1] = o[3 * i + 2] = p[i * *c];
        else o[i] = (uint8_t)((p[3 * i] * 19595 + p[3 * i + 1] * 38470 + p[3 * i + 2] * 7471 + 0x8000) >> 16);
    }
    free(*pix);
    *pix = o;
    *c = want;
    return LGP_OK;
}

/* src [sh, sw, c] decoded at some scale of a full-resolution fw x fh image. */
static int resize_to(const struct opts *o, lgp_image *im, int fw, int fh, char *err, size_t errlen) {
    int dw, dh;
    double b[4];
    if (plan(o, fw, fh, &dw, &dh, b, err, errlen) != LGP_OK) return LGP_BAD_RECORD;
    double rx = (double)im->w / fw, ry = (double)im->h / fh;
    if (dw == im->w && dh == im->h && b[0] == 0 && b[1] == 0 && rx == 1 && ry == 1) return LGP_OK;
    uint8_t *dst = malloc((size_t)dw * dh * im->c + 1);
    if (!dst) {
        snprintf(err, errlen, "out of memory for a %dx%d image", dw, dh);
        return LGP_FATAL;
    }
    double x0 = b[0] * rx, y0 = b[1] * ry, x1 = fmin(b[2] * rx, im->w), y1 = fmin(b[3] * ry, im->h);
    if (lgp_resize_u8(im->pix, im->h, im->w, im->c, x0, y0, x1, y1, dst, dh, dw, o->filter) != LGP_OK) {
        free(dst);
        snprintf(err, errlen, "resize failed");
        return LGP_FATAL;
    }
    free(im->pix);
    im->pix = dst;
    im->w = dw, im->h = dh;
    return LGP_OK;
}

/* Decodes or converts one record in place. LGP_OK, LGP_EOF (nothing to decode: passed
 * through untouched), LGP_BAD_RECORD (message in err), LGP_FATAL. */
static int process(const struct opts *o, lgp_record *r, int *decoded, char *err, size_t errlen) {
    const char *names[] = {"jpeg", "png"};
    const lgp_tensor *t = NULL;
    const char *tn = NULL;
    for (int k = 0; k < 2 && !t; k++) t = lgp_record_get(r, tn = names[k]);
    lgp_image im;
    memset(&im, 0, sizeof im);
    int rc, fw, fh, c;
    *decoded = t != NULL;
    if (t) {
        if (t->dtype != LGP_DT_U8) { snprintf(err, errlen, "%s tensor is %s, not u8", tn, lgp_dtype_name(t->dtype)); return LGP_BAD_RECORD; }
        lgp_decode_opts d = {.channels = o->gray ? 1 : 3, .max_pixels = o->max_pixels};
        /* the DCT scale may shrink the decode down to the resized (pre-crop) size */
        int64_t nw, nh;
        if (o->size && !o->no_dct && lgp_image_info(t->data, t->nbytes, &fw, &fh, &c, err, errlen) == LGP_OK) {
            resized_dims(o, fw, fh, &nw, &nh);
            d.min_w = (int)(nw < INT_MAX ? nw : INT_MAX), d.min_h = (int)(nh < INT_MAX ? nh : INT_MAX);
        }
        if ((rc = lgp_image_decode(t->data, t->nbytes, &d, &im, err, errlen)) != LGP_OK) return rc;
        fw = im.src_w, fh = im.src_h;
    } else {
        const lgp_tensor *img = lgp_record_get(r, "image");
        if (!img) return LGP_EOF;
        if (img->dtype != LGP_DT_U8 || img->ndim != 3 || (img->shape[2] != 1 && img->shape[2] != 3)) {
            snprintf(err, errlen, "image tensor is not u8 [H, W, 1|3]");
            return LGP_BAD_RECORD;
        }
        if (img->shape[0] < 1 || img->shape[1] < 1 || img->shape[0] > INT_MAX || img->shape[1] > INT_MAX) {
            snprintf(err, errlen, "%s image tensor [%lld, %lld, %lld]", img->shape[0] < 1 || img->shape[1] < 1 ? "empty" : "oversized",
                     (long long)img->shape[0], (long long)img->shape[1], (long long)img->shape[2]);
            return LGP_BAD_RECORD;
        }
        im.h = fh = (int)img->shape[0], im.w = fw = (int)img->shape[1], im.c = (int)img->shape[2];
        if (!(im.pix = malloc(img->nbytes + 1))) return LGP_FATAL;
        memcpy(im.pix, img->data, img->nbytes);
        if ((rc = convert_channels(&im.pix, im.h, im.w, &im.c, o->gray ? 1 : o->rgb ? 3 : 0)) != LGP_OK) goto out;
    }
    if ((o->size || o->crop) && (rc = resize_to(o, &im, fw, fh, err, errlen)) != LGP_OK) goto out;
    int64_t shape[3] = {im.h, im.w, im.c};
    rc = lgp_record_put(r, "image", LGP_DT_U8, 3, shape, im.pix, (size_t)im.h * im.w * im.c, LGP_COPY);
    if (rc == LGP_OK && t) lgp_record_remove(r, tn);
out:
    lgp_image_free(&im);
    return rc;
}

struct tally {
    const struct opts *o;
    long long ndec, npass, shown; /* decoded, passed through; written at the last progress call */
};

static char *make_meta(void *ctx, const char *in_meta) {
    const struct opts *o = ((struct tally *)ctx)->o;
    lgp_json *m = in_meta ? lgp_json_parse(in_meta, strlen(in_meta), NULL, 0) : NULL;
    if (!m || m->type != LGP_JSON_OBJ) { lgp_json_free(m); m = lgp_json_new_obj(); }
    lgp_json *d = lgp_json_new_obj();
    lgp_json_set_num(d, "size", o->size);
    lgp_json_set_num(d, "center_crop", o->crop);
    lgp_json_set_str(d, "filter", lgp_filter_name(o->filter));
    lgp_json_set_str(d, "channels", o->gray ? "gray" : "rgb");
    lgp_json_set(d, "dct_scale", lgp_json_new_bool(!o->no_dct));
    lgp_json_set(m, "decode", d);
    char *s = lgp_json_dump(m);
    lgp_json_free(m);
    return s;
}

static int process_record(void *ctx, lgp_record *r, uint64_t index, char *err, size_t errlen) {
    struct tally *u = ctx;
    int dec, rc = process(u->o, r, &dec, err, errlen);
    (void)index;
    if (rc == LGP_EOF) rc = LGP_OK; /* nothing to decode: passed through */
    if (rc == LGP_OK && dec) u->ndec++;
    else if (rc == LGP_OK) u->npass++;
    return rc;
}

/* Every 256 records written (the loop calls after every record, skipped ones too). */
static void progress(void *ctx, const lgp_filterloop_counts *k) {
    struct tally *u = ctx;
    if (k->out == u->shown) return;
    u->shown = k->out;
    if ((k->out & 255) == 0) lgp_progress_line("decoded %lld, skipped %lld", u->ndec, k->skipped);
}

static void run(const struct opts *o) {
    struct tally u = {o, 0, 0, 0};
    lgp_filterloop f = {.input = o->input, .out = &o->out, .strict = o->strict, .batch = 1, .threads = 1,
                         .ctx = &u, .make_meta = make_meta, .process = process_record, .progress = progress};
    lgp_filterloop_counts k;
    lgp_filterloop_run(&f, &k);
    if (u.npass) lgp_info("decoded %lld, skipped %lld, passed through %lld", u.ndec, k.skipped, u.npass);
    else lgp_info("decoded %lld, skipped %lld", u.ndec, k.skipped);
}

int main(int argc, char **argv) {
    lgp_proginit(argc, argv);
    lgp_sigpipe_is_success();
    lgp_progress_feeder(); /* the pipeline's live line is its consumer's (--progress: ours too) */
    struct opts o = {.filter = LGP_FILTER_BILINEAR, .input = "-"};
    lgp_output_opts_init(&o.out);
    static const struct option lo[] = {
        LGP_COMMON_LONGOPTS, LGP_OUTPUT_LONGOPTS,
        {"size", required_argument, 0, 'S'}, {"center-crop", required_argument, 0, 'C'},
        {"filter", required_argument, 0, 'F'}, {"rgb", no_argument, 0, 'R'},
        {"gray", no_argument, 0, 'G'}, {"no-dct-scale", no_argument, 0, 'D'},
        {"max-pixels", required_argument, 0, 'P'}, {"strict", no_argument, 0, 'X'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "qvo:", lo, NULL)) != -1) {
        if (lgp_common_opt(c, help) || lgp_output_opt(&o.out, c, optarg)) continue;
        switch (c) {
        case 'S': o.size = (int)lgp_opt_int("--size", optarg, 1, 65535); break;
        case 'C': o.crop = (int)lgp_opt_int("--center-crop", optarg, 1, 65535); break;
        case 'F': {
            int f = lgp_filter_from_name(optarg);
            if (f < 0) lgp_usage_die("--filter: unknown filter '%s' (bilinear, bicubic, lanczos, nearest, box)", optarg);
            o.filter = (lgp_filter)f;
            break;
        }
        case 'R': o.rgb = 1; break;
        case 'G': o.gray = 1; break;
        case 'D': o.no_dct = 1; break;
        case 'P': o.max_pixels = lgp_opt_int("--max-pixels", optarg, 1, INT64_MAX); break;
        case 'X': o.strict = 1; break;
        default: lgp_usage_die("unexpected option");
        }
    }
    if (o.gray && o.rgb) lgp_usage_die("--gray and --rgb exclude each other");
    if (optind < argc) o.input = argv[optind++];
    if (optind != argc) lgp_usage_die("extra operand '%s'", argv[optind]);
    lgp_output_precheck(&o.out);
    run(&o);
    return LGP_EXIT_OK;
}
