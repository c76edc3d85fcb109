#ifndef OVERLEG_FIELDS_H
#define OVERLEG_FIELDS_H
/* Field checks shared by the domain modules: each appends {"field","message"} to `errors` when
 * the value (already known to be a string, or absent) breaks the rule. */
#include <jansson.h>
#include <stdbool.h>

extern const char *const org_kinds[];

void fields_name(json_t *body, const char *key, json_t *errors);
void fields_enum(json_t *body, const char *key, const char *const *allowed, json_t *errors);
void fields_region(json_t *body, const char *key, json_t *errors);
void fields_digits(json_t *body, const char *key, int n, json_t *errors);
void fields_uuid(json_t *body, const char *key, json_t *errors);
/* An integer field (already known to be one, or absent) outside [lo, hi]. */
void fields_int(json_t *body, const char *key, long long lo, long long hi, json_t *errors);
/* A string field (or absent) whose length in characters is outside [min, max]. */
void fields_length(json_t *body, const char *key, long min, long max, json_t *errors);
/* A text (or absent) of 1 to `max` characters that is not only white space. */
void fields_text(json_t *body, const char *key, long max, json_t *errors);
/* A period of days `from` to `to` (query values or NULL): both dates YYYY-MM-DD, `from` not after
 * `to`, in the years 2000 to 2100, and with `same_year` in one calendar year. Errors are
 * appended under "from" and "to". */
void fields_period(const char *from, const char *to, bool same_year, json_t *errors);
/* Optional string fields: the value, or NULL when absent or null. */
const char *fields_opt(json_t *body, const char *key);
#endif
