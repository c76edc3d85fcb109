/* errpage - evhttp's own error pages leave as problem+json.
 *
 * evhttp 2.1 answers a few bad requests before any callback of ours runs (a body over its limit,
 * oversized headers, an unparsable request line, an unknown method) with a short text/html page,
 * and offers no hook to change it. That page is the last thing written on its connection (it
 * says "Connection: close"), and its body ends in a fixed line that no reply of ours can end in
 * (our bodies are JSON, or text without markup). A callback on the connection's output buffer
 * sees every write as it happens, before the socket is written: when the buffer ends with such a
 * page, the page is replaced in place. The connection itself stays a plain bufferevent, so
 * evhttp still learns correctly when the reply has left (a filtering bufferevent would report
 * that too early and lose replies on closing connections). */
#include "errpage.h"

#include "crypto.h"
#include "log.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_END "</BODY></HTML>\n"
#define PAGE_START "\r\n\r\n<HTML><HEAD>\n<TITLE>"
#define PAGE_MAX 1024 /* head and body of evhttp's page; longer tails are not its page */

static __thread int rewriting; /* our own changes to the buffer call the callback again */

/* The problem for each status evhttp answers itself: the status line's reason (as reply.c's),
 * the problem's type, title (as reply.c's) and detail. */
struct refusal {
    int status;
    const char *reason, *slug, *title, *detail;
};

static const struct refusal refusals[] = {
    {413, "Content Too Large", "payload-too-large", "Request body too large",
     "The request body is larger than this server accepts, or its chunked encoding is broken."},
    {417, "Expectation Failed", "expectation-failed", "Expectation failed",
     "Only the expectation 100-continue is supported."},
    {501, "Not Implemented", "not-implemented", "Not implemented", "This method is not supported."},
    {0, "Bad Request", "bad-request", "Bad request",
     "The request could not be read as HTTP (its request line or headers, which may be at most "
     "16 KiB)."},
};

static const struct refusal *refusal_for(int status)
{
    const struct refusal *f = refusals;
    while (f->status && f->status != status)
        f++;
    return f;
}

/* Where the page's status line starts: the last "HTTP/1." before `body` in `tail`. Headers of
 * evhttp's page are its own (it clears all others), so none contains that text. */
static const char *page_head(const char *tail, const char *body)
{
    const char *head = NULL;
    for (const char *p = tail; (p = strstr(p, "HTTP/1.")) != NULL && p < body; p++)
        head = p;
    return head;
}

int errpage_format(char *out, size_t outsz, int minor, int status, const char *reason,
                   const char *slug, const char *title, const char *detail, const char *id)
{
    char json[400], date[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
    int jn =
        snprintf(json, sizeof json,
                 "{\"type\":\"/problems/%s\",\"title\":\"%s\",\"status\":%d,\"detail\":\"%s\"}",
                 slug, title, status, detail);
    if (jn < 0 || (size_t)jn >= sizeof json)
        return -1;
    int n = snprintf(out, outsz,
                     "HTTP/1.%d %d %s\r\nContent-Type: application/problem+json; charset=utf-8\r\n"
                     "Content-Length: %d\r\nConnection: close\r\nCache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\nX-Request-Id: %s\r\nDate: %s\r\n\r\n%s",
                     minor, status, reason, jn, id, date, json);
    if (n < 0 || (size_t)n >= outsz)
        return -1;
    return n;
}

int errpage_problem(const char *page, size_t len, const char *id, char *out, size_t outsz)
{
    char tail[PAGE_MAX + 1];
    if (len > PAGE_MAX || len < sizeof PAGE_END - 1 ||
        memcmp(page + len - (sizeof PAGE_END - 1), PAGE_END, sizeof PAGE_END - 1) != 0)
        return -1;
    memcpy(tail, page, len);
    tail[len] = '\0';
    /* A NUL inside (binary data of an earlier reply) ends strstr early: then no page is found. */
    const char *body = strstr(tail, PAGE_START);
    if (!body)
        return -1;
    const char *head = page_head(tail, body);
    int minor, status;
    if (!head || sscanf(head, "HTTP/1.%1d %3d ", &minor, &status) != 2 || status < 400 ||
        status > 599)
        return -1;
    const struct refusal *f = refusal_for(status);
    if (errpage_format(out, outsz, minor, status, f->reason, f->slug, f->title, f->detail, id) < 0)
        return -1;
    return (int)(head - tail); /* the page starts this far into `page` */
}

/* The last `n` bytes of `buf` (n <= its length). evbuffer_copyout_from at an offset proved
 * unreliable on buffers whose front chains were drained, so the chains are walked here. */
static int copy_tail(struct evbuffer *buf, char *out, size_t n)
{
    struct evbuffer_iovec few[16]; /* a reply's output is a handful of chains */
    int count = evbuffer_peek(buf, -1, NULL, NULL, 0);
    if (count <= 0)
        return -1;
    struct evbuffer_iovec *vec = count <= 16 ? few : malloc(sizeof *vec * (size_t)count);
    if (!vec)
        return -1;
    count = evbuffer_peek(buf, -1, NULL, vec, count);
    size_t need = n;
    for (int i = count - 1; i >= 0 && need > 0; i--) {
        size_t take = vec[i].iov_len < need ? vec[i].iov_len : need;
        memcpy(out + need - take, (char *)vec[i].iov_base + vec[i].iov_len - take, take);
        need -= take;
    }
    if (vec != few)
        free(vec);
    return need == 0 ? 0 : -1;
}

static void output_changed(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)arg;
    size_t len = evbuffer_get_length(buf);
    if (rewriting || info->n_added < sizeof PAGE_END - 1 || len < sizeof PAGE_END - 1)
        return;
    char end[sizeof PAGE_END - 1];
    if (copy_tail(buf, end, sizeof end) != 0 || memcmp(end, PAGE_END, sizeof end) != 0)
        return;
    size_t n = len < PAGE_MAX ? len : PAGE_MAX;
    char tail[PAGE_MAX], reply[1024];
    if (copy_tail(buf, tail, n) != 0)
        return;
    char id[37];
    crypto_uuid_v4(id);
    int off = errpage_problem(tail, n, id, reply, sizeof reply);
    if (off < 0)
        return;
    /* Keep what precedes the page (earlier replies not yet sent), drop the page, add ours. */
    size_t keep = len - n + (size_t)off;
    struct evbuffer *before = evbuffer_new();
    if (!before)
        return;
    /* A socket bufferevent freezes the front of its output once it has written (only its writer
     * drains it); a fresh one or a TLS one does not. A frozen front is thawed for the exchange
     * (nothing else runs on this loop meanwhile) and frozen again, an open one left open.
     * Draining nothing tells which. */
    rewriting = 1;
    int frozen = evbuffer_drain(buf, 0) != 0;
    if (frozen)
        evbuffer_unfreeze(buf, 1);
    /* Only evbuffer_add allocates; it goes first, so that a failure leaves the output as it was:
     * `before` gets the earlier output (moved, not copied) and then our reply; the page is
     * dropped only once `before` is complete, and `before` moved back whole. */
    int ok = 0;
    if (evbuffer_remove_buffer(buf, before, keep) == (int)keep) {
        ok = evbuffer_add(before, reply, strlen(reply)) == 0;
        if (ok) /* else the page stays, and the earlier output goes back in front of it */
            evbuffer_drain(buf, evbuffer_get_length(buf));
        evbuffer_prepend_buffer(buf, before);
    }
    if (frozen)
        evbuffer_freeze(buf, 1);
    rewriting = 0;
    if (ok) /* the refused request reached no handler: this line is all the server has of it */
        log_info("evhttp refused a request: %.3s request_id=%s", reply + 9, id);
    else
        log_warn("errpage: out of memory, an evhttp error page left as it was");
    evbuffer_free(before);
}

void errpage_watch(struct evbuffer *out)
{
    evbuffer_add_cb(out, output_changed, NULL);
}

void errpage_guard(struct bufferevent *bev)
{
    if (bev)
        errpage_watch(bufferevent_get_output(bev));
}
