#ifndef OVERLEG_MIGRATE_H
#define OVERLEG_MIGRATE_H
/* Schema migrations: the numbered files sql/NNNN_*.sql compiled into the binary. */

/* The highest migration number this binary knows. */
int migrate_latest(void);
/* Applies every pending migration, each in its own transaction, under an advisory lock so
 * several instances may start at once. Blocking: only for the `migrate` sub-command. */
int migrate_run(const char *conninfo);
#endif
