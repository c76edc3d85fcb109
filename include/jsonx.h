/* jsonx - strict JSON request bodies and field schema checks on top of jansson. */
#ifndef OVERLEG_JSONX_H
#define OVERLEG_JSONX_H

#include <stddef.h>
#include <jansson.h>

enum {
    JSONX_OK = 0,
    JSONX_MALFORMED = -1,
    JSONX_BAD_UTF8 = -2,
    JSONX_TOO_DEEP = -3,
    JSONX_NOT_OBJECT = -4,
};

/* Parses buf[0..len) as a JSON object. In order: empty body or NUL byte -> MALFORMED;
 * invalid UTF-8 -> BAD_UTF8; [ and { nested deeper than max_depth -> TOO_DEEP; syntax
 * errors, duplicate keys, \u0000, numeric overflow -> MALFORMED; a valid top-level value
 * that is not an object -> NOT_OBJECT. On JSONX_OK *out owns a new reference; otherwise *out
 * is NULL. why (may be NULL) gets a short message that never echoes the input. */
int jsonx_parse_object(const char *buf, size_t len, int max_depth, json_t **out, char *why,
                       size_t whysz);

enum jsonx_type { JX_STRING, JX_BOOL, JX_INT, JX_OBJECT, JX_ARRAY, JX_NUMBER };

#define JX_REQUIRED 1u
#define JX_NULLABLE 2u

struct jsonx_field {
    const char *name;
    enum jsonx_type type;
    unsigned flags;
};

/* Checks obj against fields (terminated by {NULL}), appending {"field","message"} objects to
 * the array errors, field names prefixed with prefix (e.g. "patient."; NULL means ""). First
 * one entry per listed field in table order ("is required", "must not be null", "must be a
 * string" ...), then one "unknown field" per unlisted key in the object's order. Returns the
 * number of errors added, or -1 when obj is not an object or errors not an array. */
int jsonx_check(const json_t *obj, const struct jsonx_field *fields, const char *prefix,
                json_t *errors);

/* Appends {"field": field, "message": message} to the array errors. */
void jsonx_error(json_t *errors, const char *field, const char *message);

/* The string value of obj[key], or NULL when absent or not a string. */
const char *jsonx_str(const json_t *obj, const char *key);

/* 1 when obj has key (even with a null value), else 0. */
int jsonx_has(const json_t *obj, const char *key);

#endif
