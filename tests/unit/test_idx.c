/* test_idx.c — IDX header validation, gzip/raw loading, truncation, trailing bytes,
 * and the real Fashion-MNIST test split (first labels checked against the file's
 * documented content: 9, 2, 1, 1, 6). */
#include "formats/idx.h"
#include "common/lgp.h"
#include "tests/unit/tap.h"

#include <stdint.h>
#include <unistd.h>
#include <zlib.h>

static int parse(const uint8_t *h, size_t n, size_t *nbytes) {
    lgp_idx x;
    size_t hl;
    char err[256];
    int rc = lgp_idx_parse_header(h, n, &x, &hl, err, sizeof err);
    *nbytes = x.nbytes;
    return rc;
}

static void test_headers(void) {
    size_t nb;
    uint8_t good[16] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4};
    is_int(parse(good, 16, &nb), LGP_OK, "valid 3-d header");
    is_int(nb, 24, "nbytes = 2*3*4");
    is_int(parse(good, 15, &nb), LGP_FATAL, "header cut short");
    uint8_t bad[16];
    memcpy(bad, good, 16); bad[0] = 1;
    is_int(parse(bad, 16, &nb), LGP_FATAL, "bad magic");
    memcpy(bad, good, 16); bad[2] = 0x0D;
    is_int(parse(bad, 16, &nb), LGP_FATAL, "float element type refused");
    memcpy(bad, good, 16); bad[3] = 0;
    is_int(parse(bad, 16, &nb), LGP_FATAL, "ndim 0");
    memcpy(bad, good, 16); bad[3] = 5;
    is_int(parse(bad, 16, &nb), LGP_FATAL, "ndim 5");
    memcpy(bad, good, 16); bad[11] = 0;
    is_int(parse(bad, 16, &nb), LGP_FATAL, "zero inner dimension");
    uint8_t huge[16] = {0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    is_int(parse(huge, 16, &nb), LGP_FATAL, "dims whose product overflows are refused before allocating");
}

static void write_file(const char *path, const uint8_t *b, size_t n, int gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, b, (unsigned)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(b, 1, n, f);
        fclose(f);
    }
}

static void test_files(void) {
    char path[] = "/tmp/lgp-test-idx-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    uint8_t b[4 + 8 + 7] = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3};
    for (int i = 0; i < 7; i++) b[12 + i] = (uint8_t)(10 + i);
    char err[512];
    lgp_idx x;
    for (int gz = 0; gz < 2; gz++) {
        write_file(path, b, 18, gz);
        is_int(lgp_idx_load(path, &x, err, sizeof err), LGP_OK, "%s 2x3 loads", gz ? "gzip" : "raw");
        ok(x.ndim == 2 && x.dims[0] == 2 && x.dims[1] == 3 && x.data && x.data[5] == 15, "%s: dims and data", gz ? "gzip" : "raw");
        lgp_idx_free(&x);
        write_file(path, b, 17, gz);
        is_int(lgp_idx_load(path, &x, err, sizeof err), LGP_FATAL, "%s: one data byte missing", gz ? "gzip" : "raw");
        ok(strstr(err, "truncated IDX data (5 of 6 bytes)") != NULL, "message: %s", err);
        write_file(path, b, 19, gz);
        is_int(lgp_idx_load(path, &x, err, sizeof err), LGP_FATAL, "%s: trailing byte", gz ? "gzip" : "raw");
    }
    unlink(path);
    is_int(lgp_idx_load("/nonexistent/x-idx3-ubyte.gz", &x, err, sizeof err), LGP_FATAL, "missing file");
}

static void test_fashion(void) {
    const char *dir = getenv("FMNIST") ? getenv("FMNIST") : "/usr/share/datasets/fashion-mnist";
    char p[1024], err[512];
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte.gz", dir);
    if (access(p, R_OK) != 0) { printf("# skip: no Fashion-MNIST in %s\n", dir); return; }
    lgp_idx lab, img;
    is_int(lgp_idx_load(p, &lab, err, sizeof err), LGP_OK, "t10k labels load");
    ok(lab.ndim == 1 && lab.dims[0] == 10000, "10000 labels");
    const uint8_t want[5] = {9, 2, 1, 1, 6};
    ok(memcmp(lab.data, want, 5) == 0, "first labels 9 2 1 1 6");
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", dir);
    is_int(lgp_idx_load(p, &img, err, sizeof err), LGP_OK, "t10k images load");
    ok(img.ndim == 3 && img.dims[0] == 10000 && img.dims[1] == 28 && img.dims[2] == 28, "[10000, 28, 28]");
    ok(lgp_idx_sniff(p) == 1, "sniff recognises the gzip IDX file");
    lgp_idx_free(&lab);
    lgp_idx_free(&img);
}

int main(void) {
    test_headers();
    test_files();
    test_fashion();
    return done_testing();
}
