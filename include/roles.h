#ifndef OVERLEG_ROLES_H
#define OVERLEG_ROLES_H
/* The roles, in one table: each role's name, its bit in the masks of the route table, and the
 * kind of organisation a user with it belongs to (API.md §5; NULL: any kind). The principal
 * (session.c), the route table (router.c) and the users' validation (users.c) all read it. */
#include <stdbool.h>

/* X(constant, name, organisation kind) */
#define ROLES_TABLE(X)                                                                             \
    X(GP, "gp", "general_practice")                                                                \
    X(POH, "poh", "general_practice")                                                              \
    X(CONSULTANT, "consultant", "mental_health_provider")                                          \
    X(COORDINATOR, "coordinator", NULL)                                                            \
    X(BILLING, "billing", "general_practice")                                                      \
    X(ADMIN, "admin", NULL)

enum role_index {
#define ROLE_X(c, name, kind) ROLE_INDEX_##c,
    ROLES_TABLE(ROLE_X)
#undef ROLE_X
        ROLE_COUNT
};

enum role {
#define ROLE_X(c, name, kind) ROLE_##c = 1u << ROLE_INDEX_##c,
    ROLES_TABLE(ROLE_X)
#undef ROLE_X
};

#define ROLES_ANY ((1u << ROLE_COUNT) - 1u)
/* The groups the route table names. */
#define ROLES_PRACTICE (ROLE_GP | ROLE_POH)
#define ROLES_CONSULT_PARTIES (ROLES_PRACTICE | ROLE_CONSULTANT)
#define ROLES_CONSULT_READERS (ROLES_CONSULT_PARTIES | ROLE_COORDINATOR)
#define ROLES_CASE_WORKERS (ROLES_CONSULT_PARTIES | ROLE_COORDINATOR)

/* The names in bit order, NULL-terminated (for fields_enum). */
extern const char *const role_names[];

/* The bit of the role named `name`; 0 when there is no such role (or `name` is NULL). */
unsigned role_bit(const char *name);
/* Whether a user with the role named `name` may belong to an organisation of `kind`; false
 * for an unknown role. */
bool role_fits(const char *name, const char *kind);
#endif
