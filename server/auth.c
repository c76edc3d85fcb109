/* Sign-in: argon2id verification off the loop, opaque bearer tokens stored as SHA-256, the
 * per-e-mail failure limit kept in the database so every server process shares it. */
#include "auth.h"

#include "crypto.h"
#include "jsonx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Counts this attempt (login_attempt) and fetches what verification needs. */
DB_STMT(sql_login_lookup, 2,
        "SELECT password_hash, user_id, retry_after FROM login_attempt($1, $2)");

DB_STMT(sql_login_ok, 7,
        "WITH s AS (INSERT INTO sessions (token_hash, user_id, created_at, expires_at)"
        "  VALUES ($5, $6, $1, $1::timestamptz + interval '12 hours') RETURNING *),"
        " d AS (DELETE FROM login_failures WHERE email = lower($7) AND EXISTS (SELECT FROM s)),"
        " a AS (INSERT INTO audit_log SELECT e.* FROM s, audit_entry($1, $2, $3, $4, 'auth.login',"
        "  'user', s.user_id, 'success') e)"
        " SELECT ts(s.expires_at), user_json(u)::text FROM s JOIN users u ON u.id = s.user_id");

/* The failure itself was counted by login_attempt. */
DB_STMT(sql_login_failed, 5,
        "INSERT INTO audit_log SELECT * FROM audit_entry($1, $2, $3, $4, 'auth.login', 'user', $5,"
        " 'denied')");

DB_STMT(
    sql_logout, 5,
    "WITH s AS (UPDATE sessions SET revoked_at = $1"
    "  WHERE token_hash = $5 AND revoked_at IS NULL RETURNING user_id)"
    " INSERT INTO audit_log SELECT e.* FROM s, audit_entry($1, $2, $3, $4, 'auth.logout', 'user',"
    " s.user_id, 'success') e");

static void invalid_credentials(struct req *r)
{
    req_problem(r, 401, "invalid-credentials", "The e-mail address or password is wrong.");
}

static void login_failed_written(struct req *r, struct db_result *res)
{
    (void)res;
    invalid_credentials(r);
}

/* Audits the attempt as denied, then 401. */
static void login_refused(struct req *r, struct login *l)
{
    const char *p[] = {REQ_AUDIT_PARAMS(r), l->user_id};
    req_db(r, &sql_login_failed, p, login_failed_written);
}

static void login_ok_written(struct req *r, struct db_result *res)
{
    struct login *l = req_ctx(r);
    if (PQntuples(res->res) != 1) { /* inactive or moved since login_attempt */
        login_refused(r, l);
        return;
    }
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
        login_refused(r, l);
    }
}

static void limit_audited(struct req *r, struct db_result *res)
{
    (void)res;
    req_problem(r, 429, "rate-limited",
                "Too many failed sign-ins for this e-mail address; try again later.");
}

static void login_found(struct req *r, struct db_result *res)
{
    if (req_rows(r, res, 1) != 0)
        return;
    struct login *l = req_ctx(r);
    PGresult *pr = res->res;
    l->email = req_strdup(r, jsonx_str(req_body(r), "email"));
    if (!PQgetisnull(pr, 0, 0))
        l->hash = req_strdup(r, PQgetvalue(pr, 0, 0));
    if (!PQgetisnull(pr, 0, 1))
        l->user_id = req_strdup(r, PQgetvalue(pr, 0, 1));
    if (!PQgetisnull(pr, 0, 2)) {
        req_add_header(r, "Retry-After", PQgetvalue(pr, 0, 2));
        req_audit(r, "denied", "user", l->user_id, limit_audited);
        return;
    }
    if (req_work(r, verify_work, l, verify_done) != 0)
        req_problem(r, 503, "unavailable", "The server is busy; try again shortly.");
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
    const char *email = jsonx_str(req_body(r), "email");
    const char *password = jsonx_str(req_body(r), "password");
    /* Bounds before any work: the limits of a valid e-mail, and of a password in UTF-8. */
    if (strlen(email) > 1016)
        jsonx_error(errors, "email", "is too long");
    if (strlen(password) > 1024)
        jsonx_error(errors, "password", "is too long");
    if (json_array_size(errors)) {
        req_invalid(r, errors);
        return;
    }
    json_decref(errors);
    struct login *l = req_alloc(r, sizeof *l);
    l->password = password;
    req_set_ctx(r, l);
    const char *p[] = {email, req_now(r)};
    req_db(r, &sql_login_lookup, p, login_found);
}

static void logout_done(struct req *r, struct db_result *res)
{
    (void)res;
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
