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
/* with the descriptions' columns, and the chain's and its head's files */
static char *ddec_cols[] = {STR_RW("actor"),	   STR_RW("agent_id"),	  STR_RW("decision"),
			    STR_RW("decision_id"), STR_RW("policy_pack"), STR_RW("repository"),
			    STR_RW("session_id")};
static char *dses_cols[] = {
	STR_RW("actor"),	 STR_RW("agent_id"),	STR_RW("approval_required_count"),
	STR_RW("blocked_count"), STR_RW("created_at"),	STR_RW("decision_count"),
	STR_RW("payload"),	 STR_RW("policy_pack"), STR_RW("repository"),
	STR_RW("session_id"),	 STR_RW("started_at"),	STR_RW("state")};
static char *chain_cols[] = {STR_RW("kind"), STR_RW("record_id"), STR_RW("seq")};
static char *head_cols[] = {STR_RW("id"), STR_RW("sessions_pending")};
/* file-scope, so that they outlive setup() */
static char dec_table[] = "activity_decisions", ses_table[] = "activity_sessions";
static char chain_table[] = "audit_chain", head_table[] = "audit_chain_head";
static char dec_path[] = "d.jsonl", ses_path[] = "s.jsonl";
static char chain_path[] = "c.jsonl", head_path[] = "h.jsonl";

struct fixture {
	struct ops_manifest_file files[4];
	struct ops_manifest m;
	struct ops_report rep;
	struct ops_verify_counters out;
	struct ops_vcount *v;
};

static struct ops_manifest_file file_of(char *table, char *path, char **cols, size_t n)
{
	return (struct ops_manifest_file){
		.table = table, .path = path, .columns = cols, .ncolumns = n, .usable = true};
}

/* The check over the first n of fx's files. */
static void open_check(struct fixture *fx, size_t n)
{
	fx->m.files = fx->files;
	fx->m.nfiles = n;
	fx->v = ops_vcount_new(&fx->m, &fx->rep, &fx->out);
	assert_non_null(fx->v);
}

/* Two files, without the descriptions' columns: only the counters are compared. */
static void setup(struct fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	fx->files[0] = file_of(dec_table, dec_path, dec_cols, ARRAY_SIZE(dec_cols));
	fx->files[1] = file_of(ses_table, ses_path, ses_cols, ARRAY_SIZE(ses_cols));
	open_check(fx, 2);
}

/* Four files: the descriptions are compared. */
static void setup_described(struct fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	fx->files[0] = file_of(dec_table, dec_path, ddec_cols, ARRAY_SIZE(ddec_cols));
	fx->files[1] = file_of(ses_table, ses_path, dses_cols, ARRAY_SIZE(dses_cols));
	fx->files[2] = file_of(chain_table, chain_path, chain_cols, ARRAY_SIZE(chain_cols));
	fx->files[3] = file_of(head_table, head_path, head_cols, ARRAY_SIZE(head_cols));
	open_check(fx, 4);
	for (size_t i = 0; i < 4; i++)
		assert_true(ops_vcount_reads(fx->v, &fx->files[i]));
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

/* A decision of session sid by agent and in repository (NULL: null), actor and pack fixed. */
static void ddecision(struct fixture *fx, const char *id, const char *sid, const char *agent,
		      const char *repo)
{
	char text[512], a[64] = "null", r[64] = "null";

	if (agent)
		snprintf(a, sizeof(a), "\"%s\"", agent);
	if (repo)
		snprintf(r, sizeof(r), "\"%s\"", repo);
	snprintf(text, sizeof(text),
		 "{\"actor\":\"dev@example.com\",\"agent_id\":%s,\"decision\":\"allow\","
		 "\"decision_id\":\"%s\",\"policy_pack\":\"base\",\"repository\":%s,"
		 "\"session_id\":\"%s\"}",
		 a, id, r, sid);
	line(fx, 0, text);
}

/* A session of n decisions as a decision's write leaves it (payload {}) unless payload given. */
static void dsession(struct fixture *fx, const char *sid, int n, const char *agent,
		     const char *repo, const char *payload)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "{\"actor\":\"dev@example.com\",\"agent_id\":\"%s\","
		 "\"approval_required_count\":0,\"blocked_count\":0,"
		 "\"created_at\":\"2026-12-07T10:00:00.000000Z\",\"decision_count\":%d,"
		 "\"payload\":%s,\"policy_pack\":\"base\",\"repository\":\"%s\","
		 "\"session_id\":\"%s\",\"started_at\":\"2026-12-07T10:00:00.000000Z\","
		 "\"state\":\"active\"}",
		 agent, n, payload ? payload : "{}", repo, sid);
	line(fx, 1, text);
}

static void entry(struct fixture *fx, const char *kind, const char *id, int seq)
{
	char text[256];

	snprintf(text, sizeof(text), "{\"kind\":\"%s\",\"record_id\":\"%s\",\"seq\":%d}", kind, id,
		 seq);
	line(fx, 2, text);
}

static void head(struct fixture *fx, int pending)
{
	char text[64];

	snprintf(text, sizeof(text), "{\"id\":1,\"sessions_pending\":%d}", pending);
	line(fx, 3, text);
}

static void end_all(struct fixture *fx)
{
	for (size_t i = 0; i < 4; i++)
		ops_vcount_read(fx->v, &fx->files[i], true);
	ops_vcount_end(fx->v);
	ops_vcount_free(fx->v);
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

/*
 * s1's decisions name agent a1 then a2 (a second value, kept in the set of others) and repo
 * r1 (a null first); s2 was imported in that shape and has an entry: not compared.
 */
static void described_lines(struct fixture *fx, const char *s1_agent, const char *s1_repo)
{
	ddecision(fx, "d1", "s1", "a1", NULL);
	ddecision(fx, "d2", "s1", "a2", "r1");
	dsession(fx, "s1", 3, s1_agent, s1_repo, NULL);
	ddecision(fx, "d3", "s1", "a1", "r1");
	dsession(fx, "s2", 1, "other", "other", NULL);
	ddecision(fx, "d4", "s2", "a9", "r9");
	entry(fx, "decision", "d1", 1);
	entry(fx, "session", "s2", 2);
	dsession(fx, "s3", 1, "a3", "x", "{\"recorded_by\":\"k\"}"); /* not as decisions leave it */
	ddecision(fx, "d5", "s3", "a3", "r3");
	head(fx, 0);
}

static void test_descriptions_that_match(void **state)
{
	struct fixture fx;

	UNUSED(state);
	setup_described(&fx);
	described_lines(&fx, "a2", "r1");
	end_all(&fx);
	assert_true(fx.out.checked && fx.out.described);
	assert_null(fx.out.describe_why_not);
	assert_int_equal(fx.out.sessions, 3);
	assert_int_equal(fx.out.differ, 0);
	assert_int_equal(fx.out.decision_made, 1);
	assert_int_equal(fx.out.undescribed, 0);
	assert_int_equal(fx.rep.n, 0);
	ops_report_release(&fx.rep);
}

static void test_a_description_edited(void **state)
{
	struct fixture fx;

	UNUSED(state);
	setup_described(&fx);
	described_lines(&fx, "a1", "acme/elsewhere");
	end_all(&fx);
	assert_true(fx.out.described);
	assert_int_equal(fx.out.undescribed, 1);
	assert_int_equal(fx.rep.n, 1);
	assert_string_equal(fx.rep.items[0].kind, "session_description");
	assert_string_equal(fx.rep.items[0].path, "s.jsonl");
	assert_string_equal(fx.rep.items[0].msg,
			    "session s1: its repository 'acme/elsewhere' is none of its decision "
			    "lines', though its decisions described it: edited");
	ops_report_release(&fx.rep);
}

/*
 * A session its evidence started (started_by, no recorded_by) has an entry that hashes its
 * description as NULL: its decisions gave that description, and it is compared with theirs.
 * One that names who recorded it keeps its own.
 */
static void test_an_evidence_started_description_edited(void **state)
{
	static const char started[] = "{\"started_by\":{\"kind\":\"local\"}}";
	struct fixture fx;

	UNUSED(state);
	setup_described(&fx);
	ddecision(&fx, "d1", "s1", "a1", "r1");
	dsession(&fx, "s1", 1, "a1", "elsewhere", started);
	ddecision(&fx, "d2", "s2", "a2", "r2");
	dsession(&fx, "s2", 1, "a2", "r2", started);
	ddecision(&fx, "d3", "s3", "a3", "r3");
	dsession(&fx, "s3", 1, "x", "y", "{\"recorded_by\":{},\"started_by\":{}}");
	for (int i = 1; i <= 3; i++)
		entry(&fx, "session", i == 1 ? "s1" : i == 2 ? "s2" : "s3", i);
	head(&fx, 0);
	end_all(&fx);
	assert_true(fx.out.described);
	assert_int_equal(fx.out.decision_made, 2);
	assert_int_equal(fx.out.undescribed, 1);
	assert_int_equal(fx.rep.n, 1);
	assert_string_equal(
		fx.rep.items[0].msg,
		"session s1: its repository 'elsewhere' is none of its decision lines', "
		"though its decisions described it: edited");
	ops_report_release(&fx.rep);
}

static void test_descriptions_not_compared(void **state)
{
	struct fixture fx;

	UNUSED(state);
	/* sessions waiting for an adoption: no session has an entry yet */
	setup_described(&fx);
	ddecision(&fx, "d1", "s1", "a1", "r1");
	dsession(&fx, "s1", 1, "a1", "edited", NULL);
	head(&fx, 1);
	end_all(&fx);
	assert_true(fx.out.checked);
	assert_false(fx.out.described);
	assert_non_null(fx.out.describe_why_not);
	assert_int_equal(fx.rep.n, 0);
	/* a backup without the chain's files */
	setup(&fx);
	three_sessions(&fx);
	session(&fx, "s1", 3, 1, 1);
	end(&fx, true, true);
	assert_true(fx.out.checked);
	assert_false(fx.out.described);
	assert_string_equal(fx.out.describe_why_not,
			    "the backup predates the sessions' audit chain");
	ops_report_release(&fx.rep);
}

/* The restore's way in: decoded values, a column the table lacks passed as absent. */
static void test_values_from_a_restore(void **state)
{
	const struct ops_vtext none = {NULL, 0}, gone = {NULL, OPS_VTEXT_ABSENT};
	struct ops_vtext dec[6] = {{"s1", 2},  {"block", 5}, {"a1", 2},
				   {"dev", 3}, {"r1", 2},    {"p", 1}};
	struct ops_vtext ses[12] = {{"s1", 2}, {"1", 1},      {"1", 1},	 {"0", 1},
				    {"a1", 2}, none,	      {"r2", 2}, {"p", 1},
				    {"{}", 2}, {"active", 6}, {"t0", 2}, {"t0", 2}};
	struct ops_vtext ent[2] = {{"decision", 8}, {"d1", 2}}, hd[1] = {{"0", 1}};
	struct fixture fx;
	size_t n;

	UNUSED(state);
	setup_described(&fx);
	assert_int_equal(ops_vcount_columns(fx.v, "activity_sessions", &n)[6] != NULL, 1);
	assert_int_equal(n, 12);
	assert_null(ops_vcount_columns(fx.v, "approvals", &n));
	assert_int_equal(n, 0);
	ops_vcount_values(fx.v, "activity_decisions", dec);
	ops_vcount_values(fx.v, "activity_sessions", ses);
	ops_vcount_values(fx.v, "audit_chain", ent);
	ops_vcount_values(fx.v, "audit_chain_head", hd);
	end_all(&fx);
	assert_int_equal(fx.out.differ, 0);
	assert_true(fx.out.described);
	assert_int_equal(fx.out.undescribed, 1); /* r2 */
	ops_report_release(&fx.rep);
	/* a decision line without its repository column: no comparison, counters still */
	setup_described(&fx);
	dec[4] = gone;
	ops_vcount_values(fx.v, "activity_decisions", dec);
	ops_vcount_values(fx.v, "activity_sessions", ses);
	ops_vcount_values(fx.v, "audit_chain_head", hd);
	end_all(&fx);
	assert_true(fx.out.checked);
	assert_int_equal(fx.out.sessions, 1);
	assert_false(fx.out.described);
	ops_report_release(&fx.rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_that_match),
		cmocka_unit_test(test_counters_edited_and_a_session_missing),
		cmocka_unit_test(test_an_unclean_file_is_not_checked),
		cmocka_unit_test(test_a_file_lacking_a_column),
		cmocka_unit_test(test_keys_numbered_in_order),
		cmocka_unit_test(test_descriptions_that_match),
		cmocka_unit_test(test_a_description_edited),
		cmocka_unit_test(test_an_evidence_started_description_edited),
		cmocka_unit_test(test_descriptions_not_compared),
		cmocka_unit_test(test_values_from_a_restore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
