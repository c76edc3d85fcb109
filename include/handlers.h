#ifndef OVERLEG_HANDLERS_H
#define OVERLEG_HANDLERS_H
/* Endpoint handlers, grouped by the module that implements them. */
#include "req.h"

/* auth.c; auth_init runs once before the loops start (it hashes a dummy password). */
void auth_init(void);
void auth_login(struct req *r);
void auth_logout(struct req *r);
void auth_me(struct req *r);
/* organisations.c */
void organisations_create(struct req *r);
void organisations_list(struct req *r);
void organisations_get(struct req *r);
/* users.c */
void users_create(struct req *r);
void users_get(struct req *r);
void users_update(struct req *r);
/* directory.c */
void directory_vocabularies(struct req *r);
void directory_list(struct req *r);
void directory_get(struct req *r);
void directory_profile_put(struct req *r);
/* consultations.c */
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
void notifications_list(struct req *r);
void notifications_read(struct req *r);
/* audit.c */
void audit_list(struct req *r);
void audit_verify(struct req *r);
/* jobs.c */
void jobs_run_now(struct req *r);
/* ops.c */
void ops_healthz(struct req *r);
void ops_readyz(struct req *r);
void ops_metrics(struct req *r);
void ops_openapi(struct req *r);
void ops_clock_set(struct req *r);
void ops_clock_reset(struct req *r);
#endif
