#ifndef OVERLEG_EMBEDDED_H
#define OVERLEG_EMBEDDED_H
/* Files compiled into the binary by scripts/embed.sh: migrations and docs/openapi.json. */
struct embedded_file {
    const char *name; /* path relative to the repository, e.g. "sql/0001_foundation.sql" */
    const char *data; /* NUL-terminated contents */
};
extern const struct embedded_file embedded_files[];

/* Returns the contents of the embedded file `name`, or NULL. */
const char *embedded_get(const char *name);
#endif
