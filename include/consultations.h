#ifndef OVERLEG_CONSULTATIONS_H
#define OVERLEG_CONSULTATIONS_H
/* Consultations, their messages and appointments (consultations.c). */
#include "req.h"

void consultations_create(struct req *r);
void consultations_list(struct req *r);
void consultations_get(struct req *r);
void consultations_accept(struct req *r);
void consultations_decline(struct req *r);
void consultations_redirect(struct req *r);
void consultations_answer(struct req *r);
void consultations_close(struct req *r);
void consultations_withdraw(struct req *r);
void consultations_revoke_consent(struct req *r);
void consultations_message_add(struct req *r);
void consultations_messages(struct req *r);
void consultations_appointment_add(struct req *r);
void consultations_appointments(struct req *r);
#endif
