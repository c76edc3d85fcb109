#ifndef OVERLEG_PRINCIPAL_H
#define OVERLEG_PRINCIPAL_H
/* The signed-in user as one SQL value of type `principal` (sql/0001_foundation.sql): the parameter
 * every policy function (`<obj>_access(obj, who)`, `<obj>_visible(who)`) takes, written
 * `$n::principal`. */
#include "req.h"

/* A row literal "(id,role,organisation_id,region)", allocated with the request. */
const char *principal_param(struct req *r);
#endif
