/* pii - direct-identifier detector for anonymous consultations. Every matcher looks only at the
 * bytes it is given and keeps digits in small stack buffers; the one working copy is the text
 * folded to ASCII digits, dashes and spaces (pii_fold), freed before pii_scan returns, so the
 * value found cannot leak into an error or a log. */
#include "pii.h"

#include <stdlib.h>
#include <string.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "validate.h"

static int pii_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int pii_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int pii_alnum(unsigned char c)
{
    return pii_digit(c) || pii_alpha(c);
}

static unsigned char pii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 'a' - 'A') : c;
}

/* Byte length of an accented Latin letter (U+00C0-U+024F except U+00D7 and U+00F7) at s[i], or
 * 0. Enough for Dutch text; other scripts count as punctuation, which only widens matches. */
static size_t pii_latin_at(const unsigned char *s, size_t len, size_t i)
{
    if (i + 1 >= len || s[i] < 0xC3 || s[i] > 0xC9 || (s[i + 1] & 0xC0) != 0x80)
        return 0;
    if (s[i] == 0xC3 && (s[i + 1] == 0x97 || s[i + 1] == 0xB7))
        return 0; /* multiplication and division signs */
    return 2;
}

/* Whether the character ending just before s[i] is a letter or digit (a word goes on). */
static int pii_word_before(const unsigned char *s, size_t i)
{
    if (i == 0)
        return 0;
    if (pii_alnum(s[i - 1]))
        return 1;
    return i >= 2 && pii_latin_at(s, i, i - 2) == 2;
}

static int pii_word_at(const unsigned char *s, size_t len, size_t i)
{
    return i < len && (pii_alnum(s[i]) || pii_latin_at(s, len, i) > 0);
}

/* Byte length of a space at s[i]: ' ', or the no-break spaces word processors put in numbers. */
static size_t pii_space_at(const unsigned char *s, size_t len, size_t i)
{
    if (i >= len)
        return 0;
    if (s[i] == ' ')
        return 1;
    if (i + 1 < len && s[i] == 0xC2 && s[i + 1] == 0xA0)
        return 2; /* U+00A0 */
    if (i + 2 < len && s[i] == 0xE2 && s[i + 1] == 0x80 && s[i + 2] == 0xAF)
        return 3; /* U+202F */
    return 0;
}

/* Byte length of a separator from seps at s[i] (' ' in seps admits every space), or 0. The
 * separator is stored in *which, spaces as ' ', so a caller can insist on one kind. */
static size_t pii_sep_at(const unsigned char *s, size_t len, size_t i, const char *seps,
                         unsigned char *which)
{
    size_t sp = pii_space_at(s, len, i);
    if (sp > 0) {
        if (strchr(seps, ' ') == NULL)
            return 0;
        *which = ' ';
        return sp;
    }
    if (i >= len || s[i] == '\0' || strchr(seps, s[i]) == NULL)
        return 0;
    *which = s[i];
    return 1;
}

static int pii_decimal_mark(unsigned char c)
{
    return c == '.' || c == ',';
}

/* A number may start at s[i] when it does not continue digits or a decimal fraction. Letters
 * before it are fine: "bsn:123456782" and "tel0612345678" are still identifiers. */
static int pii_num_start(const unsigned char *s, size_t i)
{
    if (i == 0)
        return 1;
    if (pii_digit(s[i - 1]))
        return 0;
    return !(pii_decimal_mark(s[i - 1]) && i >= 2 && pii_digit(s[i - 2]));
}

/* A number may end before s[j] under the same rule, so "123456782,5" is a measurement. */
static int pii_num_end(const unsigned char *s, size_t len, size_t j)
{
    if (j >= len)
        return 1;
    if (pii_digit(s[j]))
        return 0;
    return !(pii_decimal_mark(s[j]) && j + 1 < len && pii_digit(s[j + 1]));
}

/* Length of the digit run at s[i] when it has 1..max digits, else 0; its value in *v. */
static size_t pii_run(const unsigned char *s, size_t len, size_t i, size_t max, int *v)
{
    size_t n = 0;
    int val = 0;
    while (i + n < len && pii_digit(s[i + n])) {
        if (++n > max)
            return 0;
        val = val * 10 + (s[i + n - 1] - '0');
    }
    *v = val;
    return n;
}

/* How a grouped number may be split: the first group has first_min..first_max digits when a
 * separator follows it, later groups 2..rest_max, so "1 2 3 4 ..." is not one number. */
struct pii_grouping {
    size_t first_min, first_max, rest_max;
    const char *seps;
    int same_sep; /* every separator the same, as in "1234.56.782" */
};

/* Reads exactly want digits from s[i] split as g allows, copies them into out and returns the
 * end position; 0 when the digits run short, run on, or end inside a longer number. */
static size_t pii_grouped(const unsigned char *s, size_t len, size_t i, size_t want,
                          const struct pii_grouping *g, char *out)
{
    size_t n = 0, group = 0, groups = 0, j = i;
    unsigned char sep = 0;
    for (;;) {
        while (j < len && pii_digit(s[j]) && n < want) {
            out[n++] = (char)s[j++];
            group++;
        }
        if (n == want)
            break;
        size_t min = groups == 0 ? g->first_min : 2;
        size_t max = groups == 0 ? g->first_max : g->rest_max;
        if (group < min || group > max)
            return 0;
        unsigned char which = 0;
        size_t sl = pii_sep_at(s, len, j, g->seps, &which);
        if (sl == 0 || j + sl >= len || !pii_digit(s[j + sl]))
            return 0;
        if (g->same_sep && groups > 0 && which != sep)
            return 0;
        sep = which;
        j += sl;
        group = 0;
        groups++;
    }
    if (groups > 0 && (group < 2 || group > g->rest_max))
        return 0;
    if (!pii_num_end(s, len, j))
        return 0;
    return j;
}

static int pii_bsn_at(const unsigned char *s, size_t len, size_t i)
{
    /* Separators may differ ("111 222.333"): a BSN typed by hand is grouped as it comes. */
    static const struct pii_grouping g = {2, 4, 4, ".- ", 0};
    char digits[10];
    if (!pii_digit(s[i]) || !pii_num_start(s, i) || pii_grouped(s, len, i, 9, &g, digits) == 0)
        return 0;
    digits[9] = '\0';
    return val_elfproef(digits);
}

/* 0 + 9 digits: plain, or an area code of 2-4 digits (maybe in parentheses) and groups. */
static int pii_phone_national(const unsigned char *s, size_t len, size_t i)
{
    char digits[10];
    if (s[i] == '(') {
        int area;
        size_t k = i + 1, n = pii_run(s, len, k, 4, &area);
        if (n < 2 || s[k] != '0' || s[k + 1] == '0' || k + n >= len || s[k + n] != ')')
            return 0;
        static const struct pii_grouping rest = {2, 8, 8, "- ", 0};
        size_t j = k + n + 1;
        j += pii_space_at(s, len, j);
        return pii_grouped(s, len, j, 10 - n, &rest, digits) != 0;
    }
    static const struct pii_grouping g = {2, 4, 8, "- ", 0};
    if (s[i] != '0' || !pii_num_start(s, i) || i + 1 >= len || !pii_digit(s[i + 1]) ||
        s[i + 1] == '0')
        return 0;
    return pii_grouped(s, len, i, 10, &g, digits) != 0;
}

/* +31 or 0031, then an optional "(0)" or stray 0 that people keep, then 9 digits. */
static int pii_phone_intl(const unsigned char *s, size_t len, size_t i)
{
    size_t j;
    if (s[i] == '+' && i + 2 < len && s[i + 1] == '3' && s[i + 2] == '1')
        j = i + 3;
    else if (pii_num_start(s, i) && i + 3 < len && memcmp(s + i, "0031", 4) == 0)
        j = i + 4;
    else
        return 0;
    unsigned char which;
    j += pii_sep_at(s, len, j, "- ", &which);
    if (j + 2 < len && s[j] == '(' && s[j + 1] == '0' && s[j + 2] == ')') {
        j += 3;
        j += pii_sep_at(s, len, j, "- ", &which);
    } else if (j + 1 < len && s[j] == '0' && pii_digit(s[j + 1]) && s[j + 1] != '0') {
        j++;
    }
    if (j >= len || !pii_digit(s[j]) || s[j] == '0')
        return 0;
    static const struct pii_grouping g = {1, 3, 8, "- ", 0};
    char digits[9];
    return pii_grouped(s, len, j, 9, &g, digits) != 0;
}

static int pii_phone_at(const unsigned char *s, size_t len, size_t i)
{
    return pii_phone_intl(s, len, i) || pii_phone_national(s, len, i);
}

static int pii_valid_date(int y, int m, int d)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap);
}

/* d-m-yyyy or yyyy-m-d with one separator used twice. */
static int pii_date_numeric(const unsigned char *s, size_t len, size_t i)
{
    int a, b, c;
    size_t n1 = pii_run(s, len, i, 4, &a);
    if (n1 == 0 || n1 == 3)
        return 0;
    size_t j = i + n1;
    if (j >= len || (s[j] != '-' && s[j] != '/' && s[j] != '.'))
        return 0;
    unsigned char sep = s[j++];
    size_t n2 = pii_run(s, len, j, 2, &b);
    if (n2 == 0)
        return 0;
    j += n2;
    if (j >= len || s[j] != sep)
        return 0;
    j++;
    size_t n3 = pii_run(s, len, j, n1 == 4 ? 2 : 4, &c);
    if (n3 == 0 || (n1 != 4 && n3 != 4) || !pii_num_end(s, len, j + n3))
        return 0;
    return n1 == 4 ? pii_valid_date(a, b, c) : pii_valid_date(c, b, a);
}

struct pii_month {
    const char *name;
    int month;
};

/* Dutch and English names and their usual abbreviations. */
static const struct pii_month pii_months[] = {
    {"januari", 1},   {"january", 1},  {"jan", 1},       {"februari", 2},  {"february", 2},
    {"feb", 2},       {"maart", 3},    {"march", 3},     {"mrt", 3},       {"mar", 3},
    {"april", 4},     {"apr", 4},      {"mei", 5},       {"may", 5},       {"juni", 6},
    {"june", 6},      {"jun", 6},      {"juli", 7},      {"july", 7},      {"jul", 7},
    {"augustus", 8},  {"august", 8},   {"aug", 8},       {"september", 9}, {"sept", 9},
    {"sep", 9},       {"oktober", 10}, {"october", 10},  {"okt", 10},      {"oct", 10},
    {"november", 11}, {"nov", 11},     {"december", 12}, {"dec", 12},
};

/* Month number of the ASCII word s[0..n), case-insensitive, or 0. */
static int pii_month(const unsigned char *s, size_t n)
{
    for (size_t k = 0; k < sizeof pii_months / sizeof pii_months[0]; k++) {
        const char *name = pii_months[k].name;
        if (strlen(name) != n)
            continue;
        size_t c = 0;
        while (c < n && pii_lower(s[c]) == (unsigned char)name[c])
            c++;
        if (c == n)
            return pii_months[k].month;
    }
    return 0;
}

/* "3 maart 1990", "03 mrt. 1990", "3 March 1990". */
static int pii_date_words(const unsigned char *s, size_t len, size_t i)
{
    int d, y;
    size_t n = pii_run(s, len, i, 2, &d);
    if (n == 0)
        return 0;
    size_t j = i + n, sp = pii_space_at(s, len, j);
    if (sp == 0)
        return 0;
    j += sp;
    size_t w = 0;
    while (j + w < len && pii_alpha(s[j + w]))
        w++;
    int m = w > 0 ? pii_month(s + j, w) : 0;
    if (m == 0)
        return 0;
    j += w;
    if (j < len && s[j] == '.')
        j++;
    sp = pii_space_at(s, len, j);
    if (sp == 0)
        return 0;
    j += sp;
    n = pii_run(s, len, j, 4, &y);
    return n == 4 && pii_num_end(s, len, j + n) && pii_valid_date(y, m, d);
}

static int pii_date_at(const unsigned char *s, size_t len, size_t i)
{
    if (!pii_digit(s[i]) || !pii_num_start(s, i))
        return 0;
    return pii_date_numeric(s, len, i) || pii_date_words(s, len, i);
}

/* Two-letter words and units that follow a year or a dose in ordinary text ("in 2019 is",
 * "1500 mg"). Only consulted when the letters are not both upper case: "1234 AB" as written on
 * an envelope always counts. */
static const char pii_postcode_words[][3] = {
    "af", "al", "am", "an", "as", "at", "be", "by", "ca", "cc", "cm", "da", "de", "dl", "di", "do",
    "en", "er", "et", "ga", "gb", "ge", "gr", "ha", "he", "hz", "ie", "if", "ik", "in", "is", "it",
    "ja", "je", "jr", "kb", "kg", "km", "la", "ma", "mb", "me", "mg", "ml", "mm", "ms", "my", "na",
    "no", "nr", "nu", "of", "oh", "ok", "om", "on", "op", "or", "pa", "pm", "pp", "so", "st", "ta",
    "te", "to", "ug", "ui", "up", "us", "uw", "vr", "vs", "we", "wo", "za", "ze", "zo",
};

static int pii_postcode_at(const unsigned char *s, size_t len, size_t i)
{
    if (s[i] < '1' || s[i] > '9' || pii_word_before(s, i) || !pii_num_start(s, i))
        return 0;
    if (i + 4 > len || !pii_digit(s[i + 1]) || !pii_digit(s[i + 2]) || !pii_digit(s[i + 3]))
        return 0;
    size_t j = i + 4;
    j += pii_space_at(s, len, j);
    if (j + 2 > len || !pii_alpha(s[j]) || !pii_alpha(s[j + 1]) || pii_word_at(s, len, j + 2))
        return 0;
    char l[3] = {(char)pii_lower(s[j]), (char)pii_lower(s[j + 1]), '\0'};
    if (l[0] == 's' && (l[1] == 'a' || l[1] == 'd' || l[1] == 's'))
        return 0; /* never issued */
    if (s[j] <= 'Z' && s[j + 1] <= 'Z')
        return 1;
    for (size_t k = 0; k < sizeof pii_postcode_words / sizeof pii_postcode_words[0]; k++) {
        if (memcmp(l, pii_postcode_words[k], 2) == 0)
            return 0;
    }
    return 1;
}

/* Characters of an e-mail local part (RFC 5322 atext and the dot) or an accented letter. */
static size_t pii_local_at(const unsigned char *s, size_t len, size_t i)
{
    if (i >= len)
        return 0;
    if (pii_alnum(s[i]) || (s[i] != '\0' && strchr(".!#$%&'*+/=?^_`{|}~-", s[i]) != NULL))
        return 1;
    return pii_latin_at(s, len, i);
}

static size_t pii_label_at(const unsigned char *s, size_t len, size_t i)
{
    if (i < len && (pii_alnum(s[i]) || s[i] == '-'))
        return 1;
    return pii_latin_at(s, len, i);
}

/* local@domain.tld starting at s[i]; tried only where a local part begins, so the scan stays
 * linear. A sentence's closing dot is not part of the domain. */
static int pii_email_at(const unsigned char *s, size_t len, size_t i)
{
    if (pii_local_at(s, len, i) == 0)
        return 0;
    if (i > 0 && (pii_local_at(s, len, i - 1) > 0 || (i >= 2 && pii_latin_at(s, i, i - 2) > 0)))
        return 0;
    size_t j = i, k;
    while ((k = pii_local_at(s, len, j)) > 0)
        j += k;
    if (j >= len || s[j] != '@')
        return 0;
    j++;
    size_t labels = 0, last = 0;
    int last_letters = 0;
    for (;;) {
        size_t chars = 0;
        int letters = 1;
        while ((k = pii_label_at(s, len, j)) > 0) {
            if (k == 1 && !pii_alpha(s[j]))
                letters = 0;
            j += k;
            chars++;
        }
        if (chars == 0)
            break;
        labels++;
        last = chars;
        last_letters = letters;
        if (j < len && s[j] == '.' && pii_label_at(s, len, j + 1) > 0)
            j++;
        else
            break;
    }
    return labels >= 2 && last >= 2 && last_letters;
}

static int pii_hex(unsigned char c)
{
    return pii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Byte length of a UUID (8-4-4-4-12 hex digits) standing alone at s[i], or 0. An id copied into
 * a text is no identifier of a patient, but its digit groups look like a phone number
 * ("-0915-4825-") or a date to the matchers. */
static size_t pii_uuid_at(const unsigned char *s, size_t len, size_t i)
{
    static const size_t groups[] = {8, 4, 4, 4, 12};
    if (pii_word_before(s, i))
        return 0;
    size_t j = i;
    for (size_t g = 0; g < 5; g++) {
        if (g > 0) {
            if (j >= len || s[j] != '-')
                return 0;
            j++;
        }
        for (size_t k = 0; k < groups[g]; k++, j++)
            if (j >= len || !pii_hex(s[j]))
                return 0;
    }
    return pii_word_at(s, len, j) ? 0 : j - i;
}

/* The text as the matchers read it: Unicode NFKC (full-width digits and letters, ligatures and
 * compatibility spaces become their plain forms), then every other decimal digit (Arabic-Indic,
 * Devanagari, ...) as its ASCII digit, every dash as '-' and every space as ' '. Malloc'd;
 * NULL when the text is ASCII (nothing to fold) or not valid UTF-8 (scanned as it is). */
static unsigned char *pii_fold(const unsigned char *s, size_t len, size_t *outlen)
{
    size_t i = 0;
    while (i < len && s[i] < 0x80)
        i++;
    if (i == len || u8_check(s, len) != NULL)
        return NULL;
    size_t nlen = 0;
    uint8_t *n = u8_normalize(UNINORM_NFKC, s, len, NULL, &nlen);
    if (!n)
        return NULL;
    /* Folding only shortens: each character becomes one ASCII byte or stays as it is. */
    size_t o = 0;
    for (size_t j = 0; j < nlen;) {
        ucs4_t c;
        int cl = u8_mbtouc(&c, n + j, nlen - j);
        int d = c >= 0x80 ? uc_decimal_value(c) : -1;
        if (d >= 0)
            n[o++] = (uint8_t)('0' + d);
        else if (c >= 0x80 && uc_is_general_category(c, UC_DASH_PUNCTUATION))
            n[o++] = '-';
        else if (c >= 0x80 && uc_is_property_space(c))
            n[o++] = ' ';
        else {
            memmove(n + o, n + j, (size_t)cl);
            o += (size_t)cl;
        }
        j += (size_t)cl;
    }
    *outlen = o;
    return n;
}

static enum pii_kind pii_scan_folded(const unsigned char *s, size_t len);

enum pii_kind pii_scan(const char *text, size_t len)
{
    if (text == NULL)
        return PII_NONE;
    size_t flen = 0;
    unsigned char *folded = pii_fold((const unsigned char *)text, len, &flen);
    if (!folded)
        return pii_scan_folded((const unsigned char *)text, len);
    enum pii_kind k = pii_scan_folded(folded, flen);
    free(folded);
    return k;
}

static enum pii_kind pii_scan_folded(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        size_t uuid = pii_uuid_at(s, len, i);
        if (uuid > 0) {
            i += uuid - 1;
            continue;
        }
        if (pii_email_at(s, len, i))
            return PII_EMAIL;
        if (!pii_digit(s[i]) && s[i] != '+' && s[i] != '(')
            continue;
        /* A date's digits can also group like a phone number; the date is the better name. */
        if (pii_date_at(s, len, i))
            return PII_DATE;
        if (pii_phone_at(s, len, i))
            return PII_PHONE;
        if (pii_bsn_at(s, len, i))
            return PII_BSN;
        if (pii_postcode_at(s, len, i))
            return PII_POSTCODE;
    }
    return PII_NONE;
}

const char *pii_kind_name(enum pii_kind k)
{
    switch (k) {
    case PII_NONE:
        return "none";
    case PII_BSN:
        return "bsn";
    case PII_EMAIL:
        return "email";
    case PII_PHONE:
        return "phone";
    case PII_POSTCODE:
        return "postcode";
    case PII_DATE:
        return "date";
    }
    return "unknown";
}
