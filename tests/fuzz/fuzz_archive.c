/* fuzz_archive.c — libFuzzer target: image archives through formats/archive.h, the
 * reading path lgp-tar-images uses (libarchive tar/zip with every filter, nested inner
 * tars streamed in place, member data buffering), and the member-name classification
 * it builds on (lgp_archive_classify/_key/_stem, which live in the library).
 * Each input is read twice: names only, then nested with data.
 * Checked: members come back with a name, a kind that agrees with the name, data of
 * the stated size (read in full, so ASan sees any overrun); key and stem fit the
 * buffer they were given or say so; an error always carries a message. */
#include "formats/archive.h"

#include "common/lgp.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Name helpers on one name, with a roomy and a tight buffer. */
static void names(const char *name) {
    char k[4200], s[4200], tight[8];
    lgp_member_kind kind = lgp_archive_classify(name);
    LGP_ASSERT(kind >= LGP_MEMBER_IMAGE && kind < LGP_MEMBER_COUNT);
    LGP_ASSERT(lgp_archive_key(name, k, sizeof k) == LGP_OK);
    LGP_ASSERT(lgp_archive_stem(name, s, sizeof s) == LGP_OK);
    LGP_ASSERT(strlen(k) <= strlen(name) && strncmp(k, name, strlen(k)) == 0);
    LGP_ASSERT(strchr(s, '/') == NULL && strstr(name, s) != NULL);
    if (lgp_archive_key(name, tight, sizeof tight) == LGP_OK) LGP_ASSERT(strcmp(tight, k) == 0);
    if (lgp_archive_stem(name, tight, sizeof tight) == LGP_OK) LGP_ASSERT(strcmp(tight, s) == 0);
}

static void walk(const char *path, int flags) {
    char err[512] = "";
    lgp_archive *a;
    if (lgp_archive_open(&a, path, flags, err, sizeof err) != LGP_OK) {
        LGP_ASSERT(a == NULL && err[0]);
        return;
    }
    lgp_member m;
    int rc, n = 0;
    while ((rc = lgp_archive_next(a, &m)) == LGP_OK || rc == LGP_BAD_RECORD) {
        if (++n > 10000) break; /* a pathological archive; keep each run short */
        if (rc == LGP_BAD_RECORD) { LGP_ASSERT(lgp_archive_error(a)[0]); continue; }
        LGP_ASSERT(m.name && m.kind == lgp_archive_classify(m.name));
        names(m.name);
        if (flags & LGP_ARCHIVE_NAMES_ONLY) { LGP_ASSERT(m.data == NULL); continue; }
        LGP_ASSERT(m.size <= LGP_ARCHIVE_MAX_MEMBER && (m.size == 0 || m.data));
        volatile unsigned sum = 0;
        for (size_t i = 0; i < m.size; i++) sum += m.data[i];
        (void)sum;
    }
    if (rc == LGP_FATAL) LGP_ASSERT(lgp_archive_error(a)[0]);
    lgp_archive_close(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    /* the classification alone, on the first line of the input as a name */
    char nm[512];
    size_t l = 0;
    while (l < size && l < sizeof nm - 1 && data[l] && data[l] != '\n') { nm[l] = (char)data[l]; l++; }
    nm[l] = 0;
    names(nm);

    int fd = memfd_create("fuzz-archive", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) { close(fd); return 0; }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    walk(path, LGP_ARCHIVE_NAMES_ONLY);
    walk(path, LGP_ARCHIVE_NESTED);
    close(fd);
    return 0;
}
