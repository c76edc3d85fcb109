/* Unit tests for etag (strong ETags, If-Match). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "etag.h"

static void test_versions(void **state)
{
    (void)state;
    int64_t v[4];
    assert_int_equal(etag_versions("\"4\", W/\"5\", \"abc\", \"-7\"", v, 4), 2);
    assert_true(v[0] == 4 && v[1] == -7);
    assert_int_equal(etag_versions("*", v, 4), ETAG_ANY);
    assert_int_equal(etag_versions("\"05\"", v, 4), 0);
    assert_int_equal(etag_versions("\"99999999999999999999\"", v, 4), 0); /* no such version */
    assert_int_equal(etag_versions("\"1\",\"2\",\"3\"", v, 2), -1);       /* more than max */
    assert_int_equal(etag_versions("5", v, 4), -1);
}

int test_etag_run(void);

static void test_format(void **state)
{
    (void)state;
    char out[ETAG_LEN];
    etag_format(0, out);
    assert_string_equal(out, "\"0\"");
    etag_format(42, out);
    assert_string_equal(out, "\"42\"");
    etag_format(-7, out);
    assert_string_equal(out, "\"-7\"");
    etag_format(INT64_MAX, out);
    assert_string_equal(out, "\"9223372036854775807\"");
    etag_format(INT64_MIN, out);
    assert_string_equal(out, "\"-9223372036854775808\"");
}

static void test_star(void **state)
{
    (void)state;
    assert_int_equal(etag_if_match("*", 5), 1);
    assert_int_equal(etag_if_match("  *\t", 5), 1);
    assert_int_equal(etag_if_match("*, \"5\"", 5), -1); /* "*" cannot be in a list */
    assert_int_equal(etag_if_match("\"5\", *", 5), -1);
    assert_int_equal(etag_if_match("**", 5), -1);
}

static void test_single(void **state)
{
    (void)state;
    assert_int_equal(etag_if_match("\"5\"", 5), 1);
    assert_int_equal(etag_if_match("\"5\"", 6), 0);
    assert_int_equal(etag_if_match(" \"5\" ", 5), 1);
    assert_int_equal(etag_if_match("\"05\"", 5), 0); /* opaque: compared as strings */
    assert_int_equal(etag_if_match("\"\"", 5), 0);   /* empty tag is well-formed */
    assert_int_equal(etag_if_match("\"-1\"", -1), 1);
    assert_int_equal(etag_if_match("\"9223372036854775807\"", INT64_MAX), 1);
    assert_int_equal(etag_if_match("\"abc\"", 5), 0);
    assert_int_equal(etag_if_match("\"\x80\xff\"", 5), 0); /* obs-text is allowed */
}

static void test_list(void **state)
{
    (void)state;
    assert_int_equal(etag_if_match("\"4\", \"5\"", 5), 1);
    assert_int_equal(etag_if_match("\"4\",\"5\",\"6\"", 5), 1);
    assert_int_equal(etag_if_match("\"4\", \"6\"", 5), 0);
    assert_int_equal(etag_if_match(",, \"5\" ,", 5), 1); /* empty elements allowed */
    assert_int_equal(etag_if_match("\"4\"\t,\t\"5\"", 5), 1);
}

static void test_weak_never_matches(void **state)
{
    (void)state;
    assert_int_equal(etag_if_match("W/\"5\"", 5), 0);
    assert_int_equal(etag_if_match("W/\"4\", W/\"5\"", 5), 0);
    assert_int_equal(etag_if_match("W/\"5\", \"5\"", 5), 1);
    assert_int_equal(etag_if_match("w/\"5\"", 5), -1); /* W is case-sensitive */
    assert_int_equal(etag_if_match("W/5", 5), -1);
    assert_int_equal(etag_if_match("W/", 5), -1);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",        "   ",         ",",          " , ,",     "5",        "\"5",       "5\"",
        "\"5\" x", "\"5\" \"6\"", "\"5\"\"6\"", "\"a b\"",  "\"a\tb\"", "'5'",       "\"5\";q=1",
        "\"5\",x", "\"a\"b\"",    "\"\x7f\"",   "\"\x01\"", "W/ \"5\"", "\"5\",\"6",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (etag_if_match(bad[i], 5) != -1)
            fail_msg("accepted malformed If-Match #%zu", i);
    }
    assert_int_equal(etag_if_match(NULL, 5), -1);
}

static void test_format_roundtrip(void **state)
{
    (void)state;
    static const int64_t versions[] = {0, 1, 9, 10, 123456789, -3, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        char tag[ETAG_LEN];
        etag_format(versions[i], tag);
        assert_int_equal(etag_if_match(tag, versions[i]), 1);
        assert_int_equal(etag_if_match(tag, versions[i] ^ 1), 0);
    }
}

int test_etag_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),    cmocka_unit_test(test_star),
        cmocka_unit_test(test_single),    cmocka_unit_test(test_versions),
        cmocka_unit_test(test_list),      cmocka_unit_test(test_weak_never_matches),
        cmocka_unit_test(test_malformed), cmocka_unit_test(test_format_roundtrip),
    };
    return cmocka_run_group_tests_name("etag", tests, NULL, NULL);
}
