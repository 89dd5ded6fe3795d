/* Unit tests for internal/base: buffers, time, redaction, checksums. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/timeutil.h"
#include "base/log.h"
#include "base/hash.h"
#include "base/str.h"
#include "base/num.h"
#include "base/redact.h"
#include "base/dburl.h"
#include "base/msum.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static void test_buf_cap(void **state)
{
	struct buf b;
	struct err e = {0};

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_adds(&b, "abcd", &e), ST_OK);
	assert_int_equal(buf_addf(&b, &e, "%d", 123), ST_OK);
	assert_string_equal(b.data, "abcd123");
	assert_int_equal(buf_adds(&b, "xy", &e), ST_TOO_LARGE);
	assert_string_equal(b.data, "abcd123");
	buf_release(&b);
	assert_string_equal(b.data, "");
}

/* buf_addf and buf_xaddf keep every byte of a long piece, with no fixed-size line between. */
static void test_buf_addf_long(void **state)
{
	char piece[3000];
	struct buf b = BUF_INIT, x = BUF_INIT;

	(void)state;
	memset(piece, 'p', sizeof(piece) - 1);
	piece[sizeof(piece) - 1] = '\0';
	assert_int_equal(buf_addf(&b, NULL, "<%s>%d", piece, 7), ST_OK);
	buf_xaddf(&x, "<%s>%d", piece, 7);
	assert_int_equal(x.len, sizeof(piece) + 2);
	assert_string_equal(x.data, b.data);
	buf_xaddf(&x, "%s", "");
	assert_int_equal(x.len, sizeof(piece) + 2);
	buf_xadds(&x, piece);
	assert_int_equal(x.len, 2 * sizeof(piece) + 1);
	assert_memory_equal(x.data + sizeof(piece) + 2, piece, sizeof(piece) - 1);
	buf_release(&b);
	buf_release(&x);
}

static const struct {
	const char *in;
	bool ok;
	const char *canon;
} time_cases[] = {
	{"2026-01-02T03:04:05Z", true, "2026-01-02T03:04:05.000000Z"},
	{"2026-01-02T03:04:05.5Z", true, "2026-01-02T03:04:05.500000Z"},
	{"2026-01-02T05:04:05.123456+02:00", true, "2026-01-02T03:04:05.123456Z"},
	{"2026-01-02 03:04:05.1+00", true, "2026-01-02T03:04:05.100000Z"},
	{"2026-01-02T03:04:05", false, NULL},
	{"2026-13-02T03:04:05Z", false, NULL},
	{"2026-02-31T03:04:05Z", false, NULL},
	{"2024-02-29T00:00:00Z", true, "2024-02-29T00:00:00.000000Z"},
	{"2023-02-29T00:00:00Z", false, NULL},
	{"1900-02-29T00:00:00Z", false, NULL},
	{"2000-02-29T23:59:59.999999Z", true, "2000-02-29T23:59:59.999999Z"},
	{"2026-04-31T00:00:00Z", false, NULL},
	{"2026-12-31T23:59:60Z", true, "2027-01-01T00:00:00.000000Z"},
	{"1969-12-31T23:59:59.5Z", true, "1969-12-31T23:59:59.500000Z"},
	{"yesterday", false, NULL},
	{"", false, NULL},
	/* years 1 to 9999 in UTC: what the canonical form writes and PostgreSQL takes */
	{"0001-01-01T00:00:00Z", true, "0001-01-01T00:00:00.000000Z"},
	{"9999-12-31T23:59:59.999999Z", true, "9999-12-31T23:59:59.999999Z"},
	{"0000-01-01T00:00:00Z", false, NULL},
	{"0001-01-01T00:00:00+01:00", false, NULL},
	{"9999-12-31T23:59:59-23:59", false, NULL},
	{"9999-12-31T23:00:00-01:00", false, NULL},
	{"9999-12-31T23:00:00-00:59", true, "9999-12-31T23:59:00.000000Z"},
};

static void test_time_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(time_cases); i++) {
		char out[TIME_FMT_LEN];
		int64_t us = 0;
		bool ok = time_parse(time_cases[i].in, &us);

		if (ok != time_cases[i].ok)
			fail_msg("case '%s': got %d", time_cases[i].in, ok);
		if (!ok)
			continue;
		time_format_utc(us, out, sizeof(out));
		assert_string_equal(out, time_cases[i].canon);
	}
}

/*
 * A timed wait on a time_mono_cond_init condition variable ends at time_mono_abs's deadline on
 * the monotonic clock: neither at once (a deadline read on the wall clock, decades ahead of
 * the monotonic one, would never come; one far behind would come at once) nor much later.
 */
static void test_time_mono_wait(void **state)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv;
	int64_t start = time_mono_us(), until = start + 50000;
	struct timespec ts = time_mono_abs(until);
	int rc = 0;

	(void)state;
	assert_int_equal(ts.tv_sec, until / 1000000);
	assert_int_equal(ts.tv_nsec, (until % 1000000) * 1000);
	time_mono_cond_init(&cv);
	pthread_mutex_lock(&mu);
	while (rc == 0 && time_mono_us() < until)
		rc = pthread_cond_timedwait(&cv, &mu, &ts);
	pthread_mutex_unlock(&mu);
	assert_true(time_mono_us() >= until);
	assert_true(time_mono_us() - start < 5000000);
	pthread_cond_destroy(&cv);
}

/* The arithmetic formatter agrees with gmtime_r over centuries, leap days and before 1970. */
static void test_time_format(void **state)
{
	(void)state;
	for (int64_t us = -2208988800000000LL; us < 4102444800000000LL;
	     us += 86399999999LL + (us % 7 == 0 ? 3 : 1) * 123457) {
		time_t secs = (time_t)(us / 1000000);
		long frac = (long)(us % 1000000);
		char want[64], got[TIME_FMT_LEN];
		struct tm tm;

		if (frac < 0) {
			frac += 1000000;
			secs -= 1;
		}
		gmtime_r(&secs, &tm);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, frac);
		time_format_utc(us, got, sizeof(got));
		assert_string_equal(got, want);
		if (us >= 0) { /* time_parse takes four-digit years: 1900 and later */
			int64_t back = -1;

			assert_true(time_parse(got, &back));
			assert_int_equal(back, us);
		}
	}
}

/* Each case: a database URL or conninfo string and how redact_url prints it. */
static const char *const redact_cases[][2] = {
	/* nothing to hide */
	{"postgres://u@h/db", "postgres://u@h/db"},
	{"postgresql://h/db?x=1", "postgresql://h/db?x=1"},
	{".cavra/cavra.db", ".cavra/cavra.db"},
	{"sqlite:/var/lib/a=b.db", "sqlite:/var/lib/a=b.db"},
	{"postgres://h/db@x", "postgres://h/db@x"},
	{"postgres://u@h:5432/db", "postgres://u@h:5432/db"},
	/* user:password@ with the characters that cut the old parser short */
	{"postgres://u:secret@h:5432/db", "postgres://u:*****@h:5432/db"},
	{"postgresql://u:p@ss@h/db", "postgresql://u:*****@h/db"},
	{"postgresql://u:a:b@h/db", "postgresql://u:*****@h/db"},
	{"postgresql://u:a/b@h/db", "postgresql://u:*****@h/db"},
	{"postgresql://u:a%40b%2F@h/db", "postgresql://u:*****@h/db"},
	{"postgresql://u:?x@h/db?sslmode=disable", "postgresql://u:*****@h/db?sslmode=disable"},
	{"postgresql://u:@h/db", "postgresql://u:*****@h/db"},
	/* ?password= in any position, any case, with an escaped key or value */
	{"postgresql://h/db?password=secret", "postgresql://h/db?password=*****"},
	{"postgresql://h/db?sslmode=disable&password=s%26x&application_name=a",
	 "postgresql://h/db?sslmode=disable&password=*****&application_name=a"},
	{"postgresql://h/db?user=u&PassWord=secret", "postgresql://h/db?user=u&PassWord=*****"},
	{"postgresql://h/db?pass%77ord=secret", "postgresql://h/db?pass%77ord=*****"},
	{"postgresql://h/db?sslpassword=k&password=",
	 "postgresql://h/db?sslpassword=*****&password=*****"},
	{"postgresql://u:a@h/db?password=b", "postgresql://u:*****@h/db?password=*****"},
	{"postgresql://h/db?a=b:c&password=s@x", "postgresql://h/db?a=b:c&password=*****"},
	/* key=value conninfo: bare, spaced, quoted, with backslash escapes */
	{"host=x password=secret dbname=d", "host=x password=***** dbname=d"},
	{"host=x password = 'se cret' dbname=d", "host=x password = ***** dbname=d"},
	{"password='it\\'s \\\\ x' host=x", "password=***** host=x"},
	{"host=x password=a\\ b port=5", "host=x password=***** port=5"},
	{"host=x\tpassword=s", "host=x\tpassword=*****"},
	{"user=u sslpassword=k password='' host=h",
	 "user=u sslpassword=***** password=***** host=h"},
};

static void test_redact(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(redact_cases); i++) {
		char *got = redact_url(redact_cases[i][0]);

		assert_string_equal(got, redact_cases[i][1]);
		free(got);
	}
}

/* What the store opens and what the configuration compares: one reading of a database URL. */
static void test_dburl(void **state)
{
	static const struct {
		const char *url, *path;
	} cases[] = {
		{"postgres://u@h/db", NULL},
		{"postgresql://h/db", NULL},
		{".cavra/cavra.db", ".cavra/cavra.db"},
		{"/var/lib/a.db", "/var/lib/a.db"},
		{"sqlite:a.db", "a.db"},
		{"sqlite:///var/a.db", "/var/a.db"},
		{"sqlite://a.db", "a.db"},
		{"sqlite:", NULL},
		{"sqlite://", NULL},
		{"mysql://h/db", NULL},
		{"", NULL},
		{"//srv/a.db", "//srv/a.db"},
		/* libpq's keyword form is not a path; names that only start like a keyword are */
		{"host=db port=5432 password=x", NULL},
		{"dbname = cavra", NULL},
		{"sslmode=disable", NULL},
		{"hostname=a.db", "hostname=a.db"},
		{"host.db", "host.db"},
		{"my host=1.db", "my host=1.db"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *got = dburl_sqlite_path(cases[i].url);

		if (cases[i].path)
			assert_string_equal(got, cases[i].path);
		else
			assert_null(got);
		assert_int_equal(dburl_is_postgres(cases[i].url),
				 strncmp(cases[i].url, "postgres", 8) == 0);
	}
}

static void test_scrub(void **state)
{
	char msg[128] = "bad URI \"postgres://u:hunter2@h/db\": hunter2!";

	(void)state;
	scrub_url_password(msg, sizeof(msg), "postgres://u:hunter2@h/db");
	assert_null(strstr(msg, "hunter2"));
	assert_non_null(strstr(msg, "*****"));
}

/* Every form, as written and decoded; a tight buffer and a '*' password. */
static void test_scrub_forms(void **state)
{
	char msg[64] = "x p@ss/1 y se cret z a&b";
	char tight[8] = "abcd pw";
	char stars[32] = "** and **";

	(void)state;
	scrub_url_password(msg, sizeof(msg), "postgresql://u:p%40ss%2F1@h/db");
	scrub_url_password(msg, sizeof(msg), "host=h password='se cret'");
	scrub_url_password(msg, sizeof(msg), "postgres://h/db?password=a%26b");
	assert_string_equal(msg, "x ***** y ***** z *****");
	scrub_url_password(tight, sizeof(tight), "postgres://u:pw@h/db");
	assert_string_equal(tight, "abcd **");
	scrub_url_password(stars, sizeof(stars), "host=h password=**");
	assert_string_equal(stars, "***** and *****");
}

/* libpq quotes the piece of a raw password it could not parse: that piece goes too. */
static void test_scrub_pieces(void **state)
{
	char msg[128] = "invalid percent-encoded token: \"pw22%pw33@h:5/db\"";

	(void)state;
	scrub_url_password(msg, sizeof(msg), "postgresql://u:pw11@pw22%pw33@h:5/db");
	assert_string_equal(msg, "invalid percent-encoded token: \"*****@h:5/db\"");
}

static void test_sha256(void **state)
{
	char hex[SHA256_HEX_LEN];

	(void)state;
	sha256_hex("abc", 3, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* hex_encode's inverse, over its alphabet only. */
/* FNV-1a, 64 bits: the reference's test vectors. */
static void test_fnv1a(void **state)
{
	(void)state;
	assert_true(hash_fnv1a("", 0) == 0xcbf29ce484222325ULL);
	assert_true(hash_fnv1a("a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(hash_fnv1a("foobar", 6) == 0x85944171f73967e8ULL);
}

static void test_hex_decode(void **state)
{
	unsigned char out[4], back[4];
	char hex[9];

	(void)state;
	assert_true(hex_decode("00ff7a10", 4, out));
	assert_int_equal(out[0], 0x00);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(out[2], 0x7a);
	assert_int_equal(out[3], 0x10);
	hex_encode(out, 4, hex);
	assert_true(hex_decode(hex, 4, back));
	assert_memory_equal(out, back, 4);
	assert_true(hex_decode("zz", 0, out));
	assert_false(hex_decode("0G", 1, out));
	assert_false(hex_decode("AB", 1, out));
	assert_false(hex_decode("g0", 1, out));
	assert_false(hex_decode("0/", 1, out));
}

/* Only 0-9 and a-f count, in the first n bytes: what hex_encode writes and the manifests store. */
static void test_hex_is_lower(void **state)
{
	(void)state;
	assert_true(hex_is_lower("0123456789abcdef", 16));
	assert_true(hex_is_lower("", 0));
	assert_true(hex_is_lower("abZ", 2));
	assert_false(hex_is_lower("abZ", 3));
	assert_false(hex_is_lower("ABCDEF", 6));
	assert_false(hex_is_lower("g", 1));
	assert_false(hex_is_lower("/", 1));
	assert_false(hex_is_lower(":", 1));
	assert_false(hex_is_lower("`", 1));
}

/* Byte order with lengths: a prefix first, bytes above 0x7f after ASCII, empty first. */
static void test_bytes_cmp(void **state)
{
	(void)state;
	assert_int_equal(bytes_cmp("ab", 2, "ab", 2), 0);
	assert_int_equal(bytes_cmp("", 0, "", 0), 0);
	assert_true(bytes_cmp("", 0, "a", 1) < 0);
	assert_true(bytes_cmp("ab", 2, "abc", 3) < 0);
	assert_true(bytes_cmp("abc", 3, "ab", 2) > 0);
	assert_true(bytes_cmp("b", 1, "abc", 3) > 0);
	assert_true(bytes_cmp("z", 1, "\xc3\xa9", 2) < 0);
	assert_true(bytes_cmp("a\0b", 3, "a\0c", 3) < 0);
}

static void test_str_to_i64(void **state)
{
	int64_t v;

	(void)state;
	assert_true(str_to_i64("42", 1, 100, &v) && v == 42);
	assert_false(str_to_i64("0", 1, 100, &v));
	assert_false(str_to_i64("4x", 1, 100, &v));
	assert_false(str_to_i64("", 1, 100, &v));
	assert_false(str_to_i64(" 4", 1, 100, &v));
	assert_false(str_to_i64("99999999999999999999", 1, 100, &v));
}

/* What str_fput_printable writes of s, into out. */
static void printable(const char *s, char *out, size_t size)
{
	FILE *f = fmemopen(out, size, "w");

	assert_non_null(f);
	str_fput_printable(f, s);
	fclose(f);
}

static void test_str_fput_printable(void **state)
{
	char out[256], *d;

	(void)state;
	printable("sess-1 \xc3\xa9 \xf0\x9f\x98\x80 a\\b", out, sizeof(out));
	assert_string_equal(out, "sess-1 \xc3\xa9 \xf0\x9f\x98\x80 a\\b");
	/* a cursor move and a line clear, a conceal, a forged line */
	printable("x\x1b[1A\x1b[2K\x1b[8m\nok: \t\x7f", out, sizeof(out));
	assert_string_equal(out, "x\\x1b[1A\\x1b[2K\\x1b[8m\\x0aok: \\x09\\x7f");
	/* C1 controls (CSI as one code point) and the bidirectional overrides and isolates */
	printable("\xc2\x9b"
		  "2J \xc2\xa0 \xe2\x80\xae \xe2\x81\xa6 \xe2\x80\x94",
		  out, sizeof(out));
	assert_string_equal(out, "\\u009b2J \xc2\xa0 \\u202e \\u2066 \xe2\x80\x94");
	/* a lead byte at the end, not a whole sequence */
	printable("a\xe2", out, sizeof(out));
	assert_string_equal(out, "a\xe2");
	printable("a\xe2\x80", out, sizeof(out));
	assert_string_equal(out, "a\xe2\x80");
	/* the same as a string */
	d = str_printable("x\x1b[2K\xe2\x80\xae\xc2\x85!");
	assert_string_equal(d, "x\\x1b[2K\\u202e\\u0085!");
	free(d);
}

/* One event is one line, escaped, whatever the message holds. */
static void test_log_line(void **state)
{
	char path[] = "/tmp/cavra-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	char buf[512] = {0};
	ssize_t n;

	(void)state;
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, STDERR_FILENO);
	log_setup(LOG_INFO, LOG_FMT_JSON);
	log_set_request_id("req_1");
	log_info("say \"hi\"\nand\\bye\x01 path=/s/\xc0\xaf\xc3\xa9 "
		 "/a\xe2\x80\xaegpj.exe\xe2\x80\x8b\xc2\x85\xe2\x80\xa8\xe2\x81\xa6."
		 /* a tag character (U+E0041), a Hangul filler, an emoji kept as it is */
		 "\xf3\xa0\x81\x81\xe3\x85\xa4\xf0\x9f\x98\x80");
	log_debug("not shown");
	log_set_request_id(NULL);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "\"request_id\":\"req_1\",\"msg\":\"say \\\"hi\\\"\\nand"
				    "\\\\bye\\u0001 path=/s/\\\\xc0\\\\xaf\xc3\xa9 /a\\u202egpj.exe"
				    "\\u200b\\u0085\\u2028\\u2066.\\udb40\\udc41\\u3164"
				    "\xf0\x9f\x98\x80\"}\n"));
	assert_int_equal(strchr(buf, '\n') - buf + 1, n); /* exactly one line */
	log_setup(LOG_INFO, LOG_FMT_LOGFMT);
}

/* A line said at most once per interval: the first call, then not before the interval is out. */
static void test_log_due(void **state)
{
	_Atomic int64_t last = 0;

	(void)state;
	assert_true(log_due(&last, 5, 10)); /* never said: due even at a small monotonic time */
	assert_false(log_due(&last, 14, 10));
	assert_true(log_due(&last, 15, 10));
	assert_int_equal(atomic_load(&last), 15);
	assert_false(log_due(&last, 15, 10));
}

/*
 * err_ctx passes the status it is given on, whether or not there is a struct err to fill:
 * err_wrap used to return e->code, so with e == NULL a failed connection became ST_OK.
 */
static void test_err_ctx(void **state)
{
	struct err e = {0};

	(void)state;
	assert_int_equal(err_ctx(ST_IO, NULL, "open '%s'", "x.db"), ST_IO);
	assert_int_equal(err_ctx(ST_OK, NULL, "open"), ST_OK);
	assert_int_equal(err_ctx(ST_OK, &e, "open"), ST_OK);
	assert_string_equal(e.msg, ""); /* nothing to add context to */
	err_set(&e, ST_UNAVAILABLE, "disk full");
	assert_int_equal(err_ctx(ST_UNAVAILABLE, &e, "open '%s'", "x.db"), ST_UNAVAILABLE);
	assert_string_equal(e.msg, "open 'x.db': disk full");
	assert_int_equal(e.code, ST_UNAVAILABLE);
	err_clear(&e);
	assert_int_equal(err_ctx(ST_IO, &e, "copy"), ST_IO); /* e not set below: code follows */
	assert_int_equal(e.code, ST_IO);
	err_wrap(NULL, "nothing happens");
}

/* (id, hash) as the audit check sums it: the id's length, the id, the hash. */
static void add_pair(struct msum_key *k, struct msum *s, const char *id, const char *hash)
{
	const unsigned char be[4] = {0, 0, 0, (unsigned char)strlen(id)};
	const void *p[3] = {be, id, hash};
	const size_t len[3] = {sizeof(be), strlen(id), strlen(hash)};

	msum_add(k, s, p, len, 3);
}

/* The same pairs in any order sum alike; a changed, missing, repeated or moved one does not. */
static void test_msum(void **state)
{
	static const char *const id[] = {"d1", "d2", "d3"}, *const h[] = {"aa", "bb", "cc"};
	struct msum_key k, k2;
	struct msum a = {0}, b = {0}, c = {0}, d = {0}, x = {0}, y = {0};

	(void)state;
	assert_true(msum_key_init(&k));
	assert_true(msum_key_init(&k2));
	assert_true(msum_equal(&k, &a, &b)); /* two empty sums */
	for (int i = 0; i < 3; i++)
		add_pair(&k, &a, id[i], h[i]);
	for (int i = 2; i >= 0; i--)
		add_pair(&k, &b, id[i], h[i]);
	assert_true(msum_equal(&k, &a, &b));
	assert_int_equal(a.n, 3);
	add_pair(&k, &c, id[0], h[0]); /* d2's hash changed */
	add_pair(&k, &c, id[1], "bc");
	add_pair(&k, &c, id[2], h[2]);
	assert_false(msum_equal(&k, &a, &c));
	add_pair(&k, &d, id[0], h[1]); /* the hashes of d1 and d2 swapped */
	add_pair(&k, &d, id[1], h[0]);
	add_pair(&k, &d, id[2], h[2]);
	assert_false(msum_equal(&k, &a, &d));
	add_pair(&k, &x, id[0], h[0]); /* d3 missing, d1 twice: same count */
	add_pair(&k, &x, id[0], h[0]);
	add_pair(&k, &x, id[1], h[1]);
	assert_false(msum_equal(&k, &a, &x));
	add_pair(&k2, &y, id[0], h[0]); /* another key: another sum of the same pairs */
	add_pair(&k2, &y, id[1], h[1]);
	add_pair(&k2, &y, id[2], h[2]);
	assert_false(a.v[0] == y.v[0] && a.v[1] == y.v[1]);
	x = a; /* the same sum with one element less in its count */
	x.n--;
	assert_false(msum_equal(&k, &a, &x));
	msum_key_release(&k2);
	msum_key_release(&k);
	assert_false(msum_equal(&k, &a, &b)); /* a released key trusts no sum */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_buf_addf_long),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_time_mono_wait),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_dburl),

		cmocka_unit_test(test_scrub),
		cmocka_unit_test(test_scrub_forms),
		cmocka_unit_test(test_scrub_pieces),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_hex_decode),
		cmocka_unit_test(test_fnv1a),
		cmocka_unit_test(test_msum),
		cmocka_unit_test(test_hex_is_lower),
		cmocka_unit_test(test_str_to_i64),
		cmocka_unit_test(test_log_line),
		cmocka_unit_test(test_str_fput_printable),
		cmocka_unit_test(test_log_due),
		cmocka_unit_test(test_bytes_cmp),
		cmocka_unit_test(test_err_ctx),
	};

	return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
