/* serve - the server's threads: one event loop, evhttp and database pool per thread, all
 * listening on one port (SO_REUSEPORT); TLS; the scheduler, the audit checkpoints and the worker
 * pool; stop on a signal.
 * Requests go to http.c. */
#include "http.h"

#include "auth.h"
#include "checkpointer.h"
#include "config.h"
#include "conn.h"
#include "db.h"
#include "errpage.h"
#include "jobs.h"
#include "log.h"
#include "worker.h"
#include "workpool.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* evhttp's own limits. It refuses bodies over MAX_BODY_HARD (and oversized headers, unparsable
 * request lines, unknown methods) before any callback of ours runs; errpage.c turns its HTML page
 * into problem+json on the way out. The hard cap bounds the memory one request can take; http.c
 * answers bodies over 1 MiB itself. The I/O timeout restarts with every byte; conn.c's deadline
 * bounds a whole request. */
#define MAX_BODY_HARD (2 * 1024 * 1024)
#define MAX_HEADERS (16 * 1024)
#define IO_TIMEOUT_S 30
#define ACCEPT_PAUSE_MS 250
#define ACCEPT_LOG_INTERVAL_S 10

static SSL_CTX *ssl_ctx;
static struct worker *workers;

/* Each connection's bufferevent, as evhttp would make it, with evhttp's own error pages turned
 * into problem+json (errpage.c) and the connection followed by conn.c. */
static struct bufferevent *connection_bev(struct event_base *base, void *arg)
{
    (void)arg;
    struct bufferevent *bev =
        ssl_ctx ? bufferevent_openssl_socket_new(base, -1, SSL_new(ssl_ctx),
                                                 BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)
                : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    errpage_guard(bev);
    conn_track(base, bev, ssl_ctx != NULL);
    return bev;
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker *w = arg;
    evconnlistener_enable(w->listener);
}

/* Out of descriptors (EMFILE, ENFILE), accept fails on every pending connection and the
 * listener, still readable, is called again at once: a busy loop, logging each failure. Accepting
 * pauses instead, and the failures are logged once per interval; pending connections wait in the
 * backlog until descriptors are free again. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
    (void)arg; /* the listener's one argument is evhttp's */
    int err = EVUTIL_SOCKET_ERROR();
    struct worker *w = workers;
    while (w->listener != lev)
        w++;
    evconnlistener_disable(lev);
    struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
    evtimer_add(w->accept_pause, &tv);
    w->accept_failures++;
    time_t now = time(NULL);
    if (now - w->accept_logged_at < ACCEPT_LOG_INTERVAL_S)
        return;
    log_warn("accept: %s; accepting pauses %d ms each time (%d failures on thread %d since the "
             "last such line)",
             strerror(err), ACCEPT_PAUSE_MS, w->accept_failures, w->index);
    w->accept_failures = 0;
    w->accept_logged_at = now;
}

static int tls_init(void)
{
    ssl_ctx = SSL_CTX_new(TLS_server_method());
    if (!ssl_ctx || !SSL_CTX_set_min_proto_version(ssl_ctx, TLS1_2_VERSION) ||
        SSL_CTX_use_certificate_chain_file(ssl_ctx, cfg.tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ssl_ctx, cfg.tls_key, SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "overlegd: OVERLEG_TLS_CERT/OVERLEG_TLS_KEY cannot be loaded\n");
        return -1;
    }
    return 0;
}

static int worker_init(struct worker *w, struct addrinfo *ai)
{
    w->base = event_base_new();
    w->http = evhttp_new(w->base);
    if (!w->base || !w->http)
        return -1;
    evhttp_set_max_body_size(w->http, MAX_BODY_HARD);
    evhttp_set_max_headers_size(w->http, MAX_HEADERS);
    evhttp_set_timeout(w->http, IO_TIMEOUT_S);
    /* Not EVHTTP_SERVER_LINGERING_CLOSE: for a body over the cap it reads the whole declared
     * length before refusing (for ever when it is 2^63, and a client waiting for 100 Continue
     * never sends it). evhttp refuses at once; conn.c lingers after any close. */
    evhttp_set_default_content_type(w->http, "application/json; charset=utf-8");
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(w->http, http_on_request, w);
    evhttp_set_bevcb(w->http, connection_bev, NULL);
    w->listener = evconnlistener_new_bind(w->base, NULL, NULL,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                              LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_EXEC,
                                          1024, ai->ai_addr, (int)ai->ai_addrlen);
    if (!w->listener)
        return -1;
    if (!evhttp_bind_listener(w->http, w->listener))
        return -1;
    w->accept_pause = evtimer_new(w->base, on_accept_resume, w);
    if (!w->accept_pause)
        return -1;
    evconnlistener_set_error_cb(w->listener, on_accept_error);
    w->pool = db_pool_new(w->base, cfg.database_url, cfg.db_pool);
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

/* Our threads share the port through SO_REUSEPORT, which would also let a second overlegd (an
 * old version, a forgotten `make run`) bind it silently and take part of the traffic. A probe
 * without SO_REUSEPORT fails while anyone listens there. */
static int port_taken(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int taken = bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    log_info("signal %d: stopping", (int)sig);
    /* Not event_base_loopbreak: a loop that has not started yet clears that flag when it starts,
     * and its thread would never end. loopexit queues an event the loop runs whenever it does. */
    for (int i = 0; i < cfg.threads; i++)
        event_base_loopexit(workers[i].base, NULL);
    event_base_loopexit(arg, NULL);
}

int http_serve(void)
{
    evthread_use_pthreads();
    signal(SIGPIPE, SIG_IGN);
    if (ssl_ctx == NULL && cfg.tls_cert && tls_init() != 0)
        return -1;

    char port[8];
    snprintf(port, sizeof port, "%d", cfg.listen_port);
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM},
                    *ai = NULL;
    if (getaddrinfo(cfg.listen_host, port, &hints, &ai) != 0 || !ai) {
        fprintf(stderr, "overlegd: OVERLEG_LISTEN host %s cannot be resolved\n", cfg.listen_host);
        return -1;
    }
    if (port_taken(ai)) {
        fprintf(stderr, "overlegd: OVERLEG_LISTEN %s:%d is already in use\n", cfg.listen_host,
                cfg.listen_port);
        freeaddrinfo(ai);
        return -1;
    }
    if (conn_init() != 0) {
        fprintf(stderr, "overlegd: out of memory\n");
        freeaddrinfo(ai);
        return -1;
    }
    workers = calloc((size_t)cfg.threads, sizeof *workers);
    for (int i = 0; i < cfg.threads; i++) {
        workers[i].index = i;
        if (worker_init(&workers[i], ai) != 0) {
            fprintf(stderr, "overlegd: OVERLEG_LISTEN %s:%d cannot be bound\n", cfg.listen_host,
                    cfg.listen_port);
            freeaddrinfo(ai);
            return -1;
        }
    }
    freeaddrinfo(ai);
    auth_init();
    workpool_start(cfg.threads < 2 ? 2 : cfg.threads);
    jobs_start(workers[0].base, workers[0].pool);
    if (checkpointer_start() != 0)
        return -1;

    struct event_base *main_base = event_base_new();
    struct event *sigint = evsignal_new(main_base, SIGINT, on_signal, main_base);
    struct event *sigterm = evsignal_new(main_base, SIGTERM, on_signal, main_base);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    for (int i = 0; i < cfg.threads; i++)
        pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
    log_info("listening on %s%s:%d with %d threads", ssl_ctx ? "https://" : "http://",
             cfg.listen_host, cfg.listen_port, cfg.threads);
    event_base_dispatch(main_base);

    for (int i = 0; i < cfg.threads; i++)
        pthread_join(workers[i].thread, NULL);
    workpool_stop();
    jobs_stop();
    checkpointer_stop(); /* after the loops: the last checkpoint covers every request */
    for (int i = 0; i < cfg.threads; i++) {
        evhttp_free(workers[i].http);
        conn_shutdown(workers[i].base);
        event_free(workers[i].accept_pause);
        db_pool_free(workers[i].pool);
        event_base_free(workers[i].base);
    }
    free(workers);
    event_free(sigint);
    event_free(sigterm);
    event_base_free(main_base);
    if (ssl_ctx)
        SSL_CTX_free(ssl_ctx);
    return 0;
}
