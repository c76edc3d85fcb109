#ifndef OVERLEG_HTTP_H
#define OVERLEG_HTTP_H
/* The HTTP server: one event loop, evhttp and database pool per thread, all listening on the
 * same port (SO_REUSEPORT), sharing nothing but atomics. */

struct evhttp_request;

/* Starts cfg.threads loops and blocks until SIGINT or SIGTERM. Returns 0 on a clean stop
 * (serve.c). */
int http_serve(void);
/* evhttp's callback for every request; `arg` is the thread's struct worker (http.c). */
void http_on_request(struct evhttp_request *ev, void *arg);
#endif
