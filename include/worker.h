#ifndef OVERLEG_WORKER_H
#define OVERLEG_WORKER_H
/* One server thread: its event loop, evhttp, listener and database pool (serve.c makes them;
 * http.c's requests belong to one). */
#include <pthread.h>

struct worker {
    int index;
    struct event_base *base;
    struct evhttp *http;
    struct evconnlistener *listener;
    struct db_pool *pool;
    pthread_t thread;
    struct event *accept_pause; /* accepting resumes after running out of descriptors */
    int accept_failures;
    long accept_logged_at;
};
#endif
