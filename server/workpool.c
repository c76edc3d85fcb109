#include "workpool.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>

struct job {
    struct job *next;
    struct event_base *base;
    void (*work)(void *);
    void (*done)(void *);
    void *arg;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct job *head, *tail;
static int stopping, nthreads, queued;
#define QUEUE_MAX 256 /* beyond this, sign-ins wait too long: answer 503 instead */
static pthread_t *threads;

static void job_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct job *j = arg;
    j->done(j->arg);
    free(j);
}

static void *worker_main(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&mu);
        while (!head && !stopping)
            pthread_cond_wait(&cv, &mu);
        if (!head) {
            pthread_mutex_unlock(&mu);
            return NULL;
        }
        struct job *j = head;
        queued--;
        head = j->next;
        if (!head)
            tail = NULL;
        pthread_mutex_unlock(&mu);
        j->work(j->arg);
        struct timeval zero = {0, 0};
        event_base_once(j->base, -1, EV_TIMEOUT, job_done, j, &zero);
    }
}

int workpool_start(int n)
{
    nthreads = n;
    threads = calloc((size_t)n, sizeof *threads);
    for (int i = 0; i < n; i++)
        if (pthread_create(&threads[i], NULL, worker_main, NULL))
            return -1;
    return 0;
}

void workpool_stop(void)
{
    pthread_mutex_lock(&mu);
    stopping = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    threads = NULL;
}

int workpool_submit(struct event_base *base, void (*work)(void *), void (*done)(void *), void *arg)
{
    pthread_mutex_lock(&mu);
    int full = queued >= QUEUE_MAX;
    pthread_mutex_unlock(&mu);
    if (full)
        return -1;
    struct job *j = calloc(1, sizeof *j);
    j->base = base;
    j->work = work;
    j->done = done;
    j->arg = arg;
    pthread_mutex_lock(&mu);
    if (tail)
        tail->next = j;
    else
        head = j;
    tail = j;
    queued++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    return 0;
}
