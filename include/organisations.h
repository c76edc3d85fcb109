#ifndef OVERLEG_ORGANISATIONS_H
#define OVERLEG_ORGANISATIONS_H
/* Organisations (organisations.c). */
#include "req.h"

void organisations_create(struct req *r);
void organisations_list(struct req *r);
void organisations_get(struct req *r);
#endif
