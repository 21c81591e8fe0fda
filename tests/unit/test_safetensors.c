/* test_safetensors.c — JSON parser edge cases, safetensors round trip and every class of
 * malformed header, checkpoint save/load (atomic, NaN refused). */
#include "formats/checkpoint.h"
#include "formats/json.h"
#include "formats/safetensors.h"
#include "tap.h"

#include <stdint.h>
#include <unistd.h>

static void test_json(void) {
    const char *good[] = {"{}", "[]", "{\"a\":[1,2.5e3,-0.5,true,false,null,\"x\\u00e9\\n\"]}", "  7  ",
                          "\"\\ud83d\\ude00\""};
    const char *bad[] = {"", "{", "{\"a\":1,}", "[1,]", "{\"a\":1,\"a\":2}", "01", "1.", "\"\\x\"",
                         "\"\\ud800\"", "tru", "{\"a\" 1}", "[1] x", "\"a\nb\""};
    char err[128];
    for (size_t i = 0; i < LGP_ARRAY_LEN(good); i++) {
        lgp_json *j = lgp_json_parse(good[i], strlen(good[i]), err, sizeof err);
        ok(j != NULL, "json accepts %s", good[i]);
        lgp_json_free(j);
    }
    for (size_t i = 0; i < LGP_ARRAY_LEN(bad); i++) {
        lgp_json *j = lgp_json_parse(bad[i], strlen(bad[i]), err, sizeof err);
        ok(j == NULL, "json rejects '%s' (%s)", bad[i], j ? "accepted" : err);
        lgp_json_free(j);
    }
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    ok(lgp_json_parse(deep, 200, err, sizeof err) == NULL, "json nesting limit");
    const char *src = "{\"s\":\"q\\\"\\\\\",\"n\":[1,0.1,-3e-07],\"o\":{}}";
    lgp_json *j = lgp_json_parse(src, strlen(src), err, sizeof err);
    char *d = lgp_json_dump(j);
    is_str(d, "{\"s\":\"q\\\"\\\\\",\"n\":[1,0.10000000000000001,-2.9999999999999999e-07],\"o\":{}}", "json dump round trip");
    lgp_json *j2 = lgp_json_parse(d, strlen(d), err, sizeof err);
    char *d2 = lgp_json_dump(j2);
    is_str(d2, d, "dump(parse(dump(x))) is stable");
    free(d);
    free(d2);
    lgp_json_free(j);
    lgp_json_free(j2);
}

static char path[256];

static void write_raw(const char *hdr, size_t data_len) {
    FILE *f = fopen(path, "wb");
    uint64_t n = strlen(hdr);
    unsigned char l[8];
    for (int i = 0; i < 8; i++) l[i] = (unsigned char)(n >> (8 * i));
    fwrite(l, 1, 8, f);
    fwrite(hdr, 1, n, f);
    for (size_t i = 0; i < data_len; i++) fputc(0, f);
    fclose(f);
}

static void test_safetensors(void) {
    char err[512], *meta = NULL;
    lgp_record r, back;
    lgp_record_init(&r);
    lgp_record_init(&back);
    float w[6] = {1, -2, 3.5f, 4, 5, 6};
    int64_t s23[2] = {2, 3}, s0[1] = {0};
    int64_t lab = 42;
    lgp_record_put(&r, "blocks.0.attn.qkv.weight", LGP_DT_F32, 2, s23, w, sizeof w, LGP_BORROW);
    lgp_record_put(&r, "cls_token", LGP_DT_F32, 0, NULL, w, 4, LGP_BORROW);
    lgp_record_put(&r, "empty", LGP_DT_F32, 1, s0, NULL, 0, LGP_BORROW);
    lgp_record_put(&r, "step", LGP_DT_I64, 0, NULL, &lab, 8, LGP_BORROW);
    is_int(lgp_st_save(path, &r, "{\"format\":\"pt\",\"n\":3}", err, sizeof err), LGP_OK, "safetensors save");
    is_int(lgp_st_load(path, &back, &meta, err, sizeof err), LGP_OK, "safetensors load");
    const lgp_tensor *t = lgp_record_get(&back, "blocks.0.attn.qkv.weight");
    ok(t && t->ndim == 2 && t->shape[1] == 3 && memcmp(t->data, w, sizeof w) == 0, "weights identical");
    t = lgp_record_get(&back, "cls_token");
    ok(t && t->ndim == 0 && *(float *)t->data == 1.0f, "0-d tensor");
    ok(lgp_record_get(&back, "empty") && lgp_record_get(&back, "empty")->nbytes == 0, "empty tensor");
    is_str(meta, "{\"format\":\"pt\",\"n\":\"3\"}", "metadata stored as strings");
    free(meta);
    struct { const char *hdr; size_t dlen; const char *why; } bad[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "gap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "do not match"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "outside"},
        {"{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unsupported dtype"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000000000000],\"data_offsets\":[0,8]}}", 8, "do not match"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{}}", 8, "duplicate"},
        {"[1]", 0, "not a JSON object"},
        {"{\"__metadata__\":{\"x\":1}}", 0, "strings"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16, "after the last"},
    };
    for (size_t i = 0; i < LGP_ARRAY_LEN(bad); i++) {
        write_raw(bad[i].hdr, bad[i].dlen);
        int rc = lgp_st_load(path, &back, NULL, err, sizeof err);
        ok(rc == LGP_FATAL && strstr(err, bad[i].why), "rejects %s: %s", bad[i].why, err);
    }
    FILE *f = fopen(path, "wb");
    fwrite("\xff\xff\xff\xff\xff\xff\x00\x00{", 1, 9, f);
    fclose(f);
    ok(lgp_st_load(path, &back, NULL, err, sizeof err) == LGP_FATAL && strstr(err, "header length"), "huge header length: %s", err);
    lgp_record_free(&r);
    lgp_record_free(&back);
}

static void test_checkpoint(void) {
    char err[512], *meta = NULL;
    lgp_record r, back;
    lgp_record_init(&r);
    lgp_record_init(&back);
    float w[4] = {1, 2, 3, 4};
    int64_t s[1] = {4};
    lgp_record_put(&r, "norm.weight", LGP_DT_F32, 1, s, w, sizeof w, LGP_BORROW);
    is_int(lgp_ckpt_save(path, &r, "{\"step\":5}", NULL, err, sizeof err), LGP_OK, "checkpoint save");
    is_int(lgp_ckpt_load(path, &back, &meta, err, sizeof err), LGP_OK, "checkpoint load");
    is_str(meta, "{\"step\":5}", "checkpoint meta");
    free(meta);
    w[2] = NAN;
    is_int(lgp_ckpt_save(path, &r, "{\"step\":6}", NULL, err, sizeof err), LGP_FATAL, "NaN checkpoint refused");
    ok(strstr(err, "norm.weight") != NULL, "names the bad tensor: %s", err);
    is_int(lgp_ckpt_load(path, &back, &meta, err, sizeof err), LGP_OK, "previous checkpoint intact");
    is_str(meta, "{\"step\":5}", "still step 5");
    free(meta);
    is_int(lgp_ckpt_save("/nonexistent-dir/x.ckpt", &back, "{}", NULL, err, sizeof err), LGP_FATAL, "unwritable path is an error");
    /* safetensors loads through the checkpoint loader too */
    w[2] = 3;
    char stp[300];
    snprintf(stp, sizeof stp, "%s.safetensors", path);
    lgp_st_save(stp, &r, NULL, err, sizeof err);
    is_int(lgp_ckpt_load(stp, &back, &meta, err, sizeof err), LGP_OK, "checkpoint loader reads safetensors");
    ok(lgp_record_get(&back, "norm.weight") != NULL, "tensor present");
    free(meta);
    unlink(stp);
    lgp_record_free(&r);
    lgp_record_free(&back);
}

int main(void) {
    snprintf(path, sizeof path, "/tmp/lgp-test-st.%d", (int)getpid());
    test_json();
    test_safetensors();
    test_checkpoint();
    unlink(path);
    return done_testing();
}
