#ifndef OVERLEG_SIGNALS_H
#define OVERLEG_SIGNALS_H
/* The coordinators' signals (signals.c). */
#include "req.h"

void signals_list(struct req *r);
#endif
