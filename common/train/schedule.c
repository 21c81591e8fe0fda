/* schedule.c — see schedule.h. */
#include "common/train/schedule.h"

#include "common/lgp.h"
#include "formats/json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int lgp_schedule_make_dist(lgp_schedule *s, int64_t steps, double epochs, int64_t samples_per_epoch,
                           double warmup_epochs, int64_t warmup_steps, int batch, int accum, int world,
                           double blr, double lr_abs, double min_lr, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->batch = batch;
    s->accum = accum;
    s->world = world;
    int64_t per_step = (int64_t)batch * accum * world;
    if (samples_per_epoch > 0) s->steps_per_epoch = samples_per_epoch / per_step;
    if (steps > 0) s->total_steps = steps;
    else if (epochs > 0 && s->steps_per_epoch > 0) s->total_steps = (int64_t)llround(epochs * (double)s->steps_per_epoch);
    else if (epochs > 0)
        return snprintf(err, errlen, "--epochs needs the number of records per epoch: the input does not announce it; "
                                     "give --samples-per-epoch N or --steps N"), LGP_FATAL;
    else return snprintf(err, errlen, "give --steps N or --epochs E"), LGP_FATAL;
    if (s->total_steps < 1)
        return snprintf(err, errlen, "the schedule has no step (epoch of %lld records < batch %lld)",
                        (long long)samples_per_epoch, (long long)per_step), LGP_FATAL;
    if (warmup_steps >= 0) s->warmup_steps = warmup_steps;
    else s->warmup_steps = (int64_t)llround(warmup_epochs * (double)s->steps_per_epoch);
    if (s->warmup_steps > s->total_steps) s->warmup_steps = s->total_steps;
    s->blr = blr;
    s->lr = lr_abs > 0 ? lr_abs : blr * (double)per_step / 256.0;
    s->min_lr = min_lr;
    return LGP_OK;
}

int64_t lgp_schedule_warmup_cap(int64_t total_steps) { return total_steps / LGP_WARMUP_CAP_DIV; }

int lgp_schedule_make(lgp_schedule *s, int64_t steps, double epochs, int64_t samples_per_epoch,
                      double warmup_epochs, int64_t warmup_steps, int batch, int accum,
                      double blr, double lr_abs, double min_lr, char *err, size_t errlen) {
    return lgp_schedule_make_dist(s, steps, epochs, samples_per_epoch, warmup_epochs, warmup_steps, batch,
                                  accum, 1, blr, lr_abs, min_lr, err, errlen);
}

int64_t lgp_schedule_records_per_epoch(const char *meta_json) {
    lgp_json *m = lgp_json_parse(meta_json, strlen(meta_json), NULL, 0);
    int64_t n = lgp_json_get_i64_def(m, "records_per_epoch", lgp_json_get_i64_def(m, "count", -1));
    lgp_json_free(m);
    return n > 0 ? n : -1;
}

int lgp_schedule_check_resume(const lgp_schedule *stored, const lgp_schedule *asked, unsigned given,
                              char *err, size_t errlen) {
    struct {
        unsigned bit;
        const char *flag;
        double want, have;
    } c[] = {
        {LGP_GIVEN_LENGTH, "--steps/--epochs (total steps)", (double)asked->total_steps, (double)stored->total_steps},
        {LGP_GIVEN_BATCH, "--batch", asked->batch, stored->batch},
        {LGP_GIVEN_ACCUM, "--accum", asked->accum, stored->accum},
        {LGP_GIVEN_LR, "--lr/--blr (peak lr)", asked->lr, stored->lr},
        {LGP_GIVEN_MIN_LR, "--min-lr", asked->min_lr, stored->min_lr},
        {LGP_GIVEN_WARMUP, "--warmup-steps/--warmup-epochs (warmup steps)", (double)asked->warmup_steps,
         (double)stored->warmup_steps},
    };
    for (size_t i = 0; i < LGP_ARRAY_LEN(c); i++) {
        if (!(given & c[i].bit)) continue;
        double d = fabs(c[i].want - c[i].have), scale = fabs(c[i].have) > 1 ? fabs(c[i].have) : 1;
        if (d > 1e-9 * scale)
            return snprintf(err, errlen, "--resume: %s %.9g differs from the resumed run's %.9g; a resumed run keeps its "
                                         "schedule (give the same options, or none)",
                            c[i].flag, c[i].want, c[i].have), LGP_FATAL;
    }
    return LGP_OK;
}

