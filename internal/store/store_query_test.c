/*
 * Unit tests for the helpers the noun stores share (store_query.c): row
 * structs described as fields, pages, rows fetched one at a time, and the
 * whole-table questions of store_stats.c and store_bulk.c on a real SQLite
 * file.
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
#include "store/store_backend.h"
#include "store/store_bulk.h"
#include "store/store_query.h"
#include "store/store_sqlite_file.h"
#include "store/store_stats.h"

struct t_row {
	char *name;
	char *at;
	int64_t n;
};

#define COL(member, kind) STORE_FIELD(struct t_row, member, kind)
static const struct store_field t_field[] = {COL(name, TEXT), COL(at, TIME), COL(n, INT)};
#undef COL
static const struct store_fields t_fields = {t_field, ARRAY_SIZE(t_field), sizeof(struct t_row)};

static struct store_rows *three_rows(void)
{
	struct store_rows *r = store_rows_new(3);
	const char *a[] = {"a", "2025-01-02 03:04:05+00", "7"};
	const char *b[] = {NULL, NULL, NULL};
	const char *c[] = {"c", "not a time", "x"};
	const size_t la[] = {1, strlen(a[1]), 1}, lb[] = {0, 0, 0}, lc[] = {1, 10, 1};

	store_rows_add(r, a, la);
	store_rows_add(r, b, lb);
	store_rows_add(r, c, lc);
	return r;
}

static void test_fields_fill_release(void **state)
{
	struct store_rows *r = three_rows();
	char *want = store_time_dup("2025-01-02 03:04:05+00");
	struct t_row row;

	UNUSED(state);
	store_fields_fill(&row, &t_fields, r, 0);
	assert_string_equal(row.name, "a");
	assert_string_equal(row.at, want);
	assert_int_equal(row.n, 7);
	store_fields_release(&row, &t_fields);
	assert_null(row.name);
	assert_null(row.at);
	assert_int_equal(row.n, 0);
	store_fields_release(NULL, &t_fields);
	free(want);
	store_rows_free(r);
}

static void test_fields_collect(void **state)
{
	struct store_rows *r = three_rows();
	struct t_row *rows = store_fields_collect(&t_fields, r, 3);

	UNUSED(state);
	assert_null(rows[1].name);
	assert_null(rows[1].at);
	assert_int_equal(rows[1].n, 0);
	assert_string_equal(rows[2].name, "c");
	assert_string_equal(rows[2].at, "not a time");
	assert_int_equal(rows[2].n, 0);
	assert_null(rows[3].name); /* the extra zeroed row */
	store_fields_free_all(rows, 3, &t_fields);
	store_fields_free_all(NULL, 0, &t_fields);
	store_rows_free(r);
}

static void test_page_take(void **state)
{
	bool more = true;

	UNUSED(state);
	assert_int_equal(store_page_take(3, 2, &more), 2);
	assert_true(more);
	assert_int_equal(store_page_take(2, 2, &more), 2);
	assert_false(more);
	assert_int_equal(store_page_take(0, 5, &more), 0);
	assert_false(more);
}

struct db {
	char path[64];
	struct store *st;
	struct store_conn *c;
};

static int setup(void **state)
{
	static const char schema[] =
		"CREATE TABLE t (id TEXT PRIMARY KEY, at TEXT, note TEXT,"
		" day TEXT GENERATED ALWAYS AS (substr(at, 1, 10)) VIRTUAL);"
		"INSERT INTO t VALUES ('b', '2025-01-02T00:00:00.000000Z', 'two');"
		"INSERT INTO t VALUES ('a', '2025-01-01T00:00:00.000000Z', 'one');"
		"INSERT INTO t VALUES ('c', '2025-01-03T00:00:00.000000Z', 'three');";
	const struct store_options opt = {.pool_size = 2};
	struct db *d = calloc(1, sizeof(*d));
	char url[80];
	int fd;

	snprintf(d->path, sizeof(d->path), "/tmp/store_query_test_XXXXXX");
	fd = mkstemp(d->path);
	assert_true(fd >= 0);
	close(fd);
	unlink(d->path);
	snprintf(url, sizeof(url), "sqlite:%s", d->path);
	assert_int_equal(store_open(url, &opt, &d->st, NULL), ST_OK);
	assert_int_equal(store_conn_get(d->st, &d->c, NULL), ST_OK);
	assert_int_equal(store_exec_script(d->c, schema, NULL), ST_OK);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct db *d = *state;

	store_conn_put(d->st, d->c);
	store_close(d->st);
	store_sqlite_file_remove(d->path);
	free(d);
	return 0;
}

/* Only a cursorless page that holds the last match tells the total; the others need a count. */
static void test_page_total(void **state)
{
	int64_t total = -1;

	UNUSED(state);
	assert_true(store_page_total(0, false, 0, false, &total));
	assert_int_equal(total, 0);
	assert_true(store_page_total(50, false, 0, false, &total));
	assert_int_equal(total, 50);
	assert_true(store_page_total(7, false, 20000, false, &total));
	assert_int_equal(total, 20007);
	total = -1;
	assert_false(store_page_total(50, true, 0, false, &total)); /* rows left over */
	assert_false(store_page_total(0, false, 100, false, &total)); /* past the end */
	assert_false(store_page_total(3, false, 0, true, &total)); /* a cursor page */
	assert_int_equal(total, -1);
}

static void test_table_questions(void **state)
{
	struct db *d = *state;
	char *oldest = NULL, *newest = NULL;
	int64_t n = -1;
	size_t ncols = 0;

	assert_int_equal(store_table_count(d->c, "t", &n, NULL), ST_OK);
	assert_int_equal(n, 3);
	assert_int_equal(
		store_table_count_before(d->c, "t", "at", "2025-01-02T00:00:00.000000Z", &n, NULL),
		ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_table_span(d->c, "t", "at", &n, &oldest, &newest, NULL), ST_OK);
	assert_int_equal(n, 3);
	assert_string_equal(oldest, "2025-01-01T00:00:00.000000Z");
	assert_string_equal(newest, "2025-01-03T00:00:00.000000Z");
	/* the generated column is not counted: a backup does not carry it */
	assert_int_equal(store_table_ncols(d->c, "t", &ncols, NULL), ST_OK);
	assert_int_equal(ncols, 3);
	assert_int_equal(store_table_ncols(d->c, "no_such_table", &ncols, NULL), ST_NOT_FOUND);
	free(oldest);
	free(newest);
}

static void test_rows_one_at_a_time(void **state)
{
	static const char sql[] = "SELECT id FROM t WHERE id = $1";
	struct db *d = *state;
	const char *missing = "z", *present = "b";
	char *id = NULL;
	bool exists = true;

	assert_int_equal(store_run_text(d->st, sql, 1, &missing, &id, NULL), ST_NOT_FOUND);
	assert_null(id);
	assert_int_equal(store_run_text(d->st, sql, 1, &present, &id, NULL), ST_OK);
	assert_string_equal(id, "b");
	free(id);
	assert_int_equal(store_row_exists(d->c, sql, 1, &missing, &exists, NULL), ST_OK);
	assert_false(exists);
}

struct seen {
	char ids[8];
	size_t n;
};

static enum status see(void *ctx, const char *const *vals, const size_t *lens, struct err *e)
{
	struct seen *s = ctx;

	UNUSED(lens);
	UNUSED(e);
	s->ids[s->n++] = vals[0][0];
	return ST_OK;
}

static void test_stream_and_replace(void **state)
{
	struct db *d = *state;
	const char *cols[] = {"id", "note"};
	struct store_value_fix fix = {.table = "t",
				      .key_col = "id",
				      .column = "note",
				      .key = "a",
				      .old = "one",
				      .value = "1"};
	struct seen s = {0};
	int64_t changed = -1;

	assert_int_equal(store_stream_table(d->c, "t", cols, 2, "at DESC, id", see, &s, NULL),
			 ST_OK);
	assert_int_equal(s.n, 3);
	assert_memory_equal(s.ids, "cba", 3);
	assert_int_equal(store_value_replace(d->c, &fix, &changed, NULL), ST_OK);
	assert_int_equal(changed, 1);
	/* the value moved on: a second fix of the scanned value changes nothing */
	assert_int_equal(store_value_replace(d->c, &fix, &changed, NULL), ST_OK);
	assert_int_equal(changed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_fill_release),
		cmocka_unit_test(test_fields_collect),
		cmocka_unit_test(test_page_take),
		cmocka_unit_test(test_page_total),
		cmocka_unit_test_setup_teardown(test_table_questions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rows_one_at_a_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_and_replace, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
