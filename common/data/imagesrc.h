/* imagesrc.h — the images of a data set with their class labels, one at a time in
 * source order, from image archives or folders (formats/archive.h) or from an IDX file
 * pair.
 *
 * Archives and folders are read one after the other as one data set; a folder's
 * members are its files, recursively, named by their paths relative to it, in strcmp
 * order of those (hidden ones skipped, .tar files in it ignored), so a plain tar of
 * the same tree (relative names, that order, no hidden or .tar files) gives the same
 * records. Per image, the first rule that applies gives the label:
 *   WebDataset   members sharing a key (lgp_archive_key) form one sample, grouped by
 *                adjacent key: the image plus a .cls (index or class name) or .json
 *                ({"label": N} or {"cls": N}) sidecar;
 *   labels file  'name label' lines (name = basename with or without extension), or
 *                one label per line for the images in sorted name order;
 *   tar of tars  the inner tar's stem (ImageNet's wnid);
 *   ImageFolder  the name of the image's folder.
 * Class names map to indices through one class list: the classes file in line order,
 * else the sorted names a first pass over member names finds (inner tars, image
 * folders; for file and directory inputs: stdin cannot be pre-scanned), else the
 * sorted class names of the labels file. An index label past the list, a bad sidecar
 * or labels-file value, or a class not in the list skips the image. IDX: labels from
 * --labels or the matching *-labels-idx1-* file; classes Fashion-MNIST's names (file
 * name says "fashion") or "0".."9".
 *
 * Ownership: lgp_imagesrc is a heap object (_open/_close) that borrows the inputs and
 * option strings for its lifetime. An item from lgp_imagesrc_next belongs to the caller
 * (lgp_order_item_free); IDX pixels are borrowed from the source, valid until _close.
 * Nothing here exits or prints: LGP_BAD_RECORD means one member or image was skipped,
 * LGP_FATAL that the data set cannot be read; either way a one-line message (without
 * the program name) is in lgp_imagesrc_error. */
#ifndef LGP_IMAGESRC_H
#define LGP_IMAGESRC_H

#include "common/data/order.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *labels;  /* labels file, or NULL; for IDX the labels IDX file */
    const char *classes; /* class names, one per line, line order = index; or NULL */
    int idx;             /* the one input is an IDX image file (lgp_imagesrc_is_idx) */
    int class_subset;    /* with classes: an image of a class not listed is left out
                          * silently (counted), not skipped as bad: a class subset such
                          * as ImageNet-100 */
} lgp_imagesrc_opts;

typedef struct lgp_imagesrc lgp_imagesrc;

/* 1 if path names an IDX image file: by name (so a damaged one still gets an IDX
 * message) or by its magic. Reads the file's first bytes unless the name tells. */
int lgp_imagesrc_is_idx(const char *path);

/* Reads the class list and labels file, makes the first pass over member names or
 * loads the IDX pair. LGP_OK, or LGP_FATAL with a message in err. */
int lgp_imagesrc_open(lgp_imagesrc **out, char *const *inputs, int ninputs,
                      const lgp_imagesrc_opts *o, char *err, size_t errlen);
/* The next image of this pass: LGP_OK (*it filled, its id unset), LGP_BAD_RECORD,
 * LGP_EOF (the pass is over) or LGP_FATAL. */
int lgp_imagesrc_next(lgp_imagesrc *s, lgp_order_item *it);
const char *lgp_imagesrc_error(const lgp_imagesrc *s);
/* Starts another pass (epoch) from the first image of the first input. */
void lgp_imagesrc_rewind(lgp_imagesrc *s);
/* Rewinds, and with on = 1 makes the passes that follow read only the first
 * LGP_ARCHIVE_PEEK_BYTES of each image of a folder (items then hold those bytes: the
 * same keys, labels, formats and skipped files at the cost of an open per image; for
 * lgp_imgindex_build); on = 0 reads whole images again. Archives are read whole. */
void lgp_imagesrc_peek(lgp_imagesrc *s, int on);
void lgp_imagesrc_close(lgp_imagesrc *s);

/* 1 and the class names in index order (borrowed) if there is a class list, else 0. */
int lgp_imagesrc_classes(const lgp_imagesrc *s, char *const **names, size_t *n);
/* Images per pass when known before reading (IDX), else -1. */
int64_t lgp_imagesrc_count(const lgp_imagesrc *s);
/* Images left out by class_subset so far (all passes). */
int64_t lgp_imagesrc_left_out(const lgp_imagesrc *s);
/* IDX only: image i (0 <= i < count) in *it, as lgp_imagesrc_next would give it. */
int lgp_imagesrc_idx_get(lgp_imagesrc *s, int64_t i, lgp_order_item *it);
/* 1 and the [H, W, C] every image has (IDX), else 0 (archives: sizes vary). */
int lgp_imagesrc_image_shape(const lgp_imagesrc *s, int64_t shape[3]);

#endif
