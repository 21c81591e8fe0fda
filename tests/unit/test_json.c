/* test_json.c — exact integers in the JSON layer: parse + dump round trips at the
 * int64/uint64 edges, double-only numbers beyond them, the getters' range checks,
 * constructors, setters and clone. */
#include "formats/json.h"
#include "tap.h"

#include <inttypes.h>
#include <stdint.h>

/* Parses text, dumps it, and checks the dump is want (text itself when want is NULL). */
static void round_trip(const char *text, const char *want) {
    char err[128];
    lgp_json *j = lgp_json_parse(text, strlen(text), err, sizeof err);
    ok(j != NULL, "parse %s", text);
    char *d = lgp_json_dump(j);
    is_str(d, want ? want : text, "dump of %s", text);
    free(d);
    lgp_json_free(j);
}

static lgp_json *parse(const char *text) { return lgp_json_parse(text, strlen(text), NULL, 0); }

static void test_round_trips(void) {
    round_trip("0", NULL);
    round_trip("-1", NULL);
    round_trip("-0", "0");
    round_trip("9007199254740993", NULL);     /* 2^53 + 1: not a double */
    round_trip("9223372036854775807", NULL);  /* 2^63 - 1 */
    round_trip("-9223372036854775808", NULL); /* -2^63 */
    round_trip("18446744073709551615", NULL); /* 2^64 - 1 */
    round_trip("18446744073709551616", "1.8446744073709552e+19"); /* 2^64: double only */
    round_trip("-9223372036854775809", "-9.2233720368547758e+18"); /* below -2^63 */
    round_trip("1.5", NULL);
    round_trip("1e300", "1.0000000000000001e+300");
    round_trip("2.0", "2");  /* a fraction makes a double, still printed short */
    round_trip("{\"seed\":18446744073709551615,\"a\":[9007199254740993,-2,0.25]}", NULL);
}

static void test_nodes(void) {
    lgp_json *j = parse("18446744073709551615");
    ok(j && j->type == LGP_JSON_NUM && j->is_int && !j->is_neg && j->u == UINT64_MAX, "2^64-1 exact");
    ok(j && j->num == 18446744073709551615.0, "2^64-1 num is the nearest double");
    lgp_json_free(j);
    j = parse("-9223372036854775808");
    ok(j && j->is_int && j->is_neg && j->u == (uint64_t)1 << 63, "-2^63 exact");
    lgp_json_free(j);
    j = parse("18446744073709551616");
    ok(j && j->type == LGP_JSON_NUM && !j->is_int && j->num == 18446744073709551616.0, "2^64 double only");
    lgp_json_free(j);
    j = parse("1e2");
    ok(j && !j->is_int && j->num == 100, "exponent: double only");
    lgp_json_free(j);
    j = parse("10.0");
    ok(j && !j->is_int && j->num == 10, "fraction: double only");
    lgp_json_free(j);
}

static void test_getters(void) {
    lgp_json *o = parse("{\"max_u\":18446744073709551615,\"max_i\":9223372036854775807,"
                        "\"min_i\":-9223372036854775808,\"big\":9007199254740993,\"neg\":-1,"
                        "\"two64\":18446744073709551616,\"half\":1.5,\"dint\":12.0,\"dneg\":-3e0,"
                        "\"dbig\":1e16,\"s\":\"7\",\"b\":true,\"zero\":-0}");
    ok(o != NULL, "getter fixture parses");
    int64_t i = 42;
    uint64_t u = 42;
    ok(lgp_json_get_u64(o, "max_u", &u) == 0 && u == UINT64_MAX, "u64 2^64-1");
    ok(lgp_json_get_i64(o, "max_u", &i) != 0 && i == 42, "i64 rejects 2^64-1, out untouched");
    ok(lgp_json_get_i64(o, "max_i", &i) == 0 && i == INT64_MAX, "i64 2^63-1");
    ok(lgp_json_get_u64(o, "max_i", &u) == 0 && u == (uint64_t)INT64_MAX, "u64 2^63-1");
    ok(lgp_json_get_i64(o, "min_i", &i) == 0 && i == INT64_MIN, "i64 -2^63");
    ok(lgp_json_get_u64(o, "min_i", &u) != 0, "u64 rejects -2^63");
    ok(lgp_json_get_u64(o, "big", &u) == 0 && u == 9007199254740993u, "u64 2^53+1 exact");
    ok(lgp_json_get_i64(o, "big", &i) == 0 && i == 9007199254740993, "i64 2^53+1 exact");
    ok(lgp_json_get_i64(o, "neg", &i) == 0 && i == -1, "i64 -1");
    ok(lgp_json_get_u64(o, "neg", &u) != 0, "u64 rejects -1");
    ok(lgp_json_get_u64(o, "zero", &u) == 0 && u == 0, "u64 -0 is 0");
    ok(lgp_json_get_u64(o, "two64", &u) != 0, "u64 rejects 2^64");
    ok(lgp_json_get_i64(o, "two64", &i) != 0, "i64 rejects 2^64");
    ok(lgp_json_get_i64(o, "half", &i) != 0, "i64 rejects 1.5");
    ok(lgp_json_get_u64(o, "half", &u) != 0, "u64 rejects 1.5");
    ok(lgp_json_get_i64(o, "dint", &i) == 0 && i == 12, "i64 accepts integral double 12.0");
    ok(lgp_json_get_i64(o, "dneg", &i) == 0 && i == -3, "i64 accepts -3e0");
    ok(lgp_json_get_u64(o, "dneg", &u) != 0, "u64 rejects -3e0");
    ok(lgp_json_get_u64(o, "dbig", &u) != 0, "u64 rejects double-only 1e16 (>= 2^53)");
    ok(lgp_json_get_i64(o, "s", &i) != 0, "i64 rejects a string");
    ok(lgp_json_get_i64(o, "b", &i) != 0, "i64 rejects a bool");
    ok(lgp_json_get_i64(o, "absent", &i) != 0, "i64 absent");
    ok(lgp_json_get_u64(NULL, "absent", &u) != 0, "u64 on NULL object");
    ok(lgp_json_to_u64(lgp_json_get(o, "max_u"), &u) == 0 && u == UINT64_MAX, "to_u64 on a node");
    /* lenient forms: exact when exact, truncated doubles otherwise, def when out of range */
    is_int(lgp_json_get_u64_def(o, "max_u", 0) == UINT64_MAX, 1, "u64_def 2^64-1");
    is_int(lgp_json_get_i64_def(o, "half", 0), 1, "i64_def truncates 1.5");
    is_int(lgp_json_get_u64_def(o, "dbig", 0) == 10000000000000000u, 1, "u64_def takes 1e16");
    is_int(lgp_json_get_u64_def(o, "neg", 7), 7, "u64_def -1 gives def");
    is_int(lgp_json_get_i64_def(o, "max_u", 7), 7, "i64_def 2^64-1 gives def");
    is_int(lgp_json_get_i64_def(o, "s", 7), 7, "i64_def string gives def");
    is_close(lgp_json_get_num(o, "max_u", 0), 18446744073709551615.0, 0, 0, "get_num still works on exact ints");
    lgp_json_free(o);
}

static void test_build_and_clone(void) {
    lgp_json *o = lgp_json_new_obj();
    lgp_json_set_u64(o, "u", UINT64_MAX);
    lgp_json_set_i64(o, "i", INT64_MIN);
    lgp_json_set_i64(o, "p", 9007199254740993);
    lgp_json_set_u64(o, "z", 0);
    lgp_json_set_num(o, "d", 0.5);
    lgp_json *a = lgp_json_new_arr();
    lgp_json_push(a, lgp_json_new_i64(-5));
    lgp_json_push(a, lgp_json_new_u64((uint64_t)1 << 63));
    lgp_json_set(o, "a", a);
    const char *want = "{\"u\":18446744073709551615,\"i\":-9223372036854775808,\"p\":9007199254740993,"
                       "\"z\":0,\"d\":0.5,\"a\":[-5,9223372036854775808]}";
    char *d = lgp_json_dump(o);
    is_str(d, want, "constructors and setters dump exactly");
    free(d);
    lgp_json_set_i64(o, "u", 3); /* replaces */
    int64_t i = 0;
    ok(lgp_json_get_i64(o, "u", &i) == 0 && i == 3, "set_i64 replaces a member");
    lgp_json_set_u64(o, "u", UINT64_MAX);

    lgp_json *c = lgp_json_clone(o);
    d = lgp_json_dump(c);
    is_str(d, want, "clone keeps exact integers");
    free(d);
    uint64_t u = 0;
    ok(lgp_json_get_u64(c, "u", &u) == 0 && u == UINT64_MAX, "clone: u64 getter");
    ok(lgp_json_get_i64(c, "i", &i) == 0 && i == INT64_MIN, "clone: i64 getter");
    lgp_json_free(c);
    lgp_json_free(o);

    /* parse -> clone -> dump -> parse keeps the value */
    lgp_json *p = parse("{\"seed\":9007199254740993}");
    c = lgp_json_clone(p);
    d = lgp_json_dump(c);
    lgp_json *q = parse(d);
    ok(q && lgp_json_get_u64(q, "seed", &u) == 0 && u == 9007199254740993u, "re-parse of a clone's dump");
    free(d);
    lgp_json_free(q);
    lgp_json_free(c);
    lgp_json_free(p);
}

int main(void) {
    test_round_trips();
    test_nodes();
    test_getters();
    test_build_and_clone();
    return done_testing();
}
