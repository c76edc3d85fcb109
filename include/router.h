#ifndef OVERLEG_ROUTER_H
#define OVERLEG_ROUTER_H
/* The routing table: every endpoint, who may call it and what it accepts, in one place. */
#include "req.h"

#include <stddef.h>

#define ROUTE_BODY 1u       /* takes a JSON object body */
#define ROUTE_IDEM 2u       /* honours Idempotency-Key */
#define ROUTE_PAGED 4u      /* accepts `limit` and `cursor` */
#define ROUTE_TEST_CLOCK 8u /* exists only with OVERLEG_TEST_CLOCK=1 */
/* The handler runs before the session is checked, and its first statement checks it in the same
 * round trip (session.c, with_session). Only for routes without a body or Idempotency-Key whose
 * handler, before that statement, does nothing but validate and answer: it must not read
 * req_user(), and what it answers first is held until the session is checked alone (401, or
 * that answer). Its first statement must be a plain SELECT (it becomes a subquery). */
#define ROUTE_SESSION_IN_STMT 16u

#define ROUTE_MAX_PARAMS 4
#define ROUTE_PARAM_LEN 64

struct route {
    const char *method;
    /* "/v1/users/{id:uuid}": a {..} segment is a parameter; with ":uuid", one that is not a
     * UUID is answered 404 before the handler runs (http.c) */
    const char *pattern;
    const char *action; /* audit action and metrics label */
    unsigned roles;     /* 0: no authentication */
    unsigned flags;
    const char *const *query; /* allowed query parameters besides limit/cursor, NULL-terminated */
    req_handler handler;
};

extern const struct route routes[];
extern const int route_count;

/* Returns the index of the matching route and fills `params`; -1 when no route has this path,
 * -2 when the path exists for other methods (their names are written to `allow`). Routes with
 * any of the `hidden` flags do not exist. */
int router_match(const char *method, const char *path, char params[][ROUTE_PARAM_LEN], char *allow,
                 size_t allowsz, unsigned hidden);
/* The number of the first parameter whose value does not have the type its pattern gives it,
 * or -1 when all do. */
int router_bad_param(const struct route *rt, char params[][ROUTE_PARAM_LEN]);
/* The object the path names, in the singular: "/v1/consultations/{id}/accept" ->
 * "consultation". Returns its length, 0 when the pattern has no parameter (or `sz` is short). */
size_t router_subject_type(const struct route *rt, char *type, size_t sz);
#endif
