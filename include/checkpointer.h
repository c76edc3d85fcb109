#ifndef OVERLEG_CHECKPOINTER_H
#define OVERLEG_CHECKPOINTER_H
/* Anchors the audit chain outside the database: every OVERLEG_AUDIT_CHECKPOINT_SECONDS and at a
 * clean stop, the newest entry's sequence number and hash go to the log and, from one process per
 * file, to OVERLEG_AUDIT_CHECKPOINT_FILE (checkpoint.h). A thread of its own with its own
 * connection, so neither the query nor the fsync ever stalls an event loop. */

/* Opens the file (so a bad path stops the start) and starts the thread. -1 with a message. */
int checkpointer_start(void);
/* Writes the last checkpoint and ends the thread; call after the loops have stopped. */
void checkpointer_stop(void);
#endif
