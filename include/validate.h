/* validate - pure field checks. The predicates return 1 when valid and 0 when not; NULL
 * input is never valid. */
#ifndef OVERLEG_VALIDATE_H
#define OVERLEG_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#define VAL_AGB_DIGITS 8
#define VAL_BIG_DIGITS 11

/* 3-254 code points of valid UTF-8, exactly one '@', non-empty local part, domain with a dot
 * that is neither first nor last and no "..", no whitespace (ASCII or Unicode) or control chars. */
int val_email(const char *s);

/* Canonical 8-4-4-4-12 hex UUID, either case, any version. */
int val_uuid(const char *s);

/* [a-z0-9-]{2,64} */
int val_region(const char *s);

/* Exactly n ASCII digits (AGB code: VAL_AGB_DIGITS, BIG number: VAL_BIG_DIGITS). */
int val_digits(const char *s, size_t n);

/* Number of code points in s[0..len), or -1 when not valid UTF-8 (overlongs, surrogates,
 * code points above U+10FFFF and truncated sequences are invalid). NUL bytes count. */
long val_utf8_chars(const char *s, size_t len);

/* After trimming ASCII whitespace: 1-200 code points of valid UTF-8 without control
 * characters (U+0000-U+001F, U+007F-U+009F). */
int val_name(const char *s);

/* 12-256 code points of valid UTF-8; any characters. */
int val_password(const char *s, size_t len);

/* Dutch BSN eleven test: 9 digits, weights 9..2 and -1, sum % 11 == 0, not all zeros. */
int val_elfproef(const char *s);

/* Strict YYYY-MM-DD, a real calendar date, year 1900-2999. y, m, d may be NULL; they are
 * written only when the date is valid. */
int val_date(const char *s, int *y, int *m, int *d);

/* Strict RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), 't' and 'z'
 * accepted. Year 0001-9999, seconds 00-59 (leap second 60 is refused), offsets up to 23:59.
 * Fraction digits past the sixth are ignored (truncated). Writes UTC microseconds since
 * 1970-01-01 to *epoch_us (may be NULL) when valid. */
int val_timestamp(const char *s, int64_t *epoch_us);

/* PostgreSQL's text form of a UTC timestamptz, as keyset cursors carry it:
 * "2026-11-23 10:00:00.123456+00" (the fraction optional). */
int val_pg_timestamp(const char *s);

/* Whether `word` is one of the space-separated words of `list` ("*" matches any word); 0 when
 * `list` is NULL (e.g. the SQLSTATEs a caller of req_db_expect handles). */
int val_in_list(const char *list, const char *word);

/* 1-128 characters of [A-Za-z0-9._-]. */
int val_request_id(const char *s);

/* Index of s in the NULL-terminated list allowed, or -1 when absent. */
int val_enum(const char *s, const char *const *allowed);

#endif
