#include "jobs.h"

#include "clock.h"
#include "config.h"
#include "db.h"
#include "log.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

/* One pass of every job, as a single statement so it is atomic and safe to run in many instances
 * at once (the overdue notice is unique per consultation and user): housekeeping of expired
 * sessions, old login failures and idempotency keys, and overdue notices to consultants. Later
 * capabilities add their signal work here, each adding to the counts. */
#define JOBS_PASS                                                                                  \
    " sessions_gone AS (DELETE FROM sessions WHERE expires_at < $1::timestamptz - interval '1 "    \
    "day'),"                                                                                       \
    " failures_gone AS (DELETE FROM login_failures"                                                \
    "  WHERE at < $1::timestamptz - interval '1 day'),"                                            \
    " keys_gone AS (DELETE FROM idempotency_keys"                                                  \
    "  WHERE created_at < $1::timestamptz - interval '24 hours')," /* the consultant hears once    \
                                                                      that a question waits past   \
                                                                      its due date */              \
    " overdue AS (INSERT INTO notifications (user_id, kind, subject_type, subject_id, created_at)" \
    "  SELECT c.consultant_id, 'consultation_overdue', 'consultation', c.id, $1 FROM "             \
    "consultations c"                                                                              \
    "  WHERE c.status IN ('submitted', 'accepted') AND c.due_at < $1"                              \
    "  AND c.consultant_id IS NOT NULL"                                                            \
    "  ON CONFLICT (user_id, kind, subject_id) WHERE kind = 'consultation_overdue' DO NOTHING"     \
    "  RETURNING 1)"                                                                               \
    " SELECT 0::bigint AS signals_raised, 0::bigint AS signals_resolved,"                          \
    " (SELECT count(*) FROM overdue) AS notifications_created"

DB_STMT(sql_jobs_pass, 1, "WITH" JOBS_PASS);

/* The same pass run by an admin, with its audit entry. */
DB_STMT(sql_jobs_audited, 4,
        "WITH a AS (INSERT INTO audit_log (at, actor_id, ip, request_id, action, outcome)"
        "  VALUES ($1, $2, $3, $4, 'jobs.run', 'success'))," JOBS_PASS);

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
