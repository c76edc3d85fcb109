/* The phase engine: every request passes the phases of include/req_private.h in order, each
 * one a function here or in the module that owns it (session.c, policy.c, idempotency.c), and
 * any phase may answer (reply.c). evhttp's callback, http_on_request, is the route phase.
 * serve.c runs the loops. */
#include "http.h"

#include "config.h"
#include "conn.h"
#include "idempotency.h"
#include "jsonx.h"
#include "policy.h"
#include "qstring.h"
#include "reply.h"
#include "session.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h> /* the request's HTTP version: 2.1 has no accessor */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bodies over MAX_BODY get our 413 problem+json (serve.c sets evhttp's own, higher limits). */
#define MAX_BODY (1024 * 1024)
#define JSON_MAX_DEPTH 32

/* A typed path parameter that does not parse names no object: 404, before the handler. It is
 * checked here rather than when routing so that an anonymous caller gets 401, as for any other
 * path of a route with roles (docs/architecture.md). */
static int params_typed(struct req *r)
{
    if (router_bad_param(r->route, r->params) < 0)
        return 0;
    char type[48], detail[96];
    if (router_subject_type(r->route, type, sizeof type) == 0)
        snprintf(type, sizeof type, "object");
    snprintf(detail, sizeof detail, "No such %s.", type);
    req_problem(r, 404, "not-found", detail);
    return REQ_ANSWERED;
}

static void phase_handler(struct req *r)
{
    req_phase(r, REQ_HANDLER);
    if (params_typed(r) == 0)
        r->route->handler(r);
}

static void phase_body(struct req *r)
{
    req_phase(r, REQ_BODY);
    if (r->route->flags & ROUTE_BODY) {
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
    idem_begin(r, phase_handler);
}

static void phase_authorise(struct req *r)
{
    if (policy_authorise(r))
        phase_body(r);
}

/* ROUTE_SESSION_IN_STMT: the handler runs now; its first statement checks the session. */
static void phase_session_first(struct req *r)
{
    req_phase(r, REQ_SESSION_FIRST);
    session_in_stmt(r);
    if (params_typed(r) == 0)
        r->route->handler(r);
}

/* ---------- the route phase ---------- */

/* Only the query parameters the route declares (qstring_check). */
static int check_query(struct req *r, const char *uri_query)
{
    json_t *errors = json_array();
    int rc = qstring_check(r->route, uri_query, &r->query, errors, &r->limit);
    if (rc < 0) {
        json_decref(errors);
        req_problem(r, 400, "bad-query", "The query string is malformed.");
        return REQ_ANSWERED;
    }
    if (rc > 0) {
        req_problem_errors(r, 400, "bad-query", "The query string has invalid parameters.", errors);
        return REQ_ANSWERED;
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

/* What evhttp reads leniently, refused before anything else: a body length that two parties
 * could read differently (given twice, next to Transfer-Encoding, or not plain digits: evhttp
 * takes the first and accepts "+5"), an HTTP/1.1 request without exactly one Host (RFC 9112
 * 3.2), two Authorization headers (the first would be used, a proxy might use the other).
 * `*close`: the body's end is unknown, so the connection cannot carry another request. */
static const char *lenient_header(struct evhttp_request *ev, bool *close)
{
    int length = 0, chunked = 0, host = 0, auth = 0;
    const char *value = "";
    struct evkeyvalq *h = evhttp_request_get_input_headers(ev);
    for (struct evkeyval *kv = h->tqh_first; kv; kv = kv->next.tqe_next) {
        if (strcasecmp(kv->key, "Content-Length") == 0)
            length++, value = kv->value;
        chunked += strcasecmp(kv->key, "Transfer-Encoding") == 0;
        host += strcasecmp(kv->key, "Host") == 0;
        auth += strcasecmp(kv->key, "Authorization") == 0;
    }
    *close = true;
    if (length > 1 || (length && chunked) ||
        (length && (!*value || value[strspn(value, "0123456789")])))
        return "Give the body's length once, as one Content-Length of digits, without "
               "Transfer-Encoding.";
    *close = false;
    if (host != 1 && (ev->major > 1 || (ev->major == 1 && ev->minor >= 1)))
        return "An HTTP/1.1 request needs exactly one Host header.";
    if (auth > 1)
        return "Send one Authorization header.";
    return NULL;
}

void http_on_request(struct evhttp_request *ev, void *arg)
{
    /* A "response" evhttp read from the client after a failed write (conn.c sets
     * EVHTTP_CON_READ_ON_WRITE_ERROR for pipelines): no request, and nobody to answer. */
    if (evhttp_request_get_response_code(ev) != 0) {
        evhttp_add_header(evhttp_request_get_output_headers(ev), "Connection", "close");
        evhttp_send_reply(ev, 400, "Bad Request", NULL);
        return;
    }
    bool over_cap = conn_request_read(ev);
    struct req *r = req_new(ev, arg);
    bool close = false;
    const char *lenient = lenient_header(ev, &close);
    if (over_cap || close)
        req_add_header(r, "Connection", "close");
    if (over_cap) {
        req_problem(r, 503, "unavailable",
                    "The server has too many open connections; try again shortly.");
        return;
    }
    if (lenient) {
        req_problem(r, 400, "bad-request", lenient);
        return;
    }
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
    if (!r->route->roles)
        phase_authorise(r);
    else if (session_bearer(r) != 0)
        return;
    /* (a body or an Idempotency-Key is handled before the handler runs: not here) */
    else if ((r->route->flags & (ROUTE_SESSION_IN_STMT | ROUTE_BODY | ROUTE_IDEM)) ==
             ROUTE_SESSION_IN_STMT)
        phase_session_first(r);
    else
        session_authenticate(r, phase_authorise);
}
