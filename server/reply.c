/* Replies: JSON, problem+json, pages of items; the reply filters and the one place a reply
 * leaves the server (send_now). */
#include "reply.h"

#include "clock.h"
#include "cursor.h"
#include "datakeys.h"
#include "jsonx.h"
#include "log.h"
#include "metrics.h"
#include "validate.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---------- the send path ---------- */

static void free_text(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

/* The one place a reply leaves the server; the request is freed here. */
static void send_now(struct req *r)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    int status = r->out.status;
    evhttp_add_header(h, "X-Request-Id", r->id);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (r->out.ctype)
        evhttp_add_header(h, "Content-Type", r->out.ctype);
    r->phase = REQ_SENT;
    evhttp_send_reply(r->ev, status, reason_phrase(status), r->out.body);
    double secs = (double)(clock_mono_us() - r->start_us) / 1e6;
    metrics_observe(r->route_idx, status, secs);
    const char *m = r->route ? r->route->method : "-", *p = r->route ? r->route->pattern : "-";
    if (status >= 500)
        log_warn("%s %s -> %d (%.1f ms) request_id=%s", m, p, status, secs * 1e3, r->id);
    else
        log_debug("%s %s -> %d (%.1f ms) request_id=%s", m, p, status, secs * 1e3, r->id);
    req_free(r);
}

void reply_filter_add(struct req *r, reply_filter f)
{
    if (r->nfilters == REQ_MAX_FILTERS || r->phase >= REQ_REPLY) {
        log_error("reply filter not installed (phase %s) request_id=%s", req_phase_name(r->phase),
                  r->id);
        return;
    }
    r->filters[r->nfilters++] = f;
}

void reply_next(struct req *r)
{
    if (r->next_filter < r->nfilters)
        r->filters[r->next_filter++](r);
    else
        send_now(r);
}

/* Opens the sealed texts of a JSON reply (datakeys.h) as it leaves: the one place plaintext
 * clinical text exists outside a request's input. A value that does not open (a wrong key, a
 * value moved to another object's row) turns the reply into a 500, never a garbled text. */
static int reveal(struct req *r, struct evbuffer **body)
{
    size_t len = evbuffer_get_length(*body), outlen = 0;
    int failed = 0;
    char *out = datakeys_reveal((const char *)evbuffer_pullup(*body, -1), len, &outlen, &failed);
    if (!out && !failed)
        return 0;
    evbuffer_free(*body);
    *body = evbuffer_new();
    if (out) {
        evbuffer_add_reference(*body, out, outlen, free_text, NULL);
        return 0;
    }
    log_error("a sealed text does not open with the data keys request_id=%s", r->id);
    json_t *p =
        json_pack("{s:s, s:s, s:i, s:s}", "type", "/problems/internal", "title", problem_title(500),
                  "status", 500, "detail", "A stored text cannot be read.");
    char *s = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    if (s)
        evbuffer_add(*body, s, strlen(s));
    free(s);
    return -1;
}

void reply_start(struct req *r, int status, const char *ctype, struct evbuffer *body)
{
    const char *misuse = r->phase >= REQ_REPLY         ? "answered a second time"
                         : r->phase == REQ_SESSION_OUT ? "answered while its first statement "
                                                         "and the session check are out"
                                                       : NULL;
    if (misuse) { /* a handler bug: the first answer stands */
        log_error("%s %s (phase %s, status %d refused) request_id=%s",
                  r->route ? r->route->pattern : "-", misuse, req_phase_name(r->phase), status,
                  r->id);
        if (body)
            evbuffer_free(body);
        return;
    }
    if (body && ctype && !strcmp(ctype, CT_JSON) && reveal(r, &body) != 0) {
        status = 500;
        ctype = CT_PROBLEM;
    }
    r->replied_in = r->phase;
    r->phase = REQ_REPLY;
    r->out.status = status;
    r->out.ctype = ctype;
    r->out.body = body;
    r->next_filter = 0;
    reply_next(r);
}

/* ---------- bodies ---------- */

void req_reply_raw(struct req *r, int status, const char *json, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, json, len);
    reply_start(r, status, CT_JSON, b);
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
    reply_start(r, status, ctype, b);
}

void req_reply_empty(struct req *r, int status)
{
    reply_start(r, status, NULL, NULL);
}

/* The problem+json body, and the headers its status asks for. */
static struct evbuffer *problem(struct req *r, int status, const char *slug, const char *detail,
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
    return b;
}

void req_problem_errors(struct req *r, int status, const char *slug, const char *detail,
                        json_t *errors)
{
    if (r->phase >= REQ_REPLY || r->phase == REQ_SESSION_OUT) { /* refused: no headers */
        json_decref(errors);
        reply_start(r, status, CT_PROBLEM, NULL);
        return;
    }
    reply_start(r, status, CT_PROBLEM, problem(r, status, slug, detail, errors));
}

void req_problem(struct req *r, int status, const char *slug, const char *detail)
{
    req_problem_errors(r, status, slug, detail, NULL);
}

void reply_replace_problem(struct req *r, int status, const char *slug, const char *detail)
{
    evhttp_clear_headers(evhttp_request_get_output_headers(r->ev));
    if (r->out.body)
        evbuffer_free(r->out.body);
    r->out.status = status;
    r->out.ctype = CT_PROBLEM;
    r->out.body = problem(r, status, slug, detail, NULL);
}

void req_replay_body(struct req *r, const char *json)
{
    if (!r->idem_key)
        return; /* no Idempotency-Key: nothing is stored, so nothing to open twice */
    /* Opened now: the stored reply is sealed as a whole, and `overlegd rekey` cannot reach the
     * values sealed inside it, whose key may be gone by the time of a replay. A text that does
     * not open leaves no replay body: the reply itself (a 500) is what is stored then. */
    size_t len = 0;
    int failed = 0;
    char *open = datakeys_reveal(json, strlen(json), &len, &failed);
    if (!failed)
        r->replay_body = req_strdup(r, open ? open : json);
    free(open);
}

void req_bad_query(struct req *r, const char *param, const char *message)
{
    json_t *e = json_array();
    jsonx_error(e, param, message);
    req_problem_errors(r, 400, "bad-query", "The query string has invalid parameters.", e);
}

void req_invalid(struct req *r, json_t *errors)
{
    req_problem_errors(r, 422, "validation", "The request body failed validation.", errors);
}

/* ---------- pages ---------- */

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
    reply_start(r, 200, CT_JSON, b);
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
        json_t *e = json_array();
        jsonx_error(e, "cursor", "is not a valid cursor");
        req_problem_errors(r, 400, "bad-query", "The cursor is not valid.", e);
        return REQ_ANSWERED;
    }
    for (size_t i = 0; i < n; i++)
        keys[i] = req_strdup(r, raw[i]);
    cursor_free(raw, n);
    return 0;
}

int req_time_cursor(struct req *r, const char **keys)
{
    if (req_cursor(r, 2, keys) != 0)
        return REQ_ANSWERED;
    if (keys[0] && (!val_uuid(keys[1]) || !val_pg_timestamp(keys[0]))) {
        req_bad_query(r, "cursor", "is not a valid cursor");
        return REQ_ANSWERED;
    }
    return 0;
}

void req_reply_time_page(struct req *r, struct db_result *res)
{
    req_reply_page(r, res->res, 0, 1, 2);
}
