/*
 * ops_testutil.h - helpers shared by the ops unit tests only (include after cmocka.h).
 */
#ifndef CAVRA_OPS_TESTUTIL_H
#define CAVRA_OPS_TESTUTIL_H

#include "base/base.h"
#include "base/buf.h"
#include "ops/ops.h"

#include <string.h>

/* The kinds of rep's problems joined by ','; releases rep.  Caller frees the string. */
static inline char *ops_test_report_kinds(struct ops_report *rep)
{
	struct buf b;

	buf_init(&b, 1 << 16);
	for (size_t i = 0; i < rep->n; i++)
		assert_int_equal(buf_addf(&b, NULL, "%s%s", i ? "," : "", rep->items[i].kind),
				 ST_OK);
	ops_report_release(rep);
	return buf_detach(&b, NULL);
}

/*
 * Defines kinds_of(text, out) for a manifest parser (cavra's or the
 * original's): parses text, leaves the result in *out (or frees it when out
 * is NULL) and returns the problems' kinds joined by ','.  Caller frees.
 */
#define OPS_TEST_DEFINE_KINDS_OF(type, parse, free_fn)      \
	static char *kinds_of(const char *text, type **out) \
	{                                                   \
		struct ops_report rep = {0};                \
		type *m = NULL;                             \
                                                            \
		parse(text, strlen(text), &m, &rep);        \
		if (out)                                    \
			*out = m;                           \
		else                                        \
			free_fn(m);                         \
		return ops_test_report_kinds(&rep);         \
	}

/* Fails the test unless text holds each of the strings that follow. */
#define OPS_TEST_HAS_ALL(text, ...) \
	ops_test_has_all((text), (const char *const[]){__VA_ARGS__, NULL})

static inline void ops_test_has_all(const char *text, const char *const *parts)
{
	for (size_t i = 0; parts[i]; i++)
		if (!strstr(text, parts[i]))
			fail_msg("'%s' not in:\n%s", parts[i], text);
}

#endif
