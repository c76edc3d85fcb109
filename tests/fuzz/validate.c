/* Fuzzes the field validators (validate.c) against independent oracles: the BSN elfproef, AGB
 * codes, dates and timestamps (against timegm), e-mail, UTF-8 (against jansson), UUIDs, regions
 * and request ids. */
#include "fuzz.h"

#include <jansson.h>
#include <time.h>

#include "pii.h"
#include "validate.h"

static int all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int elfproef_oracle(const char *s)
{
    if (!all_digits(s, 9))
        return 0;
    int sum = -(s[8] - '0');
    for (int i = 0; i < 8; i++)
        sum += (9 - i) * (s[i] - '0');
    return strcmp(s, "000000000") != 0 && sum % 11 == 0;
}

static void check_bsn(const char *s)
{
    int ok = val_elfproef(s);
    FUZZ_CHECK(ok == elfproef_oracle(s));
    if (!ok)
        return;
    FUZZ_CHECK(pii_scan(s, 9) == PII_BSN);
    /* The eleven test catches every single wrong digit. */
    char t[10];
    for (int i = 0; i < 9; i++) {
        memcpy(t, s, 10);
        for (char c = '0'; c <= '9'; c++) {
            if (c == s[i])
                continue;
            t[i] = c;
            FUZZ_CHECK(!val_elfproef(t));
        }
    }
}

static int64_t utc_seconds(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm);
}

static void check_date(const char *s)
{
    int y = -1, m = -1, d = -1;
    if (!val_date(s, &y, &m, &d)) {
        FUZZ_CHECK(y == -1 && m == -1 && d == -1);
        return;
    }
    char again[16];
    snprintf(again, sizeof again, "%04d-%02d-%02d", y, m, d);
    FUZZ_CHECK(strcmp(again, s) == 0 && y >= 1900 && y <= 2999);
    time_t t = (time_t)utc_seconds(y, m, d, 0, 0, 0);
    struct tm tm;
    FUZZ_CHECK(gmtime_r(&t, &tm) != NULL);
    FUZZ_CHECK(tm.tm_year == y - 1900 && tm.tm_mon == m - 1 && tm.tm_mday == d);
    char ts[32];
    snprintf(ts, sizeof ts, "%sT00:00:00Z", s);
    int64_t us;
    FUZZ_CHECK(val_timestamp(ts, &us) && us == (int64_t)t * 1000000);
}

static void check_timestamp(const char *s)
{
    int64_t us = 0;
    if (!val_timestamp(s, &us))
        return;
    int64_t us2 = 1;
    FUZZ_CHECK(val_timestamp(s, NULL) && val_timestamp(s, &us2) && us2 == us);
    int y, mo, d, h, mi, sec;
    FUZZ_CHECK(sscanf(s, "%4d-%2d-%2d%*c%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) == 6);
    char head[32];
    snprintf(head, sizeof head, "%04d-%02d-%02d%c%02d:%02d:%02d", y, mo, d, s[10], h, mi, sec);
    FUZZ_CHECK(strncmp(head, s, 19) == 0 && (s[10] == 'T' || s[10] == 't'));
    const char *p = s + 19;
    int64_t frac = 0;
    int used = 0;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (used < 6) {
                frac = frac * 10 + (*p - '0');
                used++;
            }
    for (; used < 6; used++)
        frac *= 10;
    int offset = 0;
    if (*p == '+' || *p == '-') {
        offset =
            ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
        if (*p == '-')
            offset = -offset;
        FUZZ_CHECK(p[6] == '\0');
    } else {
        FUZZ_CHECK((*p == 'Z' || *p == 'z') && p[1] == '\0');
    }
    int64_t want = (utc_seconds(y, mo, d, h, mi, sec) - offset) * 1000000 + frac;
    FUZZ_CHECK(us == want);
    /* and the calendar date in it is a real one */
    time_t t = (time_t)utc_seconds(y, mo, d, 0, 0, 0);
    struct tm tm;
    FUZZ_CHECK(gmtime_r(&t, &tm) != NULL && tm.tm_mday == d && tm.tm_mon == mo - 1);
}

static void check_email(const char *s)
{
    if (!val_email(s))
        return;
    size_t len = strlen(s);
    const char *at = strchr(s, '@');
    FUZZ_CHECK(at != NULL && at > s && strchr(at + 1, '@') == NULL);
    long chars = val_utf8_chars(s, len);
    FUZZ_CHECK(chars >= 3 && chars <= 254);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        FUZZ_CHECK(*p > ' ' && *p != 0x7f);
    const char *dom = at + 1;
    FUZZ_CHECK(dom[0] != '.' && s[len - 1] != '.' && strchr(dom, '.') != NULL);
    FUZZ_CHECK(strstr(dom, "..") == NULL);
}

static void check_utf8(const uint8_t *data, size_t size)
{
    long n = val_utf8_chars((const char *)data, size);
    json_t *j = json_stringn((const char *)data, size); /* jansson checks UTF-8 itself */
    FUZZ_CHECK((n >= 0) == (j != NULL));
    json_decref(j);
    if (n < 0)
        return;
    long starts = 0;
    for (size_t i = 0; i < size; i++)
        starts += (data[i] & 0xC0) != 0x80;
    FUZZ_CHECK(n == starts);
}

static void check_simple(const char *s)
{
    size_t len = strlen(s);
    FUZZ_CHECK(val_digits(s, VAL_AGB_DIGITS) == all_digits(s, VAL_AGB_DIGITS));
    FUZZ_CHECK(val_digits(s, VAL_BIG_DIGITS) == all_digits(s, VAL_BIG_DIGITS));

    int uuid = len == 36;
    for (size_t i = 0; uuid && i < 36; i++) {
        char c = s[i];
        int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        uuid = (i == 8 || i == 13 || i == 18 || i == 23) ? c == '-' : hex;
    }
    FUZZ_CHECK(val_uuid(s) == uuid);

    int region = len >= 2 && len <= 64, rid = len >= 1 && len <= 128;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        region = region && lower;
        rid = rid && (lower || (c >= 'A' && c <= 'Z') || c == '.' || c == '_');
    }
    FUZZ_CHECK(val_region(s) == region);
    FUZZ_CHECK(val_request_id(s) == rid);

    if (val_name(s)) {
        size_t a = 0, b = len;
        while (a < b && strchr(" \t\n\r", s[a]))
            a++;
        while (b > a && strchr(" \t\n\r", s[b - 1]))
            b--;
        long chars = val_utf8_chars(s + a, b - a);
        FUZZ_CHECK(chars >= 1 && chars <= 200);
        for (size_t i = a; i < b; i++)
            FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
    }
    if (val_pg_timestamp(s)) {
        char buf[40];
        FUZZ_CHECK(len >= 22 && len <= 32);
        memcpy(buf, s, len - 3);
        buf[10] = 'T';
        strcpy(buf + len - 3, "Z");
        FUZZ_CHECK(val_timestamp(buf, NULL));
    }
    long pw = val_utf8_chars(s, len);
    FUZZ_CHECK(val_password(s, len) == (pw >= 12 && pw <= 256));

    /* A list holds each of its words. */
    size_t w0 = strspn(s, " "), wl = strcspn(s + w0, " ");
    if (wl > 0 && wl < 64) {
        char word[64];
        memcpy(word, s + w0, wl);
        word[wl] = '\0';
        FUZZ_CHECK(val_in_list(s, word));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_str(data, size);
    check_bsn(s);
    check_date(s);
    check_timestamp(s);
    check_email(s);
    check_utf8(data, size);
    check_simple(s);
    free(s);
    return 0;
}
