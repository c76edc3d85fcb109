/* Billing (API.md §11, docs/billing.md): provider tariffs, practice budgets, the preview and the
 * exports of POH-GGZ consultation claims. Who may bill for which practice, the pricing and the
 * "at most once, ever" of an export are decided in SQL (sql/0005_billing.sql); this module
 * checks input and turns the functions' outcomes into replies. */
#include "billing.h"

#include "fields.h"
#include "jsonx.h"
#include "principal.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The functions that write take $1 now, $2 ip, $3 request id, $4 the principal (its id is the
 * actor), then their own. */
#define WRITE_PARAMS(r) req_now(r), req_ip(r), req_id(r), principal_param(r)
DB_STMT(sql_tariff_set, 7,
        "SELECT outcome, body::text FROM tariff_set($4::principal, $5::uuid, $6::int, $7::date,"
        " $1, $2, $3)");
DB_STMT(sql_budget_set, 7,
        "SELECT outcome, body::text FROM budget_set($4::principal, $5::uuid, $6::int,"
        " $7::bigint, $1, $2, $3)");
DB_STMT(sql_preview, 4,
        "SELECT outcome, body::text FROM billing_preview($1::principal, $2::uuid, $3::date,"
        " $4::date)");
DB_STMT(sql_export, 7,
        "SELECT outcome, body::text FROM billing_export($4::principal, $5::uuid, $6::date,"
        " $7::date, $1, $2, $3)");
DB_STMT(sql_practice_check, 2, "SELECT billing_practice_check($1::principal, $2::uuid)");
/* $5 the principal, $6 the practice (NULL: all the caller may see), $7..$8 the cursor, $9 the
 * limit. */
DB_STMT(sql_exports_list, 9,
        "WITH a AS (INSERT INTO audit_log SELECT * FROM audit_entry($1, $2, $3, $4,"
        "  'billing.exports_list', NULL, NULL, 'success'))"
        " SELECT billing_export_summary_json(e)::text, e.created_at::text, e.id"
        " FROM billing_exports_visible($5::principal) e"
        " WHERE ($6::uuid IS NULL OR e.organisation_id = $6::uuid)"
        " AND ($7::timestamptz IS NULL OR (e.created_at, e.id) < ($7::timestamptz, $8::uuid))"
        " ORDER BY e.created_at DESC, e.id DESC LIMIT $9");
/* Rows: none, or (visible, body); the read is audited when it is visible. $7 'csv' or 'json'. */
DB_STMT(sql_export_get, 7,
        "WITH e AS (SELECT x, billing_may($5::principal, x.organisation_id) AS visible"
        "  FROM billing_exports x WHERE x.id = $6::uuid),"
        " a AS (INSERT INTO audit_log SELECT y.* FROM e, audit_entry($1, $2, $3, $4,"
        "  'billing.export_read', 'billing_export', (e.x).id, 'success') y WHERE e.visible)"
        " SELECT e.visible, CASE WHEN NOT e.visible THEN NULL"
        "  WHEN $7 = 'csv' THEN billing_export_csv(e.x) ELSE billing_export_json(e.x)::text END"
        " FROM e");

/* ---------- shared ---------- */

static char *int_param(struct req *r, long long v)
{
    char *s = req_alloc(r, 24);
    snprintf(s, 24, "%lld", v);
    return s;
}

/* The answer to an outcome of billing_practice_check (or tariff_set) about organisation `org`
 * that is not 'ok', or 0. */
static int practice_refused(struct req *r, const char *outcome, const char *org)
{
    if (!strcmp(outcome, "ok"))
        return 0;
    if (!strcmp(outcome, "not_found")) {
        req_deny(r, 404, "organisation", org);
        return REQ_ANSWERED;
    }
    json_t *errors = json_array();
    jsonx_error(errors, "organisation_id",
                !strcmp(outcome, "not_provider") ? "is not a mental health provider"
                                                 : "is not a general practice");
    req_invalid(r, errors);
    return REQ_ANSWERED;
}

/* Replies column 1 of a function's (outcome, body) row with `status` when the outcome is 'ok';
 * the request's context is the organisation it is about. */
static void outcome_reply(struct req *r, struct db_result *res, int status)
{
    if (req_rows(r, res, 1) != 0 ||
        practice_refused(r, PQgetvalue(res->res, 0, 0), req_ctx(r)) != 0)
        return;
    req_reply_raw(r, status, PQgetvalue(res->res, 0, 1), (size_t)PQgetlength(res->res, 0, 1));
}

static void outcome_ok(struct req *r, struct db_result *res)
{
    outcome_reply(r, res, 200);
}

/* The practice a billing request is about: `given` (already a valid UUID, or NULL), for a
 * billing user their own practice when not given. NULL for an admin who named none. */
static const char *practice_of(struct req *r, const char *given)
{
    const struct principal *u = req_user(r);
    if (given)
        return given;
    return u->role == ROLE_BILLING ? u->organisation_id : NULL;
}

/* ---------- tariffs and budgets ---------- */

void billing_tariff_put(struct req *r)
{
    static const struct jsonx_field fields[] = {{"hourly_cents", JX_INT, JX_REQUIRED},
                                                {"valid_from", JX_STRING, JX_REQUIRED},
                                                {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    jsonx_check(b, fields, "", errors);
    fields_int(b, "hourly_cents", 1, 1000000, errors);
    const char *from = jsonx_str(b, "valid_from");
    int y, m, d;
    if (from && (!val_date(from, &y, &m, &d) || y < 2000 || y > 2100))
        jsonx_error(errors, "valid_from", "must be a date YYYY-MM-DD in the years 2000 to 2100");
    if (json_array_size(errors)) {
        req_invalid(r, errors);
        return;
    }
    json_decref(errors);
    req_set_ctx(r, (void *)req_param(r, 0));
    const char *p[] = {WRITE_PARAMS(r), req_param(r, 0),
                       int_param(r, json_integer_value(json_object_get(b, "hourly_cents"))), from};
    req_db(r, &sql_tariff_set, p, outcome_ok);
}

void billing_budget_put(struct req *r)
{
    static const struct jsonx_field fields[] = {{"amount_cents", JX_INT, JX_REQUIRED},
                                                {NULL, 0, 0}};
    const char *year = req_param(r, 1);
    if (!val_digits(year, 4)) {
        req_problem(r, 404, "not-found", "No such budget year.");
        return;
    }
    json_t *b = req_body(r), *errors = json_array();
    int y = atoi(year);
    if (y < 2000 || y > 2100)
        jsonx_error(errors, "year", "must be 2000 to 2100");
    jsonx_check(b, fields, "", errors);
    fields_int(b, "amount_cents", 0, 100000000000LL, errors);
    if (json_array_size(errors)) {
        req_invalid(r, errors);
        return;
    }
    json_decref(errors);
    req_set_ctx(r, (void *)req_param(r, 0));
    const char *p[] = {WRITE_PARAMS(r), req_param(r, 0), year,
                       int_param(r, json_integer_value(json_object_get(b, "amount_cents")))};
    req_db(r, &sql_budget_set, p, outcome_ok);
}

/* ---------- preview and exports ---------- */

void billing_preview(struct req *r)
{
    const char *given = req_query(r, "organisation_id"), *from = req_query(r, "from"),
               *to = req_query(r, "to");
    const char *org = practice_of(r, given);
    json_t *errors = json_array();
    if (given && !val_uuid(given))
        jsonx_error(errors, "organisation_id", "must be a UUID");
    else if (!org)
        jsonx_error(errors, "organisation_id", "is required");
    fields_period(from, to, true, errors); /* a budget is per year */
    if (json_array_size(errors)) {
        req_problem_errors(r, 400, "bad-query", "The query string has invalid parameters.", errors);
        return;
    }
    json_decref(errors);
    req_set_ctx(r, (void *)org);
    const char *p[] = {principal_param(r), org, from, to};
    req_db(r, &sql_preview, p, outcome_ok);
}

static void exported(struct req *r, struct db_result *res)
{
    if (req_rows(r, res, 1) != 0)
        return;
    if (!strcmp(PQgetvalue(res->res, 0, 0), "empty")) {
        json_t *b = json_loads(PQgetvalue(res->res, 0, 1), 0, NULL);
        long long unpriced = json_integer_value(json_object_get(b, "unpriced"));
        json_decref(b);
        char detail[200];
        if (unpriced > 0)
            snprintf(detail, sizeof detail,
                     "Nothing to export in this period: %lld answered consultation(s) have no "
                     "tariff of their provider for the day they were answered.",
                     unpriced);
        else
            snprintf(detail, sizeof detail,
                     "Nothing to export in this period: every answered consultation in it has "
                     "been exported already, or none was answered.");
        req_problem(r, 422, "nothing-to-export", detail);
        return;
    }
    outcome_reply(r, res, 201);
}

void billing_export_create(struct req *r)
{
    static const struct jsonx_field fields[] = {{"organisation_id", JX_STRING, 0},
                                                {"from", JX_STRING, JX_REQUIRED},
                                                {"to", JX_STRING, JX_REQUIRED},
                                                {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    jsonx_check(b, fields, "", errors);
    fields_uuid(b, "organisation_id", errors);
    const char *given = jsonx_str(b, "organisation_id"), *from = jsonx_str(b, "from"),
               *to = jsonx_str(b, "to");
    const char *org = practice_of(r, given && val_uuid(given) ? given : NULL);
    if (!org && !jsonx_has(b, "organisation_id")) /* an admin names the practice */
        jsonx_error(errors, "organisation_id", "is required");
    if (from && to)
        fields_period(from, to, true, errors); /* a budget is per year */
    if (json_array_size(errors)) {
        req_invalid(r, errors);
        return;
    }
    json_decref(errors);
    req_set_ctx(r, (void *)org);
    const char *p[] = {WRITE_PARAMS(r), org, from, to};
    req_db(r, &sql_export, p, exported);
}

static void exports_list_run(struct req *r)
{
    const char **p = req_ctx(r);
    req_db(r, &sql_exports_list, p, req_reply_time_page);
}

static void exports_practice_checked(struct req *r, struct db_result *res)
{
    const char **p = req_ctx(r);
    if (req_rows(r, res, 1) != 0 || practice_refused(r, PQgetvalue(res->res, 0, 0), p[5]) != 0)
        return;
    exports_list_run(r);
}

void billing_exports_list(struct req *r)
{
    const char *org = req_query(r, "organisation_id"), *after[2];
    if (org && !val_uuid(org)) {
        req_bad_query(r, "organisation_id", "must be a UUID");
        return;
    }
    if (req_time_cursor(r, after) != 0)
        return;
    const char **p = req_alloc(r, 9 * sizeof *p);
    const char *v[] = {REQ_AUDIT_PARAMS(r), principal_param(r), org, after[0], after[1],
                       req_limit_param(r)};
    memcpy(p, v, sizeof v);
    req_set_ctx(r, p);
    if (!org) {
        exports_list_run(r);
        return;
    }
    const char *c[] = {principal_param(r), org};
    req_db(r, &sql_practice_check, c, exports_practice_checked);
}

/* CSV when the client asks for it (Accept: text/csv); JSON otherwise. */
static int wants_csv(struct req *r)
{
    const char *accept = req_header(r, "Accept");
    return accept && strstr(accept, "text/csv") != NULL;
}

static void export_got(struct req *r, struct db_result *res)
{
    PGresult *pr = res->res;
    if (PQntuples(pr) == 0) {
        req_problem(r, 404, "not-found", "No such export.");
        return;
    }
    if (PQgetvalue(pr, 0, 0)[0] != 't') {
        req_deny(r, 404, "billing_export", req_param(r, 0));
        return;
    }
    const char *body = PQgetvalue(pr, 0, 1);
    size_t len = (size_t)PQgetlength(pr, 0, 1);
    if (!wants_csv(r)) {
        req_reply_raw(r, 200, body, len);
        return;
    }
    char disposition[96];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"overleg-export-%s.csv\"",
             req_param(r, 0));
    req_add_header(r, "Content-Disposition", disposition);
    req_reply_text(r, 200, "text/csv; charset=utf-8", body, len);
}

void billing_export_get(struct req *r)
{
    const char *p[] = {REQ_AUDIT_PARAMS(r), principal_param(r), req_param(r, 0),
                       wants_csv(r) ? "csv" : "json"};
    req_db(r, &sql_export_get, p, export_got);
}
