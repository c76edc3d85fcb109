#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datakeys.h"

#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "2222222222222222222222222222222222222222222222222222222222222222"

static int ring_two(void **state)
{
    (void)state;
    datakeys_clear();
    const char *why = NULL;
    return datakeys_add("new:" K2 ",\n# the key before\nold:" K1 "\n", &why);
}

static int ring_clear(void **state)
{
    (void)state;
    datakeys_clear();
    return 0;
}

static void ring_parses(void **state)
{
    (void)state;
    assert_int_equal(datakeys_count(), 2);
    assert_string_equal(datakeys_current(), "new");
    assert_string_equal(datakeys_id(1), "old");
    const char *why = NULL;
    datakeys_clear();
    assert_int_equal(datakeys_add("a:" K1 ",a:" K2, &why), -1); /* an id twice */
    datakeys_clear();
    assert_int_equal(datakeys_add("a:" K1 "0", &why), -1); /* 65 hex characters */
    datakeys_clear();
    assert_int_equal(datakeys_add("a b:" K1, &why), -1);
    datakeys_clear();
    assert_int_equal(datakeys_add("# nothing\n", &why), -1);
    datakeys_clear();
    assert_int_equal(datakeys_add("k:" K1, &why), 0);
    assert_string_equal(datakeys_current(), "k");
}

static void seal_names_key_and_binds_object(void **state)
{
    (void)state;
    char *s = datakeys_seal("consultation:abc", "Mevrouw Zwaan", 13);
    assert_non_null(s);
    assert_true(!strncmp(s, "ov1:new:", 8));
    assert_null(strstr(s, "Zwaan"));
    char kid[DATAKEY_ID_MAX + 1];
    assert_int_equal(datakeys_key_of(s, kid), 0);
    assert_string_equal(kid, "new");
    size_t len = 0;
    char *back = datakeys_open("consultation:abc", s, &len);
    assert_string_equal(back, "Mevrouw Zwaan");
    assert_int_equal(len, 13);
    free(back);
    assert_null(datakeys_open("consultation:abd", s, NULL)); /* another object */
    assert_int_equal(datakeys_key_of("plain text", kid), -1);
    free(s);
}

static void older_key_opens_after_rotation(void **state)
{
    (void)state;
    const char *why = NULL;
    datakeys_clear();
    assert_int_equal(datakeys_add("old:" K1, &why), 0);
    char *s = datakeys_seal("case:1", "tekst", 5);
    datakeys_clear();
    assert_int_equal(datakeys_add("new:" K2 ",old:" K1, &why), 0);
    char *back = datakeys_open("case:1", s, NULL);
    assert_string_equal(back, "tekst");
    free(back);
    datakeys_clear();
    assert_int_equal(datakeys_add("new:" K2, &why), 0); /* the old key removed */
    assert_null(datakeys_open("case:1", s, NULL));
    free(s);
}

static void ad_lower_cases_the_id(void **state)
{
    (void)state;
    char ad[DATAKEYS_AD_MAX];
    datakeys_ad(ad, "case", "ABCDEF01-0000-4000-8000-00000000000A");
    assert_string_equal(ad, "case:abcdef01-0000-4000-8000-00000000000a");
}

static void reveal_opens_sealed_objects(void **state)
{
    (void)state;
    const char *q = "Vraag \"met\" aanhalingstekens\n";
    char *a = datakeys_seal("consultation:x", q, strlen(q));
    char *b = datakeys_seal("consultation:x", "tweede", 6);
    char json[1024];
    /* as jsonb prints it, and as jansson's compact form does */
    snprintf(json, sizeof json,
             "{\"id\": \"x\", \"subject\": {\"$ad\": \"consultation:x\", \"$sealed\": \"%s\"}, "
             "\"n\": [{\"$ad\":\"consultation:x\",\"$sealed\":\"%s\"}], \"t\": \"\\\"$ad\\\"\"}",
             a, b);
    size_t outlen = 0;
    int failed = 0;
    char *out = datakeys_reveal(json, strlen(json), &outlen, &failed);
    assert_int_equal(failed, 0);
    assert_non_null(out);
    assert_string_equal(out,
                        "{\"id\": \"x\", \"subject\": \"Vraag \\\"met\\\" aanhalingstekens\\n\", "
                        "\"n\": [\"tweede\"], \"t\": \"\\\"$ad\\\"\"}");
    assert_int_equal(outlen, strlen(out));
    free(out);
    /* nothing sealed: the text stands */
    const char *plain = "{\"subject\": \"gewoon\"}";
    assert_null(datakeys_reveal(plain, strlen(plain), &outlen, &failed));
    assert_int_equal(failed, 0);
    /* a value moved to another object does not open: the reply must not be sent */
    snprintf(json, sizeof json, "{\"q\": {\"$ad\": \"consultation:y\", \"$sealed\": \"%s\"}}", a);
    assert_null(datakeys_reveal(json, strlen(json), &outlen, &failed));
    assert_int_equal(failed, 1);
    free(a);
    free(b);
}

int test_datakeys_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ring_parses, ring_two, ring_clear),
        cmocka_unit_test_setup_teardown(seal_names_key_and_binds_object, ring_two, ring_clear),
        cmocka_unit_test_setup_teardown(older_key_opens_after_rotation, ring_two, ring_clear),
        cmocka_unit_test(ad_lower_cases_the_id),
        cmocka_unit_test_setup_teardown(reveal_opens_sealed_objects, ring_two, ring_clear),
    };
    return cmocka_run_group_tests_name("datakeys", tests, NULL, NULL);
}
