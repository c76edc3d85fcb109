/* Fuzzes the strict JSON reader of request bodies (jsonx_parse_object) with the server's depth
 * limit, and jsonx_check on what it accepts. */
#include "fuzz.h"

#include <jansson.h>

#include "jsonx.h"
#include "validate.h"

#define DEPTH 32 /* http.c's JSON_MAX_DEPTH */

static int depth_of(const json_t *v)
{
    int inner = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c)
        {
            int d = depth_of(c);
            inner = d > inner ? d : inner;
        }
        return inner + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            int d = depth_of(c);
            inner = d > inner ? d : inner;
        }
        return inner + 1;
    }
    return 0;
}

/* The reasons jsonx gives are fixed texts with numbers: none quotes the input. */
static int why_ok(const char *why)
{
    static const char *const starts[] = {
        "request body is empty",           "request body contains a NUL byte",
        "request body is not valid UTF-8", "JSON nested deeper than ",
        "duplicate key at line ",          "\\u0000 is not allowed in strings",
        "number out of range at line ",    "top-level JSON value must be an object",
        "invalid JSON at line ",           NULL};
    for (const char *p = why; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return 0;
    for (int i = 0; starts[i]; i++)
        if (strncmp(why, starts[i], strlen(starts[i])) == 0)
            return 1;
    return 0;
}

static const struct jsonx_field fields[] = {
    {"name", JX_STRING, JX_REQUIRED},
    {"age", JX_INT, JX_NULLABLE},
    {"tags", JX_ARRAY, 0},
    {"patient", JX_OBJECT, 0},
    {"ok", JX_BOOL, 0},
    {"score", JX_NUMBER, 0},
    {NULL, 0, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    json_t *obj = (json_t *)1;
    char why[128];
    int rc = jsonx_parse_object(buf, size, DEPTH, &obj, why, sizeof why);
    FUZZ_CHECK(rc == JSONX_OK || rc == JSONX_MALFORMED || rc == JSONX_BAD_UTF8 ||
               rc == JSONX_TOO_DEEP || rc == JSONX_NOT_OBJECT);
    FUZZ_CHECK((rc == JSONX_OK) == (obj != NULL));
    FUZZ_CHECK(strlen(why) < sizeof why);
    FUZZ_CHECK(rc == JSONX_OK ? why[0] == '\0' : why_ok(why));
    if (rc != JSONX_OK)
        return 0;

    FUZZ_CHECK(json_is_object(obj));
    FUZZ_CHECK(memchr(buf, '\0', size) == NULL);
    FUZZ_CHECK(val_utf8_chars(buf, size) >= 0);
    /* The bracket count that runs before jansson agrees with the tree jansson built. */
    int depth = depth_of(obj);
    FUZZ_CHECK(depth >= 1 && depth <= DEPTH);
    json_t *again = NULL;
    FUZZ_CHECK(jsonx_parse_object(buf, size, depth, &again, NULL, 0) == JSONX_OK);
    FUZZ_CHECK(json_equal(obj, again));
    json_decref(again);
    FUZZ_CHECK(jsonx_parse_object(buf, size, depth - 1, &again, NULL, 0) == JSONX_TOO_DEEP);
    FUZZ_CHECK(again == NULL);

    /* What the server writes back out reads in again as the same value. */
    char *text = json_dumps(obj, JSON_COMPACT);
    FUZZ_CHECK(text != NULL);
    FUZZ_CHECK(jsonx_parse_object(text, strlen(text), DEPTH, &again, NULL, 0) == JSONX_OK);
    FUZZ_CHECK(json_equal(obj, again));
    json_decref(again);
    free(text);

    json_t *errors = json_array();
    int n = jsonx_check(obj, fields, "patient.", errors);
    FUZZ_CHECK(n >= 0 && (size_t)n == json_array_size(errors));
    size_t unknown = 0, i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *f = jsonx_str(e, "field"), *m = jsonx_str(e, "message");
        FUZZ_CHECK(f != NULL && m != NULL && strncmp(f, "patient.", 8) == 0);
        unknown += strcmp(m, "unknown field") == 0;
    }
    size_t known = 0;
    for (const struct jsonx_field *f = fields; f->name; f++)
        known += jsonx_has(obj, f->name);
    FUZZ_CHECK(unknown == json_object_size(obj) - known);
    FUZZ_CHECK(jsonx_has(obj, "name") || n >= 1);
    json_decref(errors);
    json_decref(obj);
    return 0;
}
