/* Fuzzes the query-string check of the route phase (qstring_check): what it passes is
 * only declared parameters, each once, in UTF-8, with a `limit` of 1-100; what it refuses is
 * listed parameter by parameter. The first byte picks the route; the rest is the query. */
#include "fuzz.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "jsonx.h"
#include "qstring.h"
#include "validate.h"

static int declared(const struct route *rt, const char *key)
{
    if ((rt->flags & ROUTE_PAGED) && (strcmp(key, "limit") == 0 || strcmp(key, "cursor") == 0))
        return 1;
    for (const char *const *q = rt->query; q && *q; q++)
        if (strcmp(*q, key) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct route *rt = &routes[data[0] % route_count];
    char *query = fuzz_str(data + 1, size - 1);
    struct evkeyvalq q;
    q.tqh_first = NULL;
    q.tqh_last = &q.tqh_first;
    json_t *errors = json_array();
    int limit = -1;
    int rc = qstring_check(rt, query, &q, errors, &limit);
    FUZZ_CHECK(rc >= -1);
    FUZZ_CHECK(limit == 20 || (limit >= 1 && limit <= 100));
    if (rc == -1) {
        FUZZ_CHECK(query[0] != '\0');
    } else {
        FUZZ_CHECK((size_t)rc == json_array_size(errors));
        size_t i;
        json_t *e;
        json_array_foreach(errors, i, e)
        {
            const char *f = jsonx_str(e, "field");
            FUZZ_CHECK(f != NULL && jsonx_str(e, "message") != NULL);
            FUZZ_CHECK(strcmp(f, "limit") == 0 || evhttp_find_header(&q, f) != NULL);
        }
    }
    if (rc == 0) {
        for (struct evkeyval *kv = q.tqh_first; kv; kv = kv->next.tqe_next) {
            FUZZ_CHECK(declared(rt, kv->key));
            FUZZ_CHECK(val_utf8_chars(kv->value, strlen(kv->value)) >= 0);
            FUZZ_CHECK(evhttp_find_header(&q, kv->key) == kv->value); /* given once */
        }
        const char *l = evhttp_find_header(&q, "limit");
        FUZZ_CHECK(l ? limit == atoi(l) : limit == 20);
    }
    /* a parameter the route does not declare is always named */
    if (rc >= 0)
        for (struct evkeyval *kv = q.tqh_first; kv; kv = kv->next.tqe_next)
            if (!declared(rt, kv->key))
                FUZZ_CHECK(rc > 0);
    evhttp_clear_headers(&q);
    json_decref(errors);
    free(query);
    return 0;
}
