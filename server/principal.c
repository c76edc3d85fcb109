#include "principal.h"

#include <stdio.h>

const char *principal_param(struct req *r)
{
    const struct principal *p = req_user(r);
    /* Every part is a UUID, a role name or a region slug ([a-z0-9-]): nothing to escape, but
     * quoted all the same so that a row literal can never be split by a value. */
    size_t n =
        sizeof p->id + sizeof p->role_name + sizeof p->organisation_id + sizeof p->region + 16;
    char *s = req_alloc(r, n);
    snprintf(s, n, "(\"%s\",\"%s\",\"%s\",\"%s\")", p->id, p->role_name, p->organisation_id,
             p->region);
    return s;
}
