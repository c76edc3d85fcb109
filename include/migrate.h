#ifndef OVERLEG_MIGRATE_H
#define OVERLEG_MIGRATE_H
/* Schema migrations: the numbered files sql/NNNN_*.sql compiled into the binary. */

/* The highest migration number this binary knows. */
int migrate_latest(void);
/* Applies every pending migration, each in its own transaction, under an advisory lock so
 * several instances may start at once. Blocking: only for the `migrate` sub-command. */
/* Then, when `app_role` (the role serve connects as) is another role than the one migrating,
 * grants it the rights the server needs (docs/migrations.md). */
int migrate_run(const char *conninfo, const char *app_role);
#endif
