/* b64 - base64url without padding. */
#include "b64.h"

#include <string.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of each byte as an alphabet character, or -1: a table, because replies decode every
 * sealed text they show. Built from explicit ranges, so it is independent of locale. */
#define R(c, v)                                                                                    \
    [c] = (v) + 1 /* stored plus one so that the zero of every other byte means "not ours" */
static const signed char b64_plus1[256] = {
    R('A', 0),  R('B', 1),  R('C', 2),  R('D', 3),  R('E', 4),  R('F', 5),  R('G', 6),  R('H', 7),
    R('I', 8),  R('J', 9),  R('K', 10), R('L', 11), R('M', 12), R('N', 13), R('O', 14), R('P', 15),
    R('Q', 16), R('R', 17), R('S', 18), R('T', 19), R('U', 20), R('V', 21), R('W', 22), R('X', 23),
    R('Y', 24), R('Z', 25), R('a', 26), R('b', 27), R('c', 28), R('d', 29), R('e', 30), R('f', 31),
    R('g', 32), R('h', 33), R('i', 34), R('j', 35), R('k', 36), R('l', 37), R('m', 38), R('n', 39),
    R('o', 40), R('p', 41), R('q', 42), R('r', 43), R('s', 44), R('t', 45), R('u', 46), R('v', 47),
    R('w', 48), R('x', 49), R('y', 50), R('z', 51), R('0', 52), R('1', 53), R('2', 54), R('3', 55),
    R('4', 56), R('5', 57), R('6', 58), R('7', 59), R('8', 60), R('9', 61), R('-', 62), R('_', 63),
};
#undef R

static int b64_value(unsigned char c)
{
    return b64_plus1[c] - 1;
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

    size_t o = 0, i = 0;
    /* Whole groups of four characters make three bytes; any value below zero makes the OR negative.
     */
    for (; i + 4 <= len; i += 4) {
        int a = b64_value((unsigned char)in[i]), b = b64_value((unsigned char)in[i + 1]),
            c = b64_value((unsigned char)in[i + 2]), d = b64_value((unsigned char)in[i + 3]);
        if ((a | b | c | d) < 0)
            return -1; /* also catches '=' padding */
        unsigned long v = (unsigned long)a << 18 | (unsigned long)b << 12 | (unsigned long)c << 6 |
                          (unsigned long)d;
        out[o++] = (unsigned char)(v >> 16);
        out[o++] = (unsigned char)(v >> 8);
        out[o++] = (unsigned char)v;
    }
    unsigned long acc = 0;
    int bits = 0;
    for (; i < len; i++) {
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
