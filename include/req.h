#ifndef OVERLEG_REQ_H
#define OVERLEG_REQ_H
/* The request context: what domain modules see of an HTTP request. It owns the parsed body,
 * path parameters and every allocation made with req_alloc, and frees them once the reply is
 * sent. Domain modules use only this interface, never evhttp (it is implemented by req.c,
 * reply.c, query.c and policy.c; include/req_private.h is the HTTP layer's side). Exactly one
 * req_reply_* or req_problem* call ends each request; the request must not be touched
 * afterwards. A second reply is refused and logged. */
#include "db.h"
#include "roles.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct req;
typedef void (*req_handler)(struct req *r);
typedef void (*req_db_cb)(struct req *r, struct db_result *res);

/* What a function that may answer the request returns when it did: the caller returns too. */
#define REQ_ANSWERED (-1)

/* The signed-in user, filled by authentication before the handler runs (on a route marked
 * ROUTE_SESSION_IN_STMT: before the callback of the handler's first statement). */
struct principal {
    char id[40];
    char organisation_id[40];
    char region[72];
    char token_hash[72];
    unsigned role;
    char role_name[16];
    char *user_json; /* the user as GET /v1/me shows it */
};

/* Accessors. Strings live as long as the request. */
const char *req_param(struct req *r, int i);           /* path parameter {..} number i */
const char *req_query(struct req *r, const char *key); /* query parameter or NULL */
int req_limit(struct req *r);                          /* validated `limit`, default 20 */
json_t *req_body(struct req *r);                       /* parsed JSON object or NULL */
const struct principal *req_user(struct req *r);
const char *req_header(struct req *r, const char *name);
const char *req_id(struct req *r);
const char *req_ip(struct req *r);
const char *req_now(struct req *r); /* the application clock at request start, as SQL param */
const char *req_action(struct req *r);
void *req_alloc(struct req *r, size_t n); /* zeroed, freed with the request */
/* One handler-defined state pointer, usually from req_alloc, carried between callbacks. */
void req_set_ctx(struct req *r, void *ctx);
void *req_ctx(struct req *r);
char *req_strdup(struct req *r, const char *s);
/* The request takes over one reference to `j` and drops it when it ends. */
void req_keep_json(struct req *r, json_t *j);

/* The signed-in user's id, or NULL before authentication (an SQL NULL actor). */
const char *req_actor(struct req *r);
/* The four leading parameters of every audited statement: $1 now, $2 actor, $3 ip, $4 request. */
#define REQ_AUDIT_PARAMS(r) req_now(r), req_actor(r), req_ip(r), req_id(r)

/* Replies. */
void req_add_header(struct req *r, const char *key, const char *value);
void req_reply_json(struct req *r, int status, json_t *body); /* steals the reference */
void req_reply_raw(struct req *r, int status, const char *json, size_t len);
void req_reply_text(struct req *r, int status, const char *content_type, const char *body,
                    size_t len);
void req_reply_empty(struct req *r, int status);
/* problem+json; `slug` is the last part of /problems/<slug>. `errors` (stolen, may be NULL). */
void req_problem(struct req *r, int status, const char *slug, const char *detail);
void req_problem_errors(struct req *r, int status, const char *slug, const char *detail,
                        json_t *errors);
/* With Idempotency-Key: store `json` (copied, its sealed texts opened) for replays instead of
 * the reply itself, e.g. a reply without the patient's identity, which a replay must not hand
 * out unaudited. */
void req_replay_body(struct req *r, const char *json);
/* 400 /problems/bad-query naming one query parameter. */
void req_bad_query(struct req *r, const char *param, const char *message);
/* `limit` + 1 as an SQL parameter: one row more tells whether another page follows. */
const char *req_limit_param(struct req *r);
/* 422 with the collected field errors. */
void req_invalid(struct req *r, json_t *errors);
/* Writes a `denied` audit entry for this request, then answers `status` (403 or 404). */
void req_deny(struct req *r, int status, const char *subject_type, const char *subject_id);
/* Writes one audit entry (the route's action) on its own, then calls `cb`. For events with no
 * other change to go with them; changes write their entry in their own statement. */
void req_audit(struct req *r, const char *outcome, const char *subject_type, const char *subject_id,
               req_db_cb cb);

/* Runs `stmt` on this thread's pool, and `cb` with its result. `cb` sees DB_OK only: the rest
 * is answered here, so a callback never checks the status. Unavailability, timeouts (also
 * statement_timeout) and a full queue: 503. A query error: logged by SQLSTATE, table and
 * constraint (never PostgreSQL's message, which can quote personal data), 500. */
void req_db(struct req *r, struct db_stmt *stmt, const char *const *params, req_db_cb cb);
/* req_db, but `cb` also sees DB_ERR_QUERY when the SQLSTATE is one of `sqlstates`
 * (space-separated, e.g. "23505"; "*" for any) and answers it itself. */
void req_db_expect(struct req *r, struct db_stmt *stmt, const char *const *params, req_db_cb cb,
                   const char *sqlstates);
/* 0 when the result has `n` rows; else logs "expected n rows, got m", answers 500 and returns
 * REQ_ANSWERED. For statements that always return `n` rows when they succeed. */
int req_rows(struct req *r, struct db_result *res, int n);
/* Replies column 0 of the single row as JSON with `status`; 404 "No such <what>." when there is
 * no row. */
void req_reply_row(struct req *r, struct db_result *res, int status, const char *what);
/* The answer for a result nobody expected: logged as what it is (a query error by its
 * SQLSTATE, or a row count), 500. req_db answers query errors itself: callbacks need this only
 * for an expected SQLSTATE they do not handle after all. */
void req_db_failed(struct req *r, struct db_result *res);

/* Runs `work(ctx)` on the CPU worker pool (argon2id) and then `done` on the request's loop.
 * Returns -1, having done nothing, when the pool's queue is full: the caller answers 503. */
int req_work(struct req *r, void (*work)(void *ctx), void *ctx,
             void (*done)(struct req *r, void *ctx));

/* Builds `{"items":[...],"next_cursor":...}` from rows whose column `json_col` holds one item;
 * when there are more than `limit` rows, the cursor is made of the `nkeys` columns starting at
 * `key_col` of row `limit`-1. */
void req_reply_page(struct req *r, PGresult *res, int json_col, int key_col, int nkeys);
/* Decodes the `cursor` query parameter into `n` keys (NULL when absent). Replies 400 and
 * returns REQ_ANSWERED when it is malformed. */
int req_cursor(struct req *r, size_t n, const char **keys);
/* A (timestamp, id) cursor: keys[0] PostgreSQL's text of a UTC timestamp, keys[1] a UUID; 400
 * and REQ_ANSWERED otherwise. */
int req_time_cursor(struct req *r, const char **keys);
/* A req_db callback for the pages such a cursor reads: rows of (item JSON, timestamp, id). */
void req_reply_time_page(struct req *r, struct db_result *res);
#endif
