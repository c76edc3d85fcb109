/* Fuzzes the anonymity guard (pii_scan): never a read past `len` (the input sits in an
 * allocation of exactly its size), and the verdict depends on the text, not on where it ends. */
#include "fuzz.h"

#include "pii.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    enum pii_kind k = pii_scan(text, size);
    FUZZ_CHECK(k >= PII_NONE && k <= PII_DATE);
    FUZZ_CHECK(strcmp(pii_kind_name(k), "unknown") != 0);
    FUZZ_CHECK(pii_scan(text, size) == k);

    /* Every identifier has digits, or an '@'. */
    int digits = 0;
    for (size_t i = 0; i < size && !digits; i++)
        digits = data[i] >= '0' && data[i] <= '9';
    if (!digits && memchr(text, '@', size) == NULL)
        FUZZ_CHECK(k == PII_NONE);

    /* A space on either side changes nothing: the start and end of the text are boundaries
     * like a space. */
    char *padded = malloc(size + 2);
    FUZZ_CHECK(padded != NULL);
    padded[0] = ' ';
    if (size > 0)
        memcpy(padded + 1, text, size);
    padded[size + 1] = ' ';
    FUZZ_CHECK(pii_scan(padded, size + 2) == k);
    free(padded);

    /* A prefix of the text, in an allocation of its own size: the scan stops at `len`. */
    if (size > 1) {
        size_t half = size / 2;
        char *prefix = malloc(half);
        FUZZ_CHECK(prefix != NULL);
        memcpy(prefix, text, half);
        enum pii_kind kp = pii_scan(prefix, half);
        FUZZ_CHECK(kp >= PII_NONE && kp <= PII_DATE);
        free(prefix);
    }

    /* Nine digits that pass the elfproef are a BSN whatever else they look like. */
    if (size == 9) {
        char *s = fuzz_str(data, size);
        if (val_elfproef(s))
            FUZZ_CHECK(k == PII_BSN);
        free(s);
    }
    return 0;
}
