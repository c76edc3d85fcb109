/* conn - the life of an evhttp server connection, as far as evhttp 2.1 leaves it open.
 *
 * evhttp has one I/O timeout that every received byte restarts, so a client sending a header
 * line every few seconds keeps its connection for ever; it has no cap on connections; it closes
 * at once after a refusal, so a client still sending its body may get a reset instead of the
 * reply; it drops pipelined requests when the client half-closes. evhttp 2.1 offers no hook
 * when a connection starts, so this module follows each connection from the bufferevent serve.c
 * makes for it: a callback on the input buffer sees every byte before evhttp parses it, and a
 * timer first attaches to the evhttp_connection (which exists only once the bevcb returned) and
 * then serves as the request's deadline. */
#include "conn.h"

#include "config.h"
#include "crypto.h"
#include "errpage.h"
#include "log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINGER_S 2                   /* reading what a refused client still sends */
#define LINGER_MAX (8 * 1024 * 1024) /* ... at most this much */
#define TLS_LOG_INTERVAL_S 60        /* TLS on the plain port: one log line per interval */

struct conn {
    struct bufferevent *bev;
    struct evhttp_connection *evcon; /* NULL until attached */
    struct event *timer;             /* attaches once, then is the request's deadline */
    struct evbuffer_cb_entry *watch; /* on the input buffer */
    int fd;
    bool tls, over_cap;
    bool busy;      /* a request was read whole and is not answered yet: no deadline */
    bool started;   /* bytes of the current request have arrived */
    bool first;     /* the connection's first bytes were looked at */
    bool close_now; /* TLS on the plain port */
};

/* The connection on each descriptor, for http.c's requests (evhttp gives a request its
 * connection, and that only its bufferevent and descriptor). A descriptor belongs to one thread
 * at a time; atomics make its handing over between threads well defined. */
static _Atomic(struct conn *) *by_fd;
static size_t by_fd_len;
static atomic_int open_conns;
static atomic_llong tls_logged_at;
static atomic_int tls_unlogged;

int conn_init(void)
{
    struct rlimit rl;
    size_t n = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        n = rl.rlim_cur < (1u << 20) ? (size_t)rl.rlim_cur : (1u << 20);
    by_fd = calloc(n, sizeof *by_fd);
    by_fd_len = by_fd ? n : 0;
    return by_fd ? 0 : -1;
}

static struct conn *conn_of_fd(int fd)
{
    return fd >= 0 && (size_t)fd < by_fd_len ? atomic_load(&by_fd[fd]) : NULL;
}

static void set_fd(int fd, struct conn *c)
{
    if (fd >= 0 && (size_t)fd < by_fd_len)
        atomic_store(&by_fd[fd], c);
}

static void conn_free(struct conn *c)
{
    evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
    event_free(c->timer);
    atomic_fetch_sub(&open_conns, 1);
    free(c);
}

/* ---------- lingering close ---------- */

struct lingering {
    int fd;
    struct event *ev;
    struct timespec until;
    size_t drained;
};

static void linger_end(struct lingering *l)
{
    event_free(l->ev);
    close(l->fd);
    free(l);
}

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
    struct lingering *l = arg;
    char buf[16384];
    ssize_t n = 0;
    while ((what & EV_READ) && l->drained < LINGER_MAX &&
           (n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
        l->drained += (size_t)n;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (l->until.tv_sec - now.tv_sec) * 1000 + (l->until.tv_nsec - now.tv_nsec) / 1000000;
    if (!(what & EV_READ) || n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
        l->drained >= LINGER_MAX || ms <= 0) {
        linger_end(l);
        return;
    }
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(l->ev, &tv);
}

/* After the reply, the client may still be sending (a body that was refused): closing with
 * unread data would reset the connection and could destroy the reply before the client reads
 * it. A copy of the descriptor outlives evhttp's: the write side is closed (the client sees the
 * end of the reply) and what comes in is read and dropped for a while. */
static void linger(struct event_base *base, int fd)
{
    struct lingering *l = calloc(1, sizeof *l);
    if (!l || (l->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        free(l);
        return;
    }
    shutdown(l->fd, SHUT_WR);
    clock_gettime(CLOCK_MONOTONIC, &l->until);
    l->until.tv_sec += LINGER_S;
    struct timeval tv = {LINGER_S, 0};
    if (!(l->ev = event_new(base, l->fd, EV_READ, on_linger, l)) || event_add(l->ev, &tv) != 0) {
        if (l->ev)
            event_free(l->ev);
        close(l->fd);
        free(l);
    }
}

/* ---------- the deadline ---------- */

static void arm(struct conn *c)
{
    struct timeval tv = {cfg.request_timeout, 0};
    evtimer_add(c->timer, &tv);
}

/* The reply has left: the next request on the connection gets a whole deadline. */
static void on_reply_sent(struct evhttp_request *ev, void *arg)
{
    (void)ev;
    struct conn *c = arg;
    c->busy = false;
    c->started = evbuffer_get_length(bufferevent_get_input(c->bev)) > 0; /* pipelined */
    arm(c);
}

/* The client took longer than the deadline for a request: 408 when part of one arrived, else
 * (an idle connection) just the close. The reply is written to the socket directly: nothing
 * else is being written (a request is being read), and evhttp frees its buffers at once. */
static void timed_out(struct conn *c)
{
    if (c->started && !c->tls) { /* under TLS the bytes would have to be encrypted: just close */
        char id[37], reply[1024];
        crypto_uuid_v4(id);
        char detail[96];
        snprintf(detail, sizeof detail, "The request was not received within %d seconds.",
                 cfg.request_timeout);
        int n = errpage_format(reply, sizeof reply, 1, 408, "Request Timeout", "request-timeout",
                               "Request timeout", detail, id);
        if (n > 0 && send(c->fd, reply, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
            log_debug("408 not sent: %s", strerror(errno));
        log_info("request not received within %d s: 408 request_id=%s", cfg.request_timeout, id);
    }
    evhttp_connection_free(c->evcon); /* calls on_close, which frees c */
}

static void on_close(struct evhttp_connection *evcon, void *arg);

static void attach(struct conn *c)
{
    void *evcon = NULL;
    struct bufferevent *bev = c->bev;
    bufferevent_getcb(bev, NULL, NULL, NULL, &evcon);
    if (!evcon) { /* evhttp gave the connection up before it began (it clears the callbacks) */
        conn_free(c);
        bufferevent_decref(bev);
        return;
    }
    c->evcon = evcon;
    c->fd = bufferevent_getfd(bev);
    set_fd(c->fd, c);
    evhttp_connection_set_closecb(c->evcon, on_close, c);
    /* Without it evhttp closes the connection when it reads the end of the stream while
     * pipelined requests are still unread. With it, a failed write makes evhttp read the
     * connection as a client would: http.c refuses what that produces. */
    evhttp_connection_set_flags(c->evcon, EVHTTP_CON_READ_ON_WRITE_ERROR);
    bufferevent_decref(bev);
    arm(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    if (!c->evcon)
        attach(c);
    else if (c->close_now)
        evhttp_connection_free(c->evcon);
    else if (c->busy)
        return;
    else if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
        arm(c); /* evhttp is writing its own refusal, and closes after it */
    else
        timed_out(c);
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
    struct conn *c = arg;
    set_fd(c->fd, NULL);
    if (!c->tls) /* an SSL bufferevent ends its session itself */
        linger(evhttp_connection_get_base(evcon), c->fd);
    conn_free(c);
}

/* ---------- the input ---------- */

static void tls_refused(void)
{
    int n = atomic_fetch_add(&tls_unlogged, 1) + 1;
    long long now = (long long)time(NULL), last = atomic_load(&tls_logged_at);
    if (now - last < TLS_LOG_INTERVAL_S ||
        !atomic_compare_exchange_strong(&tls_logged_at, &last, now))
        return;
    atomic_fetch_sub(&tls_unlogged, n);
    log_warn("a TLS handshake reached the plain-HTTP port and its connection was closed (%d such "
             "connections since the last such line; this line comes at most once a minute)",
             n);
}

static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;
    if (info->n_added == 0)
        return;
    if (!c->started && !c->busy && c->evcon)
        arm(c); /* a request's deadline runs from its first byte, as idleness had its own */
    c->started = true;
    if (c->first)
        return;
    c->first = true;
    unsigned char b;
    /* A TLS record of type handshake: no request line starts with 0x16. Dropping the bytes
     * keeps evhttp from waiting for the end of a line that never comes. */
    if (c->tls || evbuffer_copyout(buf, &b, 1) != 1 || b != 0x16)
        return;
    tls_refused();
    c->close_now = true;
    evbuffer_drain(buf, evbuffer_get_length(buf));
    event_active(c->timer, EV_TIMEOUT, 1);
}

void conn_track(struct event_base *base, struct bufferevent *bev, bool tls)
{
    struct conn *c = bev ? calloc(1, sizeof *c) : NULL;
    if (!c)
        return;
    c->bev = bev;
    c->fd = -1;
    c->tls = tls;
    c->over_cap = atomic_fetch_add(&open_conns, 1) >= cfg.max_connections;
    c->timer = evtimer_new(base, on_timer, c);
    c->watch = c->timer ? evbuffer_add_cb(bufferevent_get_input(bev), on_input, c) : NULL;
    if (!c->watch) {
        if (c->timer)
            event_free(c->timer);
        atomic_fetch_sub(&open_conns, 1);
        free(c);
        return;
    }
    /* evhttp makes its connection object once this returns; the timer attaches to it then,
     * before any byte is read. The reference keeps the bufferevent readable in between. */
    bufferevent_incref(bev);
    event_active(c->timer, EV_TIMEOUT, 1);
}

bool conn_request_read(struct evhttp_request *ev)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    struct conn *c = bev ? conn_of_fd(bufferevent_getfd(bev)) : NULL;
    if (!c || c->evcon != evcon)
        return false;
    c->busy = true;
    evtimer_del(c->timer);
    evhttp_request_set_on_complete_cb(ev, on_reply_sent, c);
    return c->over_cap;
}

/* ---------- shutdown ---------- */

struct leftovers {
    struct event **evs;
    size_t n, cap;
};

static int collect(const struct event_base *base, const struct event *ev, void *arg)
{
    (void)base;
    struct leftovers *l = arg;
    event_callback_fn cb = event_get_callback(ev);
    if (cb != on_timer && cb != on_linger)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        struct event **evs = realloc(l->evs, cap * sizeof *evs);
        if (!evs)
            return -1;
        l->evs = evs;
        l->cap = cap;
    }
    l->evs[l->n++] = (struct event *)ev;
    return 0;
}

void conn_shutdown(struct event_base *base)
{
    struct leftovers l = {0};
    event_base_foreach_event(base, collect, &l);
    for (size_t i = 0; i < l.n; i++) {
        void *arg = event_get_callback_arg(l.evs[i]);
        if (event_get_callback(l.evs[i]) == on_linger)
            linger_end(arg);
        else /* a connection evhttp_free closed before it was attached */
            attach(arg);
    }
    free(l.evs);
}
