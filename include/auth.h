#ifndef OVERLEG_AUTH_H
#define OVERLEG_AUTH_H
/* Sign-in and sessions' own endpoints (auth.c). */
#include "req.h"

/* Runs once before the loops start (it hashes a dummy password). */
void auth_init(void);
void auth_login(struct req *r);
void auth_logout(struct req *r);
void auth_me(struct req *r);
#endif
