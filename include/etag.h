/* etag - strong ETags derived from a row version, and If-Match evaluation (RFC 9110). */
#ifndef OVERLEG_ETAG_H
#define OVERLEG_ETAG_H

#include <stdint.h>

#define ETAG_LEN 32

/* Writes "\"<version>\"" (with the double quotes) to out. */
void etag_format(int64_t version, char out[ETAG_LEN]);

/* 1 when the If-Match header value is "*" or lists the strong ETag of version, 0 when it does
 * not (weak W/"..." tags never match: If-Match uses strong comparison), -1 when malformed
 * (including NULL or empty). */
int etag_if_match(const char *header, int64_t version);

/* The versions an If-Match header names with strong ETags, for a check made elsewhere (in SQL,
 * under the row lock): returns how many were written to `out` (0 when the tags name none),
 * ETAG_ANY for "*", or -1 when the header is malformed or names more than `max`. */
#define ETAG_ANY (-2)
#define ETAG_MAX_TAGS 64
int etag_versions(const char *header, int64_t *out, int max);

#endif
