#include "crypto.h"

#include "b64.h"

#include <argon2.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define ARGON_T 2
#define ARGON_M (19 * 1024)
#define ARGON_P 1
#define NONCE_LEN 12
#define TAG_LEN 16

int crypto_new_token(char out[64])
{
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    memcpy(out, "ovl_", 4);
    return b64url_encode(raw, sizeof raw, out + 4, 60);
}

void crypto_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = "0123456789abcdef"[md[i] >> 4];
        out[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
    }
    out[64] = 0;
}

/* ---------- AES-256-GCM ----------
 * Every reply that shows a consultation opens several values and every create seals a few, so
 * the per-call set-up is kept small: the cipher is fetched once, each thread keeps one context
 * per direction keyed with the key it last used (re-keyed only when the key changes), and
 * nonces come from a per-thread buffer of random bytes filled 32 nonces at a time (RAND_bytes
 * costs a getpid() system call per call). A fork empties every buffer, so a child never reuses
 * a nonce its parent drew. */

#define NONCES_PER_FILL 32

struct gcm_thread {
    EVP_CIPHER_CTX *ctx[2]; /* [0] opens, [1] seals */
    unsigned char key[2][32];
    int keyed[2];
    unsigned char nonces[NONCES_PER_FILL * NONCE_LEN];
    int nonces_left;
    unsigned fork_generation;
};

static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;
static pthread_key_t gcm_key;
static EVP_CIPHER *gcm_cipher;
static volatile unsigned fork_generation;

static void gcm_thread_free(void *p)
{
    struct gcm_thread *t = p;
    for (int i = 0; i < 2; i++)
        EVP_CIPHER_CTX_free(t->ctx[i]);
    OPENSSL_cleanse(t, sizeof *t);
    free(t);
}

static void after_fork_in_child(void)
{
    fork_generation++;
}

static void gcm_init(void)
{
    gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (pthread_key_create(&gcm_key, gcm_thread_free) != 0)
        gcm_cipher = NULL; /* every seal and open fails rather than run without its state */
    pthread_atfork(NULL, NULL, after_fork_in_child);
}

static struct gcm_thread *gcm_thread(void)
{
    pthread_once(&gcm_once, gcm_init);
    if (!gcm_cipher)
        return NULL;
    struct gcm_thread *t = pthread_getspecific(gcm_key);
    if (t)
        return t;
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ctx[0] = EVP_CIPHER_CTX_new();
    t->ctx[1] = EVP_CIPHER_CTX_new();
    if (!t->ctx[0] || !t->ctx[1] || pthread_setspecific(gcm_key, t) != 0) {
        gcm_thread_free(t);
        return NULL;
    }
    return t;
}

static int next_nonce(struct gcm_thread *t, unsigned char out[NONCE_LEN])
{
    if (t->fork_generation != fork_generation) {
        t->nonces_left = 0;
        t->fork_generation = fork_generation;
    }
    if (t->nonces_left == 0) {
        if (RAND_bytes(t->nonces, sizeof t->nonces) != 1)
            return -1;
        t->nonces_left = NONCES_PER_FILL;
    }
    unsigned char *n = t->nonces + (size_t)--t->nonces_left * NONCE_LEN;
    memcpy(out, n, NONCE_LEN);
    OPENSSL_cleanse(n, NONCE_LEN); /* drawn once */
    return 0;
}

/* The thread's context for one direction, set to `key` and `nonce`; NULL on failure. */
static EVP_CIPHER_CTX *gcm_ready(struct gcm_thread *t, int seal, const unsigned char key[32],
                                 const unsigned char nonce[NONCE_LEN])
{
    EVP_CIPHER_CTX *ctx = t->ctx[seal];
    int same = t->keyed[seal] && !memcmp(t->key[seal], key, 32);
    if (EVP_CipherInit_ex2(ctx, same ? NULL : gcm_cipher, same ? NULL : key, nonce, seal, NULL) !=
        1) {
        t->keyed[seal] = 0;
        return NULL;
    }
    memcpy(t->key[seal], key, 32);
    t->keyed[seal] = 1;
    return ctx;
}

/* GCM's additional authenticated data: bound to the ciphertext, not stored in it. */
static int set_ad(EVP_CIPHER_CTX *ctx, const char *ad)
{
    int n = 0;
    if (!ad || !*ad)
        return 1;
    return EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)ad, (int)strlen(ad));
}

char *crypto_seal(const unsigned char key[32], const char *ad, const void *plain, size_t len)
{
    struct gcm_thread *t = gcm_thread();
    if (!t || len > INT_MAX - NONCE_LEN - TAG_LEN)
        return NULL;
    size_t rawlen = NONCE_LEN + len + TAG_LEN;
    unsigned char *raw = malloc(rawlen);
    char *out = NULL;
    int n = 0, fin = 0;
    EVP_CIPHER_CTX *ctx = NULL;
    if (!raw || next_nonce(t, raw) != 0 || !(ctx = gcm_ready(t, 1, key, raw)) ||
        set_ad(ctx, ad) != 1 || EVP_CipherUpdate(ctx, raw + NONCE_LEN, &n, plain, (int)len) != 1 ||
        EVP_CipherFinal_ex(ctx, raw + NONCE_LEN + n, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, raw + NONCE_LEN + len) != 1)
        goto done;
    size_t outsz = B64URL_ENCLEN(rawlen);
    out = malloc(outsz);
    if (out && b64url_encode(raw, rawlen, out, outsz) != 0) {
        free(out);
        out = NULL;
    }
done:
    free(raw);
    return out;
}

char *crypto_open(const unsigned char key[32], const char *ad, const char *sealed, size_t *len)
{
    struct gcm_thread *t = gcm_thread();
    size_t cap = strlen(sealed), rawlen = 0;
    if (!t || cap > INT_MAX)
        return NULL;
    unsigned char *raw = malloc(cap + 1);
    char *plain = NULL;
    int n = 0, fin = 0;
    EVP_CIPHER_CTX *ctx = NULL;
    if (!raw || b64url_decode(sealed, raw, cap + 1, &rawlen) != 0 || rawlen < NONCE_LEN + TAG_LEN)
        goto done;
    size_t clen = rawlen - NONCE_LEN - TAG_LEN;
    plain = malloc(clen + 1);
    if (!plain || !(ctx = gcm_ready(t, 0, key, raw)) || set_ad(ctx, ad) != 1 ||
        EVP_CipherUpdate(ctx, (unsigned char *)plain, &n, raw + NONCE_LEN, (int)clen) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, raw + NONCE_LEN + clen) != 1 ||
        EVP_CipherFinal_ex(ctx, (unsigned char *)plain + n, &fin) != 1) {
        free(plain);
        plain = NULL;
        goto done;
    }
    plain[clen] = 0;
    if (len)
        *len = clen;
done:
    free(raw);
    return plain;
}

int crypto_password_hash(const char *password, size_t len, char out[128])
{
    unsigned char salt[16];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return -1;
    return argon2id_hash_encoded(ARGON_T, ARGON_M, ARGON_P, password, len, salt, sizeof salt, 32,
                                 out, 128) == ARGON2_OK
               ? 0
               : -1;
}

int crypto_password_verify(const char *encoded, const char *password, size_t len)
{
    return argon2id_verify(encoded, password, len) == ARGON2_OK;
}

void crypto_uuid_v4(char out[37])
{
    unsigned char b[16];
    /* Request ids go out in X-Request-Id: never let them carry what was on the stack. */
    if (RAND_bytes(b, sizeof b) != 1 && getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        memset(b, 0, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}
