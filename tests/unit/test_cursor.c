/* Unit tests for cursor (opaque keyset cursors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "cursor.h"

int test_cursor_run(void);

/* Wraps raw text into a cursor, bypassing cursor_encode's checks. */
static void raw_cursor(const char *json, char *out, size_t outsz)
{
    assert_int_equal(b64url_encode((const unsigned char *)json, strlen(json), out, outsz), 0);
}

static void test_roundtrip(void **state)
{
    (void)state;
    const char *keys[] = {"Huisartsenpraktijk \"De Linde\"", "123e4567-e89b-12d3-a456-426614174000",
                          "back\\slash [x] {y}", "", "caf\xc3\xa9 \xf0\x9f\x98\x80"};
    for (size_t n = 1; n <= 5; n++) {
        char cur[CURSOR_MAX_LEN + 1];
        assert_int_equal(cursor_encode(keys, n, cur, sizeof cur), 0);
        /* url-safe, no padding */
        assert_int_equal(strspn(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789-_"),
                         strlen(cur));
        char *out[5];
        assert_int_equal(cursor_decode(cur, n, out), 0);
        for (size_t i = 0; i < n; i++)
            assert_string_equal(out[i], keys[i]);
        cursor_free(out, n);
        for (size_t i = 0; i < n; i++)
            assert_null(out[i]);
    }
}

static void test_known_encoding(void **state)
{
    (void)state;
    const char *keys[] = {"a", "b"};
    char cur[64], expect[64];
    assert_int_equal(cursor_encode(keys, 2, cur, sizeof cur), 0);
    raw_cursor("[\"a\",\"b\"]", expect, sizeof expect); /* compact JSON */
    assert_string_equal(cur, expect);
    /* Any valid JSON array decodes, whitespace included. */
    char *out[2];
    raw_cursor(" [ \"a\" ,\n\"b\" ] ", cur, sizeof cur);
    assert_int_equal(cursor_decode(cur, 2, out), 0);
    assert_string_equal(out[0], "a");
    assert_string_equal(out[1], "b");
    cursor_free(out, 2);
    raw_cursor("[\"\\u00e9\\n\"]", cur, sizeof cur);
    assert_int_equal(cursor_decode(cur, 1, out), 0);
    assert_string_equal(out[0], "\xc3\xa9\n");
    cursor_free(out, 1);
}

static void test_wrong_count(void **state)
{
    (void)state;
    const char *keys[] = {"a", "b", "c"};
    char cur[64];
    char *out[4] = {(char *)1, (char *)1, (char *)1, (char *)1};
    assert_int_equal(cursor_encode(keys, 2, cur, sizeof cur), 0);
    assert_int_equal(cursor_decode(cur, 1, out), -1);
    assert_null(out[0]);
    assert_int_equal(cursor_decode(cur, 3, out), -1);
    for (int i = 0; i < 3; i++)
        assert_null(out[i]);
    assert_int_equal(cursor_decode(cur, 0, out), -1);
}

static void test_decode_rejects_json(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"a\":\"b\"}",   /* not an array */
        "\"a\"",           /* scalar */
        "[1]",             /* not a string */
        "[null]",          /* not a string */
        "[[\"a\"]]",       /* nested */
        "[\"a\"",          /* truncated */
        "[\"a\"] x",       /* trailing data */
        "[\"a\\u0000b\"]", /* NUL inside */
        "[\"\\ud800\"]",   /* lone surrogate */
        "[\"\xc0\x80\"]",  /* overlong UTF-8 */
        "[\"\xff\"]",      /* invalid UTF-8 */
        "['a']",           /* not JSON */
        "",                /* empty */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char cur[64];
        char *out[1] = {(char *)1};
        raw_cursor(bad[i], cur, sizeof cur);
        if (cursor_decode(cur, 1, out) != -1)
            fail_msg("accepted cursor #%zu", i);
        assert_null(out[0]);
    }
}

static void test_decode_rejects_base64(void **state)
{
    (void)state;
    char *out[1];
    char cur[64];
    raw_cursor("[\"a\"]", cur, sizeof cur);
    assert_int_equal(cursor_decode(cur, 1, out), 0);
    cursor_free(out, 1);

    char padded[70];
    strcpy(padded, cur);
    strcat(padded, "=");
    assert_int_equal(cursor_decode(padded, 1, out), -1);
    strcpy(padded, cur);
    padded[1] = '+';
    assert_int_equal(cursor_decode(padded, 1, out), -1);
    strcpy(padded, cur);
    padded[strlen(padded) - 1] = '\0'; /* shortened */
    assert_int_equal(cursor_decode(padded, 1, out), -1);
    assert_int_equal(cursor_decode("", 1, out), -1);
    assert_int_equal(cursor_decode("!!!!", 1, out), -1);
    assert_int_equal(cursor_decode("W10", 1, out), -1); /* "[]" */
    assert_int_equal(cursor_decode(NULL, 1, out), -1);
    assert_int_equal(cursor_decode(cur, 1, NULL), -1);
}

static void test_limits(void **state)
{
    (void)state;
    static char key[CURSOR_MAX_KEY + 2], key2[CURSOR_MAX_KEY + 2], key3[CURSOR_MAX_KEY + 2];
    static char cur[4 * CURSOR_MAX_LEN], json[2 * CURSOR_MAX_LEN], big[4 * CURSOR_MAX_LEN];
    memset(key, 'k', CURSOR_MAX_KEY);
    key[CURSOR_MAX_KEY] = '\0';
    const char *keys[3] = {key, "x", "y"};
    char *out[3];

    /* A key of CURSOR_MAX_KEY bytes fits. */
    assert_int_equal(cursor_encode(keys, 1, cur, sizeof cur), 0);
    assert_true(strlen(cur) <= CURSOR_MAX_LEN);
    assert_int_equal(cursor_decode(cur, 1, out), 0);
    assert_int_equal(strlen(out[0]), CURSOR_MAX_KEY);
    cursor_free(out, 1);

    /* One byte more is refused both ways, though the cursor itself would be short enough. */
    key[CURSOR_MAX_KEY] = 'k';
    key[CURSOR_MAX_KEY + 1] = '\0';
    assert_int_equal(cursor_encode(keys, 1, cur, sizeof cur), -1);
    assert_string_equal(cur, "");
    snprintf(json, sizeof json, "[\"%s\"]", key);
    raw_cursor(json, cur, sizeof cur);
    assert_true(strlen(cur) <= CURSOR_MAX_LEN);
    assert_int_equal(cursor_decode(cur, 1, out), -1);

    /* Three keys of CURSOR_MAX_KEY bytes are each fine but the cursor would pass
     * CURSOR_MAX_LEN characters: encode refuses rather than hand out a cursor that decode would
     * reject. */
    key[CURSOR_MAX_KEY] = '\0';
    memset(key2, 'j', CURSOR_MAX_KEY);
    key2[CURSOR_MAX_KEY] = '\0';
    memset(key3, 'i', CURSOR_MAX_KEY);
    key3[CURSOR_MAX_KEY] = '\0';
    keys[1] = key2;
    keys[2] = key3;
    assert_int_equal(cursor_encode(keys, 3, cur, sizeof cur), -1);
    snprintf(big, sizeof big, "[\"%s\",\"%s\",\"%s\"]", key, key2, key3);
    raw_cursor(big, cur, sizeof cur);
    assert_true(strlen(cur) > CURSOR_MAX_LEN);
    assert_int_equal(cursor_decode(cur, 3, out), -1);

    /* Over CURSOR_MAX_LEN characters is refused before decoding (exactly: next test). */
    static char exact[CURSOR_MAX_LEN + 2];
    memset(exact, 'A', CURSOR_MAX_LEN + 1);
    exact[CURSOR_MAX_LEN + 1] = '\0';
    assert_int_equal(cursor_decode(exact, 1, out), -1);
}

static void test_exact_max_length(void **state)
{
    (void)state;
    /* JSON of 3/4 * CURSOR_MAX_LEN bytes encodes to exactly CURSOR_MAX_LEN characters: three
     * keys take 10 bytes of brackets, quotes and commas. */
    static char k1[CURSOR_MAX_KEY + 1], k2[CURSOR_MAX_KEY + 1], k3[CURSOR_MAX_KEY + 1];
    static char json[CURSOR_MAX_LEN], cur[2 * CURSOR_MAX_LEN];
    size_t total = CURSOR_MAX_LEN / 4 * 3 - 10;
    size_t l1 = CURSOR_MAX_KEY - 1, l2 = CURSOR_MAX_KEY - 1, l3 = total - l1 - l2;
    assert_true(l3 <= CURSOR_MAX_KEY);
    memset(k1, 'k', l1);
    k1[l1] = '\0';
    memset(k2, 'j', l2);
    k2[l2] = '\0';
    memset(k3, 'i', l3);
    k3[l3] = '\0';
    snprintf(json, sizeof json, "[\"%s\",\"%s\",\"%s\"]", k1, k2, k3);
    assert_int_equal(strlen(json), CURSOR_MAX_LEN / 4 * 3);
    raw_cursor(json, cur, sizeof cur);
    assert_int_equal(strlen(cur), CURSOR_MAX_LEN);
    char *out[3];
    assert_int_equal(cursor_decode(cur, 3, out), 0);
    assert_string_equal(out[0], k1);
    assert_string_equal(out[1], k2);
    assert_string_equal(out[2], k3);
    cursor_free(out, 3);
}

static void test_encode_rejects(void **state)
{
    (void)state;
    char cur[64];
    const char *bad_utf8[] = {"a\xff"};
    const char *with_null[] = {"a", NULL};
    const char *ok[] = {"abc"};
    assert_int_equal(cursor_encode(bad_utf8, 1, cur, sizeof cur), -1);
    assert_int_equal(cursor_encode(with_null, 2, cur, sizeof cur), -1);
    assert_int_equal(cursor_encode(ok, 0, cur, sizeof cur), -1);
    assert_int_equal(cursor_encode(NULL, 1, cur, sizeof cur), -1);
    assert_int_equal(cursor_encode(ok, 1, NULL, 64), -1);
    /* ["abc"] is 7 bytes -> 10 characters + NUL. */
    assert_int_equal(cursor_encode(ok, 1, cur, 10), -1);
    assert_int_equal(cursor_encode(ok, 1, cur, 11), 0);
    assert_int_equal(strlen(cur), 10);
}

static void test_free_tolerates_null(void **state)
{
    (void)state;
    char *keys[2] = {NULL, NULL};
    cursor_free(keys, 2);
    cursor_free(NULL, 3);
}

int test_cursor_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_known_encoding),
        cmocka_unit_test(test_wrong_count),
        cmocka_unit_test(test_decode_rejects_json),
        cmocka_unit_test(test_decode_rejects_base64),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_exact_max_length),
        cmocka_unit_test(test_encode_rejects),
        cmocka_unit_test(test_free_tolerates_null),
    };
    return cmocka_run_group_tests_name("cursor", tests, NULL, NULL);
}
