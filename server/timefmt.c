/* timefmt - UTC formatting and civil-calendar arithmetic (H. Hinnant's algorithms), so no
 * libc time zone state or timegm is involved. */
#include "timefmt.h"

#include <string.h>

int64_t timefmt_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void timefmt_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int mm = (int)(mp < 10 ? mp + 3 : mp - 9);
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = mm;
    *y = yoe + era * 400 + (mm <= 2);
}

/* Writes v as exactly width decimal digits (v is in range after clamping). */
static char *timefmt_put(char *p, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/* Splits an instant into UTC fields; clamping keeps the year at four digits, so the fixed-size
 * outputs can never overflow. */
static void timefmt_split(int64_t epoch_us, int64_t *y, int *mo, int *d, int *h, int *mi, int *s)
{
    const int64_t day_us = INT64_C(86400000000);
    const int64_t lo = timefmt_days_from_civil(0, 1, 1) * day_us;
    const int64_t hi = timefmt_days_from_civil(10000, 1, 1) * day_us - 1;
    if (epoch_us < lo)
        epoch_us = lo;
    if (epoch_us > hi)
        epoch_us = hi;
    int64_t secs = epoch_us / 1000000;
    if (epoch_us % 1000000 < 0)
        secs--; /* floor, so an instant before 1970 rounds toward the past */
    int64_t days = secs / 86400;
    int64_t rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    timefmt_civil_from_days(days, y, mo, d);
    *h = (int)(rem / 3600);
    *mi = (int)(rem / 60 % 60);
    *s = (int)(rem % 60);
}

void timefmt_rfc3339(int64_t epoch_us, char out[TIMEFMT_RFC3339_LEN])
{
    int64_t y;
    int mo, d, h, mi, s;
    timefmt_split(epoch_us, &y, &mo, &d, &h, &mi, &s);
    char *p = timefmt_put(out, y, 4);
    *p++ = '-';
    p = timefmt_put(p, mo, 2);
    *p++ = '-';
    p = timefmt_put(p, d, 2);
    *p++ = 'T';
    p = timefmt_put(p, h, 2);
    *p++ = ':';
    p = timefmt_put(p, mi, 2);
    *p++ = ':';
    p = timefmt_put(p, s, 2);
    *p++ = 'Z';
    *p = '\0';
}

void timefmt_rfc3339_us(int64_t epoch_us, char out[TIMEFMT_RFC3339_US_LEN])
{
    int64_t frac = ((epoch_us % 1000000) + 1000000) % 1000000; /* floor, also before 1970 */
    timefmt_rfc3339(epoch_us - frac, out);
    char *p = out + strlen(out) - 1; /* over the 'Z' */
    *p++ = '.';
    p = timefmt_put(p, frac, 6);
    *p++ = 'Z';
    *p = '\0';
}

void timefmt_date(int64_t epoch_us, char out[TIMEFMT_DATE_LEN])
{
    int64_t y;
    int mo, d, h, mi, s;
    timefmt_split(epoch_us, &y, &mo, &d, &h, &mi, &s);
    char *p = timefmt_put(out, y, 4);
    *p++ = '-';
    p = timefmt_put(p, mo, 2);
    *p++ = '-';
    p = timefmt_put(p, d, 2);
    *p = '\0';
}
