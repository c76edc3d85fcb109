/* b64 - base64url without padding. */
#include "b64.h"

#include <string.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of an alphabet character, or -1. Explicit ranges keep it independent of locale. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int b64url_encode(const unsigned char *in, size_t len, char *out, size_t outsz)
{
    if (out == NULL || (in == NULL && len > 0))
        return -1;
    /* Checked before multiplying so a huge len cannot wrap the size computation. */
    if (len > (((size_t)-1) - 3) / 4 || outsz < B64URL_ENCLEN(len)) {
        if (outsz > 0)
            out[0] = '\0';
        return -1;
    }
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned long v =
            ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8) | in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (len - i == 1) {
        unsigned long v = (unsigned long)in[i] << 16;
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
    } else if (len - i == 2) {
        unsigned long v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8);
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
    return 0;
}

int b64url_decode(const char *in, unsigned char *out, size_t outsz, size_t *outlen)
{
    if (in == NULL || (out == NULL && outsz > 0))
        return -1;
    size_t len = strlen(in);
    /* One leftover character carries only 6 bits: no byte can end there. */
    if (len % 4 == 1)
        return -1;
    size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (need > outsz)
        return -1;

    size_t o = 0;
    unsigned long acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0)
            return -1; /* also catches '=' padding */
        acc = ((acc << 6) | (unsigned long)v) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)((acc >> bits) & 0xFF);
        }
    }
    /* Unused low bits must be zero, so every byte string has exactly one encoding. */
    if (bits > 0 && (acc & ((1UL << bits) - 1)) != 0)
        return -1;
    if (outlen != NULL)
        *outlen = o;
    return 0;
}
