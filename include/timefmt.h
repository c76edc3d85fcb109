/* timefmt - UTC formatting of microsecond timestamps and civil-calendar arithmetic. Pure. */
#ifndef OVERLEG_TIMEFMT_H
#define OVERLEG_TIMEFMT_H

#include <stdint.h>

#define TIMEFMT_RFC3339_LEN 32
#define TIMEFMT_DATE_LEN 11

/* "2026-11-23T10:00:00Z": whole seconds (fraction dropped, rounding toward the past), UTC.
 * Instants outside years 0000-9999 are clamped to that range. */
void timefmt_rfc3339(int64_t epoch_us, char out[TIMEFMT_RFC3339_LEN]);

/* "2026-11-23" (UTC date of the instant), clamped like timefmt_rfc3339. */
void timefmt_date(int64_t epoch_us, char out[TIMEFMT_DATE_LEN]);

/* Like timefmt_rfc3339 with microseconds: 2026-11-23T10:00:00.123456Z. For SQL parameters. */
#define TIMEFMT_RFC3339_US_LEN 40
void timefmt_rfc3339_us(int64_t epoch_us, char out[TIMEFMT_RFC3339_US_LEN]);

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1-12, d 1-31, not checked). */
int64_t timefmt_days_from_civil(int64_t y, int m, int d);

/* Inverse of timefmt_days_from_civil. */
void timefmt_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

#endif
