/* cursor - opaque keyset pagination cursors: base64url of a compact JSON array of strings. */
#ifndef OVERLEG_CURSOR_H
#define OVERLEG_CURSOR_H

#include <stddef.h>

#define CURSOR_MAX_LEN 4096 /* characters of an encoded cursor */
#define CURSOR_MAX_KEY 1024 /* bytes of one key: a 200-character name in UTF-8 fits */

/* Encodes n (>= 1) UTF-8 keys into out (NUL-terminated). Returns 0, or -1 when a key is NULL,
 * not valid UTF-8 or longer than CURSOR_MAX_KEY, when the cursor would exceed CURSOR_MAX_LEN
 * (so every cursor handed out also decodes) or when outsz is too small. */
int cursor_encode(const char *const *keys, size_t n, char *out, size_t outsz);

/* Decodes a cursor that must hold exactly n strings into keys_out[0..n), each malloc'd (free
 * with cursor_free). Returns 0, or -1 for anything else (too long, bad base64url, bad JSON,
 * wrong count or type, an over-long key); on -1 nothing is allocated and keys_out is all NULL. */
int cursor_decode(const char *cursor, size_t n, char **keys_out);

/* Frees keys[0..n) and sets them to NULL. Safe on NULL entries. */
void cursor_free(char **keys, size_t n);

#endif
