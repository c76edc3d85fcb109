/* pii - "anonymous means anonymous": spots text that looks like a direct identifier of a
 * patient (API.md §8). Pure: no state, and the value found is never copied or returned, so
 * callers cannot echo it by accident. */
#ifndef OVERLEG_PII_H
#define OVERLEG_PII_H

#include <stddef.h>

enum pii_kind { PII_NONE = 0, PII_BSN, PII_EMAIL, PII_PHONE, PII_POSTCODE, PII_DATE };

/* Scans UTF-8 text for what looks like a direct identifier; returns the first kind found
 * (in text order) or PII_NONE. NULL text is PII_NONE. Invalid UTF-8 and NUL bytes are scanned
 * like any other non-letter byte.
 *
 * The text is read as normalised: Unicode NFKC, then every decimal digit of any script as its
 * ASCII digit, every dash as '-' and every space as ' ' ("１１１２２２３３３", "١١١٢٢٢٣٣٣" and
 * "111‐222‐333" are BSNs as "111222333" and "111-222-333" are). The only allocation is that
 * working copy, for non-ASCII text only.
 *
 * Numbers are standalone when not glued to more digits, nor to a decimal part ("1,5", "3.25").
 * Spaces may be ' ', U+00A0 or U+202F.
 *   bsn       9 digits passing the elfproef, plain or grouped by separators
 *             ('.', '-', space; mixed too) into groups of 2-4 digits: 123456782, 1234.56.782,
 *             123 456 782, 111 222.333.
 *   email     local@domain.tld: local part of letters, digits and .!#$%&'*+/=?^_`{|}~- ,
 *             dot-separated labels, a top-level label of 2+ letters. Accented letters count.
 *   phone     0 + 9 digits (second digit not 0), as 0612345678 or an area code of 2-4 digits,
 *             optionally in parentheses, then groups of 2-8 digits split by '-' or space:
 *             06-12345678, 06 1234 5678, (020) 123 45 67, 0475-123456. Or +31 / 0031, an
 *             optional "(0)" or 0, and 9 digits grouped the same way: +31 6 12345678.
 *   postcode  4 digits (first not 0), optional space, 2 letters other than SA, SD, SS, at
 *             word boundaries. Lower or mixed case counts too, except two-letter words and
 *             units ("2019 en", "1500 mg") that follow years and doses in ordinary text.
 *   date      a valid calendar date, year 1900-2099: d-m-yyyy or yyyy-m-d with one repeated
 *             separator '-', '/' or '.' (1-2-1990, 01.02.1990, 1990-02-01), or a day, a Dutch
 *             or English month name or abbreviation and a year (3 maart 1990, 3 mrt. 1990).
 * Month-year ("03-2024", "maart 2024"), years, times, ages, doses, percentages and codes such
 * as "F32.1" or "PHQ-9" pass, and so do UUIDs (8-4-4-4-12 hex digits standing alone), whose
 * digit groups would otherwise read as phone numbers or dates. */
enum pii_kind pii_scan(const char *text, size_t len);

/* "bsn", "email", "phone", "postcode", "date"; "none" for PII_NONE, "unknown" otherwise. */
const char *pii_kind_name(enum pii_kind k);

#endif
