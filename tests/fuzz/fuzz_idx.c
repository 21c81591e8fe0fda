/* fuzz_idx.c — libFuzzer target: the IDX reader (header parser, and the whole loader
 * through zlib's gzread, which takes gzip and raw bytes alike).
 * Checked: a loaded set has exactly product(dims) bytes and a header the parser accepts;
 * the in-memory header parser agrees with the loader on raw (non-gzip) input; a file
 * that fails does not fail for want of memory: the loader's buffer grows with the data
 * actually read, not with what the header claims. The replay build (no ASan) runs under
 * a 1 GiB address-space limit so that this holds there too; libFuzzer's -malloc_limit_mb
 * checks it in the fuzzing build. */
#include "formats/idx.h"

#include "common/lgp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#endif

static void limit_memory(void) {
#ifndef UNDER_ASAN /* ASan reserves terabytes of shadow address space */
    static int done;
    if (done++) return;
    struct rlimit rl = {(rlim_t)1 << 30, (rlim_t)1 << 30};
    setrlimit(RLIMIT_AS, &rl);
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    limit_memory();
    char err[512], path[64];
    lgp_idx h;
    size_t hl;
    int hrc = lgp_idx_parse_header(data, size, &h, &hl, err, sizeof err);
    if (hrc == LGP_OK) LGP_ASSERT(hl == 4 + 4 * (size_t)h.ndim && h.nbytes <= LGP_IDX_MAX_BYTES);

    int fd = memfd_create("fuzz-idx", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) { close(fd); return 0; }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    (void)lgp_idx_sniff(path);
    lgp_idx x;
    int rc = lgp_idx_load(path, &x, err, sizeof err);
    if (rc == LGP_OK) {
        size_t total = 1;
        for (int d = 0; d < x.ndim; d++) total *= x.dims[d];
        LGP_ASSERT(total == x.nbytes && x.data != NULL);
        if (x.nbytes) LGP_ASSERT(x.data[0] == x.data[0] && x.data[x.nbytes - 1] == x.data[x.nbytes - 1]);
        /* raw input: the loader accepted exactly header + nbytes */
        int gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
        if (!gzip) LGP_ASSERT(hrc == LGP_OK && size == hl + x.nbytes);
        lgp_idx_free(&x);
    } else {
        LGP_ASSERT(x.data == NULL && err[0] && !strstr(err, "out of memory"));
    }
    close(fd);
    return 0;
}
