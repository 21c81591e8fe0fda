/* lgp-gradconf — the gradient conflict between MIM and CL, per block (RECIPE §5.3): on
 * the same weights and batch, the MAE gradient and the MoCo v3 gradient of every part
 * of the encoder, and their cosine, over --batches batches. The joint step of
 * lgp-cl-train --mim-weight, taken apart (clstate.h grad_ctr) and never applied. */
#include "common/data/batch.h"
#include "common/lgp.h"
#include "common/model/modelcfg.h"
#include "common/train/clstate.h"
#include "common/train/gradconf.h"
#include "common/util/cli.h"
#include "common/util/log.h"
#include "common/util/threads.h"
#include "formats/atomicfile.h"
#include "formats/checkpoint.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "lgp-gradconf — how much the MAE and the MoCo v3 gradients agree, per block\n"
    "\n"
    "usage: lgp-gradconf --model CKPT|random [options] [VIEWS|-] > table.txt\n"
    "\n"
    "Reads two-view records (lgp-augment --recipe moco) and, for each of --batches\n"
    "batches, computes on the same weights g_MIM = dL_MAE/dθ (view 0 under its own random\n"
    "mask, as lgp-cl-train --mim-weight) and g_CL = dL_MoCo/dθ (ctr(q1,k2)+ctr(q2,k1)),\n"
    "and their cosine over all parameters of the patch embedding, of each block and of\n"
    "the final norm. Nothing is trained: the weights, the momentum model and the masks\n"
    "are the same for every batch. Prints one line per part (mean, std and quantiles of\n"
    "the cosine over the batches, and 'pooled': the cosine of the two gradients summed\n"
    "over all batches, where the batches' sampling noise cancels) to stdout.\n"
    "\n"
    "The model: any lgp checkpoint (stage 1 MAE, grafted or MoCo v3 stage 2, the joint\n"
    "baseline); what it lacks keeps a random init of --seed and is named on stderr and\n"
    "in the JSON: a stage-1 checkpoint has no MoCo heads, a MoCo v3 one no MAE decoder.\n"
    "'random' is a random init of --arch (everything from --seed).\n"
    "\n"
    "options:\n"
    "  --model CKPT|random   the weights (required)\n"
    "  --arch NAME           model of --model random: fmnist (default), vit-tiny,\n"
    "                        vit-small, vit-base, vit-large\n"
    LGP_MODELCFG_HELP
    "  --batch B             images per batch (default 64)\n"
    "  --batches N           batches measured (default 8); fewer in the input is an error\n"
    "  --tau T               MoCo temperature (default: the checkpoint's, else 0.2)\n"
    "  --mlp-dim F --moco-dim E  head sizes when the checkpoint has no heads (default by\n"
    "                        width: 1024/128 below 384, 4096/256 from 384)\n"
    "  --seed S              init of what the checkpoint lacks, and the MAE masks\n"
    "                        (default 0)\n"
    "  --json FILE           {\"model\", \"batches\", \"blocks\": [{\"block\", \"cosine\" (mean),\n"
    "                        \"std\", \"quantiles\" [min, 25%, median, 75%, max], \"n\"}...],\n"
    "                        \"pooled\"}...], \"patch_embed\", \"norm\", \"per_batch\"} (atomic)\n"
    "  --threads N           OpenMP/OpenBLAS threads (default: all cores)\n"
    "  --strict              a damaged record is fatal (default: skip with a message)\n"
    "  --allow-partial       accept an unfinished checkpoint (complete: false)\n"
    "  -q, --quiet / -v, --verbose / --help / --version\n"
    "\n"
    "example:\n"
    "  tar-images --limit 512 /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz |\n"
    "    lgp-augment --recipe moco --size 28 |\n"
    "    lgp-gradconf --model stage1.ckpt --batch 64 --json g.json\n"
    "\n"
    "exit status: 0 every batch measured; 1 bad input, too few records for --batches,\n"
    "a non-finite loss, write error; 2 usage error. See lgp-gradconf(1).\n";

struct opts {
    const char *model, *arch, *input, *json;
    int batch, batches, threads, strict;
    uint64_t seed;
    lgp_cl_opts co;
    lgp_modelcfg_overrides ov;
};

static void parse(int argc, char **argv, struct opts *o) {
    enum { O_MODEL = 0x4001, O_ARCH, O_BATCH, O_BATCHES, O_TAU, O_MLP, O_MOCO, O_SEED, O_JSON, O_THREADS, O_STRICT, O_PARTIAL };
    static const struct option lo[] = {
        LGP_COMMON_LONGOPTS, LGP_MODELCFG_LONGOPTS,
        {"model", 1, 0, O_MODEL}, {"arch", 1, 0, O_ARCH}, {"batch", 1, 0, O_BATCH}, {"batches", 1, 0, O_BATCHES},
        {"tau", 1, 0, O_TAU}, {"mlp-dim", 1, 0, O_MLP}, {"moco-dim", 1, 0, O_MOCO}, {"seed", 1, 0, O_SEED},
        {"json", 1, 0, O_JSON}, {"threads", 1, 0, O_THREADS}, {"strict", 0, 0, O_STRICT},
        {"allow-partial", 0, 0, O_PARTIAL}, {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "qv", lo, NULL)) != -1) {
        if (lgp_common_opt(c, help) || lgp_modelcfg_opt(&o->ov, c, optarg)) continue;
        switch (c) {
        case O_MODEL: o->model = optarg; break;
        case O_ARCH: o->arch = optarg; break;
        case O_BATCH: o->batch = (int)lgp_opt_int("--batch", optarg, 2, 1 << 16); break;
        case O_BATCHES: o->batches = (int)lgp_opt_int("--batches", optarg, 1, 1 << 24); break;
        case O_TAU: o->co.tau = lgp_opt_double("--tau", optarg, 1e-4, 100); break;
        case O_MLP: o->co.mlp_dim = (int)lgp_opt_int("--mlp-dim", optarg, 1, 65536); break;
        case O_MOCO: o->co.moco_dim = (int)lgp_opt_int("--moco-dim", optarg, 1, 65536); break;
        case O_SEED: o->seed = lgp_opt_u64("--seed", optarg); break;
        case O_JSON: o->json = optarg; break;
        case O_THREADS: o->threads = (int)lgp_opt_int("--threads", optarg, 1, 1024); break;
        case O_STRICT: o->strict = 1; break;
        case O_PARTIAL: lgp_ckpt_allow_partial = 1; break;
        default: lgp_usage_die("unexpected option");
        }
    }
    if (optind < argc) o->input = argv[optind++];
    if (optind < argc) lgp_usage_die("extra operand '%s'", argv[optind]);
    if (!o->model) lgp_usage_die("--model CKPT|random is required");
    int random = strcmp(o->model, "random") == 0;
    if (o->arch && !random) lgp_usage_die("--arch is for --model random (a checkpoint names its model)");
}

/* The state to measure: a checkpoint (whatever it lacks from seed) or a random init. */
static void open_model(lgp_cl_state *s, const struct opts *o, lgp_json *desc) {
    char err[2048];
    lgp_cl_opts co = o->co;
    co.mim_weight = 1; /* the decoder; the cosine does not depend on the weight */
    if (strcmp(o->model, "random") == 0) {
        lgp_vit_config cfg;
        const char *arch = o->arch ? o->arch : "fmnist";
        if (lgp_vit_config_by_name(arch, &cfg) != LGP_OK) lgp_usage_die("--arch: unknown model '%s'", arch);
        lgp_modelcfg_apply(&cfg, &o->ov);
        if (lgp_vit_config_check(&cfg, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
        co.groups.train_patch = 1;
        static const lgp_adamw_hparams hp = {0.9f, 0.999f, 1e-8f, 0.1f};
        if (lgp_cl_state_new(s, &cfg, &co, o->seed, &hp, err, sizeof err) != LGP_OK) lgp_die("%s", err);
        lgp_json_set_str(desc, "source", "random");
        lgp_json_set_str(desc, "arch", arch);
        return;
    }
    lgp_record rec;
    lgp_record_init(&rec);
    char *meta = NULL;
    unsigned have = 0;
    if (lgp_ckpt_load(o->model, &rec, &meta, err, sizeof err) != LGP_OK ||
        lgp_ckpt_check_complete(meta, o->model, err, sizeof err) != LGP_OK ||
        lgp_cl_state_open_any(s, &rec, meta, o->model, &co, o->seed, &have, err, sizeof err) != LGP_OK)
        lgp_die("%s", err);
    lgp_vit_config asked = s->m.cfg;
    lgp_modelcfg_apply(&asked, &o->ov);
    if (lgp_modelcfg_check_encoder(&asked, &s->m.cfg, o->model, err, sizeof err) != LGP_OK) lgp_usage_die("%s", err);
    lgp_json *m = lgp_json_parse(meta, strlen(meta), NULL, 0);
    const char *stage = lgp_json_get_str(m, "stage", "");
    lgp_json_set_str(desc, "source", o->model);
    lgp_json_set_str(desc, "stage", stage);
    lgp_json_set_num(desc, "mim_weight", lgp_json_get_num(lgp_json_get(m, "moco"), "mim_weight", 0));
    lgp_json_set_str(desc, "decoder", have & LGP_CL_HAVE_DECODER ? "checkpoint" : "random");
    lgp_json_set_str(desc, "heads", have & LGP_CL_HAVE_HEADS ? "checkpoint" : "random");
    lgp_json_set_str(desc, "momentum", have & LGP_CL_HAVE_MOMENTUM ? "checkpoint" : "online copy");
    if (!(have & LGP_CL_HAVE_DECODER))
        lgp_info("%s has no MAE decoder: a random one (seed %llu) gives the MAE gradient", o->model, (unsigned long long)o->seed);
    if (!(have & LGP_CL_HAVE_HEADS))
        lgp_info("%s has no MoCo v3 heads: random ones (seed %llu, %d/%d) give the contrastive gradient", o->model,
                 (unsigned long long)o->seed, s->co.mlp_dim, s->co.moco_dim);
    lgp_json_free(m);
    free(meta);
    lgp_record_free(&rec);
}

static void write_json(const char *path, lgp_json *desc, const lgp_gradconf *g, const struct opts *o) {
    char err[1024];
    lgp_json *j = lgp_gradconf_json(g);
    if (!j) lgp_die("out of memory");
    lgp_json_set(j, "model", desc);
    lgp_json_set_i64(j, "batch", o->batch);
    lgp_json_set_u64(j, "seed", o->seed);
    lgp_json *rows = lgp_json_new_arr();
    for (int i = 0; i < g->n; i++) {
        lgp_json *row = lgp_json_new_arr();
        for (int k = 0; k < g->nparts; k++) {
            double c = g->cos[(size_t)i * g->nparts + k];
            lgp_json_push(row, isfinite(c) ? lgp_json_new_num(c) : lgp_json_new_null());
        }
        lgp_json_push(rows, row);
    }
    lgp_json_set(j, "per_batch", rows); /* [batch][patch_embed, block 0.., norm] */
    char *text = lgp_json_dump(j);
    size_t n = strlen(text);
    text[n] = '\n'; /* the dump's terminator becomes the newline; the length says where it ends */
    if (lgp_atomic_write_file(path, text, n + 1, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    free(text);
    lgp_json_free(j);
}

int main(int argc, char **argv) {
    lgp_threads_passive_reexec(argv);
    lgp_proginit(argc, argv);
    struct opts o = {.input = "-", .batch = 64, .batches = 8};
    lgp_cl_opts_init(&o.co);
    lgp_modelcfg_overrides_init(&o.ov);
    parse(argc, argv, &o);
    if (o.json) lgp_output_check_path("--json", o.json);
    lgp_threads_set(o.threads);
    char err[1024];
    lgp_json *desc = lgp_json_new_obj();
    static lgp_cl_state s;
    open_model(&s, &o, desc);
    lgp_reader *r;
    if (lgp_reader_open(&r, o.input, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    const lgp_vit_config *cfg = &s.m.cfg;
    lgp_batch_cfg bc = {.img_size = cfg->img_size, .in_chans = cfg->in_chans, .nviews = 2,
                        .view_names = {"view0", "view1"}, .on_bad_fatal = o.strict, .max_bad = -1};
    memcpy(bc.mean, s.run.mean, sizeof bc.mean);
    memcpy(bc.std, s.run.std, sizeof bc.std);
    lgp_batch b;
    lgp_record scratch;
    lgp_record_init(&scratch);
    lgp_cl_engine e;
    lgp_gradconf g;
    size_t P = s.m.params.total;
    /* static: buffers still reachable when lgp_die exits from the loop (LeakSanitizer) */
    static float *gctr, *sum_ctr, *sum_mim;
    static uint64_t *ids;
    gctr = lgp_floats_alloc(P), sum_ctr = lgp_floats_alloc(P), sum_mim = lgp_floats_alloc(P);
    ids = malloc(sizeof *ids * (size_t)o.batch);
    if (!gctr || !sum_ctr || !sum_mim || !ids || lgp_batch_init(&b, &bc, o.batch) != LGP_OK) lgp_die("out of memory for batch %d", o.batch);
    if (lgp_cl_engine_init(&e, &s, o.batch, err, sizeof err) != LGP_OK) lgp_die("cannot allocate batch %d: %s", o.batch, err);
    if (lgp_gradconf_init(&g, &s.m.params, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    e.grad_ctr = gctr;
    double cos[LGP_GC_MAX_PARTS], t0 = lgp_now();
    for (int i = 0; i < o.batches; i++) {
        int rc = lgp_batch_fill(&b, &bc, r, &scratch, err, sizeof err);
        if (rc == LGP_FATAL) lgp_die("%s", err);
        if (b.n < o.batch)
            lgp_die("%s: ended after %lld records: %d batches of %d need %lld", lgp_reader_name(r), (long long)b.consumed,
                    o.batches, o.batch, (long long)o.batches * o.batch);
        /* Masks keyed by the records' (epoch, index), as lgp-cl-train keys them. */
        int epoch_same = 1;
        for (int k = 0; k < b.n; k++) ids[k] = (uint64_t)b.index[k], epoch_same &= b.epoch[k] == b.epoch[0];
        if (!epoch_same)
            for (int k = 0; k < b.n; k++) ids[k] |= (uint64_t)b.epoch[k] << 40;
        double ctr, mim;
        /* m = 1: the momentum model stays as it is (θm ← θm exactly) */
        double loss = lgp_cl_engine_step(&e, b.x[0], b.x[1], b.n, 1.0, ids, epoch_same ? (uint64_t)b.epoch[0] : 0, NULL,
                                         &ctr, &mim);
        if (!isfinite(loss)) lgp_die("batch %d: the loss is not finite (contrastive %g, MAE %g)", i, ctr, mim);
        lgp_gradconf_cosines(&g, gctr, s.m.grads, cos);
        for (size_t k = 0; k < P; k++) sum_ctr[k] += gctr[k], sum_mim[k] += s.m.grads[k];
        if (lgp_gradconf_add(&g, cos) != LGP_OK) lgp_die("out of memory");
        lgp_debug("batch %d: contrastive %.4f MAE %.4f", i, ctr, mim);
        lgp_progress_line("batch %d/%d", i + 1, o.batches);
    }
    lgp_progress_end();
    lgp_batch_report(&b);
    lgp_gradconf_cosines(&g, sum_ctr, sum_mim, g.pooled);
    g.has_pooled = 1;
    lgp_gradconf_print(&g, stdout);
    if (fflush(stdout) != 0 || ferror(stdout)) lgp_die("stdout: write error");
    if (o.json) write_json(o.json, desc, &g, &o);
    else lgp_json_free(desc);
    lgp_info("%d batches of %d in %.1f s", g.n, o.batch, lgp_now() - t0);
    lgp_gradconf_free(&g);
    lgp_cl_engine_free(&e);
    lgp_batch_free(&b);
    lgp_record_free(&scratch);
    lgp_reader_close(r);
    lgp_cl_state_free(&s);
    free(gctr), free(sum_ctr), free(sum_mim);
    free(ids);
    return LGP_EXIT_OK;
}
