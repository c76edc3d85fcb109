#include "clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

/* Offset from real time; shared by all loop threads, hence atomic. */
static _Atomic int64_t offset_us;
static _Atomic bool offset_set;

static int64_t real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_now_us(void)
{
    return real_us() + atomic_load(&offset_us);
}

void clock_now_param(char out[40])
{
    int64_t us = clock_now_us();
    int64_t frac = ((us % 1000000) + 1000000) % 1000000; /* floor, also before 1970 */
    time_t s = (time_t)((us - frac) / 1000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%06ldZ", (long)frac);
}

void clock_set(int64_t epoch_us)
{
    atomic_store(&offset_us, epoch_us - real_us());
    atomic_store(&offset_set, true);
}

void clock_reset(void)
{
    atomic_store(&offset_us, 0);
    atomic_store(&offset_set, false);
}

bool clock_is_set(void)
{
    return atomic_load(&offset_set);
}

int64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
