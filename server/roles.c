/* The role table (include/roles.h) and the lookups over it. Pure: tests/unit/test_roles.c. */
#include "roles.h"

#include <string.h>

const char *const role_names[] = {
#define ROLE_X(c, name, kind) name,
    ROLES_TABLE(ROLE_X)
#undef ROLE_X
        NULL};

static const char *const role_kinds[] = {
#define ROLE_X(c, name, kind) kind,
    ROLES_TABLE(ROLE_X)
#undef ROLE_X
};

static int role_index(const char *name)
{
    for (int i = 0; name && i < ROLE_COUNT; i++)
        if (strcmp(role_names[i], name) == 0)
            return i;
    return -1;
}

unsigned role_bit(const char *name)
{
    int i = role_index(name);
    return i < 0 ? 0 : 1u << i;
}

bool role_fits(const char *name, const char *kind)
{
    int i = role_index(name);
    if (i < 0)
        return false;
    return !role_kinds[i] || (kind && strcmp(role_kinds[i], kind) == 0);
}
