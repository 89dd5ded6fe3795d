/*
 * ops_testutil.h - helpers shared by the ops unit tests only (include after cmocka.h).
 */
#ifndef CAVRA_OPS_TESTUTIL_H
#define CAVRA_OPS_TESTUTIL_H

#include "base/base.h"
#include "base/buf.h"
#include "ops/ops.h"

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

#endif
