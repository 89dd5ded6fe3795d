/*
 * Unit tests for adopting an original CAVRA SQLite file: which files count
 * as the original's, and that a failed adoption leaves the file's bytes and
 * its directory as they were while a finished one replaces it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/files.h"
#include "base/xalloc.h"
#include "migrate/migrate.h"

/* The original's evidence table and ledger, as its 001 left them. */
static const char original_sql[] =
	"CREATE TABLE evidence_metadata (session_id TEXT PRIMARY KEY, created_at TEXT, signer TEXT,"
	" decision_count INTEGER NOT NULL DEFAULT 0, blocked_count INTEGER NOT NULL DEFAULT 0,"
	" approval_required_count INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL);"
	"CREATE INDEX idx_evidence_metadata_signer ON evidence_metadata (signer);"
	"INSERT INTO evidence_metadata (session_id, payload) VALUES ('s-1', '{}');";
static const char legacy_ledger[] =
	"CREATE TABLE schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL);"
	"INSERT INTO schema_migrations VALUES ('001_evidence_metadata.sql', "
	"'2025-04-01T09:00:00+00:00');";

struct fixture {
	char dir[64];
	char path[96];
};

/* Written with plain SQLite in its default rollback-journal mode, as the original did. */
static void write_db(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/cavra-adopt-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/pilot.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static bool original(const char *path)
{
	struct err e = {0};
	bool out = true;

	assert_int_equal(migrate_sqlite_is_original(path, &out, &e), ST_OK);
	return out;
}

static void test_is_original(void **state)
{
	struct fixture *f = *state;

	assert_false(original(f->path)); /* no file */
	write_db(f->path, "CREATE TABLE notes (id TEXT)");
	assert_false(original(f->path));
	write_db(f->path, original_sql); /* its store made the table, no ledger */
	assert_true(original(f->path));
	write_db(f->path, legacy_ledger);
	assert_true(original(f->path));
	write_db(f->path, "ALTER TABLE schema_migrations ADD COLUMN checksum TEXT");
	assert_false(original(f->path)); /* our ledger: adopted already */
}

static void read_all(const char *path, struct buf *b)
{
	struct err e = {0};

	buf_init(b, BUF_CAP_DEFAULT);
	assert_int_equal(file_read(path, BUF_CAP_DEFAULT, b, &e), ST_OK);
}

/* Entries of dir whose name contains part. */
static size_t dir_entries(const char *dir, const char *part)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.' && strstr(de->d_name, part) != NULL;
	closedir(d);
	return n;
}

static enum status records_fail(void *ctx, struct store_conn *c, struct err *e)
{
	bool exists = false;

	/* the original table is there, moved aside, when records are copied */
	assert_int_equal(
		store_table_exists(c, MIGRATE_ORIGINAL_PREFIX "evidence_metadata", &exists, e),
		ST_OK);
	assert_true(exists);
	*(int *)ctx += 1;
	return err_set(e, ST_INVALID, "table evidence_metadata, record 's-1': bad");
}

static enum status records_ok(void *ctx, struct store_conn *c, struct err *e)
{
	*(int *)ctx += 1;
	return store_exec_script(c,
				 "INSERT INTO evidence_metadata (session_id, created_at, "
				 "updated_at, payload) SELECT session_id, "
				 "'2025-04-01T09:00:00.000000Z', '2025-04-01T09:00:00.000000Z', "
				 "payload FROM " MIGRATE_ORIGINAL_PREFIX "evidence_metadata",
				 e);
}

static void test_failure_leaves_file(void **state)
{
	struct fixture *f = *state;
	struct migration_set set = {0};
	struct buf before, after;
	struct err e = {0};
	int calls = 0;

	write_db(f->path, original_sql);
	write_db(f->path, legacy_ledger);
	read_all(f->path, &before);
	assert_int_equal(migrate_set_load(NULL, "sqlite", &set, &e), ST_OK);
	/* a bad record is the pilot's problem (exit 1), not a usage error */
	assert_int_equal(migrate_adopt_sqlite(f->path, &set, records_fail, &calls, &e),
			 ST_CONFLICT);
	assert_int_equal(calls, 1);
	assert_non_null(strstr(e.msg, "left unchanged"));
	assert_non_null(strstr(e.msg, "record 's-1': bad"));
	read_all(f->path, &after);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.data, after.data, before.len);
	assert_int_equal(dir_entries(f->dir, ""), 1);
	assert_true(original(f->path));

	assert_int_equal(migrate_adopt_sqlite(f->path, &set, records_ok, &calls, &e), ST_OK);
	assert_int_equal(calls, 2);
	assert_int_equal(dir_entries(f->dir, "cavra-adopt"), 0);
	assert_false(original(f->path));
	buf_release(&before);
	buf_release(&after);
	migrate_set_release(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_is_original, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_leaves_file, setup, teardown),
	};

	return cmocka_run_group_tests_name("migrate_adopt", tests, NULL, NULL);
}
