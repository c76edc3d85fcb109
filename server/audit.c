/* Reading and verifying the audit log (API.md §12). Entries are written by the statements that
 * make the changes they record; the chain itself is kept by a trigger (sql/0001_foundation.sql). */
#include "audit.h"

#include "checkpoint.h"
#include "config.h"
#include "jsonx.h"
#include "log.h"
#include "timefmt.h"
#include "validate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

DB_STMT(sql_audit_list, 11,
        "WITH a AS (INSERT INTO audit_log SELECT * FROM audit_entry($1, $2, $3, $4, 'audit.list',"
        "  NULL, NULL, 'success'))"
        " SELECT audit_json(e)::text, e.seq FROM audit_log e"
        " WHERE ($5::uuid IS NULL OR e.subject_id = $5)"
        " AND ($6::uuid IS NULL OR e.actor_id = $6)"
        " AND ($7::text IS NULL OR e.action = $7)"
        " AND ($8::timestamptz IS NULL OR e.at >= $8)"
        " AND ($9::timestamptz IS NULL OR e.at < $9)"
        " AND ($10::bigint IS NULL OR e.seq < $10)"
        " ORDER BY e.seq DESC LIMIT $11");

DB_STMT(sql_audit_verify, 6, AUDIT_VERIFY_SQL);

/* `from`/`to` take a date (the whole day) or an RFC 3339 timestamp; `to` is inclusive. */
static int parse_bound(const char *v, int is_to, char out[40])
{
    int y, m, d;
    int64_t us;
    if (val_date(v, &y, &m, &d)) {
        char ts[40];
        snprintf(ts, sizeof ts, "%sT00:00:00Z", v);
        val_timestamp(ts, &us);
        if (is_to)
            us += 86400LL * 1000000;
    } else if (val_timestamp(v, &us)) {
        if (is_to)
            us += 1;
    } else {
        return -1;
    }
    char base[32];
    int64_t frac = ((us % 1000000) + 1000000) % 1000000; /* floor, also before 1970 */
    timefmt_rfc3339(us - frac, base);
    snprintf(out, 40, "%.*s.%06dZ", 19, base, (int)frac);
    return 0;
}

static void audit_listed(struct req *r, struct db_result *res)
{
    req_reply_page(r, res->res, 0, 1, 1);
}

void audit_list(struct req *r)
{
    const char *subject = req_query(r, "subject_id"), *actor = req_query(r, "actor_id"),
               *action = req_query(r, "action"), *from = req_query(r, "from"),
               *to = req_query(r, "to");
    char from_ts[40], to_ts[40];
    json_t *errors = json_array();
    if (subject && !val_uuid(subject))
        jsonx_error(errors, "subject_id", "must be a UUID");
    if (actor && !val_uuid(actor))
        jsonx_error(errors, "actor_id", "must be a UUID");
    if (action && (strlen(action) < 1 || strlen(action) > 64))
        jsonx_error(errors, "action", "must be 1 to 64 characters");
    if (from && parse_bound(from, 0, from_ts))
        jsonx_error(errors, "from", "must be a date or an RFC 3339 timestamp");
    if (to && parse_bound(to, 1, to_ts))
        jsonx_error(errors, "to", "must be a date or an RFC 3339 timestamp");
    if (json_array_size(errors)) {
        req_problem_errors(r, 400, "bad-query", "The query string has invalid parameters.", errors);
        return;
    }
    json_decref(errors);
    const char *after[1];
    if (req_cursor(r, 1, after) != 0)
        return;
    if (after[0] && !val_digits(after[0], strlen(after[0]))) {
        req_bad_query(r, "cursor", "is not a valid cursor");
        return;
    }
    const char *limit = req_limit_param(r);
    const char *p[] = {REQ_AUDIT_PARAMS(r),   subject,           actor,    action,
                       from ? from_ts : NULL, to ? to_ts : NULL, after[0], limit};
    req_db(r, &sql_audit_list, p, audit_listed);
}

/* The checkpoint file is read on the worker pool: it grows by a line per checkpoint. */
struct verify_ctx {
    struct checkpoints cp;
    int read_errno;
};

static void audit_verified(struct req *r, struct db_result *res)
{
    if (req_rows(r, res, 1) != 0)
        return;
    struct verify_ctx *v = req_ctx(r);
    PGresult *pr = res->res;
    const char *col[8];
    for (int i = 0; i < 8; i++)
        col[i] = PQgetisnull(pr, 0, i) ? NULL : PQgetvalue(pr, 0, i);
    struct verify_row row = {col[0], col[1], col[2], col[3], col[4], col[5], col[6], col[7]};
    int ok;
    char *body =
        checkpoint_report(&row, cfg.audit_checkpoint_file && !v->read_errno ? &v->cp : NULL,
                          v->read_errno ? "unreadable" : NULL, &ok);
    if (!body) {
        req_problem(r, 500, "internal", "Out of memory.");
        return;
    }
    req_reply_raw(r, 200, body, strlen(body));
    free(body);
}

static void verify_read(void *arg)
{
    struct verify_ctx *v = arg;
    if (checkpoint_read(cfg.audit_checkpoint_file, 1, &v->cp) != 0) {
        v->read_errno = errno;
        log_error("audit verify: cannot read %s: %s", cfg.audit_checkpoint_file, strerror(errno));
    }
}

static void verify_query(struct req *r, void *arg)
{
    struct verify_ctx *v = arg;
    if (v->cp.text) { /* into the request's memory, freed with it whatever the answer */
        struct checkpoints cp = v->cp;
        v->cp.text = req_strdup(r, cp.text);
        v->cp.seqs = req_strdup(r, cp.seqs);
        v->cp.hashes = req_strdup(r, cp.hashes);
        checkpoint_free(&cp);
    }
    const char *p[] = {REQ_AUDIT_PARAMS(r), v->cp.seqs ? v->cp.seqs : "{}",
                       v->cp.hashes ? v->cp.hashes : "{}"};
    req_db(r, &sql_audit_verify, p, audit_verified);
}

void audit_verify(struct req *r)
{
    struct verify_ctx *v = req_alloc(r, sizeof *v);
    req_set_ctx(r, v);
    if (!cfg.audit_checkpoint_file)
        verify_query(r, v);
    else if (req_work(r, verify_read, v, verify_query) != 0)
        req_problem(r, 503, "unavailable", "The server is busy; try again.");
}
