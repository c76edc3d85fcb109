/* Vocabularies and the consultant directory (API.md §6–§7). Codes live in the `vocabulary`
 * table only: PostgreSQL checks them, so C and SQL cannot disagree. */
#include "directory.h"
#include "principal.h"

#include "fields.h"
#include "jsonx.h"
#include "validate.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

DB_STMT(sql_vocabularies, 0,
        "SELECT jsonb_build_object("
        " 'disciplines', coalesce(jsonb_agg(v.item ORDER BY v.position)"
        "   FILTER (WHERE v.kind = 'discipline'), '[]'),"
        " 'expertise', coalesce(jsonb_agg(v.item ORDER BY v.position)"
        "   FILTER (WHERE v.kind = 'expertise'), '[]'),"
        " 'target_groups', coalesce(jsonb_agg(v.item ORDER BY v.position)"
        "   FILTER (WHERE v.kind = 'target_group'), '[]'),"
        " 'modes', coalesce(jsonb_agg(v.item ORDER BY v.position)"
        "   FILTER (WHERE v.kind = 'mode'), '[]'))::text"
        " FROM (SELECT kind, position, jsonb_build_object('code', code, 'label', label) AS item"
        "  FROM vocabulary) v");

/* Without q: accepting first, then name, then id. $2 expertise, $3 target group, $4 region, $5
 * mode, $6 language, $7 accepting, $8..$10 the cursor, $11 the limit. Without a region
 * (directory_browse_page, sql/0002_directory.sql): the front of consultant_profiles_browse,
 * index-only, with plans made once per connection; planned for the values only for the rest of a
 * page that a filter few pass leaves unfilled. Each consultant's prepared card (consultant_cards)
 * gets its live stats. $4 is NULL here: with a region, the region's statement below runs. */
DB_STMT(sql_directory_browse, 11,
        "SELECT item, flag::text, name, user_id FROM directory_browse_page($1, $2, $3, $5, $6,"
        " $7::boolean, $8::boolean, $9, $10::uuid, $11::int) WHERE $4::text IS NULL");

/* Without q, with a region: the same page, read from the region's rows of directory_regions
 * (directory_region_page), index-only, with a plan made once per connection. Same parameters. */
DB_STMT(sql_directory_region, 11,
        "SELECT item, flag::text, name, user_id FROM directory_region_page($1, $2, $3, $4, $5, $6,"
        " $7::boolean, $8::boolean, $9, $10::uuid, $11::int)");

/* With q: $2 q, $3..$8 the filters as above, $9..$10 the cursor (rank, id), $11 the limit.
 * directory_search (sql/0002_directory.sql) runs plans made once per connection, and when q as
 * typed finds no one, searches again with its typos corrected. Ranks are the reals ts_rank() gives;
 * their text reads back the same. */
DB_STMT(sql_directory_search, 11,
        "SELECT item, rank::text, user_id FROM directory_search($1, $2, NULL, $3, $4, $5, $6, $7,"
        " $8::boolean, $9::real, $10::uuid, $11::int)");

/* One consultant: as in the lists. */
DB_STMT(sql_consultant_get, 2,
        "SELECT consultant_item(c.card, s.stats) FROM consultant_profiles page"
        " JOIN consultant_cards c ON c.user_id = page.user_id"
        " CROSS JOIN LATERAL consultant_stats_of(page.user_id, $1) s"
        " WHERE page.user_id = $2 AND page.active");

/* Updates only a profile $16 may edit (consultant_profile_access), when every code is in the
 * vocabulary and $15 (the checks done in C passed) is true; so one 422 names every failing
 * field. Answers (profile found, editable, the vocabulary's findings, the consultant). */
DB_STMT(sql_profile_put, 16,
        "WITH target AS (SELECT p.user_id, consultant_profile_access(p, $16::principal) AS access"
        "  FROM consultant_profiles p WHERE p.user_id = $5 AND p.active),"
        " bad AS ("
        "  SELECT 'discipline' AS field, 0 AS i WHERE NOT EXISTS (SELECT 1 FROM vocabulary"
        "   WHERE kind = 'discipline' AND code = $6)"
        "  UNION ALL SELECT 'expertise[' || (t.i - 1) || ']', t.i"
        "   FROM jsonb_array_elements_text($7::jsonb) WITH ORDINALITY t(c, i)"
        "   WHERE NOT EXISTS (SELECT 1 FROM vocabulary WHERE kind = 'expertise' AND code = t.c)"
        "  UNION ALL SELECT 'target_groups[' || (t.i - 1) || ']', t.i"
        "   FROM jsonb_array_elements_text($8::jsonb) WITH ORDINALITY t(c, i)"
        "   WHERE NOT EXISTS (SELECT 1 FROM vocabulary WHERE kind = 'target_group' AND code = t.c)"
        "  UNION ALL SELECT 'modes[' || (t.i - 1) || ']', t.i"
        "   FROM jsonb_array_elements_text($10::jsonb) WITH ORDINALITY t(c, i)"
        "   WHERE NOT EXISTS (SELECT 1 FROM vocabulary WHERE kind = 'mode' AND code = t.c)),"
        " up AS (UPDATE consultant_profiles p SET discipline = $6,"
        "  expertise = ARRAY(SELECT jsonb_array_elements_text($7::jsonb)),"
        "  target_groups = ARRAY(SELECT jsonb_array_elements_text($8::jsonb)),"
        "  regions = ARRAY(SELECT jsonb_array_elements_text($9::jsonb)),"
        "  modes = ARRAY(SELECT jsonb_array_elements_text($10::jsonb)),"
        "  languages = ARRAY(SELECT jsonb_array_elements_text($11::jsonb)),"
        "  accepting = $12::boolean, bio = $13, response_days = $14::int, updated_at = $1"
        "  FROM target t WHERE p.user_id = t.user_id AND t.access = 'edit' AND $15::boolean"
        "  AND NOT EXISTS (SELECT 1 FROM bad)"
        "  RETURNING p.*),"
        " a AS (INSERT INTO audit_log SELECT e.* FROM up, audit_entry($1, $2, $3, $4,"
        "  'consultants.profile_update', 'user', up.user_id, 'success') e)"
        " SELECT (SELECT count(*) FROM target),"
        "  coalesce((SELECT access = 'edit' FROM target), false),"
        "  (SELECT jsonb_agg(jsonb_build_object('field', field, 'message',"
        "   'is not a known code') ORDER BY field) FROM bad)::text,"
        "  (SELECT consultant_json(ROW(up.*)::consultant_profiles, $1)::text FROM up)");

static void reply_text_col(struct req *r, struct db_result *res)
{
    req_reply_row(r, res, 200, "consultant");
}

void directory_vocabularies(struct req *r)
{
    req_db(r, &sql_vocabularies, NULL, reply_text_col);
}

void directory_get(struct req *r)
{
    const char *p[] = {req_now(r), req_param(r, 0)};
    req_db(r, &sql_consultant_get, p, reply_text_col);
}

/* ISO 639-1 codes. */
static const char iso639_1[] =
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv "
    "cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr "
    "ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw "
    "ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv "
    "ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr "
    "ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi "
    "yo za zh zu";

static int is_language(const char *s)
{
    if (strlen(s) != 2 || s[0] < 'a' || s[0] > 'z' || s[1] < 'a' || s[1] > 'z')
        return 0;
    for (size_t i = 0; i + 2 < sizeof iso639_1; i += 3) /* (the last code has no space after it) */
        if (iso639_1[i] == s[0] && iso639_1[i + 1] == s[1])
            return 1;
    return 0;
}

/* The cursor's keys: (rank, id) with q, (not accepting, name, id) without. They reach SQL
 * as typed parameters, so a forged key is a bad cursor here, not a failed cast there. */
static const char **directory_cursor(struct req *r, int search)
{
    const char **after = req_alloc(r, 3 * sizeof *after);
    if (req_cursor(r, search ? 2 : 3, after) != 0)
        return NULL;
    if (!after[0])
        return after;
    int ok;
    if (search) {
        /* What PostgreSQL's real reads too: decimal, in range (no hex, inf, nan, underflow). */
        char *end;
        errno = 0;
        float rank = strtof(after[0], &end);
        ok = *after[0] && !*end && errno == 0 && isfinite(rank) &&
             strspn(after[0], "0123456789.eE+-") == strlen(after[0]) && val_uuid(after[1]);
    } else {
        ok = (!strcmp(after[0], "true") || !strcmp(after[0], "false")) && val_uuid(after[2]);
    }
    if (!ok) {
        req_bad_query(r, "cursor", "is not a valid cursor");
        return NULL;
    }
    return after;
}

static void reply_empty_page(struct req *r)
{
    static const char empty[] = "{\"items\":[],\"next_cursor\":null}";
    req_reply_raw(r, 200, empty, sizeof empty - 1);
}

DB_STMT(sql_filter_codes, 3,
        "SELECT coalesce(jsonb_agg(jsonb_build_object('field', f.param, 'message',"
        " 'is not a known code') ORDER BY f.param), '[]')::text"
        " FROM (VALUES ('expertise', 'expertise', $1), ('target_group', 'target_group', $2),"
        "  ('mode', 'mode', $3)) f(param, kind, code)"
        " WHERE f.code IS NOT NULL AND NOT EXISTS"
        "  (SELECT 1 FROM vocabulary v WHERE v.kind = f.kind AND v.code = f.code)");

static void filter_codes_checked(struct req *r, struct db_result *res)
{
    if (req_rows(r, res, 1) != 0)
        return;
    json_t *errors = json_loads(PQgetvalue(res->res, 0, 0), 0, NULL);
    if (json_array_size(errors)) {
        req_problem_errors(r, 400, "bad-query", "The query string has invalid parameters.", errors);
        return;
    }
    json_decref(errors);
    reply_empty_page(r);
}

/* A page without items. Codes outside the vocabulary are only checked now: no profile holds one
 * (PUT checks them), so a filter with one always comes here, and a request whose filters are
 * all known pays for no check. */
static void list_empty(struct req *r)
{
    const char *expertise = req_query(r, "expertise"), *group = req_query(r, "target_group"),
               *mode = req_query(r, "mode");
    if (expertise || group || mode) {
        const char *p[] = {expertise, group, mode};
        req_db(r, &sql_filter_codes, p, filter_codes_checked);
    } else {
        reply_empty_page(r);
    }
}

static void directory_listed(struct req *r, struct db_result *res)
{
    if (PQntuples(res->res) == 0) {
        list_empty(r);
        return;
    }
    /* Search cursors have two keys (rank, id), browse cursors three (flag, name, id), so a
     * cursor never decodes for the other ordering. */
    req_reply_page(r, res->res, 0, 1, req_query(r, "q") ? 2 : 3);
}

void directory_list(struct req *r)
{
    static const char *const accepting_values[] = {"true", "false", NULL};
    const char *q = req_query(r, "q"), *region = req_query(r, "region"),
               *language = req_query(r, "language"), *accepting = req_query(r, "accepting");
    json_t *errors = json_array();
    if (q && (val_utf8_chars(q, strlen(q)) < 1 || val_utf8_chars(q, strlen(q)) > 200))
        jsonx_error(errors, "q", "must be 1 to 200 characters");
    if (region && !val_region(region))
        jsonx_error(errors, "region", "must be 2 to 64 characters of a-z, 0-9 and -");
    if (language && !is_language(language))
        jsonx_error(errors, "language", "must be an ISO 639-1 code such as nl");
    if (accepting && val_enum(accepting, accepting_values) < 0)
        jsonx_error(errors, "accepting", "must be true or false");
    if (json_array_size(errors)) {
        req_problem_errors(r, 400, "bad-query", "The query string has invalid parameters.", errors);
        return;
    }
    json_decref(errors);
    /* A bad cursor is answered at once, which ends the request and frees what it allocated. */
    const char **after = directory_cursor(r, q != NULL);
    if (!after)
        return;
    /* The list statement and its parameters (see the statements above). */
    const char *filters[] = {req_query(r, "expertise"), req_query(r, "target_group"),
                             req_query(r, "region"),    req_query(r, "mode"),
                             req_query(r, "language"),  req_query(r, "accepting")};
    const char *p[11], **f = p + (q ? 2 : 1);
    p[0] = req_now(r);
    memcpy(f, filters, sizeof filters);
    if (q) {
        p[1] = q;
        p[8] = after[0];
        p[9] = after[1];
        p[10] = req_limit_param(r);
        req_db(r, &sql_directory_search, p, directory_listed);
    } else {
        p[7] = after[0];
        p[8] = after[1];
        p[9] = after[2];
        p[10] = req_limit_param(r);
        req_db(r, filters[2] ? &sql_directory_region : &sql_directory_browse, p, directory_listed);
    }
}

/* Appends an error for every element of `arr` that is not a string matching `ok`, or repeats an
 * earlier one; and when the count is outside [min, max]. */
static void check_list(json_t *body, const char *key, size_t min, size_t max,
                       int (*ok)(const char *), const char *not_ok, json_t *errors)
{
    json_t *arr = json_object_get(body, key);
    if (!json_is_array(arr))
        return;
    char field[64], msg[64];
    if (json_array_size(arr) < min || json_array_size(arr) > max) {
        snprintf(msg, sizeof msg, "must have %zu to %zu items", min, max);
        jsonx_error(errors, key, msg);
    }
    size_t i, j;
    json_t *v, *w;
    json_array_foreach(arr, i, v)
    {
        snprintf(field, sizeof field, "%s[%zu]", key, i);
        const char *s = json_string_value(v);
        if (!s || strlen(s) != json_string_length(v)) {
            jsonx_error(errors, field, "must be a string");
            continue;
        }
        if (ok && !ok(s)) {
            jsonx_error(errors, field, not_ok);
            continue;
        }
        json_array_foreach(arr, j, w)
        {
            if (j >= i)
                break;
            if (json_equal(v, w)) {
                jsonx_error(errors, field, "is given more than once");
                break;
            }
        }
    }
}

static void profile_put_done(struct req *r, struct db_result *res)
{
    if (req_rows(r, res, 1) != 0)
        return;
    PGresult *pr = res->res;
    if (PQgetvalue(pr, 0, 0)[0] == '0') {
        req_problem(r, 404, "not-found", "No such consultant.");
        return;
    }
    if (PQgetvalue(pr, 0, 1)[0] != 't') { /* someone else's profile */
        req_deny(r, 403, "user", req_param(r, 0));
        return;
    }
    json_t *errors = req_ctx(r); /* from the checks in C */
    if (!PQgetisnull(pr, 0, 2)) {
        json_t *bad = json_loads(PQgetvalue(pr, 0, 2), 0, NULL);
        json_array_extend(errors, bad);
        json_decref(bad);
    }
    if (json_array_size(errors)) {
        req_invalid(r, json_incref(errors));
        return;
    }
    req_reply_raw(r, 200, PQgetvalue(pr, 0, 3), (size_t)PQgetlength(pr, 0, 3));
}

/* The JSON text of body[key] for SQL; `dflt` when absent, "[]" when not an array of strings (its
 * error is already reported, so the vocabulary check must not choke on it). */
static char *dump_or(struct req *r, json_t *body, const char *key, const char *dflt)
{
    json_t *v = json_object_get(body, key), *item;
    size_t i;
    if (!v)
        return req_strdup(r, dflt);
    if (!json_is_array(v))
        return req_strdup(r, "[]");
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item))
            return req_strdup(r, "[]");
    }
    char *s = json_dumps(v, JSON_COMPACT);
    char *out = req_strdup(r, s);
    free(s);
    return out;
}

void directory_profile_put(struct req *r)
{
    static const struct jsonx_field fields[] = {{"discipline", JX_STRING, JX_REQUIRED},
                                                {"expertise", JX_ARRAY, JX_REQUIRED},
                                                {"regions", JX_ARRAY, JX_REQUIRED},
                                                {"modes", JX_ARRAY, JX_REQUIRED},
                                                {"accepting", JX_BOOL, JX_REQUIRED},
                                                {"target_groups", JX_ARRAY, 0},
                                                {"languages", JX_ARRAY, 0},
                                                {"bio", JX_STRING, 0},
                                                {"response_days", JX_INT, 0},
                                                {NULL, 0, 0}};
    const char *id = req_param(r, 0);
    json_t *b = req_body(r), *errors = json_array();
    jsonx_check(b, fields, "", errors);
    /* Codes are checked against the vocabulary in SQL; here shape, counts and duplicates. */
    check_list(b, "expertise", 1, 12, NULL, NULL, errors);
    check_list(b, "regions", 1, 30, val_region, "must be 2 to 64 characters of a-z, 0-9 and -",
               errors);
    check_list(b, "modes", 1, 4, NULL, NULL, errors);
    check_list(b, "target_groups", 0, 5, NULL, NULL, errors);
    check_list(b, "languages", 0, 10, is_language, "is not an ISO 639-1 code", errors);
    const char *bio = jsonx_str(b, "bio");
    if (bio && val_utf8_chars(bio, strlen(bio)) > 2000)
        jsonx_error(errors, "bio", "must be at most 2000 characters");
    fields_int(b, "response_days", 1, 10, errors);
    json_t *days = json_object_get(b, "response_days");
    /* The request owns `errors` from here; profile_put_done adds the vocabulary's findings. */
    req_keep_json(r, errors);
    req_set_ctx(r, errors);
    char days_s[16];
    snprintf(days_s, sizeof days_s, "%d", days ? (int)json_integer_value(days) : 3);
    const char *p[] = {REQ_AUDIT_PARAMS(r),
                       id,
                       jsonx_str(b, "discipline") ? jsonx_str(b, "discipline") : "",
                       dump_or(r, b, "expertise", "[]"),
                       dump_or(r, b, "target_groups", "[]"),
                       dump_or(r, b, "regions", "[]"),
                       dump_or(r, b, "modes", "[]"),
                       dump_or(r, b, "languages", "[\"nl\"]"),
                       json_is_true(json_object_get(b, "accepting")) ? "true" : "false",
                       bio ? bio : "",
                       days_s,
                       json_array_size(errors) ? "false" : "true",
                       principal_param(r)};
    req_db(r, &sql_profile_put, p, profile_put_done);
}
