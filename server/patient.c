/* Patients (include/patient.h): the checks of API.md §8 and the sealing of an identity. */
#include "patient.h"

#include "clock.h"
#include "datakeys.h"
#include "jsonx.h"
#include "pii.h"
#include "timefmt.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sexes[] = {"f", "m", "x", "unknown", NULL};

void patient_guard_text(json_t *body, const char *key, json_t *errors)
{
    const char *v = jsonx_str(body, key);
    enum pii_kind k = v ? pii_scan(v, strlen(v)) : PII_NONE;
    if (k != PII_NONE) {
        char msg[96];
        snprintf(msg, sizeof msg, "contains what looks like a %s", pii_kind_name(k));
        jsonx_error(errors, key, msg);
    }
}

/* Age in whole years on date (y, m, d). */
static int age_on(int by, int bm, int bd, int y, int m, int d)
{
    int age = y - by;
    if (m < bm || (m == bm && d < bd))
        age--;
    return age;
}

static void today(int *y, int *m, int *d)
{
    char date[TIMEFMT_DATE_LEN];
    timefmt_date(clock_now_us(), date);
    val_date(date, y, m, d);
}

static void check_anonymous(json_t *patient, struct patient *out, json_t *errors)
{
    static const struct jsonx_field fields[] = {{"mode", JX_STRING, JX_REQUIRED},
                                                {"age", JX_INT, JX_REQUIRED},
                                                {"sex", JX_STRING, JX_REQUIRED},
                                                {NULL, 0, 0}};
    jsonx_check(patient, fields, "patient.", errors);
    json_t *age = json_object_get(patient, "age");
    if (json_is_integer(age) && (json_integer_value(age) < 0 || json_integer_value(age) > 120))
        jsonx_error(errors, "patient.age", "must be from 0 to 120");
    snprintf(out->age, sizeof out->age, "%d", (int)json_integer_value(age));
    out->sex = jsonx_str(patient, "sex");
    if (out->sex && val_enum(out->sex, sexes) < 0)
        jsonx_error(errors, "patient.sex", "must be f, m, x or unknown");
}

/* Checks the consented patient and its consent; on success the identity's JSON, else NULL. */
static char *check_consented(json_t *patient, json_t *errors)
{
    static const struct jsonx_field fields[] = {
        {"mode", JX_STRING, JX_REQUIRED},       {"name", JX_STRING, JX_REQUIRED},
        {"birth_date", JX_STRING, JX_REQUIRED}, {"bsn", JX_STRING, JX_NULLABLE},
        {"consent", JX_OBJECT, JX_REQUIRED},    {NULL, 0, 0}};
    static const struct jsonx_field consent_fields[] = {{"given_on", JX_STRING, JX_REQUIRED},
                                                        {"method", JX_STRING, JX_REQUIRED},
                                                        {"given_by", JX_STRING, JX_REQUIRED},
                                                        {NULL, 0, 0}};
    static const char *const methods[] = {"verbal", "written", NULL};
    static const char *const givers[] = {"patient", "parent", "patient_and_parent", NULL};
    size_t before = json_array_size(errors);
    jsonx_check(patient, fields, "patient.", errors);
    json_t *consent = json_object_get(patient, "consent");
    if (json_is_object(consent))
        jsonx_check(consent, consent_fields, "patient.consent.", errors);
    const char *name = jsonx_str(patient, "name"), *birth = jsonx_str(patient, "birth_date"),
               *bsn = jsonx_str(patient, "bsn"), *given_on = jsonx_str(consent, "given_on"),
               *method = jsonx_str(consent, "method"), *by = jsonx_str(consent, "given_by");
    int ty, tm, td, by_, bm, bd, gy, gm, gd;
    today(&ty, &tm, &td);
    int birth_ok = birth && val_date(birth, &by_, &bm, &bd);
    int given_ok = given_on && val_date(given_on, &gy, &gm, &gd);
    if (name && !val_name(name))
        jsonx_error(errors, "patient.name",
                    "must be 1 to 200 characters without control characters");
    if (birth && !birth_ok)
        jsonx_error(errors, "patient.birth_date", "must be a date YYYY-MM-DD");
    else if (birth_ok && (by_ * 10000 + bm * 100 + bd) > (ty * 10000 + tm * 100 + td))
        jsonx_error(errors, "patient.birth_date", "must not be in the future");
    if (bsn && !val_elfproef(bsn))
        jsonx_error(errors, "patient.bsn", "must be 9 digits that pass the elfproef");
    if (given_on && !given_ok)
        jsonx_error(errors, "patient.consent.given_on", "must be a date YYYY-MM-DD");
    else if (given_ok && (gy * 10000 + gm * 100 + gd) > (ty * 10000 + tm * 100 + td))
        jsonx_error(errors, "patient.consent.given_on", "must not be in the future");
    if (method && val_enum(method, methods) < 0)
        jsonx_error(errors, "patient.consent.method", "must be verbal or written");
    if (by && val_enum(by, givers) < 0)
        jsonx_error(errors, "patient.consent.given_by",
                    "must be patient, parent or patient_and_parent");
    else if (by && birth_ok && given_ok) {
        /* Dutch law (WGBO): under 12 the parents decide, 12 to 15 both, 16 and older the
         * patient. */
        int age = age_on(by_, bm, bd, gy, gm, gd);
        const char *need = age < 12 ? "parent" : age < 16 ? "patient_and_parent" : "patient";
        if (strcmp(by, need)) {
            char msg[96];
            snprintf(msg, sizeof msg, "must be %s for a patient aged %d at consent", need, age);
            jsonx_error(errors, "patient.consent.given_by", msg);
        }
    }
    if (json_array_size(errors) > before)
        return NULL;
    json_t *id = json_pack("{s:s, s:s, s:o, s:{s:s, s:s, s:s}}", "name", name, "birth_date", birth,
                           "bsn", bsn ? json_string(bsn) : json_null(), "consent", "given_on",
                           given_on, "method", method, "given_by", by);
    char *plain = json_dumps(id, JSON_COMPACT);
    json_decref(id);
    return plain;
}

int patient_check(struct req *r, json_t *body, const char *const *texts, const char *ad,
                  struct patient *out, json_t *errors)
{
    memset(out, 0, sizeof *out);
    json_t *patient = json_object_get(body, "patient");
    if (!json_is_object(patient))
        return 0; /* the body's own check names it */
    out->mode = jsonx_str(patient, "mode");
    if (!out->mode) {
        jsonx_error(errors, "patient.mode", "is required");
    } else if (!strcmp(out->mode, "anonymous")) {
        check_anonymous(patient, out, errors);
        for (const char *const *t = texts; *t; t++) /* anonymous means anonymous */
            patient_guard_text(body, *t, errors);
    } else if (!strcmp(out->mode, "consented")) {
        char *plain = check_consented(patient, errors);
        if (plain) {
            char *sealed = datakeys_seal(ad, plain, strlen(plain));
            free(plain);
            if (!sealed)
                return -1;
            out->sealed = req_strdup(r, sealed);
            free(sealed);
        }
    } else {
        jsonx_error(errors, "patient.mode", "must be anonymous or consented");
    }
    return 0;
}
