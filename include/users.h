#ifndef OVERLEG_USERS_H
#define OVERLEG_USERS_H
/* Users (users.c). */
#include "req.h"

void users_create(struct req *r);
void users_list(struct req *r);
void users_get(struct req *r);
void users_update(struct req *r);
#endif
