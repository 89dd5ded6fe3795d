/*
 * timeutil.c - the clock and the one timestamp text cavra stores: UTC
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ", fixed width, so that text order is time order in both SQLite
 * (which compares TEXT) and the backups.  Formatting and parsing are done by hand: gmtime_r
 * and strptime take the time zone lock or depend on the locale, and a backup formats millions
 * of times.  The wall clock can be replaced for tests; the monotonic one is for durations and
 * deadlines only, never stored.
 */
#include "base/base.h"
#include "base/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Installed by tests before any thread starts; NULL means the real clock. */
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

void time_mono_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
}

struct timespec time_mono_abs(int64_t until_us)
{
	return (struct timespec){.tv_sec = (time_t)(until_us / 1000000),
				 .tv_nsec = (long)(until_us % 1000000) * 1000};
}

/* Writes v as exactly n decimal digits ending at p[n - 1]. */
static void put_digits(char *p, long v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/*
 * The proleptic Gregorian date of a day number (days since 1970-01-01),
 * by counting 400-year eras that start on March 1st: pure arithmetic, so a
 * backup formatting millions of times takes no locks (glibc's gmtime_r
 * takes the time zone lock even for UTC) and no printf.
 */
static void civil_from_days(int64_t z, long *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (long)(yoe + era * 400 + (*m <= 2));
}

void time_format_utc(int64_t us, char *out, size_t size)
{
	int64_t secs = us / 1000000, days, rem;
	long frac = (long)(us % 1000000), year;
	char tmp[TIME_FMT_LEN];
	int month, day;

	if (frac < 0) {
		frac += 1000000;
		secs -= 1;
	}
	days = secs / 86400;
	rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days -= 1;
	}
	civil_from_days(days, &year, &month, &day);
	if (year < 0 || year > 9999) {
		snprintf(out, size, "%04ld-%02d-%02dT%02d:%02d:%02d.%06ldZ", year, month, day,
			 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), frac);
		return;
	}
	memcpy(tmp, "0000-00-00T00:00:00.000000Z", TIME_FMT_LEN);
	put_digits(tmp, year, 4);
	put_digits(tmp + 5, month, 2);
	put_digits(tmp + 8, day, 2);
	put_digits(tmp + 11, (long)(rem / 3600), 2);
	put_digits(tmp + 14, (long)(rem / 60 % 60), 2);
	put_digits(tmp + 17, (long)(rem % 60), 2);
	put_digits(tmp + 20, frac, 6);
	if (size >= TIME_FMT_LEN) {
		memcpy(out, tmp, TIME_FMT_LEN);
	} else if (size > 0) {
		memcpy(out, tmp, size - 1);
		out[size - 1] = '\0';
	}
}

/* Exactly n digits: a short or signed field is a malformed time, not a smaller number. */
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

/*
 * Any number of fractional digits is accepted (PostgreSQL sends up to 6, other systems more)
 * but only microseconds are kept: the stored form has six digits, so more would not round-trip.
 */
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

/* "Z", "+HH", "+HHMM" or "+HH:MM": PostgreSQL prints "+00", RFC 3339 requires the colon. */
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

/* Days since 1970-01-01 of a proleptic Gregorian date (the inverse of civil_from_days). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Rejecting 2026-02-30 here keeps a bad date from being normalised into March. */
static int days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

static bool parse_time(const char *s, bool ranged, int64_t *us)
{
	int y, mo, d, h, mi, sec, off;
	const char *p = s;
	int64_t secs;
	long frac;

	if (!take_digits(&p, 4, &y) || !take_char(&p, "-") || !take_digits(&p, 2, &mo) ||
	    !take_char(&p, "-") || !take_digits(&p, 2, &d) || !take_char(&p, "Tt ") ||
	    !take_digits(&p, 2, &h) || !take_char(&p, ":") || !take_digits(&p, 2, &mi) ||
	    !take_char(&p, ":") || !take_digits(&p, 2, &sec))
		return false;
	if (!parse_fraction(&p, &frac) || !parse_offset(&p, &off) || *p)
		return false;
	/* a leap second (60) counts as the first second of the next minute */
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
		return false;
	secs = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
	secs -= off;
	/*
	 * In UTC, from year 1 to year 9999: what the canonical form can write (a year of four
	 * digits) and PostgreSQL's timestamptz takes; "0000-01-01T00:00:00Z" was a 500 there, and
	 * "9999-12-31T23:59:59-23:59" was written as "10000-01-01T23:58:59.000000" with no zone.
	 */
	if (ranged && (secs < days_from_civil(1, 1, 1) * 86400 ||
		       secs >= days_from_civil(10000, 1, 1) * 86400))
		return false;
	*us = secs * 1000000 + frac;
	return true;
}

bool time_parse(const char *s, int64_t *us)
{
	return parse_time(s, true, us);
}

bool time_parse_stored(const char *s, int64_t *us)
{
	return parse_time(s, false, us);
}
