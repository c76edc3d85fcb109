/* Unit tests for checkpoint (the audit checkpoint file's lines and the verification report). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "checkpoint.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int test_checkpoint_run(void);

#define H1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void test_format(void **state)
{
    (void)state;
    char line[CHECKPOINT_LINE_MAX];
    int n = checkpoint_format(line, sizeof line, INT64_C(1795428000) * 1000000 + 5, "42", H1);
    assert_string_equal(line, "2026-11-23T10:00:00Z 42 " H1 "\n");
    assert_int_equal(n, (int)strlen(line));
    assert_int_equal(checkpoint_format(line, sizeof line, 0, "042", H1), -1);
    assert_int_equal(checkpoint_format(line, sizeof line, 0, "4x", H1), -1);
    assert_int_equal(checkpoint_format(line, sizeof line, 0, "4", "ABC"), -1);
    assert_int_equal(checkpoint_format(line, 20, 0, "4", H1), -1);
}

static void parse(const char *text, struct checkpoints *cp)
{
    assert_int_equal(checkpoint_parse(strdup(text), strlen(text), cp), 0);
}

static void test_parse(void **state)
{
    (void)state;
    struct checkpoints cp;
    parse("2026-11-23T10:00:00Z 3 " H1 "\n2026-11-23T10:01:00Z 17 " H2 "\n", &cp);
    assert_int_equal(cp.n, 2);
    assert_int_equal(cp.bad_line, 0);
    assert_string_equal(cp.seqs, "{3,17}");
    assert_string_equal(cp.hashes, "{" H1 "," H2 "}");
    checkpoint_free(&cp);

    parse("", &cp);
    assert_int_equal(cp.n, 0);
    assert_string_equal(cp.seqs, "{}");
    checkpoint_free(&cp);
}

/* Reading stops at the first line that is not a checkpoint: one cut short, edited or padded. */
static void test_parse_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "2026-11-23T10:01:00Z 17 " H2,       /* no newline: cut short */
        "2026-11-23T10:01:00Z 17 " H2 " \n", /* a fourth field */
        "2026-11-23T10:01:00Z 17  " H2 "\n", /* two spaces */
        "yesterday 17 " H2 "\n",             /* not a time */
        "2026-11-23T10:01:00Z -17 " H2 "\n", /* not a sequence number */
        "2026-11-23T10:01:00Z 17 " H2 "0\n", /* a hash too long */
        "\n",                                /* an empty line */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[300];
        snprintf(text, sizeof text, "2026-11-23T10:00:00Z 3 " H1 "\n%s", bad[i]);
        struct checkpoints cp;
        parse(text, &cp);
        assert_int_equal(cp.n, 1);
        assert_int_equal(cp.bad_line, 2);
        assert_string_equal(cp.seqs, "{3}");
        checkpoint_free(&cp);
    }
    /* a NUL byte inside a line */
    char text[] = "2026-11-23T10:00:00Z\0x 3 " H1 "\n";
    struct checkpoints cp;
    assert_int_equal(
        checkpoint_parse(memcpy(malloc(sizeof text), text, sizeof text), sizeof text - 1, &cp), 0);
    assert_int_equal(cp.n, 0);
    assert_int_equal(cp.bad_line, 1);
    checkpoint_free(&cp);
}

static json_t *report(const struct verify_row *v, const struct checkpoints *cp, const char *err,
                      int *ok)
{
    char *text = checkpoint_report(v, cp, err, ok);
    assert_non_null(text);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(j);
    return j;
}

static void test_report_ok(void **state)
{
    (void)state;
    struct verify_row v = {"17", NULL, "17", H2, "17", "t", NULL, NULL};
    int ok;
    json_t *j = report(&v, NULL, NULL, &ok);
    assert_true(ok);
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_int_equal(json_integer_value(json_object_get(j, "entries")), 17);
    assert_true(json_is_null(json_object_get(j, "first_bad_id")));
    assert_true(json_is_null(json_object_get(j, "checkpoints")));
    json_t *head = json_object_get(j, "head");
    assert_int_equal(json_integer_value(json_object_get(head, "seq")), 17);
    assert_string_equal(json_string_value(json_object_get(head, "hash")), H2);
    json_decref(j);
}

static void test_report_failed_checkpoint(void **state)
{
    (void)state;
    struct checkpoints cp;
    parse("2026-11-23T10:00:00Z 3 " H1 "\n2026-11-23T10:01:00Z 17 " H2 "\n", &cp);
    struct verify_row v = {"12", NULL, "12", H1, "12", "t", "2", "shorter"};
    int ok;
    json_t *j = report(&v, &cp, NULL, &ok);
    assert_false(ok);
    assert_true(json_is_false(json_object_get(j, "ok")));
    json_t *cps = json_object_get(j, "checkpoints");
    assert_int_equal(json_integer_value(json_object_get(cps, "checked")), 2);
    json_t *f = json_object_get(cps, "failed");
    assert_int_equal(json_integer_value(json_object_get(f, "line")), 2);
    assert_string_equal(json_string_value(json_object_get(f, "at")), "2026-11-23T10:01:00Z");
    assert_int_equal(json_integer_value(json_object_get(f, "seq")), 17);
    assert_string_equal(json_string_value(json_object_get(f, "hash")), H2);
    assert_string_equal(json_string_value(json_object_get(f, "problem")), "shorter");
    json_decref(j);
    checkpoint_free(&cp);
}

/* A cut tail, a bad entry, a malformed line and an unreadable file each fail the verification. */
static void test_report_other_failures(void **state)
{
    (void)state;
    int ok;
    struct verify_row cut = {"12", NULL, "12", H1, "15", "f", NULL, NULL};
    json_decref(report(&cut, NULL, NULL, &ok));
    assert_false(ok);
    struct verify_row bad = {
        "12", "6b1c7f1e-0000-4000-8000-000000000001", "12", H1, "12", "t", NULL, NULL};
    json_decref(report(&bad, NULL, NULL, &ok));
    assert_false(ok);

    struct checkpoints cp;
    parse("2026-11-23T10:00:00Z 3 " H1 "\ngarbage\n", &cp);
    struct verify_row fine = {"12", NULL, "12", H1, "12", "t", NULL, NULL};
    json_t *j = report(&fine, &cp, NULL, &ok);
    assert_false(ok);
    json_t *f = json_object_get(json_object_get(j, "checkpoints"), "failed");
    assert_int_equal(json_integer_value(json_object_get(f, "line")), 2);
    assert_string_equal(json_string_value(json_object_get(f, "problem")), "malformed");
    json_decref(j);
    checkpoint_free(&cp);

    j = report(&fine, NULL, "unreadable", &ok);
    assert_false(ok);
    f = json_object_get(json_object_get(j, "checkpoints"), "failed");
    assert_string_equal(json_string_value(json_object_get(f, "problem")), "unreadable");
    json_decref(j);
}

static void test_read_missing(void **state)
{
    (void)state;
    struct checkpoints cp;
    assert_int_equal(checkpoint_read("/nonexistent/overleg-checkpoints", 1, &cp), 0);
    assert_int_equal(cp.n, 0);
    checkpoint_free(&cp);
    assert_int_equal(checkpoint_read("/nonexistent/overleg-checkpoints", 0, &cp), -1);
}

int test_checkpoint_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_report_ok),
        cmocka_unit_test(test_report_failed_checkpoint),
        cmocka_unit_test(test_report_other_failures),
        cmocka_unit_test(test_read_missing),
    };
    return cmocka_run_group_tests_name("checkpoint", tests, NULL, NULL);
}
