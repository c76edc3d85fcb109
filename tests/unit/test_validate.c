/* Unit tests for validate (pure field checks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "validate.h"

int test_validate_run(void);

#define US INT64_C(1000000)

/* Fills buf with n copies of c and terminates it. */
static char *rep(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

static void test_email(void **state)
{
    (void)state;
    assert_int_equal(val_email("a@b.nl"), 1);
    assert_int_equal(val_email("jan.jansen+overleg@huisarts-noord.example.nl"), 1);
    assert_int_equal(val_email("Jan@Example.NL"), 1);
    assert_int_equal(val_email("ren\xc3\xa9@caf\xc3\xa9.nl"), 1); /* UTF-8 is fine */

    assert_int_equal(val_email(NULL), 0);
    assert_int_equal(val_email(""), 0);
    assert_int_equal(val_email("a@"), 0);
    assert_int_equal(val_email("@b.nl"), 0);
    assert_int_equal(val_email("a.b.nl"), 0);
    assert_int_equal(val_email("a@b@c.nl"), 0);
    assert_int_equal(val_email("a@bnl"), 0);   /* no dot in the domain */
    assert_int_equal(val_email("a@.b.nl"), 0); /* dot first */
    assert_int_equal(val_email("a@b.nl."), 0); /* dot last */
    assert_int_equal(val_email("a@."), 0);
    assert_int_equal(val_email("a@b..nl"), 0);
    assert_int_equal(val_email("a b@c.nl"), 0);
    assert_int_equal(val_email(" a@b.nl"), 0);
    assert_int_equal(val_email("a@b.nl "), 0);
    assert_int_equal(val_email("a\t@b.nl"), 0);
    assert_int_equal(val_email("a@b.nl\n"), 0);
    assert_int_equal(val_email("a\x7f@b.nl"), 0);
    assert_int_equal(val_email("a\xc2\xa0@b.nl"), 0);     /* no-break space */
    assert_int_equal(val_email("a\xe2\x80\x8b@b.nl"), 0); /* zero-width space */
    assert_int_equal(val_email("a\xc2\x85@b.nl"), 0);     /* C1 control */
    assert_int_equal(val_email("a\xff@b.nl"), 0);         /* invalid UTF-8 */
    assert_int_equal(val_email("a\xc0\xa0@b.nl"), 0);     /* overlong */
}

static void test_email_length(void **state)
{
    (void)state;
    char buf[600];
    rep(buf, 'a', 249);
    memcpy(buf + 249, "@b.nl", 6); /* 254 */
    assert_int_equal(val_email(buf), 1);
    rep(buf, 'a', 250);
    memcpy(buf + 250, "@b.nl", 6); /* 255 */
    assert_int_equal(val_email(buf), 0);
    /* Counted in code points: 249 two-byte characters + "@b.nl" = 254 characters, 503 bytes. */
    size_t o = 0;
    for (int i = 0; i < 249; i++) {
        buf[o++] = '\xc3';
        buf[o++] = '\xa9';
    }
    memcpy(buf + o, "@b.nl", 6);
    assert_int_equal(val_email(buf), 1);
    memcpy(buf + o, "\xc3\xa9@b.nl", 8); /* 255 characters */
    assert_int_equal(val_email(buf), 0);
    /* The shortest address the other rules allow. */
    assert_int_equal(val_email("a@b.c"), 1);
    assert_int_equal(val_email("@.."), 0);
}

static void test_uuid(void **state)
{
    (void)state;
    assert_int_equal(val_uuid("123e4567-e89b-12d3-a456-426614174000"), 1);
    assert_int_equal(val_uuid("123E4567-E89B-12D3-A456-426614174000"), 1);
    assert_int_equal(val_uuid("00000000-0000-0000-0000-000000000000"), 1);
    assert_int_equal(val_uuid("ffffffff-FFFF-ffff-FFFF-ffffffffffff"), 1);

    assert_int_equal(val_uuid(NULL), 0);
    assert_int_equal(val_uuid(""), 0);
    assert_int_equal(val_uuid("123e4567-e89b-12d3-a456-42661417400"), 0);
    assert_int_equal(val_uuid("123e4567-e89b-12d3-a456-4266141740000"), 0);
    assert_int_equal(val_uuid("123e4567e89b12d3a456426614174000"), 0);
    assert_int_equal(val_uuid("{123e4567-e89b-12d3-a456-426614174000}"), 0);
    assert_int_equal(val_uuid("123e4567-e89b-12d3-a456_426614174000"), 0);
    assert_int_equal(val_uuid("123e4567-e89b-12d3-a4560426614174000-"), 0);
    assert_int_equal(val_uuid("g23e4567-e89b-12d3-a456-426614174000"), 0);
    assert_int_equal(val_uuid(" 123e4567-e89b-12d3-a456-42661417400"), 0);
    assert_int_equal(val_uuid("123e4567-e89b-12d3-a456-426614174000 "), 0);
    assert_int_equal(val_uuid("123e4567"), 0);
}

static void test_region(void **state)
{
    (void)state;
    char buf[80];
    assert_int_equal(val_region("utrecht"), 1);
    assert_int_equal(val_region("noord-holland-2"), 1);
    assert_int_equal(val_region("ab"), 1);
    assert_int_equal(val_region("--"), 1);
    assert_int_equal(val_region(rep(buf, 'a', 64)), 1);
    assert_int_equal(val_region(rep(buf, 'a', 65)), 0);
    assert_int_equal(val_region("a"), 0);
    assert_int_equal(val_region(""), 0);
    assert_int_equal(val_region(NULL), 0);
    assert_int_equal(val_region("Utrecht"), 0);
    assert_int_equal(val_region("noord holland"), 0);
    assert_int_equal(val_region("noord_holland"), 0);
    assert_int_equal(val_region("frysl\xc3\xa2n"), 0);
}

static void test_digits(void **state)
{
    (void)state;
    assert_int_equal(val_digits("01234567", VAL_AGB_DIGITS), 1);
    assert_int_equal(val_digits("12345678901", VAL_BIG_DIGITS), 1);
    assert_int_equal(val_digits("1234567", VAL_AGB_DIGITS), 0);
    assert_int_equal(val_digits("123456789", VAL_AGB_DIGITS), 0);
    assert_int_equal(val_digits("1234567a", VAL_AGB_DIGITS), 0);
    assert_int_equal(val_digits("1234 678", VAL_AGB_DIGITS), 0);
    assert_int_equal(val_digits("-1234567", VAL_AGB_DIGITS), 0);
    assert_int_equal(val_digits("\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4", VAL_AGB_DIGITS), 0);
    assert_int_equal(val_digits("1234567890", VAL_BIG_DIGITS), 0);
    assert_int_equal(val_digits(NULL, VAL_AGB_DIGITS), 0);
    assert_int_equal(val_digits("", 0), 1);
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_int_equal(val_utf8_chars("", 0), 0);
    assert_int_equal(val_utf8_chars("abc", 3), 3);
    assert_int_equal(val_utf8_chars("caf\xc3\xa9", 5), 4);
    assert_int_equal(val_utf8_chars("\xc2\x80", 2), 1);         /* U+0080, smallest 2-byte */
    assert_int_equal(val_utf8_chars("\xdf\xbf", 2), 1);         /* U+07FF */
    assert_int_equal(val_utf8_chars("\xe0\xa0\x80", 3), 1);     /* U+0800 */
    assert_int_equal(val_utf8_chars("\xed\x9f\xbf", 3), 1);     /* U+D7FF */
    assert_int_equal(val_utf8_chars("\xee\x80\x80", 3), 1);     /* U+E000 */
    assert_int_equal(val_utf8_chars("\xef\xbf\xbf", 3), 1);     /* U+FFFF */
    assert_int_equal(val_utf8_chars("\xf0\x90\x80\x80", 4), 1); /* U+10000 */
    assert_int_equal(val_utf8_chars("\xf0\x9f\x98\x80", 4), 1); /* emoji */
    assert_int_equal(val_utf8_chars("\xf4\x8f\xbf\xbf", 4), 1); /* U+10FFFF */
    assert_int_equal(val_utf8_chars("a\0b", 3), 3);             /* NUL is a code point */
    assert_int_equal(val_utf8_chars("caf\xc3\xa9", 3), 3);      /* len bounds the scan */
}

static void test_utf8_invalid(void **state)
{
    (void)state;
    assert_int_equal(val_utf8_chars("\xc0\x80", 2), -1);                 /* overlong NUL */
    assert_int_equal(val_utf8_chars("\xc1\xbf", 2), -1);                 /* overlong */
    assert_int_equal(val_utf8_chars("\xe0\x80\x80", 3), -1);             /* overlong 3-byte */
    assert_int_equal(val_utf8_chars("\xe0\x9f\xbf", 3), -1);             /* overlong U+07FF */
    assert_int_equal(val_utf8_chars("\xf0\x80\x80\x80", 4), -1);         /* overlong 4-byte */
    assert_int_equal(val_utf8_chars("\xf0\x8f\xbf\xbf", 4), -1);         /* overlong U+FFFF */
    assert_int_equal(val_utf8_chars("\xed\xa0\x80", 3), -1);             /* surrogate U+D800 */
    assert_int_equal(val_utf8_chars("\xed\xbf\xbf", 3), -1);             /* surrogate U+DFFF */
    assert_int_equal(val_utf8_chars("\xed\xa0\xbd\xed\xb8\x80", 6), -1); /* CESU pair */
    assert_int_equal(val_utf8_chars("\xf4\x90\x80\x80", 4), -1);         /* U+110000 */
    assert_int_equal(val_utf8_chars("\xf5\x80\x80\x80", 4), -1);
    assert_int_equal(val_utf8_chars("\xf8\x88\x80\x80\x80", 5), -1); /* 5-byte form */
    assert_int_equal(val_utf8_chars("\xff", 1), -1);
    assert_int_equal(val_utf8_chars("\xfe", 1), -1);
    assert_int_equal(val_utf8_chars("\x80", 1), -1); /* lone continuation */
    assert_int_equal(val_utf8_chars("a\xbf", 2), -1);
    assert_int_equal(val_utf8_chars("\xc3", 1), -1);        /* truncated */
    assert_int_equal(val_utf8_chars("caf\xc3\xa9", 4), -1); /* truncated by len */
    assert_int_equal(val_utf8_chars("\xe2\x82", 2), -1);
    assert_int_equal(val_utf8_chars("\xf0\x9f\x98", 3), -1);
    assert_int_equal(val_utf8_chars("\xc3\x28", 2), -1); /* bad continuation */
    assert_int_equal(val_utf8_chars("\xe2\x28\xa1", 3), -1);
    assert_int_equal(val_utf8_chars("\xe2\x82\x28", 3), -1);
    assert_int_equal(val_utf8_chars("\xf0\x9f\x98\x28", 4), -1);
    assert_int_equal(val_utf8_chars(NULL, 1), -1);
}

static void test_name(void **state)
{
    (void)state;
    char buf[1000];
    assert_int_equal(val_name("Huisartsenpraktijk De Linde"), 1);
    assert_int_equal(val_name("  Jan  "), 1);
    assert_int_equal(val_name("\t\nA\r\n"), 1);
    assert_int_equal(val_name("Jos\xc3\xa9 \xc3\x96zt\xc3\xbcrk"), 1);
    assert_int_equal(val_name("x"), 1);
    assert_int_equal(val_name(rep(buf, 'n', 200)), 1);
    assert_int_equal(val_name(rep(buf, 'n', 201)), 0);
    memset(buf, ' ', 10);
    rep(buf + 10, 'n', 200);
    strcat(buf, "     ");
    assert_int_equal(val_name(buf), 1); /* length counts after trimming */
    size_t o = 0;
    for (int i = 0; i < 200; i++) { /* 200 code points, 400 bytes */
        buf[o++] = '\xc3';
        buf[o++] = '\xab';
    }
    buf[o] = '\0';
    assert_int_equal(val_name(buf), 1);
    strcpy(buf + o, "\xc3\xab");
    assert_int_equal(val_name(buf), 0);

    assert_int_equal(val_name(NULL), 0);
    assert_int_equal(val_name(""), 0);
    assert_int_equal(val_name("   "), 0);
    assert_int_equal(val_name(" \t\r\n\v\f"), 0);
    assert_int_equal(val_name("a\tb"), 0);
    assert_int_equal(val_name("a\nb"), 0);
    assert_int_equal(val_name("a\x1f"), 0);
    assert_int_equal(val_name("a\x7f"), 0);
    assert_int_equal(val_name("a\xc2\x9f"), 0); /* C1 control */
    assert_int_equal(val_name("a\xc0\x80"), 0);
    assert_int_equal(val_name("a\xed\xa0\x80"), 0);
    assert_int_equal(val_name("a\xff"), 0);
}

static void test_password(void **state)
{
    (void)state;
    char buf[2000];
    assert_int_equal(val_password("correct horse", 13), 1);
    assert_int_equal(val_password(rep(buf, 'p', 12), 12), 1);
    assert_int_equal(val_password(rep(buf, 'p', 11), 11), 0);
    assert_int_equal(val_password(rep(buf, 'p', 256), 256), 1);
    assert_int_equal(val_password(rep(buf, 'p', 257), 257), 0);
    size_t o = 0;
    for (int i = 0; i < 256; i++) { /* 256 four-byte code points */
        memcpy(buf + o, "\xf0\x9f\x94\x91", 4);
        o += 4;
    }
    assert_int_equal(val_password(buf, o), 1);
    memcpy(buf + o, "x", 1);
    assert_int_equal(val_password(buf, o + 1), 0);
    /* 11 code points but 22 bytes: too short. */
    assert_int_equal(val_password("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
                                  22),
                     0);
    assert_int_equal(val_password("      spaces      ", 18), 1); /* any characters */
    assert_int_equal(val_password("abcdefghijk\xff", 12), 0);
    assert_int_equal(val_password("abcdefghijk\xed\xa0\x80", 14), 0);
    assert_int_equal(val_password(NULL, 12), 0);
}

static void test_elfproef(void **state)
{
    (void)state;
    assert_int_equal(val_elfproef("123456782"), 1);
    assert_int_equal(val_elfproef("111222333"), 1);
    assert_int_equal(val_elfproef("999999990"), 1); /* 396 = 36 * 11 */
    assert_int_equal(val_elfproef("123456789"), 0);
    assert_int_equal(val_elfproef("111222334"), 0);
    assert_int_equal(val_elfproef("000000000"), 0); /* sum 0 but not a number */
    assert_int_equal(val_elfproef("12345678"), 0);
    assert_int_equal(val_elfproef("1234567820"), 0);
    assert_int_equal(val_elfproef("12345678a"), 0);
    assert_int_equal(val_elfproef(" 23456782"), 0);
    assert_int_equal(val_elfproef(""), 0);
    assert_int_equal(val_elfproef(NULL), 0);
    /* Every single-digit change of a valid number breaks it. */
    char s[10] = "123456782";
    for (int i = 0; i < 9; i++) {
        char orig = s[i];
        for (char c = '0'; c <= '9'; c++) {
            if (c == orig)
                continue;
            s[i] = c;
            if (val_elfproef(s))
                fail_msg("%s passed", s);
        }
        s[i] = orig;
    }
}

static void test_date(void **state)
{
    (void)state;
    int y = 0, m = 0, d = 0;
    assert_int_equal(val_date("2026-11-23", &y, &m, &d), 1);
    assert_int_equal(y, 2026);
    assert_int_equal(m, 11);
    assert_int_equal(d, 23);
    assert_int_equal(val_date("2024-02-29", NULL, NULL, NULL), 1);
    assert_int_equal(val_date("2000-02-29", NULL, NULL, NULL), 1); /* divisible by 400 */
    assert_int_equal(val_date("1900-02-29", NULL, NULL, NULL), 0); /* divisible by 100 */
    assert_int_equal(val_date("2100-02-29", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("2023-02-29", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("2023-02-28", NULL, NULL, NULL), 1);
    assert_int_equal(val_date("2023-04-31", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("2023-04-30", NULL, NULL, NULL), 1);
    assert_int_equal(val_date("2023-12-31", NULL, NULL, NULL), 1);
    assert_int_equal(val_date("2023-12-32", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("2023-13-01", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("2023-00-01", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("2023-01-00", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("1900-01-01", NULL, NULL, NULL), 1);
    assert_int_equal(val_date("1899-12-31", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("2999-12-31", NULL, NULL, NULL), 1);
    assert_int_equal(val_date("3000-01-01", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("2023-1-01", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("2023-01-1", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("23-01-01", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("2023/01/01", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("2023-01-01 ", NULL, NULL, NULL), 0);
    assert_int_equal(val_date(" 2023-01-01", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("2023-01-01T00:00:00Z", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("+202-01-01", NULL, NULL, NULL), 0);
    assert_int_equal(val_date("", NULL, NULL, NULL), 0);
    assert_int_equal(val_date(NULL, NULL, NULL, NULL), 0);
    y = m = d = -5;
    assert_int_equal(val_date("2023-02-30", &y, &m, &d), 0);
    assert_int_equal(y, -5); /* outputs untouched on failure */
}

static void test_timestamp_valid(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_int_equal(val_timestamp("1970-01-01T00:00:00Z", &t), 1);
    assert_int_equal(t, 0);
    assert_int_equal(val_timestamp("2026-11-23T10:00:00Z", &t), 1);
    assert_int_equal(t, INT64_C(1795428000) * US);
    assert_int_equal(val_timestamp("2026-11-23t10:00:00z", &t), 1);
    assert_int_equal(t, INT64_C(1795428000) * US);
    assert_int_equal(val_timestamp("2026-11-23T11:00:00+01:00", &t), 1);
    assert_int_equal(t, INT64_C(1795428000) * US);
    assert_int_equal(val_timestamp("2026-11-23T05:30:00-04:30", &t), 1);
    assert_int_equal(t, INT64_C(1795428000) * US);
    assert_int_equal(val_timestamp("2026-11-23T10:00:00-00:00", &t), 1);
    assert_int_equal(t, INT64_C(1795428000) * US);
    assert_int_equal(val_timestamp("2026-11-23T10:00:00+00:00", &t), 1);
    assert_int_equal(t, INT64_C(1795428000) * US);
    assert_int_equal(val_timestamp("1969-12-31T23:59:59Z", &t), 1);
    assert_int_equal(t, -US);
    assert_int_equal(val_timestamp("0001-01-01T00:00:00Z", &t), 1);
    assert_int_equal(t, INT64_C(-62135596800) * US);
    assert_int_equal(val_timestamp("9999-12-31T23:59:59Z", &t), 1);
    assert_int_equal(t, INT64_C(253402300799) * US);
    assert_int_equal(val_timestamp("2024-02-29T23:30:00Z", NULL), 1);
}

static void test_timestamp_offsets_cross_midnight(void **state)
{
    (void)state;
    int64_t t = 0;
    /* 2024-03-01 00:30 in +01:00 is still leap day 2024-02-29 in UTC. */
    assert_int_equal(val_timestamp("2024-03-01T00:30:00+01:00", &t), 1);
    assert_int_equal(t, INT64_C(1709249400) * US);
    /* 2024-02-29 19:30 in -04:00 is 23:30 UTC the same day. */
    assert_int_equal(val_timestamp("2024-02-29T19:30:00-04:00", &t), 1);
    assert_int_equal(t, INT64_C(1709249400) * US);
    /* New Year's Eve in -05:00 is New Year in UTC, crossing the year. */
    int64_t u = 0;
    assert_int_equal(val_timestamp("2025-12-31T22:00:00-05:00", &t), 1);
    assert_int_equal(val_timestamp("2026-01-01T03:00:00Z", &u), 1);
    assert_int_equal(t, u);
    /* 00:00 at +14:00 is the previous day in UTC. */
    assert_int_equal(val_timestamp("2026-01-01T00:00:00+14:00", &t), 1);
    assert_int_equal(val_timestamp("2025-12-31T10:00:00Z", &u), 1);
    assert_int_equal(t, u);
    /* Extreme offsets. */
    assert_int_equal(val_timestamp("2026-06-15T00:00:00+23:59", &t), 1);
    assert_int_equal(val_timestamp("2026-06-14T00:01:00Z", &u), 1);
    assert_int_equal(t, u);
    assert_int_equal(val_timestamp("1970-01-01T00:00:00-23:59", &t), 1);
    assert_int_equal(t, INT64_C(86340) * US);
}

static void test_timestamp_fraction(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_int_equal(val_timestamp("1970-01-01T00:00:00.5Z", &t), 1);
    assert_int_equal(t, 500000);
    assert_int_equal(val_timestamp("1970-01-01T00:00:00.000001Z", &t), 1);
    assert_int_equal(t, 1);
    assert_int_equal(val_timestamp("1970-01-01T00:00:00.123456Z", &t), 1);
    assert_int_equal(t, 123456);
    assert_int_equal(val_timestamp("1970-01-01T00:00:00.1234569999Z", &t), 1);
    assert_int_equal(t, 123456); /* truncated, not rounded */
    assert_int_equal(val_timestamp("1970-01-01T00:00:00.000Z", &t), 1);
    assert_int_equal(t, 0);
    assert_int_equal(val_timestamp("1969-12-31T23:59:59.999999Z", &t), 1);
    assert_int_equal(t, -1);
    assert_int_equal(val_timestamp("1970-01-01T01:00:00.25+01:00", &t), 1);
    assert_int_equal(t, 250000);
    assert_int_equal(val_timestamp("1970-01-01T00:00:00.Z", &t), 0);
    assert_int_equal(val_timestamp("1970-01-01T00:00:00,5Z", &t), 0);
    assert_int_equal(val_timestamp("1970-01-01T00:00:00.5", &t), 0);
    assert_int_equal(val_timestamp("1970-01-01T00:00:00.5.5Z", &t), 0);
}

static void test_timestamp_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2026-11-23",
        "2026-11-23T10:00:00",      /* no zone */
        "2026-11-23 10:00:00Z",     /* space instead of T */
        "2026-11-23T10:00Z",        /* no seconds */
        "2026-11-23T10:00:00+0100", /* offset without colon */
        "2026-11-23T10:00:00+01",   /* short offset */
        "2026-11-23T10:00:00+1:00",
        "2026-11-23T10:00:00+24:00",
        "2026-11-23T10:00:00+01:60",
        "2026-11-23T24:00:00Z",
        "2026-11-23T23:60:00Z",
        "2026-11-23T23:59:60Z", /* leap seconds are refused */
        "2026-02-29T10:00:00Z", /* not a leap year */
        "2026-13-01T10:00:00Z",
        "2026-11-31T10:00:00Z",
        "0000-01-01T00:00:00Z", /* year 0 is out of range */
        "26-11-23T10:00:00Z",
        "2026-11-23T10:00:00ZZ",
        "2026-11-23T10:00:00Z ",
        " 2026-11-23T10:00:00Z",
        "2026-11-23T1:00:00Z",
        "2026-11-23T10:00:00UTC",
        "+2026-11-23T10:00:00Z",
        "2026-11-23X10:00:00Z",
        "2026-11-23T10-00-00Z",
        "2026-11-23T10:00:00+01:00Z",
        "2026-11-23T10:00:00\xef\xbc\x9a",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t = 42;
        if (val_timestamp(bad[i], &t) != 0)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(t, 42); /* untouched on failure */
    }
    assert_int_equal(val_timestamp(NULL, NULL), 0);
}

static void test_request_id(void **state)
{
    (void)state;
    char buf[200];
    assert_int_equal(val_request_id("a"), 1);
    assert_int_equal(val_request_id("req-123_abc.DEF"), 1);
    assert_int_equal(val_request_id("123e4567-e89b-12d3-a456-426614174000"), 1);
    assert_int_equal(val_request_id(rep(buf, 'x', 128)), 1);
    assert_int_equal(val_request_id(rep(buf, 'x', 129)), 0);
    assert_int_equal(val_request_id(""), 0);
    assert_int_equal(val_request_id(NULL), 0);
    assert_int_equal(val_request_id("a b"), 0);
    assert_int_equal(val_request_id("a\r\nX-Injected: 1"), 0);
    assert_int_equal(val_request_id("a/b"), 0);
    assert_int_equal(val_request_id("a:b"), 0);
    assert_int_equal(val_request_id("\xc3\xa9"), 0);
}

static void test_enum(void **state)
{
    (void)state;
    static const char *const kinds[] = {"general_practice",
                                        "mental_health_provider",
                                        "municipality",
                                        "insurer",
                                        "social_team",
                                        "other",
                                        NULL};
    static const char *const empty[] = {NULL};
    assert_int_equal(val_enum("general_practice", kinds), 0);
    assert_int_equal(val_enum("insurer", kinds), 3);
    assert_int_equal(val_enum("other", kinds), 5);
    assert_int_equal(val_enum("Other", kinds), -1);
    assert_int_equal(val_enum("othe", kinds), -1);
    assert_int_equal(val_enum("others", kinds), -1);
    assert_int_equal(val_enum("", kinds), -1);
    assert_int_equal(val_enum(NULL, kinds), -1);
    assert_int_equal(val_enum("other", empty), -1);
    assert_int_equal(val_enum("other", NULL), -1);
}

static void test_pg_timestamp(void **state)
{
    (void)state;
    assert_int_equal(val_pg_timestamp("2026-11-23 10:00:00.123456+00"), 1);
    assert_int_equal(val_pg_timestamp("2026-11-23 10:00:00+00"), 1);
    assert_int_equal(val_pg_timestamp("2026-11-23 10:00:00.1+00"), 1);
    assert_int_equal(val_pg_timestamp("2026-11-23T10:00:00+00"), 0);        /* not PostgreSQL's */
    assert_int_equal(val_pg_timestamp("2026-11-23 10:00:00.123456+01"), 0); /* not UTC */
    assert_int_equal(val_pg_timestamp("2026-11-23 10:00:00Z"), 0);
    assert_int_equal(val_pg_timestamp("2026-02-30 10:00:00+00"), 0);
    assert_int_equal(val_pg_timestamp("2026-11-23 24:00:00+00"), 0);
    assert_int_equal(val_pg_timestamp("2026-11-23 10:00:00.1234567890123+00"), 0); /* too long */
    assert_int_equal(val_pg_timestamp(""), 0);
    assert_int_equal(val_pg_timestamp(NULL), 0);
}

static void test_in_list(void **state)
{
    (void)state;
    assert_int_equal(val_in_list("23505", "23505"), 1);
    assert_int_equal(val_in_list("22P02 23505", "23505"), 1);
    assert_int_equal(val_in_list(" 23505  22P02 ", "22P02"), 1);
    assert_int_equal(val_in_list("*", "40001"), 1);
    assert_int_equal(val_in_list("23505", "2350"), 0);
    assert_int_equal(val_in_list("2350", "23505"), 0);
    assert_int_equal(val_in_list("235051", "23505"), 0);
    assert_int_equal(val_in_list("", "23505"), 0);
    assert_int_equal(val_in_list(NULL, "23505"), 0);
    assert_int_equal(val_in_list("**", "23505"), 0);
}

int test_validate_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_email_length),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_region),
        cmocka_unit_test(test_digits),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_name),
        cmocka_unit_test(test_password),
        cmocka_unit_test(test_elfproef),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_timestamp_valid),
        cmocka_unit_test(test_timestamp_offsets_cross_midnight),
        cmocka_unit_test(test_timestamp_fraction),
        cmocka_unit_test(test_timestamp_invalid),
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_enum),
        cmocka_unit_test(test_pg_timestamp),
        cmocka_unit_test(test_in_list),
    };
    return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
