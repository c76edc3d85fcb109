#include "jobs.h"

#include "clock.h"
#include "config.h"
#include "db.h"
#include "log.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

/* The scheduler's work is a registry of passes in the database (`scheduler_passes`,
 * sql/0001_foundation.sql): one SQL function each, every one safe to run in many server processes
 * at once, run in name order by scheduler_run(). A capability adds a pass with a function and a row
 * in its migration; nothing here changes. */
#define SCHEDULER_RUN                                                                              \
    " SELECT signals_raised, signals_resolved, notifications_created FROM scheduler_run($1)"

DB_STMT(sql_jobs_pass, 1, SCHEDULER_RUN);

/* The same run by an admin, with its audit entry. */
DB_STMT(sql_jobs_audited, 4,
        "WITH a AS (INSERT INTO audit_log SELECT * FROM audit_entry($1, $2, $3, $4, 'jobs.run',"
        "  NULL, NULL, 'success'))" SCHEDULER_RUN);

static struct event *timer;
static struct db_pool *jobs_pool;

static void pass_done(struct db_result *res, void *arg)
{
    (void)arg;
    if (res->status != DB_OK)
        log_warn("jobs: scheduled pass failed (status %d %s)", res->status, res->sqlstate);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    char now[40];
    clock_now_param(now);
    const char *p[] = {now};
    db_query(jobs_pool, &sql_jobs_pass, p, pass_done, NULL);
}

void jobs_start(struct event_base *base, struct db_pool *pool)
{
    if (cfg.jobs_interval <= 0)
        return;
    jobs_pool = pool;
    timer = event_new(base, -1, EV_PERSIST, tick, NULL);
    struct timeval tv = {cfg.jobs_interval, 0};
    event_add(timer, &tv);
}

void jobs_stop(void)
{
    if (timer)
        event_free(timer);
    timer = NULL;
}

static void jobs_ran(struct req *r, struct db_result *res)
{
    if (req_rows(r, res, 1) != 0)
        return;
    char body[160];
    int n = snprintf(body, sizeof body,
                     "{\"signals_raised\":%s,\"signals_resolved\":%s,"
                     "\"notifications_created\":%s}",
                     PQgetvalue(res->res, 0, 0), PQgetvalue(res->res, 0, 1),
                     PQgetvalue(res->res, 0, 2));
    req_reply_raw(r, 200, body, (size_t)n);
}

void jobs_run_now(struct req *r)
{
    const char *p[] = {REQ_AUDIT_PARAMS(r)};
    req_db(r, &sql_jobs_audited, p, jobs_ran);
}
