/* Unit tests for b64 (base64url without padding). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "b64.h"

int test_b64_run(void);

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        assert_int_equal(
            b64url_encode((const unsigned char *)plain[i], strlen(plain[i]), out, sizeof out), 0);
        assert_string_equal(out, enc[i]);
        unsigned char dec[16];
        size_t n = 99;
        assert_int_equal(b64url_decode(enc[i], dec, sizeof dec, &n), 0);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(dec, plain[i], n);
    }
}

static void test_url_alphabet(void **state)
{
    (void)state;
    const unsigned char a[] = {0xfb, 0xef, 0xbe};
    const unsigned char b[] = {0xff, 0xff, 0xff};
    const unsigned char c[] = {0xfb, 0xff};
    char out[8];
    assert_int_equal(b64url_encode(a, 3, out, sizeof out), 0);
    assert_string_equal(out, "----");
    assert_int_equal(b64url_encode(b, 3, out, sizeof out), 0);
    assert_string_equal(out, "____");
    assert_int_equal(b64url_encode(c, 2, out, sizeof out), 0);
    assert_string_equal(out, "-_8");
    unsigned char dec[4];
    size_t n;
    assert_int_equal(b64url_decode("-_8", dec, sizeof dec, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(dec, c, 2);
}

static void test_enclen(void **state)
{
    (void)state;
    assert_int_equal(B64URL_ENCLEN(0), 1);
    assert_int_equal(B64URL_ENCLEN(1), 3);
    assert_int_equal(B64URL_ENCLEN(2), 4);
    assert_int_equal(B64URL_ENCLEN(3), 5);
    assert_int_equal(B64URL_ENCLEN(4), 7);
    assert_int_equal(B64URL_ENCLEN(32), 44); /* a 256-bit token: 43 characters */
    assert_int_equal(B64URL_DECLEN(43), 32);
}

static void test_encode_buffer_size(void **state)
{
    (void)state;
    const unsigned char in[5] = {1, 2, 3, 4, 5};
    char out[16];
    memset(out, 'x', sizeof out);
    assert_int_equal(b64url_encode(in, 5, out, B64URL_ENCLEN(5) - 1), -1);
    assert_string_equal(out, ""); /* never left unterminated */
    assert_int_equal(b64url_encode(in, 5, out, B64URL_ENCLEN(5)), 0);
    assert_int_equal(strlen(out), B64URL_ENCLEN(5) - 1);
    assert_int_equal(b64url_encode(in, 0, out, 0), -1);
    assert_int_equal(b64url_encode(NULL, 0, out, 1), 0);
    assert_string_equal(out, "");
    assert_int_equal(b64url_encode(NULL, 1, out, sizeof out), -1);
    assert_int_equal(b64url_encode(in, 1, NULL, 8), -1);
}

static void test_roundtrip_all_lengths(void **state)
{
    (void)state;
    unsigned char in[70], dec[70];
    char enc[B64URL_ENCLEN(70)];
    for (size_t len = 0; len <= sizeof in; len++) {
        for (size_t i = 0; i < len; i++)
            in[i] = (unsigned char)(i * 37 + len * 11 + 0x80);
        assert_int_equal(b64url_encode(in, len, enc, sizeof enc), 0);
        assert_int_equal(strlen(enc), B64URL_ENCLEN(len) - 1);
        assert_null(strchr(enc, '='));
        size_t n = 0;
        assert_int_equal(b64url_decode(enc, dec, sizeof dec, &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(dec, in, len);
    }
}

static void test_decode_rejects(void **state)
{
    (void)state;
    unsigned char out[32];
    size_t n;
    static const char *const bad[] = {
        "Zg==",         /* padding */
        "Zg=",          /* padding */
        "Zm9vYg==",     /* padding */
        "Z",            /* 4k+1 characters: impossible length */
        "Zm9vY",        /* 4k+1 characters: impossible length */
        "A",            /* 4k+1 with all-zero bits: only the length check catches it */
        "Zm9vA",        /* same */
        "Zm9v+w",       /* standard alphabet, not url-safe */
        "Zm9v/w",       /* standard alphabet, not url-safe */
        "Zm 9vYg",      /* whitespace */
        "Zm9vYg\n",     /* whitespace */
        "Zh",           /* non-zero unused bits (non-canonical "Zg") */
        "Zm9",          /* non-zero unused bits (non-canonical "Zm8") */
        "Zm9v\xc3\xa9", /* non-ASCII */
        "%41",          /* percent-encoding */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(b64url_decode(bad[i], out, sizeof out, &n), -1);
    assert_int_equal(b64url_decode(NULL, out, sizeof out, &n), -1);
}

static void test_decode_buffer_size(void **state)
{
    (void)state;
    unsigned char out[6];
    size_t n = 7;
    assert_int_equal(b64url_decode("Zm9vYmFy", out, 5, &n), -1);
    assert_int_equal(b64url_decode("Zm9vYmFy", out, 6, &n), 0);
    assert_int_equal(n, 6);
    assert_int_equal(b64url_decode("Zm9vYmE", out, 4, &n), -1);
    assert_int_equal(b64url_decode("Zm9vYmE", out, 5, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(b64url_decode("", NULL, 0, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(b64url_decode("Zg", out, sizeof out, NULL), 0); /* outlen optional */
}

int test_b64_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_url_alphabet),
        cmocka_unit_test(test_enclen),
        cmocka_unit_test(test_encode_buffer_size),
        cmocka_unit_test(test_roundtrip_all_lengths),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_decode_buffer_size),
    };
    return cmocka_run_group_tests_name("b64", tests, NULL, NULL);
}
