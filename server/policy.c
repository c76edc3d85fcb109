/* Who may use which route: role masks from the route table, and refusals with their audit
 * entry. Which object a principal may see is SQL's part (<obj>_access, <obj>_visible). */
#include "policy.h"

#include "log.h"
#include "query.h"
#include "reply.h"
#include "validate.h"
#include "worker.h"

#include <string.h>

DB_STMT(sql_audit_one, 8,
        "INSERT INTO audit_log SELECT * FROM audit_entry($1, $2, $3, $4, $5, $6, $7, $8)");

/* The object a refused request's path names, as in "/v1/consultations/{id}/accept" ->
 * ("consultation", id); NULL when it names none. */
static const char *route_subject(const struct req *r, char *type, size_t sz)
{
    const char *id = r->params[0];
    if (!val_uuid(id) || router_subject_type(r->route, type, sz) == 0)
        return NULL;
    return id;
}

/* The audit entry's parameters; `p` has room for 8. */
static void audit_params(struct req *r, const char **p, const char *outcome,
                         const char *subject_type, const char *subject_id)
{
    const char *q[] = {REQ_AUDIT_PARAMS(r), r->route->action, subject_type, subject_id, outcome};
    memcpy(p, q, sizeof q);
}

void req_audit(struct req *r, const char *outcome, const char *subject_type, const char *subject_id,
               req_db_cb cb)
{
    const char *p[8];
    audit_params(r, p, outcome, subject_type, subject_id);
    req_db(r, &sql_audit_one, p, cb);
}

static void deny_written(struct req *r, struct db_result *res)
{
    (void)res;
    if (r->deny_status == 403)
        req_problem(r, 403, "forbidden", "Your role may not use this endpoint.");
    else
        req_problem(r, 404, "not-found", "No such object.");
}

void req_deny(struct req *r, int status, const char *subject_type, const char *subject_id)
{
    const char *p[8];
    r->deny_status = status;
    audit_params(r, p, "denied", subject_type, subject_id);
    query_send(r, &sql_audit_one, p, deny_written, NULL);
}

bool policy_role_ok(const struct req *r)
{
    return !r->route->roles || (r->route->roles & r->user.role);
}

bool policy_authorise(struct req *r)
{
    req_phase(r, REQ_AUTHORISE);
    if (policy_role_ok(r))
        return true;
    char type[48];
    const char *id = route_subject(r, type, sizeof type);
    req_deny(r, 403, id ? type : NULL, id);
    return false;
}

static void held_refusal_written(struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status == DB_OK) {
        reply_replace_problem(r, 403, "forbidden", "Your role may not use this endpoint.");
    } else {
        log_error("refusal not audited: status=%d sqlstate=%s request_id=%s", res->status,
                  res->sqlstate, r->id);
        reply_replace_problem(r, 500, "internal", "The request could not be completed.");
    }
    reply_next(r);
}

void policy_refuse_held(struct req *r)
{
    char type[48];
    const char *p[8], *id = route_subject(r, type, sizeof type);
    audit_params(r, p, "denied", id ? type : NULL, id);
    db_query(r->w->pool, &sql_audit_one, p, held_refusal_written, r);
}
