/* Fuzzes path matching of the route table (router_match) against a plain segment-by-segment
 * reading of the patterns: the same route, the same 404/405 and the same Allow list. The first
 * byte picks the method and whether test-clock routes exist; the rest is the path. */
#include "fuzz.h"

#include "router.h"
#include "validate.h"

static const char *const methods[] = {"GET",    "POST", "PUT",     "PATCH",
                                      "DELETE", "HEAD", "OPTIONS", "OTHER"};

/* The path's segments against the pattern's: literals equal, a {..} segment 1-63 bytes. */
static int oracle_match(const char *pattern, const char *path, char params[][ROUTE_PARAM_LEN])
{
    int np = 0;
    const char *p = pattern, *s = path;
    for (;;) {
        if (*p != '/' || *s != '/')
            return *p == '\0' && *s == '\0' && p != pattern;
        p++;
        s++;
        size_t pl = strcspn(p, "/"), sl = strcspn(s, "/");
        if (*p == '{') {
            if (sl == 0 || sl >= ROUTE_PARAM_LEN || np >= ROUTE_MAX_PARAMS)
                return 0;
            memcpy(params[np], s, sl);
            params[np++][sl] = '\0';
        } else if (pl != sl || strncmp(p, s, pl) != 0) {
            return 0;
        }
        p += pl;
        s += sl;
    }
}

static int count_params(const char *pattern)
{
    int n = 0;
    for (const char *p = pattern; (p = strchr(p, '{')) != NULL; p++)
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *method = methods[data[0] & 7];
    unsigned hidden = (data[0] & 8) ? ROUTE_TEST_CLOCK : 0;
    char *path = fuzz_str(data + 1, size - 1);

    char params[ROUTE_MAX_PARAMS][ROUTE_PARAM_LEN], allow[128];
    memset(allow, 'x', sizeof allow);
    int idx = router_match(method, path, params, allow, sizeof allow, hidden);

    int want = -1;
    char want_allow[512] = "", want_params[ROUTE_MAX_PARAMS][ROUTE_PARAM_LEN],
         tmp[ROUTE_MAX_PARAMS][ROUTE_PARAM_LEN];
    for (int i = 0; i < route_count && want < 0; i++) {
        if ((routes[i].flags & hidden) || !oracle_match(routes[i].pattern, path, tmp))
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            want = i;
            memcpy(want_params, tmp, sizeof tmp);
        } else {
            if (want_allow[0])
                strcat(want_allow, ", ");
            strcat(want_allow, routes[i].method);
            want = -1;
        }
    }
    if (want < 0 && want_allow[0])
        want = -2;
    FUZZ_CHECK(idx == want);
    FUZZ_CHECK(memchr(allow, '\0', sizeof allow) != NULL);
    /* the Allow list, cut to the buffer (routes of the path before the match count too) */
    size_t wl = strlen(want_allow);
    FUZZ_CHECK(strlen(allow) == (wl < sizeof allow ? wl : sizeof allow - 1));
    FUZZ_CHECK(strncmp(allow, want_allow, sizeof allow - 1) == 0);

    if (idx >= 0) {
        const struct route *rt = &routes[idx];
        int np = count_params(rt->pattern);
        for (int i = 0; i < np; i++)
            FUZZ_CHECK(strcmp(params[i], want_params[i]) == 0);
        int bad = router_bad_param(rt, params);
        FUZZ_CHECK(bad >= -1 && bad < np);
        if (bad >= 0)
            FUZZ_CHECK(!val_uuid(params[bad]));
        char type[48];
        size_t tl = router_subject_type(rt, type, sizeof type);
        FUZZ_CHECK(tl < sizeof type && (tl == 0 || strlen(type) == tl));
        FUZZ_CHECK((tl > 0) == (np > 0));
    }
    free(path);
    return 0;
}
