/* The request context (include/req_private.h): allocation that dies with the request, the
 * accessors domain modules use (include/req.h), and the one field that says where a request is. */
#include "req_private.h"

#include "clock.h"
#include "crypto.h"
#include "log.h"
#include "validate.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

struct req_alloc_hdr {
    struct req_alloc_hdr *next;
    void (*release)(void *); /* when set, called with `target` as the request ends */
    void *target;
    max_align_t data[];
};

static const char *const phase_names[] = {
    [REQ_ROUTE] = "route",
    [REQ_SESSION_FIRST] = "session-first",
    [REQ_SESSION_OUT] = "session-out",
    [REQ_AUTHENTICATE] = "authenticate",
    [REQ_AUTHORISE] = "authorise",
    [REQ_BODY] = "body",
    [REQ_IDEMPOTENCY] = "idempotency",
    [REQ_HANDLER] = "handler",
    [REQ_REPLY] = "reply",
    [REQ_SENT] = "sent",
};

const char *req_phase_name(enum req_phase p)
{
    return phase_names[p];
}

bool req_phase(struct req *r, enum req_phase p)
{
    if (p <= r->phase) {
        log_error("request cannot go back from phase %s to %s route=%s request_id=%s",
                  phase_names[r->phase], phase_names[p], r->route ? r->route->pattern : "-", r->id);
        return false;
    }
    r->phase = p;
    return true;
}

struct req *req_new(struct evhttp_request *ev, struct worker *w)
{
    struct req *r = calloc(1, sizeof *r);
    r->phase = REQ_ROUTE;
    r->ev = ev;
    r->w = w;
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
    return r;
}

void req_free(struct req *r)
{
    if (r->txn) /* (the reply filter ends it; this is for a reply that never passed it) */
        db_txn_end(r->txn, false, NULL, NULL);
    evhttp_clear_headers(&r->query);
    json_decref(r->body);
    r->body = NULL;
    free(r->user.user_json);
    r->user.user_json = NULL;
    if (r->out.body)
        evbuffer_free(r->out.body);
    r->out.body = NULL;
    while (r->allocs) {
        struct req_alloc_hdr *a = r->allocs;
        r->allocs = a->next;
        if (a->release)
            a->release(a->target);
        free(a);
    }
    free(r);
}

/* ---------- accessors ---------- */

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
    if (r->phase == REQ_SESSION_FIRST) /* a route marked ROUTE_SESSION_IN_STMT by mistake */
        log_error("%s reads the user before its session is checked; it must not be marked "
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

void req_set_ctx(struct req *r, void *ctx)
{
    r->ctx = ctx;
}

void *req_ctx(struct req *r)
{
    return r->ctx;
}

const char *req_limit_param(struct req *r)
{
    char *s = req_alloc(r, 16);
    snprintf(s, 16, "%d", r->limit + 1);
    return s;
}

/* ---------- memory that dies with the request ---------- */

void *req_alloc(struct req *r, size_t n)
{
    struct req_alloc_hdr *a = calloc(1, sizeof *a + n);
    a->next = r->allocs;
    r->allocs = a;
    return a->data;
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
