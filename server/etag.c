/* etag - strong ETags and If-Match (RFC 9110 sections 8.8.3 and 13.1.1). */
#include "etag.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void etag_format(int64_t version, char out[ETAG_LEN])
{
    snprintf(out, ETAG_LEN, "\"%lld\"", (long long)version);
}

static int etag_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* etagc = %x21 / %x23-7E / obs-text */
static int etag_is_etagc(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c != 0x7F);
}

/* The version a strong tag's opaque value names ("<digits>", optionally negative), or 0 when it
 * names none. */
static int etag_value(const char *start, size_t len, int64_t *out)
{
    char buf[24];
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, start, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    char canon[24];
    snprintf(canon, sizeof canon, "%lld", v);
    /* ETags are opaque: only the exact text etag_format writes names a version ("05" does not). */
    if (errno || *end || strcmp(canon, buf) != 0)
        return 0;
    *out = (int64_t)v;
    return 1;
}

int etag_versions(const char *header, int64_t *out, int max)
{
    if (header == NULL)
        return -1;
    const char *p = header;
    while (etag_is_ows(*p))
        p++;
    if (*p == '*') {
        /* "*" stands alone; it cannot be part of a list. */
        p++;
        while (etag_is_ows(*p))
            p++;
        return *p == '\0' ? ETAG_ANY : -1;
    }
    int tags = 0, n = 0;
    for (;;) {
        while (etag_is_ows(*p))
            p++;
        if (*p == ',') { /* empty list elements are allowed by the #rule */
            p++;
            continue;
        }
        if (*p == '\0')
            break;
        int weak = 0;
        if (p[0] == 'W' && p[1] == '/') {
            weak = 1;
            p += 2;
        }
        if (*p != '"')
            return -1;
        const char *start = ++p;
        while (etag_is_etagc((unsigned char)*p))
            p++;
        if (*p != '"')
            return -1;
        /* Strong comparison: a weak tag never matches, even with the same opaque value. */
        if (!weak && n < max && etag_value(start, (size_t)(p - start), &out[n]))
            n++;
        else if (!weak && n >= max && etag_value(start, (size_t)(p - start), &(int64_t){0}))
            return -1; /* more versions than the caller can hold */
        p++;
        tags++;
        while (etag_is_ows(*p))
            p++;
        if (*p == ',')
            p++;
        else if (*p != '\0')
            return -1;
    }
    return tags > 0 ? n : -1;
}

int etag_if_match(const char *header, int64_t version)
{
    int64_t v[ETAG_MAX_TAGS];
    int n = etag_versions(header, v, ETAG_MAX_TAGS);
    if (n == ETAG_ANY)
        return 1;
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (v[i] == version)
            return 1;
    return 0;
}
