/* filterloop.c — see filterloop.h. */
#include "common/util/filterloop.h"

#include "common/lgp.h"
#include "common/util/log.h"
#include "common/util/warncap.h"

#include <stdlib.h>
#include <string.h>

#define ERRLEN 1024

typedef struct {
    const lgp_filterloop *f;
    lgp_reader *rd;
    lgp_writer *w;
    lgp_record *recs; /* [batch] */
    uint64_t *idx;    /* [batch] start + position in the input */
    int *bad;         /* [batch] 1: the reader found it damaged (already reported) */
    int *rcs;         /* [batch] the program's verdict */
    char *errs;       /* [batch][ERRLEN] */
    lgp_warncap msgs;
    lgp_filterloop_counts *k;
} loop;

_Noreturn static void die_with(loop *l, const char *msg) {
    lgp_writer_abort(l->w);
    lgp_die("%s", msg);
}

/* Processes recs[0..n), then writes them or reports them, in input order. */
static void flush(loop *l, int n) {
    const lgp_filterloop *f = l->f;
    /* a batch runs in a parallel region even on one thread, as lgp-augment always did;
     * record by record runs outside one, so the program's own loops may go parallel */
#pragma omp parallel for schedule(dynamic, 1) num_threads(f->threads) if (f->batch > 1)
    for (int i = 0; i < n; i++)
        l->rcs[i] = l->bad[i] ? LGP_BAD_RECORD
                              : f->process(f->ctx, &l->recs[i], l->idx[i], l->errs + (size_t)i * ERRLEN, ERRLEN);
    const char *name = lgp_reader_name(l->rd);
    for (int i = 0; i < n; i++) {
        if (l->bad[i]) continue;
        const char *key = l->recs[i].key ? l->recs[i].key : "", *err = l->errs + (size_t)i * ERRLEN;
        long long pos = (long long)(l->idx[i] - f->start);
        int fatal = l->rcs[i] == LGP_FATAL || (l->rcs[i] == LGP_BAD_RECORD && f->strict);
        if (fatal) {
            lgp_writer_abort(l->w);
            if (f->flags & LGP_FILTERLOOP_POSITION_FATAL) lgp_die("%s: record %lld '%s': %s", name, pos, key, err);
            lgp_die("%s: %s: %s", name, key, err);
        }
        if (l->rcs[i] == LGP_EOF) { /* left out by the program's selection: not damage */
            l->k->left++;
            continue;
        }
        if (l->rcs[i] == LGP_BAD_RECORD) {
            if (f->flags & LGP_FILTERLOOP_POSITION_SKIP)
                lgp_warncap_emit(&l->msgs, "%s: record %lld '%s': %s (skipped)", name, pos, key, err);
            else
                lgp_warncap_emit(&l->msgs, "%s: %s: %s (skipped)", name, key, err);
            l->k->skipped++;
            continue;
        }
        lgp_output_write(l->w, &l->recs[i]);
        l->k->out++;
    }
}

/* Reads every record of every stream, a batch at a time; a damaged one keeps its place
 * (and index) in the batch so that the indices stay positions in the input. */
static void read_all(loop *l) {
    const lgp_filterloop *f = l->f;
    uint64_t next = f->start;
    int n = 0, rc;
    do {
        while ((rc = lgp_reader_next(l->rd, &l->recs[n])) != LGP_EOF) {
            l->k->in++;
            if (rc == LGP_FATAL || (rc == LGP_BAD_RECORD && f->strict)) die_with(l, lgp_reader_error(l->rd));
            l->bad[n] = rc == LGP_BAD_RECORD;
            if (l->bad[n]) {
                lgp_warncap_emit(&l->msgs, "%s (skipped)", lgp_reader_error(l->rd));
                l->k->skipped++;
            }
            l->idx[n++] = next++;
            if (n == f->batch) {
                flush(l, n);
                n = 0;
                if (f->progress) f->progress(f->ctx, l->k);
            }
        }
    } while ((rc = lgp_reader_next_stream(l->rd)) == LGP_OK);
    if (rc == LGP_FATAL) die_with(l, lgp_reader_error(l->rd));
    flush(l, n);
}

void lgp_filterloop_run(const lgp_filterloop *f, lgp_filterloop_counts *k) {
    LGP_ASSERT(f->batch >= 1 && f->process && f->make_meta);
    char err[ERRLEN];
    loop l = {.f = f, .msgs = {"skipped-record", 0}, .k = k};
    if (lgp_reader_open(&l.rd, f->input, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    char *meta = f->make_meta(f->ctx, lgp_reader_meta(l.rd));
    l.w = lgp_output_open(f->out, meta);
    free(meta);
    size_t B = (size_t)f->batch;
    l.recs = malloc(B * sizeof *l.recs);
    l.idx = malloc(B * sizeof *l.idx);
    l.bad = malloc(B * sizeof *l.bad);
    l.rcs = malloc(B * sizeof *l.rcs);
    l.errs = calloc(B, ERRLEN);
    if (!l.recs || !l.idx || !l.bad || !l.rcs || !l.errs) die_with(&l, "out of memory");
    for (size_t i = 0; i < B; i++) lgp_record_init(&l.recs[i]);
    memset(k, 0, sizeof *k);
    k->t0 = lgp_now();
    read_all(&l);
    lgp_progress_end();
    lgp_warncap_summary(&l.msgs);
    if (k->in && !k->out) { /* a stage that passed nothing on did not do its job */
        lgp_writer_abort(l.w);
        lgp_die("%s: all %lld records skipped; nothing written", lgp_reader_name(l.rd), k->in);
    }
    lgp_output_close(l.w);
    for (size_t i = 0; i < B; i++) lgp_record_free(&l.recs[i]);
    free(l.recs), free(l.idx), free(l.bad), free(l.rcs), free(l.errs);
    lgp_reader_close(l.rd);
}
