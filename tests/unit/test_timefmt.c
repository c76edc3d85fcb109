/* Unit tests for timefmt (UTC formatting, civil-calendar arithmetic). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "timefmt.h"

int test_timefmt_run(void);

#define US INT64_C(1000000)

static void test_rfc3339_known(void **state)
{
    (void)state;
    char out[TIMEFMT_RFC3339_LEN];
    timefmt_rfc3339(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    timefmt_rfc3339(INT64_C(1795428000) * US, out);
    assert_string_equal(out, "2026-11-23T10:00:00Z");
    timefmt_rfc3339(INT64_C(1709249400) * US, out);
    assert_string_equal(out, "2024-02-29T23:30:00Z");
    timefmt_rfc3339(INT64_C(951868800) * US - 1, out);
    assert_string_equal(out, "2000-02-29T23:59:59Z");
    timefmt_rfc3339(INT64_C(951868800) * US, out);
    assert_string_equal(out, "2000-03-01T00:00:00Z");
    timefmt_rfc3339(INT64_C(-2208988800) * US, out);
    assert_string_equal(out, "1900-01-01T00:00:00Z");
    timefmt_rfc3339(INT64_C(32503679999) * US, out);
    assert_string_equal(out, "2999-12-31T23:59:59Z");
    timefmt_rfc3339(INT64_C(-62135596800) * US, out);
    assert_string_equal(out, "0001-01-01T00:00:00Z");
}

static void test_rfc3339_fraction_dropped(void **state)
{
    (void)state;
    char out[TIMEFMT_RFC3339_LEN];
    timefmt_rfc3339(999999, out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    timefmt_rfc3339(INT64_C(1795428000) * US + 500000, out);
    assert_string_equal(out, "2026-11-23T10:00:00Z");
    /* Before 1970 the fraction still rounds toward the past. */
    timefmt_rfc3339(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59Z");
    timefmt_rfc3339(-US, out);
    assert_string_equal(out, "1969-12-31T23:59:59Z");
    timefmt_rfc3339(-US - 1, out);
    assert_string_equal(out, "1969-12-31T23:59:58Z");
    timefmt_rfc3339(-INT64_C(86400) * US, out);
    assert_string_equal(out, "1969-12-31T00:00:00Z");
}

static void test_clamped(void **state)
{
    (void)state;
    char out[TIMEFMT_RFC3339_LEN], date[TIMEFMT_DATE_LEN];
    timefmt_rfc3339(INT64_MAX, out);
    assert_string_equal(out, "9999-12-31T23:59:59Z");
    timefmt_rfc3339(INT64_MIN, out);
    assert_string_equal(out, "0000-01-01T00:00:00Z");
    timefmt_date(INT64_MAX, date);
    assert_string_equal(date, "9999-12-31");
    timefmt_date(INT64_MIN, date);
    assert_string_equal(date, "0000-01-01");
}

static void test_date(void **state)
{
    (void)state;
    char out[TIMEFMT_DATE_LEN];
    timefmt_date(0, out);
    assert_string_equal(out, "1970-01-01");
    timefmt_date(INT64_C(1795428000) * US, out);
    assert_string_equal(out, "2026-11-23");
    timefmt_date(INT64_C(1709249400) * US, out);
    assert_string_equal(out, "2024-02-29");
    timefmt_date(-1, out);
    assert_string_equal(out, "1969-12-31");
}

static void test_days_from_civil(void **state)
{
    (void)state;
    assert_int_equal(timefmt_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(timefmt_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(timefmt_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(timefmt_days_from_civil(2000, 2, 29), 11016);
    assert_int_equal(timefmt_days_from_civil(1900, 3, 1) - timefmt_days_from_civil(1900, 2, 28), 1);
    assert_int_equal(timefmt_days_from_civil(2000, 3, 1) - timefmt_days_from_civil(2000, 2, 28), 2);
    assert_int_equal(timefmt_days_from_civil(2100, 1, 1) - timefmt_days_from_civil(2000, 1, 1),
                     36525);
}

/* Walks every day from year 0 to 10000 and checks that the two conversions agree and that
 * the calendar advances one day at a time with correct month lengths. */
static void test_civil_exhaustive(void **state)
{
    (void)state;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t first = timefmt_days_from_civil(0, 1, 1);
    int64_t last = timefmt_days_from_civil(10000, 12, 31);
    int64_t py = 0;
    int pm = 1, pd = 1;
    for (int64_t z = first; z <= last; z++) {
        int64_t y;
        int m, d;
        timefmt_civil_from_days(z, &y, &m, &d);
        if (timefmt_days_from_civil(y, m, d) != z)
            fail_msg("round trip failed at day %lld", (long long)z);
        if (z > first) {
            int leap = (py % 4 == 0 && py % 100 != 0) || py % 400 == 0;
            int dim = mdays[pm - 1] + (pm == 2 && leap);
            int ok = (d == pd + 1 && m == pm && y == py) ||
                     (pd == dim && d == 1 &&
                      ((m == pm + 1 && y == py) || (pm == 12 && m == 1 && y == py + 1)));
            if (!ok)
                fail_msg("calendar jump at %lld-%d-%d", (long long)y, m, d);
        }
        py = y;
        pm = m;
        pd = d;
    }
}

static void test_rfc3339_us(void **state)
{
    (void)state;
    char out[TIMEFMT_RFC3339_US_LEN];
    timefmt_rfc3339_us(1795428000123456LL, out); /* 2026-11-23T10:00:00.123456Z */
    assert_string_equal(out, "2026-11-23T10:00:00.123456Z");
    timefmt_rfc3339_us(-1, out); /* floors before 1970 */
    assert_string_equal(out, "1969-12-31T23:59:59.999999Z");
    timefmt_rfc3339_us(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000000Z");
}

int test_timefmt_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_us),
        cmocka_unit_test(test_rfc3339_known),
        cmocka_unit_test(test_rfc3339_fraction_dropped),
        cmocka_unit_test(test_clamped),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_days_from_civil),
        cmocka_unit_test(test_civil_exhaustive),
    };
    return cmocka_run_group_tests_name("timefmt", tests, NULL, NULL);
}
