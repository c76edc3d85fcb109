#ifndef OVERLEG_QUERY_H
#define OVERLEG_QUERY_H
/* Statements of a request (query.c): req_db's error convention (include/req.h) and the layer's
 * own statements. */
#include "req_private.h"

/* Sends `stmt` for the HTTP layer itself (authentication, idempotency, refusals): as req_db_expect,
 * but never the handler's first statement, and in any phase before the reply. */
void query_send(struct req *r, struct db_stmt *stmt, const char *const *params, req_db_cb cb,
                const char *expect);
/* Answers a result that is neither DB_OK nor expected: 503 when the database is unavailable,
 * slow or busy, req_db_failed (500) for a query error. */
void query_failed(struct req *r, struct db_result *res);
#endif
