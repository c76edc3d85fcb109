#ifndef OVERLEG_CRYPTO_H
#define OVERLEG_CRYPTO_H
/* Secrets and hashes: tokens, SHA-256, AES-256-GCM under the data key, argon2id passwords. */
#include <stddef.h>

/* A new bearer token: "ovl_" + 43 base64url characters (256 random bits). */
int crypto_new_token(char out[64]);
/* Lower-case hex SHA-256 of `len` bytes. */
void crypto_sha256_hex(const void *data, size_t len, char out[65]);
/* AES-256-GCM with a fresh 96-bit nonce and `ad` (NULL or a string) as associated data; output
 * is base64url(nonce | ciphertext | tag), malloc'd. Returns NULL on failure. The key ring
 * (datakeys.h) is what the rest of the server uses. */
char *crypto_seal(const unsigned char key[32], const char *ad, const void *plain, size_t len);
/* Reverses crypto_seal; returns a malloc'd NUL-terminated plaintext or NULL when the text was
 * tampered with, the key is wrong or `ad` is not the one it was sealed with. */
char *crypto_open(const unsigned char key[32], const char *ad, const char *sealed, size_t *len);
/* argon2id with parameters at or above OWASP's minimum (19 MiB, t=2, p=1). */
int crypto_password_hash(const char *password, size_t len, char out[128]);
/* 1 when the password matches, 0 when not. */
int crypto_password_verify(const char *encoded, const char *password, size_t len);
/* A random (version 4) UUID in its 36-character text form: request ids. */
void crypto_uuid_v4(char out[37]);
#endif
