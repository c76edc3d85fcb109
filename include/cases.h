#ifndef OVERLEG_CASES_H
#define OVERLEG_CASES_H
/* Escalation cases, their actions, conferences and notes (cases.c). */
#include "req.h"

void cases_create(struct req *r);
void cases_list(struct req *r);
void cases_get(struct req *r);
void cases_update(struct req *r);
void cases_intake(struct req *r);
void cases_resubmit(struct req *r);
void cases_escalate(struct req *r);
void cases_deescalate(struct req *r);
void cases_regie(struct req *r);
void cases_action_add(struct req *r);
void cases_action_update(struct req *r);
void cases_conference_add(struct req *r);
void cases_note_add(struct req *r);
void cases_resolve(struct req *r);
void cases_close(struct req *r);
#endif
