#ifndef OVERLEG_OPS_H
#define OVERLEG_OPS_H
/* Operations endpoints and the test clock (ops.c). */
#include "req.h"

void ops_healthz(struct req *r);
void ops_readyz(struct req *r);
void ops_metrics(struct req *r);
void ops_openapi(struct req *r);
void ops_clock_set(struct req *r);
void ops_clock_reset(struct req *r);
#endif
