/* cursor - opaque keyset cursors: base64url(compact JSON array of strings). */
#include "cursor.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

int cursor_encode(const char *const *keys, size_t n, char *out, size_t outsz)
{
    if (out != NULL && outsz > 0)
        out[0] = '\0';
    if (keys == NULL || n == 0 || out == NULL)
        return -1;
    json_t *arr = json_array();
    if (arr == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        /* json_string refuses invalid UTF-8, so such keys fail here. */
        if (keys[i] == NULL || strlen(keys[i]) > CURSOR_MAX_KEY ||
            json_array_append_new(arr, json_string(keys[i])) != 0) {
            json_decref(arr);
            return -1;
        }
    }
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (text == NULL)
        return -1;
    size_t tlen = strlen(text);
    int rc = -1;
    /* Refuse what cursor_decode would refuse, so every cursor we hand out comes back. */
    if (B64URL_ENCLEN(tlen) - 1 <= CURSOR_MAX_LEN)
        rc = b64url_encode((const unsigned char *)text, tlen, out, outsz);
    free(text);
    return rc;
}

int cursor_decode(const char *cursor, size_t n, char **keys_out)
{
    if (keys_out == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        keys_out[i] = NULL;
    if (cursor == NULL || n == 0)
        return -1;
    size_t clen = strnlen(cursor, CURSOR_MAX_LEN + 1);
    if (clen == 0 || clen > CURSOR_MAX_LEN)
        return -1;

    unsigned char buf[B64URL_DECLEN(CURSOR_MAX_LEN)];
    size_t blen;
    if (b64url_decode(cursor, buf, sizeof buf, &blen) != 0)
        return -1;
    /* Flags 0: top level must be an array or object, \u0000 refused, trailing data refused. */
    json_error_t err;
    json_t *arr = json_loadb((const char *)buf, blen, 0, &err);
    if (arr == NULL)
        return -1;
    int rc = -1;
    if (!json_is_array(arr) || json_array_size(arr) != n)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_string(v) || json_string_length(v) > CURSOR_MAX_KEY)
            goto out;
    }
    for (size_t i = 0; i < n; i++) {
        keys_out[i] = strdup(json_string_value(json_array_get(arr, i)));
        if (keys_out[i] == NULL) {
            cursor_free(keys_out, i);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(arr);
    return rc;
}

void cursor_free(char **keys, size_t n)
{
    if (keys == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(keys[i]);
        keys[i] = NULL;
    }
}
