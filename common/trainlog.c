/* trainlog.c — see trainlog.h. */
#include "trainlog.h"

#include "lgp.h"
#include "log.h"

int lgp_trainlog_open(lgp_trainlog *l, const char *path, int append, int64_t every, int64_t total) {
    l->jsonl = NULL;
    if (path && !(l->jsonl = fopen(path, append ? "a" : "w"))) return LGP_FATAL;
    l->every = every > 0 ? every : 50;
    l->total = total;
    l->t0 = l->last_live = lgp_now();
    l->images = 0;
    return LGP_OK;
}

void lgp_trainlog_step(lgp_trainlog *l, int64_t step, int64_t epoch, double loss, double lr,
                       double gnorm, int batch, const char *extra_json) {
    double now = lgp_now(), dt = now - l->t0;
    l->images += batch;
    double ips = dt > 0 ? l->images / dt : 0;
    double eta = step > 0 && l->total > step ? dt / (double)l->images * batch * (double)(l->total - step) : 0;
    if (l->jsonl) {
        fprintf(l->jsonl, "{\"step\":%lld,\"epoch\":%lld,\"loss\":%.8g,\"lr\":%.6g,\"grad_norm\":%.6g,"
                          "\"img_per_s\":%.2f,\"time\":%.3f%s}\n",
                (long long)step, (long long)epoch, loss, lr, gnorm, ips, dt, extra_json ? extra_json : "");
        fflush(l->jsonl);
    }
    if (lgp_progress && now - l->last_live > 0.25) {
        lgp_progress_line("step %lld/%lld epoch %lld loss %.4f lr %.3g %.0f img/s ETA %.0fs",
                          (long long)step, (long long)l->total, (long long)epoch, loss, lr, ips, eta);
        l->last_live = now;
    } else if (!lgp_progress && (step % l->every == 0 || step == l->total)) {
        lgp_info("step %lld/%lld epoch %lld loss %.4f lr %.3g grad-norm %.3g %.0f img/s",
                 (long long)step, (long long)l->total, (long long)epoch, loss, lr, gnorm, ips);
    }
}

void lgp_trainlog_close(lgp_trainlog *l) {
    lgp_progress_end();
    if (l->jsonl) fclose(l->jsonl);
    l->jsonl = NULL;
}
