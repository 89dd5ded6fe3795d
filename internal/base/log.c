#include "base/base.h"
#include "base/log.h"
#include "base/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level min_level = LOG_INFO;
static enum log_format out_format = LOG_FMT_LOGFMT;
static _Thread_local const char *thread_request_id;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_setup(enum log_level level, enum log_format fmt)
{
	min_level = level;
	out_format = fmt;
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

/* Escapes quotes, backslashes and control characters for both formats. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

void log_at(enum log_level level, const char *fmt, ...)
{
	char msg[2048];
	char ts[40];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	time_format_utc(time_now_us(), ts, sizeof(ts));
	flockfile(stderr);
	if (out_format == LOG_FMT_JSON) {
		fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, level_names[level]);
		if (thread_request_id)
			fprintf(stderr, ",\"request_id\":\"%s\"", thread_request_id);
		fputs(",\"msg\":\"", stderr);
		put_escaped(stderr, msg);
		fputs("\"}\n", stderr);
	} else {
		fprintf(stderr, "ts=%s level=%s", ts, level_names[level]);
		if (thread_request_id)
			fprintf(stderr, " request_id=%s", thread_request_id);
		fputs(" msg=\"", stderr);
		put_escaped(stderr, msg);
		fputs("\"\n", stderr);
	}
	funlockfile(stderr);
}
