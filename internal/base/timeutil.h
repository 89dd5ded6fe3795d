/*
 * timeutil.h - an injectable clock and the one timestamp format we store.
 *
 * Stored and shown times are UTC "YYYY-MM-DDTHH:MM:SS.ffffffZ" so that text
 * order is time order (docs/schema.md).
 */
#ifndef CAVRA_TIMEUTIL_H
#define CAVRA_TIMEUTIL_H

#include "base/base.h"

#include <pthread.h>
#include <time.h>

#define TIME_FMT_LEN 28 /* including the NUL */

typedef int64_t (*clock_now_fn)(void);

/* Microseconds since the epoch from the installed clock (real by default). */
int64_t time_now_us(void);
/* Installs a clock for tests; NULL restores the real one. */
void time_set_clock(clock_now_fn fn);
/* Monotonic microseconds, for durations. */
int64_t time_mono_us(void);
/*
 * A condition variable whose timed waits run on the monotonic clock, and the deadline
 * time_mono_us() == until_us as pthread_cond_timedwait takes it.
 */
void time_mono_cond_init(pthread_cond_t *cv);
struct timespec time_mono_abs(int64_t until_us);
/* Writes the canonical UTC form of us into out (size >= TIME_FMT_LEN). */
void time_format_utc(int64_t us, char *out, size_t size);
/*
 * Parses RFC 3339 ("2026-01-02T03:04:05Z", fractional seconds and numeric
 * offsets allowed; also PostgreSQL's "2026-01-02 03:04:05.1+00") into
 * microseconds.  Returns false on anything else, and on a time that is not from
 * year 1 to year 9999 in UTC (what the canonical form writes, PostgreSQL takes).
 */
bool time_parse(const char *s, int64_t *us);
/*
 * time_parse without the range, for times already stored: a SQLite file written before the
 * range was checked may hold "0000-01-01T00:00:00.000000Z", which backups, restores and
 * reads still carry as it is.
 */
bool time_parse_stored(const char *s, int64_t *us);

#endif
