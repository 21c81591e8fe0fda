/* test_archive.c — the label rules of formats/archive.h: .cls / labels-file text,
 * .json sidecars, and the one-line quoting used in messages about them. */
#include "formats/archive.h"
#include "common/lgp.h"
#include "tests/unit/tap.h"

#include <stdint.h>

static void test_parse_label(void) {
    static const struct { const char *text; int rc; int64_t v; const char *why; } cases[] = {
        {"0", LGP_OK, 0, NULL},
        {"7\n", LGP_OK, 7, NULL},
        {"  42 \r\n", LGP_OK, 42, NULL},
        {"+3", LGP_OK, 3, NULL},
        {"2147483647", LGP_OK, 2147483647, NULL},
        {"2147483648", LGP_BAD_RECORD, 0, "larger than 2147483647"},
        {"99999999999999999999999", LGP_BAD_RECORD, 0, "larger than 2147483647"},
        {"-5", LGP_BAD_RECORD, 0, "negative"},
        {"-99999999999999999999999", LGP_BAD_RECORD, 0, "negative"},
        {"1.5", LGP_BAD_RECORD, 0, "not an integer"},
        {"1e3", LGP_BAD_RECORD, 0, "not an integer"},
        {"", LGP_BAD_RECORD, 0, "empty"},
        {" \t\n", LGP_BAD_RECORD, 0, "empty"},
        {"a\001b", LGP_BAD_RECORD, 0, "control characters"},
        {"n01440764", LGP_EOF, 0, NULL},
        {"001.Black_footed_Albatross", LGP_EOF, 0, NULL},
        {"3cats", LGP_EOF, 0, NULL},
        {"T-shirt/top", LGP_EOF, 0, NULL},
    };
    for (size_t i = 0; i < LGP_ARRAY_LEN(cases); i++) {
        int64_t v = -1;
        const char *why = NULL;
        char q[48];
        lgp_archive_quote(q, sizeof q, cases[i].text, strlen(cases[i].text));
        int rc = lgp_archive_parse_label(cases[i].text, &v, &why);
        is_int(rc, cases[i].rc, "parse_label('%s'): %s", q,
               cases[i].rc == LGP_OK ? "index" : cases[i].rc == LGP_EOF ? "class name" : "bad");
        if (cases[i].rc == LGP_OK) is_int(v, cases[i].v, "  value %lld", (long long)cases[i].v);
        if (cases[i].why) is_str(why, cases[i].why, "  says '%s'", cases[i].why);
    }
}

static void test_json_label(void) {
    static const struct { const char *text; int rc; int64_t v; const char *why; } cases[] = {
        {"{\"label\": 3}", LGP_OK, 3, NULL},
        {"{\"cls\": 4}", LGP_OK, 4, NULL},
        {"{\"label\": 1, \"cls\": 9}", LGP_OK, 1, NULL},
        {"{\"label\": 2.0}", LGP_OK, 2, NULL},
        {"{\"caption\": \"a cat\"}", LGP_EOF, 0, NULL},
        {"[1, 2]", LGP_EOF, 0, NULL},
        {"{\"cls\": \"x\"}", LGP_BAD_RECORD, 0, "not a number"},
        {"{\"label\": null}", LGP_BAD_RECORD, 0, "not a number"},
        {"{\"label\": 1e300}", LGP_BAD_RECORD, 0, "larger than 2147483647"},
        {"{\"label\": 2147483648}", LGP_BAD_RECORD, 0, "larger than 2147483647"},
        {"{\"label\": 99999999999999999999999}", LGP_BAD_RECORD, 0, "larger than 2147483647"},
        {"{\"label\": -1}", LGP_BAD_RECORD, 0, "negative"},
        {"{\"label\": -1e300}", LGP_BAD_RECORD, 0, "negative"},
        {"{\"label\": 1.5}", LGP_BAD_RECORD, 0, "not an integer"},
        {"{\"label\":", LGP_BAD_RECORD, 0, "not valid JSON"},
        {"", LGP_BAD_RECORD, 0, "not valid JSON"},
    };
    for (size_t i = 0; i < LGP_ARRAY_LEN(cases); i++) {
        int64_t v = -1;
        const char *why = NULL;
        int rc = lgp_archive_json_label((const uint8_t *)cases[i].text, strlen(cases[i].text), &v, &why);
        is_int(rc, cases[i].rc, "json_label(%s)", cases[i].text);
        if (cases[i].rc == LGP_OK) is_int(v, cases[i].v, "  value %lld", (long long)cases[i].v);
        if (cases[i].why) is_str(why, cases[i].why, "  says '%s'", cases[i].why);
    }
}

static void test_quote(void) {
    char q[16];
    lgp_archive_quote(q, sizeof q, "-5", 2);
    is_str(q, "-5", "short text as is");
    lgp_archive_quote(q, sizeof q, "{\n  \"a\":\t1\n}", 12);
    is_str(q, "{ \"a\": 1 }", "whitespace runs become one space");
    lgp_archive_quote(q, sizeof q, "it's\001\177", 6);
    is_str(q, "it?s??", "quotes and control bytes become '?'");
    lgp_archive_quote(q, sizeof q, "0123456789abcdefghij", 20);
    is_str(q, "0123456789ab...", "long text cut with '...' within the buffer");
    ok(strlen(q) < sizeof q, "fits its buffer");
    lgp_archive_quote(q, sizeof q, "a\0b", 3);
    is_str(q, "a?b", "a NUL byte is quoted, not an end");
}

int main(void) {
    test_parse_label();
    test_json_label();
    test_quote();
    return done_testing();
}
