#ifndef OVERLEG_PATIENT_H
#define OVERLEG_PATIENT_H
/* The patient of a consultation (API.md §8), and next of an escalation case: anonymous (age and
 * sex only, and no identifier in any free text) or consented (name, birth date, BSN and consent,
 * sealed under the data key, bound to its object, before it goes anywhere: datakeys.h). */
#include "req.h"

#include <jansson.h>

struct patient {
    const char *mode;   /* "anonymous" or "consented" once checked */
    char age[16];       /* anonymous: the age as an SQL parameter */
    const char *sex;    /* anonymous */
    const char *sealed; /* consented: the sealed identity, allocated with the request */
};

/* Checks `body`'s "patient" object (when it is one) and fills `out`. Errors go to `errors` with
 * fields "patient.*". For an anonymous patient the string fields `texts` (NULL-terminated keys of
 * `body`) must not contain what looks like an identifier. A consented identity is sealed with
 * `ad`, the associated data of the object it belongs to. Returns -1 when it could not be sealed
 * (a server error, the caller answers 500), else 0. */
int patient_check(struct req *r, json_t *body, const char *const *texts, const char *ad,
                  struct patient *out, json_t *errors);

/* The anonymity guard for one text: names the field and the kind of identifier, never the value. */
void patient_guard_text(json_t *body, const char *key, json_t *errors);
#endif
