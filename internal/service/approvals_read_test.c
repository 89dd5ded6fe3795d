/*
 * approvals_read_test.c - an agent's GET /approvals on SQLite reads migration 020's indexes.
 * SQLite uses an index on an expression only where a statement writes that very expression,
 * so this checks the statements the list really sends: a real file migrated with the embedded
 * migrations, the list of a caller without approvals.read_any (service_record_list), every
 * statement traced on the pool's one connection, and each statement on approvals then
 * explained.  Each must read both indexes (ix_approvals_recorded_by_... and
 * ix_approvals_decision_recorded_by_...) and never scan the table: the page one branch an
 * index, each read in order, and its total both at once (MULTI-INDEX OR).  On PostgreSQL the plans
 * the server ran are checked by tests/integration/test_approval_readers.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/err.h"
#include "migrate/migrate.h"
#include "service/service.h"
#include "store/store.h"
#include "store/store_sqlite_file.h"
#include "store/store_sqlite_int.h"

#include <sqlite3.h>

#include "store/store_sqlite_testutil.h"

#define MAX_SQL 16

/* The statements a connection ran, as their text (unexpanded: $N for each parameter). */
struct trace {
	char *sql[MAX_SQL];
	size_t n;
};

static int on_stmt(unsigned type, void *ctx, void *stmt, void *text)
{
	struct trace *t = ctx;

	(void)type;
	(void)text;
	if (t->n < MAX_SQL)
		t->sql[t->n++] = strdup(sqlite3_sql(stmt));
	return 0;
}

/*
 * Six approvals (writer, the decision's writer): ag-07's own request of its decision (1), a
 * person's request of it (2), ag-07's request of ag-06's decision (3), an imported one of
 * ag-07's decision (6), and two of others (4, 5).  One created_at: the id orders them.
 */
static const char seed[] =
	"WITH v(i, w, f) AS (VALUES (1, 'ag-07', 'ag-07'), (2, 'secop', 'ag-07'), "
	"(3, 'ag-07', 'ag-06'), (4, 'ag-06', 'ag-06'), (5, 'secop', 'ag-05'), (6, NULL, 'ag-07')) "
	"INSERT INTO approvals (approval_id, decision_id, state, approver_group, expires_at, "
	"created_at, updated_at, payload) SELECT printf('apr_%012d', i), printf('dec_%012d', i), "
	"'approved', 'Owners', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', "
	"'2026-01-01T00:00:00.000000Z', json_object('recorded_by', CASE WHEN w IS NOT NULL THEN "
	"json_object('kind', 'api_token', 'token', w) END, 'decision', json_object('recorded_by', "
	"json_object('kind', 'api_token', 'token', f))) FROM v; "
	/* written behind cavra's back: waiting for their adoption, so no chain check is read */
	"UPDATE audit_chain_head SET adopt_pending = 1";

static const char *arg_limit(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "limit") == 0 ? "2" : NULL;
}

/* The plan of sql: one line a step, as EXPLAIN QUERY PLAN details them. */
static void explain(sqlite3 *db, const char *sql, char *out, size_t cap)
{
	char *q = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *st = NULL;
	size_t len = 0;

	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	out[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW && len < cap)
		len += (size_t)snprintf(out + len, cap - len, "%s\n", sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	sqlite3_free(q);
}

/*
 * Every statement on approvals reads both indexes and never the table; the page is not one
 * MULTI-INDEX OR, which collects and sorts every approval of the caller's before its first row.
 */
static void check_plans(sqlite3 *db, const struct trace *t)
{
	size_t on_approvals = 0;
	char plan[2048];

	for (size_t i = 0; i < t->n; i++) {
		bool page = !strstr(t->sql[i], "count(*)");

		if (!strstr(t->sql[i], "FROM approvals"))
			continue;
		on_approvals++;
		explain(db, t->sql[i], plan, sizeof(plan));
		if (strstr(plan, "SCAN approvals") ||
		    !strstr(plan, "INDEX ix_approvals_recorded_by_created_at_approval_id") ||
		    !strstr(plan,
			    "INDEX ix_approvals_decision_recorded_by_created_at_approval_id") ||
		    (page && strstr(plan, "MULTI-INDEX OR")))
			fail_msg("%s\nreads approvals otherwise than by both indexes%s:\n%s",
				 t->sql[i], page ? ", each in order" : "", plan);
	}
	assert_int_equal(on_approvals, 2); /* the total and the page */
}

/* The list of an agent (API token ag-07, no approvals.read_any), traced on c's connection. */
static char *agent_list(struct store *st, sqlite3 *db, struct trace *t)
{
	struct caller who = {.verified = true, .token = "ag-07"};
	struct service svc = {.store = st};
	struct err e = {0};
	char *env = NULL;

	sqlite3_trace_v2(db, SQLITE_TRACE_STMT, on_stmt, t);
	if (service_record_list(&svc, SK_APPROVAL, &who, arg_limit, NULL, &env, &e) != ST_OK)
		fail_msg("list: %s", e.msg);
	sqlite3_trace_v2(db, 0, NULL, NULL);
	return env;
}

static void test_an_agents_list_reads_both_indexes(void **state)
{
	char root[] = "/tmp/cavra-approvals-read-XXXXXX", url[128], path[96];
	struct store_options opt = {.pool_size = 1};
	struct migration_set set = {0};
	struct trace t = {{0}, 0};
	struct store *st = NULL;
	struct store_conn *c = NULL;
	struct err e = {0};
	char *env;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/cavra.db", root);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	assert_int_equal(store_open(url, &opt, &st, &e), ST_OK);
	assert_int_equal(migrate_set_load(NULL, "sqlite", &set, &e), ST_OK);
	assert_int_equal(migrate_up(st, &set, 0, NULL, NULL, &e), ST_OK);
	assert_int_equal(store_conn_get(st, &c, &e), ST_OK); /* the pool's only connection */
	exec_ok(store_sqlite_handle(c), seed);
	store_conn_put(st, c); /* the list borrows it again, with the trace on its handle */
	env = agent_list(st, store_sqlite_handle(c), &t);
	/* ag-07's: 1, 2, 3 and 6, the first two on this page (limit 2) */
	assert_non_null(strstr(env, "\"total\":4"));
	assert_non_null(strstr(env, "\"approval_id\":\"apr_000000000001\""));
	assert_non_null(strstr(env, "\"approval_id\":\"apr_000000000002\""));
	assert_null(strstr(env, "\"approval_id\":\"apr_000000000003\""));
	check_plans(store_sqlite_handle(c), &t);
	for (size_t i = 0; i < t.n; i++)
		free(t.sql[i]);
	free(env);
	migrate_set_release(&set);
	store_close(st);
	store_sqlite_file_remove(path);
	rmdir(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_an_agents_list_reads_both_indexes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
