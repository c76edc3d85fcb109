#include "router.h"

#include "audit.h"
#include "auth.h"
#include "billing.h"
#include "cases.h"
#include "consultations.h"
#include "directory.h"
#include "jobs.h"
#include "notifications.h"
#include "ops.h"
#include "organisations.h"
#include "reports.h"
#include "signals.h"
#include "users.h"
#include "validate.h"

#include <string.h>

static const char *const q_orgs[] = {"kind", "region", "q", NULL};
static const char *const q_consultants[] = {"q",    "expertise", "target_group", "region",
                                            "mode", "language",  "accepting",    NULL};
static const char *const q_users[] = {"role", "organisation_id", "active", "q", NULL};
static const char *const q_consultations[] = {"status", "overdue", "due_before", NULL};
static const char *const q_unread[] = {"unread", NULL};
static const char *const q_cases[] = {"status", "level", "stalled", NULL};
static const char *const q_signals[] = {"status", "kind", NULL};
static const char *const q_billing_period[] = {"organisation_id", "from", "to", NULL};
static const char *const q_billing_exports[] = {"organisation_id", NULL};
static const char *const q_reports[] = {"from", "to", "region", NULL};
static const char *const q_audit[] = {"subject_id", "actor_id", "action", "from", "to", NULL};

/* Short names for the role masks of include/roles.h, so that a route fits on a line or two. */
#define ADMIN ROLE_ADMIN
#define PRACTICE ROLES_PRACTICE
#define CONSULTANT ROLE_CONSULTANT
#define CONSULT_READERS ROLES_CONSULT_READERS
#define CONSULT_PARTIES ROLES_CONSULT_PARTIES
#define COORDINATOR ROLE_COORDINATOR
#define CASE_WORKERS ROLES_CASE_WORKERS
#define BILLING (ROLE_BILLING | ROLE_ADMIN)
#define ANY ROLES_ANY

const struct route routes[] = {
    {"POST", "/v1/auth/login", "auth.login", 0, ROUTE_BODY, NULL, auth_login},
    {"POST", "/v1/auth/logout", "auth.logout", ANY, 0, NULL, auth_logout},
    {"GET", "/v1/me", "me.read", ANY, 0, NULL, auth_me},

    {"POST", "/v1/organisations", "organisations.create", ADMIN, ROUTE_BODY | ROUTE_IDEM, NULL,
     organisations_create},
    {"GET", "/v1/organisations", "organisations.list", ANY, ROUTE_PAGED, q_orgs,
     organisations_list},
    {"GET", "/v1/organisations/{id:uuid}", "organisations.read", ANY, 0, NULL, organisations_get},

    {"POST", "/v1/users", "users.create", ADMIN, ROUTE_BODY | ROUTE_IDEM, NULL, users_create},
    {"GET", "/v1/users", "users.list", ADMIN, ROUTE_PAGED, q_users, users_list},
    {"GET", "/v1/users/{id:uuid}", "users.read", ADMIN, 0, NULL, users_get},
    {"PATCH", "/v1/users/{id:uuid}", "users.update", ADMIN, ROUTE_BODY, NULL, users_update},

    {"GET", "/v1/vocabularies", "vocabularies.read", ANY, ROUTE_SESSION_IN_STMT, NULL,
     directory_vocabularies},
    {"GET", "/v1/consultants", "consultants.list", ANY, ROUTE_PAGED | ROUTE_SESSION_IN_STMT,
     q_consultants, directory_list},
    {"GET", "/v1/consultants/{id:uuid}", "consultants.read", ANY, ROUTE_SESSION_IN_STMT, NULL,
     directory_get},
    {"PUT", "/v1/consultants/{id:uuid}/profile", "consultants.profile_update",
     ROLE_CONSULTANT | ADMIN, ROUTE_BODY, NULL, directory_profile_put},

    {"POST", "/v1/consultations", "consultations.create", PRACTICE, ROUTE_BODY | ROUTE_IDEM, NULL,
     consultations_create},
    {"GET", "/v1/consultations", "consultations.list", CONSULT_READERS, ROUTE_PAGED,
     q_consultations, consultations_list},
    {"GET", "/v1/consultations/{id:uuid}", "consultations.read", CONSULT_READERS, 0, NULL,
     consultations_get},
    {"POST", "/v1/consultations/{id:uuid}/accept", "consultations.accept", CONSULTANT, 0, NULL,
     consultations_accept},
    {"POST", "/v1/consultations/{id:uuid}/decline", "consultations.decline", CONSULTANT, ROUTE_BODY,
     NULL, consultations_decline},
    {"POST", "/v1/consultations/{id:uuid}/redirect", "consultations.redirect", PRACTICE, ROUTE_BODY,
     NULL, consultations_redirect},
    {"POST", "/v1/consultations/{id:uuid}/answer", "consultations.answer", CONSULTANT, ROUTE_BODY,
     NULL, consultations_answer},
    {"POST", "/v1/consultations/{id:uuid}/close", "consultations.close", PRACTICE, ROUTE_BODY, NULL,
     consultations_close},
    {"POST", "/v1/consultations/{id:uuid}/withdraw", "consultations.withdraw", PRACTICE, ROUTE_BODY,
     NULL, consultations_withdraw},
    {"POST", "/v1/consultations/{id:uuid}/consent/revoke", "consultations.consent_revoke", PRACTICE,
     0, NULL, consultations_revoke_consent},
    {"POST", "/v1/consultations/{id:uuid}/messages", "consultations.message_create",
     CONSULT_PARTIES, ROUTE_BODY | ROUTE_IDEM, NULL, consultations_message_add},
    {"GET", "/v1/consultations/{id:uuid}/messages", "consultations.messages_read", CONSULT_PARTIES,
     ROUTE_PAGED, NULL, consultations_messages},
    {"POST", "/v1/consultations/{id:uuid}/appointments", "consultations.appointment_create",
     CONSULT_PARTIES, ROUTE_BODY | ROUTE_IDEM, NULL, consultations_appointment_add},
    {"GET", "/v1/consultations/{id:uuid}/appointments", "consultations.appointments_read",
     CONSULT_PARTIES, ROUTE_PAGED, NULL, consultations_appointments},
    {"POST", "/v1/cases", "cases.create", CASE_WORKERS, ROUTE_BODY | ROUTE_IDEM, NULL,
     cases_create},
    {"GET", "/v1/cases", "cases.list", CASE_WORKERS, ROUTE_PAGED, q_cases, cases_list},
    {"GET", "/v1/cases/{id:uuid}", "cases.read", CASE_WORKERS, 0, NULL, cases_get},
    {"PATCH", "/v1/cases/{id:uuid}", "cases.update", CASE_WORKERS, ROUTE_BODY, NULL, cases_update},
    {"POST", "/v1/cases/{id:uuid}/intake", "cases.intake", COORDINATOR, ROUTE_BODY, NULL,
     cases_intake},
    {"POST", "/v1/cases/{id:uuid}/resubmit", "cases.resubmit", CASE_WORKERS, 0, NULL,
     cases_resubmit},
    {"POST", "/v1/cases/{id:uuid}/escalate", "cases.escalate", COORDINATOR, ROUTE_BODY, NULL,
     cases_escalate},
    {"POST", "/v1/cases/{id:uuid}/deescalate", "cases.deescalate", COORDINATOR, ROUTE_BODY, NULL,
     cases_deescalate},
    {"PUT", "/v1/cases/{id:uuid}/regie", "cases.regie_set", COORDINATOR, ROUTE_BODY, NULL,
     cases_regie},
    {"POST", "/v1/cases/{id:uuid}/actions", "cases.action_create", COORDINATOR,
     ROUTE_BODY | ROUTE_IDEM, NULL, cases_action_add},
    {"PATCH", "/v1/cases/{id:uuid}/actions/{action_id:uuid}", "cases.action_update", CASE_WORKERS,
     ROUTE_BODY, NULL, cases_action_update},
    {"POST", "/v1/cases/{id:uuid}/conferences", "cases.conference_create", COORDINATOR,
     ROUTE_BODY | ROUTE_IDEM, NULL, cases_conference_add},
    {"POST", "/v1/cases/{id:uuid}/notes", "cases.note_create", CASE_WORKERS,
     ROUTE_BODY | ROUTE_IDEM, NULL, cases_note_add},
    {"POST", "/v1/cases/{id:uuid}/resolve", "cases.resolve", COORDINATOR, ROUTE_BODY, NULL,
     cases_resolve},
    {"POST", "/v1/cases/{id:uuid}/close", "cases.close", COORDINATOR, ROUTE_BODY, NULL,
     cases_close},

    {"GET", "/v1/signals", "signals.list", COORDINATOR | ADMIN, ROUTE_PAGED, q_signals,
     signals_list},

    {"PUT", "/v1/organisations/{id:uuid}/tariff", "billing.tariff_set", ADMIN, ROUTE_BODY, NULL,
     billing_tariff_put},
    {"PUT", "/v1/organisations/{id:uuid}/budgets/{year}", "billing.budget_set", BILLING, ROUTE_BODY,
     NULL, billing_budget_put},
    {"GET", "/v1/billing/preview", "billing.preview", BILLING, 0, q_billing_period,
     billing_preview},
    {"POST", "/v1/billing/exports", "billing.export_create", BILLING, ROUTE_BODY | ROUTE_IDEM, NULL,
     billing_export_create},
    {"GET", "/v1/billing/exports", "billing.exports_list", BILLING, ROUTE_PAGED, q_billing_exports,
     billing_exports_list},
    {"GET", "/v1/billing/exports/{id:uuid}", "billing.export_read", BILLING, 0, NULL,
     billing_export_get},

    {"GET", "/v1/reports/summary", "reports.summary", COORDINATOR | ADMIN, 0, q_reports,
     reports_summary},

    {"GET", "/v1/notifications", "notifications.list", ANY, ROUTE_PAGED, q_unread,
     notifications_list},
    {"POST", "/v1/notifications/{id:uuid}/read", "notifications.read", ANY, 0, NULL,
     notifications_read},

    {"GET", "/v1/audit", "audit.list", ADMIN, ROUTE_PAGED, q_audit, audit_list},
    {"GET", "/v1/audit/verify", "audit.verify", ADMIN, 0, NULL, audit_verify},

    {"POST", "/v1/admin/jobs/run", "jobs.run", ADMIN, 0, NULL, jobs_run_now},
    {"PUT", "/v1/admin/clock", "clock.set", ADMIN, ROUTE_BODY | ROUTE_TEST_CLOCK, NULL,
     ops_clock_set},
    {"DELETE", "/v1/admin/clock", "clock.reset", ADMIN, ROUTE_TEST_CLOCK, NULL, ops_clock_reset},

    {"GET", "/healthz", "healthz", 0, 0, NULL, ops_healthz},
    {"GET", "/readyz", "readyz", 0, 0, NULL, ops_readyz},
    {"GET", "/metrics", "metrics", 0, 0, NULL, ops_metrics},
    {"GET", "/openapi.json", "openapi", 0, 0, NULL, ops_openapi},
};
const int route_count = sizeof routes / sizeof routes[0];

/* Matches `path` against `pattern` segment by segment, capturing {..} segments (of any type:
 * router_bad_param checks them). */
static int path_match(const char *pattern, const char *path, char params[][ROUTE_PARAM_LEN])
{
    int np = 0;
    while (*pattern && *path) {
        if (*pattern != '/' || *path != '/')
            return 0;
        pattern++;
        path++;
        const char *pe = strchr(pattern, '/'), *se = strchr(path, '/');
        size_t pl = pe ? (size_t)(pe - pattern) : strlen(pattern);
        size_t sl = se ? (size_t)(se - path) : strlen(path);
        if (pattern[0] == '{') {
            if (sl == 0 || sl >= ROUTE_PARAM_LEN || np >= ROUTE_MAX_PARAMS)
                return 0;
            memcpy(params[np], path, sl);
            params[np++][sl] = 0;
        } else if (pl != sl || memcmp(pattern, path, pl) != 0) {
            return 0;
        }
        pattern += pl;
        path += sl;
    }
    return *pattern == 0 && *path == 0;
}

int router_match(const char *method, const char *path, char params[][ROUTE_PARAM_LEN], char *allow,
                 size_t allowsz, unsigned hidden)
{
    int found_path = 0;
    allow[0] = 0;
    for (int i = 0; i < route_count; i++) {
        if ((routes[i].flags & hidden) || !path_match(routes[i].pattern, path, params))
            continue;
        if (strcmp(routes[i].method, method) == 0)
            return i;
        if (found_path)
            strncat(allow, ", ", allowsz - strlen(allow) - 1);
        strncat(allow, routes[i].method, allowsz - strlen(allow) - 1);
        found_path = 1;
    }
    return found_path ? -2 : -1;
}

int router_bad_param(const struct route *rt, char params[][ROUTE_PARAM_LEN])
{
    int np = 0;
    for (const char *p = strchr(rt->pattern, '{'); p; p = strchr(p + 1, '{'), np++) {
        const char *colon = strchr(p, ':'), *close = strchr(p, '}');
        if (colon && close && colon < close && strncmp(colon, ":uuid}", 6) == 0 &&
            !val_uuid(params[np]))
            return np;
    }
    return -1;
}

size_t router_subject_type(const struct route *rt, char *type, size_t sz)
{
    const char *brace = strstr(rt->pattern, "/{");
    if (!brace)
        return 0;
    const char *start = brace;
    while (start > rt->pattern && start[-1] != '/')
        start--;
    size_t n = (size_t)(brace - start);
    if (n > 1 && start[n - 1] == 's')
        n--; /* "consultations" -> "consultation" */
    if (n == 0 || n >= sz)
        return 0;
    memcpy(type, start, n);
    type[n] = 0;
    return n;
}
