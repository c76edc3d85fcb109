/* Unit tests for workdays (Dutch working days and due dates). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "timefmt.h"
#include "workdays.h"

int test_workdays_run(void);

#define US INT64_C(1000000)

/* UTC instant of y-m-d h:mi. */
static int64_t at(int y, int m, int d, int h, int mi)
{
    return (timefmt_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60) * US;
}

static void expect_easter(int y, int m, int d)
{
    int em = 0, ed = 0;
    workdays_easter(y, &em, &ed);
    assert_int_equal(em, m);
    assert_int_equal(ed, d);
}

static void test_easter(void **state)
{
    (void)state;
    expect_easter(2024, 3, 31);
    expect_easter(2025, 4, 20);
    expect_easter(2026, 4, 5);
    expect_easter(2027, 3, 28);
    expect_easter(2030, 4, 21);
    expect_easter(2000, 4, 23);
    expect_easter(2019, 4, 21);
    expect_easter(1961, 4, 2);
    expect_easter(2038, 4, 25); /* latest possible */
    expect_easter(2285, 3, 22); /* earliest possible */
}

static void test_fixed_holidays(void **state)
{
    (void)state;
    assert_int_equal(workdays_is_holiday(2026, 1, 1), 1);
    assert_int_equal(workdays_is_holiday(2026, 12, 25), 1);
    assert_int_equal(workdays_is_holiday(2026, 12, 26), 1);
    assert_int_equal(workdays_is_holiday(2027, 1, 1), 1);
    assert_int_equal(workdays_is_holiday(2026, 1, 2), 0);
    assert_int_equal(workdays_is_holiday(2026, 12, 24), 0);
    assert_int_equal(workdays_is_holiday(2026, 12, 27), 0);
    assert_int_equal(workdays_is_holiday(2026, 12, 31), 0);
}

static void test_kings_day(void **state)
{
    (void)state;
    /* 27 April 2025 is a Sunday, so King's Day moves back to Saturday the 26th. */
    assert_int_equal(workdays_is_holiday(2025, 4, 26), 1);
    assert_int_equal(workdays_is_holiday(2025, 4, 27), 0);
    assert_int_equal(workdays_is_holiday(2026, 4, 27), 1);
    assert_int_equal(workdays_is_holiday(2026, 4, 26), 0);
    assert_int_equal(workdays_is_holiday(2031, 4, 26), 1);
    assert_int_equal(workdays_is_holiday(2031, 4, 27), 0);
    assert_int_equal(workdays_is_holiday(2027, 4, 27), 1);
    assert_int_equal(workdays_is_holiday(2026, 4, 30), 0); /* no Queen's Day */
}

static void test_liberation_day(void **state)
{
    (void)state;
    assert_int_equal(workdays_is_holiday(2025, 5, 5), 1);
    assert_int_equal(workdays_is_holiday(2026, 5, 5), 0);
    assert_int_equal(workdays_is_holiday(2030, 5, 5), 1);
    assert_int_equal(workdays_is_holiday(2020, 5, 5), 1);
    assert_int_equal(workdays_is_holiday(2029, 5, 5), 0);
    assert_int_equal(workdays_is_workday(2025, 5, 5), 0); /* a Monday */
    assert_int_equal(workdays_is_workday(2026, 5, 5), 1); /* a Tuesday */
}

static void test_easter_holidays(void **state)
{
    (void)state;
    /* 2026: Easter 5 April. */
    assert_int_equal(workdays_is_holiday(2026, 4, 3), 0); /* Good Friday is not */
    assert_int_equal(workdays_is_holiday(2026, 4, 6), 1); /* Easter Monday */
    assert_int_equal(workdays_is_holiday(2026, 5, 14), 1);
    assert_int_equal(workdays_is_holiday(2026, 5, 25), 1);
    assert_int_equal(workdays_is_holiday(2026, 5, 13), 0);
    assert_int_equal(workdays_is_holiday(2026, 5, 15), 0);
    assert_int_equal(workdays_is_holiday(2026, 5, 26), 0);
    /* 2025: Easter 20 April. */
    assert_int_equal(workdays_is_holiday(2025, 4, 21), 1);
    assert_int_equal(workdays_is_holiday(2025, 5, 29), 1);
    assert_int_equal(workdays_is_holiday(2025, 6, 9), 1);
    /* 2024: Easter 31 March, Easter Monday in April. */
    assert_int_equal(workdays_is_holiday(2024, 4, 1), 1);
    assert_int_equal(workdays_is_holiday(2024, 5, 9), 1);
    assert_int_equal(workdays_is_holiday(2024, 5, 20), 1);
}

/* Every holiday of a year, found by walking all its days, equals the expected list. */
static void expect_year(int y, const int (*want)[2], size_t n)
{
    size_t found = 0;
    for (int64_t day = timefmt_days_from_civil(y, 1, 1); day < timefmt_days_from_civil(y + 1, 1, 1);
         day++) {
        int64_t yy;
        int m, d;
        timefmt_civil_from_days(day, &yy, &m, &d);
        if (!workdays_is_holiday(y, m, d))
            continue;
        assert_true(found < n);
        assert_int_equal(m, want[found][0]);
        assert_int_equal(d, want[found][1]);
        found++;
    }
    assert_int_equal(found, n);
}

static void test_whole_years(void **state)
{
    (void)state;
    static const int y2025[][2] = {{1, 1},  {4, 21}, {4, 26},  {5, 5},
                                   {5, 29}, {6, 9},  {12, 25}, {12, 26}};
    static const int y2026[][2] = {{1, 1}, {4, 6}, {4, 27}, {5, 14}, {5, 25}, {12, 25}, {12, 26}};
    expect_year(2025, y2025, sizeof y2025 / sizeof y2025[0]);
    expect_year(2026, y2026, sizeof y2026 / sizeof y2026[0]);
}

static void test_workday(void **state)
{
    (void)state;
    assert_int_equal(workdays_is_workday(2026, 3, 2), 1);   /* Monday */
    assert_int_equal(workdays_is_workday(2026, 3, 6), 1);   /* Friday */
    assert_int_equal(workdays_is_workday(2026, 3, 7), 0);   /* Saturday */
    assert_int_equal(workdays_is_workday(2026, 3, 8), 0);   /* Sunday */
    assert_int_equal(workdays_is_workday(2026, 5, 14), 0);  /* Ascension, a Thursday */
    assert_int_equal(workdays_is_workday(2026, 12, 25), 0); /* Christmas, a Friday */
    assert_int_equal(workdays_is_workday(2026, 4, 3), 1);   /* Good Friday */
    assert_int_equal(workdays_is_workday(1970, 1, 2), 1);
    assert_int_equal(workdays_is_workday(1969, 12, 31), 1);
}

static void test_invalid_dates(void **state)
{
    (void)state;
    assert_int_equal(workdays_is_holiday(2026, 2, 29), 0);
    assert_int_equal(workdays_is_workday(2026, 2, 29), 0);
    assert_int_equal(workdays_is_workday(2024, 2, 29), 1); /* leap day, a Thursday */
    assert_int_equal(workdays_is_workday(2026, 13, 1), 0);
    assert_int_equal(workdays_is_workday(2026, 0, 1), 0);
    assert_int_equal(workdays_is_workday(2026, 4, 31), 0);
    assert_int_equal(workdays_is_workday(2026, 4, 0), 0);
    assert_int_equal(workdays_is_holiday(2026, 12, 32), 0);
}

static void test_add_examples(void **state)
{
    (void)state;
    /* Monday 10:00 + 3 is Thursday 10:00. */
    assert_int_equal(workdays_add(at(2026, 3, 2, 10, 0), 3), at(2026, 3, 5, 10, 0));
    /* Friday + 1 is Monday; so are Saturday + 1 and Sunday + 1. */
    assert_int_equal(workdays_add(at(2026, 3, 6, 10, 0), 1), at(2026, 3, 9, 10, 0));
    assert_int_equal(workdays_add(at(2026, 3, 7, 10, 0), 1), at(2026, 3, 9, 10, 0));
    assert_int_equal(workdays_add(at(2026, 3, 8, 10, 0), 1), at(2026, 3, 9, 10, 0));
    assert_int_equal(workdays_add(at(2026, 3, 7, 10, 0), 3), at(2026, 3, 11, 10, 0));
    /* Thursday before Easter + 1 is Good Friday; Good Friday + 1 skips Easter Monday. */
    assert_int_equal(workdays_add(at(2026, 4, 2, 10, 0), 1), at(2026, 4, 3, 10, 0));
    assert_int_equal(workdays_add(at(2026, 4, 3, 10, 0), 1), at(2026, 4, 7, 10, 0));
    /* A submission on a holiday counts from the next day like any other. */
    assert_int_equal(workdays_add(at(2026, 4, 6, 10, 0), 1), at(2026, 4, 7, 10, 0));
}

static void test_add_holidays(void **state)
{
    (void)state;
    /* Christmas on Friday 2026: Thursday + 1 is Monday the 28th. */
    assert_int_equal(workdays_add(at(2026, 12, 24, 9, 0), 1), at(2026, 12, 28, 9, 0));
    /* Christmas and Boxing Day on Thursday and Friday 2025. */
    assert_int_equal(workdays_add(at(2025, 12, 24, 9, 0), 1), at(2025, 12, 29, 9, 0));
    assert_int_equal(workdays_add(at(2025, 12, 23, 9, 0), 2), at(2025, 12, 29, 9, 0));
    /* New Year's Day. */
    assert_int_equal(workdays_add(at(2025, 12, 31, 16, 0), 1), at(2026, 1, 2, 16, 0));
    assert_int_equal(workdays_add(at(2025, 12, 29, 16, 0), 3), at(2026, 1, 2, 16, 0));
    assert_int_equal(workdays_add(at(2025, 12, 29, 16, 0), 4), at(2026, 1, 5, 16, 0));
    /* Ascension (Thursday 14 May 2026) and Whit Monday (25 May 2026). */
    assert_int_equal(workdays_add(at(2026, 5, 13, 11, 0), 1), at(2026, 5, 15, 11, 0));
    assert_int_equal(workdays_add(at(2026, 5, 22, 11, 0), 1), at(2026, 5, 26, 11, 0));
    assert_int_equal(workdays_add(at(2026, 5, 11, 11, 0), 10), at(2026, 5, 27, 11, 0));
    /* King's Day on Monday 27 April 2026; on Saturday in 2025 it changes nothing. */
    assert_int_equal(workdays_add(at(2026, 4, 24, 8, 0), 1), at(2026, 4, 28, 8, 0));
    assert_int_equal(workdays_add(at(2025, 4, 25, 8, 0), 1), at(2025, 4, 28, 8, 0));
    /* Liberation Day: Monday 5 May 2025 is off, Tuesday 5 May 2026 is not. */
    assert_int_equal(workdays_add(at(2025, 5, 2, 8, 0), 1), at(2025, 5, 6, 8, 0));
    assert_int_equal(workdays_add(at(2026, 5, 4, 8, 0), 1), at(2026, 5, 5, 8, 0));
}

static void test_add_one_to_ten(void **state)
{
    (void)state;
    /* From Monday 2 March 2026, a fortnight without holidays. */
    static const int plain[10] = {3, 4, 5, 6, 9, 10, 11, 12, 13, 16};
    /* From Wednesday 1 April 2026, across Easter Monday. */
    static const int easter[10] = {2, 3, 7, 8, 9, 10, 13, 14, 15, 16};
    for (int n = 1; n <= 10; n++) {
        assert_int_equal(workdays_add(at(2026, 3, 2, 10, 0), n), at(2026, 3, plain[n - 1], 10, 0));
        assert_int_equal(workdays_add(at(2026, 4, 1, 10, 0), n), at(2026, 4, easter[n - 1], 10, 0));
    }
}

static void test_add_time_of_day(void **state)
{
    (void)state;
    int64_t late = at(2026, 3, 6, 23, 59) + 59 * US + 999999;
    assert_int_equal(workdays_add(late, 1), at(2026, 3, 9, 23, 59) + 59 * US + 999999);
    assert_int_equal(workdays_add(at(2026, 3, 6, 0, 0), 1), at(2026, 3, 9, 0, 0));
    assert_int_equal(workdays_add(at(2026, 3, 6, 0, 0) - 1, 1), at(2026, 3, 7, 0, 0) - 1);
    /* Dates are UTC: 23:30Z on Monday is Tuesday in Amsterdam but counts as Monday. */
    assert_int_equal(workdays_add(at(2026, 3, 2, 23, 30), 1), at(2026, 3, 3, 23, 30));
}

static void test_add_nonpositive(void **state)
{
    (void)state;
    int64_t t = at(2026, 3, 7, 10, 0);
    assert_int_equal(workdays_add(t, 0), t);
    assert_int_equal(workdays_add(t, -3), t);
}

static void test_add_before_1970(void **state)
{
    (void)state;
    /* Wednesday 31 December 1969 + 1 skips New Year's Day 1970 (negative instants floor). */
    assert_int_equal(workdays_add(at(1969, 12, 31, 12, 0), 1), at(1970, 1, 2, 12, 0));
    assert_int_equal(workdays_add(-1, 1), at(1970, 1, 2, 23, 59) + 59 * US + 999999);
}

/* Over two years of start days: the due date is a workday, later than the start, and exactly
 * n workdays lie in (start date, due date]. */
static void test_add_invariant(void **state)
{
    (void)state;
    int64_t first = timefmt_days_from_civil(2025, 1, 1), last = timefmt_days_from_civil(2027, 1, 1);
    for (int64_t day = first; day < last; day++) {
        for (int n = 1; n <= 10; n++) {
            int64_t due = workdays_add(day * 86400 * US + 13 * 3600 * US, n);
            assert_int_equal(due % (86400 * US), 13 * 3600 * US);
            int64_t due_day = due / (86400 * US);
            assert_true(due_day > day);
            int count = 0;
            for (int64_t k = day + 1; k <= due_day; k++) {
                int64_t y;
                int m, d;
                timefmt_civil_from_days(k, &y, &m, &d);
                count += workdays_is_workday((int)y, m, d);
            }
            assert_int_equal(count, n);
            int64_t y;
            int m, d;
            timefmt_civil_from_days(due_day, &y, &m, &d);
            assert_int_equal(workdays_is_workday((int)y, m, d), 1);
        }
    }
}

int test_workdays_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_easter),          cmocka_unit_test(test_fixed_holidays),
        cmocka_unit_test(test_kings_day),       cmocka_unit_test(test_liberation_day),
        cmocka_unit_test(test_easter_holidays), cmocka_unit_test(test_whole_years),
        cmocka_unit_test(test_workday),         cmocka_unit_test(test_invalid_dates),
        cmocka_unit_test(test_add_examples),    cmocka_unit_test(test_add_holidays),
        cmocka_unit_test(test_add_one_to_ten),  cmocka_unit_test(test_add_time_of_day),
        cmocka_unit_test(test_add_nonpositive), cmocka_unit_test(test_add_before_1970),
        cmocka_unit_test(test_add_invariant),
    };
    return cmocka_run_group_tests_name("workdays", tests, NULL, NULL);
}
