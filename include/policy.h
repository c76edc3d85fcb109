#ifndef OVERLEG_POLICY_H
#define OVERLEG_POLICY_H
/* Who may use a route (policy.c): the route table's role mask against the principal's role
 * (include/roles.h), and refusals with their `denied` audit entry (req_deny, req_audit in
 * include/req.h). Which objects a principal may see is decided in SQL. */
#include "req_private.h"

/* Moves the request to REQ_AUTHORISE. True when the route's roles include the user's; else the
 * refusal (403, audited) is on its way. */
bool policy_authorise(struct req *r);
/* For a reply filter holding a reply (session.c): whether the user's role may use the route. */
bool policy_role_ok(const struct req *r);
/* For that filter, when it may not: writes the refusal's audit entry, replaces the held reply
 * with 403 (500 when the entry cannot be written) and passes it on. */
void policy_refuse_held(struct req *r);
#endif
