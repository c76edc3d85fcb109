/* workdays - Dutch working days. Dates become day numbers (timefmt) so that Easter offsets and
 * weekdays are plain integer arithmetic. */
#include "workdays.h"

#include "timefmt.h"

#define WORKDAYS_DAY_US INT64_C(86400000000)

void workdays_easter(int y, int *m, int *d)
{
    int a = y % 19, b = y / 100, c = y % 100;
    int e = b / 4, f = b % 4, g = (b + 8) / 25, h = (b - g + 1) / 3;
    int i = (19 * a + b - e - h + 15) % 30;
    int k = c / 4, l = c % 4;
    int n = (32 + 2 * f + 2 * k - i - l) % 7;
    int p = (a + 11 * i + 22 * n) / 451;
    int q = i + n - 7 * p + 114;
    *m = q / 31;
    *d = q % 31 + 1;
}

/* 0 = Monday ... 6 = Sunday; day 0 (1970-01-01) was a Thursday. */
static int workdays_weekday(int64_t days)
{
    int64_t w = (days + 3) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static int workdays_valid(int y, int m, int d)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

int workdays_is_holiday(int y, int m, int d)
{
    if (!workdays_valid(y, m, d))
        return 0;
    if ((m == 1 && d == 1) || (m == 12 && (d == 25 || d == 26)))
        return 1;
    if (m == 5 && d == 5 && y % 5 == 0)
        return 1;
    if (m == 4 && (d == 26 || d == 27)) {
        int sunday = workdays_weekday(timefmt_days_from_civil(y, 4, 27)) == 6;
        return d == (sunday ? 26 : 27);
    }
    int em, ed;
    workdays_easter(y, &em, &ed);
    int64_t after = timefmt_days_from_civil(y, m, d) - timefmt_days_from_civil(y, em, ed);
    return after == 1 || after == 39 || after == 50; /* Easter/Whit Monday, Ascension Day */
}

int workdays_is_workday(int y, int m, int d)
{
    if (!workdays_valid(y, m, d))
        return 0;
    return workdays_weekday(timefmt_days_from_civil(y, m, d)) < 5 && !workdays_is_holiday(y, m, d);
}

int64_t workdays_add(int64_t from_us, int days)
{
    if (days <= 0)
        return from_us;
    int64_t day = from_us / WORKDAYS_DAY_US, tod = from_us % WORKDAYS_DAY_US;
    if (tod < 0) { /* floor, so instants before 1970 keep their UTC date */
        tod += WORKDAYS_DAY_US;
        day--;
    }
    for (int counted = 0; counted < days;) {
        day++;
        int64_t y;
        int m, d;
        timefmt_civil_from_days(day, &y, &m, &d);
        if (workdays_is_workday((int)y, m, d))
            counted++;
    }
    return day * WORKDAYS_DAY_US + tod;
}
