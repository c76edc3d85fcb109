/* Fuzzes keyset cursors: every cursor encoded decodes to its keys (decode(encode(x)) == x), one
 * that cannot be encoded is refused for a reason, and whatever decodes encodes again. The first
 * byte picks the direction and the number of keys (1-4); in encoding, 0xFF (never in UTF-8)
 * separates the keys. */
#include "fuzz.h"

#include "cursor.h"
#include "validate.h"

#define MAXN 4

static void check_decodes_to(const char *cursor, size_t n, char *const *keys)
{
    char *back[MAXN + 1];
    FUZZ_CHECK(cursor_decode(cursor, n, back) == 0);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(back[i] != NULL && strcmp(back[i], keys[i]) == 0);
    cursor_free(back, n);
    /* A cursor holds exactly its number of keys. */
    FUZZ_CHECK(cursor_decode(cursor, n + 1, back) == -1);
    for (size_t i = 0; i < n + 1; i++)
        FUZZ_CHECK(back[i] == NULL);
    if (n > 1) {
        FUZZ_CHECK(cursor_decode(cursor, n - 1, back) == -1);
        for (size_t i = 0; i < n - 1; i++)
            FUZZ_CHECK(back[i] == NULL);
    }
}

static void encode_side(const uint8_t *data, size_t size, size_t n)
{
    char *keys[MAXN];
    size_t start = 0, worst = 2; /* "[" "]" */
    int encodable = 1;
    for (size_t i = 0; i < n; i++) {
        size_t end = start;
        while (end < size && data[end] != 0xFF)
            end++;
        keys[i] = fuzz_str(data + start, end - start);
        size_t len = strlen(keys[i]); /* a NUL ends the key early */
        encodable = encodable && len <= CURSOR_MAX_KEY && val_utf8_chars(keys[i], len) >= 0;
        worst += 3 + 6 * len; /* quotes, comma, every byte escaped as \u00XX */
        start = end < size ? end + 1 : size;
    }
    char out[CURSOR_MAX_LEN + 1];
    int rc = cursor_encode((const char *const *)keys, n, out, sizeof out);
    if (rc != 0) {
        FUZZ_CHECK(out[0] == '\0');
        /* refused only for a bad key or for the cursor's length */
        FUZZ_CHECK(!encodable || (worst * 4 + 2) / 3 > CURSOR_MAX_LEN);
    } else {
        FUZZ_CHECK(encodable);
        size_t len = strlen(out);
        FUZZ_CHECK(len >= 1 && len <= CURSOR_MAX_LEN);
        check_decodes_to(out, n, keys);
        /* a buffer one short is refused, without writing past it */
        char *tight = malloc(len);
        FUZZ_CHECK(tight != NULL);
        FUZZ_CHECK(cursor_encode((const char *const *)keys, n, tight, len) == -1);
        FUZZ_CHECK(tight[0] == '\0');
        free(tight);
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
}

static void decode_side(const uint8_t *data, size_t size, size_t n)
{
    char *cursor = fuzz_str(data, size);
    char *keys[MAXN];
    int rc = cursor_decode(cursor, n, keys);
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(keys[i] == NULL);
    } else {
        FUZZ_CHECK(strlen(cursor) <= CURSOR_MAX_LEN);
        char again[CURSOR_MAX_LEN + 1];
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(keys[i] != NULL && strlen(keys[i]) <= CURSOR_MAX_KEY);
        FUZZ_CHECK(cursor_encode((const char *const *)keys, n, again, sizeof again) == 0);
        check_decodes_to(again, n, keys);
        cursor_free(keys, n);
    }
    free(cursor);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = 1 + (data[0] >> 1) % MAXN;
    if (data[0] & 1)
        decode_side(data + 1, size - 1, n);
    else
        encode_side(data + 1, size - 1, n);
    return 0;
}
