/* Users (API.md §4–§5): admins create, read and (de)activate them. Deactivation revokes every
 * token in the same statement, so it takes effect at once. */
#include "users.h"

#include "crypto.h"
#include "etag.h"
#include "fields.h"
#include "jsonx.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

DB_STMT(sql_org_kind, 1, "SELECT kind FROM organisations WHERE id = $1");

DB_STMT(
    sql_user_create, 11,
    "WITH u AS (INSERT INTO users (email, name, role, organisation_id, password_hash,"
    "  agb_code, big_number, created_at) VALUES (lower($5), btrim($6, E' \\t\\r\\n'), $7, $8, $9, "
    "$10, $11, $1)"
    "  RETURNING *),"
    " a AS (INSERT INTO audit_log SELECT e.* FROM u, audit_entry($1, $2, $3, $4, 'users.create',"
    "  'user', u.id, 'success') e)"
    " SELECT user_json(ROW(u.*)::users)::text, u.version FROM u");

DB_STMT(sql_user_get, 5,
        "WITH u AS (SELECT * FROM users WHERE id = $5),"
        " a AS (INSERT INTO audit_log SELECT e.* FROM u, audit_entry($1, $2, $3, $4, 'users.read',"
        "  'user', u.id, 'success') e)"
        " SELECT user_json(ROW(u.*)::users)::text, u.version FROM u");

DB_STMT(sql_user_version, 1, "SELECT version FROM users WHERE id = $1");

DB_STMT(
    sql_user_update, 8,
    "WITH u AS (UPDATE users SET active = coalesce($6::boolean, active),"
    "  name = coalesce(btrim($7, E' \\t\\r\\n'), name), version = version + 1"
    "  WHERE id = $5 AND ($8::bigint IS NULL OR version = $8) RETURNING *),"
    " s AS (UPDATE sessions SET revoked_at = $1 WHERE revoked_at IS NULL"
    "  AND user_id IN (SELECT id FROM u WHERE NOT active)),"
    " a AS (INSERT INTO audit_log SELECT e.* FROM u, audit_entry($1, $2, $3, $4, 'users.update',"
    "  'user', u.id, 'success') e)"
    " SELECT user_json(ROW(u.*)::users)::text, u.version FROM u");

/* Admins' list: $5 role, $6 organisation, $7 active, $8 q (a case-insensitive substring of the
 * name or the e-mail address), $9..$10 the cursor (name, id), $11 the limit. By name, then id
 * (users_by_name); audited, as the list shows e-mail addresses. */
DB_STMT(sql_user_list, 11,
        "WITH a AS (INSERT INTO audit_log SELECT * FROM audit_entry($1, $2, $3, $4, 'users.list',"
        "  NULL, NULL, 'success'))"
        " SELECT user_json(u)::text, u.name, u.id FROM users u"
        " WHERE ($5::text IS NULL OR u.role = $5)"
        " AND ($6::uuid IS NULL OR u.organisation_id = $6::uuid)"
        " AND ($7::boolean IS NULL OR u.active = $7::boolean)"
        " AND ($8::text IS NULL OR strpos(lower(u.name), lower($8)) > 0"
        "  OR strpos(u.email, lower($8)) > 0)"
        " AND ($9::text IS NULL OR (u.name, u.id) > ($9, $10::uuid))"
        " ORDER BY u.name, u.id LIMIT $11");

/* Replies the user of row 0 (json, version) with its ETag. */
static void reply_user(struct req *r, struct db_result *res, int status)
{
    if (PQntuples(res->res) != 1) {
        req_problem(r, 404, "not-found", "No such user.");
        return;
    }
    char etag[ETAG_LEN];
    etag_format(atoll(PQgetvalue(res->res, 0, 1)), etag);
    req_add_header(r, "ETag", etag);
    req_reply_raw(r, status, PQgetvalue(res->res, 0, 0), (size_t)PQgetlength(res->res, 0, 0));
}

struct new_user {
    const char *email;
    const char *password;
    char hash[128];
    int hashed;
};

static void user_created(struct req *r, struct db_result *res)
{
    if (res->status == DB_ERR_QUERY) { /* DB_UNIQUE_VIOLATION, the one it expects */
        req_problem(r, 409, "conflict", "A user with this e-mail address already exists.");
        return;
    }
    reply_user(r, res, 201);
}

static void hash_work(void *arg)
{
    struct new_user *u = arg;
    u->hashed = crypto_password_hash(u->password, strlen(u->password), u->hash) == 0;
}

static void hash_done(struct req *r, void *arg)
{
    struct new_user *u = arg;
    if (!u->hashed) {
        req_problem(r, 500, "internal", "The password could not be hashed.");
        return;
    }
    json_t *b = req_body(r);
    const char *p[] = {REQ_AUDIT_PARAMS(r),
                       u->email,
                       jsonx_str(b, "name"),
                       jsonx_str(b, "role"),
                       jsonx_str(b, "organisation_id"),
                       u->hash,
                       fields_opt(b, "agb_code"),
                       fields_opt(b, "big_number")};
    req_db_expect(r, &sql_user_create, p, user_created, DB_UNIQUE_VIOLATION);
}

static void org_kind_found(struct req *r, struct db_result *res)
{
    json_t *errors = json_array();
    const char *role = jsonx_str(req_body(r), "role");
    if (PQntuples(res->res) != 1)
        jsonx_error(errors, "organisation_id", "no such organisation");
    else if (!role_fits(role, PQgetvalue(res->res, 0, 0)))
        jsonx_error(errors, "role", "this role does not fit the organisation's kind");
    if (json_array_size(errors)) {
        req_invalid(r, errors);
        return;
    }
    json_decref(errors);
    if (req_work(r, hash_work, req_ctx(r), hash_done) != 0)
        req_problem(r, 503, "unavailable", "The server is busy; try again shortly.");
}

void users_create(struct req *r)
{
    static const struct jsonx_field fields[] = {
        {"email", JX_STRING, JX_REQUIRED},      {"name", JX_STRING, JX_REQUIRED},
        {"role", JX_STRING, JX_REQUIRED},       {"organisation_id", JX_STRING, JX_REQUIRED},
        {"password", JX_STRING, JX_REQUIRED},   {"agb_code", JX_STRING, JX_NULLABLE},
        {"big_number", JX_STRING, JX_NULLABLE}, {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    jsonx_check(b, fields, "", errors);
    const char *email = jsonx_str(b, "email"), *password = jsonx_str(b, "password");
    if (email && !val_email(email))
        jsonx_error(errors, "email", "must be an e-mail address");
    if (password && !val_password(password, strlen(password)))
        jsonx_error(errors, "password", "must be 12 to 256 characters");
    fields_name(b, "name", errors);
    fields_enum(b, "role", role_names, errors);
    fields_uuid(b, "organisation_id", errors);
    fields_digits(b, "agb_code", 8, errors);
    fields_digits(b, "big_number", 11, errors);
    if (json_array_size(errors)) {
        req_invalid(r, errors);
        return;
    }
    json_decref(errors);
    struct new_user *u = req_alloc(r, sizeof *u);
    u->email = email; /* lower-cased by PostgreSQL, which knows Unicode case rules */
    u->password = password;
    req_set_ctx(r, u);
    const char *p[] = {jsonx_str(b, "organisation_id")};
    req_db(r, &sql_org_kind, p, org_kind_found);
}

static void users_listed(struct req *r, struct db_result *res)
{
    req_reply_page(r, res->res, 0, 1, 2);
}

void users_list(struct req *r)
{
    static const char *const booleans[] = {"true", "false", NULL};
    const char *role = req_query(r, "role"), *org = req_query(r, "organisation_id"),
               *active = req_query(r, "active"), *q = req_query(r, "q");
    json_t *errors = json_array();
    if (role && val_enum(role, role_names) < 0)
        jsonx_error(errors, "role", "is not a role");
    if (org && !val_uuid(org))
        jsonx_error(errors, "organisation_id", "must be a UUID");
    if (active && val_enum(active, booleans) < 0)
        jsonx_error(errors, "active", "must be true or false");
    if (q && (val_utf8_chars(q, strlen(q)) < 1 || val_utf8_chars(q, strlen(q)) > 200))
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
    const char *p[] = {REQ_AUDIT_PARAMS(r), role, org, active, q, after[0], after[1],
                       req_limit_param(r)};
    req_db(r, &sql_user_list, p, users_listed);
}

static void user_got(struct req *r, struct db_result *res)
{
    reply_user(r, res, 200);
}

void users_get(struct req *r)
{
    const char *p[] = {REQ_AUDIT_PARAMS(r), req_param(r, 0)};
    req_db(r, &sql_user_get, p, user_got);
}

static void user_updated(struct req *r, struct db_result *res)
{
    if (PQntuples(res->res) == 0) {
        /* Only with If-Match: the version moved between our read and the update. */
        req_problem(r, 412, "precondition-failed", "The user was changed meanwhile.");
        return;
    }
    reply_user(r, res, 200);
}

static void version_found(struct req *r, struct db_result *res)
{
    if (PQntuples(res->res) != 1) {
        req_problem(r, 404, "not-found", "No such user.");
        return;
    }
    const char *version = PQgetvalue(res->res, 0, 0);
    const char *if_match = req_header(r, "If-Match");
    if (if_match) {
        int m = etag_if_match(if_match, atoll(version));
        if (m < 0) {
            req_problem(r, 400, "bad-request", "If-Match is malformed.");
            return;
        }
        if (m == 0) {
            req_problem(r, 412, "precondition-failed",
                        "The user was changed since you read it (ETag mismatch).");
            return;
        }
    }
    json_t *b = req_body(r), *active = json_object_get(b, "active");
    const char *p[] = {REQ_AUDIT_PARAMS(r), req_param(r, 0),
                       active ? (json_is_true(active) ? "true" : "false") : NULL,
                       jsonx_str(b, "name"), if_match ? req_strdup(r, version) : NULL};
    req_db(r, &sql_user_update, p, user_updated);
}

void users_update(struct req *r)
{
    static const struct jsonx_field fields[] = {
        {"active", JX_BOOL, 0}, {"name", JX_STRING, 0}, {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    jsonx_check(b, fields, "", errors);
    fields_name(b, "name", errors);
    if (json_object_size(b) == 0)
        jsonx_error(errors, "active", "give at least one of active, name");
    if (json_array_size(errors)) {
        req_invalid(r, errors);
        return;
    }
    json_decref(errors);
    if (json_is_false(json_object_get(b, "active")) &&
        strcasecmp(req_param(r, 0), req_user(r)->id) == 0) {
        req_problem(r, 409, "conflict", "You cannot deactivate yourself.");
        return;
    }
    const char *p[] = {req_param(r, 0)};
    req_db(r, &sql_user_version, p, version_found);
}
