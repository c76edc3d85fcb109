#ifndef OVERLEG_QSTRING_H
#define OVERLEG_QSTRING_H
/* qstring - the query string against the parameters a route declares. Pure but for allocation,
 * so it is unit tested and fuzzed (tests/fuzz/query.c). */
#include "router.h"

#include <jansson.h>

struct evkeyvalq;

/* Checks a request's query string against the parameters `rt` declares: each one known, given
 * once and UTF-8; `limit` an integer 1-100, written to *limit (20 when absent). Parses into `q`
 * (the caller frees it with evhttp_clear_headers, also after a failure) and appends
 * {"field","message"} objects to `errors`. Returns -1 when the string does not parse or has a
 * parameter name that is not UTF-8 (which no error could name), else the number of errors
 * added. */
int qstring_check(const struct route *rt, const char *uri_query, struct evkeyvalq *q,
                  json_t *errors, int *limit);
#endif
