/* checkpoint.h — lgp checkpoints: a one-record stream (key "checkpoint") holding every
 * parameter under its timm name, optimizer state under "optim.m.<name>" and
 * "optim.v.<name>", other state (BatchNorm running statistics, momentum encoder as
 * "momentum.<name>") under its own names, and a "__meta__" json tensor: model config,
 * stage, step, schedule, seeds, data position and class list.
 *
 * Saving refuses non-finite f32 values (a NaN checkpoint is never written) and goes
 * through lgp_writer_open, so a file output is atomic. Loading reads the whole stream,
 * verifies every checksum and the end record, and also accepts a safetensors file
 * (timm weights; meta then comes from its __metadata__ "lgp_meta" entry or is "{}").
 * The caller owns rec and *meta_out (free both). */
#ifndef LGP_CHECKPOINT_H
#define LGP_CHECKPOINT_H

#include <stddef.h>

#include "stream.h"

#define LGP_CKPT_KEY "checkpoint"
#define LGP_CKPT_META "__meta__"

/* path "-" or NULL: stdout. rec's tensors may be borrowed; rec->key is ignored. */
int lgp_ckpt_save(const char *path, const lgp_record *rec, const char *meta_json,
                  const lgp_writer_opts *o, char *err, size_t errlen);
int lgp_ckpt_load(const char *path, lgp_record *rec, char **meta_out, char *err, size_t errlen);
/* Reads one checkpoint stream from an open reader (e.g. the first stream on stdin, with
 * views following): the record, then the end record; leaves the reader after it. */
int lgp_ckpt_read(lgp_reader *r, lgp_record *rec, char **meta_out, char *err, size_t errlen);
/* Is the stream whose header is meta_json a checkpoint (header "kind": "checkpoint")? */
int lgp_ckpt_is_stream(const char *meta_json);
/* A trainer that stopped early writes "complete": false into its snapshots; such a
 * checkpoint is not a finished model. LGP_FATAL with "<src>: ... (--allow-partial to use
 * it anyway)" when meta_json says so and lgp_ckpt_allow_partial is 0 (programs set it
 * from --allow-partial). */
extern int lgp_ckpt_allow_partial;
int lgp_ckpt_check_complete(const char *meta_json, const char *src, char *err, size_t errlen);
/* First non-finite f32 tensor's name, or NULL if all finite. */
const char *lgp_ckpt_find_nonfinite(const lgp_record *rec);

#endif
