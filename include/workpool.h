#ifndef OVERLEG_WORKPOOL_H
#define OVERLEG_WORKPOOL_H
/* A few threads for CPU-heavy work (argon2id) so event loops never stall. The result is handed
 * back to the submitting loop with event_base_once, which needs evthread_use_pthreads(). */
struct event_base;

int workpool_start(int threads);
void workpool_stop(void);
/* Runs work(arg) on a worker, then done(arg) on `base`'s loop thread. Returns -1 (and runs
 * nothing) when too many jobs are waiting. */
int workpool_submit(struct event_base *base, void (*work)(void *), void (*done)(void *), void *arg);
#endif
