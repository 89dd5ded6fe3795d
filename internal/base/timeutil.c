#include "base/base.h"
#include "base/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static clock_now_fn clock_fn;

static int64_t real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_now_us(void)
{
	return clock_fn ? clock_fn() : real_now();
}

void time_set_clock(clock_now_fn fn)
{
	clock_fn = fn;
}

int64_t time_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void time_format_utc(int64_t us, char *out, size_t size)
{
	time_t secs = (time_t)(us / 1000000);
	long frac = (long)(us % 1000000);
	struct tm tm;

	if (frac < 0) {
		frac += 1000000;
		secs -= 1;
	}
	gmtime_r(&secs, &tm);
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static bool take_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool take_char(const char **p, const char *set)
{
	if (**p && strchr(set, **p)) {
		(*p)++;
		return true;
	}
	return false;
}

static bool parse_fraction(const char **p, long *frac)
{
	long v = 0;
	int digits = 0;

	*frac = 0;
	if (**p != '.')
		return true;
	(*p)++;
	while (isdigit((unsigned char)**p)) {
		if (digits < 6) {
			v = v * 10 + (**p - '0');
			digits++;
		}
		(*p)++;
	}
	if (digits == 0)
		return false;
	while (digits++ < 6)
		v *= 10;
	*frac = v;
	return true;
}

static bool parse_offset(const char **p, int *offset_s)
{
	int sign, hh, mm = 0;

	*offset_s = 0;
	if (take_char(p, "Zz"))
		return true;
	if (**p != '+' && **p != '-')
		return false;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (!take_digits(p, 2, &hh))
		return false;
	take_char(p, ":");
	if (isdigit((unsigned char)**p) && !take_digits(p, 2, &mm))
		return false;
	if (hh > 23 || mm > 59)
		return false;
	*offset_s = sign * (hh * 3600 + mm * 60);
	return true;
}

bool time_parse(const char *s, int64_t *us)
{
	int y, mo, d, h, mi, sec, off;
	const char *p = s;
	struct tm tm = {0};
	long frac;
	time_t t;

	if (!take_digits(&p, 4, &y) || !take_char(&p, "-") || !take_digits(&p, 2, &mo) ||
	    !take_char(&p, "-") || !take_digits(&p, 2, &d) || !take_char(&p, "Tt ") ||
	    !take_digits(&p, 2, &h) || !take_char(&p, ":") || !take_digits(&p, 2, &mi) ||
	    !take_char(&p, ":") || !take_digits(&p, 2, &sec))
		return false;
	if (!parse_fraction(&p, &frac) || !parse_offset(&p, &off) || *p)
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises 31 February into March: refuse dates that moved */
	if (tm.tm_mday != d || tm.tm_mon != mo - 1 || tm.tm_year != y - 1900)
		return false;
	*us = ((int64_t)t - off) * 1000000 + frac;
	return true;
}
