#ifndef OVERLEG_CLOCK_H
#define OVERLEG_CLOCK_H
#include <stdbool.h>
#include <stdint.h>

/* The single source of "now" for the application (API.md §13). Handlers pass clock_now_us() into
 * SQL as a parameter instead of calling now(), so the test clock reaches every decision. */
int64_t clock_now_us(void);
/* Formats clock_now_us() as an RFC 3339 timestamp with microseconds, for SQL parameters. */
void clock_now_param(char out[40]);
/* Test clock: jump to `epoch_us` and run on from there. Only callable when enabled. */
void clock_set(int64_t epoch_us);
void clock_reset(void);
bool clock_is_set(void);
/* Monotonic time for durations (metrics, timeouts). */
int64_t clock_mono_us(void);
#endif
