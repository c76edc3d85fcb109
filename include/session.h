#ifndef OVERLEG_SESSION_H
#define OVERLEG_SESSION_H
/* Who is asking (session.c): the bearer token, the session checked on its own (sql_auth), or in
 * front of a ROUTE_SESSION_IN_STMT handler's first statement (with_session), one round trip. */
#include "req_private.h"

/* The bearer token's hash into r->user.token_hash; answers 401 and returns REQ_ANSWERED when
 * there is none. */
int session_bearer(struct req *r);
/* REQ_AUTHENTICATE: checks the session on its own, then `next`; 401 when it is not valid. */
void session_authenticate(struct req *r, void (*next)(struct req *r));
/* REQ_SESSION_FIRST, before the handler runs: its first req_db goes out behind the session
 * check; the callback then runs after REQ_AUTHORISE, in REQ_HANDLER. A reply the handler gives
 * before that statement is held by a reply filter until the session is checked on its own: 401,
 * or the held reply. The handler never runs twice. */
void session_in_stmt(struct req *r);
#endif
