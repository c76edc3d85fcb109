/* Idempotency-Key: a reserved key, a reply filter that stores the reply (encrypted: it may hold
 * patient identities) before it is sent, and replays of stored replies. */
#include "idempotency.h"

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
DB_STMT(sql_idem_store, 5,
        "UPDATE idempotency_keys SET status = $3, body_enc = $4, etag = $5"
        " WHERE user_id = $1 AND key = $2");
DB_STMT(sql_idem_release, 2,
        "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status IS NULL");

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

/* The reply filter: stores the reply before it is sent, or frees the key after a server error
 * so the client can retry. */
static void idem_filter(struct req *r)
{
    if (!r->out.body)
        r->out.body = evbuffer_new();
    if (r->out.status >= 500) {
        const char *p[] = {r->user.id, r->idem_key};
        db_query(r->w->pool, &sql_idem_release, p, idem_stored, r);
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
    const char *p[] = {r->user.id, r->idem_key, st, sealed, etag};
    db_query(r->w->pool, &sql_idem_store, p, idem_stored, r);
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
        reply_filter_add(r, idem_filter);
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
