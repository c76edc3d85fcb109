#ifndef OVERLEG_AUDIT_H
#define OVERLEG_AUDIT_H
/* Reading and verifying the audit log (audit.c). */
#include "req.h"

void audit_list(struct req *r);
void audit_verify(struct req *r);
#endif
