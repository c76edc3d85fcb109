/* Unit tests for jsonx (strict JSON bodies, field schema checks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "jsonx.h"

int test_jsonx_run(void);

static int parse(const char *s, json_t **out)
{
    char why[128];
    return jsonx_parse_object(s, strlen(s), 32, out, why, sizeof why);
}

/* Expects code for s and that no object is handed back. */
static void expect_code(const char *s, int code)
{
    json_t *o = (json_t *)1;
    char why[128] = "unset";
    int rc = jsonx_parse_object(s, strlen(s), 32, &o, why, sizeof why);
    if (rc != code)
        fail_msg("got %d, want %d for input of %zu bytes", rc, code, strlen(s));
    assert_null(o);
    assert_true(why[0] != '\0');
}

/* n nested objects {"a":{"a":...{}...}} */
static char *nested_objects(int n)
{
    char *s = malloc((size_t)n * 6 + 1);
    assert_non_null(s);
    char *p = s;
    for (int i = 0; i < n - 1; i++) {
        memcpy(p, "{\"a\":", 5);
        p += 5;
    }
    *p++ = '{';
    memset(p, '}', (size_t)n);
    p[n] = '\0';
    return s;
}

static void test_parse_ok(void **state)
{
    (void)state;
    json_t *o = NULL;
    assert_int_equal(parse("{}", &o), JSONX_OK);
    assert_true(json_is_object(o));
    json_decref(o);
    assert_int_equal(parse(" \r\n\t{\"name\":\"Jos\\u00e9\",\"n\":1,\"ok\":true,\"x\":null} ", &o),
                     JSONX_OK);
    assert_string_equal(jsonx_str(o, "name"), "Jos\xc3\xa9");
    json_decref(o);
    assert_int_equal(parse("{\"e\":\"\\ud83d\\ude00\"}", &o), JSONX_OK); /* escaped pair */
    json_decref(o);
    /* len bounds the input: no NUL terminator needed. */
    const char buf[] = "{\"a\":1}garbage";
    char why[64];
    assert_int_equal(jsonx_parse_object(buf, 7, 32, &o, why, sizeof why), JSONX_OK);
    json_decref(o);
    /* why is optional. */
    assert_int_equal(jsonx_parse_object("{}", 2, 32, &o, NULL, 0), JSONX_OK);
    json_decref(o);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    expect_code("", JSONX_MALFORMED);
    expect_code("   \n", JSONX_MALFORMED);
    expect_code("{", JSONX_MALFORMED);
    expect_code("{\"a\":}", JSONX_MALFORMED);
    expect_code("{\"a\":1,}", JSONX_MALFORMED);
    expect_code("{'a':1}", JSONX_MALFORMED);
    expect_code("{\"a\":1} x", JSONX_MALFORMED);
    expect_code("{\"a\":1}{}", JSONX_MALFORMED);
    expect_code("{\"a\":NaN}", JSONX_MALFORMED);
    expect_code("{\"a\":01}", JSONX_MALFORMED);
    expect_code("{\"a\":\"\\x41\"}", JSONX_MALFORMED);
    expect_code("{\"a\":\"tab\there\"}", JSONX_MALFORMED); /* raw control char */
    expect_code("{\"a\":99999999999999999999}", JSONX_MALFORMED);
    expect_code("{\"a\":1e999}", JSONX_MALFORMED);
    expect_code("{\"a\":\"\\ud800\"}", JSONX_MALFORMED); /* lone surrogate escape */
    expect_code("\xef\xbb\xbf{}", JSONX_MALFORMED);      /* BOM */
    expect_code("{} // comment", JSONX_MALFORMED);
    expect_code("abc", JSONX_MALFORMED);
}

static void test_parse_duplicates(void **state)
{
    (void)state;
    expect_code("{\"a\":1,\"a\":2}", JSONX_MALFORMED);
    expect_code("{\"a\":1,\"a\":1}", JSONX_MALFORMED);
    expect_code("{\"o\":{\"b\":1,\"b\":null}}", JSONX_MALFORMED);
    expect_code("{\"a\":1,\"\\u0061\":2}", JSONX_MALFORMED); /* same key, escaped */
    json_t *o = NULL;
    assert_int_equal(parse("{\"a\":1,\"A\":2,\"o\":{\"a\":3}}", &o), JSONX_OK);
    json_decref(o);
}

static void test_parse_nul(void **state)
{
    (void)state;
    expect_code("{\"a\\u0000\":1}", JSONX_MALFORMED);
    /* In a value it parses; jsonx_check reports it as a field error. */
    json_t *v = NULL;
    assert_int_equal(parse("{\"a\":\"x\\u0000y\"}", &v), JSONX_OK);
    static const struct jsonx_field f[] = {{"a", JX_STRING, JX_REQUIRED}, {NULL, 0, 0}};
    json_t *errors = json_array();
    assert_int_equal(jsonx_check(v, f, "", errors), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "message")),
                        "must not contain NUL characters");
    json_decref(errors);
    json_decref(v);
    json_t *o = (json_t *)1;
    const char raw[] = "{\"a\":\"x\0y\"}";
    assert_int_equal(jsonx_parse_object(raw, sizeof raw - 1, 32, &o, NULL, 0), JSONX_MALFORMED);
    assert_null(o);
    const char trailing[] = "{}\0";
    assert_int_equal(jsonx_parse_object(trailing, sizeof trailing - 1, 32, &o, NULL, 0),
                     JSONX_MALFORMED);
}

static void test_parse_bad_utf8(void **state)
{
    (void)state;
    expect_code("{\"a\":\"\xc0\x80\"}", JSONX_BAD_UTF8);     /* overlong NUL */
    expect_code("{\"a\":\"\xed\xa0\x80\"}", JSONX_BAD_UTF8); /* surrogate */
    expect_code("{\"a\":\"\xf4\x90\x80\x80\"}", JSONX_BAD_UTF8);
    expect_code("{\"a\":\"\x80\"}", JSONX_BAD_UTF8);
    expect_code("{\"a\":\"\xff\"}", JSONX_BAD_UTF8);
    expect_code("{\"\xc3\":1}", JSONX_BAD_UTF8);
    /* UTF-8 is checked before depth and syntax. */
    expect_code("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\xff", JSONX_BAD_UTF8);
    json_t *o = NULL;
    assert_int_equal(parse("{\"a\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}", &o), JSONX_OK);
    json_decref(o);
}

static void test_parse_depth(void **state)
{
    (void)state;
    json_t *o = NULL;
    char *s32 = nested_objects(32), *s33 = nested_objects(33);
    assert_int_equal(parse(s32, &o), JSONX_OK);
    json_decref(o);
    expect_code(s33, JSONX_TOO_DEEP);
    free(s32);
    free(s33);

    /* Arrays count too: an object holding 31 nested arrays is 32 deep. */
    char buf[200];
    strcpy(buf, "{\"a\":");
    for (int i = 0; i < 31; i++)
        strcat(buf, "[");
    for (int i = 0; i < 31; i++)
        strcat(buf, "]");
    strcat(buf, "}");
    assert_int_equal(parse(buf, &o), JSONX_OK);
    json_decref(o);
    strcpy(buf, "{\"a\":");
    for (int i = 0; i < 32; i++)
        strcat(buf, "[");
    for (int i = 0; i < 32; i++)
        strcat(buf, "]");
    strcat(buf, "}");
    expect_code(buf, JSONX_TOO_DEEP);

    /* Depth is the deepest point, not the number of containers. */
    char wide[2000] = "{";
    for (int i = 0; i < 100; i++) {
        char item[16];
        snprintf(item, sizeof item, "%s\"k%d\":{}", i ? "," : "", i);
        strcat(wide, item);
    }
    strcat(wide, "}");
    assert_int_equal(parse(wide, &o), JSONX_OK);
    json_decref(o);

    /* The limit is a parameter. */
    assert_int_equal(jsonx_parse_object("{\"a\":{}}", 8, 1, &o, NULL, 0), JSONX_TOO_DEEP);
    assert_null(o);
    assert_int_equal(jsonx_parse_object("{\"a\":{}}", 8, 2, &o, NULL, 0), JSONX_OK);
    json_decref(o);

    /* Very deep input is refused by the scan, long before jansson recurses. */
    size_t n = 100000;
    char *deep = malloc(n + 1);
    assert_non_null(deep);
    memset(deep, '[', n);
    deep[n] = '\0';
    expect_code(deep, JSONX_TOO_DEEP);
    free(deep);
}

static void test_parse_depth_ignores_strings(void **state)
{
    (void)state;
    json_t *o = NULL;
    char buf[400];
    /* 40 brackets inside a string do not nest. */
    strcpy(buf, "{\"a\":\"");
    for (int i = 0; i < 40; i++)
        strcat(buf, "[{");
    strcat(buf, "\"}");
    assert_int_equal(parse(buf, &o), JSONX_OK);
    json_decref(o);
    /* An escaped quote does not end the string, so the brackets after it are still inside. */
    strcpy(buf, "{\"a\":\"\\\"");
    for (int i = 0; i < 40; i++)
        strcat(buf, "[");
    strcat(buf, "\"}");
    assert_int_equal(parse(buf, &o), JSONX_OK);
    json_decref(o);
    /* An escaped backslash does end before the quote: real nesting after it counts. */
    strcpy(buf, "{\"a\":\"\\\\\",\"b\":");
    for (int i = 0; i < 32; i++)
        strcat(buf, "[");
    for (int i = 0; i < 32; i++)
        strcat(buf, "]");
    strcat(buf, "}");
    expect_code(buf, JSONX_TOO_DEEP);
    /* Brackets in keys do not count either. */
    strcpy(buf, "{\"");
    for (int i = 0; i < 40; i++)
        strcat(buf, "{");
    strcat(buf, "\":1}");
    assert_int_equal(parse(buf, &o), JSONX_OK);
    json_decref(o);
    /* Closing brackets inside strings do not lower the depth. */
    strcpy(buf, "{\"a\":");
    for (int i = 0; i < 32; i++)
        strcat(buf, "[\"]]]]\",");
    strcat(buf, "1");
    for (int i = 0; i < 32; i++)
        strcat(buf, "]");
    strcat(buf, "}");
    expect_code(buf, JSONX_TOO_DEEP);
}

static void test_parse_not_object(void **state)
{
    (void)state;
    expect_code("[]", JSONX_NOT_OBJECT);
    expect_code("[{\"a\":1}]", JSONX_NOT_OBJECT);
    expect_code("42", JSONX_NOT_OBJECT);
    expect_code("\"str\"", JSONX_NOT_OBJECT);
    expect_code("null", JSONX_NOT_OBJECT);
    expect_code(" true ", JSONX_NOT_OBJECT);
}

static void test_parse_why_does_not_echo(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "{\"secret-123456789\":x}",
        "{\"a\":\"secret-123456789\" oops}",
        "{\"secret-123456789\":1,\"secret-123456789\":2}",
        "secret-123456789",
        "{\"a\":secret-123456789}",
        "{\"secret-123456789\\u0000\":1}",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        json_t *o = NULL;
        char why[256] = "";
        int rc = jsonx_parse_object(inputs[i], strlen(inputs[i]), 32, &o, why, sizeof why);
        assert_true(rc < 0);
        assert_true(why[0] != '\0');
        if (strstr(why, "secret") != NULL || strstr(why, "123456") != NULL)
            fail_msg("message echoes input: %s", why);
    }
    /* A tiny why buffer is truncated, never overrun. */
    json_t *o = NULL;
    char small[4] = {'x', 'x', 'x', 'x'};
    assert_int_equal(jsonx_parse_object("[", 1, 32, &o, small, sizeof small), JSONX_MALFORMED);
    assert_int_equal(small[3], '\0');
}

static void test_parse_bad_args(void **state)
{
    (void)state;
    json_t *o = (json_t *)1;
    assert_int_equal(jsonx_parse_object(NULL, 0, 32, &o, NULL, 0), JSONX_MALFORMED);
    assert_null(o);
    assert_int_equal(jsonx_parse_object("{}", 2, 32, NULL, NULL, 0), JSONX_MALFORMED);
}

/* 1 when errors holds an entry with this field and message. */
static int has_error(const json_t *errors, const char *field, const char *message)
{
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        if (strcmp(jsonx_str(e, "field"), field) == 0 &&
            strcmp(jsonx_str(e, "message"), message) == 0)
            return 1;
    }
    return 0;
}

static const struct jsonx_field fields[] = {
    {"name", JX_STRING, JX_REQUIRED},
    {"active", JX_BOOL, 0},
    {"age", JX_INT, JX_NULLABLE},
    {"meta", JX_OBJECT, 0},
    {"tags", JX_ARRAY, 0},
    {"score", JX_NUMBER, JX_REQUIRED | JX_NULLABLE},
    {NULL, JX_STRING, 0},
};

static int check(const char *text, const char *prefix, json_t **errors)
{
    json_t *o = NULL;
    assert_int_equal(parse(text, &o), JSONX_OK);
    *errors = json_array();
    int n = jsonx_check(o, fields, prefix, *errors);
    json_decref(o);
    return n;
}

static void test_check_valid(void **state)
{
    (void)state;
    json_t *errors;
    assert_int_equal(check("{\"name\":\"x\",\"active\":false,\"age\":3,\"meta\":{},"
                           "\"tags\":[],\"score\":1.5}",
                           "", &errors),
                     0);
    assert_int_equal(json_array_size(errors), 0);
    json_decref(errors);
    /* Optional fields may be absent; nullable ones may be null; numbers may be integers. */
    assert_int_equal(check("{\"name\":\"\",\"age\":null,\"score\":2}", "", &errors), 0);
    json_decref(errors);
    assert_int_equal(check("{\"name\":\"x\",\"score\":null}", "", &errors), 0);
    json_decref(errors);
}

static void test_check_required(void **state)
{
    (void)state;
    json_t *errors;
    assert_int_equal(check("{}", "", &errors), 2);
    assert_int_equal(json_array_size(errors), 2);
    assert_true(has_error(errors, "name", "is required"));
    assert_true(has_error(errors, "score", "is required"));
    /* Table order: name first. */
    assert_string_equal(jsonx_str(json_array_get(errors, 0), "field"), "name");
    json_decref(errors);
}

static void test_check_null(void **state)
{
    (void)state;
    json_t *errors;
    assert_int_equal(check("{\"name\":null,\"active\":null,\"meta\":null,\"tags\":null,"
                           "\"age\":null,\"score\":null}",
                           "", &errors),
                     4);
    assert_true(has_error(errors, "name", "must not be null"));
    assert_true(has_error(errors, "active", "must not be null"));
    assert_true(has_error(errors, "meta", "must not be null"));
    assert_true(has_error(errors, "tags", "must not be null"));
    json_decref(errors);
}

static void test_check_types(void **state)
{
    (void)state;
    json_t *errors;
    assert_int_equal(check("{\"name\":1,\"active\":\"true\",\"age\":\"3\",\"meta\":[],"
                           "\"tags\":{},\"score\":\"1\"}",
                           "", &errors),
                     6);
    assert_true(has_error(errors, "name", "must be a string"));
    assert_true(has_error(errors, "active", "must be a boolean"));
    assert_true(has_error(errors, "age", "must be an integer"));
    assert_true(has_error(errors, "meta", "must be an object"));
    assert_true(has_error(errors, "tags", "must be an array"));
    assert_true(has_error(errors, "score", "must be a number"));
    json_decref(errors);

    /* Integers only: a real, even a whole one, is not an integer. */
    assert_int_equal(check("{\"name\":\"x\",\"score\":1,\"age\":1.0}", "", &errors), 1);
    assert_true(has_error(errors, "age", "must be an integer"));
    json_decref(errors);
    assert_int_equal(check("{\"name\":\"x\",\"score\":1,\"age\":1e2}", "", &errors), 1);
    json_decref(errors);
    assert_int_equal(check("{\"name\":\"x\",\"score\":1,\"age\":-7}", "", &errors), 0);
    json_decref(errors);
    /* Booleans are not integers and integers are not booleans. */
    assert_int_equal(
        check("{\"name\":\"x\",\"score\":true,\"age\":false,\"active\":0}", "", &errors), 3);
    json_decref(errors);
}

static void test_check_unknown(void **state)
{
    (void)state;
    json_t *errors;
    assert_int_equal(
        check("{\"name\":\"x\",\"score\":1,\"foo\":1,\"Name\":\"y\"}", "patient.", &errors), 2);
    assert_true(has_error(errors, "patient.foo", "unknown field"));
    assert_true(has_error(errors, "patient.Name", "unknown field"));
    json_decref(errors);
    /* Prefix applies to every kind of error; NULL prefix means none. */
    assert_int_equal(check("{\"bar\":null}", "patient.", &errors), 3);
    assert_true(has_error(errors, "patient.name", "is required"));
    assert_true(has_error(errors, "patient.score", "is required"));
    assert_true(has_error(errors, "patient.bar", "unknown field"));
    json_decref(errors);
    assert_int_equal(check("{\"bar\":1,\"name\":\"x\",\"score\":1}", NULL, &errors), 1);
    assert_true(has_error(errors, "bar", "unknown field"));
    json_decref(errors);
}

static void test_check_appends_and_counts(void **state)
{
    (void)state;
    json_t *o = NULL;
    assert_int_equal(parse("{\"x\":1}", &o), JSONX_OK);
    json_t *errors = json_array();
    jsonx_error(errors, "earlier", "already there");
    assert_int_equal(jsonx_check(o, fields, "", errors), 3);
    assert_int_equal(json_array_size(errors), 4);
    assert_true(has_error(errors, "earlier", "already there"));
    /* A nested object is checked with its own table and a prefix. */
    static const struct jsonx_field inner[] = {{"x", JX_INT, JX_REQUIRED}, {NULL, JX_STRING, 0}};
    assert_int_equal(jsonx_check(o, inner, "p.", errors), 0);
    assert_int_equal(jsonx_check(NULL, inner, "", errors), -1);
    json_t *arr = json_array();
    assert_int_equal(jsonx_check(arr, inner, "", errors), -1);
    assert_int_equal(jsonx_check(o, inner, "", NULL), -1);
    assert_int_equal(jsonx_check(o, inner, "", o), -1);
    assert_int_equal(json_array_size(errors), 4);
    json_decref(arr);
    json_decref(errors);
    json_decref(o);
}

static void test_error_shape(void **state)
{
    (void)state;
    json_t *errors = json_array();
    jsonx_error(errors, "email", "is required");
    assert_int_equal(json_array_size(errors), 1);
    json_t *e = json_array_get(errors, 0);
    assert_int_equal(json_object_size(e), 2);
    assert_string_equal(jsonx_str(e, "field"), "email");
    assert_string_equal(jsonx_str(e, "message"), "is required");
    jsonx_error(NULL, "a", "b"); /* ignored */
    jsonx_error(errors, NULL, "b");
    assert_int_equal(json_array_size(errors), 1);
    json_decref(errors);
}

static void test_str_has(void **state)
{
    (void)state;
    json_t *o = NULL;
    assert_int_equal(parse("{\"s\":\"v\",\"n\":null,\"i\":1}", &o), JSONX_OK);
    assert_string_equal(jsonx_str(o, "s"), "v");
    assert_null(jsonx_str(o, "n"));
    assert_null(jsonx_str(o, "i"));
    assert_null(jsonx_str(o, "missing"));
    assert_null(jsonx_str(NULL, "s"));
    assert_null(jsonx_str(o, NULL));
    assert_int_equal(jsonx_has(o, "s"), 1);
    assert_int_equal(jsonx_has(o, "n"), 1); /* present, even though null */
    assert_int_equal(jsonx_has(o, "missing"), 0);
    assert_int_equal(jsonx_has(NULL, "s"), 0);
    json_t *arr = json_array();
    assert_int_equal(jsonx_has(arr, "s"), 0);
    assert_null(jsonx_str(arr, "s"));
    json_decref(arr);
    json_decref(o);
}

int test_jsonx_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_duplicates),
        cmocka_unit_test(test_parse_nul),
        cmocka_unit_test(test_parse_bad_utf8),
        cmocka_unit_test(test_parse_depth),
        cmocka_unit_test(test_parse_depth_ignores_strings),
        cmocka_unit_test(test_parse_not_object),
        cmocka_unit_test(test_parse_why_does_not_echo),
        cmocka_unit_test(test_parse_bad_args),
        cmocka_unit_test(test_check_valid),
        cmocka_unit_test(test_check_required),
        cmocka_unit_test(test_check_null),
        cmocka_unit_test(test_check_types),
        cmocka_unit_test(test_check_unknown),
        cmocka_unit_test(test_check_appends_and_counts),
        cmocka_unit_test(test_error_shape),
        cmocka_unit_test(test_str_has),
    };
    return cmocka_run_group_tests_name("jsonx", tests, NULL, NULL);
}
