/* Idempotency-Key: a reserved key (its own commit, so a duplicate sees it at once), the
 * request's statements in one transaction with its stored reply (encrypted: it may hold patient
 * identities), committed before the reply is sent, and replays of stored replies. */
#include "idempotency.h"

#include "config.h"
#include "crypto.h"
#include "datakeys.h"
#include "log.h"
#include "query.h"
#include "reply.h"
#include "worker.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

DB_STMT(sql_idem_begin, 5,
        "WITH ins AS ("
        " INSERT INTO idempotency_keys (user_id, key, route, request_hash, created_at)"
        " VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (user_id, key) DO UPDATE SET route = EXCLUDED.route,"
        "  request_hash = EXCLUDED.request_hash, created_at = EXCLUDED.created_at,"
        "  status = NULL, body_enc = NULL"
        "  WHERE idempotency_keys.created_at < $5::timestamptz - interval '24 hours'"
        "   OR (idempotency_keys.status IS NULL"
        "       AND idempotency_keys.created_at < $5::timestamptz - interval '60 seconds')"
        " RETURNING 1)"
        " SELECT 'new', NULL, NULL, NULL, NULL FROM ins"
        " UNION ALL"
        " SELECT 'old', (k.route = $3 AND k.request_hash = $4)::text, k.status, k.body_enc,"
        "  k.etag"
        "  FROM idempotency_keys k"
        "  WHERE k.user_id = $1 AND k.key = $2 AND NOT EXISTS (SELECT 1 FROM ins)");
DB_STMT(sql_idem_store, 6,
        "UPDATE idempotency_keys SET status = $3, body_enc = $4, etag = $5"
        " WHERE user_id = $1 AND key = $2 AND status IS NULL AND created_at = $6");
/* Only this request's own reservation (created_at tells it from a later one that took an
 * expired reservation over), and never a stored reply: a COMMIT whose outcome was lost with the
 * connection may have stored one. */
DB_STMT(sql_idem_release, 3,
        "DELETE FROM idempotency_keys"
        " WHERE user_id = $1 AND key = $2 AND status IS NULL AND created_at = $3");

/* OVERLEG_TEST_CRASH: the process dies here, as a crash or a kill -9 could make it. */
static void test_crash(enum test_crash where, struct req *r)
{
    if (cfg.test_crash != where)
        return;
    log_error("OVERLEG_TEST_CRASH: exiting %s commit request_id=%s",
              where == CRASH_BEFORE_COMMIT ? "before" : "after", r->id);
    _exit(99);
}

static void idem_stored(struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK)
        log_warn("idempotency: reply not stored (%s) request_id=%s", res->sqlstate, r->id);
    reply_next(r);
}

/* A stored reply is sealed to its user and key (datakeys.h). */
static void idem_ad(struct req *r, char ad[DATAKEYS_AD_MAX])
{
    snprintf(ad, DATAKEYS_AD_MAX, "idempotency:%s:%s", r->user.id, r->idem_key);
}

static void idem_released(struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) /* the reservation expires after 60 s */
        log_warn("idempotency: key not released (%s) request_id=%s", res->sqlstate, r->id);
    reply_next(r);
}

/* Frees the key so the client may retry, after a reply that says nothing was done. */
static void idem_release(struct req *r)
{
    const char *p[] = {r->user.id, r->idem_key, r->now};
    db_query(r->w->pool, &sql_idem_release, p, idem_released, r);
}

static void idem_rolled_back(struct db_result *res, void *arg)
{
    (void)res; /* a failed ROLLBACK drops the connection, which rolls back too */
    idem_release(arg);
}

/* Nothing done: the transaction (if any) rolled back, the key freed. */
static void idem_undo(struct req *r)
{
    struct db_txn *t = r->txn;
    r->txn = NULL;
    if (t)
        db_txn_end(t, false, idem_rolled_back, r);
    else
        idem_release(r);
}

static void unavailable(struct req *r)
{
    reply_replace_problem(r, 503, "unavailable",
                          "The database is not available; try again shortly.");
}

static void idem_committed(struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        log_warn("idempotency: commit failed (status %d %s) request_id=%s", res->status,
                 res->sqlstate, r->id);
        unavailable(r);
        idem_release(r);
        return;
    }
    test_crash(CRASH_AFTER_COMMIT, r);
    reply_next(r);
}

static void idem_stored_in_txn(struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK || strcmp(PQcmdTuples(res->res), "1") != 0) {
        log_warn("idempotency: reply not stored (status %d %s) request_id=%s", res->status,
                 res->sqlstate, r->id);
        unavailable(r); /* its change is rolled back with it */
        idem_undo(r);
        return;
    }
    test_crash(CRASH_BEFORE_COMMIT, r);
    struct db_txn *t = r->txn;
    r->txn = NULL;
    db_txn_end(t, true, idem_committed, r);
}

/* The reply filter. The request's statements ran in r->txn; the reply is stored in that same
 * transaction, which commits before the reply is sent, so a retry finds either the reply or
 * nothing done. A server error (or a failure to store or commit) rolls back and frees the key
 * for a retry. */
static void idem_filter(struct req *r)
{
    if (!r->out.body)
        r->out.body = evbuffer_new();
    if (r->out.status >= 500) {
        idem_undo(r);
        return;
    }
    char ad[DATAKEYS_AD_MAX];
    idem_ad(r, ad);
    char *sealed = r->replay_body ? datakeys_seal(ad, r->replay_body, strlen(r->replay_body))
                                  : datakeys_seal(ad, evbuffer_pullup(r->out.body, -1),
                                                  evbuffer_get_length(r->out.body));
    char st[16];
    snprintf(st, sizeof st, "%d", r->out.status);
    const char *etag = evhttp_find_header(evhttp_request_get_output_headers(r->ev), "ETag");
    const char *p[] = {r->user.id, r->idem_key, st, sealed, etag, r->now};
    if (db_txn_begun(r->txn)) {
        db_txn_query(r->txn, &sql_idem_store, p, idem_stored_in_txn, r);
    } else { /* answered before any statement: nothing to commit with it */
        db_txn_end(r->txn, false, NULL, NULL);
        r->txn = NULL;
        db_query(r->w->pool, &sql_idem_store, p, idem_stored, r);
    }
    free(sealed);
}

static void still_running(struct req *r)
{
    req_problem(r, 409, "idempotency-conflict",
                "A request with this Idempotency-Key is still being processed.");
}

static void idem_begun(struct req *r, struct db_result *res)
{
    PGresult *pr = res->res;
    if (PQntuples(pr) == 0) {
        still_running(r);
        return;
    }
    if (strcmp(PQgetvalue(pr, 0, 0), "new") == 0) {
        int n = r->nfilters;
        reply_filter_add(r, idem_filter);
        if (r->nfilters > n) /* (only the filter commits the transaction) */
            r->txn = db_txn_new(r->w->pool);
        r->resume(r);
        return;
    }
    if (strcmp(PQgetvalue(pr, 0, 1), "true") != 0) {
        req_problem(r, 409, "idempotency-conflict",
                    "This Idempotency-Key was used for a different request.");
        return;
    }
    if (PQgetisnull(pr, 0, 2)) {
        still_running(r);
        return;
    }
    int status = atoi(PQgetvalue(pr, 0, 2));
    size_t len = 0;
    char ad[DATAKEYS_AD_MAX];
    idem_ad(r, ad);
    char *body = datakeys_open(ad, PQgetvalue(pr, 0, 3), &len);
    if (!body) {
        log_error("idempotency: stored reply cannot be decrypted request_id=%s", r->id);
        req_problem(r, 500, "internal", "The stored reply cannot be read.");
        return;
    }
    req_add_header(r, "Idempotent-Replayed", "true");
    if (!PQgetisnull(pr, 0, 4))
        req_add_header(r, "ETag", PQgetvalue(pr, 0, 4));
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, body, len);
    free(body);
    reply_start(r, status, status >= 400 ? CT_PROBLEM : CT_JSON, b);
}

void idem_begin(struct req *r, void (*next)(struct req *r))
{
    req_phase(r, REQ_IDEMPOTENCY);
    const char *key = r->route->flags & ROUTE_IDEM ? req_header(r, "Idempotency-Key") : NULL;
    if (!key) {
        next(r);
        return;
    }
    size_t kl = strlen(key);
    int ok = kl >= 1 && kl <= 255;
    for (size_t i = 0; ok && i < kl; i++)
        ok = key[i] > 32 && key[i] < 127;
    if (!ok) {
        req_problem(r, 400, "bad-request",
                    "Idempotency-Key must be 1 to 255 visible ASCII characters.");
        return;
    }
    /* The request is its path and its body in canonical form. */
    char *canon = json_dumps(r->body, JSON_COMPACT | JSON_SORT_KEYS);
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(r->ev));
    size_t pl = strlen(path), cl = strlen(canon);
    char *buf = malloc(pl + cl + 2);
    memcpy(buf, path, pl);
    buf[pl] = '\n';
    memcpy(buf + pl + 1, canon, cl + 1);
    crypto_sha256_hex(buf, pl + 1 + cl, r->idem_hash);
    free(buf);
    free(canon);
    r->idem_key = key;
    r->resume = next;
    const char *p[] = {r->user.id, key, r->route->action, r->idem_hash, r->now};
    query_send(r, &sql_idem_begin, p, idem_begun, NULL);
}
