/* named.h — moving named float tensors between model buffers and records (checkpoints,
 * safetensors) with strict key accounting: a missing or unknown key is an error unless
 * a rule names it, a shape mismatch always is. Never a silent partial load.
 *
 * lgp_named_list is a list of views (name, shape, float pointer) into buffers the caller
 * owns (model parameters, optimizer moments, BN statistics); the list owns only its
 * names. Build one per checkpoint layout, then _put borrows the buffers into a record
 * for saving, and _load copies a loaded record's tensors into them. */
#ifndef LGP_NAMED_H
#define LGP_NAMED_H

#include <stddef.h>
#include <stdint.h>

#include "formats/stream.h"
#include "common/nn/vit.h"

typedef struct {
    char *name; /* owned */
    int ndim;
    int64_t shape[4];
    float *data; /* borrowed */
    size_t numel;
} lgp_named;

typedef struct {
    lgp_named *v;
    size_t n, cap;
} lgp_named_list;

void lgp_named_init(lgp_named_list *l);
void lgp_named_free(lgp_named_list *l);
void lgp_named_add(lgp_named_list *l, const char *prefix, const char *name, int ndim,
                   const int64_t *shape, float *data);
/* Adds every entry of a ViT parameter table, viewing buffer buf (params, grads, m, v);
 * skip_flags: entries with any of these LGP_PARAM_* flags are left out. */
void lgp_named_add_params(lgp_named_list *l, const char *prefix, const lgp_params *p, float *buf,
                          unsigned skip_flags);
const lgp_named *lgp_named_find(const lgp_named_list *l, const char *name);

/* Borrows every tensor into rec (f32). */
int lgp_named_put(lgp_record *rec, const lgp_named_list *l);

typedef struct {
    const char *const *strip;       /* prefixes removed from record names first ("module.") */
    const char *const *ignore;      /* record names with these prefixes are not loaded */
    const char *const *missing_ok;  /* list names with these prefixes may be absent */
    int allow_missing, allow_unknown; /* --allow-missing / --allow-unknown escape hatches */
} lgp_load_rules;

/* Copies rec's tensors into l's buffers (f32, f16 and bf16 sources). Reports every
 * missing/unknown/mismatched key (up to a few) in err and returns LGP_FATAL, or LGP_OK
 * with *loaded / *missing counts (may be NULL). */
int lgp_named_load(const lgp_named_list *l, const lgp_record *rec, const lgp_load_rules *r,
                   size_t *loaded, size_t *missing, char *err, size_t errlen);
/* FNV-1a 64-bit hash of every tensor's bytes in list order (rank agreement, resume tests). */
uint64_t lgp_named_hash(const lgp_named_list *l);

#endif
