#include "metrics.h"

#include "db.h"
#include "router.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 128
static const int statuses[] = {200, 201, 204, 400, 401, 403, 404, 405,
                               409, 412, 413, 415, 422, 429, 500, 503};
#define NSTATUS (int)(sizeof statuses / sizeof statuses[0])
static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,   0.25,   0.5,   1,    2.5,   5};
#define NBUCKETS (int)(sizeof buckets / sizeof buckets[0])

struct route_stats {
    _Atomic unsigned long count[NSTATUS + 1]; /* the last slot counts other statuses */
    _Atomic unsigned long bucket[NBUCKETS];
    _Atomic unsigned long total;
    _Atomic unsigned long sum_us;
};
static struct route_stats stats[MAX_ROUTES + 1]; /* slot 0: unmatched */

void metrics_observe(int route, int status, double seconds)
{
    struct route_stats *s = &stats[route >= 0 && route < MAX_ROUTES ? route + 1 : 0];
    int slot = NSTATUS;
    for (int i = 0; i < NSTATUS; i++)
        if (statuses[i] == status)
            slot = i;
    atomic_fetch_add_explicit(&s->count[slot], 1, memory_order_relaxed);
    for (int i = 0; i < NBUCKETS; i++)
        if (seconds <= buckets[i]) {
            atomic_fetch_add_explicit(&s->bucket[i], 1, memory_order_relaxed);
            break;
        }
    atomic_fetch_add_explicit(&s->total, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_us, (unsigned long)(seconds * 1e6), memory_order_relaxed);
}

struct out {
    char *buf;
    size_t len, cap;
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct out *o, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        o->cap = o->cap * 2 + (size_t)n;
        o->buf = realloc(o->buf, o->cap);
    }
}

static const char *route_label(int slot, char *buf, size_t sz)
{
    if (slot == 0)
        return "unmatched";
    snprintf(buf, sz, "%s %s", routes[slot - 1].method, routes[slot - 1].pattern);
    return buf;
}

char *metrics_render(size_t *len)
{
    struct out o = {malloc(16384), 0, 16384};
    char label[160];
    int nroutes = route_count < MAX_ROUTES ? route_count : MAX_ROUTES;
    emit(&o, "# HELP http_requests_total HTTP requests by route and status.\n"
             "# TYPE http_requests_total counter\n");
    for (int r = 0; r <= nroutes; r++)
        for (int i = 0; i <= NSTATUS; i++) {
            unsigned long n = atomic_load(&stats[r].count[i]);
            if (!n)
                continue;
            char st[8];
            if (i < NSTATUS)
                snprintf(st, sizeof st, "%d", statuses[i]);
            else
                strcpy(st, "other");
            emit(&o, "http_requests_total{route=\"%s\",status=\"%s\"} %lu\n",
                 route_label(r, label, sizeof label), st, n);
        }
    emit(&o, "# HELP http_request_duration_seconds Time from request to reply, by route.\n"
             "# TYPE http_request_duration_seconds histogram\n");
    for (int r = 0; r <= nroutes; r++) {
        unsigned long total = atomic_load(&stats[r].total);
        if (!total)
            continue;
        const char *rl = route_label(r, label, sizeof label);
        unsigned long cum = 0;
        for (int b = 0; b < NBUCKETS; b++) {
            cum += atomic_load(&stats[r].bucket[b]);
            emit(&o, "http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n", rl,
                 buckets[b], cum);
        }
        emit(&o, "http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n", rl, total);
        emit(&o, "http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", rl,
             (double)atomic_load(&stats[r].sum_us) / 1e6);
        emit(&o, "http_request_duration_seconds_count{route=\"%s\"} %lu\n", rl, total);
    }
    emit(&o,
         "# HELP db_pool_size Configured database connections.\n# TYPE db_pool_size gauge\n"
         "db_pool_size %ld\n"
         "# HELP db_pool_connected Open database connections.\n# TYPE db_pool_connected gauge\n"
         "db_pool_connected %ld\n"
         "# HELP db_pool_busy Connections running a query.\n# TYPE db_pool_busy gauge\n"
         "db_pool_busy %ld\n"
         "# HELP db_pool_waiting Queries waiting for a connection.\n"
         "# TYPE db_pool_waiting gauge\ndb_pool_waiting %ld\n"
         "# HELP db_pool_errors_total Failed queries.\n# TYPE db_pool_errors_total counter\n"
         "db_pool_errors_total %lu\n"
         "# HELP db_pool_reconnects_total Connections dropped and restarted.\n"
         "# TYPE db_pool_reconnects_total counter\ndb_pool_reconnects_total %lu\n"
         "# HELP db_pool_timeouts_total Queries that timed out.\n"
         "# TYPE db_pool_timeouts_total counter\ndb_pool_timeouts_total %lu\n",
         atomic_load(&db_gauges.size), atomic_load(&db_gauges.connected),
         atomic_load(&db_gauges.busy), atomic_load(&db_gauges.waiting),
         atomic_load(&db_gauges.errors_total), atomic_load(&db_gauges.reconnects_total),
         atomic_load(&db_gauges.timeouts_total));
    *len = o.len;
    return o.buf;
}
