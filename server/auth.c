/* Sign-in: argon2id verification off the loop, opaque bearer tokens stored as SHA-256, the
 * per-e-mail failure limit kept in the database so every server process shares it. */
#include "crypto.h"
#include "handlers.h"
#include "jsonx.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAILURES 5

/* Verifying against this when the e-mail is unknown makes both failures cost the same. */
static char dummy_hash[128];

void auth_init(void)
{
    crypto_password_hash("not-a-real-password", 19, dummy_hash);
}

struct login {
    char *email;
    const char *password;
    char *hash;    /* stored argon2id hash, NULL when unknown or inactive */
    char *user_id; /* NULL when the e-mail is unknown */
    int ok;
    char token[64];
    char token_hash[65];
};

DB_STMT(sql_login_lookup, 2,
        "SELECT (SELECT u.password_hash FROM users u WHERE u.email = $1 AND u.active),"
        " (SELECT u.id FROM users u WHERE u.email = $1),"
        " count(*),"
        " ceil(extract(epoch FROM max(f.at) + interval '15 minutes' - $2::timestamptz))"
        " FROM login_failures f"
        " WHERE f.email = $1 AND f.at > $2::timestamptz - interval '15 minutes'");

DB_STMT(sql_login_ok, 7,
        "WITH s AS (INSERT INTO sessions (token_hash, user_id, created_at, expires_at)"
        "  VALUES ($5, $6, $1, $1::timestamptz + interval '12 hours') RETURNING *),"
        " d AS (DELETE FROM login_failures WHERE email = $7),"
        " a AS (INSERT INTO audit_log (at, actor_id, ip, request_id, action, subject_type,"
        "  subject_id, outcome) SELECT $1, $2, $3, $4, 'auth.login', 'user', s.user_id,"
        "  'success' FROM s)"
        " SELECT ts(s.expires_at), user_json(u)::text FROM s JOIN users u ON u.id = s.user_id");

DB_STMT(sql_login_failed, 6,
        "WITH f AS (INSERT INTO login_failures (email, at) VALUES ($5, $1))"
        " INSERT INTO audit_log (at, actor_id, ip, request_id, action, subject_type, subject_id,"
        " outcome) VALUES ($1, $2, $3, $4, 'auth.login', 'user', $6, 'denied')");

DB_STMT(sql_logout, 5,
        "WITH s AS (UPDATE sessions SET revoked_at = $1"
        "  WHERE token_hash = $5 AND revoked_at IS NULL RETURNING user_id)"
        " INSERT INTO audit_log (at, actor_id, ip, request_id, action, subject_type, subject_id,"
        " outcome) SELECT $1, $2, $3, $4, 'auth.logout', 'user', s.user_id, 'success' FROM s");

static void invalid_credentials(struct req *r)
{
    req_problem(r, 401, "invalid-credentials", "The e-mail address or password is wrong.");
}

static void login_failed_written(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK) {
        req_db_failed(r, res);
        return;
    }
    invalid_credentials(r);
}

static void login_ok_written(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK || PQntuples(res->res) != 1) {
        req_db_failed(r, res);
        return;
    }
    struct login *l = req_ctx(r);
    char *user = PQgetvalue(res->res, 0, 1);
    size_t n = strlen(l->token) + strlen(user) + 128;
    char *body = req_alloc(r, n);
    int len = snprintf(body, n, "{\"token\":\"%s\",\"expires_at\":\"%s\",\"user\":%s}", l->token,
                       PQgetvalue(res->res, 0, 0), user);
    req_reply_raw(r, 200, body, (size_t)len);
}

static void verify_work(void *arg)
{
    struct login *l = arg;
    int match =
        crypto_password_verify(l->hash ? l->hash : dummy_hash, l->password, strlen(l->password));
    l->ok = match && l->hash != NULL;
    if (l->ok && crypto_new_token(l->token) != 0)
        l->ok = 0;
    if (l->ok)
        crypto_sha256_hex(l->token, strlen(l->token), l->token_hash);
}

static void verify_done(struct req *r, void *arg)
{
    struct login *l = arg;
    if (l->ok) {
        const char *p[] = {req_now(r),    l->user_id, req_ip(r), req_id(r),
                           l->token_hash, l->user_id, l->email};
        req_db(r, &sql_login_ok, p, login_ok_written);
    } else {
        const char *p[] = {REQ_AUDIT_PARAMS(r), l->email, l->user_id};
        req_db(r, &sql_login_failed, p, login_failed_written);
    }
}

static void limit_audited(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK) {
        req_db_failed(r, res);
        return;
    }
    req_problem(r, 429, "rate-limited",
                "Too many failed sign-ins for this e-mail address; try again later.");
}

static void login_found(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK) {
        req_db_failed(r, res);
        return;
    }
    struct login *l = req_ctx(r);
    PGresult *pr = res->res;
    if (!PQgetisnull(pr, 0, 0))
        l->hash = req_strdup(r, PQgetvalue(pr, 0, 0));
    if (!PQgetisnull(pr, 0, 1))
        l->user_id = req_strdup(r, PQgetvalue(pr, 0, 1));
    if (atoi(PQgetvalue(pr, 0, 2)) >= MAX_FAILURES) {
        long wait = PQgetisnull(pr, 0, 3) ? 1 : atol(PQgetvalue(pr, 0, 3));
        char ra[24];
        snprintf(ra, sizeof ra, "%ld", wait < 1 ? 1 : wait);
        req_add_header(r, "Retry-After", ra);
        req_audit(r, "denied", "user", l->user_id, limit_audited);
        return;
    }
    req_work(r, verify_work, l, verify_done);
}

void auth_login(struct req *r)
{
    static const struct jsonx_field fields[] = {
        {"email", JX_STRING, JX_REQUIRED}, {"password", JX_STRING, JX_REQUIRED}, {NULL, 0, 0}};
    json_t *errors = json_array();
    if (jsonx_check(req_body(r), fields, "", errors)) {
        req_invalid(r, errors);
        return;
    }
    json_decref(errors);
    struct login *l = req_alloc(r, sizeof *l);
    l->email = req_strdup(r, jsonx_str(req_body(r), "email"));
    for (char *c = l->email; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    l->password = jsonx_str(req_body(r), "password");
    req_set_ctx(r, l);
    const char *p[] = {l->email, req_now(r)};
    req_db(r, &sql_login_lookup, p, login_found);
}

static void logout_done(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK) {
        req_db_failed(r, res);
        return;
    }
    req_reply_empty(r, 204);
}

void auth_logout(struct req *r)
{
    const char *p[] = {REQ_AUDIT_PARAMS(r), req_user(r)->token_hash};
    req_db(r, &sql_logout, p, logout_done);
}

void auth_me(struct req *r)
{
    const char *u = req_user(r)->user_json;
    req_reply_raw(r, 200, u, strlen(u));
}
