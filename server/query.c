/* The statements of a request: req_db and its one error convention (callbacks see DB_OK, or an
 * SQLSTATE they asked for; everything else is answered here), and CPU work off the loop. */
#include "query.h"

#include "log.h"
#include "validate.h"
#include "worker.h"
#include "workpool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* statement_timeout: the database is too slow, not a bug: 503 like a timeout. */
#define SQLSTATE_QUERY_CANCELED "57014"

void query_failed(struct req *r, struct db_result *res)
{
    if (res->status == DB_ERR_QUERY && strcmp(res->sqlstate, SQLSTATE_QUERY_CANCELED) != 0)
        req_db_failed(r, res);
    else
        req_problem(r, 503, "unavailable", "The database is not available; try again shortly.");
}

static void query_done(struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status == DB_OK ||
        (res->status == DB_ERR_QUERY && strcmp(res->sqlstate, SQLSTATE_QUERY_CANCELED) != 0 &&
         val_in_list(r->db_expect, res->sqlstate)))
        r->db_cb(r, res);
    else
        query_failed(r, res);
}

void query_send(struct req *r, struct db_stmt *stmt, const char *const *params, req_db_cb cb,
                const char *expect)
{
    r->db_cb = cb;
    r->db_expect = expect;
    if (r->txn)
        db_txn_query(r->txn, stmt, params, query_done, r);
    else
        db_query(r->w->pool, stmt, params, query_done, r);
}

void req_db_expect(struct req *r, struct db_stmt *stmt, const char *const *params, req_db_cb cb,
                   const char *sqlstates)
{
    const char *misuse = r->phase == REQ_SESSION_OUT
                             ? "sent a second statement while its first one and the session "
                               "check are out"
                         : r->phase >= REQ_REPLY ? "sent a statement after answering"
                                                 : NULL;
    if (misuse) { /* a handler bug: refused; the request is answered as it is */
        log_error("%s %s (phase %s) request_id=%s", r->route ? r->route->pattern : "-", misuse,
                  req_phase_name(r->phase), r->id);
        return;
    }
    if (r->first_stmt) {
        void (*first)(struct req *, struct db_stmt *, const char *const *) = r->first_stmt;
        r->first_stmt = NULL;
        r->db_cb = cb;
        r->db_expect = sqlstates;
        first(r, stmt, params);
        return;
    }
    query_send(r, stmt, params, cb, sqlstates);
}

void req_db(struct req *r, struct db_stmt *stmt, const char *const *params, req_db_cb cb)
{
    req_db_expect(r, stmt, params, cb, NULL);
}

void req_db_failed(struct req *r, struct db_result *res)
{
    const char *route = r->route ? r->route->pattern : "-";
    if (res->status == DB_OK) {
        log_error("unexpected result: %d rows route=%s request_id=%s", PQntuples(res->res), route,
                  r->id);
    } else {
        /* Only the SQLSTATE and names: PostgreSQL's message and DETAIL can quote row values,
         * which may be personal data. */
        const char *constraint =
            res->res ? PQresultErrorField(res->res, PG_DIAG_CONSTRAINT_NAME) : NULL;
        const char *table = res->res ? PQresultErrorField(res->res, PG_DIAG_TABLE_NAME) : NULL;
        log_error("query failed: sqlstate=%s table=%s constraint=%s route=%s request_id=%s",
                  res->sqlstate, table ? table : "-", constraint ? constraint : "-", route, r->id);
    }
    req_problem(r, 500, "internal", "The request could not be completed.");
}

int req_rows(struct req *r, struct db_result *res, int n)
{
    int got = PQntuples(res->res);
    if (got == n)
        return 0;
    log_error("expected %d row%s, got %d route=%s request_id=%s", n, n == 1 ? "" : "s", got,
              r->route ? r->route->pattern : "-", r->id);
    req_problem(r, 500, "internal", "The request could not be completed.");
    return REQ_ANSWERED;
}

void req_reply_row(struct req *r, struct db_result *res, int status, const char *what)
{
    if (res->status != DB_OK) { /* an expected SQLSTATE the caller left to us */
        req_db_failed(r, res);
        return;
    }
    if (PQntuples(res->res) != 1) {
        char detail[96];
        snprintf(detail, sizeof detail, "No such %s.", what);
        req_problem(r, 404, "not-found", detail);
        return;
    }
    req_reply_raw(r, status, PQgetvalue(res->res, 0, 0), (size_t)PQgetlength(res->res, 0, 0));
}

/* ---------- CPU work ---------- */

struct work_hop {
    struct req *r;
    void (*work)(void *);
    void *ctx;
};

static void work_run(void *arg)
{
    struct work_hop *h = arg;
    h->work(h->ctx);
}

static void work_back(void *arg)
{
    struct work_hop *h = arg;
    struct req *r = h->r;
    free(h);
    r->work_done(r, r->work_ctx);
}

int req_work(struct req *r, void (*work)(void *ctx), void *ctx,
             void (*done)(struct req *r, void *ctx))
{
    struct work_hop *h = malloc(sizeof *h);
    h->r = r;
    h->work = work;
    h->ctx = ctx;
    r->work_done = done;
    r->work_ctx = ctx;
    if (workpool_submit(r->w->base, work_run, work_back, h) != 0) {
        free(h);
        return -1;
    }
    return 0;
}
