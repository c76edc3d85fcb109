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

#endif
