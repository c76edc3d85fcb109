/* Escalation cases (API.md §9, docs/cases.md): a patient whose care stalled between
 * organisations, taken by a region's coordinator through the four Zorgconsul levels. Visibility,
 * every action, the stalled reasons and the Treeknorm are decided in SQL (sql/0004_cases.sql:
 * case_relations, case_visible, the `transitions` rows and case_step), under the case's row lock
 * with its event and audit entry. This module validates input, guards anonymity and seals
 * patient identities (patient.c), as consultations.c does. */
#include "cases.h"

#include "aggregate.h"
#include "clock.h"
#include "crypto.h"
#include "datakeys.h"
#include "fields.h"
#include "jsonx.h"
#include "patient.h"
#include "principal.h"
#include "timefmt.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const statuses[] = {"registered", "returned", "in_progress",
                                       "resolved",   "closed",   NULL};
static const char *const reporters[] = {"professional", "patient", "relative", NULL};

/* The texts of a case: every one required and not blank, and in an anonymous case free of
 * anything that looks like an identifier. */
static const char *const texts[] = {"title",    "summary",           "stagnation",
                                    "attempts", "proposed_solution", NULL};

DB_STMT(sql_step, 9,
        "SELECT result, detail, message, access, body::text, identity, (body->>'version')"
        " FROM case_step($1, $2, $3, $4, $5::principal, $6::uuid, $7::bigint[], $8, $9::jsonb)");

/* The texts of a case's actions, sealed to it (datakeys.h). */
static const char *const sealed_args[] = {
    "title",       "summary", "stagnation", "attempts", "proposed_solution", "note", "reason",
    "description", "result",  "agenda",     "body",     "solution",          NULL};
static const struct aggregate kase = {"case", &sql_step, sealed_args};

/* ---------- field checks ---------- */

/* Today's date under the clock module, for "not in the future". */
static void today(char out[TIMEFMT_DATE_LEN])
{
    timefmt_date(clock_now_us(), out);
}

/* A date field `prefix``key` of `o` (absent or null is fine): YYYY-MM-DD and not after today. */
static const char *date_field(json_t *o, const char *prefix, const char *key, json_t *errors)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return NULL;
    char field[64], now[TIMEFMT_DATE_LEN];
    snprintf(field, sizeof field, "%s%s", prefix, key);
    int y, m, d;
    if (!json_is_string(v) || !val_date(json_string_value(v), &y, &m, &d)) {
        jsonx_error(errors, field, "must be a date YYYY-MM-DD");
        return NULL;
    }
    today(now);
    if (strcmp(json_string_value(v), now) > 0) {
        jsonx_error(errors, field, "must not be in the future");
        return NULL;
    }
    return json_string_value(v);
}

/* "waiting": {"registered_on", "intake_on"?, "treatment_on"?}, in that order in time. */
static void waiting_field(json_t *b, json_t *errors)
{
    static const struct jsonx_field fields[] = {{"registered_on", JX_STRING, JX_REQUIRED},
                                                {"intake_on", JX_STRING, JX_NULLABLE},
                                                {"treatment_on", JX_STRING, JX_NULLABLE},
                                                {NULL, 0, 0}};
    json_t *w = json_object_get(b, "waiting");
    if (!json_is_object(w))
        return;
    jsonx_check(w, fields, "waiting.", errors);
    const char *reg = date_field(w, "waiting.", "registered_on", errors),
               *intake = date_field(w, "waiting.", "intake_on", errors),
               *treatment = date_field(w, "waiting.", "treatment_on", errors);
    if (intake && reg && strcmp(intake, reg) < 0)
        jsonx_error(errors, "waiting.intake_on", "must not be before registered_on");
    if (treatment && !jsonx_str(w, "intake_on"))
        jsonx_error(errors, "waiting.treatment_on", "needs intake_on");
    else if (treatment && intake && strcmp(treatment, intake) < 0)
        jsonx_error(errors, "waiting.treatment_on", "must not be before intake_on");
}

/* "parties": 1 to 20 of {"organisation_id", "role"}, each organisation once. */
static void parties_field(json_t *b, json_t *errors)
{
    static const struct jsonx_field fields[] = {{"organisation_id", JX_STRING, JX_REQUIRED},
                                                {"role", JX_STRING, JX_REQUIRED},
                                                {NULL, 0, 0}};
    json_t *parties = json_object_get(b, "parties");
    if (!json_is_array(parties))
        return;
    size_t n = json_array_size(parties);
    if (n < 1 || n > 20) {
        jsonx_error(errors, "parties", "must have 1 to 20 parties");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(parties, i);
        char prefix[32], field[64];
        snprintf(prefix, sizeof prefix, "parties[%zu].", i);
        if (!json_is_object(p)) {
            snprintf(field, sizeof field, "parties[%zu]", i);
            jsonx_error(errors, field, "must be an object");
            continue;
        }
        jsonx_check(p, fields, prefix, errors);
        const char *org = jsonx_str(p, "organisation_id"), *role = jsonx_str(p, "role");
        snprintf(field, sizeof field, "%sorganisation_id", prefix);
        if (org && !val_uuid(org))
            jsonx_error(errors, field, "must be a UUID");
        for (size_t j = 0; org && j < i; j++) {
            const char *other = jsonx_str(json_array_get(parties, j), "organisation_id");
            if (other && !strcasecmp(other, org)) {
                jsonx_error(errors, field, "names an organisation that is a party already");
                break;
            }
        }
        snprintf(field, sizeof field, "%srole", prefix);
        if (role &&
            (role[strspn(role, " \t\r\n")] == 0 || val_utf8_chars(role, strlen(role)) > 100))
            jsonx_error(errors, field, "must be 1 to 100 characters, not blank");
    }
}

/* ---------- register ---------- */

DB_STMT(sql_register, 7,
        "SELECT result, detail, message, NULL, body::text, identity, (body->>'version')"
        " FROM case_register($1, $2, $3, $4, $5::principal, $6::jsonb, $7)");

static void registered(struct req *r, struct db_result *res)
{
    if (aggregate_refused(r, &kase, res))
        return;
    /* A replay shows the patient hidden, as for consultations. */
    req_replay_body(r, PQgetvalue(res->res, 0, 4));
    aggregate_reply(r, &kase, 201, PQgetvalue(res->res, 0, 4), PQgetvalue(res->res, 0, 5),
                    PQgetvalue(res->res, 0, 6));
}

void cases_create(struct req *r)
{
    static const struct jsonx_field fields[] = {{"title", JX_STRING, JX_REQUIRED},
                                                {"summary", JX_STRING, JX_REQUIRED},
                                                {"stagnation", JX_STRING, JX_REQUIRED},
                                                {"attempts", JX_STRING, JX_REQUIRED},
                                                {"proposed_solution", JX_STRING, JX_REQUIRED},
                                                {"parties", JX_ARRAY, JX_REQUIRED},
                                                {"patient", JX_OBJECT, JX_REQUIRED},
                                                {"consultation_id", JX_STRING, JX_NULLABLE},
                                                {"reported_by", JX_STRING, 0},
                                                {"waiting", JX_OBJECT, JX_NULLABLE},
                                                {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    jsonx_check(b, fields, "", errors);
    fields_text(b, "title", 200, errors);
    for (int i = 1; texts[i]; i++)
        fields_text(b, texts[i], 10000, errors);
    parties_field(b, errors);
    fields_uuid(b, "consultation_id", errors);
    fields_enum(b, "reported_by", reporters, errors);
    const char *reporter = jsonx_str(b, "reported_by");
    if (reporter && strcmp(reporter, "professional") && req_user(r)->role != ROLE_COORDINATOR)
        jsonx_error(errors, "reported_by",
                    "only a coordinator registers a case for a patient or relative");
    waiting_field(b, errors);
    /* The id is chosen here: the identity and the texts are sealed to it. */
    char id[37], ad[DATAKEYS_AD_MAX];
    crypto_uuid_v4(id);
    datakeys_ad(ad, kase.noun, id);
    struct patient patient;
    if (patient_check(r, b, texts, ad, &patient, errors) != 0) {
        json_decref(errors);
        req_problem(r, 500, "internal", "The patient's identity cannot be sealed.");
        return;
    }
    if (json_array_size(errors)) {
        req_invalid(r, errors);
        return;
    }
    json_decref(errors);
    /* What case_register reads: the body without the identity (sealed apart), defaults set. */
    json_t *c = json_deep_copy(b);
    json_object_set_new(c, "patient",
                        patient.sealed ? json_pack("{s:s}", "mode", "consented")
                                       : json_pack("{s:s, s:s, s:s}", "mode", "anonymous", "age",
                                                   patient.age, "sex", patient.sex));
    if (!reporter)
        json_object_set_new(c, "reported_by", json_string("professional"));
    if (json_is_null(json_object_get(c, "consultation_id")))
        json_object_del(c, "consultation_id");
    if (json_is_null(json_object_get(c, "waiting")))
        json_object_del(c, "waiting");
    json_object_set_new(c, "id", json_string(id));
    for (int i = 0; texts[i]; i++) {
        const char *v = jsonx_str(c, texts[i]);
        char *sealed = datakeys_seal(ad, v, strlen(v));
        if (!sealed) {
            json_decref(c);
            req_problem(r, 500, "internal", "The case's texts cannot be sealed.");
            return;
        }
        json_object_set_new(c, texts[i], json_string(sealed));
        free(sealed);
    }
    char *s = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    const char *p[] = {REQ_AUDIT_PARAMS(r), principal_param(r), req_strdup(r, s), patient.sealed};
    free(s);
    req_db(r, &sql_register, p, registered);
}

/* ---------- read and list ---------- */

static void case_done(struct req *r, struct db_result *res)
{
    if (aggregate_refused(r, &kase, res))
        return;
    PGresult *pr = res->res;
    aggregate_reply(r, &kase, 200, PQgetvalue(pr, 0, 4), PQgetvalue(pr, 0, 5),
                    PQgetvalue(pr, 0, 6));
}

void cases_get(struct req *r)
{
    aggregate_step(r, &kase, "read", json_object(), false, case_done);
}

/* Lists show no patient and no texts but the title (case_page). $5 the principal, $6 status,
 * $7 level, $8 stalled, $9..$10 the cursor, $11 the limit. */
DB_STMT(sql_list, 11,
        "WITH a AS (INSERT INTO audit_log SELECT * FROM audit_entry($1, $2, $3, $4,"
        "  'cases.list', NULL, NULL, 'success'))"
        " SELECT * FROM case_page($5::principal, $1::timestamptz, $6, $7::int, $8::boolean,"
        "  $9::timestamptz, $10::uuid, $11::int)");

void cases_list(struct req *r)
{
    const char *status = req_query(r, "status"), *level = req_query(r, "level"),
               *stalled = req_query(r, "stalled"), *after[2];
    if (status && val_enum(status, statuses) < 0) {
        req_bad_query(r, "status", "is not a case status");
        return;
    }
    if (level && (strlen(level) != 1 || level[0] < '0' || level[0] > '4')) {
        req_bad_query(r, "level", "must be 0, 1, 2, 3 or 4");
        return;
    }
    if (stalled && strcmp(stalled, "true") && strcmp(stalled, "false")) {
        req_bad_query(r, "stalled", "must be true or false");
        return;
    }
    if (req_time_cursor(r, after) != 0)
        return;
    const char *p[] = {
        REQ_AUDIT_PARAMS(r), principal_param(r), status, level, stalled, after[0], after[1],
        req_limit_param(r)};
    req_db(r, &sql_list, p, req_reply_time_page);
}

/* ---------- actions ---------- */

/* A step that answered an item of the case (an action, conference or note) rather than the
 * case: 201 when it is new (item_done), 200 when it changed (item_changed). */
static void item_reply(struct req *r, struct db_result *res, int status)
{
    if (aggregate_refused(r, &kase, res))
        return;
    req_reply_raw(r, status, PQgetvalue(res->res, 0, 4), (size_t)PQgetlength(res->res, 0, 4));
}

static void item_done(struct req *r, struct db_result *res)
{
    item_reply(r, res, 201);
}

static void item_changed(struct req *r, struct db_result *res)
{
    item_reply(r, res, 200);
}

static void transition(struct req *r, const char *action, json_t *args)
{
    aggregate_step(r, &kase, action, args, true, case_done);
}

/* Guards `key` of the body: only a consented case's texts may name the patient. */
#define PII(args, key) aggregate_with_pii((args), req_body(r), (key))

void cases_intake(struct req *r)
{
    static const struct jsonx_field fields[] = {
        {"work_done", JX_BOOL, JX_REQUIRED}, {"note", JX_STRING, JX_NULLABLE}, {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    fields_text(b, "note", 10000, errors);
    if (aggregate_body_ok(r, fields, errors) != 0)
        return;
    json_t *args = json_pack("{s:b}", "work_done", json_is_true(json_object_get(b, "work_done")));
    if (jsonx_str(b, "note"))
        json_object_set_new(args, "note", json_string(jsonx_str(b, "note")));
    transition(r, "intake", PII(args, "note"));
}

void cases_update(struct req *r)
{
    static const struct jsonx_field fields[] = {{"title", JX_STRING, 0},
                                                {"summary", JX_STRING, 0},
                                                {"stagnation", JX_STRING, 0},
                                                {"attempts", JX_STRING, 0},
                                                {"proposed_solution", JX_STRING, 0},
                                                {"parties", JX_ARRAY, 0},
                                                {"waiting", JX_OBJECT, JX_NULLABLE},
                                                {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    fields_text(b, "title", 200, errors);
    for (int i = 1; texts[i]; i++)
        fields_text(b, texts[i], 10000, errors);
    parties_field(b, errors);
    waiting_field(b, errors);
    if (json_object_size(b) == 0)
        jsonx_error(errors, "", "give at least one field to change");
    if (aggregate_body_ok(r, fields, errors) != 0)
        return;
    json_t *args = json_deep_copy(b);
    for (int i = 0; texts[i]; i++)
        PII(args, texts[i]);
    transition(r, "update", args);
}

void cases_resubmit(struct req *r)
{
    transition(r, "resubmit", json_object());
}

void cases_escalate(struct req *r)
{
    aggregate_reason(r, &kase, "escalate", case_done);
}

void cases_deescalate(struct req *r)
{
    aggregate_reason(r, &kase, "deescalate", case_done);
}

void cases_regie(struct req *r)
{
    static const struct jsonx_field fields[] = {{"organisation_id", JX_STRING, JX_REQUIRED},
                                                {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    fields_uuid(b, "organisation_id", errors);
    if (aggregate_body_ok(r, fields, errors) != 0)
        return;
    transition(r, "regie_set",
               json_pack("{s:s, s:[s]}", "organisation_id", jsonx_str(b, "organisation_id"),
                         "organisations", jsonx_str(b, "organisation_id")));
}

void cases_action_add(struct req *r)
{
    static const struct jsonx_field fields[] = {{"description", JX_STRING, JX_REQUIRED},
                                                {"owner_organisation_id", JX_STRING, JX_REQUIRED},
                                                {"due_on", JX_STRING, JX_REQUIRED},
                                                {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    fields_text(b, "description", 2000, errors);
    fields_uuid(b, "owner_organisation_id", errors);
    int y, m, d;
    const char *due = jsonx_str(b, "due_on");
    if (due && !val_date(due, &y, &m, &d))
        jsonx_error(errors, "due_on", "must be a date YYYY-MM-DD");
    if (aggregate_body_ok(r, fields, errors) != 0)
        return;
    const char *owner = jsonx_str(b, "owner_organisation_id");
    json_t *args = json_pack("{s:s, s:s, s:s, s:[s]}", "description", jsonx_str(b, "description"),
                             "owner_organisation_id", owner, "due_on", due, "organisations", owner);
    aggregate_step(r, &kase, "action_create", PII(args, "description"), false, item_done);
}

void cases_action_update(struct req *r)
{
    static const struct jsonx_field fields[] = {
        {"status", JX_STRING, JX_REQUIRED}, {"result", JX_STRING, JX_NULLABLE}, {NULL, 0, 0}};
    static const char *const done[] = {"done", NULL};
    json_t *b = req_body(r), *errors = json_array();
    fields_enum(b, "status", done, errors);
    fields_text(b, "result", 10000, errors);
    if (aggregate_body_ok(r, fields, errors) != 0)
        return;
    json_t *args = json_pack("{s:s}", "action_id", req_param(r, 1));
    if (jsonx_str(b, "result"))
        json_object_set_new(args, "result", json_string(jsonx_str(b, "result")));
    aggregate_step(r, &kase, "action_update", PII(args, "result"), false, item_changed);
}

void cases_conference_add(struct req *r)
{
    static const struct jsonx_field fields[] = {{"starts_at", JX_STRING, JX_REQUIRED},
                                                {"participants", JX_ARRAY, JX_REQUIRED},
                                                {"agenda", JX_STRING, JX_REQUIRED},
                                                {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    int64_t us;
    const char *starts = jsonx_str(b, "starts_at");
    if (starts && !val_timestamp(starts, &us))
        jsonx_error(errors, "starts_at", "must be an RFC 3339 timestamp");
    fields_text(b, "agenda", 10000, errors);
    json_t *parts = json_object_get(b, "participants");
    if (json_is_array(parts)) {
        if (json_array_size(parts) < 1 || json_array_size(parts) > 20)
            jsonx_error(errors, "participants", "must name 1 to 20 organisations");
        for (size_t i = 0; i < json_array_size(parts); i++) {
            json_t *v = json_array_get(parts, i);
            char field[40];
            snprintf(field, sizeof field, "participants[%zu]", i);
            if (!json_is_string(v) || !val_uuid(json_string_value(v)))
                jsonx_error(errors, field, "must be an organisation id (UUID)");
            for (size_t j = 0; json_is_string(v) && j < i; j++)
                if (json_equal(v, json_array_get(parts, j))) {
                    jsonx_error(errors, field, "names an organisation twice");
                    break;
                }
        }
    }
    if (aggregate_body_ok(r, fields, errors) != 0)
        return;
    json_t *args = json_pack("{s:s, s:s, s:O}", "starts_at", starts, "agenda",
                             jsonx_str(b, "agenda"), "organisations", parts);
    aggregate_step(r, &kase, "conference_create", PII(args, "agenda"), false, item_done);
}

void cases_note_add(struct req *r)
{
    static const struct jsonx_field fields[] = {{"body", JX_STRING, JX_REQUIRED}, {NULL, 0, 0}};
    json_t *errors = json_array();
    fields_text(req_body(r), "body", 10000, errors);
    if (aggregate_body_ok(r, fields, errors) != 0)
        return;
    aggregate_step(r, &kase, "note_create",
                   PII(json_pack("{s:s}", "body", jsonx_str(req_body(r), "body")), "body"), false,
                   item_done);
}

void cases_resolve(struct req *r)
{
    static const struct jsonx_field fields[] = {{"solution", JX_STRING, JX_REQUIRED},
                                                {"follow_up_on", JX_STRING, JX_NULLABLE},
                                                {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    fields_text(b, "solution", 10000, errors);
    int y, m, d;
    const char *follow = jsonx_str(b, "follow_up_on");
    if (follow && !val_date(follow, &y, &m, &d))
        jsonx_error(errors, "follow_up_on", "must be a date YYYY-MM-DD");
    if (aggregate_body_ok(r, fields, errors) != 0)
        return;
    json_t *args = json_pack("{s:s}", "solution", jsonx_str(b, "solution"));
    if (follow)
        json_object_set_new(args, "follow_up_on", json_string(follow));
    transition(r, "resolve", PII(args, "solution"));
}

void cases_close(struct req *r)
{
    static const struct jsonx_field fields[] = {{"note", JX_STRING, JX_NULLABLE}, {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    fields_text(b, "note", 10000, errors);
    if (aggregate_body_ok(r, fields, errors) != 0)
        return;
    json_t *args = json_object();
    if (jsonx_str(b, "note"))
        json_object_set_new(args, "note", json_string(jsonx_str(b, "note")));
    transition(r, "close", PII(args, "note"));
}
