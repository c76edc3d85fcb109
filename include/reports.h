#ifndef OVERLEG_REPORTS_H
#define OVERLEG_REPORTS_H
/* Reports: the regional summary of consultations and cases (reports.c). */
#include "req.h"

void reports_summary(struct req *r);
#endif
