/* b64 - base64url (RFC 4648 section 5) without padding. Pure, no I/O. */
#ifndef OVERLEG_B64_H
#define OVERLEG_B64_H

#include <stddef.h>

/* Buffer size for encoding n bytes, including the terminating NUL. */
#define B64URL_ENCLEN(n) ((((size_t)(n)) * 4 + 2) / 3 + 1)

/* Largest decoded size of an encoding of m characters (no NUL is written). */
#define B64URL_DECLEN(m) (((size_t)(m)) * 3 / 4)

/* Encodes len bytes into out (NUL-terminated). Returns 0, or -1 when outsz is too small
 * (out is then left as an empty string when outsz > 0). */
int b64url_encode(const unsigned char *in, size_t len, char *out, size_t outsz);

/* Decodes the NUL-terminated string in. Returns 0 and the byte count in *outlen, or -1 for
 * padding, characters outside [A-Za-z0-9_-], a length of 4k+1, non-zero unused trailing bits
 * (non-canonical encoding) or outsz too small. */
int b64url_decode(const char *in, unsigned char *out, size_t outsz, size_t *outlen);

#endif
