#include "crypto.h"

#include "b64.h"

#include <argon2.h>
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

/* GCM's additional authenticated data: bound to the ciphertext, not stored in it. */
static int set_ad(EVP_CIPHER_CTX *ctx, const char *ad, int encrypt)
{
    int n = 0;
    if (!ad || !*ad)
        return 1;
    return encrypt ? EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)ad, (int)strlen(ad))
                   : EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)ad, (int)strlen(ad));
}

char *crypto_seal(const unsigned char key[32], const char *ad, const void *plain, size_t len)
{
    size_t rawlen = NONCE_LEN + len + TAG_LEN;
    unsigned char *raw = malloc(rawlen);
    char *out = NULL;
    int n = 0, fin = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!raw || !ctx || RAND_bytes(raw, NONCE_LEN) != 1 ||
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, raw) != 1 ||
        set_ad(ctx, ad, 1) != 1 ||
        EVP_EncryptUpdate(ctx, raw + NONCE_LEN, &n, plain, (int)len) != 1 ||
        EVP_EncryptFinal_ex(ctx, raw + NONCE_LEN + n, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, raw + NONCE_LEN + len) != 1)
        goto done;
    size_t outsz = B64URL_ENCLEN(rawlen);
    out = malloc(outsz);
    if (out && b64url_encode(raw, rawlen, out, outsz) != 0) {
        free(out);
        out = NULL;
    }
done:
    EVP_CIPHER_CTX_free(ctx);
    free(raw);
    return out;
}

char *crypto_open(const unsigned char key[32], const char *ad, const char *sealed, size_t *len)
{
    size_t cap = strlen(sealed), rawlen = 0;
    unsigned char *raw = malloc(cap + 1);
    char *plain = NULL;
    int n = 0, fin = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!raw || !ctx || b64url_decode(sealed, raw, cap + 1, &rawlen) != 0 ||
        rawlen < NONCE_LEN + TAG_LEN)
        goto done;
    size_t clen = rawlen - NONCE_LEN - TAG_LEN;
    plain = malloc(clen + 1);
    if (!plain || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, raw) != 1 ||
        set_ad(ctx, ad, 0) != 1 ||
        EVP_DecryptUpdate(ctx, (unsigned char *)plain, &n, raw + NONCE_LEN, (int)clen) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, raw + NONCE_LEN + clen) != 1 ||
        EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + n, &fin) != 1) {
        free(plain);
        plain = NULL;
        goto done;
    }
    plain[clen] = 0;
    if (len)
        *len = clen;
done:
    EVP_CIPHER_CTX_free(ctx);
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
