/* The data keys and sealed values (include/datakeys.h). */
#include "datakeys.h"

#include "crypto.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct datakey {
    char id[DATAKEY_ID_MAX + 1];
    unsigned char key[32];
};

/* Filled once at start-up (config_load) before any thread runs, then only read. */
static struct datakey ring[DATAKEYS_MAX];
static int ring_len;

void datakeys_clear(void)
{
    /* Key material does not linger in memory that is reused. */
    for (int i = 0; i < ring_len; i++)
        OPENSSL_cleanse(ring[i].key, sizeof ring[i].key);
    ring_len = 0;
}

static int id_char(int c)
{
    return isalnum(c) || c == '_' || c == '-';
}

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static const struct datakey *find(const char *id, size_t idlen)
{
    for (int i = 0; i < ring_len; i++)
        if (strlen(ring[i].id) == idlen && !memcmp(ring[i].id, id, idlen))
            return &ring[i];
    return NULL;
}

int datakeys_add(const char *spec, const char **why)
{
    const char *p = spec;
    int added = 0;
    for (;;) {
        while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p == '#') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (!*p)
            break;
        size_t idlen = 0;
        while (id_char((unsigned char)p[idlen]))
            idlen++;
        if (idlen == 0 || idlen > DATAKEY_ID_MAX || p[idlen] != ':') {
            *why = "must be entries id:hex, the id 1 to 32 of A-Z a-z 0-9 _ -";
            return -1;
        }
        if (find(p, idlen)) {
            *why = "names a key id twice";
            return -1;
        }
        if (ring_len == DATAKEYS_MAX) {
            *why = "holds more than 16 keys";
            return -1;
        }
        const char *hex = p + idlen + 1;
        struct datakey *k = &ring[ring_len];
        for (int i = 0; i < 32; i++) {
            int hi = hexval((unsigned char)hex[2 * i]),
                lo = hi < 0 ? -1 : hexval((unsigned char)hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                *why = "must give each key as 64 hexadecimal characters (32 bytes)";
                OPENSSL_cleanse(k->key, sizeof k->key);
                return -1;
            }
            k->key[i] = (unsigned char)(hi << 4 | lo);
        }
        if (id_char((unsigned char)hex[64]) || hex[64] == ':') {
            *why = "must give each key as 64 hexadecimal characters (32 bytes)";
            OPENSSL_cleanse(k->key, sizeof k->key);
            return -1;
        }
        memcpy(k->id, p, idlen);
        k->id[idlen] = 0;
        ring_len++;
        added++;
        p = hex + 64;
    }
    if (!added) {
        *why = "holds no key";
        return -1;
    }
    return 0;
}

int datakeys_count(void)
{
    return ring_len;
}

const char *datakeys_current(void)
{
    return ring_len ? ring[0].id : NULL;
}

const char *datakeys_id(int i)
{
    return i >= 0 && i < ring_len ? ring[i].id : NULL;
}

void datakeys_ad(char out[DATAKEYS_AD_MAX], const char *noun, const char *id)
{
    size_t n = (size_t)snprintf(out, DATAKEYS_AD_MAX, "%s:", noun);
    for (const char *c = id; *c && n + 1 < DATAKEYS_AD_MAX; c++)
        out[n++] = (char)tolower((unsigned char)*c);
    out[n] = 0;
}

char *datakeys_seal(const char *ad, const void *plain, size_t len)
{
    if (!ring_len)
        return NULL;
    char *body = crypto_seal(ring[0].key, ad, plain, len);
    if (!body)
        return NULL;
    size_t pl = strlen(DATAKEYS_PREFIX), il = strlen(ring[0].id), bl = strlen(body);
    char *out = malloc(pl + il + 1 + bl + 1);
    if (out) {
        memcpy(out, DATAKEYS_PREFIX, pl);
        memcpy(out + pl, ring[0].id, il);
        out[pl + il] = ':';
        memcpy(out + pl + il + 1, body, bl + 1);
    }
    free(body);
    return out;
}

/* The key id's span of a sealed value (after the prefix), or 0 when it is not one. */
static size_t key_span(const char *sealed)
{
    size_t pl = strlen(DATAKEYS_PREFIX);
    if (strncmp(sealed, DATAKEYS_PREFIX, pl) != 0)
        return 0;
    size_t n = 0;
    while (id_char((unsigned char)sealed[pl + n]))
        n++;
    return n >= 1 && n <= DATAKEY_ID_MAX && sealed[pl + n] == ':' ? n : 0;
}

int datakeys_key_of(const char *sealed, char out[DATAKEY_ID_MAX + 1])
{
    size_t n = key_span(sealed);
    if (!n)
        return -1;
    memcpy(out, sealed + strlen(DATAKEYS_PREFIX), n);
    out[n] = 0;
    return 0;
}

char *datakeys_open(const char *ad, const char *sealed, size_t *len)
{
    size_t n = key_span(sealed), pl = strlen(DATAKEYS_PREFIX);
    const struct datakey *k = n ? find(sealed + pl, n) : NULL;
    return k ? crypto_open(k->key, ad, sealed + pl + n + 1, len) : NULL;
}

/* ---------- revealing sealed values in a JSON text ---------- */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Expects the literal `lit` at p (after white space); the position after it, or NULL. */
static const char *expect(const char *p, const char *end, const char *lit)
{
    p = skip_ws(p, end);
    size_t n = strlen(lit);
    return (size_t)(end - p) >= n && !memcmp(p, lit, n) ? p + n : NULL;
}

/* A JSON string without escapes (associated data and sealed values have none): its text, from
 * p (at the opening quote, after white space) to the position after the closing quote. */
static const char *plain_string(const char *p, const char *end, const char **s, size_t *n)
{
    p = skip_ws(p, end);
    if (p >= end || *p != '"')
        return NULL;
    const char *q = ++p;
    while (q < end && *q != '"' && *q != '\\')
        q++;
    if (q >= end || *q != '"')
        return NULL;
    *s = p;
    *n = (size_t)(q - p);
    return q + 1;
}

/* Parses {"$ad": "...", "$sealed": "..."} from `open` (its '{'); on success the position after
 * its '}', with the two strings. */
static const char *sealed_object(const char *open, const char *end, const char **ad, size_t *adn,
                                 const char **val, size_t *valn)
{
    const char *p = expect(open, end, "{");
    if (p)
        p = expect(p, end, "\"$ad\"");
    if (p)
        p = expect(p, end, ":");
    if (p)
        p = plain_string(p, end, ad, adn);
    if (p)
        p = expect(p, end, ",");
    if (p)
        p = expect(p, end, "\"$sealed\"");
    if (p)
        p = expect(p, end, ":");
    if (p)
        p = plain_string(p, end, val, valn);
    if (p)
        p = expect(p, end, "}");
    return p;
}

/* Appends to a growing buffer; -1 when out of memory. */
struct grow {
    char *s;
    size_t len, cap;
};

static int grow_add(struct grow *g, const char *s, size_t n)
{
    if (g->len + n + 1 > g->cap) {
        size_t cap = (g->len + n + 1) * 2;
        char *t = realloc(g->s, cap);
        if (!t)
            return -1;
        g->s = t;
        g->cap = cap;
    }
    memcpy(g->s + g->len, s, n);
    g->len += n;
    g->s[g->len] = 0;
    return 0;
}

/* The opened text of one sealed object as a JSON string appended to g; -1 when it won't open. */
static int reveal_one(struct grow *g, const char *ad, size_t adn, const char *val, size_t valn)
{
    if (adn >= DATAKEYS_AD_MAX || valn > 64 * 1024 * 1024)
        return -1;
    char adz[DATAKEYS_AD_MAX];
    memcpy(adz, ad, adn);
    adz[adn] = 0;
    char *valz = strndup(val, valn);
    size_t plen = 0;
    char *plain = valz ? datakeys_open(adz, valz, &plen) : NULL;
    free(valz);
    json_t *js = plain ? json_stringn(plain, plen) : NULL;
    free(plain);
    char *enc = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
    json_decref(js);
    int rc = enc ? grow_add(g, enc, strlen(enc)) : -1;
    free(enc);
    return rc;
}

char *datakeys_reveal(const char *json, size_t len, size_t *outlen, int *failed)
{
    static const char marker[] = "\"$ad\"";
    const char *end = json + len, *copied = json, *at = json;
    struct grow g = {0};
    *failed = 0;
    while ((at = memmem(at, (size_t)(end - at), marker, sizeof marker - 1))) {
        /* The object's '{' is the last non-blank character before the key. */
        const char *open = at;
        while (open > copied &&
               (open[-1] == ' ' || open[-1] == '\n' || open[-1] == '\t' || open[-1] == '\r'))
            open--;
        const char *ad, *val, *after = NULL;
        size_t adn, valn;
        if (open > copied && open[-1] == '{')
            after = sealed_object(open - 1, end, &ad, &adn, &val, &valn);
        if (!after) { /* not ours (a text that merely contains the characters) */
            at += sizeof marker - 1;
            continue;
        }
        if (grow_add(&g, copied, (size_t)(open - 1 - copied)) != 0 ||
            reveal_one(&g, ad, adn, val, valn) != 0) {
            *failed = 1;
            free(g.s);
            return NULL;
        }
        copied = at = after;
    }
    if (!g.s)
        return NULL;
    if (grow_add(&g, copied, (size_t)(end - copied)) != 0) {
        *failed = 1;
        free(g.s);
        return NULL;
    }
    *outlen = g.len;
    return g.s;
}
