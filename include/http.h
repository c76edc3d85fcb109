#ifndef OVERLEG_HTTP_H
#define OVERLEG_HTTP_H
/* The HTTP server: one event loop, evhttp and database pool per thread, all listening on the
 * same port (SO_REUSEPORT), sharing nothing but atomics. */

/* Starts cfg.threads loops and blocks until SIGINT or SIGTERM. Returns 0 on a clean stop. */
int http_serve(void);
#endif
