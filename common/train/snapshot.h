/* snapshot.h — a training run's state on disk while it runs: snapshots are checkpoints
 * written atomically as DIR/<prefix>-step<8 digits>.ckpt; after each, DIR/<prefix>-latest.ckpt
 * (a symlink, replaced atomically) names the newest, and only the newest `keep` snapshot
 * files stay. Also the rollback to the newest one (--nan-policy rollback) and where an
 * unfinished run keeps its state. */
#ifndef LGP_SNAPSHOT_H
#define LGP_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "formats/stream.h"

/* Writes a snapshot; *path_out (cap bytes) receives its path. */
int lgp_snapshot_save(const char *dir, const char *prefix, int64_t step, int keep,
                      const lgp_record *rec, const char *meta_json, const lgp_writer_opts *o,
                      char *path_out, size_t cap, char *err, size_t errlen);

/* --nan-policy rollback: reloads DIR/<prefix>-latest.ckpt (verified like any load) into
 * the state's own buffers, which `live` (the state's checkpoint record, borrowing them)
 * names: every tensor must be there with its dtype and size, or nothing is copied.
 * *step and *opt_t receive the snapshot's step and AdamW step count. The data position
 * is NOT rolled back: the batches since the snapshot are passed over, not replayed,
 * so a batch that blew up is not met again (what large runs do after a loss spike). */
int lgp_snapshot_rollback(const char *dir, const char *prefix, const lgp_record *live, int64_t *step, int64_t *opt_t,
                 char *path_out, size_t cap, char *err, size_t errlen);

/* Rollbacks to the same snapshot in a row before a trainer gives up: a fault that
 * comes back after every rollback is not a bad batch. */
#define LGP_MAX_ROLLBACKS 3

/* Where a run that did not finish (input ended early, signal) keeps its state: a
 * snapshot in dir when given; else "<out_path>.partial" when the output is a file;
 * else nowhere (stdout gets nothing, as a partial checkpoint there would look
 * finished). *where (cap bytes) receives the path, or "" when nothing was kept. The
 * metadata must say "complete": false. */
int lgp_snapshot_keep_partial(const char *dir, const char *prefix, int keep, const char *out_path, int64_t step,
                              const lgp_record *rec, const char *meta_json, const lgp_writer_opts *o, char *where,
                             size_t cap, char *err, size_t errlen);

#endif
