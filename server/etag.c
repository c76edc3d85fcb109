/* etag - strong ETags and If-Match (RFC 9110 sections 8.8.3 and 13.1.1). */
#include "etag.h"

#include <stdio.h>
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

int etag_if_match(const char *header, int64_t version)
{
    if (header == NULL)
        return -1;
    char mine[ETAG_LEN];
    etag_format(version, mine);
    size_t mine_len = strlen(mine);

    const char *p = header;
    while (etag_is_ows(*p))
        p++;
    if (*p == '*') {
        /* "*" stands alone; it cannot be part of a list. */
        p++;
        while (etag_is_ows(*p))
            p++;
        return *p == '\0' ? 1 : -1;
    }

    int tags = 0, match = 0;
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
        const char *start = p;
        p++;
        while (etag_is_etagc((unsigned char)*p))
            p++;
        if (*p != '"')
            return -1;
        p++;
        tags++;
        /* Strong comparison: a weak tag never matches, even with the same opaque value. */
        if (!weak && (size_t)(p - start) == mine_len && memcmp(start, mine, mine_len) == 0)
            match = 1;
        while (etag_is_ows(*p))
            p++;
        if (*p == ',')
            p++;
        else if (*p != '\0')
            return -1;
    }
    return tags > 0 ? match : -1;
}
