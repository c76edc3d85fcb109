/* Organisations (API.md §5): created by admins, listed by anyone signed in. */
#include "organisations.h"

#include "fields.h"
#include "jsonx.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

DB_STMT(sql_org_create, 8,
        "WITH o AS (INSERT INTO organisations (name, kind, region, agb_code, created_at)"
        "  VALUES (btrim($5, E' \\t\\r\\n'), $6, $7, $8, $1) RETURNING *),"
        " a AS (INSERT INTO audit_log SELECT e.* FROM o, audit_entry($1, $2, $3, $4,"
        "  'organisations.create', 'organisation', o.id, 'success') e)"
        " SELECT organisation_json(ROW(o.*)::organisations)::text FROM o");

DB_STMT(sql_org_list, 6,
        "SELECT organisation_json(o)::text, o.name, o.id FROM organisations o"
        " WHERE ($1::text IS NULL OR o.kind = $1) AND ($2::text IS NULL OR o.region = $2)"
        " AND ($3::text IS NULL OR strpos(lower(o.name), lower($3)) > 0)"
        " AND ($4::text IS NULL OR (o.name, o.id) > ($4, $5::uuid))"
        " ORDER BY o.name, o.id LIMIT $6");

DB_STMT(sql_org_get, 1, "SELECT organisation_json(o)::text FROM organisations o WHERE o.id = $1");

static void org_created(struct req *r, struct db_result *res)
{
    req_reply_row(r, res, 201, "organisation");
}

void organisations_create(struct req *r)
{
    static const struct jsonx_field fields[] = {{"name", JX_STRING, JX_REQUIRED},
                                                {"kind", JX_STRING, JX_REQUIRED},
                                                {"region", JX_STRING, JX_REQUIRED},
                                                {"agb_code", JX_STRING, JX_NULLABLE},
                                                {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    jsonx_check(b, fields, "", errors);
    fields_name(b, "name", errors);
    fields_enum(b, "kind", org_kinds, errors);
    fields_region(b, "region", errors);
    fields_digits(b, "agb_code", 8, errors);
    if (json_array_size(errors)) {
        req_invalid(r, errors);
        return;
    }
    json_decref(errors);
    const char *p[] = {REQ_AUDIT_PARAMS(r), jsonx_str(b, "name"), jsonx_str(b, "kind"),
                       jsonx_str(b, "region"), fields_opt(b, "agb_code")};
    req_db(r, &sql_org_create, p, org_created);
}

static void org_listed(struct req *r, struct db_result *res)
{
    req_reply_page(r, res->res, 0, 1, 2);
}

void organisations_list(struct req *r)
{
    const char *kind = req_query(r, "kind"), *region = req_query(r, "region"),
               *q = req_query(r, "q");
    json_t *errors = json_array();
    if (kind && val_enum(kind, org_kinds) < 0)
        jsonx_error(errors, "kind", "is not an organisation kind");
    if (region && !val_region(region))
        jsonx_error(errors, "region", "must be 2 to 64 characters of a-z, 0-9 and -");
    if (q && (strlen(q) < 1 || strlen(q) > 200))
        jsonx_error(errors, "q", "must be 1 to 200 characters");
    if (json_array_size(errors)) {
        req_problem_errors(r, 400, "bad-query", "The query string has invalid parameters.", errors);
        return;
    }
    json_decref(errors);
    const char *after[2];
    if (req_cursor(r, 2, after) != 0)
        return;
    if (after[1] && !val_uuid(after[1])) {
        req_bad_query(r, "cursor", "is not a valid cursor");
        return;
    }
    const char *limit = req_limit_param(r);
    const char *p[] = {kind, region, q, after[0], after[1], limit};
    req_db(r, &sql_org_list, p, org_listed);
}

static void org_got(struct req *r, struct db_result *res)
{
    req_reply_row(r, res, 200, "organisation");
}

void organisations_get(struct req *r)
{
    const char *p[] = {req_param(r, 0)};
    req_db(r, &sql_org_get, p, org_got);
}
