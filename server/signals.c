/* Signals (API.md §10): what the scheduler's passes raise for coordinators, newest first. A
 * coordinator sees their region's, an admin all. The passes themselves are SQL
 * (scheduler_consultation_signals, scheduler_case_signals), run by jobs.c. */
#include "signals.h"

#include "principal.h"
#include "validate.h"

#include <string.h>

static const char *const kinds[] = {"consultation_overdue",
                                    "case_intake_overdue",
                                    "case_action_overdue",
                                    "case_no_progress",
                                    "treeknorm_intake",
                                    "treeknorm_treatment",
                                    NULL};

/* $1 the principal, $2 open/resolved, $3 kind, $4..$5 the cursor, $6 the limit. */
DB_STMT(sql_signals, 6,
        "SELECT signal_json(s)::text, s.raised_at::text, s.id FROM signal_visible($1::principal) s"
        " WHERE ($2::text IS NULL OR (s.resolved_at IS NULL) = ($2 = 'open'))"
        " AND ($3::text IS NULL OR s.kind = $3)"
        " AND ($4::timestamptz IS NULL OR (s.raised_at, s.id) < ($4::timestamptz, $5::uuid))"
        " ORDER BY s.raised_at DESC, s.id DESC LIMIT $6");

void signals_list(struct req *r)
{
    static const char *const states[] = {"open", "resolved", NULL};
    const char *status = req_query(r, "status"), *kind = req_query(r, "kind"), *after[2];
    if (status && val_enum(status, states) < 0) {
        req_bad_query(r, "status", "must be open or resolved");
        return;
    }
    if (kind && val_enum(kind, kinds) < 0) {
        req_bad_query(r, "kind", "is not a signal kind");
        return;
    }
    if (req_time_cursor(r, after) != 0)
        return;
    const char *p[] = {principal_param(r), status, kind, after[0], after[1], req_limit_param(r)};
    req_db(r, &sql_signals, p, req_reply_time_page);
}
