#ifndef OVERLEG_AGGREGATE_H
#define OVERLEG_AGGREGATE_H
/* The HTTP side of an aggregate (docs/architecture.md): consultations and cases each have one
 * SQL step function, `<aggregate>_step(now, actor, ip, request id, principal, id, If-Match
 * versions, action, args)`, that answers (result, detail, message, access, body, identity) under
 * the object's row lock. This module runs such a step, turns a refusal into its problem reply,
 * and replies an object whose sealed patient identity only the server can open. */
#include "jsonx.h"
#include "req.h"

#include <stdbool.h>

struct aggregate {
    const char *noun;     /* "consultation", "case": in messages, and the associated data of its
                             sealed texts ("<noun>:<id>", datakeys.h) */
    struct db_stmt *step; /* SELECT result, detail, message, access, body::text, identity,
                             body->>'version' FROM <aggregate>_step(9 parameters) */
    const char *const *sealed; /* the args aggregate_step seals (NULL-terminated) */
};

/* Runs `action` on the object of the path (path parameter 0) with `args` (a JSON object,
 * stolen; its texts named in a->sealed sealed to that object), then `done`. With `if_match`, the
 * versions If-Match names are compared under the step's row lock (a malformed If-Match: 400). */
void aggregate_step(struct req *r, const struct aggregate *a, const char *action, json_t *args,
                    bool if_match, req_db_cb done);

/* Answers a step that did not go ahead (or failed) and returns 1; returns 0 when it went ahead
 * ('ok'). 404 not_found, 412 stale, 409 conflict (/problems/invalid-transition; the step's
 * message, or "Not possible while the <noun> is <detail>."), 403 forbidden, 422 invalid. */
int aggregate_refused(struct req *r, const struct aggregate *a, struct db_result *res);

/* Replies an object of `a`: `json` as it is, or, when `sealed` is a sealed identity the viewer
 * may see, with its "patient" replaced by the opened identity. `version` (may be NULL) makes
 * the ETag. Sealed texts in `json` are opened as the reply leaves (reply.c). */
void aggregate_reply(struct req *r, const struct aggregate *a, int status, const char *json,
                     const char *sealed, const char *version);

/* Adds {"pii": {"field", "kind"}} to `args` when body[key] looks like it holds an identifier
 * (the first such field only): the step refuses it unless the patient consented. Returns args. */
json_t *aggregate_with_pii(json_t *args, json_t *body, const char *key);

/* Checks the body against `fields`, adding to `errors` (NULL: none yet; stolen); on any error
 * replies 422 and returns -1, else 0. */
int aggregate_body_ok(struct req *r, const struct jsonx_field *fields, json_t *errors);

/* An action whose body is {"reason"} (required, not blank, at most 2000 characters, guarded as
 * the patient's mode asks), If-Match honoured: decline, withdraw, escalate, deescalate. */
void aggregate_reason(struct req *r, const struct aggregate *a, const char *action, req_db_cb done);
#endif
