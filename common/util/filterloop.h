/* filterloop.h — the record loop of the filter programs (lgp-decode, lgp-augment, lgp-mask):
 * open the input, write an output header made from the input's, read every record of
 * every concatenated stream, let the program change it, write it or skip it, and close.
 * The policy lives here once: a damaged record (the reader's or the program's verdict)
 * is skipped with a capped warning (warncap.h) and counted, or is fatal with strict;
 * LGP_FATAL is fatal; a run that read records but wrote none fails ("all N records
 * skipped; nothing written"). Fatal means lgp_die (exit 1) with the output aborted: this
 * is program support, like cli.h, not a library that returns codes.
 *
 * Records go through in batches of `batch`; a batch of more than one is processed by
 * `threads` OpenMP threads at once and written in input order (lgp-augment), batch 1 is
 * record by record.
 *
 * (The names say filter_loop: lgp_filter alone is resize.h's resampling filter.)
 *
 * Memory: lgp_filterloop_run owns the reader, the writer and the batch of records; a callback
 * borrows a record for the length of the call and may change it in place
 * (lgp_record_put/remove). make_meta returns a malloc'd string the loop frees. ctx is the
 * caller's, passed to every callback. */
#ifndef LGP_FILTERLOOP_H
#define LGP_FILTERLOOP_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/cli.h"

/* How a record the program refused is named in messages: "INPUT: record P 'KEY': why"
 * (P its 0-based position in the input, damaged records included) or else "INPUT: KEY:
 * why"; the reader names the records it finds damaged itself. */
enum {
    LGP_FILTERLOOP_POSITION_FATAL = 1, /* in the fatal message */
    LGP_FILTERLOOP_POSITION_SKIP = 2,  /* in the skip warning */
};

typedef struct {
    long long in, out, skipped; /* records read (damaged ones included) = out + skipped + left */
    long long left;             /* left out by the program's selection (process gave LGP_EOF) */
    double t0;                  /* lgp_now() when the loop started */
} lgp_filterloop_counts;

typedef struct {
    const char *input;                 /* path, "-" = stdin */
    const lgp_output_opts *out;
    int strict;                        /* a damaged record is fatal */
    int batch;                         /* records per batch, >= 1 */
    int threads;                       /* threads per batch when batch > 1 */
    uint64_t start;                    /* index of the first record (--start-index) */
    unsigned flags;                    /* LGP_FILTER_* */
    void *ctx;
    /* The output header (JSON, malloc'd) from the input's; the place to settle defaults
     * that depend on the input header. */
    char *(*make_meta)(void *ctx, const char *in_meta);
    /* Changes one record in place: LGP_OK (write it), LGP_BAD_RECORD (skip it),
     * LGP_EOF (leave it out quietly: a selection, counted in left) or LGP_FATAL, with
     * the reason in err. index = start + its position in the input.
     * Runs on several threads at once when batch > 1 and threads > 1. */
    int (*process)(void *ctx, lgp_record *r, uint64_t index, char *err, size_t errlen);
    /* Optional: after each full batch is written (a progress line). */
    void (*progress)(void *ctx, const lgp_filterloop_counts *k);
} lgp_filterloop;

/* Runs the loop to the end of the input; returns with the output closed and the counts
 * in *k (the program prints its own summary), or dies. */
void lgp_filterloop_run(const lgp_filterloop *f, lgp_filterloop_counts *k);

#endif
