#ifndef OVERLEG_JOBS_H
#define OVERLEG_JOBS_H
/* The scheduler (API.md §10): every OVERLEG_JOBS_INTERVAL seconds, in every instance. Jobs must
 * be safe to run in several instances at once (unique constraints, FOR UPDATE SKIP LOCKED). */
#include "req.h"

struct event_base;
struct db_pool;

struct jobs_counts {
    long signals_raised, signals_resolved, notifications_created;
};

void jobs_start(struct event_base *base, struct db_pool *pool);
void jobs_stop(void);
/* POST /v1/admin/jobs/run: one pass now, audited. */
void jobs_run_now(struct req *r);
#endif
