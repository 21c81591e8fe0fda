/* lgp-inspect — show what a stream, checkpoint or safetensors file holds, verify it,
 * and convert between lgp and the formats other tools read (safetensors, NumPy .npz). */
#include "common/util/cli.h"
#include "common/lgp.h"
#include "common/util/log.h"
#include "common/model/export.h"
#include "formats/checkpoint.h"
#include "formats/json.h"
#include "formats/safetensors.h"
#include "formats/stack.h"
#include "formats/stream.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "lgp-inspect — show, verify and convert lgp streams and checkpoints\n"
    "\n"
    "usage: lgp-inspect [options] [FILE|-]\n"
    "       lgp-inspect --hash FILE...\n"
    "       lgp-inspect --to-npz OUT.npz [STREAM|-]\n"
    "       lgp-inspect --to-safetensors OUT.safetensors CKPT|STREAM\n"
    "       lgp-inspect --to-safetensors OUT.safetensors --encoder-only CKPT\n"
    "       lgp-inspect --from-safetensors IN.safetensors [-o CKPT]\n"
    "\n"
    "Reads one stream (or several concatenated) from FILE or stdin and prints to stdout:\n"
    "the header metadata, the first records' keys and tensors (name, dtype, shape), and\n"
    "the record count. Reading always checks every checksum and the end record. A\n"
    "safetensors FILE is described instead: its __metadata__ and tensors.\n"
    "\n"
    "options:\n"
    "  --verify               print only 'ok: N records' (exit 1 on any damage)\n"
    "  --records N            show tensors of the first N records (default 3)\n"
    "  --keys                 list every record key\n"
    "  --meta                 print only the header metadata\n"
    "  --hash                 print one 64-bit hash of every tensor's name and bytes (all\n"
    "                         records, metadata tensors excluded): equal weights, equal\n"
    "                         hash; one line 'HASH  FILE' for each of several FILEs\n"
    "  --to-npz OUT           the stream's records stacked into NumPy arrays in OUT (.npz,\n"
    "                         np.load reads it): every tensor as [N, ...] in its own dtype,\n"
    "                         'key' [N] (unicode) and '__meta__' (the header JSON); every\n"
    "                         record must hold the same tensors with the same shapes (a\n"
    "                         record that does not is an error naming it); built in memory\n"
    "  --to-safetensors OUT   a checkpoint's tensors (timm names; optimizer state left out\n"
    "                         unless --with-optim), or a stream's records stacked as for\n"
    "                         --to-npz (embeddings), the keys as a JSON list in __metadata__\n"
    "  --encoder-only         with --to-safetensors: only the encoder of a checkpoint of any\n"
    "                         stage, under timm VisionTransformer names, with its config and\n"
    "                         mean/std in __metadata__ (timm's load_state_dict(strict=True))\n"
    "  --arch NAME            --encoder-only: the model when the file has no config\n"
    "  --allow-partial        --encoder-only: accept an unfinished run's checkpoint\n"
    "  --with-optim           keep optim.* tensors when converting a checkpoint\n"
    "  --from-safetensors IN  convert a safetensors file to an lgp checkpoint (stdout or -o)\n"
    "  -o FILE                output file for --from-safetensors\n"
    "  --uncompressed         write the checkpoint without zstd\n"
    "  --force                write binary data even to a terminal\n"
    "  -q, --quiet / -v, --verbose / --progress / --help / --version\n"
    "\n"
    "Every output file is written atomically (temporary, fsync, rename), and its path is\n"
    "checked before any input is read.\n"
    "\n"
    "example:\n"
    "  tar-images /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz | lgp-inspect\n"
    "  tar-images /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz |\n"
    "    lgp-embed --model stage2.ckpt | lgp-inspect --to-npz test.npz\n"
    "  lgp-inspect --to-safetensors vit.safetensors --encoder-only stage2.ckpt\n"
    "\n"
    "exit status: 0 ok, 1 damaged/truncated input, records that cannot be stacked, or\n"
    "write error, 2 usage error. See lgp-inspect(1).\n";

struct opts {
    int verify, records, keys, meta_only, with_optim, raw, force, hash, encoder_only;
    const char *to_st, *to_npz, *from_st, *out, *arch, *input;
};

static void print_tensor(const lgp_tensor *t) {
    printf("    %-40s %-4s [", t->name, lgp_dtype_name(t->dtype));
    for (int d = 0; d < t->ndim; d++) printf(d ? ", %lld" : "%lld", (long long)t->shape[d]);
    printf("]");
    int64_t v;
    if ((t->dtype == LGP_DT_STR || t->dtype == LGP_DT_JSON) && t->nbytes <= 200)
        printf(" %.*s", (int)t->nbytes, (const char *)t->data);
    else if (lgp_tensor_get_int(t, &v) == LGP_OK)
        printf(" = %lld", (long long)v);
    printf("\n");
}

/* FNV-1a over names and bytes of every non-text tensor. */
static uint64_t hash_record(uint64_t h, const lgp_record *rec) {
    for (size_t k = 0; k < rec->n; k++) {
        const lgp_tensor *t = &rec->t[k];
        if (t->dtype == LGP_DT_JSON || t->dtype == LGP_DT_STR) continue;
        for (const char *c = t->name; *c; c++) h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
        const unsigned char *p = t->data;
        for (size_t i = 0; i < t->nbytes; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    }
    return h;
}

/* A safetensors file: its tensors are shown, hashed and counted as one record. */
static int describe_st(const struct opts *o, const char *path) {
    char err[512], *meta = NULL;
    lgp_record rec;
    lgp_record_init(&rec);
    if (lgp_st_load(path, &rec, &meta, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    if (o->hash) printf("%016llx  %s\n", (unsigned long long)hash_record(0xcbf29ce484222325ULL, &rec), path);
    else if (o->verify) printf("ok: %zu tensors (safetensors)\n", rec.n);
    else {
        printf("safetensors: %zu tensors\n  metadata: %s\n", rec.n, meta);
        for (size_t k = 0; o->records > 0 && k < rec.n; k++) print_tensor(&rec.t[k]);
    }
    free(meta);
    lgp_record_free(&rec);
    return LGP_EXIT_OK;
}

static int inspect(const struct opts *o, const char *input) {
    char err[512];
    if (strcmp(input, "-") != 0 && lgp_st_sniff(input)) return describe_st(o, input);
    lgp_reader *r;
    if (lgp_reader_open(&r, input, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    lgp_record rec;
    lgp_record_init(&rec);
    uint64_t total = 0, bad = 0, hash = 0xcbf29ce484222325ULL;
    int nstream = 0, rc;
    do {
        nstream++;
        if (!o->verify) printf("stream %d (%s)\n  meta: %s\n", nstream, lgp_reader_compressed(r) ? "zstd" : "raw", lgp_reader_meta(r));
        while ((rc = lgp_reader_next(r, &rec)) != LGP_EOF) {
            if (rc == LGP_FATAL) lgp_die("%s", lgp_reader_error(r));
            if (rc == LGP_BAD_RECORD) {
                lgp_warn("%s", lgp_reader_error(r));
                bad++;
                continue;
            }
            uint64_t i = lgp_reader_index(r) - 1;
            if (o->hash) hash = hash_record(hash, &rec);
            if (!o->verify && (o->keys || (int64_t)i < o->records)) printf("  record %llu: key '%s'\n", (unsigned long long)i, rec.key);
            if (!o->verify && (int64_t)i < o->records)
                for (size_t k = 0; k < rec.n; k++) print_tensor(&rec.t[k]);
            total++;
        }
        if (!o->verify) printf("  records: %llu\n", (unsigned long long)lgp_reader_index(r));
    } while ((rc = lgp_reader_next_stream(r)) == LGP_OK);
    if (rc == LGP_FATAL) lgp_die("%s", lgp_reader_error(r));
    lgp_record_free(&rec);
    lgp_reader_close(r);
    if (bad) lgp_die("%s: %llu damaged records", input, (unsigned long long)bad);
    if (o->hash) printf("%016llx  %s\n", (unsigned long long)hash, input);
    else if (o->verify) printf("ok: %llu records in %d stream%s\n", (unsigned long long)total, nstream, nstream > 1 ? "s" : "");
    return LGP_EXIT_OK;
}

/* A checkpoint (stream or safetensors file) to safetensors, its metadata as "lgp_meta";
 * r: the open reader when the checkpoint is a stream, NULL to load path. */
static int ckpt_to_safetensors(const struct opts *o, lgp_reader *r) {
    char err[512], *meta = NULL;
    lgp_record rec, out;
    lgp_record_init(&rec);
    lgp_record_init(&out);
    if ((r ? lgp_ckpt_read(r, &rec, &meta, err, sizeof err) : lgp_ckpt_load(o->input, &rec, &meta, err, sizeof err)) != LGP_OK)
        lgp_die("%s", err);
    for (size_t i = 0; i < rec.n; i++) {
        const lgp_tensor *t = &rec.t[i];
        if (strcmp(t->name, LGP_CKPT_META) == 0) continue;
        if (!o->with_optim && strncmp(t->name, "optim.", 6) == 0) continue;
        if (lgp_record_put(&out, t->name, t->dtype, t->ndim, t->shape, t->data, t->nbytes, LGP_BORROW) != LGP_OK)
            lgp_die("out of memory");
    }
    lgp_json *m = lgp_json_new_obj();
    lgp_json_set_str(m, "format", "pt");
    lgp_json_set_str(m, "lgp_meta", meta);
    char *ms = lgp_json_dump(m);
    if (lgp_st_save(o->to_st, &out, ms, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    lgp_info("%s: %zu tensors written", o->to_st, out.n);
    free(ms);
    lgp_json_free(m);
    free(meta);
    lgp_record_free(&out);
    lgp_record_free(&rec);
    if (r) lgp_reader_close(r);
    return LGP_EXIT_OK;
}

/* --to-npz, or --to-safetensors of a stream: every record of every concatenated stream
 * stacked (a checkpoint goes to ckpt_to_safetensors). A damaged record stops the
 * conversion: nothing is written. */
static int convert(const struct opts *o) {
    char err[512];
    if (o->to_st && strcmp(o->input, "-") != 0 && lgp_st_sniff(o->input)) return ckpt_to_safetensors(o, NULL);
    lgp_reader *r;
    if (lgp_reader_open(&r, o->input, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    if (o->to_st && lgp_ckpt_is_stream(lgp_reader_meta(r))) return ckpt_to_safetensors(o, r);
    char *meta = strdup(lgp_reader_meta(r));
    if (!meta) lgp_die("out of memory");
    lgp_reader_set_concat(r, 1);
    lgp_record rec;
    lgp_record_init(&rec);
    lgp_stack s;
    lgp_stack_init(&s);
    int rc;
    while ((rc = lgp_reader_next(r, &rec)) != LGP_EOF) {
        if (rc != LGP_OK) lgp_die("%s", lgp_reader_error(r));
        if (lgp_stack_add(&s, &rec, err, sizeof err) != LGP_OK) lgp_die("%s: %s", lgp_reader_name(r), err);
    }
    lgp_reader_close(r);
    lgp_record_free(&rec);
    rc = o->to_npz ? lgp_stack_save_npz(&s, meta, o->to_npz, 0, err, sizeof err)
                   : lgp_stack_save_st(&s, meta, o->to_st, err, sizeof err);
    if (rc != LGP_OK) lgp_die("%s", err);
    lgp_info("%s: %llu records stacked into %zu arrays and the keys", o->to_npz ? o->to_npz : o->to_st,
             (unsigned long long)s.n, s.ncol);
    lgp_stack_free(&s);
    free(meta);
    return LGP_EXIT_OK;
}

static int from_safetensors(const struct opts *o) {
    char err[512], *stm = NULL;
    lgp_record rec;
    lgp_record_init(&rec);
    if (lgp_st_load(o->from_st, &rec, &stm, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    if (!o->out || strcmp(o->out, "-") == 0) lgp_check_stdout_not_tty(o->force);
    lgp_json *m = lgp_json_parse(stm, strlen(stm), NULL, 0);
    const char *lm = lgp_json_get_str(m, "lgp_meta", NULL);
    lgp_json *meta = lm ? lgp_json_parse(lm, strlen(lm), NULL, 0) : NULL;
    if (!meta || meta->type != LGP_JSON_OBJ) {
        lgp_json_free(meta);
        meta = lgp_json_new_obj();
    }
    lgp_json_set_str(meta, "source", o->from_st);
    lgp_json_set(meta, "safetensors_metadata", lgp_json_clone(m));
    char *ms = lgp_json_dump(meta);
    lgp_writer_opts wo = LGP_WRITER_OPTS_DEFAULT;
    wo.compress = !o->raw;
    if (lgp_ckpt_save(o->out, &rec, ms, &wo, err, sizeof err) != LGP_OK) lgp_die("%s", err);
    free(ms);
    lgp_json_free(meta);
    lgp_json_free(m);
    free(stm);
    lgp_record_free(&rec);
    return LGP_EXIT_OK;
}

static void parse(int argc, char **argv, struct opts *o) {
    static const struct option lo[] = {
        LGP_COMMON_LONGOPTS,
        {"verify", no_argument, 0, 'V'},         {"hash", no_argument, 0, 'H'},
        {"records", required_argument, 0, 'n'},  {"keys", no_argument, 0, 'k'},
        {"meta", no_argument, 0, 'M'},           {"to-safetensors", required_argument, 0, 'T'},
        {"to-npz", required_argument, 0, 'N'},   {"encoder-only", no_argument, 0, 'E'},
        {"arch", required_argument, 0, 'a'},     {"allow-partial", no_argument, 0, 'A'},
        {"from-safetensors", required_argument, 0, 'F'}, {"with-optim", no_argument, 0, 'W'},
        {"uncompressed", no_argument, 0, 'R'},   {"force", no_argument, 0, 'f'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "qvo:", lo, NULL)) != -1) {
        if (lgp_common_opt(c, help)) continue;
        switch (c) {
        case 'V': o->verify = 1; break;
        case 'H': o->hash = o->verify = 1; break;
        case 'n': o->records = (int)lgp_opt_int("--records", optarg, 0, 1000000000); break;
        case 'k': o->keys = 1; break;
        case 'M': o->meta_only = 1; o->records = 0; break;
        case 'T': o->to_st = optarg; break;
        case 'N': o->to_npz = optarg; break;
        case 'E': o->encoder_only = 1; break;
        case 'a': o->arch = optarg; break;
        case 'A': lgp_ckpt_allow_partial = 1; break;
        case 'F': o->from_st = optarg; break;
        case 'W': o->with_optim = 1; break;
        case 'R': o->raw = 1; break;
        case 'f': o->force = 1; break;
        case 'o': o->out = optarg; break;
        default: lgp_usage_die("unexpected option");
        }
    }
    if (!!o->to_st + !!o->to_npz + !!o->from_st + o->hash > 1)
        lgp_usage_die("give one of --to-safetensors, --to-npz, --from-safetensors, --hash");
    if ((o->encoder_only || o->arch) && !o->to_st) lgp_usage_die("--encoder-only and --arch go with --to-safetensors");
    if (o->arch && !o->encoder_only) lgp_usage_die("--arch goes with --encoder-only");
    if (o->encoder_only && o->with_optim) lgp_usage_die("--encoder-only leaves the optimizer state out; drop --with-optim");
    if (o->from_st && optind != argc) lgp_usage_die("--from-safetensors takes no FILE operand (use -o)");
    if (!o->hash && optind + 1 < argc) lgp_usage_die("extra operand '%s'", argv[optind + 1]);
    if (o->encoder_only && optind == argc) lgp_usage_die("--encoder-only needs a checkpoint FILE");
    if (optind < argc) o->input = argv[optind];
    lgp_output_check_path("--to-safetensors", o->to_st);
    lgp_output_check_path("--to-npz", o->to_npz);
    if (o->out && strcmp(o->out, "-") != 0) lgp_output_check_path("-o", o->out);
}

int main(int argc, char **argv) {
    lgp_proginit(argc, argv);
    struct opts o = {.records = 3, .input = "-"};
    parse(argc, argv, &o);
    if (o.from_st) return from_safetensors(&o);
    if (o.encoder_only) {
        char err[512];
        size_t n = 0;
        if (lgp_export_encoder(o.input, o.arch, o.to_st, &n, err, sizeof err) != LGP_OK) lgp_die("%s", err);
        lgp_info("%s: %zu encoder tensors written", o.to_st, n);
        return LGP_EXIT_OK;
    }
    if (o.to_st || o.to_npz) return convert(&o);
    if (o.hash && optind + 1 < argc) /* one line per file, as sha256sum */
        for (int i = optind; i < argc; i++) inspect(&o, argv[i]);
    else
        inspect(&o, o.input);
    return LGP_EXIT_OK;
}
