/* jsonx - strict JSON request bodies and field schema checks. */
#include "jsonx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

static void jsonx_why(char *why, size_t whysz, const char *fmt, ...)
{
    if (why == NULL || whysz == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whysz, fmt, ap);
    va_end(ap);
}

static int jsonx_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* 1 when [ and { outside strings nest deeper than max_depth. Runs before jansson so a deep
 * body is refused without building (and recursing into) a tree; the text need not be valid. */
static int jsonx_too_deep(const char *buf, size_t len, int max_depth)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\')
                i++; /* the escaped character can neither end the string nor open a level */
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return 1;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

int jsonx_parse_object(const char *buf, size_t len, int max_depth, json_t **out, char *why,
                       size_t whysz)
{
    jsonx_why(why, whysz, "%s", "");
    if (out == NULL)
        return JSONX_MALFORMED;
    *out = NULL;

    size_t first = 0;
    while (buf != NULL && first < len && jsonx_is_ws(buf[first]))
        first++;
    if (buf == NULL || first == len) {
        jsonx_why(why, whysz, "request body is empty");
        return JSONX_MALFORMED;
    }
    if (memchr(buf, '\0', len) != NULL) {
        jsonx_why(why, whysz, "request body contains a NUL byte");
        return JSONX_MALFORMED;
    }
    if (val_utf8_chars(buf, len) < 0) {
        jsonx_why(why, whysz, "request body is not valid UTF-8");
        return JSONX_BAD_UTF8;
    }
    if (jsonx_too_deep(buf, len, max_depth)) {
        jsonx_why(why, whysz, "JSON nested deeper than %d levels", max_depth);
        return JSONX_TOO_DEEP;
    }

    /* jansson's own error text quotes the input, so only its code and position are used. */
    json_error_t err;
    /* \u0000 in a string value is well-formed JSON: it parses, and jsonx_check answers it as a
     * field error (422). NUL in a key is still refused by jansson. */
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (root == NULL) {
        switch (json_error_code(&err)) {
        case json_error_duplicate_key:
            jsonx_why(why, whysz, "duplicate key at line %d, column %d", err.line, err.column);
            return JSONX_MALFORMED;
        case json_error_null_character:
        case json_error_null_byte_in_key:
            jsonx_why(why, whysz, "\\u0000 is not allowed in strings");
            return JSONX_MALFORMED;
        case json_error_numeric_overflow:
            jsonx_why(why, whysz, "number out of range at line %d, column %d", err.line,
                      err.column);
            return JSONX_MALFORMED;
        default:
            break;
        }
        /* Without JSON_DECODE_ANY a lone scalar is a syntax error; tell it apart so the
         * message says what is actually wrong. */
        if (buf[first] != '{' && buf[first] != '[') {
            json_error_t err2;
            json_t *any = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err2);
            if (any != NULL) {
                json_decref(any);
                jsonx_why(why, whysz, "top-level JSON value must be an object");
                return JSONX_NOT_OBJECT;
            }
        }
        jsonx_why(why, whysz, "invalid JSON at line %d, column %d", err.line, err.column);
        return JSONX_MALFORMED;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        jsonx_why(why, whysz, "top-level JSON value must be an object");
        return JSONX_NOT_OBJECT;
    }
    *out = root;
    return JSONX_OK;
}

void jsonx_error(json_t *errors, const char *field, const char *message)
{
    if (!json_is_array(errors) || field == NULL || message == NULL)
        return;
    json_t *e = json_object();
    if (e == NULL)
        return;
    if (json_object_set_new(e, "field", json_string(field)) != 0 ||
        json_object_set_new(e, "message", json_string(message)) != 0) {
        json_decref(e);
        return;
    }
    json_array_append_new(errors, e);
}

static void jsonx_field_error(json_t *errors, const char *prefix, const char *name,
                              const char *message)
{
    size_t plen = strlen(prefix), nlen = strlen(name);
    char *field = malloc(plen + nlen + 1);
    if (field == NULL)
        return;
    memcpy(field, prefix, plen);
    memcpy(field + plen, name, nlen + 1);
    jsonx_error(errors, field, message);
    free(field);
}

static int jsonx_type_ok(const json_t *v, enum jsonx_type type)
{
    switch (type) {
    case JX_STRING:
        return json_is_string(v);
    case JX_BOOL:
        return json_is_boolean(v);
    case JX_INT:
        return json_is_integer(v);
    case JX_OBJECT:
        return json_is_object(v);
    case JX_ARRAY:
        return json_is_array(v);
    case JX_NUMBER:
        return json_is_number(v);
    }
    return 0;
}

static const char *jsonx_type_message(enum jsonx_type type)
{
    switch (type) {
    case JX_STRING:
        return "must be a string";
    case JX_BOOL:
        return "must be a boolean";
    case JX_INT:
        return "must be an integer";
    case JX_OBJECT:
        return "must be an object";
    case JX_ARRAY:
        return "must be an array";
    case JX_NUMBER:
        return "must be a number";
    }
    return "has the wrong type";
}

int jsonx_check(const json_t *obj, const struct jsonx_field *fields, const char *prefix,
                json_t *errors)
{
    if (!json_is_object(obj) || fields == NULL || !json_is_array(errors))
        return -1;
    if (prefix == NULL)
        prefix = "";
    int added = 0;
    for (const struct jsonx_field *f = fields; f->name != NULL; f++) {
        const json_t *v = json_object_get(obj, f->name);
        const char *msg = NULL;
        if (v == NULL)
            msg = (f->flags & JX_REQUIRED) ? "is required" : NULL;
        else if (json_is_null(v))
            msg = (f->flags & JX_NULLABLE) ? NULL : "must not be null";
        else if (!jsonx_type_ok(v, f->type))
            msg = jsonx_type_message(f->type);
        else if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v))
            msg = "must not contain NUL characters"; /* C strings would silently cut it */
        if (msg != NULL) {
            jsonx_field_error(errors, prefix, f->name, msg);
            added++;
        }
    }
    const char *key;
    const json_t *v;
    /* json_object_foreach wants a non-const object; iteration does not modify it. */
    json_t *mobj = (json_t *)obj;
    json_object_foreach(mobj, key, v)
    {
        const struct jsonx_field *f = fields;
        while (f->name != NULL && strcmp(f->name, key) != 0)
            f++;
        if (f->name == NULL) {
            jsonx_field_error(errors, prefix, key, "unknown field");
            added++;
        }
    }
    return added;
}

const char *jsonx_str(const json_t *obj, const char *key)
{
    if (!json_is_object(obj) || key == NULL)
        return NULL;
    return json_string_value(json_object_get(obj, key));
}

int jsonx_has(const json_t *obj, const char *key)
{
    if (!json_is_object(obj) || key == NULL)
        return 0;
    return json_object_get(obj, key) != NULL;
}
