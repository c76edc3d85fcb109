/* Reports (API.md §12, docs/reports.md): how consultation and escalation work in a region over a
 * period. The figures are counted in SQL (report_summary in sql/0006_reports.sql); this module
 * checks the period and who may see which region: a coordinator their own, an admin every
 * region or one. */
#include "reports.h"

#include "fields.h"
#include "jsonx.h"
#include "validate.h"

#include <string.h>

DB_STMT(sql_summary, 3, "SELECT report_summary($1, $2::date, $3::date)::text");

static void summary_done(struct req *r, struct db_result *res)
{
    req_reply_row(r, res, 200, "report");
}

void reports_summary(struct req *r)
{
    const struct principal *u = req_user(r);
    const char *region = req_query(r, "region"), *from = req_query(r, "from"),
               *to = req_query(r, "to");
    json_t *errors = json_array();
    fields_period(from, to, false, errors);
    if (region && !val_region(region))
        jsonx_error(errors, "region", "must be 2 to 64 characters of a-z, 0-9 and -");
    if (json_array_size(errors)) {
        req_problem_errors(r, 400, "bad-query", "The query string has invalid parameters.", errors);
        return;
    }
    json_decref(errors);
    if (u->role == ROLE_COORDINATOR) {
        /* a coordinator reports on their own region only */
        if (region && strcmp(region, u->region) != 0) {
            req_deny(r, 403, NULL, NULL);
            return;
        }
        region = u->region;
    }
    const char *p[] = {region, from, to};
    req_db(r, &sql_summary, p, summary_done);
}
