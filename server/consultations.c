/* Consultations (API.md §8): GP/POH questions to GGZ consultants. Visibility and every action
 * are decided in SQL (sql/0003_consultations.sql: consultation_access and consultation_visible for
 * what a principal sees, the `transitions` rows and consultation_step for what it may do), under a
 * row lock and with the event and the audit entry in the same transaction. This module validates
 * input, guards anonymity, seals patient identities and shows them only to those allowed. */
#include "consultations.h"

#include "aggregate.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "datakeys.h"
#include "etag.h"
#include "fields.h"
#include "jsonx.h"
#include "log.h"
#include "patient.h"
#include "pii.h"
#include "principal.h"
#include "timefmt.h"
#include "validate.h"
#include "workdays.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const modes[] = {"digital", "phone", "video", "on_location", NULL};
static const char *const urgencies[] = {"routine", "soon", NULL};
static const char *const statuses[] = {"submitted", "accepted",  "declined", "answered",
                                       "closed",    "withdrawn", NULL};

DB_STMT(sql_step, 9,
        "SELECT result, detail, message, access, body::text, identity, (body->>'version')"
        " FROM consultation_step($1, $2, $3, $4, $5::principal, $6::uuid, $7::bigint[], $8,"
        " $9::jsonb)");

/* The texts of a consultation's actions, sealed to it (datakeys.h). */
static const char *const sealed_args[] = {"reason", "advice", "note", "body", "location", NULL};
static const struct aggregate consultation = {"consultation", &sql_step, sealed_args};

/* ---------- create ---------- */

struct create {
    int64_t now_us;
    char id[37]; /* chosen here: the sealed texts are bound to it */
    char ad[DATAKEYS_AD_MAX];
    struct patient patient;
    char due[TIMEFMT_RFC3339_US_LEN];
};

DB_STMT(sql_target, 3, "SELECT verdict, response_days FROM consultation_target($1, $2, $3)");

/* consultation_submit: the consultation, its first event (whose hook notifies the addressed
 * consultant or the group) and the audit entry, in one transaction. */
DB_STMT(sql_create, 20,
        "SELECT body::text, identity, body->>'version' FROM consultation_submit($1, $2, $3, $4,"
        " $5::uuid, $6, $7, $8, $9::int, $10, $11, $12, $13, $14, $15, $16, $17, $18::boolean,"
        " $19, $20)");

static void created(struct req *r, struct db_result *res)
{
    if (req_rows(r, res, 1) == REQ_ANSWERED)
        return;
    /* A replay shows the patient hidden: reading the identity again takes an audited GET, and
     * nothing outlives a revocation of consent. */
    req_replay_body(r, PQgetvalue(res->res, 0, 0));
    aggregate_reply(r, &consultation, 201, PQgetvalue(res->res, 0, 0), PQgetvalue(res->res, 0, 1),
                    PQgetvalue(res->res, 0, 2));
}

/* The body's text `key` sealed to the new consultation (NULL when absent), with the request. */
static const char *sealed_text(struct req *r, struct create *c, const char *key, int *failed)
{
    const char *v = jsonx_str(req_body(r), key);
    if (!v)
        return NULL;
    char *s = datakeys_seal(c->ad, v, strlen(v));
    if (!s) {
        *failed = 1;
        return NULL;
    }
    const char *out = req_strdup(r, s);
    free(s);
    return out;
}

static void target_checked(struct req *r, struct db_result *res)
{
    json_t *b = req_body(r), *errors = json_array();
    const char *verdict = PQgetvalue(res->res, 0, 0);
    const char *field = jsonx_has(b, "consultant_id") ? "consultant_id" : "expertise";
    if (!strcmp(verdict, "missing"))
        jsonx_error(errors, field, "no such consultant");
    else if (!strcmp(verdict, "not_accepting"))
        jsonx_error(errors, field, "this consultant is not accepting consultations");
    else if (!strcmp(verdict, "unknown_code"))
        jsonx_error(errors, field, "is not a known code");
    else if (!strcmp(verdict, "none"))
        jsonx_error(errors, field, "no accepting consultant with this expertise in your region");
    if (json_array_size(errors)) {
        req_invalid(r, errors);
        return;
    }
    json_decref(errors);
    struct create *c = req_ctx(r);
    int days = atoi(PQgetvalue(res->res, 0, 1));
    timefmt_rfc3339_us(workdays_add(c->now_us, days), c->due);
    json_t *rc = json_object_get(b, "referral_contemplated");
    int failed = 0;
    const char *subject = sealed_text(r, c, "subject", &failed),
               *question = sealed_text(r, c, "question", &failed),
               *next_step = sealed_text(r, c, "proposed_next_step", &failed);
    if (failed) {
        req_problem(r, 500, "internal", "The consultation's texts cannot be sealed.");
        return;
    }
    const char *p[] = {REQ_AUDIT_PARAMS(r),
                       c->id,
                       subject,
                       question,
                       c->patient.mode,
                       c->patient.sealed ? NULL : c->patient.age,
                       c->patient.sealed ? NULL : c->patient.sex,
                       c->patient.sealed,
                       req_user(r)->organisation_id,
                       req_user(r)->region,
                       jsonx_str(b, "consultant_id"),
                       jsonx_str(b, "expertise"),
                       jsonx_str(b, "mode"),
                       jsonx_str(b, "urgency") ? jsonx_str(b, "urgency") : "routine",
                       json_is_true(rc) ? "true" : "false",
                       next_step,
                       c->due};
    req_db(r, &sql_create, p, created);
}

void consultations_create(struct req *r)
{
    static const struct jsonx_field fields[] = {{"subject", JX_STRING, JX_REQUIRED},
                                                {"question", JX_STRING, JX_REQUIRED},
                                                {"patient", JX_OBJECT, JX_REQUIRED},
                                                {"consultant_id", JX_STRING, 0},
                                                {"expertise", JX_STRING, 0},
                                                {"mode", JX_STRING, JX_REQUIRED},
                                                {"urgency", JX_STRING, 0},
                                                {"referral_contemplated", JX_BOOL, JX_REQUIRED},
                                                {"proposed_next_step", JX_STRING, JX_NULLABLE},
                                                {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    jsonx_check(b, fields, "", errors);
    fields_length(b, "subject", 1, 200, errors);
    fields_length(b, "question", 1, 10000, errors);
    fields_length(b, "proposed_next_step", 0, 2000, errors);
    fields_enum(b, "mode", modes, errors);
    fields_enum(b, "urgency", urgencies, errors);
    fields_uuid(b, "consultant_id", errors);
    if (jsonx_has(b, "consultant_id") == jsonx_has(b, "expertise"))
        jsonx_error(errors, "consultant_id", "give exactly one of consultant_id and expertise");
    static const char *const free_texts[] = {"subject", "question", "proposed_next_step", NULL};
    struct create *c = req_alloc(r, sizeof *c);
    val_timestamp(req_now(r), &c->now_us); /* the request's own "now", as submitted_at */
    crypto_uuid_v4(c->id);
    datakeys_ad(c->ad, consultation.noun, c->id);
    if (patient_check(r, b, free_texts, c->ad, &c->patient, errors) != 0) {
        json_decref(errors);
        req_problem(r, 500, "internal", "The patient's identity cannot be sealed.");
        return;
    }
    if (json_array_size(errors)) {
        req_invalid(r, errors);
        return;
    }
    json_decref(errors);
    req_set_ctx(r, c);
    const char *p[] = {jsonx_str(b, "consultant_id"), jsonx_str(b, "expertise"),
                       req_user(r)->region};
    req_db(r, &sql_target, p, target_checked);
}

/* ---------- read and list ---------- */

DB_STMT(sql_read, 6,
        "WITH x AS (SELECT cs AS c, consultation_access(cs, $5::principal) AS access"
        "  FROM consultations cs WHERE cs.id = $6),"
        " a AS (INSERT INTO audit_log SELECT e.* FROM x, audit_entry($1, $2, $3, $4,"
        "  'consultations.read', 'consultation', (x.c).id,"
        "  CASE WHEN x.access IS NULL THEN 'denied' ELSE 'success' END,"
        "  CASE WHEN x.access = 'identity' AND (x.c).patient_mode = 'consented'"
        "  THEN (x.c).patient_ref::text END) e)"
        " SELECT x.access, consultation_json(x.c, x.access)::text,"
        "  CASE WHEN x.access = 'identity' THEN (x.c).patient_identity END, (x.c).version"
        " FROM x");

static void read_done(struct req *r, struct db_result *res)
{
    if (PQntuples(res->res) != 1 || PQgetisnull(res->res, 0, 0)) {
        req_problem(r, 404, "not-found", "No such consultation.");
        return;
    }
    int meta = !strcmp(PQgetvalue(res->res, 0, 0), "meta");
    aggregate_reply(r, &consultation, 200, PQgetvalue(res->res, 0, 1), PQgetvalue(res->res, 0, 2),
                    meta ? NULL : PQgetvalue(res->res, 0, 3));
}

void consultations_get(struct req *r)
{
    const char *p[] = {REQ_AUDIT_PARAMS(r), principal_param(r), req_param(r, 0)};
    req_db(r, &sql_read, p, read_done);
}

/* Lists never carry identities (consultation_json shows them hidden) and coordinators see the
 * metadata only. consultation_visible is inlined, so each of its branches uses its own index.
 * $5 the principal, $6 status, $7..$8 the cursor, $9 the limit, $10 due_before (a timestamp, or a
 * date: its start in Europe/Amsterdam), $11 overdue (open, submitted or accepted, past due_at at
 * the request's clock $1). */
DB_STMT(sql_list, 11,
        "WITH a AS (INSERT INTO audit_log SELECT * FROM audit_entry($1, $2, $3, $4,"
        "  'consultations.list', NULL, NULL, 'success'))"
        " SELECT consultation_json(cs, CASE WHEN ($5::principal).role = 'coordinator'"
        "  THEN 'meta' ELSE 'full' END)::text, cs.submitted_at::text, cs.id"
        " FROM consultation_visible($5::principal) cs"
        " WHERE ($6::text IS NULL OR cs.status = $6)"
        " AND ($7::timestamptz IS NULL OR (cs.submitted_at, cs.id) < ($7::timestamptz, $8::uuid))"
        " AND ($10::text IS NULL OR cs.due_at < CASE WHEN length($10) = 10"
        "  THEN $10::date::timestamp AT TIME ZONE 'Europe/Amsterdam' ELSE $10::timestamptz END)"
        " AND ($11::boolean IS NULL"
        "  OR (cs.status IN ('submitted', 'accepted') AND cs.due_at < $1::timestamptz) = $11)"
        " ORDER BY cs.submitted_at DESC, cs.id DESC LIMIT $9");

void consultations_list(struct req *r)
{
    static const char *const booleans[] = {"true", "false", NULL};
    const char *status = req_query(r, "status"), *after[2],
               *due_before = req_query(r, "due_before"), *overdue = req_query(r, "overdue");
    json_t *errors = json_array();
    if (status && val_enum(status, statuses) < 0)
        jsonx_error(errors, "status", "is not a consultation status");
    if (due_before && !val_date(due_before, NULL, NULL, NULL) && !val_timestamp(due_before, NULL))
        jsonx_error(errors, "due_before", "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp");
    if (overdue && val_enum(overdue, booleans) < 0)
        jsonx_error(errors, "overdue", "must be true or false");
    if (json_array_size(errors) > 0) {
        req_problem_errors(r, 400, "bad-query", "The query string has invalid parameters.", errors);
        return;
    }
    json_decref(errors);
    if (req_time_cursor(r, after) != 0)
        return;
    const char *p[] = {REQ_AUDIT_PARAMS(r), principal_param(r), status, after[0], after[1],
                       req_limit_param(r),  due_before,         overdue};
    req_db(r, &sql_list, p, req_reply_time_page);
}

/* ---------- transitions ---------- */

/* A transition went ahead: the consultation as the actor may now see it. */
static void transition_done(struct req *r, struct db_result *res)
{
    if (aggregate_refused(r, &consultation, res))
        return;
    PGresult *pr = res->res;
    aggregate_reply(r, &consultation, 200, PQgetvalue(pr, 0, 4), PQgetvalue(pr, 0, 5),
                    PQgetvalue(pr, 0, 6));
}

static void transition_run(struct req *r, const char *action, json_t *args)
{
    aggregate_step(r, &consultation, action, args, true, transition_done);
}

void consultations_accept(struct req *r)
{
    transition_run(r, "accept", json_object());
}

void consultations_decline(struct req *r)
{
    aggregate_reason(r, &consultation, "decline", transition_done);
}

void consultations_withdraw(struct req *r)
{
    aggregate_reason(r, &consultation, "withdraw", transition_done);
}

void consultations_answer(struct req *r)
{
    static const struct jsonx_field fields[] = {{"advice", JX_STRING, JX_REQUIRED},
                                                {"recommendation", JX_STRING, JX_REQUIRED},
                                                {"minutes_spent", JX_INT, JX_REQUIRED},
                                                {NULL, 0, 0}};
    static const char *const recs[] = {"advice_only", "refer", "co_treatment",
                                       "follow_up_consultation", NULL};
    json_t *b = req_body(r), *errors = json_array();
    fields_length(b, "advice", 1, 10000, errors);
    fields_enum(b, "recommendation", recs, errors);
    json_t *m = json_object_get(b, "minutes_spent");
    fields_int(b, "minutes_spent", 1, 600, errors);
    if (aggregate_body_ok(r, fields, errors) != 0)
        return;
    transition_run(r, "answer",
                   aggregate_with_pii(json_pack("{s:s, s:s, s:I}", "advice", jsonx_str(b, "advice"),
                                                "recommendation", jsonx_str(b, "recommendation"),
                                                "minutes_spent", (json_int_t)json_integer_value(m)),
                                      b, "advice"));
}

void consultations_close(struct req *r)
{
    static const struct jsonx_field fields[] = {{"referral_outcome", JX_STRING, JX_REQUIRED},
                                                {"value", JX_INT, JX_REQUIRED},
                                                {"note", JX_STRING, JX_NULLABLE},
                                                {NULL, 0, 0}};
    static const char *const outcomes[] = {"avoided", "still_needed", "not_needed", "initiated",
                                           NULL};
    json_t *b = req_body(r), *errors = json_array();
    fields_enum(b, "referral_outcome", outcomes, errors);
    fields_length(b, "note", 0, 2000, errors);
    json_t *v = json_object_get(b, "value");
    fields_int(b, "value", 1, 5, errors);
    if (aggregate_body_ok(r, fields, errors) != 0)
        return;
    json_t *args = json_pack("{s:s, s:I}", "referral_outcome", jsonx_str(b, "referral_outcome"),
                             "value", (json_int_t)json_integer_value(v));
    if (jsonx_str(b, "note"))
        json_object_set_new(args, "note", json_string(jsonx_str(b, "note")));
    transition_run(r, "close", aggregate_with_pii(args, b, "note"));
}

void consultations_revoke_consent(struct req *r)
{
    transition_run(r, "consent_revoke", json_object());
}

/* Redirect: the transition checks the new target (after visibility and status) and picks the
 * due date for its response_days from the ten sent here. */
void consultations_redirect(struct req *r)
{
    static const struct jsonx_field fields[] = {
        {"consultant_id", JX_STRING, 0}, {"expertise", JX_STRING, 0}, {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    fields_uuid(b, "consultant_id", errors);
    if (jsonx_has(b, "consultant_id") == jsonx_has(b, "expertise"))
        jsonx_error(errors, "consultant_id", "give exactly one of consultant_id and expertise");
    if (aggregate_body_ok(r, fields, errors) != 0)
        return;
    int64_t now;
    val_timestamp(req_now(r), &now);
    json_t *due = json_array();
    for (int days = 1; days <= 10; days++) {
        char ts[TIMEFMT_RFC3339_US_LEN];
        timefmt_rfc3339_us(workdays_add(now, days), ts);
        json_array_append_new(due, json_string(ts));
    }
    json_t *args = json_pack("{s:o}", "due", due);
    if (jsonx_str(b, "consultant_id"))
        json_object_set_new(args, "consultant_id", json_string(jsonx_str(b, "consultant_id")));
    else
        json_object_set_new(args, "expertise", json_string(jsonx_str(b, "expertise")));
    transition_run(r, "redirect", args);
}

/* ---------- messages and appointments ---------- */

DB_STMT(sql_messages, 4,
        "SELECT message_json(m)::text, m.created_at::text, m.id FROM consultation_messages m"
        " WHERE m.consultation_id = $1"
        " AND ($2::timestamptz IS NULL OR (m.created_at, m.id) > ($2::timestamptz, $3::uuid))"
        " ORDER BY m.created_at, m.id LIMIT $4");

DB_STMT(sql_appointments, 4,
        "SELECT appointment_json(a)::text, a.starts_at::text, a.id FROM consultation_appointments a"
        " WHERE a.consultation_id = $1"
        " AND ($2::timestamptz IS NULL OR (a.starts_at, a.id) > ($2::timestamptz, $3::uuid))"
        " ORDER BY a.starts_at, a.id LIMIT $4");

/* A message or appointment was added: the new item. */
static void item_added(struct req *r, struct db_result *res)
{
    if (aggregate_refused(r, &consultation, res))
        return;
    req_reply_raw(r, 201, PQgetvalue(res->res, 0, 4), (size_t)PQgetlength(res->res, 0, 4));
}

void consultations_message_add(struct req *r)
{
    static const struct jsonx_field fields[] = {{"body", JX_STRING, JX_REQUIRED}, {NULL, 0, 0}};
    json_t *b = req_body(r), *errors = json_array();
    fields_length(b, "body", 1, 10000, errors);
    if (aggregate_body_ok(r, fields, errors) != 0)
        return;
    json_t *args = json_pack("{s:s}", "body", jsonx_str(b, "body"));
    aggregate_step(r, &consultation, "message_create", aggregate_with_pii(args, b, "body"), false,
                   item_added);
}

struct listing {
    struct db_stmt *stmt;
    const char *after[2];
};

/* The read was allowed (and audited): the page. */
static void listing_allowed(struct req *r, struct db_result *res)
{
    if (aggregate_refused(r, &consultation, res))
        return;
    struct listing *l = req_ctx(r);
    const char *p[] = {req_param(r, 0), l->after[0], l->after[1], req_limit_param(r)};
    req_db(r, l->stmt, p, req_reply_time_page);
}

static void list_items(struct req *r, const char *action, struct db_stmt *list)
{
    struct listing *l = req_alloc(r, sizeof *l);
    l->stmt = list;
    if (req_time_cursor(r, l->after) != 0)
        return;
    req_set_ctx(r, l);
    aggregate_step(r, &consultation, action, json_object(), false, listing_allowed);
}

void consultations_messages(struct req *r)
{
    list_items(r, "messages_read", &sql_messages);
}

void consultations_appointments(struct req *r)
{
    list_items(r, "appointments_read", &sql_appointments);
}

void consultations_appointment_add(struct req *r)
{
    static const struct jsonx_field fields[] = {{"kind", JX_STRING, JX_REQUIRED},
                                                {"starts_at", JX_STRING, JX_REQUIRED},
                                                {"duration_minutes", JX_INT, JX_REQUIRED},
                                                {"location", JX_STRING, JX_NULLABLE},
                                                {NULL, 0, 0}};
    static const char *const kinds[] = {"phone", "video", "on_location", NULL};
    json_t *b = req_body(r), *errors = json_array();
    fields_enum(b, "kind", kinds, errors);
    const char *starts = jsonx_str(b, "starts_at"), *kind = jsonx_str(b, "kind"),
               *location = jsonx_str(b, "location");
    int64_t us;
    if (starts && !val_timestamp(starts, &us))
        jsonx_error(errors, "starts_at", "must be an RFC 3339 timestamp");
    json_t *d = json_object_get(b, "duration_minutes");
    fields_int(b, "duration_minutes", 5, 480, errors);
    fields_length(b, "location", 1, 200, errors);
    if (kind && !strcmp(kind, "on_location") && !location)
        jsonx_error(errors, "location", "is required for an appointment on location");
    if (kind && strcmp(kind, "on_location") && location)
        jsonx_error(errors, "location", "is only for an appointment on location");
    if (aggregate_body_ok(r, fields, errors) != 0)
        return;
    json_t *args = json_pack("{s:s, s:s, s:I}", "kind", kind, "starts_at", starts,
                             "duration_minutes", (json_int_t)json_integer_value(d));
    if (location)
        json_object_set_new(args, "location", json_string(location));
    aggregate_step(r, &consultation, "appointment_create", aggregate_with_pii(args, b, "location"),
                   false, item_added);
}
