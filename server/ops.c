/* Operations endpoints (API.md §13) and the test clock. */
#include "ops.h"

#include "clock.h"
#include "embedded.h"
#include "jsonx.h"
#include "metrics.h"
#include "migrate.h"
#include "timefmt.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ops_healthz(struct req *r)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    req_reply_raw(r, 200, ok, sizeof ok - 1);
}

DB_STMT(sql_schema_version, 0, "SELECT coalesce(max(version), 0) FROM schema_migrations");

/* Not ready whatever the error (no schema_migrations yet, say): 503, so it is expected. */
static void schema_checked(struct req *r, struct db_result *res)
{
    if (res->status == DB_OK && atoi(PQgetvalue(res->res, 0, 0)) >= migrate_latest()) {
        ops_healthz(r);
        return;
    }
    req_problem(r, 503, "unavailable", "The database schema is not current; run migrate.");
}

void ops_readyz(struct req *r)
{
    req_db_expect(r, &sql_schema_version, NULL, schema_checked, "*");
}

void ops_metrics(struct req *r)
{
    size_t len;
    char *text = metrics_render(&len);
    req_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

void ops_openapi(struct req *r)
{
    const char *doc = embedded_get("docs/openapi.json");
    req_reply_raw(r, 200, doc, strlen(doc));
}

/* The range the test clock accepts: 2000-01-01 to 2099-12-31. */
#define CLOCK_MIN_US 946684800000000LL
#define CLOCK_MAX_US 4102444800000000LL

static void clock_apply(struct req *r, struct db_result *res)
{
    (void)res;
    int64_t *at = req_ctx(r);
    if (at)
        clock_set(*at);
    else
        clock_reset();
    char now[TIMEFMT_RFC3339_LEN], body[96];
    timefmt_rfc3339(clock_now_us(), now);
    int n = snprintf(body, sizeof body, "{\"now\":\"%s\",\"test_clock\":%s}", now,
                     clock_is_set() ? "true" : "false");
    req_reply_raw(r, 200, body, (size_t)n);
}

void ops_clock_set(struct req *r)
{
    static const struct jsonx_field fields[] = {{"now", JX_STRING, JX_REQUIRED}, {NULL, 0, 0}};
    json_t *errors = json_array();
    int64_t us = 0;
    if (!jsonx_check(req_body(r), fields, "", errors) &&
        (!val_timestamp(jsonx_str(req_body(r), "now"), &us) || us < CLOCK_MIN_US ||
         us >= CLOCK_MAX_US))
        jsonx_error(errors, "now", "must be an RFC 3339 timestamp from 2000 to 2099");
    if (json_array_size(errors)) {
        req_invalid(r, errors);
        return;
    }
    json_decref(errors);
    int64_t *at = req_alloc(r, sizeof *at);
    *at = us;
    req_set_ctx(r, at);
    /* The audit entry first: when it cannot be written, the clock stays as it was. */
    req_audit(r, "success", NULL, NULL, clock_apply);
}

void ops_clock_reset(struct req *r)
{
    req_set_ctx(r, NULL);
    req_audit(r, "success", NULL, NULL, clock_apply);
}
