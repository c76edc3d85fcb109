#include "fields.h"

#include "jsonx.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

const char *const org_kinds[] = {"general_practice",
                                 "mental_health_provider",
                                 "municipality",
                                 "insurer",
                                 "social_team",
                                 "other",
                                 NULL};

const char *fields_opt(json_t *body, const char *key)
{
    return jsonx_str(body, key);
}

void fields_name(json_t *body, const char *key, json_t *errors)
{
    const char *v = jsonx_str(body, key);
    if (v && !val_name(v))
        jsonx_error(errors, key, "must be 1 to 200 characters without control characters");
}

void fields_enum(json_t *body, const char *key, const char *const *allowed, json_t *errors)
{
    const char *v = jsonx_str(body, key);
    if (!v || val_enum(v, allowed) >= 0)
        return;
    char msg[256];
    int n = snprintf(msg, sizeof msg, "must be one of:");
    for (const char *const *a = allowed; *a && n < (int)sizeof msg; a++)
        n += snprintf(msg + n, sizeof msg - (size_t)n, "%s %s", a == allowed ? "" : ",", *a);
    jsonx_error(errors, key, msg);
}

void fields_region(json_t *body, const char *key, json_t *errors)
{
    const char *v = jsonx_str(body, key);
    if (v && !val_region(v))
        jsonx_error(errors, key, "must be 2 to 64 characters of a-z, 0-9 and -");
}

void fields_digits(json_t *body, const char *key, int n, json_t *errors)
{
    const char *v = jsonx_str(body, key);
    if (v && !val_digits(v, (size_t)n)) {
        char msg[64];
        snprintf(msg, sizeof msg, "must be exactly %d digits", n);
        jsonx_error(errors, key, msg);
    }
}

void fields_uuid(json_t *body, const char *key, json_t *errors)
{
    const char *v = jsonx_str(body, key);
    if (v && !val_uuid(v))
        jsonx_error(errors, key, "must be a UUID");
}

void fields_int(json_t *body, const char *key, long long lo, long long hi, json_t *errors)
{
    json_t *v = json_object_get(body, key);
    if (!json_is_integer(v) || (json_integer_value(v) >= lo && json_integer_value(v) <= hi))
        return;
    char msg[96];
    snprintf(msg, sizeof msg, "must be an integer from %lld to %lld", lo, hi);
    jsonx_error(errors, key, msg);
}

void fields_length(json_t *body, const char *key, long min, long max, json_t *errors)
{
    const char *v = jsonx_str(body, key);
    if (!v)
        return;
    long n = val_utf8_chars(v, strlen(v));
    if (n < min || n > max) {
        char msg[64];
        snprintf(msg, sizeof msg, "must be %ld to %ld characters", min, max);
        jsonx_error(errors, key, msg);
    }
}

void fields_text(json_t *body, const char *key, long max, json_t *errors)
{
    const char *v = jsonx_str(body, key);
    if (v && v[strspn(v, " \t\r\n")] == 0)
        jsonx_error(errors, key, "must not be blank");
    else
        fields_length(body, key, 1, max, errors);
}

void fields_period(const char *from, const char *to, bool same_year, json_t *errors)
{
    int y1, m1, d1, y2, m2, d2;
    int ok1 = from && val_date(from, &y1, &m1, &d1), ok2 = to && val_date(to, &y2, &m2, &d2);
    if (!ok1)
        jsonx_error(errors, "from", "must be a date YYYY-MM-DD");
    if (!ok2)
        jsonx_error(errors, "to", "must be a date YYYY-MM-DD");
    if (!ok1 || !ok2)
        return;
    if (strcmp(from, to) > 0)
        jsonx_error(errors, "to", "must not be before from");
    else if (same_year && y1 != y2)
        jsonx_error(errors, "to", "must be in the same calendar year as from");
    else if (y1 < 2000 || y1 > 2100)
        jsonx_error(errors, "from", "must be in the years 2000 to 2100");
    else if (y2 > 2100)
        jsonx_error(errors, "to", "must be in the years 2000 to 2100");
}
