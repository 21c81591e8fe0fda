/* replay_main.c — runs a libFuzzer target over files (or every file in folders) so that
 * the fuzz corpora run as ordinary regression tests under any compiler and sanitizer.
 * Prints TAP: one line per input. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static void run_file(const char *p) {
    FILE *f = fopen(p, "rb");
    if (!f) { printf("not ok %d - cannot open %s\n", ++n, p); return; }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    uint8_t *b = malloc(len > 0 ? (size_t)len : 1);
    size_t got = fread(b, 1, (size_t)len, f);
    fclose(f);
    LLVMFuzzerTestOneInput(b, got);
    free(b);
    printf("ok %d - %s\n", ++n, p);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) continue;
        if (!S_ISDIR(st.st_mode)) { run_file(argv[i]); continue; }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
            run_file(p);
        }
        if (d) closedir(d);
    }
    printf("1..%d\n", n);
    return 0;
}
