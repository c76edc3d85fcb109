#ifndef OVERLEG_REQ_PRIVATE_H
#define OVERLEG_REQ_PRIVATE_H
/* struct req and the phases of a request, for the HTTP layer only: req.c, reply.c, query.c,
 * policy.c, session.c, idempotency.c and http.c. Domain modules see include/req.h.
 *
 * The modules form a stack; each uses only those above it in this list:
 *   req.c          the context: allocation, accessors, the phase field
 *   reply.c        replies, problem+json, reply filters and the one send path
 *   query.c        req_db and its error convention, CPU work
 *   policy.c       role masks, refusals with their audit entry
 *   session.c      bearer token, the session check alone or in front of a statement
 *   idempotency.c  Idempotency-Key: reservation, replay, and its reply filter
 *   http.c         the phase engine and evhttp's callback */
#include "req.h"
#include "router.h"

#include <arpa/inet.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>

struct evhttp_request;
struct evbuffer;

/* Where a request is. It only moves forward (req_phase): a reply never restarts an earlier
 * phase. A route marked ROUTE_SESSION_IN_STMT goes ROUTE -> SESSION_FIRST -> SESSION_OUT ->
 * AUTHORISE -> HANDLER (or, when the combined statement fails, SESSION_OUT -> AUTHENTICATE ->
 * AUTHORISE -> HANDLER, sending the statement again on its own); every other route ROUTE ->
 * AUTHENTICATE (when it has roles) -> AUTHORISE -> BODY -> IDEMPOTENCY -> HANDLER. Any phase
 * may answer, which moves the request to REPLY and then SENT. */
enum req_phase {
    REQ_ROUTE,         /* target, body size, route match, query parameters */
    REQ_SESSION_FIRST, /* ROUTE_SESSION_IN_STMT: the handler runs, the session is not checked */
    REQ_SESSION_OUT,   /* its first statement is out, behind the session check */
    REQ_AUTHENTICATE,  /* the session checked on its own */
    REQ_AUTHORISE,     /* the route's role mask; a refusal is audited */
    REQ_BODY,          /* content type and strict JSON */
    REQ_IDEMPOTENCY,   /* Idempotency-Key: reserve, or replay the stored reply */
    REQ_HANDLER,       /* the handler and its statements */
    REQ_REPLY,         /* the reply passes the reply filters */
    REQ_SENT,          /* sent; the request is freed at once */
};

/* A reply filter sees the reply in r->out and passes it on with reply_next (now or after work
 * of its own), or replaces it first (reply_replace_problem). */
typedef void (*reply_filter)(struct req *r);
#define REQ_MAX_FILTERS 4

struct req_alloc_hdr;

struct req {
    enum req_phase phase;
    enum req_phase replied_in; /* the phase the reply was given in */
    struct evhttp_request *ev;
    struct worker *w;
    const struct route *route;
    int route_idx;
    char params[ROUTE_MAX_PARAMS][ROUTE_PARAM_LEN];
    struct evkeyvalq query;
    int limit;
    json_t *body;
    struct principal user;
    char id[130];
    char ip[INET6_ADDRSTRLEN];
    char now[40];
    int64_t start_us;
    struct req_alloc_hdr *allocs;
    void *ctx;
    /* the statement a callback waits for */
    req_db_cb db_cb;
    const char *db_expect; /* SQLSTATEs db_cb answers itself */
    /* Called with the handler's first statement instead of sending it (session.c uses it to
     * put the session check in front), then cleared. */
    void (*first_stmt)(struct req *r, struct db_stmt *stmt, const char *const *params);
    /* The phase engine's next step after a phase that waits for a statement (http.c). */
    void (*resume)(struct req *r);
    /* session.c: the handler's first statement, its parameters (copied) and callback, sent
     * again on its own when the combined statement fails */
    struct db_stmt *first;
    const char **first_params;
    req_db_cb first_cb;
    const char *first_expect;
    /* policy.c: the status a refusal answers once its audit entry is written */
    int deny_status;
    void (*work_done)(struct req *, void *);
    void *work_ctx;
    /* idempotency.c */
    const char *idem_key;
    /* the transaction every statement of a request with an Idempotency-Key runs in, from its
     * first statement until its reply is stored */
    struct db_txn *txn;
    char idem_hash[65];
    const char *replay_body; /* stored for Idempotency-Key replays instead of the reply */
    /* the reply while it passes the filters */
    struct {
        int status;
        const char *ctype;
        struct evbuffer *body;
    } out;
    reply_filter filters[REQ_MAX_FILTERS];
    int nfilters, next_filter;
};

/* req.c */
struct req *req_new(struct evhttp_request *ev, struct worker *w);
void req_free(struct req *r);
/* Moves the request to phase `p`; a step back is a bug of this layer: logged, and refused
 * (false). */
bool req_phase(struct req *r, enum req_phase p);
const char *req_phase_name(enum req_phase p);
#endif
