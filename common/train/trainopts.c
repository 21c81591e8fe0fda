/* trainopts.c — see trainopts.h. */
#include "common/train/trainopts.h"

#include "formats/checkpoint.h"
#include "common/lgp.h"
#include "common/util/log.h"
#include "common/train/schedule.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int lgp_trainopts_nan_policy(const char *s) {
    return !strcmp(s, "skip") ? LGP_NAN_SKIP : !strcmp(s, "stop") ? LGP_NAN_STOP : !strcmp(s, "rollback") ? LGP_NAN_ROLLBACK : -1;
}

void lgp_trainopts_init(lgp_trainopts *o, const lgp_adamw_hparams *hp) {
    memset(o, 0, sizeof *o);
    o->batch = 256;
    o->warmup_epochs = 40;
    o->warmup_steps = -1;
    o->keep = 3;
    o->log_every = 50;
    o->input = "-";
    o->hp = *hp;
    lgp_output_opts_init(&o->out);
    lgp_modelcfg_overrides_init(&o->ov);
}

static int parse_floats(const char *flag, const char *s, double *v) {
    int n = 0;
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", s);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == 4) lgp_usage_die("%s: at most 4 values", flag);
        v[n++] = lgp_opt_double(flag, t, -1e6, 1e6);
    }
    return n;
}

int lgp_trainopts_parse(lgp_trainopts *o, int c, const char *arg, const char *help) {
    if (lgp_common_opt(c, help) || lgp_output_opt(&o->out, c, arg)) return 1;
    if (lgp_modelcfg_opt(&o->ov, c, arg)) {
        o->given_model = 1;
        return 1;
    }
    switch (c) {
    case LGP_TOPT_MODEL: o->model = arg, o->given_model = 1; return 1;
    case LGP_TOPT_INIT: o->init = arg; return 1;
    case LGP_TOPT_BATCH: o->batch = (int)lgp_opt_int("--batch", arg, 2, 1 << 16), o->given |= LGP_GIVEN_BATCH; return 1;
    case LGP_TOPT_EPOCHS:
        o->epochs = lgp_opt_double("--epochs", arg, 1e-9, 1e7), o->given |= LGP_GIVEN_LENGTH;
        if (o->steps) lgp_usage_die("--epochs and --steps exclude each other");
        return 1;
    case LGP_TOPT_STEPS:
        o->steps = lgp_opt_int("--steps", arg, 1, INT64_MAX / 2), o->given |= LGP_GIVEN_LENGTH;
        if (o->epochs > 0) lgp_usage_die("--epochs and --steps exclude each other");
        return 1;
    case LGP_TOPT_SPE: o->samples_per_epoch = lgp_opt_int("--samples-per-epoch", arg, 1, INT64_MAX / 2); return 1;
    case LGP_TOPT_WE:
        o->warmup_epochs = lgp_opt_double("--warmup-epochs", arg, 0, 1e7), o->given |= LGP_GIVEN_WARMUP;
        return 1;
    case LGP_TOPT_WS:
        o->warmup_steps = lgp_opt_int("--warmup-steps", arg, 0, INT64_MAX / 2), o->given |= LGP_GIVEN_WARMUP;
        return 1;
    case LGP_TOPT_WD: o->hp.weight_decay = (float)lgp_opt_double("--weight-decay", arg, 0, 10); return 1;
    case LGP_TOPT_B1: o->hp.beta1 = (float)lgp_opt_double("--beta1", arg, 0, 0.999999); return 1;
    case LGP_TOPT_B2: o->hp.beta2 = (float)lgp_opt_double("--beta2", arg, 0, 0.999999); return 1;
    case LGP_TOPT_CLIP: o->clip = lgp_opt_double("--clip-grad", arg, 0, 1e9); return 1;
    case LGP_TOPT_SEED: o->seed = lgp_opt_u64("--seed", arg), o->given_seed = 1; return 1;
    case LGP_TOPT_CKD: o->ckpt_dir = arg; return 1;
    case LGP_TOPT_SAVE: o->save_every = lgp_opt_int("--save-every", arg, 0, INT64_MAX / 2); return 1;
    case LGP_TOPT_KEEP: o->keep = (int)lgp_opt_int("--keep", arg, 1, 1000000); return 1;
    case LGP_TOPT_RESUME: o->resume = arg; return 1;
    case LGP_TOPT_NAN:
        if ((o->nan_policy = lgp_trainopts_nan_policy(arg)) < 0)
            lgp_usage_die("--nan-policy: 'skip', 'stop' or 'rollback', not '%s'", arg);
        return 1;
    case LGP_TOPT_LOG: o->log = arg; return 1;
    case LGP_TOPT_LOGE: o->log_every = lgp_opt_int("--log-every", arg, 1, INT64_MAX / 2); return 1;
    case LGP_TOPT_BF16: o->bf16 = 1; return 1;
    case LGP_TOPT_THR: o->threads = (int)lgp_opt_int("--threads", arg, 1, 1024); return 1;
    case LGP_TOPT_STRICT: o->strict = 1; return 1;
    case LGP_TOPT_MEAN: o->nmean = parse_floats("--mean", arg, o->mean); return 1;
    case LGP_TOPT_STD:
        o->nstd = parse_floats("--std", arg, o->std);
        for (int k = 0; k < o->nstd; k++)
            if (!(o->std[k] > 0)) lgp_usage_die("--std: %g is not > 0 (every input would become non-finite)", o->std[k]);
        return 1;
    case LGP_TOPT_INJ: { /* "K" the first attempt at step K, "K+" every attempt */
        char k[32];
        size_t n = strlen(arg);
        o->inject_always = n > 1 && n < sizeof k && arg[n - 1] == '+';
        snprintf(k, sizeof k, "%.*s", (int)(n - (size_t)o->inject_always), arg);
        o->inject_nan = lgp_opt_int("--inject-nan-at", k, 1, INT64_MAX / 2);
        return 1;
    }
    case LGP_TOPT_PARTIAL: lgp_ckpt_allow_partial = 1; return 1;
    default: return 0;
    }
}

void lgp_trainopts_finish(lgp_trainopts *o, int argc, char **argv, int optind_) {
    if (optind_ < argc) o->input = argv[optind_++];
    if (optind_ < argc) lgp_usage_die("extra operand '%s'", argv[optind_]);
    if (o->save_every && !o->ckpt_dir) lgp_usage_die("--save-every needs --checkpoint-dir");
    if (o->nan_policy == LGP_NAN_ROLLBACK && !o->ckpt_dir) lgp_usage_die("--nan-policy rollback needs --checkpoint-dir");
}

int lgp_trainopts_schedule(const lgp_trainopts *o, lgp_schedule *s, int64_t samples_per_epoch, int accum, int world,
                           double blr, double lr_abs, double min_lr, char *err, size_t errlen) {
    if (lgp_schedule_make_dist(s, o->steps, o->epochs, samples_per_epoch, o->warmup_epochs, o->warmup_steps, o->batch,
                               accum, world, blr, lr_abs, min_lr, err, errlen) != LGP_OK)
        return LGP_FATAL;
    int64_t cap = lgp_schedule_warmup_cap(s->total_steps);
    if (!(o->given & LGP_GIVEN_WARMUP) && s->warmup_steps > cap) s->warmup_steps = cap;
    return LGP_OK;
}

void lgp_trainopts_say_warmup(const lgp_trainopts *o, const lgp_schedule *s) {
    /* what the options asked for, before the cap and the clamp to the run */
    int64_t asked = o->warmup_steps >= 0 ? o->warmup_steps : (int64_t)llround(o->warmup_epochs * (double)s->steps_per_epoch);
    const char *unit = o->warmup_steps >= 0 ? "steps" : "epochs";
    double n = o->warmup_steps >= 0 ? (double)o->warmup_steps : o->warmup_epochs;
    if (!(o->given & LGP_GIVEN_WARMUP) && asked > s->warmup_steps)
        lgp_info("warmup %lld steps: the default %g %s (%lld steps) capped at a tenth of the %lld-step run, so that the lr "
                 "decays (--warmup-epochs or --warmup-steps sets it)",
                 (long long)s->warmup_steps, n, unit, (long long)asked, (long long)s->total_steps);
    else if ((o->given & LGP_GIVEN_WARMUP) && asked >= s->total_steps)
        lgp_warn("--warmup-%s %g: a warmup of %lld steps is as long as the %lld-step run or longer: the lr rises to its "
                 "last step and never decays (give a shorter warmup, or leave it out for a tenth of the run)",
                 unit, n, (long long)asked, (long long)s->total_steps);
}

void lgp_trainopts_check_outputs(const lgp_trainopts *o, const char *recon_png) {
    lgp_output_precheck(&o->out);
    lgp_output_check_dir("--checkpoint-dir", o->ckpt_dir);
    lgp_output_check_path("--recon-png", recon_png);
    lgp_output_check_path("--log", o->log);
}
