/* The session: the bearer token, its check on its own (sql_auth, every route with roles but
 * the directory's reads) and in front of a statement (with_session, ROUTE_SESSION_IN_STMT: the
 * directory's reads, the most frequent requests, save a round trip). The directory benchmark
 * (tests/bench/directory_bench.py) reads sql_auth and WITH_SESSION_SQL from this file. */
#include "session.h"

#include "crypto.h"
#include "log.h"
#include "policy.h"
#include "query.h"
#include "reply.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Who a session's bearer is, while the session is valid: the principal's columns and the test of
 * validity after the token hash, for the check on its own (sql_auth) and in front of a statement
 * (with_session). A session row carries its user's principal and is revoked when the user is
 * deactivated or the principal changes (sql/0001_foundation.sql), so the check in front of a
 * statement reads that row alone; sql_auth joins the user for its JSON and, having it at hand,
 * tests `active`. */
#define PRINCIPAL_COLS "s.user_id, s.organisation_id, s.region, s.role"
#define PRINCIPAL_NCOLS 4
#define SESSION_VALID_AT " AND s.revoked_at IS NULL AND s.expires_at > "

DB_STMT(sql_auth, 2,
        "SELECT " PRINCIPAL_COLS ", user_json(u)::text FROM sessions s JOIN users u"
        " ON u.id = s.user_id WHERE s.token_hash = $1" SESSION_VALID_AT "$2 AND u.active");

/* with_session()'s statement around `stmt` (%s); its two $%d are the token's hash and the clock.
 * a's columns are renamed so that no name of `stmt` can resolve to them. The directory benchmark
 * (tests/bench/directory_bench.py) reads this text too. */
#define WITH_SESSION_SQL                                                                           \
    "SELECT st.*, a.* FROM (SELECT " PRINCIPAL_COLS                                                \
    " FROM sessions s WHERE s.token_hash = $%d" SESSION_VALID_AT                                   \
    "$%d OFFSET 0) a(overleg_user_id, overleg_organisation_id,"                                    \
    " overleg_region, overleg_role) LEFT JOIN LATERAL (SELECT q.*, true AS overleg_row"            \
    " FROM (%s) q LIMIT CASE WHEN a.overleg_user_id IS NOT NULL THEN NULL::bigint END) st"         \
    " ON true"

/* `stmt` behind the session check, for the first statement of a ROUTE_SESSION_IN_STMT handler.
 * Its parameters, then the token hash and the clock; its columns, then one that is true on each
 * of its rows, then PRINCIPAL_COLS. No row when the session is not valid, and then `stmt` never
 * runs: the LIMIT refers to the session's row, so `stmt` is the inner side of a nested loop over
 * it. One row without `stmt`'s values when the session is valid and `stmt` finds nothing. */
static struct db_stmt *with_session(struct db_stmt *stmt)
{
    struct db_stmt *v = atomic_load(&stmt->derived);
    if (v)
        return v;
    static const char fmt[] = WITH_SESSION_SQL;
    int n = stmt->nparams, len = snprintf(NULL, 0, fmt, n + 1, n + 2, stmt->sql);
    v = calloc(1, sizeof *v + (size_t)len + 1);
    char *sql = (char *)(v + 1);
    snprintf(sql, (size_t)len + 1, fmt, n + 1, n + 2, stmt->sql);
    v->sql = sql;
    v->nparams = n + 2;
    struct db_stmt *none = NULL;
    if (!atomic_compare_exchange_strong(&stmt->derived, &none, v)) {
        free(v); /* another thread built it first */
        v = none;
    }
    return v;
}

static void unauthorized(struct req *r)
{
    req_problem(r, 401, "unauthorized", "Sign in and send Authorization: Bearer <token>.");
}

int session_bearer(struct req *r)
{
    const char *h = req_header(r, "Authorization");
    const char *tok = h && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 : NULL;
    while (tok && *tok == ' ')
        tok++;
    size_t tl = tok ? strlen(tok) : 0;
    if (tl < 16 || tl > 256) {
        unauthorized(r);
        return REQ_ANSWERED;
    }
    crypto_sha256_hex(tok, tl, r->user.token_hash);
    return 0;
}

/* Fills the principal from PRINCIPAL_COLS, starting at column `col` of row 0. */
static void set_principal(struct req *r, PGresult *res, int col)
{
    snprintf(r->user.id, sizeof r->user.id, "%s", PQgetvalue(res, 0, col));
    snprintf(r->user.organisation_id, sizeof r->user.organisation_id, "%s",
             PQgetvalue(res, 0, col + 1));
    snprintf(r->user.region, sizeof r->user.region, "%s", PQgetvalue(res, 0, col + 2));
    r->user.role = role_bit(PQgetvalue(res, 0, col + 3));
    snprintf(r->user.role_name, sizeof r->user.role_name, "%s", PQgetvalue(res, 0, col + 3));
}

/* sql_auth's row: the principal and the user's JSON. */
static void set_user(struct req *r, PGresult *res)
{
    set_principal(r, res, 0);
    free(r->user.user_json);
    r->user.user_json = strdup(PQgetvalue(res, 0, PRINCIPAL_NCOLS));
}

/* ---------- the session on its own ---------- */

static void auth_found(struct req *r, struct db_result *res)
{
    if (PQntuples(res->res) != 1) {
        unauthorized(r);
        return;
    }
    set_user(r, res->res);
    r->resume(r);
}

void session_authenticate(struct req *r, void (*next)(struct req *r))
{
    if (r->phase != REQ_AUTHENTICATE)
        req_phase(r, REQ_AUTHENTICATE);
    r->resume = next;
    const char *p[] = {r->user.token_hash, r->now};
    query_send(r, &sql_auth, p, auth_found, NULL);
}

/* ---------- in front of the handler's first statement ---------- */

/* After a failed combined statement and the session checked alone: the handler's statement on
 * its own, so its callback meets the statement's own result or error. */
static void resend_first(struct req *r)
{
    if (!policy_authorise(r))
        return;
    req_phase(r, REQ_HANDLER);
    query_send(r, r->first, r->first_params, r->first_cb, r->first_expect);
}

/* The result of with_session(stmt): the user, then `stmt`'s own result for the handler. */
static void session_checked(struct db_result *res, void *arg)
{
    struct req *r = arg;
    req_phase(r, REQ_AUTHENTICATE);
    if (res->status == DB_ERR_QUERY && strcmp(res->sqlstate, "57014") != 0) {
        /* Who asked is not known: check the session alone, then send the statement alone. */
        log_warn("statement with session check failed: sqlstate=%s route=%s request_id=%s",
                 res->sqlstate, r->route->pattern, r->id);
        session_authenticate(r, resend_first);
        return;
    }
    if (res->status != DB_OK) {
        query_failed(r, res); /* 503 */
        return;
    }
    PGresult *pr = res->res;
    if (PQntuples(pr) == 0) {
        unauthorized(r);
        return;
    }
    int principal = PQnfields(pr) - PRINCIPAL_NCOLS;
    set_principal(r, pr, principal);
    if (!policy_authorise(r))
        return;
    req_phase(r, REQ_HANDLER);
    if (PQgetisnull(pr, 0, principal - 1)) { /* `stmt` found no rows */
        struct db_result none = {DB_OK, PQcopyResult(pr, PG_COPYRES_ATTRS), ""};
        r->first_cb(r, &none);
        PQclear(none.res);
        return;
    }
    r->first_cb(r, res);
}

/* req_db's first statement of the handler: with the session check in front, one round trip. */
static void first_statement(struct req *r, struct db_stmt *stmt, const char *const *params)
{
    req_phase(r, REQ_SESSION_OUT);
    int n = stmt->nparams;
    /* Kept (copied: they may live on the handler's stack) to send `stmt` again on its own. */
    size_t size = sizeof(char *) * (size_t)(n + 2);
    for (int i = 0; i < n; i++)
        size += params[i] ? strlen(params[i]) + 1 : 0;
    const char **p = req_alloc(r, size);
    char *text = (char *)(p + n + 2);
    for (int i = 0; i < n; i++) {
        if (!params[i])
            continue;
        size_t len = strlen(params[i]) + 1;
        p[i] = memcpy(text, params[i], len);
        text += len;
    }
    p[n] = r->user.token_hash;
    p[n + 1] = r->now;
    r->first = stmt;
    r->first_params = p;
    r->first_cb = r->db_cb;
    r->first_expect = r->db_expect;
    db_query(r->w->pool, with_session(stmt), p, session_checked, r);
}

static void held_checked(struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        log_warn("session check for a held reply failed: status=%d sqlstate=%s request_id=%s",
                 res->status, res->sqlstate, r->id);
        if (res->status == DB_ERR_QUERY && strcmp(res->sqlstate, "57014") != 0)
            reply_replace_problem(r, 500, "internal", "The request could not be completed.");
        else
            reply_replace_problem(r, 503, "unavailable",
                                  "The database is not available; try again shortly.");
    } else if (PQntuples(res->res) != 1) {
        reply_replace_problem(r, 401, "unauthorized",
                              "Sign in and send Authorization: Bearer <token>.");
    } else {
        set_user(r, res->res);
        if (!policy_role_ok(r)) {
            policy_refuse_held(r);
            return;
        }
    }
    reply_next(r);
}

/* A reply given before the handler's first statement waits for the session, checked alone, so
 * that a caller without a valid session gets 401 first, as on every other route. */
static void hold_for_session(struct req *r)
{
    if (r->replied_in != REQ_SESSION_FIRST) {
        reply_next(r);
        return;
    }
    const char *p[] = {r->user.token_hash, r->now};
    db_query(r->w->pool, &sql_auth, p, held_checked, r);
}

void session_in_stmt(struct req *r)
{
    r->first_stmt = first_statement;
    reply_filter_add(r, hold_for_session);
}
