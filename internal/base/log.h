/*
 * log.h - one line per event on stderr, logfmt or JSON.
 *
 * Never pass tokens, passwords or DSNs with passwords: use redact_url().
 * The request id of the current thread (set by the HTTP layer) is added to
 * every line.
 */
#ifndef CAVRA_LOG_H
#define CAVRA_LOG_H

#include "base/base.h"

#include <stdatomic.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FMT_LOGFMT = 0, LOG_FMT_JSON };

void log_setup(enum log_level level, enum log_format fmt);
/* Raises the least level logged to level when it is lower (a command's --quiet: LOG_WARN). */
void log_level_raise(enum log_level level);
bool log_enabled(enum log_level level);
/* Sets the request id shown on this thread's lines; NULL clears it. Borrowed. */
void log_set_request_id(const char *id);
void log_at(enum log_level level, const char *fmt, ...) ATTR_PRINTF(2, 3);

/*
 * Whether a line said at most once every interval_us is due at now_us; *last_us is when it was
 * last said (0: never).  Of callers racing for one slot exactly one gets true.
 */
bool log_due(_Atomic int64_t *last_us, int64_t now_us, int64_t interval_us);

/* Parses "debug|info|warn|error" / "logfmt|json"; false on unknown. */
bool log_level_parse(const char *s, enum log_level *out);
bool log_format_parse(const char *s, enum log_format *out);

#define log_debug(...)                                  \
	do {                                            \
		if (log_enabled(LOG_DEBUG))             \
			log_at(LOG_DEBUG, __VA_ARGS__); \
	} while (0)
#define log_info(...)  log_at(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)

#endif
