/* lgp-probe — few-shot evaluation of frozen features: multinomial logistic regression
 * (docs/METHOD.md §5.2), the SGD linear probe (§5.1) or weighted kNN, on a subset of the
 * training embeddings, scored on the test embeddings. */
#include "common/util/cli.h"
#include "common/lgp.h"
#include "common/util/log.h"
#include "common/eval/probe.h"
#include "common/util/threads.h"
#include "formats/atomicfile.h"
#include "formats/json.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "lgp-probe — few-shot linear evaluation of frozen embeddings\n"
    "\n"
    "usage: lgp-probe [options] --test TEST [--train TRAIN | < TRAIN]\n"
    "\n"
    "Reads two embedding streams (records with a key, 'feature' f32 [C] and 'label' i64),\n"
    "picks a few-shot subset of TRAIN, fits a classifier on it and prints top-1/top-5\n"
    "accuracy (in %) on TEST as a table on stdout. The class count is the header's\n"
    "\"classes\" list if present, else the largest label + 1.\n"
    "\n"
    "options:\n"
    "  --train FILE        training embeddings (default: stdin)\n"
    "  --test FILE         test embeddings (required)\n"
    "  --method M          logreg | linear | knn | all (default logreg)\n"
    "  --shots S           1% | 10% | <p>% | N per class | all (default 1%)\n"
    "  --shots-file LIST   take the subset from LIST ('path label' or 'name' lines)\n"
    "  --seed S            subset / probe seed (default 0)\n"
    "  --seeds K           repeat over seeds S..S+K-1, report mean and std (default 1)\n"
    "logreg (rows centred and l2-normalised; cyanure's objective, L-BFGS):\n"
    "  --lambda X|auto     l2 strength (default 0.00025/n_train, the paper's);\n"
    "                      auto: 5-fold CV over 1e-8..1e-1 (x10 steps)\n"
    "  --folds N           folds for --lambda auto (default 5)\n"
    "  --tol X             stop at ||grad|| <= X*||grad at 0|| (default 1e-6)\n"
    "  --max-iter N        L-BFGS iteration cap (default 2000)\n"
    "  --gap-tol X         stop at a relative duality gap <= X instead of --tol\n"
    "                      (cyanure's rule: --gap-tol 1e-3 --max-iter 300)\n"
    "knn (cosine, votes exp(sim/T)):\n"
    "  --k N               neighbours (default 20)\n"
    "  --temperature T     (default 0.07)\n"
    "linear (SGD head with bias, cosine lr per epoch, raw features):\n"
    "  --epochs N (90)  --batch-size N (256)  --lr X (0.1)  --wd X (0)  --momentum X (0)\n"
    "output:\n"
    "  --json FILE         also write the results as a JSON array (atomic)\n"
    "  --write-subset FILE the first seed's training subset as 'key label' lines (atomic):\n"
    "                      lgp-augment --keep-list FILE gives lgp-finetune the same images\n"
    "  --progress            the live line (default on a terminal): method, seed, fit\n"
    "                        (--lambda auto) and ETA\n"
    "  -q, --quiet / -v, --verbose / --help / --version\n"
    "\n"
    "example:\n"
    "  lgp-embed --model stage2.ckpt < train.lgps > emb-train.lgps\n"
    "  lgp-probe --train emb-train.lgps --test emb-val.lgps --shots 1% --seeds 3\n"
    "\n"
    "exit status: 0 ok, 1 bad or truncated input, 2 usage error. See lgp-probe(1).\n";

struct opts {
    const char *train, *test, *json, *shots_text, *write_subset;
    int methods, seeds;
    uint64_t seed;
    lgp_probe_opts p;
};

static void log_cv(const lgp_probe_result *r) {
    for (int g = 0; g < LGP_PROBE_NLAMBDA; g++)
        lgp_debug("seed %llu: lambda %g: cv top-1 %.2f%%", (unsigned long long)r->seed, lgp_probe_lambda_grid[g], 100 * r->cv_acc[g]);
    lgp_info("seed %llu: --lambda auto chose %g", (unsigned long long)r->seed, r->lambda);
}

/* The live line of one method's runs (a terminal, or --progress): the seed, the fit in
 * it (--lambda auto: folds x grid cross-validation fits, then the final one), and an
 * ETA for the method from the pace of its fits so far. */
typedef struct {
    const char *method;
    int seeds, seed, fits, fit; /* seed: the index of the run in progress; fits: per seed */
    unsigned long long first;   /* the first seed's value (--seed) */
    double t0, last;
} probe_live;

static void live_draw(probe_live *p, int now) {
    if (now) p->last = 0;
    if (!lgp_progress_due(&p->last)) return;
    long done = (long)p->seed * p->fits + p->fit, all = (long)p->seeds * p->fits;
    char e[32] = "";
    if (done > 0) lgp_progress_eta(e, sizeof e, (lgp_now() - p->t0) / (double)done * (double)(all - done));
    unsigned long long id = p->first + (unsigned long long)p->seed;
    if (p->fits > 1)
        lgp_progress_line("%s: seed %llu (%d of %d), fit %d/%d %s", p->method, id, p->seed + 1, p->seeds, p->fit + 1,
                          p->fits, e);
    else lgp_progress_line("%s: seed %llu (%d of %d) %s", p->method, id, p->seed + 1, p->seeds, e);
}

static void live_fit(void *ctx, int done, int total) {
    probe_live *p = ctx;
    (void)total;
    p->fit = done;
    live_draw(p, 0);
}

/* One seed's run, reported in the order the work happened: the cross-validation, a
 * solver that stopped early, then the result or the error. */
static void run_seed(lgp_probe_result *r, int mth, const lgp_probe_set *tr, const lgp_probe_set *te, const float *Pte,
                     const size_t *idx, size_t m, int K, const struct opts *o, probe_live *live) {
    char err[1024];
    lgp_probe_opts po = o->p;
    po.on_fit = live_fit, po.ctx = live;
    live->fit = 0;
    live_draw(live, 1);
    int rc = lgp_probe_run(r, mth, tr, te, Pte, idx, m, K, &po, err, sizeof err);
    if (r->cv_done) log_cv(r);
    if (r->fitted && !r->converged)
        lgp_warn("logreg: seed %llu: stopped after %d iterations at relative gradient %.2g, duality gap %.2g (%s %g)",
                 (unsigned long long)r->seed, r->iters, r->grad_rel, r->gap, o->p.gap_tol > 0 ? "gap-tol" : "tol",
                 o->p.gap_tol > 0 ? o->p.gap_tol : o->p.tol);
    if (rc != LGP_OK) lgp_die("%s", err);
    lgp_info("%s: seed %llu: n_train %zu: top-1 %.2f%% top-5 %.2f%% (%.2f s)", lgp_probe_method_name(mth), (unsigned long long)r->seed, m, r->top1, r->top5, r->seconds);
}

/* The subset as a list lgp-augment --keep-list and lgp-probe --shots-file read back. */
static void write_subset(const char *path, const lgp_probe_set *tr, const size_t *idx, size_t m) {
    char err[512];
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t i = 0; buf && i < m; i++) {
        const char *k = tr->keys[idx[i]];
        size_t need = strlen(k) + 24;
        if (n + need > cap) {
            char *b = realloc(buf, cap = 2 * cap + need);
            if (!b) free(buf);
            buf = b;
            if (!buf) break;
        }
        n += (size_t)snprintf(buf + n, cap - n, "%s %d\n", k, (int)tr->y[idx[i]]);
    }
    if (!buf) lgp_die("out of memory");
    if (lgp_atomic_write_file(path, buf, n, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    free(buf);
    lgp_info("%s: the training subset of the first seed (%zu records)", path, m);
}

static void write_json(const char *path, const lgp_json *arr) {
    char err[512], *text = lgp_json_dump(arr);
    if (!text) lgp_die("out of memory");
    size_t n = strlen(text);
    text[n] = '\n'; /* the dump's NUL becomes the file's last newline */
    if (lgp_atomic_write_file(path, text, n + 1, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    free(text);
}

static void evaluate(const struct opts *o) {
    lgp_probe_set tr, te;
    char err[1024];
    int K;
    if (lgp_probe_set_load(&tr, o->train, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    if (lgp_probe_set_load(&te, o->test, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    if (lgp_probe_classes(&K, &tr, &te, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    lgp_info("train %s: %zu records; test %s: %zu records; %zu dims, %d classes", tr.name, tr.n, te.name, te.n, tr.C, K);
    size_t *idx = malloc(tr.n * sizeof *idx), m, shared, first;
    lgp_probe_result *res = calloc((size_t)o->seeds, sizeof *res);
    lgp_json *arr = lgp_json_new_arr();
    if (!idx || !res) lgp_die("out of memory");
    lgp_probe_print_header(stdout, &tr, &te, K);
    for (int mth = LGP_PROBE_LOGREG; mth <= LGP_PROBE_KNN; mth <<= 1) {
        if (!(o->methods & mth)) continue;
        float *Pte = lgp_probe_prepare(mth, te.X, te.n, te.C);
        if (!Pte) lgp_die("out of memory (%zu x %zu features)", te.n, te.C);
        int cv = mth == LGP_PROBE_LOGREG && o->p.lambda_auto;
        probe_live live = {.method = cv ? "logreg --lambda auto" : lgp_probe_method_name(mth), .seeds = o->seeds,
                           .fits = cv ? o->p.folds * LGP_PROBE_NLAMBDA + 1 : 1, .first = o->seed, .t0 = lgp_now()};
        for (int s = 0; s < o->seeds; s++) {
            res[s] = (lgp_probe_result){.seed = o->seed + (uint64_t)s};
            if (lgp_probe_subset(idx, &m, &tr, K, &o->p, res[s].seed, err, sizeof err) != LGP_OK) lgp_die("%s", err);
            if (s == 0 && mth == (o->methods & -o->methods) && o->write_subset) write_subset(o->write_subset, &tr, idx, m);
            if (s == 0 && mth == (o->methods & -o->methods)) { /* a leak is worth a warning, once */
                if (lgp_probe_shared_keys(&shared, &first, &tr, &te, idx, m) != LGP_OK) lgp_die("out of memory");
                if (shared) lgp_warn("%s: %zu training records share their key with %s (first: '%s')", tr.name, shared, te.name, tr.keys[first]);
            }
            live.seed = s;
            run_seed(&res[s], mth, &tr, &te, Pte, idx, m, K, o, &live);
        }
        lgp_probe_report(stdout, arr, res, o->seeds, o->p.shots_file ? "file" : o->shots_text, &tr, &te, K, &o->p);
        free(Pte);
    }
    if (fflush(stdout) || ferror(stdout)) lgp_die_errno("stdout: write failed");
    if (o->json) write_json(o->json, arr);
    lgp_json_free(arr);
    free(idx), free(res);
    lgp_probe_set_free(&tr);
    lgp_probe_set_free(&te);
}

int main(int argc, char **argv) {
    lgp_proginit(argc, argv);
    lgp_blas_fix_core(); /* fast OpenBLAS kernels on CPUs Debian's build does not know */
    struct opts o = {.train = "-", .shots_text = "1%", .methods = LGP_PROBE_LOGREG, .seeds = 1,
                     .p = {.folds = 5, .max_iter = 2000, .tol = 1e-6, .knn = LGP_KNN_OPTS_DEFAULT, .lin = LGP_LINPROBE_OPTS_DEFAULT}};
    static const struct option lo[] = {
        LGP_COMMON_LONGOPTS,
        {"train", required_argument, 0, 'a'}, {"test", required_argument, 0, 'b'},
        {"method", required_argument, 0, 'c'}, {"shots", required_argument, 0, 'd'},
        {"shots-file", required_argument, 0, 'e'}, {"seed", required_argument, 0, 'f'},
        {"seeds", required_argument, 0, 'g'}, {"lambda", required_argument, 0, 'h'},
        {"folds", required_argument, 0, 'i'}, {"tol", required_argument, 0, 'j'},
        {"max-iter", required_argument, 0, 'k'}, {"gap-tol", required_argument, 0, 'G'}, {"k", required_argument, 0, 'l'},
        {"temperature", required_argument, 0, 'm'}, {"epochs", required_argument, 0, 'n'},
        {"batch-size", required_argument, 0, 'o'}, {"lr", required_argument, 0, 'p'},
        {"wd", required_argument, 0, 'r'}, {"momentum", required_argument, 0, 's'},
        {"json", required_argument, 0, 't'}, {"write-subset", required_argument, 0, 'W'}, {0, 0, 0, 0},
    };
    int c;
    char err[256];
    while ((c = getopt_long(argc, argv, "qv", lo, NULL)) != -1) {
        if (lgp_common_opt(c, help)) continue;
        switch (c) {
        case 'a': o.train = optarg; break;
        case 'b': o.test = optarg; break;
        case 'c':
            if (!(o.methods = lgp_probe_method_parse(optarg))) lgp_usage_die("--method: '%s' is not logreg, linear, knn or all", optarg);
            break;
        case 'd': o.shots_text = optarg; break;
        case 'e': o.p.shots_file = optarg; break;
        case 'f': o.seed = lgp_opt_u64("--seed", optarg); break;
        case 'g': o.seeds = (int)lgp_opt_int("--seeds", optarg, 1, 1000); break;
        case 'h':
            if (!strcmp(optarg, "auto")) o.p.lambda_auto = 1, o.p.lambda = 0;
            else o.p.lambda = lgp_opt_double("--lambda", optarg, 1e-300, 1e6), o.p.lambda_auto = 0;
            break;
        case 'i': o.p.folds = (int)lgp_opt_int("--folds", optarg, 2, 100); break;
        case 'j': o.p.tol = lgp_opt_double("--tol", optarg, 0, 1); break;
        case 'k': o.p.max_iter = (int)lgp_opt_int("--max-iter", optarg, 1, 10000000); break;
        case 'G': o.p.gap_tol = lgp_opt_double("--gap-tol", optarg, 1e-12, 1); break;
        case 'l': o.p.knn.k = (int)lgp_opt_int("--k", optarg, 1, 100000); break;
        case 'm': o.p.knn.temperature = lgp_opt_double("--temperature", optarg, 1e-6, 1e6); break;
        case 'n': o.p.lin.epochs = (int)lgp_opt_int("--epochs", optarg, 1, 1000000); break;
        case 'o': o.p.lin.batch = (int)lgp_opt_int("--batch-size", optarg, 1, 1 << 24); break;
        case 'p': o.p.lin.lr = lgp_opt_double("--lr", optarg, 0, 1e6); break;
        case 'r': o.p.lin.wd = lgp_opt_double("--wd", optarg, 0, 1e6); break;
        case 's': o.p.lin.momentum = lgp_opt_double("--momentum", optarg, 0, 1); break;
        case 't': o.json = optarg; break;
        case 'W': o.write_subset = optarg; break;
        default: lgp_usage_die("unexpected option");
        }
    }
    if (optind != argc) lgp_usage_die("extra operand '%s'", argv[optind]);
    if (!o.test) lgp_usage_die("--test FILE is required");
    lgp_output_check_path("--json", o.json);
    lgp_output_check_path("--write-subset", o.write_subset);
    if (!strcmp(o.test, "-") && !strcmp(o.train, "-")) lgp_usage_die("train and test cannot both be stdin");
    if (lgp_shots_parse(&o.p.shots, o.shots_text, err, sizeof err) != LGP_OK) lgp_usage_die("--shots: %s", err);
    evaluate(&o);
    return LGP_EXIT_OK;
}
