/* Running an aggregate's SQL step from a request, and answering what it decided
 * (include/aggregate.h). */
#include "aggregate.h"

#include "datakeys.h"
#include "etag.h"
#include "fields.h"
#include "log.h"
#include "pii.h"
#include "principal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void aggregate_reply(struct req *r, const struct aggregate *a, int status, const char *json,
                     const char *sealed, const char *version)
{
    if (version && *version) {
        char etag[ETAG_LEN];
        etag_format(atoll(version), etag);
        req_add_header(r, "ETag", etag);
    }
    if (!sealed || !*sealed) {
        req_reply_raw(r, status, json, strlen(json));
        return;
    }
    json_t *o = json_loads(json, 0, NULL), *identity = NULL;
    const char *id = jsonx_str(o, "id");
    if (id) {
        char ad[DATAKEYS_AD_MAX];
        datakeys_ad(ad, a->noun, id);
        char *plain = datakeys_open(ad, sealed, NULL);
        identity = plain ? json_loads(plain, 0, NULL) : NULL;
        free(plain);
    }
    if (!o || !identity) {
        json_decref(o);
        json_decref(identity);
        log_error("%s: a sealed patient identity does not open request_id=%s", a->noun, req_id(r));
        req_problem(r, 500, "internal", "The patient's identity cannot be read.");
        return;
    }
    json_object_set_new(identity, "mode", json_string("consented"));
    json_object_set_new(o, "patient", identity);
    req_reply_json(r, status, o);
}

int aggregate_refused(struct req *r, const struct aggregate *a, struct db_result *res)
{
    if (req_rows(r, res, 1) == REQ_ANSWERED)
        return 1;
    PGresult *pr = res->res;
    const char *result = PQgetvalue(pr, 0, 0), *detail = PQgetvalue(pr, 0, 1),
               *message = PQgetvalue(pr, 0, 2);
    char msg[200];
    if (!strcmp(result, "ok")) {
        return 0;
    } else if (!strcmp(result, "not_found")) {
        if (!*message)
            snprintf(msg, sizeof msg, "No such %s.", a->noun);
        req_problem(r, 404, "not-found", *message ? message : msg);
    } else if (!strcmp(result, "stale")) {
        snprintf(msg, sizeof msg, "The %s was changed since you read it (ETag mismatch).", a->noun);
        req_problem(r, 412, "precondition-failed", msg);
    } else if (!strcmp(result, "conflict")) {
        if (!*message)
            snprintf(msg, sizeof msg, "Not possible while the %s is %s.", a->noun, detail);
        req_problem(r, 409, "invalid-transition", *message ? message : msg);
    } else if (!strcmp(result, "forbidden")) {
        snprintf(msg, sizeof msg, "You may not do this with this %s.", a->noun);
        req_problem(r, 403, "forbidden", msg);
    } else if (!strcmp(result, "invalid")) {
        json_t *e = json_array();
        jsonx_error(e, detail, message);
        req_invalid(r, e);
    } else {
        log_error("%s step answered %s request_id=%s", a->noun, result, req_id(r));
        req_problem(r, 500, "internal", "The request could not be completed.");
    }
    return 1;
}

json_t *aggregate_with_pii(json_t *args, json_t *body, const char *key)
{
    const char *v = jsonx_str(body, key);
    enum pii_kind k = v ? pii_scan(v, strlen(v)) : PII_NONE;
    if (k != PII_NONE && !json_object_get(args, "pii"))
        json_object_set_new(args, "pii",
                            json_pack("{s:s, s:s}", "field", key, "kind", pii_kind_name(k)));
    return args;
}

/* Seals the texts of `args` the aggregate keeps sealed, bound to the object of the path. */
static int seal_args(struct req *r, const struct aggregate *a, json_t *args)
{
    char ad[DATAKEYS_AD_MAX];
    datakeys_ad(ad, a->noun, req_param(r, 0));
    for (const char *const *k = a->sealed; k && *k; k++) {
        json_t *v = json_object_get(args, *k);
        if (!json_is_string(v))
            continue;
        char *s = datakeys_seal(ad, json_string_value(v), json_string_length(v));
        if (!s)
            return -1;
        json_object_set_new(args, *k, json_string(s));
        free(s);
    }
    return 0;
}

void aggregate_step(struct req *r, const struct aggregate *a, const char *action, json_t *args,
                    bool if_match, req_db_cb done)
{
    if (seal_args(r, a, args) != 0) {
        json_decref(args);
        req_problem(r, 500, "internal", "The text could not be sealed.");
        return;
    }
    char *s = json_dumps(args, JSON_COMPACT);
    json_decref(args);
    const char *args_text = req_strdup(r, s);
    free(s);
    /* The versions If-Match names, as an SQL array. */
    const char *versions = NULL, *header = if_match ? req_header(r, "If-Match") : NULL;
    if (header) {
        int64_t v[ETAG_MAX_TAGS];
        int n = etag_versions(header, v, ETAG_MAX_TAGS);
        if (n == -1) {
            req_problem(r, 400, "bad-request", "If-Match is malformed.");
            return;
        }
        if (n != ETAG_ANY) {
            char *arr = req_alloc(r, (size_t)n * 21 + 3);
            int len = sprintf(arr, "{");
            for (int i = 0; i < n; i++)
                len += sprintf(arr + len, "%s%lld", i ? "," : "", (long long)v[i]);
            strcpy(arr + len, "}");
            versions = arr;
        }
    }
    const char *p[] = {
        REQ_AUDIT_PARAMS(r), principal_param(r), req_param(r, 0), versions, action, args_text};
    req_db(r, a->step, p, done);
}

int aggregate_body_ok(struct req *r, const struct jsonx_field *fields, json_t *errors)
{
    if (!errors)
        errors = json_array();
    if (req_body(r))
        jsonx_check(req_body(r), fields, "", errors);
    if (json_array_size(errors)) {
        req_invalid(r, errors);
        return -1;
    }
    json_decref(errors);
    return 0;
}

void aggregate_reason(struct req *r, const struct aggregate *a, const char *action, req_db_cb done)
{
    static const struct jsonx_field fields[] = {{"reason", JX_STRING, JX_REQUIRED}, {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    fields_text(b, "reason", 2000, errors);
    if (aggregate_body_ok(r, fields, errors) != 0)
        return;
    json_t *args = json_pack("{s:s}", "reason", jsonx_str(b, "reason"));
    aggregate_step(r, a, action, aggregate_with_pii(args, b, "reason"), true, done);
}
