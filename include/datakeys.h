#ifndef OVERLEG_DATAKEYS_H
#define OVERLEG_DATAKEYS_H
/* The data keys (docs/encryption.md): every text that may carry clinical content or a patient's
 * identity is sealed with AES-256-GCM before it reaches the database. The first key of the ring
 * seals; every key of the ring opens. A sealed value is
 *
 *     ov1:<key id>:<base64url(nonce | ciphertext | tag)>
 *
 * and its associated data names the object it belongs to ("consultation:<id>", "case:<id>"),
 * so a value copied into another object's row no longer opens. SQL shows a sealed column as
 * {"$ad": <associated data>, "$sealed": <value>} (the function sealed() of sql/0001); the reply
 * path replaces each such object by the opened text (datakeys_reveal). */
#include <stddef.h>

#define DATAKEYS_MAX 16
#define DATAKEY_ID_MAX 32
/* The prefix of every sealed value; the version names this format. */
#define DATAKEYS_PREFIX "ov1:"
/* Associated data: "<noun>:<uuid>" or "idempotency:<user id>:<key>". */
#define DATAKEYS_AD_MAX 320

/* Adds the keys of `spec` to the ring: "id:hex64" entries separated by commas, spaces or new
 * lines ('#' starts a comment up to the end of the line). The first key added is the current one.
 * Ids are 1 to 32 of [A-Za-z0-9_-], each once. Returns 0, or -1 with `why` set. */
int datakeys_add(const char *spec, const char **why);
/* Empties the ring (tests, and a reload). */
void datakeys_clear(void);
int datakeys_count(void);
/* The id of the key that seals, or NULL when the ring is empty. */
const char *datakeys_current(void);
/* The i-th key's id (0 is the current one). */
const char *datakeys_id(int i);

/* "<noun>:<id>" with the id in lower case, as PostgreSQL prints a uuid. */
void datakeys_ad(char out[DATAKEYS_AD_MAX], const char *noun, const char *id);

/* Seals `len` bytes under the current key; malloc'd, NULL on failure (or an empty ring). */
char *datakeys_seal(const char *ad, const void *plain, size_t len);
/* Opens a sealed value with the key its id names; malloc'd and NUL-terminated, or NULL when the
 * value is malformed, its key is not in the ring, or it does not belong to `ad`. */
char *datakeys_open(const char *ad, const char *sealed, size_t *len);
/* The key id of a sealed value, copied to `out`; -1 when `sealed` is not in the format. */
int datakeys_key_of(const char *sealed, char out[DATAKEY_ID_MAX + 1]);

/* Replaces every {"$ad": …, "$sealed": …} object in the JSON text `json` by the opened text as
 * a JSON string. Returns NULL when there is none (the text stands as it is), else a malloc'd
 * text with its length in *outlen. *failed is set when a value did not open: the caller must not
 * send the text then (it returns NULL too). */
char *datakeys_reveal(const char *json, size_t len, size_t *outlen, int *failed);
#endif
