/* lgp-inspect — show what a stream or checkpoint holds, verify it, convert checkpoints
 * to and from safetensors. */
#include "common/util/cli.h"
#include "common/lgp.h"
#include "common/util/log.h"
#include "formats/checkpoint.h"
#include "formats/json.h"
#include "formats/safetensors.h"
#include "formats/stream.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "lgp-inspect — show, verify and convert lgp streams and checkpoints\n"
    "\n"
    "usage: lgp-inspect [options] [FILE|-]\n"
    "       lgp-inspect --to-safetensors OUT.safetensors CKPT\n"
    "       lgp-inspect --from-safetensors IN.safetensors [-o CKPT]\n"
    "\n"
    "Reads one stream (or several concatenated) from FILE or stdin and prints to stdout:\n"
    "the header metadata, the first records' keys and tensors (name, dtype, shape), and\n"
    "the record count. Reading always checks every checksum and the end record.\n"
    "\n"
    "options:\n"
    "  --verify               print only 'ok: N records' (exit 1 on any damage)\n"
    "  --records N            show tensors of the first N records (default 3)\n"
    "  --keys                 list every record key\n"
    "  --meta                 print only the header metadata\n"
    "  --hash                 print one 64-bit hash of every tensor's name and bytes (all\n"
    "                         records, metadata tensors excluded): equal weights, equal hash\n"
    "  --to-safetensors OUT   write a checkpoint's tensors to OUT in safetensors layout\n"
    "                         (timm names; optimizer state left out unless --with-optim)\n"
    "  --with-optim           keep optim.* tensors when converting\n"
    "  --from-safetensors IN  convert a safetensors file to an lgp checkpoint (stdout or -o)\n"
    "  -o FILE                output file for --from-safetensors (atomic)\n"
    "  --uncompressed         write the checkpoint without zstd\n"
    "  --force                write binary data even to a terminal\n"
    "  -q, --quiet / -v, --verbose / --progress / --help / --version\n"
    "\n"
    "example:\n"
    "  tar-images /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz | lgp-inspect\n"
    "  lgp-inspect --to-safetensors vit.safetensors stage2.ckpt\n"
    "\n"
    "exit status: 0 ok, 1 damaged/truncated input or write error, 2 usage error.\n"
    "See lgp-inspect(1).\n";

struct opts {
    int verify, records, keys, meta_only, with_optim, raw, force, hash;
    const char *to_st, *from_st, *out, *input;
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

static int inspect(const struct opts *o) {
    char err[512];
    lgp_reader *r;
    if (lgp_reader_open(&r, o->input, err, sizeof err) != LGP_OK) lgp_die("%s", err);
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
    if (bad) lgp_die("%s: %llu damaged records", o->input, (unsigned long long)bad);
    if (o->hash) printf("%016llx  %s\n", (unsigned long long)hash, o->input);
    else if (o->verify) printf("ok: %llu records in %d stream%s\n", (unsigned long long)total, nstream, nstream > 1 ? "s" : "");
    return LGP_EXIT_OK;
}

static int to_safetensors(const struct opts *o) {
    char err[512], *meta = NULL;
    lgp_record rec, out;
    lgp_record_init(&rec);
    lgp_record_init(&out);
    if (lgp_ckpt_load(o->input, &rec, &meta, err, sizeof err) != LGP_OK) lgp_die("%s", err);
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

int main(int argc, char **argv) {
    lgp_proginit(argc, argv);
    struct opts o = {.records = 3, .input = "-"};
    static const struct option lo[] = {
        LGP_COMMON_LONGOPTS,
        {"verify", no_argument, 0, 'V'},
        {"hash", no_argument, 0, 'H'},
        {"records", required_argument, 0, 'n'},
        {"keys", no_argument, 0, 'k'},
        {"meta", no_argument, 0, 'M'},
        {"to-safetensors", required_argument, 0, 'T'},
        {"from-safetensors", required_argument, 0, 'F'},
        {"with-optim", no_argument, 0, 'W'},
        {"uncompressed", no_argument, 0, 'R'},
        {"force", no_argument, 0, 'f'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "qvo:", lo, NULL)) != -1) {
        if (lgp_common_opt(c, help)) continue;
        switch (c) {
        case 'V': o.verify = 1; break;
        case 'H': o.hash = o.verify = 1; break;
        case 'n': o.records = (int)lgp_opt_int("--records", optarg, 0, 1000000000); break;
        case 'k': o.keys = 1; break;
        case 'M': o.meta_only = 1; o.records = 0; break;
        case 'T': o.to_st = optarg; break;
        case 'F': o.from_st = optarg; break;
        case 'W': o.with_optim = 1; break;
        case 'R': o.raw = 1; break;
        case 'f': o.force = 1; break;
        case 'o': o.out = optarg; break;
        default: lgp_usage_die("unexpected option");
        }
    }
    lgp_output_check_path("--to-safetensors", o.to_st);
    if (o.out && strcmp(o.out, "-") != 0) lgp_output_check_path("-o", o.out);
    if (o.from_st) {
        if (optind != argc) lgp_usage_die("--from-safetensors takes no FILE operand (use -o)");
        return from_safetensors(&o);
    }
    if (optind < argc) o.input = argv[optind++];
    if (optind != argc) lgp_usage_die("extra operand '%s'", argv[optind]);
    if (o.to_st) return to_safetensors(&o);
    return inspect(&o);
}
