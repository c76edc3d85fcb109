/* qstring - the query-string check of the route phase (http.c). */
#include "qstring.h"

#include "jsonx.h"
#include "validate.h"

#include <ctype.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* evhttp decodes "%zz" or a lone "%" as the characters themselves; such a query is malformed. */
static bool percent_ok(const char *q)
{
    for (const char *p = strchr(q, '%'); p; p = strchr(p + 1, '%'))
        if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]))
            return false;
    return true;
}

int qstring_check(const struct route *rt, const char *uri_query, struct evkeyvalq *q,
                  json_t *errors, int *limit)
{
    *limit = 20;
    if (!uri_query || !*uri_query)
        return 0;
    if (!percent_ok(uri_query) || evhttp_parse_query_str(uri_query, q) != 0)
        return -1;
    size_t before = json_array_size(errors);
    for (struct evkeyval *kv = q->tqh_first; kv; kv = kv->next.tqe_next) {
        int allowed = (rt->flags & ROUTE_PAGED) &&
                      (strcmp(kv->key, "limit") == 0 || strcmp(kv->key, "cursor") == 0);
        for (const char *const *p = rt->query; !allowed && p && *p; p++)
            allowed = strcmp(kv->key, *p) == 0;
        if (!allowed && val_utf8_chars(kv->key, strlen(kv->key)) < 0)
            return -1; /* a JSON error cannot name it, so it would pass unnoticed */
        if (!allowed)
            jsonx_error(errors, kv->key, "unknown query parameter");
        else if (val_utf8_chars(kv->value, strlen(kv->value)) < 0)
            jsonx_error(errors, kv->key, "is not valid UTF-8");
        else
            for (struct evkeyval *o = q->tqh_first; o != kv; o = o->next.tqe_next)
                if (strcmp(o->key, kv->key) == 0) {
                    jsonx_error(errors, kv->key, "is given more than once");
                    break;
                }
    }
    const char *l = evhttp_find_header(q, "limit");
    if (l) {
        char *end;
        long n = strtol(l, &end, 10);
        if (!*l || *end || n < 1 || n > 100)
            jsonx_error(errors, "limit", "must be an integer from 1 to 100");
        else
            *limit = (int)n;
    }
    return (int)(json_array_size(errors) - before);
}
