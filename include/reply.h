#ifndef OVERLEG_REPLY_H
#define OVERLEG_REPLY_H
/* The reply path of the HTTP layer (reply.c): every req_reply_* and req_problem* call lands in
 * reply_start, which passes the reply through the request's reply filters (as nginx's output
 * filters) and then sends it, once. */
#include "req_private.h"

struct evbuffer;

#define CT_JSON "application/json; charset=utf-8"
#define CT_PROBLEM "application/problem+json; charset=utf-8"

/* Installs `f`; filters run in the order they were added. Install before the handler runs. */
void reply_filter_add(struct req *r, reply_filter f);
/* Starts the reply (`body` is taken over, may be NULL). A second reply, or one while the
 * handler's first statement and its session check are out, is refused and logged. */
void reply_start(struct req *r, int status, const char *ctype, struct evbuffer *body);
/* Called by a filter: the next filter, or the send when none is left. */
void reply_next(struct req *r);
/* Called by a filter: replaces the reply in r->out, and the headers set so far, with a
 * problem+json answer. */
void reply_replace_problem(struct req *r, int status, const char *slug, const char *detail);
#endif
