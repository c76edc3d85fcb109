/* Unit tests for roles (the one role table) and the field checks fields_int and fields_length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "fields.h"
#include "roles.h"

int test_roles_run(void);

static void test_names_and_bits(void **state)
{
    (void)state;
    /* The bits the route table and the sessions' principal have always used. */
    assert_int_equal(role_bit("gp"), 1u << 0);
    assert_int_equal(role_bit("poh"), 1u << 1);
    assert_int_equal(role_bit("consultant"), 1u << 2);
    assert_int_equal(role_bit("coordinator"), 1u << 3);
    assert_int_equal(role_bit("billing"), 1u << 4);
    assert_int_equal(role_bit("admin"), 1u << 5);
    assert_int_equal(ROLE_ADMIN, 1u << 5);
    assert_int_equal(ROLES_ANY, 0x3fu);
    assert_int_equal(role_bit("Admin"), 0);
    assert_int_equal(role_bit(""), 0);
    assert_int_equal(role_bit(NULL), 0);
    unsigned all = 0;
    int n = 0;
    for (const char *const *p = role_names; *p; p++, n++) {
        assert_int_equal(role_bit(*p), 1u << n);
        all |= role_bit(*p);
    }
    assert_int_equal(n, ROLE_COUNT);
    assert_int_equal(all, ROLES_ANY);
    assert_int_equal(ROLES_PRACTICE, ROLE_GP | ROLE_POH);
}

static void test_fits(void **state)
{
    (void)state;
    assert_true(role_fits("gp", "general_practice"));
    assert_true(role_fits("poh", "general_practice"));
    assert_true(role_fits("billing", "general_practice"));
    assert_false(role_fits("gp", "mental_health_provider"));
    assert_true(role_fits("consultant", "mental_health_provider"));
    assert_false(role_fits("consultant", "general_practice"));
    assert_true(role_fits("coordinator", "municipality"));
    assert_true(role_fits("admin", "other"));
    assert_true(role_fits("admin", NULL));
    assert_false(role_fits("gp", NULL));
    assert_false(role_fits("nobody", "other"));
}

static void test_fields_int(void **state)
{
    (void)state;
    json_t *b =
        json_pack("{s:i, s:i, s:i, s:s, s:n}", "ok", 3, "low", 0, "high", 11, "text", "5", "null");
    json_t *errors = json_array();
    fields_int(b, "ok", 1, 10, errors);
    fields_int(b, "text", 1, 10, errors);    /* not an integer: jsonx_check's to report */
    fields_int(b, "null", 1, 10, errors);    /* likewise */
    fields_int(b, "missing", 1, 10, errors); /* absent */
    assert_int_equal(json_array_size(errors), 0);
    fields_int(b, "low", 1, 10, errors);
    fields_int(b, "high", 1, 10, errors);
    assert_int_equal(json_array_size(errors), 2);
    json_t *e = json_array_get(errors, 0);
    assert_string_equal(json_string_value(json_object_get(e, "field")), "low");
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "must be an integer from 1 to 10");
    fields_int(b, "ok", 3, 3, errors); /* bounds are inclusive */
    assert_int_equal(json_array_size(errors), 2);
    json_decref(errors);
    json_decref(b);
}

static void test_fields_length(void **state)
{
    (void)state;
    /* "één" is 3 characters in 5 bytes: the length counts characters. */
    json_t *b = json_pack("{s:s, s:s, s:s, s:i}", "short", "\xc3\xa9\xc3\xa9n", "empty", "", "long",
                          "abcdefghijk", "number", 5);
    json_t *errors = json_array();
    fields_length(b, "short", 1, 3, errors);
    fields_length(b, "empty", 0, 3, errors);
    fields_length(b, "missing", 1, 3, errors); /* absent: jsonx_check's to report */
    fields_length(b, "number", 1, 3, errors);  /* not a string: likewise */
    assert_int_equal(json_array_size(errors), 0);
    fields_length(b, "empty", 1, 3, errors);
    fields_length(b, "long", 1, 10, errors);
    assert_int_equal(json_array_size(errors), 2);
    json_t *e = json_array_get(errors, 1);
    assert_string_equal(json_string_value(json_object_get(e, "field")), "long");
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "must be 1 to 10 characters");
    json_decref(errors);
    json_decref(b);
}

int test_roles_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_bits),
        cmocka_unit_test(test_fits),
        cmocka_unit_test(test_fields_int),
        cmocka_unit_test(test_fields_length),
    };
    return cmocka_run_group_tests_name("roles", tests, NULL, NULL);
}
