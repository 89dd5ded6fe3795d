/* Unit tests for `ops verify`'s check of the sessions' counters against the decision lines
 * (ops_vcount.c) and the numbered key set it stands on (ops_ktab.c): lines handed in as the
 * verify pass splits them, without files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/base_testutil.h"
#include "ops/ops_int.h"

static char *dec_cols[] = {STR_RW("decision"), STR_RW("decision_id"), STR_RW("session_id")};
static char *ses_cols[] = {STR_RW("approval_required_count"), STR_RW("blocked_count"),
			   STR_RW("decision_count"), STR_RW("session_id")};
/* file-scope, so that they outlive setup() */
static char dec_table[] = "activity_decisions", ses_table[] = "activity_sessions";
static char dec_path[] = "d.jsonl", ses_path[] = "s.jsonl";

struct fixture {
	struct ops_manifest_file files[2];
	struct ops_manifest m;
	struct ops_report rep;
	struct ops_verify_counters out;
	struct ops_vcount *v;
};

static void setup(struct fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	fx->files[0] = (struct ops_manifest_file){.table = dec_table,
						  .path = dec_path,
						  .columns = dec_cols,
						  .ncolumns = ARRAY_SIZE(dec_cols),
						  .usable = true};
	fx->files[1] = (struct ops_manifest_file){.table = ses_table,
						  .path = ses_path,
						  .columns = ses_cols,
						  .ncolumns = ARRAY_SIZE(ses_cols),
						  .usable = true};
	fx->m.files = fx->files;
	fx->m.nfiles = 2;
	fx->v = ops_vcount_new(&fx->m, &fx->rep, &fx->out);
	assert_non_null(fx->v);
}

/* One line of file i, split by its columns as the verify pass does. */
static void line(struct fixture *fx, size_t i, const char *text)
{
	const struct ops_manifest_file *f = &fx->files[i];
	struct ops_span spans[OPS_LINE_KEYS_MAX];
	struct ops_line_keys k;
	const char *why = NULL;

	ops_line_keys_init(&k, (const char *const *)f->columns, f->ncolumns);
	assert_true(ops_line_split(text, strlen(text), &k, spans, &why));
	ops_vcount_line(fx->v, f, spans);
}

static void decision(struct fixture *fx, const char *id, const char *sid, const char *what)
{
	char text[256];

	snprintf(text, sizeof(text),
		 "{\"decision\":\"%s\",\"decision_id\":\"%s\","
		 "\"session_id\":\"%s\"}",
		 what, id, sid);
	line(fx, 0, text);
}

static void session(struct fixture *fx, const char *sid, int n, int b, int a)
{
	char text[256];

	snprintf(text, sizeof(text),
		 "{\"approval_required_count\":%d,\"blocked_count\":%d,\"decision_count\":%d,"
		 "\"session_id\":\"%s\"}",
		 a, b, n, sid);
	line(fx, 1, text);
}

static void end(struct fixture *fx, bool dec_clean, bool ses_clean)
{
	ops_vcount_read(fx->v, &fx->files[0], dec_clean);
	ops_vcount_read(fx->v, &fx->files[1], ses_clean);
	ops_vcount_end(fx->v);
	ops_vcount_free(fx->v);
}

/* s1: 3 decisions (1 blocked, 1 for approval), s2: 1; sessions' lines in either order. */
static void three_sessions(struct fixture *fx)
{
	session(fx, "s2", 1, 0, 0);
	decision(fx, "d1", "s1", "block");
	decision(fx, "d2", "s1", "allow");
	decision(fx, "d3", "s2", "warn");
	decision(fx, "d4", "s1", "require_approval");
	session(fx, "s3", 7, 7, 0); /* no decision line: a summary, not compared */
}

static void test_counters_that_match(void **state)
{
	struct fixture fx;

	UNUSED(state);
	setup(&fx);
	three_sessions(&fx);
	session(&fx, "s1", 3, 1, 1);
	end(&fx, true, true);
	assert_true(fx.out.present && fx.out.checked);
	assert_int_equal(fx.out.sessions, 2);
	assert_int_equal(fx.out.differ, 0);
	assert_int_equal(fx.rep.n, 0);
	ops_report_release(&fx.rep);
}

static void test_counters_edited_and_a_session_missing(void **state)
{
	struct fixture fx;

	UNUSED(state);
	setup(&fx);
	three_sessions(&fx);
	decision(&fx, "d5", "s9", "block"); /* s9 has no line */
	session(&fx, "s1", 3, 0, 1);
	end(&fx, true, true);
	assert_true(fx.out.checked);
	assert_int_equal(fx.out.differ, 2);
	assert_int_equal(fx.rep.n, 2);
	/* in the order the sessions were first met */
	assert_string_equal(fx.rep.items[0].kind, "session_counters");
	assert_string_equal(fx.rep.items[0].path, "s.jsonl");
	assert_string_equal(fx.rep.items[0].msg,
			    "session s1: counters 3/0/1 (decisions/blocked/approvals required) "
			    "differ from its decision lines' 3/1/1: edited");
	assert_string_equal(fx.rep.items[1].msg,
			    "session s9: no line, though 1 decision lines name it: deleted");
	ops_report_release(&fx.rep);
}

static void test_an_unclean_file_is_not_checked(void **state)
{
	struct fixture fx;

	UNUSED(state);
	setup(&fx);
	three_sessions(&fx);
	session(&fx, "s1", 0, 0, 0);
	end(&fx, true, false);
	assert_false(fx.out.checked);
	assert_non_null(fx.out.why_not);
	assert_int_equal(fx.rep.n, 0);
	ops_report_release(&fx.rep);
}

static void test_a_file_lacking_a_column(void **state)
{
	struct fixture fx;

	UNUSED(state);
	setup(&fx);
	ops_vcount_free(fx.v);
	fx.files[1].ncolumns = 3; /* no session_id */
	assert_null(ops_vcount_new(&fx.m, &fx.rep, &fx.out));
	assert_true(fx.out.present);
	assert_non_null(fx.out.why_not);
	fx.files[1].usable = false;
	assert_null(ops_vcount_new(&fx.m, &fx.rep, &fx.out));
	assert_false(fx.out.present);
}

static void test_keys_numbered_in_order(void **state)
{
	struct ops_ktab *t = ops_ktab_new(sizeof(int));
	char key[32];
	size_t len;
	bool added;

	UNUSED(state);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(ops_ktab_put(t, key, strlen(key), &added), (size_t)i);
		assert_true(added);
		assert_int_equal(*(int *)ops_ktab_value(t, (size_t)i), 0); /* zeroed */
		*(int *)ops_ktab_value(t, (size_t)i) = i + 1;
	}
	assert_int_equal(ops_ktab_put(t, "k42", 3, &added), 42);
	assert_false(added);
	assert_int_equal(*(int *)ops_ktab_value(t, 42), 43); /* kept through the growth */
	/* keys are bytes: one with a NUL inside is its own */
	assert_int_equal(ops_ktab_put(t, "k4\0002", 4, &added), 5000);
	assert_true(added);
	assert_int_equal(ops_ktab_count(t), 5001);
	assert_string_equal(ops_ktab_key(t, 4999, &len), "k4999");
	assert_int_equal(len, 5);
	ops_ktab_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_that_match),
		cmocka_unit_test(test_counters_edited_and_a_session_missing),
		cmocka_unit_test(test_an_unclean_file_is_not_checked),
		cmocka_unit_test(test_a_file_lacking_a_column),
		cmocka_unit_test(test_keys_numbered_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
