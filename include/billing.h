#ifndef OVERLEG_BILLING_H
#define OVERLEG_BILLING_H
/* Billing: tariffs, budgets, the preview and the exports of consultation claims (billing.c). */
#include "req.h"

void billing_tariff_put(struct req *r);
void billing_budget_put(struct req *r);
void billing_preview(struct req *r);
void billing_export_create(struct req *r);
void billing_exports_list(struct req *r);
void billing_export_get(struct req *r);
#endif
