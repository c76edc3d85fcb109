/* validate - pure field checks. */
#include "validate.h"

#include <string.h>

#include "timefmt.h"

/* Decodes one UTF-8 sequence from s[0..len). Returns its length in bytes and the code point
 * in *cp, or -1 for overlongs, surrogates, values above U+10FFFF and truncated sequences. */
static int val_utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int n;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong below U+0800 */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates U+D800-U+DFFF */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong below U+10000 */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return -1; /* stray continuation byte, C0/C1 overlong lead, or F5-FF */
    }
    if (len < (size_t)n || s[1] < lo || s[1] > hi)
        return -1;
    uint32_t v = c & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return n;
}

long val_utf8_chars(const char *s, size_t len)
{
    if (s == NULL)
        return len == 0 ? 0 : -1;
    const unsigned char *p = (const unsigned char *)s;
    long count = 0;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        int n = val_utf8_next(p + i, len - i, &cp);
        if (n < 0)
            return -1;
        i += (size_t)n;
        count++;
    }
    return count;
}

static int val_is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* Unicode White_Space plus the zero-width characters that make look-alike addresses. */
static int val_is_unicode_space(uint32_t cp)
{
    return cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

/* The characters names are trimmed of, here and in SQL (btrim in organisations.c, users.c). */
static int val_is_ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int val_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int val_is_hex(char c)
{
    return val_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int val_email(const char *s)
{
    if (s == NULL)
        return 0;
    size_t len = strlen(s);
    /* Cheap bound before decoding: 254 code points never take more than 4 bytes each. */
    if (len < 3 || len > 254 * 4)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t at = 0, ats = 0, i = 0;
    long chars = 0;
    while (i < len) {
        uint32_t cp;
        int n = val_utf8_next(p + i, len - i, &cp);
        if (n < 0 || cp == ' ' || val_is_control(cp) || val_is_unicode_space(cp))
            return 0;
        if (cp == '@') {
            ats++;
            at = i;
        }
        i += (size_t)n;
        chars++;
    }
    if (chars < 3 || chars > 254 || ats != 1 || at == 0)
        return 0;
    const char *dom = s + at + 1;
    size_t dlen = len - at - 1;
    if (dlen == 0 || dom[0] == '.' || dom[dlen - 1] == '.' || memchr(dom, '.', dlen) == NULL)
        return 0;
    if (strstr(dom, "..") != NULL)
        return 0;
    return 1;
}

int val_uuid(const char *s)
{
    if (s == NULL)
        return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!val_is_hex(s[i])) {
            return 0; /* also stops at the NUL of a short string */
        }
    }
    return s[36] == '\0';
}

int val_region(const char *s)
{
    if (s == NULL)
        return 0;
    size_t i = 0;
    for (; s[i] != '\0'; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || val_is_digit(c) || c == '-') || i >= 64)
            return 0;
    }
    return i >= 2;
}

int val_digits(const char *s, size_t n)
{
    if (s == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!val_is_digit(s[i]))
            return 0;
    }
    return s[n] == '\0';
}

int val_name(const char *s)
{
    if (s == NULL)
        return 0;
    size_t start = 0, end = strlen(s);
    while (start < end && val_is_ascii_space(s[start]))
        start++;
    while (end > start && val_is_ascii_space(s[end - 1]))
        end--;
    const unsigned char *p = (const unsigned char *)s;
    long chars = 0;
    for (size_t i = start; i < end;) {
        uint32_t cp;
        int n = val_utf8_next(p + i, end - i, &cp);
        if (n < 0 || val_is_control(cp))
            return 0;
        i += (size_t)n;
        if (++chars > 200)
            return 0;
    }
    return chars >= 1;
}

int val_password(const char *s, size_t len)
{
    if (s == NULL)
        return 0;
    long chars = val_utf8_chars(s, len);
    return chars >= 12 && chars <= 256;
}

int val_elfproef(const char *s)
{
    if (!val_digits(s, 9))
        return 0;
    int sum = 0, nonzero = 0;
    for (int i = 0; i < 9; i++) {
        int d = s[i] - '0';
        sum += (i < 8 ? 9 - i : -1) * d;
        nonzero |= d;
    }
    return nonzero && sum % 11 == 0;
}

/* Reads exactly n digits from s; fails on anything else, including an early NUL. */
static int val_read_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!val_is_digit(s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int val_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days[m - 1];
}

/* YYYY-MM-DD at the start of s, without looking at what follows. */
static int val_read_date(const char *s, int *y, int *m, int *d)
{
    if (!val_read_digits(s, 4, y) || s[4] != '-' || !val_read_digits(s + 5, 2, m) || s[7] != '-' ||
        !val_read_digits(s + 8, 2, d))
        return 0;
    return *m >= 1 && *m <= 12 && *d >= 1 && *d <= val_days_in_month(*y, *m);
}

int val_date(const char *s, int *y, int *m, int *d)
{
    if (s == NULL)
        return 0;
    int yy, mm, dd;
    if (!val_read_date(s, &yy, &mm, &dd) || s[10] != '\0' || yy < 1900 || yy > 2999)
        return 0;
    if (y != NULL)
        *y = yy;
    if (m != NULL)
        *m = mm;
    if (d != NULL)
        *d = dd;
    return 1;
}

int val_timestamp(const char *s, int64_t *epoch_us)
{
    if (s == NULL)
        return 0;
    int y, mo, d, h, mi, sec;
    if (!val_read_date(s, &y, &mo, &d) || y < 1 || (s[10] != 'T' && s[10] != 't') ||
        !val_read_digits(s + 11, 2, &h) || s[13] != ':' || !val_read_digits(s + 14, 2, &mi) ||
        s[16] != ':' || !val_read_digits(s + 17, 2, &sec))
        return 0;
    if (h > 23 || mi > 59 || sec > 59)
        return 0;

    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        if (!val_is_digit(*p))
            return 0;
        int used = 0;
        for (; val_is_digit(*p); p++) {
            if (used < 6) {
                frac = frac * 10 + (*p - '0');
                used++;
            }
        }
        for (; used < 6; used++)
            frac *= 10;
    }

    int offset = 0; /* seconds east of UTC */
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!val_read_digits(p + 1, 2, &oh) || p[3] != ':' || !val_read_digits(p + 4, 2, &om) ||
            oh > 23 || om > 59)
            return 0;
        offset = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return 0;
    }
    if (*p != '\0')
        return 0;

    if (epoch_us != NULL) {
        int64_t secs = timefmt_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
        *epoch_us = (secs - offset) * 1000000 + frac;
    }
    return 1;
}

int val_pg_timestamp(const char *s)
{
    char buf[48];
    size_t n = s ? strlen(s) : 0;
    if (n < 22 || n > 32 || s[10] != ' ' || strcmp(s + n - 3, "+00") != 0)
        return 0;
    memcpy(buf, s, n - 3);
    buf[10] = 'T';
    buf[n - 3] = 'Z';
    buf[n - 2] = 0;
    return val_timestamp(buf, NULL);
}

int val_in_list(const char *list, const char *word)
{
    size_t n = word ? strlen(word) : 0;
    for (const char *p = list; p && *p;) {
        p += strspn(p, " ");
        size_t len = strcspn(p, " ");
        if ((len == 1 && *p == '*') || (len && len == n && memcmp(p, word, n) == 0))
            return 1;
        p += len;
    }
    return 0;
}

int val_request_id(const char *s)
{
    if (s == NULL)
        return 0;
    size_t i = 0;
    for (; s[i] != '\0'; i++) {
        char c = s[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || val_is_digit(c) || c == '.' ||
                 c == '_' || c == '-';
        if (!ok || i >= 128)
            return 0;
    }
    return i >= 1;
}

int val_enum(const char *s, const char *const *allowed)
{
    if (s == NULL || allowed == NULL)
        return -1;
    for (int i = 0; allowed[i] != NULL; i++) {
        if (strcmp(s, allowed[i]) == 0)
            return i;
    }
    return -1;
}
