/* trainlog.h — training progress: a live \r line on a terminal (or with --progress), a
 * plain line every `every` steps otherwise, and one JSON object per logged step in an
 * optional --log FILE.jsonl (machine-readable; never stdout). Caller-owned struct. */
#ifndef LGP_TRAINLOG_H
#define LGP_TRAINLOG_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
    FILE *jsonl;       /* NULL: no JSONL log */
    int64_t every;     /* plain stderr line every N steps (and at the last step) */
    int64_t total;     /* total steps of the schedule */
    double t0, last_live;
    int64_t images;    /* images processed since t0 */
    const char *path;  /* borrowed: the --log name, for messages */
    int failed;        /* errno of the first failed log write, 0 if none */
    char live[256];    /* the last step's live line, drawn again at the end (a message from
                        * another stage of the pipe may have erased it) */
} lgp_trainlog;

/* path may be NULL. Appends when resuming so one log covers the whole run.
 * A failed write (full disk) is reported once with lgp_warn, stops the log and makes
 * the program's exit status 1 (lgp_fail_at_exit); training goes on. */
int lgp_trainlog_open(lgp_trainlog *l, const char *path, int append, int64_t every, int64_t total);
/* extra_json: NULL or ",\"key\":value,..." appended to the JSON object. */
void lgp_trainlog_step(lgp_trainlog *l, int64_t step, int64_t epoch, double loss, double lr,
                       double gnorm, int batch, const char *extra_json);
/* LGP_FATAL if any log write failed (already reported), else LGP_OK. */
int lgp_trainlog_close(lgp_trainlog *l);

#endif
