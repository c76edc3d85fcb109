/* HTTP core: the request pipeline (route, query, auth, role, content type, body, idempotency)
 * and replies. Domain modules see requests only through req.h; serve.c runs the loops. */
#include "http.h"

#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "cursor.h"
#include "handlers.h"
#include "jsonx.h"
#include "log.h"
#include "metrics.h"
#include "req.h"
#include "router.h"
#include "validate.h"
#include "workpool.h"
#include "worker.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bodies over MAX_BODY get our 413 problem+json (serve.c sets evhttp's own, higher limits). */
#define MAX_BODY (1024 * 1024)
#define JSON_MAX_DEPTH 32

struct alloc {
    struct alloc *next;
    void (*release)(void *); /* when set, called with `target` as the request ends */
    void *target;
    max_align_t data[];
};

struct req {
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
    struct alloc *allocs;
    req_db_cb db_cb;
    void (*work_done)(struct req *, void *);
    void *work_ctx;
    /* idempotency: set when this request reserved a key */
    const char *idem_key;
    char idem_hash[65];
    bool idem_reserved;
    /* a reply waiting for the idempotency store */
    int pend_status;
    struct evbuffer *pend_body;
    const char *pend_ctype;
    int deny_status;
    void *ctx;
    const char *replay_body; /* stored for Idempotency-Key replays instead of the reply */
    /* ROUTE_SESSION_IN_STMT: the handler runs before the session is checked; its first
     * statement checks it (req_db). Until then, anything else it does starts over (restart). */
    bool session_unchecked;
    bool session_pending; /* that statement has not answered yet */
};

/* ---------- small accessors ---------- */

const char *req_param(struct req *r, int i)
{
    return r->params[i];
}
const char *req_query(struct req *r, const char *key)
{
    return evhttp_find_header(&r->query, key);
}
int req_limit(struct req *r)
{
    return r->limit;
}
json_t *req_body(struct req *r)
{
    return r->body;
}
const struct principal *req_user(struct req *r)
{
    if (r->session_unchecked) /* a route marked ROUTE_SESSION_IN_STMT by mistake */
        log_error("%s reads the user before its first statement; it must not be marked "
                  "ROUTE_SESSION_IN_STMT request_id=%s",
                  r->route->pattern, r->id);
    return &r->user;
}
const char *req_header(struct req *r, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}
const char *req_id(struct req *r)
{
    return r->id;
}
const char *req_ip(struct req *r)
{
    return r->ip;
}
const char *req_now(struct req *r)
{
    return r->now;
}
const char *req_actor(struct req *r)
{
    return r->user.id[0] ? r->user.id : NULL;
}
const char *req_action(struct req *r)
{
    return r->route ? r->route->action : "";
}

void *req_alloc(struct req *r, size_t n)
{
    struct alloc *a = calloc(1, sizeof *a + n);
    a->next = r->allocs;
    r->allocs = a;
    return a->data;
}

void req_set_ctx(struct req *r, void *ctx)
{
    r->ctx = ctx;
}

void *req_ctx(struct req *r)
{
    return r->ctx;
}

static void json_release(void *p)
{
    json_decref(p);
}

void req_keep_json(struct req *r, json_t *j)
{
    req_alloc(r, 0);
    r->allocs->release = json_release;
    r->allocs->target = j;
}

char *req_strdup(struct req *r, const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(req_alloc(r, n), s, n);
}

void req_add_header(struct req *r, const char *key, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), key, value);
}

/* ---------- replies ---------- */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

static void req_free(struct req *r)
{
    evhttp_clear_headers(&r->query);
    json_decref(r->body);
    free(r->user.user_json);
    if (r->pend_body)
        evbuffer_free(r->pend_body);
    while (r->allocs) {
        struct alloc *a = r->allocs;
        r->allocs = a->next;
        if (a->release)
            a->release(a->target);
        free(a);
    }
    free(r);
}

/* The one place a reply leaves the server. */
static void send_now(struct req *r, int status, const char *ctype, struct evbuffer *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    evhttp_add_header(h, "X-Request-Id", r->id);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (ctype)
        evhttp_add_header(h, "Content-Type", ctype);
    evhttp_send_reply(r->ev, status, reason_phrase(status), body);
    double secs = (double)(clock_mono_us() - r->start_us) / 1e6;
    metrics_observe(r->route_idx, status, secs);
    if (status >= 500)
        log_warn("%s %s -> %d (%.1f ms) request_id=%s", r->route ? r->route->method : "-",
                 r->route ? r->route->pattern : "-", status, secs * 1e3, r->id);
    else
        log_debug("%s %s -> %d (%.1f ms) request_id=%s", r->route ? r->route->method : "-",
                  r->route ? r->route->pattern : "-", status, secs * 1e3, r->id);
    req_free(r);
}

static void idem_finish(struct req *r, int status, const char *ctype, struct evbuffer *body);
static bool restart_after_session(struct req *r);

static void finish(struct req *r, int status, const char *ctype, struct evbuffer *body)
{
    if (r->session_pending) { /* a handler bug: the answer waits for the session check */
        log_error("%s answered before its session was checked request_id=%s", r->route->pattern,
                  r->id);
        if (body)
            evbuffer_free(body);
        return;
    }
    if (restart_after_session(r)) {
        if (body)
            evbuffer_free(body);
        return;
    }
    if (r->idem_reserved) {
        idem_finish(r, status, ctype, body);
        return;
    }
    send_now(r, status, ctype, body);
    if (body)
        evbuffer_free(body);
}

#define CT_JSON "application/json; charset=utf-8"
#define CT_PROBLEM "application/problem+json; charset=utf-8"

void req_reply_raw(struct req *r, int status, const char *json, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, json, len);
    finish(r, status, CT_JSON, b);
}

void req_reply_json(struct req *r, int status, json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!s) {
        req_problem(r, 500, "internal", "The reply could not be encoded.");
        return;
    }
    req_reply_raw(r, status, s, strlen(s));
    free(s);
}

void req_reply_text(struct req *r, int status, const char *ctype, const char *body, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, body, len);
    finish(r, status, ctype, b);
}

void req_reply_empty(struct req *r, int status)
{
    finish(r, status, NULL, NULL);
}

static const char *problem_title(int status)
{
    switch (status) {
    case 400:
        return "Bad request";
    case 401:
        return "Not signed in";
    case 403:
        return "Not allowed";
    case 404:
        return "Not found";
    case 405:
        return "Method not allowed";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition failed";
    case 413:
        return "Request body too large";
    case 415:
        return "Unsupported media type";
    case 422:
        return "Validation failed";
    case 429:
        return "Too many requests";
    case 503:
        return "Service unavailable";
    default:
        return "Internal error";
    }
}

void req_problem_errors(struct req *r, int status, const char *slug, const char *detail,
                        json_t *errors)
{
    char type[96];
    snprintf(type, sizeof type, "/problems/%s", slug);
    json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", problem_title(status),
                          "status", status, "detail", detail);
    if (errors)
        json_object_set_new(p, "errors", errors);
    if (status == 401)
        req_add_header(r, "WWW-Authenticate", "Bearer");
    if (status == 503)
        req_add_header(r, "Retry-After", "1");
    char *s = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, s, strlen(s));
    free(s);
    finish(r, status, CT_PROBLEM, b);
}

void req_problem(struct req *r, int status, const char *slug, const char *detail)
{
    req_problem_errors(r, status, slug, detail, NULL);
}

void req_replay_body(struct req *r, const char *json)
{
    r->replay_body = req_strdup(r, json);
}

void req_bad_query(struct req *r, const char *param, const char *message)
{
    json_t *e = json_array();
    jsonx_error(e, param, message);
    req_problem_errors(r, 400, "bad-query", "The query string has invalid parameters.", e);
}

const char *req_limit_param(struct req *r)
{
    char *s = req_alloc(r, 16);
    snprintf(s, 16, "%d", r->limit + 1);
    return s;
}

void req_invalid(struct req *r, json_t *errors)
{
    req_problem_errors(r, 422, "validation", "The request body failed validation.", errors);
}

/* ---------- database ---------- */

static void req_db_done(struct db_result *res, void *arg)
{
    struct req *r = arg;
    /* statement_timeout (57014) is the database being too slow, not a bug: 503 like a timeout. */
    if (res->status == DB_OK ||
        (res->status == DB_ERR_QUERY && strcmp(res->sqlstate, "57014") != 0)) {
        r->db_cb(r, res);
        return;
    }
    req_problem(r, 503, "unavailable", "The database is not available; try again shortly.");
}

static struct db_stmt *with_session(struct db_stmt *stmt);
static void session_checked(struct db_result *res, void *arg);

void req_db(struct req *r, struct db_stmt *stmt, const char *const *params, req_db_cb cb)
{
    if (r->session_pending) { /* a handler bug: nothing runs before the session is checked */
        log_error("%s sent a second statement before its session was checked request_id=%s",
                  r->route->pattern, r->id);
        return;
    }
    r->db_cb = cb;
    if (r->session_unchecked) {
        /* The handler's first statement: with the session check in front, one round trip. */
        r->session_unchecked = false;
        r->session_pending = true;
        int n = stmt->nparams;
        const char **p = req_alloc(r, sizeof *p * (size_t)(n + 2));
        for (int i = 0; i < n; i++)
            p[i] = params[i];
        p[n] = r->user.token_hash;
        p[n + 1] = r->now;
        db_query(r->w->pool, with_session(stmt), p, session_checked, r);
        return;
    }
    db_query(r->w->pool, stmt, params, req_db_done, r);
}

void req_db_failed(struct req *r, struct db_result *res)
{
    /* Only the SQLSTATE and names: PostgreSQL's message and DETAIL can quote row values,
     * which may be personal data. */
    const char *constraint =
        res->res ? PQresultErrorField(res->res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    const char *table = res->res ? PQresultErrorField(res->res, PG_DIAG_TABLE_NAME) : NULL;
    log_error("query failed: sqlstate=%s table=%s constraint=%s route=%s request_id=%s",
              res->sqlstate, table ? table : "-", constraint ? constraint : "-",
              r->route ? r->route->pattern : "-", r->id);
    req_problem(r, 500, "internal", "The request could not be completed.");
}

void req_reply_row(struct req *r, struct db_result *res, int status, const char *what)
{
    if (res->status != DB_OK) {
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

/* ---------- audit of refused requests ---------- */

DB_STMT(sql_audit_one, 8,
        "INSERT INTO audit_log (at, actor_id, ip, request_id, action, subject_type, subject_id,"
        " outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");

void req_audit(struct req *r, const char *outcome, const char *subject_type, const char *subject_id,
               req_db_cb cb)
{
    if (restart_after_session(r))
        return;
    const char *p[] = {REQ_AUDIT_PARAMS(r), r->route->action, subject_type, subject_id, outcome};
    req_db(r, &sql_audit_one, p, cb);
}

static void deny_written(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK) {
        req_db_failed(r, res);
        return;
    }
    if (r->deny_status == 403)
        req_problem(r, 403, "forbidden", "Your role may not use this endpoint.");
    else
        req_problem(r, 404, "not-found", "No such object.");
}

void req_deny(struct req *r, int status, const char *subject_type, const char *subject_id)
{
    r->deny_status = status;
    req_audit(r, "denied", subject_type, subject_id, deny_written);
}

/* ---------- pagination ---------- */

void req_reply_page(struct req *r, PGresult *res, int json_col, int key_col, int nkeys)
{
    int rows = PQntuples(res), n = rows > r->limit ? r->limit : rows;
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, "{\"items\":[", 10);
    for (int i = 0; i < n; i++) {
        if (i)
            evbuffer_add(b, ",", 1);
        evbuffer_add(b, PQgetvalue(res, i, json_col), (size_t)PQgetlength(res, i, json_col));
    }
    evbuffer_add(b, "],\"next_cursor\":", 16);
    if (rows > r->limit) {
        const char *keys[8];
        char cur[CURSOR_MAX_LEN + 1];
        for (int k = 0; k < nkeys && k < 8; k++)
            keys[k] = PQgetvalue(res, n - 1, key_col + k);
        if (cursor_encode(keys, (size_t)nkeys, cur, sizeof cur) != 0) {
            /* Never a null cursor while items remain: that would hide them. */
            evbuffer_free(b);
            log_error("cursor cannot be encoded request_id=%s", r->id);
            req_problem(r, 500, "internal", "The next page cannot be described.");
            return;
        }
        evbuffer_add_printf(b, "\"%s\"}", cur);
    } else {
        evbuffer_add(b, "null}", 5);
    }
    finish(r, 200, CT_JSON, b);
}

static json_t *one_error(const char *field, const char *message)
{
    json_t *e = json_array();
    jsonx_error(e, field, message);
    return e;
}

int req_cursor(struct req *r, size_t n, const char **keys)
{
    const char *c = req_query(r, "cursor");
    for (size_t i = 0; i < n; i++)
        keys[i] = NULL;
    if (!c)
        return 0;
    char *raw[8];
    if (n > 8 || cursor_decode(c, n, raw) != 0) {
        req_problem_errors(r, 400, "bad-query", "The cursor is not valid.",
                           one_error("cursor", "is not a valid cursor"));
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        keys[i] = req_strdup(r, raw[i]);
    cursor_free(raw, n);
    return 0;
}

/* ---------- idempotency ---------- */

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

static void handle(struct req *r);
static bool role_allowed(struct req *r);

static void idem_begun(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK) {
        req_db_failed(r, res);
        return;
    }
    if (PQntuples(res->res) == 0) {
        req_problem(r, 409, "idempotency-conflict",
                    "A request with this Idempotency-Key is still being processed.");
        return;
    }
    if (strcmp(PQgetvalue(res->res, 0, 0), "new") == 0) {
        r->idem_reserved = true;
        handle(r);
        return;
    }
    if (strcmp(PQgetvalue(res->res, 0, 1), "true") != 0) {
        req_problem(r, 409, "idempotency-conflict",
                    "This Idempotency-Key was used for a different request.");
        return;
    }
    if (PQgetisnull(res->res, 0, 2)) {
        req_problem(r, 409, "idempotency-conflict",
                    "A request with this Idempotency-Key is still being processed.");
        return;
    }
    int status = atoi(PQgetvalue(res->res, 0, 2));
    size_t len = 0;
    char *body = crypto_open(cfg.data_key, PQgetvalue(res->res, 0, 3), &len);
    if (!body) {
        log_error("idempotency: stored reply cannot be decrypted request_id=%s", r->id);
        req_problem(r, 500, "internal", "The stored reply cannot be read.");
        return;
    }
    req_add_header(r, "Idempotent-Replayed", "true");
    if (!PQgetisnull(res->res, 0, 4))
        req_add_header(r, "ETag", PQgetvalue(res->res, 0, 4));
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, body, len);
    free(body);
    send_now(r, status, status >= 400 ? CT_PROBLEM : CT_JSON, b);
    evbuffer_free(b);
}

static void idem_begin(struct req *r, const char *key)
{
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
    const char *p[] = {r->user.id, key, r->route->action, r->idem_hash, r->now};
    req_db(r, &sql_idem_begin, p, idem_begun);
}

static void idem_stored(struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK)
        log_warn("idempotency: reply not stored (%s) request_id=%s", res->sqlstate, r->id);
    send_now(r, r->pend_status, r->pend_ctype, r->pend_body);
}

/* Stores the reply (encrypted: it may hold patient identities) before sending it, or frees the
 * key after a server error so the client can retry. */
static void idem_finish(struct req *r, int status, const char *ctype, struct evbuffer *body)
{
    r->idem_reserved = false;
    r->pend_status = status;
    r->pend_ctype = ctype;
    r->pend_body = body ? body : evbuffer_new();
    if (status >= 500) {
        const char *p[] = {r->user.id, r->idem_key};
        db_query(r->w->pool, &sql_idem_release, p, idem_stored, r);
        return;
    }
    char *sealed = r->replay_body
                       ? crypto_seal(cfg.data_key, r->replay_body, strlen(r->replay_body))
                       : crypto_seal(cfg.data_key, evbuffer_pullup(r->pend_body, -1),
                                     evbuffer_get_length(r->pend_body));
    char st[16];
    snprintf(st, sizeof st, "%d", status);
    const char *etag = evhttp_find_header(evhttp_request_get_output_headers(r->ev), "ETag");
    const char *p[] = {r->user.id, r->idem_key, st, sealed, etag};
    db_query(r->w->pool, &sql_idem_store, p, idem_stored, r);
    free(sealed);
}

/* ---------- the pipeline ---------- */

static void handle(struct req *r)
{
    r->route->handler(r);
}

/* For the audit entry of a refused request: the object the path names, as in
 * "/v1/consultations/{id}/accept" -> ("consultation", id). NULL when the path names none. */
static const char *route_subject(const struct route *rt, const char *id, char *type, size_t sz)
{
    const char *brace = strstr(rt->pattern, "/{");
    if (!brace || !val_uuid(id))
        return NULL;
    const char *start = brace;
    while (start > rt->pattern && start[-1] != '/')
        start--;
    size_t n = (size_t)(brace - start);
    if (n > 1 && start[n - 1] == 's')
        n--; /* "consultations" -> "consultation" */
    if (n == 0 || n >= sz)
        return NULL;
    memcpy(type, start, n);
    type[n] = 0;
    return id;
}

/* Authenticated and allowed: content type, body, idempotency, then the handler. */
static void after_auth(struct req *r)
{
    const struct route *rt = r->route;
    if (!role_allowed(r))
        return;
    if (rt->flags & ROUTE_BODY) {
        const char *ct = req_header(r, "Content-Type");
        size_t n = strlen("application/json");
        if (!ct || strncasecmp(ct, "application/json", n) != 0 ||
            (ct[n] && ct[n] != ';' && ct[n] != ' ')) {
            req_problem(r, 415, "unsupported-media-type",
                        "Send the body as Content-Type: application/json.");
            return;
        }
        struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
        size_t len = evbuffer_get_length(in);
        char why[128] = "";
        int rc = len ? jsonx_parse_object((const char *)evbuffer_pullup(in, -1), len,
                                          JSON_MAX_DEPTH, &r->body, why, sizeof why)
                     : JSONX_MALFORMED;
        if (rc != JSONX_OK) {
            req_problem(r, 400, "malformed-json",
                        len ? why : "The request needs a JSON object body.");
            return;
        }
    }
    if (rt->flags & ROUTE_IDEM) {
        const char *key = req_header(r, "Idempotency-Key");
        if (key) {
            size_t kl = strlen(key);
            int ok = kl >= 1 && kl <= 255;
            for (size_t i = 0; ok && i < kl; i++)
                ok = key[i] > 32 && key[i] < 127;
            if (!ok) {
                req_problem(r, 400, "bad-request",
                            "Idempotency-Key must be 1 to 255 visible ASCII characters.");
                return;
            }
            idem_begin(r, key);
            return;
        }
    }
    handle(r);
}

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

static unsigned role_bit(const char *role)
{
    static const char *const names[] = {"gp",      "poh",   "consultant", "coordinator",
                                        "billing", "admin", NULL};
    int i = val_enum(role, names);
    return i < 0 ? 0 : 1u << i;
}

static void unauthorized(struct req *r)
{
    req_problem(r, 401, "unauthorized", "Sign in and send Authorization: Bearer <token>.");
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

/* The route's roles include the user's; else a 403 (audited) is on its way. */
static bool role_allowed(struct req *r)
{
    const struct route *rt = r->route;
    if (rt->roles && !(rt->roles & r->user.role)) {
        char type[48];
        const char *id = route_subject(rt, r->params[0], type, sizeof type);
        req_deny(r, 403, id ? type : NULL, id);
        return false;
    }
    return true;
}

static void auth_found(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK) {
        req_db_failed(r, res);
        return;
    }
    if (PQntuples(res->res) != 1) {
        unauthorized(r);
        return;
    }
    set_principal(r, res->res, 0);
    r->user.user_json = strdup(PQgetvalue(res->res, 0, PRINCIPAL_NCOLS));
    after_auth(r);
}

/* The bearer token's hash into r->user.token_hash; a 401 and false when there is none. */
static bool bearer_token(struct req *r)
{
    const char *h = req_header(r, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        unauthorized(r);
        return false;
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    size_t tl = strlen(tok);
    if (tl < 16 || tl > 256) {
        unauthorized(r);
        return false;
    }
    crypto_sha256_hex(tok, tl, r->user.token_hash);
    return true;
}

/* The session on its own, then after_auth. */
static void authenticate(struct req *r)
{
    const char *p[] = {r->user.token_hash, r->now};
    req_db(r, &sql_auth, p, auth_found);
}

/* A ROUTE_SESSION_IN_STMT handler answered, audited or read the user before its first statement:
 * drop that, check the session on its own and let the handler run again (true). */
static bool restart_after_session(struct req *r)
{
    if (!r->session_unchecked)
        return false;
    r->session_unchecked = false;
    evhttp_clear_headers(evhttp_request_get_output_headers(r->ev));
    authenticate(r);
    return true;
}

/* The result of with_session(stmt): the user, then `stmt`'s own result for the handler. */
static void session_checked(struct db_result *res, void *arg)
{
    struct req *r = arg;
    r->session_pending = false;
    if (res->status == DB_ERR_QUERY && strcmp(res->sqlstate, "57014") != 0) {
        /* Who asked is not known: check the session alone; the handler runs again and meets
         * its statement's error itself. */
        log_warn("statement with session check failed: sqlstate=%s route=%s request_id=%s",
                 res->sqlstate, r->route->pattern, r->id);
        authenticate(r);
        return;
    }
    if (res->status != DB_OK) {
        req_db_done(res, r); /* 503 */
        return;
    }
    PGresult *pr = res->res;
    if (PQntuples(pr) == 0) {
        unauthorized(r);
        return;
    }
    int principal = PQnfields(pr) - PRINCIPAL_NCOLS;
    set_principal(r, pr, principal);
    if (!role_allowed(r))
        return;
    if (PQgetisnull(pr, 0, principal - 1)) { /* `stmt` found no rows */
        struct db_result none = {DB_OK, PQcopyResult(pr, PG_COPYRES_ATTRS), ""};
        r->db_cb(r, &none);
        PQclear(none.res);
        return;
    }
    r->db_cb(r, res);
}

static int check_query(struct req *r, const char *uri_query)
{
    const struct route *rt = r->route;
    if (!uri_query || !*uri_query) {
        r->limit = 20;
        return 0;
    }
    if (evhttp_parse_query_str(uri_query, &r->query) != 0) {
        req_problem(r, 400, "bad-query", "The query string is malformed.");
        return -1;
    }
    json_t *errors = json_array();
    for (struct evkeyval *kv = r->query.tqh_first; kv; kv = kv->next.tqe_next) {
        int allowed = (rt->flags & ROUTE_PAGED) &&
                      (strcmp(kv->key, "limit") == 0 || strcmp(kv->key, "cursor") == 0);
        for (const char *const *q = rt->query; !allowed && q && *q; q++)
            allowed = strcmp(kv->key, *q) == 0;
        if (!allowed)
            jsonx_error(errors, kv->key, "unknown query parameter");
        else if (val_utf8_chars(kv->value, strlen(kv->value)) < 0)
            jsonx_error(errors, kv->key, "is not valid UTF-8");
        else
            for (struct evkeyval *o = r->query.tqh_first; o != kv; o = o->next.tqe_next)
                if (strcmp(o->key, kv->key) == 0) {
                    jsonx_error(errors, kv->key, "is given more than once");
                    break;
                }
    }
    r->limit = 20;
    const char *l = req_query(r, "limit");
    if (l) {
        char *end;
        long n = strtol(l, &end, 10);
        if (!*l || *end || n < 1 || n > 100)
            jsonx_error(errors, "limit", "must be an integer from 1 to 100");
        else
            r->limit = (int)n;
    }
    if (json_array_size(errors)) {
        req_problem_errors(r, 400, "bad-query", "The query string has invalid parameters.", errors);
        return -1;
    }
    json_decref(errors);
    return 0;
}

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    default:
        return "OTHER";
    }
}

/* The address the audit log records: the TCP peer, or, when that peer is a trusted proxy, the
 * last address in X-Forwarded-For (the one that proxy appended; earlier ones are the client's
 * say-so). */
static void client_ip(struct evhttp_request *ev, const char *peer, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s", peer);
    const char *list = cfg.trusted_proxies;
    size_t pl = strlen(peer);
    int trusted = 0;
    for (const char *p = list; p && *p && !trusted;) {
        p += strspn(p, ", ");
        size_t n = strcspn(p, ", ");
        trusted = n && n == pl && memcmp(p, peer, n) == 0;
        p += n;
    }
    const char *xff =
        trusted ? evhttp_find_header(evhttp_request_get_input_headers(ev), "X-Forwarded-For")
                : NULL;
    if (!xff)
        return;
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    last += strspn(last, " ");
    size_t n = strcspn(last, " ");
    unsigned char buf[sizeof(struct in6_addr)];
    char addr[INET6_ADDRSTRLEN];
    if (n == 0 || n >= sizeof addr)
        return;
    memcpy(addr, last, n);
    addr[n] = 0;
    if (inet_pton(AF_INET, addr, buf) == 1 || inet_pton(AF_INET6, addr, buf) == 1)
        snprintf(out, outsz, "%s", addr);
}

void http_on_request(struct evhttp_request *ev, void *arg)
{
    struct req *r = calloc(1, sizeof *r);
    r->ev = ev;
    r->w = arg;
    r->route_idx = -1;
    r->start_us = clock_mono_us();
    r->query.tqh_first = NULL;
    r->query.tqh_last = &r->query.tqh_first;
    clock_now_param(r->now);

    const char *rid = evhttp_find_header(evhttp_request_get_input_headers(ev), "X-Request-Id");
    if (rid && val_request_id(rid))
        snprintf(r->id, sizeof r->id, "%s", rid);
    else
        crypto_uuid_v4(r->id);

    char *peer = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(ev), &peer, &port);
    client_ip(ev, peer ? peer : "", r->ip, sizeof r->ip);

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !*path) {
        req_problem(r, 400, "bad-request", "The request target is not valid.");
        return;
    }
    if (evbuffer_get_length(evhttp_request_get_input_buffer(ev)) > MAX_BODY) {
        req_problem(r, 413, "payload-too-large", "The request body is larger than 1 MiB.");
        return;
    }
    char allow[128];
    int idx = router_match(method_name(evhttp_request_get_command(ev)), path, r->params, allow,
                           sizeof allow, cfg.test_clock ? 0 : ROUTE_TEST_CLOCK);
    if (idx == -1) {
        req_problem(r, 404, "not-found", "No such endpoint.");
        return;
    }
    if (idx == -2) {
        req_add_header(r, "Allow", allow);
        req_problem(r, 405, "method-not-allowed", "This endpoint does not accept this method.");
        return;
    }
    r->route_idx = idx;
    r->route = &routes[idx];
    if (check_query(r, evhttp_uri_get_query(uri)) != 0)
        return;
    if (!r->route->roles) {
        after_auth(r);
    } else if (bearer_token(r)) {
        /* (a body or an Idempotency-Key is handled before the handler runs: not here) */
        if ((r->route->flags & (ROUTE_SESSION_IN_STMT | ROUTE_BODY | ROUTE_IDEM)) ==
            ROUTE_SESSION_IN_STMT) {
            r->session_unchecked = true;
            handle(r);
        } else {
            authenticate(r);
        }
    }
}
