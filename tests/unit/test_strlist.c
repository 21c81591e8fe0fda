/* test_strlist.c — the string list under tar-images' class lists: copies on push, sort
 * with repeats dropped, lookup in a sorted list, and line files (blank lines and
 * trailing blanks ignored, CR LF endings, a missing file named in the message). */
#include "common/lgp.h"
#include "common/util/strlist.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_list(void) {
    lgp_strlist s = {0};
    char buf[16] = "emu";
    ok(lgp_strlist_find_sorted(&s, "x") == -1, "empty list: nothing found");
    lgp_strlist_push(&s, buf);
    strcpy(buf, "XXX");
    ok(s.n == 1 && strcmp(s.v[0], "emu") == 0, "push keeps its own copy");
    const char *more[] = {"dog", "cat", "emu", "dog", "ant"};
    for (size_t i = 0; i < LGP_ARRAY_LEN(more); i++) lgp_strlist_push(&s, more[i]);
    lgp_strlist_sort_unique(&s);
    ok(s.n == 4 && !strcmp(s.v[0], "ant") && !strcmp(s.v[1], "cat") && !strcmp(s.v[2], "dog") && !strcmp(s.v[3], "emu"),
       "sort_unique: ant cat dog emu (%zu names)", s.n);
    is_int(lgp_strlist_find_sorted(&s, "dog"), 2, "find 'dog'");
    is_int(lgp_strlist_find_sorted(&s, "cow"), -1, "'cow' is not there");
    for (int i = 0; i < 200; i++) { /* past the first allocation */
        snprintf(buf, sizeof buf, "n%03d", i);
        lgp_strlist_push(&s, buf);
    }
    ok(s.n == 204 && !strcmp(s.v[203], "n199"), "grows past 64 entries");
    lgp_strlist_free(&s);
    ok(s.n == 0 && s.v == NULL, "free empties the list");
}

static void test_lines(void) {
    char path[] = "/tmp/lgp-strlist-XXXXXX", err[256];
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("cat\r\n\n  dog \t\nT-shirt/top\n\nemu", f);
    fclose(f);
    lgp_strlist s = {0};
    int rc = lgp_strlist_read_lines(&s, path, err, sizeof err);
    ok(rc == LGP_OK && s.n == 4 && !strcmp(s.v[0], "cat") && !strcmp(s.v[1], "  dog") && !strcmp(s.v[2], "T-shirt/top") &&
           !strcmp(s.v[3], "emu"),
       "lines: CR LF and trailing blanks gone, blank lines skipped, leading blanks kept (%zu lines)", s.n);
    lgp_strlist_free(&s);
    unlink(path);
    rc = lgp_strlist_read_lines(&s, path, err, sizeof err);
    ok(rc == LGP_FATAL && strncmp(err, path, strlen(path)) == 0 && strstr(err, ": No such file or directory"),
       "missing file: '%s'", err);
}

int main(void) {
    test_list();
    test_lines();
    return done_testing();
}
