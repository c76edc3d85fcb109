#ifndef OVERLEG_CONN_H
#define OVERLEG_CONN_H
/* conn - what evhttp 2.1 does not do for a server connection: a deadline for each request's
 * head and body (408), a cap on open connections (503), a lingering close, reading a pipeline to
 * its end after the client half-closed, and closing TLS spoken to the plain port. */
#include <stdbool.h>

struct bufferevent;
struct event_base;
struct evhttp_request;

/* Sizes the table of connections by descriptor; once, before the loops start. */
int conn_init(void);
/* Follows a connection from its new bufferevent on (serve.c's bevcb); `tls`: in-process TLS. */
void conn_track(struct event_base *base, struct bufferevent *bev, bool tls);
/* A request has been read whole: its connection's deadline waits until the reply has left.
 * True when the connection is over OVERLEG_MAX_CONNECTIONS (the request is answered 503). */
bool conn_request_read(struct evhttp_request *ev);
/* After evhttp_free, before event_base_free: frees what `base` still holds of ours. */
void conn_shutdown(struct event_base *base);
#endif
