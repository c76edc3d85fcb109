/* crypto: tokens, SHA-256, AES-256-GCM sealing and argon2id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"

static const unsigned char key[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                      12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                      23, 24, 25, 26, 27, 28, 29, 30, 31};

static void token_shape(void **state)
{
    (void)state;
    char a[64], b[64];
    assert_int_equal(crypto_new_token(a), 0);
    assert_int_equal(crypto_new_token(b), 0);
    assert_int_equal(strlen(a), 47); /* "ovl_" + 43 base64url characters = 256 bits */
    assert_memory_equal(a, "ovl_", 4);
    assert_string_not_equal(a, b);
}

static void sha256_known_value(void **state)
{
    (void)state;
    char hex[65];
    crypto_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void seal_roundtrip(void **state)
{
    (void)state;
    const char *plain = "{\"name\":\"Jan Jansen\",\"bsn\":\"123456782\"}";
    char *s1 = crypto_seal(key, "consultation:1", plain, strlen(plain));
    char *s2 = crypto_seal(key, "consultation:1", plain, strlen(plain));
    assert_non_null(s1);
    assert_string_not_equal(s1, s2); /* fresh nonce each time */
    assert_null(strstr(s1, "Jansen"));
    size_t len = 0;
    char *back = crypto_open(key, "consultation:1", s1, &len);
    assert_non_null(back);
    assert_int_equal(len, strlen(plain));
    assert_string_equal(back, plain);
    free(back);
    free(s1);
    free(s2);
}

static void seal_detects_tampering(void **state)
{
    (void)state;
    char *s = crypto_seal(key, "case:1", "secret", 6), was = s[20];
    s[20] = s[20] == 'A' ? 'B' : 'A';
    assert_null(crypto_open(key, "case:1", s, NULL));
    unsigned char other[32] = {0};
    s[20] = was;
    assert_null(crypto_open(other, "case:1", s, NULL));
    assert_null(crypto_open(key, "case:1", "short", NULL));
    /* the associated data binds the value to its object: another object's id does not open it */
    assert_null(crypto_open(key, "case:2", s, NULL));
    assert_null(crypto_open(key, NULL, s, NULL));
    char *back = crypto_open(key, "case:1", s, NULL);
    assert_string_equal(back, "secret");
    free(back);
    free(s);
}

/* The first 16 base64url characters of a sealed value: its 96-bit nonce. */
static void nonce_of(const char *sealed, char out[17])
{
    memcpy(out, sealed, 16);
    out[16] = 0;
}

static void seal_contexts_follow_key_changes(void **state)
{
    (void)state;
    /* Each thread keeps its contexts keyed: switching keys back and forth, and a failed open in
     * between, must never leave a context with the wrong key or state. */
    unsigned char other[32];
    memset(other, 7, sizeof other);
    char *a = crypto_seal(key, "x:1", "under a", 7), *b = crypto_seal(other, "x:1", "under b", 7),
         *a2 = crypto_seal(key, "x:1", "again a", 7);
    assert_null(crypto_open(other, "x:1", a, NULL));
    char *pa = crypto_open(key, "x:1", a, NULL), *pb = crypto_open(other, "x:1", b, NULL),
         *pa2 = crypto_open(key, "x:1", a2, NULL);
    assert_string_equal(pa, "under a");
    assert_string_equal(pb, "under b");
    assert_string_equal(pa2, "again a");
    assert_null(crypto_open(key, "x:1", b, NULL));
    free(a), free(b), free(a2), free(pa), free(pb), free(pa2);
}

static void seal_nonces_never_repeat(void **state)
{
    (void)state;
    /* Nonces are drawn from a buffer refilled 32 at a time: across several refills each is new. */
    enum { N = 200 };
    char seen[N][17];
    for (int i = 0; i < N; i++) {
        char *s = crypto_seal(key, "x:1", "t", 1);
        assert_non_null(s);
        nonce_of(s, seen[i]);
        free(s);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(seen[i], seen[j]);
    }
}

static void seal_after_fork_draws_new_nonces(void **state)
{
    (void)state;
    /* The parent's buffer holds nonces not yet used; a forked child must not use them too. */
    free(crypto_seal(key, "x:1", "fill", 4));
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char *s = crypto_seal(key, "x:1", "child", 5);
        ssize_t w = s ? write(fds[1], s, 16) : -1;
        free(s);
        _exit(w == 16 ? 0 : 1);
    }
    char child[17] = {0}, parent[17];
    assert_int_equal(read(fds[0], child, 16), 16);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_int_equal(status, 0);
    close(fds[0]);
    close(fds[1]);
    char *s = crypto_seal(key, "x:1", "parent", 6);
    nonce_of(s, parent);
    free(s);
    assert_string_not_equal(child, parent);
}

static void password_hash_verify(void **state)
{
    (void)state;
    char hash[128];
    assert_int_equal(crypto_password_hash("correct horse battery", 21, hash), 0);
    assert_non_null(strstr(hash, "$argon2id$"));
    assert_non_null(strstr(hash, "m=19456,t=2,p=1"));
    assert_int_equal(crypto_password_verify(hash, "correct horse battery", 21), 1);
    assert_int_equal(crypto_password_verify(hash, "correct horse batterz", 21), 0);
    assert_int_equal(crypto_password_verify("not a hash", "x", 1), 0);
}

int test_crypto_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(token_shape),
        cmocka_unit_test(sha256_known_value),
        cmocka_unit_test(seal_roundtrip),
        cmocka_unit_test(seal_detects_tampering),
        cmocka_unit_test(password_hash_verify),
        cmocka_unit_test(seal_contexts_follow_key_changes),
        cmocka_unit_test(seal_nonces_never_repeat),
        cmocka_unit_test(seal_after_fork_draws_new_nonces),
    };
    return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
