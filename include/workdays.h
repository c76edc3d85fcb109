/* workdays - due dates in Dutch working days (API.md §8). Pure. */
#ifndef OVERLEG_WORKDAYS_H
#define OVERLEG_WORKDAYS_H

#include <stdint.h>

/* Adds `days` working days to the instant `from_us` (UTC microseconds) and keeps the time of
 * day: the result is the date reached after counting `days` working days, starting with the
 * day after `from_us`. So Monday 10:00 + 3 is Thursday 10:00, and Friday, Saturday or a holiday
 * + 1 is the next working day. Calendar dates are taken in UTC, not Europe/Amsterdam: an instant
 * between midnight and 01:00/02:00 Dutch time counts as the previous day. days <= 0 returns
 * from_us unchanged. The cost is linear in days; callers keep it small (response_days). */
int64_t workdays_add(int64_t from_us, int days);

/* 1 when y-m-d is a Dutch public holiday: New Year's Day, Easter Monday, King's Day (27 April,
 * 26 April when the 27th is a Sunday), Ascension Day, Whit Monday, Christmas Day, Boxing Day,
 * and Liberation Day (5 May) in years divisible by 5. Today's rules are applied to every year
 * (no Queen's Day before 2014). 0 otherwise, also for an invalid date. */
int workdays_is_holiday(int y, int m, int d);

/* 1 for Monday-Friday that is not a holiday; 0 otherwise, also for an invalid date. */
int workdays_is_workday(int y, int m, int d);

/* Gregorian Easter Sunday of year y (anonymous Gregorian algorithm) in *m and *d. */
void workdays_easter(int y, int *m, int *d);

#endif
