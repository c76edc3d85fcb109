#ifndef OVERLEG_METRICS_H
#define OVERLEG_METRICS_H
/* Prometheus counters shared by every loop thread (atomics; no locks on the request path). */
#include <stddef.h>

/* route: index into routes[], or -1 for requests that matched no route. */
void metrics_observe(int route, int status, double seconds);
/* Renders the text exposition format into a malloc'd string. */
char *metrics_render(size_t *len);
#endif
