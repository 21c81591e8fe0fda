/* fuzz_stream.c — libFuzzer target: the stream reader (header, records, end record,
 * concatenation, raw and zstd) on arbitrary bytes. */
#include "formats/stream.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    int fd = memfd_create("fuzz", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) { close(fd); return 0; }
    lseek(fd, 0, SEEK_SET);
    char err[512];
    lgp_reader *r;
    if (lgp_reader_open_fd(&r, fd, "fuzz", err, sizeof err) == LGP_OK) {
        lgp_record rec;
        lgp_record_init(&rec);
        int rc;
        do {
            while ((rc = lgp_reader_next(r, &rec)) == LGP_OK || rc == LGP_BAD_RECORD)
                for (size_t i = 0; i < rec.n; i++) (void)lgp_tensor_numel(&rec.t[i]);
        } while (rc == LGP_EOF && lgp_reader_next_stream(r) == LGP_OK);
        lgp_record_free(&rec);
        lgp_reader_close(r);
    }
    close(fd);
    return 0;
}
