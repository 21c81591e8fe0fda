/* trainlog.c — see trainlog.h. */
#include "common/train/trainlog.h"

#include "common/lgp.h"
#include "common/util/log.h"

#include <errno.h>
#include <string.h>

/* A failed log write: one warning, no more log lines, and exit status 1 at the end
 * (the run itself goes on, so its checkpoint is still written). */
static void log_failed(lgp_trainlog *l, int e) {
    if (l->failed) return;
    l->failed = e ? e : EIO;
    lgp_warn("%s: write error: %s (log stopped; the exit status will be 1)", l->path, strerror(l->failed));
    lgp_fail_at_exit();
}

int lgp_trainlog_open(lgp_trainlog *l, const char *path, int append, int64_t every, int64_t total) {
    l->jsonl = NULL;
    l->path = path;
    l->failed = 0;
    if (path && !(l->jsonl = fopen(path, append ? "a" : "w"))) return LGP_FATAL;
    l->every = every > 0 ? every : 50;
    l->total = total;
    l->t0 = l->last_live = lgp_now();
    l->images = 0;
    l->live[0] = 0;
    return LGP_OK;
}

void lgp_trainlog_step(lgp_trainlog *l, int64_t step, int64_t epoch, double loss, double lr,
                       double gnorm, int batch, const char *extra_json) {
    double now = lgp_now(), dt = now - l->t0;
    l->images += batch;
    double ips = dt > 0 ? l->images / dt : 0;
    double eta = step > 0 && l->total > step ? dt / (double)l->images * batch * (double)(l->total - step) : 0;
    if (l->jsonl && !l->failed) {
        errno = 0;
        int n = fprintf(l->jsonl, "{\"step\":%lld,\"epoch\":%lld,\"loss\":%.8g,\"lr\":%.6g,\"grad_norm\":%.6g,"
                          "\"img_per_s\":%.2f,\"time\":%.3f%s}\n",
                (long long)step, (long long)epoch, loss, lr, gnorm, ips, dt, extra_json ? extra_json : "");
        if (n < 0 || fflush(l->jsonl) != 0 || ferror(l->jsonl)) log_failed(l, errno);
    }
    if (lgp_progress) {
        char e[32];
        snprintf(l->live, sizeof l->live, "step %lld/%lld epoch %lld loss %.4f lr %.3g %.0f img/s %s", (long long)step,
                 (long long)l->total, (long long)epoch, loss, lr, ips, lgp_progress_eta(e, sizeof e, eta));
        if (now - l->last_live > 0.25) lgp_progress_line("%s", l->live), l->last_live = now;
    } else if (!lgp_progress && (step % l->every == 0 || step == l->total)) {
        lgp_info("step %lld/%lld epoch %lld loss %.4f lr %.3g grad-norm %.3g %.0f img/s",
                 (long long)step, (long long)l->total, (long long)epoch, loss, lr, gnorm, ips);
    }
}

int lgp_trainlog_close(lgp_trainlog *l) {
    if (l->live[0]) lgp_progress_line("%s", l->live); /* the last step, on the line it ends */
    lgp_progress_end();
    if (l->jsonl) {
        errno = 0;
        int bad = ferror(l->jsonl), e = 0;
        if (fclose(l->jsonl) != 0) bad = 1, e = errno;
        if (bad) log_failed(l, e);
    }
    l->jsonl = NULL;
    return l->failed ? LGP_FATAL : LGP_OK;
}
