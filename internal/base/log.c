/*
 * log.c - one line per event on stderr, logfmt or JSON, with the request id of the thread's
 * current request.  No files, no syslog: cavra runs in containers and the platform collects
 * stderr.  Lines are built in a stack buffer and sent with one write(2), so no lock is needed
 * and lines of concurrent requests never interleave (a write to a pipe of at most PIPE_BUF
 * bytes is atomic; longer lines are cut to fit the buffer).  Messages never carry secrets:
 * callers pass database URLs through redact and never format tokens or passwords.
 */
#include "base/base.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

/*
 * Set once by log_setup before any thread starts and only read afterwards, so they need no
 * lock.  The request id is thread-local because each libmicrohttpd connection runs on its own
 * thread; http/server.c sets it around every call into a handler and clears it after.
 */
static enum log_level min_level = LOG_INFO;
static enum log_format out_format = LOG_FMT_LOGFMT;
static _Thread_local const char *thread_request_id;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_setup(enum log_level level, enum log_format fmt)
{
	min_level = level;
	out_format = fmt;
}

void log_level_raise(enum log_level level)
{
	if (level > min_level)
		min_level = level;
}

bool log_enabled(enum log_level level)
{
	return level >= min_level;
}

void log_set_request_id(const char *id)
{
	thread_request_id = id;
}

bool log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

bool log_format_parse(const char *s, enum log_format *out)
{
	if (strcmp(s, "logfmt") == 0)
		*out = LOG_FMT_LOGFMT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FMT_JSON;
	else
		return false;
	return true;
}

/* A line being built; one write(2) sends it, so lines from threads never interleave. */
struct line {
	char data[4096];
	size_t len;
};

/* Appends to the line, silently cutting what does not fit: a log line must never fail. */
static void put(struct line *l, const char *fmt, ...) ATTR_PRINTF(2, 3);

static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= sizeof(l->data))
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->data + l->len, sizeof(l->data) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n < sizeof(l->data) - l->len ? (size_t)n
							       : sizeof(l->data) - l->len - 1;
}

bool log_due(_Atomic int64_t *last_us, int64_t now_us, int64_t interval_us)
{
	int64_t last = atomic_load(last_us);

	return (last == 0 || now_us - last >= interval_us) &&
	       atomic_compare_exchange_strong(last_us, &last, now_us);
}

/* cp as \uXXXX, or as a JSON surrogate pair \uXXXX\uXXXX above U+FFFF. */
static void put_code_point(struct line *l, unsigned int cp)
{
	if (cp <= 0xffff) {
		put(l, "\\u%04x", cp);
		return;
	}
	cp -= 0x10000;
	put(l, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
}

/*
 * Escapes quotes, backslashes, control characters and the hidden characters (utf8_hidden, as
 * \uXXXX) for both formats, and writes a byte that is not valid UTF-8 (a request path can
 * hold any) as the text \xNN, so that every log line stays valid UTF-8 and valid JSON.
 */
static void put_escaped(struct line *l, const char *s)
{
	for (; *s && l->len + 14 < sizeof(l->data); s++) {
		unsigned char c = (unsigned char)*s;
		size_t n = c >= 0x80 ? utf8_seq_len(s, strnlen(s, 4)) : 1;

		if (n == 0) {
			put(l, "\\\\x%02x", c);
		} else if (n > 1) {
			unsigned int cp = utf8_code_point(s, n);

			if (utf8_hidden(cp)) {
				put_code_point(l, cp);
			} else {
				memcpy(l->data + l->len, s, n);
				l->len += n;
			}
			s += n - 1;
		} else if (c == '"' || c == '\\') {
			l->data[l->len++] = '\\';
			l->data[l->len++] = (char)c;
		} else if (c == '\n') {
			l->data[l->len++] = '\\';
			l->data[l->len++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			put(l, "\\u%04x", c);
		} else {
			l->data[l->len++] = (char)c;
		}
	}
}

/*
 * Writes the whole line, retrying short writes and EINTR.  A failing stderr is ignored: there
 * is nowhere left to report it, and a service must not stop because its log pipe is gone.
 */
static void emit(struct line *l)
{
	const char *p = l->data;
	size_t n;

	if (l->len >= sizeof(l->data) - 2)
		l->len = sizeof(l->data) - 2; /* cut an overlong line, keep its newline */
	l->data[l->len++] = '\n';
	n = l->len;
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere to report a failing stderr */
		p += w;
		n -= (size_t)w;
	}
}

/*
 * The message is formatted first, then escaped into the line, so that quotes or newlines in a
 * value (a client's path, a database error) can never forge a field or a second line.
 */
void log_at(enum log_level level, const char *fmt, ...)
{
	struct line l = {.len = 0};
	char msg[2048];
	char ts[40];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	time_format_utc(time_now_us(), ts, sizeof(ts));
	if (out_format == LOG_FMT_JSON) {
		put(&l, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, level_names[level]);
		if (thread_request_id)
			put(&l, ",\"request_id\":\"%s\"", thread_request_id);
		put(&l, ",\"msg\":\"");
		put_escaped(&l, msg);
		put(&l, "\"}");
	} else {
		put(&l, "ts=%s level=%s", ts, level_names[level]);
		if (thread_request_id)
			put(&l, " request_id=%s", thread_request_id);
		put(&l, " msg=\"");
		put_escaped(&l, msg);
		put(&l, "\"");
	}
	emit(&l);
}
