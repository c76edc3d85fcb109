/* Unit tests for pii (direct identifiers in anonymous text). Every value here is made up; the
 * BSNs are textbook numbers that pass the elfproef. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pii.h"

int test_pii_run(void);

/* Fails with the text and line, which plain assert_int_equal on an enum would not show. */
#define EXPECT(text, kind) expect_kind((text), (kind), __LINE__)

static void expect_kind(const char *text, enum pii_kind want, int line)
{
    enum pii_kind got = pii_scan(text, strlen(text));
    if (got != want) {
        print_error("line %d: \"%s\": got %s, want %s\n", line, text, pii_kind_name(got),
                    pii_kind_name(want));
        fail();
    }
}

static void test_kind_name(void **state)
{
    (void)state;
    assert_string_equal(pii_kind_name(PII_BSN), "bsn");
    assert_string_equal(pii_kind_name(PII_EMAIL), "email");
    assert_string_equal(pii_kind_name(PII_PHONE), "phone");
    assert_string_equal(pii_kind_name(PII_POSTCODE), "postcode");
    assert_string_equal(pii_kind_name(PII_DATE), "date");
    assert_string_equal(pii_kind_name(PII_NONE), "none");
    assert_string_equal(pii_kind_name((enum pii_kind)99), "unknown");
}

static void test_empty(void **state)
{
    (void)state;
    assert_int_equal(pii_scan(NULL, 0), PII_NONE);
    assert_int_equal(pii_scan(NULL, 12), PII_NONE);
    assert_int_equal(pii_scan("", 0), PII_NONE);
    assert_int_equal(pii_scan("123456782", 0), PII_NONE);
    EXPECT(" ", PII_NONE);
    EXPECT("Vraag over medicatie bij een jongere met somberheid.", PII_NONE);
}

static void test_length_respected(void **state)
{
    (void)state;
    /* Only len bytes count, and the text needs no terminator (ASan checks the reads). */
    const char bsn[9] = {'1', '2', '3', '4', '5', '6', '7', '8', '2'};
    assert_int_equal(pii_scan(bsn, sizeof bsn), PII_BSN);
    assert_int_equal(pii_scan(bsn, 8), PII_NONE);
    const char phone[10] = {'0', '6', '1', '2', '3', '4', '5', '6', '7', '8'};
    assert_int_equal(pii_scan(phone, sizeof phone), PII_PHONE);
    assert_int_equal(pii_scan(phone, 9), PII_NONE);
    const char mail[8] = {'j', 'a', 'n', '@', 'x', '.', 'n', 'l'};
    assert_int_equal(pii_scan(mail, sizeof mail), PII_EMAIL);
    assert_int_equal(pii_scan(mail, 7), PII_NONE); /* "jan@x.n" */
    const char pc[7] = {'1', '2', '3', '4', ' ', 'A', 'B'};
    assert_int_equal(pii_scan(pc, sizeof pc), PII_POSTCODE);
    assert_int_equal(pii_scan(pc, 6), PII_NONE);
    const char date[10] = {'1', '9', '9', '0', '-', '0', '2', '-', '0', '1'};
    assert_int_equal(pii_scan(date, sizeof date), PII_DATE);
    assert_int_equal(pii_scan(date, 9), PII_NONE);
    /* A len past an embedded NUL scans on; the NUL separates like punctuation. */
    assert_int_equal(pii_scan("abc\0"
                              "123456782",
                              13),
                     PII_BSN);
    assert_int_equal(pii_scan("12345\0"
                              "6782",
                              10),
                     PII_NONE);
}

static void test_bsn_caught(void **state)
{
    (void)state;
    EXPECT("123456782", PII_BSN);
    EXPECT("111222333", PII_BSN);
    EXPECT("BSN 123456782", PII_BSN);
    EXPECT("bsn:123456782", PII_BSN);
    EXPECT("bsn123456782", PII_BSN); /* letters do not shield a digit run */
    EXPECT("(123456782)", PII_BSN);
    EXPECT("Het BSN is 123456782.", PII_BSN);
    EXPECT("123456782, graag terugbellen", PII_BSN);
    EXPECT("'123456782'", PII_BSN);
    EXPECT("#123456782", PII_BSN);
    EXPECT("1234.56.782", PII_BSN);
    EXPECT("123 456 782", PII_BSN);
    EXPECT("123.456.782", PII_BSN);
    EXPECT("123-456-782", PII_BSN);
    EXPECT("12 34 56 782", PII_BSN);
    EXPECT("1112.22.333", PII_BSN);
    EXPECT("123\xc2\xa0"
           "456\xc2\xa0"
           "782",
           PII_BSN);                   /* no-break spaces */
    EXPECT("34 123456782", PII_BSN);   /* an age before it is a separate number */
    EXPECT("34 123 456 782", PII_BSN); /* likewise when grouped */
    EXPECT("dossier 7, 123456782", PII_BSN);
    EXPECT("pati\xc3\xabnt 123456782 heeft", PII_BSN);
    EXPECT("pati\xc3\xabnt123456782", PII_BSN);
    EXPECT("123456782\xc3\xa9", PII_BSN);
    EXPECT("\xe2\x80\x9c"
           "123456782\xe2\x80\x9d",
           PII_BSN); /* curly quotes */
    EXPECT("123456782\n", PII_BSN);
    EXPECT("regel 1\n123456782", PII_BSN);
    EXPECT("nr.123456782", PII_BSN);
    EXPECT("123456782. Daarna", PII_BSN);
}

static void test_bsn_harmless(void **state)
{
    (void)state;
    EXPECT("123456789", PII_NONE); /* fails the elfproef */
    EXPECT("BSN 123456789", PII_NONE);
    EXPECT("123 456 789", PII_NONE);
    EXPECT("000000000", PII_NONE);
    EXPECT("1234567820", PII_NONE); /* part of a longer run */
    EXPECT("91234567820", PII_NONE);
    EXPECT("9123456782", PII_NONE);
    EXPECT("1234.56.7820", PII_NONE);
    EXPECT("123456782,5", PII_NONE); /* a measurement */
    EXPECT("0,123456782", PII_NONE);
    EXPECT("1.123456782", PII_NONE);
    EXPECT("1 2 3 4 5 6 7 8 2", PII_NONE); /* single digits are not groups */
    EXPECT("12345678 2", PII_NONE);
    EXPECT("1 23456782", PII_NONE);
    EXPECT("12345678", PII_NONE);
    EXPECT("12.345.678", PII_NONE);
    EXPECT("AGB 01234567", PII_NONE);
    EXPECT("12345.6782", PII_NONE);
}

static void test_email_caught(void **state)
{
    (void)state;
    EXPECT("jan@example.nl", PII_EMAIL);
    EXPECT("a@b.nl", PII_EMAIL);
    EXPECT("Mail: JAN@EXAMPLE.COM", PII_EMAIL);
    EXPECT("mail jan.jansen@huisarts-noord.example.nl.", PII_EMAIL);
    EXPECT("<jan@x.nl>", PII_EMAIL);
    EXPECT("(j.de.vries+overleg@zorg-noord.nl)", PII_EMAIL);
    EXPECT("'jan@x.nl'", PII_EMAIL);
    EXPECT("\xe2\x80\x9cjan@x.nl\xe2\x80\x9d", PII_EMAIL);
    EXPECT("ren\xc3\xa9@caf\xc3\xa9.nl", PII_EMAIL);
    EXPECT("pati\xc3\xabnt: p@x.nl", PII_EMAIL);
    EXPECT("zo\xc3\xab.de.vries@x.nl", PII_EMAIL);
    EXPECT("o'brien@example.org, graag", PII_EMAIL);
    EXPECT("info_1@x.co.uk?", PII_EMAIL);
    EXPECT("moeder: m.jansen@gmail.com; vader onbekend", PII_EMAIL);
    EXPECT("jan@mail.example.amsterdam", PII_EMAIL);
    EXPECT("0612345678@x.nl", PII_EMAIL); /* the address starts where the number does */
    EXPECT("regel\njan@x.nl\n", PII_EMAIL);
}

static void test_email_harmless(void **state)
{
    (void)state;
    EXPECT("jan@", PII_NONE);
    EXPECT("@x.nl", PII_NONE);
    EXPECT("jan @ x.nl", PII_NONE);
    EXPECT("jan@localhost", PII_NONE);
    EXPECT("jan@x.n", PII_NONE);
    EXPECT("jan@x.12", PII_NONE);
    EXPECT("jan@x.n1", PII_NONE);
    EXPECT("jan@.nl", PII_NONE);
    EXPECT("jan@x..nl", PII_NONE);
    EXPECT("a@b", PII_NONE);
    EXPECT("@@", PII_NONE);
    EXPECT("twitter @jan", PII_NONE);
    EXPECT("5 @ 10 mg", PII_NONE);
    EXPECT("ratio 3@4", PII_NONE);
    EXPECT("www.example.nl", PII_NONE);
}

static void test_phone_caught(void **state)
{
    (void)state;
    EXPECT("0612345678", PII_PHONE);
    EXPECT("06-12345678", PII_PHONE);
    EXPECT("06 12345678", PII_PHONE);
    EXPECT("06 1234 5678", PII_PHONE);
    EXPECT("06 12 34 56 78", PII_PHONE);
    EXPECT("06-1234 5678", PII_PHONE);
    EXPECT("+31 6 12345678", PII_PHONE);
    EXPECT("+31612345678", PII_PHONE);
    EXPECT("+31-6-12345678", PII_PHONE);
    EXPECT("+31 6 1234 5678", PII_PHONE);
    EXPECT("+31 (0)6 12345678", PII_PHONE);
    EXPECT("+31(0)612345678", PII_PHONE);
    EXPECT("+31 06 12345678", PII_PHONE);
    EXPECT("+31 20 1234567", PII_PHONE);
    EXPECT("0031 6 12345678", PII_PHONE);
    EXPECT("0031612345678", PII_PHONE);
    EXPECT("020-1234567", PII_PHONE);
    EXPECT("010 1234567", PII_PHONE);
    EXPECT("0475-123456", PII_PHONE);
    EXPECT("020 123 45 67", PII_PHONE);
    EXPECT("(020) 1234567", PII_PHONE);
    EXPECT("(020) 123 45 67", PII_PHONE);
    EXPECT("(0475)123456", PII_PHONE);
    EXPECT("06\xc2\xa0"
           "12345678",
           PII_PHONE);
    EXPECT("bel 06-12345678.", PII_PHONE);
    EXPECT("tel:0612345678", PII_PHONE);
    EXPECT("tel0612345678", PII_PHONE);
    EXPECT("(06-12345678)", PII_PHONE);
    EXPECT("06-12345678, na 17 uur", PII_PHONE);
    EXPECT("bereikbaar op 06-12345678 (\xe2\x80\x99s avonds)", PII_PHONE);
    EXPECT("mevrouw \xc3\xa9\xc3\xa9n keer gebeld: 0612345678", PII_PHONE);
    EXPECT("0201234567", PII_PHONE);
}

static void test_phone_harmless(void **state)
{
    (void)state;
    EXPECT("1234567890", PII_NONE); /* 10 digits, no leading 0 */
    EXPECT("12345678", PII_NONE);
    EXPECT("061234567", PII_NONE);   /* 9 digits (and no BSN) */
    EXPECT("06123456789", PII_NONE); /* 11 digits */
    EXPECT("0012345678", PII_NONE);
    EXPECT("06 123", PII_NONE);
    EXPECT("06-1234-567", PII_NONE);
    EXPECT("06123 45678", PII_NONE); /* no 5-digit area code */
    EXPECT("06 1234567 8", PII_NONE);
    EXPECT("+31 6 1234", PII_NONE);
    EXPECT("+31 6 123456789", PII_NONE);
    EXPECT("+32 4 12345678", PII_NONE);
    EXPECT("+31 0 12345678", PII_NONE);
    EXPECT("(06) 1234", PII_NONE);
    EXPECT("10:30 - 11:45", PII_NONE);
    EXPECT("score 0 - 10", PII_NONE);
    EXPECT("0,5612345678", PII_NONE); /* a fraction's digits */
}

static void test_postcode_caught(void **state)
{
    (void)state;
    EXPECT("1234 AB", PII_POSTCODE);
    EXPECT("1234AB", PII_POSTCODE);
    EXPECT("1234 ab", PII_POSTCODE);
    EXPECT("1234ab", PII_POSTCODE);
    EXPECT("1234 Ab", PII_POSTCODE);
    EXPECT("9999 ZZ", PII_POSTCODE);
    EXPECT("1000 AA", PII_POSTCODE);
    EXPECT("Dorpsstraat 1, 1234 AB Amsterdam", PII_POSTCODE);
    EXPECT("(1234 AB)", PII_POSTCODE);
    EXPECT("1234 AB.", PII_POSTCODE);
    EXPECT("woont in 1234AB, sinds kort", PII_POSTCODE);
    EXPECT("1011\xc2\xa0"
           "AB",
           PII_POSTCODE);
    EXPECT("NL-1234 AB", PII_POSTCODE);
    EXPECT("1234 SB", PII_POSTCODE);
    EXPECT("1234 AS", PII_POSTCODE);
    EXPECT("2019 EN", PII_POSTCODE); /* upper case is always a postcode */
    EXPECT("in 2019 AB", PII_POSTCODE);
    EXPECT("Zo\xc3\xabtermeer 2712 ab", PII_POSTCODE);
    EXPECT("1234 ab\xe2\x80\x9d", PII_POSTCODE);
}

static void test_postcode_harmless(void **state)
{
    (void)state;
    EXPECT("0123 AB", PII_NONE);
    EXPECT("1234 SA", PII_NONE);
    EXPECT("1234 SD", PII_NONE);
    EXPECT("1234 SS", PII_NONE);
    EXPECT("1234 sd", PII_NONE);
    EXPECT("12345 AB", PII_NONE);
    EXPECT("123 AB", PII_NONE);
    EXPECT("1234 ABC", PII_NONE);
    EXPECT("1234 A B", PII_NONE);
    EXPECT("1234  AB", PII_NONE);
    EXPECT("1234-AB", PII_NONE);
    EXPECT("v1234ab", PII_NONE);
    EXPECT("1234 ab\xc3\xa9", PII_NONE);
    EXPECT("1,1234 AB", PII_NONE);
    EXPECT("1234", PII_NONE);
    EXPECT("1234 A", PII_NONE);
    EXPECT("sinds 2019", PII_NONE);
    EXPECT("in 2019 is hij gescheiden", PII_NONE);
    EXPECT("2019 en 2020", PII_NONE);
    EXPECT("Sinds 2021 op de wachtlijst", PII_NONE);
    EXPECT("1500 mg", PII_NONE);
    EXPECT("1000 ml", PII_NONE);
    EXPECT("1500mg", PII_NONE);
    EXPECT("2000 kg", PII_NONE);
    EXPECT("2020 En toen", PII_NONE);
}

static void test_date_caught(void **state)
{
    (void)state;
    EXPECT("1-2-1990", PII_DATE);
    EXPECT("01-02-1990", PII_DATE);
    EXPECT("1/2/1990", PII_DATE);
    EXPECT("01.02.1990", PII_DATE);
    EXPECT("1990-02-01", PII_DATE);
    EXPECT("1990/2/1", PII_DATE);
    EXPECT("29-02-2000", PII_DATE);
    EXPECT("29-02-2024", PII_DATE);
    EXPECT("31-12-2099", PII_DATE);
    EXPECT("1-1-1900", PII_DATE);
    EXPECT("geboren op 1-2-1990", PII_DATE);
    EXPECT("geb. 01-02-1990, woont", PII_DATE);
    EXPECT("(01-02-1990)", PII_DATE);
    EXPECT("01-02-1990.", PII_DATE);
    EXPECT("2024-03-01T10:00", PII_DATE);
    EXPECT("geboren op 3 maart 1990", PII_DATE);
    EXPECT("3 mrt. 1990", PII_DATE);
    EXPECT("3 mrt 1990", PII_DATE);
    EXPECT("03 Maart 1990", PII_DATE);
    EXPECT("3 March 1990", PII_DATE);
    EXPECT("29 februari 2000", PII_DATE);
    EXPECT("1 okt 2001", PII_DATE);
    EXPECT("12 DECEMBER 1985", PII_DATE);
    EXPECT("pati\xc3\xabnte, geboren 1-2-1990", PII_DATE);
    EXPECT("1-2-1990\xc3\xa9", PII_DATE);
}

static void test_date_harmless(void **state)
{
    (void)state;
    EXPECT("29-02-2001", PII_NONE);
    EXPECT("31-04-1990", PII_NONE);
    EXPECT("32-01-1990", PII_NONE);
    EXPECT("0-1-1990", PII_NONE);
    EXPECT("1-13-1990", PII_NONE);
    EXPECT("1-2-1899", PII_NONE);
    EXPECT("1-2-2100", PII_NONE);
    EXPECT("1-2-90", PII_NONE);
    EXPECT("01-02-19901", PII_NONE);
    EXPECT("1-2/1990", PII_NONE);
    EXPECT("101-02-1990", PII_NONE);
    EXPECT("1990-13-01", PII_NONE);
    EXPECT("1990-02-30", PII_NONE);
    EXPECT("1990-02-001", PII_NONE);
    EXPECT("2019-2024", PII_NONE);
    EXPECT("03-2024", PII_NONE);
    EXPECT("maart 2024", PII_NONE);
    EXPECT("3 maarten 1990", PII_NONE);
    EXPECT("3 maart", PII_NONE);
    EXPECT("30 maart 19", PII_NONE);
    EXPECT("31 april 1990", PII_NONE);
    EXPECT("10:30", PII_NONE);
    EXPECT("1.5.2", PII_NONE);
}

static void test_harmless_clinical(void **state)
{
    (void)state;
    EXPECT("34 jaar", PII_NONE);
    EXPECT("50 mg", PII_NONE);
    EXPECT("2x per dag", PII_NONE);
    EXPECT("sinds 2019", PII_NONE);
    EXPECT("om 10:30", PII_NONE);
    EXPECT("maart 2024", PII_NONE);
    EXPECT("03-2024", PII_NONE);
    EXPECT("45%", PII_NONE);
    EXPECT("12,5 %", PII_NONE);
    EXPECT("123456789", PII_NONE);
    EXPECT("12345678", PII_NONE);
    EXPECT("1234567890", PII_NONE);
    EXPECT("AGB-code 01234567", PII_NONE);
    EXPECT("1234", PII_NONE);
    EXPECT("PHQ-9 score 18", PII_NONE);
    EXPECT("F32.1", PII_NONE);
    EXPECT("6A70", PII_NONE);
    EXPECT("DSM-5 296.32 (F33.1)", PII_NONE);
    EXPECT("bloeddruk 120/80", PII_NONE);
    EXPECT("sertraline 50 mg 1dd, na 6 weken 100 mg", PII_NONE);
    EXPECT("\xe2\x82\xac 1.500,00", PII_NONE);
    EXPECT("GAF 55, BMI 31,2", PII_NONE);
    EXPECT("Vrouw, 34 jaar, sinds maart 2024 somber. PHQ-9 score 18 (03-2024), nu 12. "
           "Sertraline 50 mg sinds 2019, 2x per dag oxazepam 10 mg. Vraag: ophogen naar "
           "100 mg of switchen? Co\xc3\xb6rdinatie met de POH-GGZ loopt, afspraak om 10:30.",
           PII_NONE);
    EXPECT("Pati\xc3\xabnt (\xc3\xa9\xc3\xa9n kind, 7 jaar) heeft 2\xc3\x97 per week "
           "paniekaanvallen; 80% verbetering na 6 weken.",
           PII_NONE);
}

static void test_text_order(void **state)
{
    (void)state;
    EXPECT("0612345678 of jan@x.nl", PII_PHONE);
    EXPECT("jan@x.nl of 0612345678", PII_EMAIL);
    EXPECT("1234 AB, 123456782", PII_POSTCODE);
    EXPECT("123456782, 1234 AB", PII_BSN);
    EXPECT("1-2-1990 123456782", PII_DATE);
    EXPECT("123456789 en 123456782", PII_BSN); /* the first number is harmless */
    EXPECT("sinds 2019, 34 jaar, 06-12345678", PII_PHONE);
    EXPECT("01-02-1990 12", PII_DATE); /* its digits would also group like a phone number */
}

static void test_odd_bytes(void **state)
{
    (void)state;
    EXPECT("\xff\xfe 0612345678", PII_PHONE);
    EXPECT("\xc3 123456782", PII_BSN); /* truncated sequence */
    EXPECT("123456782\xc3", PII_BSN);
    EXPECT("\x80\x80\x80@\x80.nl", PII_NONE);
    EXPECT("\xc3@x.nl", PII_NONE);
    EXPECT("+", PII_NONE);
    EXPECT("+3", PII_NONE);
    EXPECT("+31", PII_NONE);
    EXPECT("+31 ", PII_NONE);
    EXPECT("+31 (0", PII_NONE);
    EXPECT("(", PII_NONE);
    EXPECT("(0", PII_NONE);
    EXPECT("(020", PII_NONE);
    EXPECT("(020)", PII_NONE);
    EXPECT("0031", PII_NONE);
    EXPECT("1-", PII_NONE);
    EXPECT("1-2-", PII_NONE);
    EXPECT("3 ", PII_NONE);
    EXPECT("3 mrt.", PII_NONE);
    EXPECT("1234 ", PII_NONE);
    EXPECT("1234 a", PII_NONE);
    EXPECT("a@", PII_NONE);
    EXPECT("a@b.", PII_NONE);
    EXPECT("\xc2", PII_NONE);
    EXPECT("\xe2\x80", PII_NONE);
}

/* Long inputs of patterns that start many candidate matches stay linear and clean. */
static void test_long_inputs(void **state)
{
    (void)state;
    static const char *const units[] = {"a@", "1 ", "11 ", "0", "+31 ", "1-", "a.", "(0"};
    const size_t n = 1 << 16;
    char *buf = malloc(n + 16);
    assert_non_null(buf);
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t ul = strlen(units[u]), o = 0;
        while (o + ul <= n) {
            memcpy(buf + o, units[u], ul);
            o += ul;
        }
        assert_int_equal(pii_scan(buf, o), PII_NONE);
        memcpy(buf + o, " 123456782", 10);
        assert_int_equal(pii_scan(buf, o + 10), PII_BSN);
    }
    memset(buf, '1', n);
    assert_int_equal(pii_scan(buf, n), PII_NONE);
    free(buf);
}

/* UUIDs pass: in 300 random ones the digit groups read as phone numbers 4 times before. */
static void test_uuids_harmless(void **state)
{
    (void)state;
    EXPECT("Zie consultatie 3f2a9c1e-0915-4825-a1b2-0612345678ab voor de eerdere vraag.", PII_NONE);
    EXPECT("8d1e8c2a-0612-3456-7890-123456782abc", PII_NONE);
    EXPECT("(3F2A9C1E-0915-4825-A1B2-0612345678AB)", PII_NONE);
    EXPECT("zie 00000000-0000-4000-a000-000000000001, en 2c1b0d3e-1990-0201-8000-000000000000.",
           PII_NONE);
    /* random UUIDs, none of them read as an identifier */
    srand(7513);
    for (int n = 0; n < 2000; n++) {
        char u[64];
        unsigned v[8];
        for (int k = 0; k < 8; k++)
            v[k] = (unsigned)rand() & 0xffffu;
        snprintf(u, sizeof u, "id %04x%04x-%04x-4%03x-%04x-%04x%04x%04x.", v[0], v[1], v[2],
                 v[3] & 0xfffu, (v[4] & 0x3fffu) | 0x8000u, v[5], v[6], v[7]);
        EXPECT(u, PII_NONE);
    }
    /* what stands beside a UUID is still looked at */
    EXPECT("3f2a9c1e-0915-4825-a1b2-0612345678ab 0612345678", PII_PHONE);
    EXPECT("3f2a9c1e-0915-4825-a1b2-0612345678ab, BSN 123456782", PII_BSN);
    /* only a whole UUID passes: a longer or glued run is read as it stands */
    EXPECT("3f2a9c1e-0915-4825-a1b2-0612345678abc 06-12345678", PII_PHONE);
    EXPECT("x3f2a9c1e-0915-4825-a1b2-0612345678ab", PII_PHONE);
    EXPECT("0915-4825 06-12345678", PII_PHONE);
}

/* Other forms of the same digits, dashes and spaces are read as their plain forms. */
static void test_other_digit_forms(void **state)
{
    (void)state;
    /* full-width 111222333 */
    EXPECT("Mevrouw, BSN \xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xef\xbc\x92\xef\xbc\x92"
           "\xef\xbc\x92\xef\xbc\x93\xef\xbc\x93\xef\xbc\x93.",
           PII_BSN);
    /* Arabic-Indic */
    EXPECT("\xd9\xa1\xd9\xa1\xd9\xa1\xd9\xa2\xd9\xa2\xd9\xa2\xd9\xa3\xd9\xa3\xd9\xa3", PII_BSN);
    EXPECT("\xf0\x9d\x9f\x8f\xf0\x9d\x9f\x8f\xf0\x9d\x9f\x8f"
           "222333",
           PII_BSN); /* mathematical bold 1 */
    EXPECT("111\xe2\x80\x90"
           "222\xe2\x80\x90"
           "333",
           PII_BSN); /* U+2010 hyphens */
    EXPECT("111\xe2\x80\x89"
           "222\xe2\x80\x89"
           "333",
           PII_BSN);                /* thin spaces */
    EXPECT("111 222.333", PII_BSN); /* mixed separators, as typed by hand */
    EXPECT("1234.56 782", PII_BSN);
    EXPECT("06\xe2\x80\x91"
           "12345678",
           PII_PHONE);                                      /* non-breaking hyphen */
    EXPECT("\xef\xbc\x90\xef\xbc\x96-12345678", PII_PHONE); /* full-width 06 */
    EXPECT("jan\xef\xbc\xa0"
           "example.nl",
           PII_EMAIL); /* full-width @ */
    /* text that only looks unusual stays harmless */
    EXPECT("Caf\xc3\xa9, \xef\xbc\x93 jaar, \xef\xac\x81ne dosis \xc2\xbd tablet", PII_NONE);
    EXPECT("\xff\xfe 111222333", PII_BSN); /* not UTF-8: read as it stands */
}

int test_pii_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_name),         cmocka_unit_test(test_empty),
        cmocka_unit_test(test_length_respected),  cmocka_unit_test(test_bsn_caught),
        cmocka_unit_test(test_bsn_harmless),      cmocka_unit_test(test_email_caught),
        cmocka_unit_test(test_email_harmless),    cmocka_unit_test(test_phone_caught),
        cmocka_unit_test(test_phone_harmless),    cmocka_unit_test(test_postcode_caught),
        cmocka_unit_test(test_postcode_harmless), cmocka_unit_test(test_date_caught),
        cmocka_unit_test(test_date_harmless),     cmocka_unit_test(test_harmless_clinical),
        cmocka_unit_test(test_text_order),        cmocka_unit_test(test_odd_bytes),
        cmocka_unit_test(test_long_inputs),       cmocka_unit_test(test_uuids_harmless),
        cmocka_unit_test(test_other_digit_forms),
    };
    return cmocka_run_group_tests_name("pii", tests, NULL, NULL);
}
