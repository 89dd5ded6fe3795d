/*
 * Unit tests for the pool's bounded waits and health (store.c) and for a SQLite
 * transaction that SQLite ended on its own after a full database (store_sqlite.c),
 * on a real SQLite file.  PRAGMA max_page_count makes the database "full" without
 * filling a disk.  And the decision write queue's wait, bounded by the request
 * deadline (store_decisions.c).
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
#include "base/timeutil.h"
#include "store/store_backend.h"
#include "store/store_decisions.h"
#include "store/store_sqlite_file.h"

#include <pthread.h>

struct db {
	char path[64];
	struct store *st;
};

static int setup(void **state)
{
	const struct store_options opt = {.pool_size = 1, .lock_timeout_ms = 100};
	struct db *d = calloc(1, sizeof(*d));
	struct store_conn *c;
	char url[80];
	int fd;

	snprintf(d->path, sizeof(d->path), "/tmp/store_test_XXXXXX");
	fd = mkstemp(d->path);
	assert_true(fd >= 0);
	close(fd);
	unlink(d->path);
	snprintf(url, sizeof(url), "sqlite:%s", d->path);
	assert_int_equal(store_open(url, &opt, &d->st, NULL), ST_OK);
	assert_int_equal(store_conn_get(d->st, &c, NULL), ST_OK);
	assert_int_equal(store_exec_script(c, "CREATE TABLE t (v BLOB)", NULL), ST_OK);
	store_conn_put(d->st, c);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct db *d = *state;

	store_close(d->st);
	store_sqlite_file_remove(d->path);
	free(d);
	return 0;
}

/* A thread whose request deadline has passed gets ST_TIMEOUT at once, not a 10 s wait. */
static void test_deadline_ends_the_pool_wait(void **state)
{
	struct db *d = *state;
	struct store_conn *held, *c = NULL;
	struct store_health h;
	struct err e = {0};

	assert_int_equal(store_conn_get(d->st, &held, NULL), ST_OK);
	store_deadline_set(time_mono_us() - 1);
	assert_int_equal(store_conn_get(d->st, &c, &e), ST_TIMEOUT);
	store_deadline_set(0);
	assert_null(c);
	assert_non_null(strstr(e.msg, "request deadline passed"));
	store_health_get(d->st, 60 * 1000000LL, &h);
	assert_true(h.pool_exhausted);
	assert_false(h.storage_full);
	store_conn_put(d->st, held);
	store_health_get(d->st, 0, &h); /* the timeout is older than a zero window */
	assert_false(h.pool_exhausted);
}

static void *borrow_and_give_back(void *arg)
{
	struct db *d = arg;
	struct store_conn *c = NULL;

	if (store_conn_get(d->st, &c, NULL) == ST_OK)
		store_conn_put(d->st, c);
	return NULL;
}

/* A short wait for a connection is the pool at work; a wait past a second is starvation. */
static void test_only_a_long_wait_is_exhaustion(void **state)
{
	struct db *d = *state;
	struct store_conn *held;
	struct store_health h;
	pthread_t t;

	assert_int_equal(store_conn_get(d->st, &held, NULL), ST_OK);
	assert_int_equal(pthread_create(&t, NULL, borrow_and_give_back, d), 0);
	usleep(200 * 1000);
	store_health_get(d->st, 0, &h);
	assert_false(h.pool_exhausted);
	usleep((useconds_t)(STORE_POOL_STARVED_US + 100 * 1000));
	store_health_get(d->st, 0, &h);
	assert_true(h.pool_exhausted);
	store_conn_put(d->st, held);
	assert_int_equal(pthread_join(t, NULL), 0);
	store_health_get(d->st, 0, &h);
	assert_false(h.pool_exhausted);
}

/* Inserts 8 KiB rows under SAVEPOINT d until the database is full. */
static enum status insert_until_full(struct store_conn *c, struct err *e)
{
	static const char ins[] = "INSERT INTO t VALUES (zeroblob(8192))";
	enum status rc = ST_OK;

	for (int i = 0; i < 64 && rc == ST_OK; i++)
		rc = store_exec(c, ins, 0, NULL, NULL, e);
	return rc;
}

/*
 * After SQLITE_FULL SQLite may roll the whole transaction back itself.  What the batch
 * writer then runs must neither fail as "no such savepoint" (which marked the connection
 * broken and reopened it each time) nor, run outside the transaction, open and commit a new
 * one: ROLLBACK TO and RELEASE succeed, anything else and COMMIT answer storage_full.
 */
static void test_full_database_ends_the_transaction_honestly(void **state)
{
	struct db *d = *state;
	struct store_rows *r = NULL;
	struct store_health h;
	struct store_conn *c;
	struct err e = {0};

	assert_int_equal(store_conn_get(d->st, &c, NULL), ST_OK);
	assert_int_equal(store_exec_script(c, "PRAGMA max_page_count = 8", NULL), ST_OK);
	assert_int_equal(store_tx_begin(c, STORE_TX_WRITE, NULL), ST_OK);
	assert_int_equal(store_exec_script(c, "SAVEPOINT d", NULL), ST_OK);
	assert_int_equal(insert_until_full(c, &e), ST_STORAGE_FULL);
	assert_int_equal(store_exec_script(c, "ROLLBACK TO d", NULL), ST_OK);
	assert_int_equal(store_exec_script(c, "RELEASE d", NULL), ST_OK);
	assert_int_equal(store_exec_script(c, "SAVEPOINT d", NULL), ST_STORAGE_FULL);
	assert_int_equal(store_exec(c, "INSERT INTO t VALUES (x'00')", 0, NULL, NULL, NULL),
			 ST_STORAGE_FULL);
	assert_int_equal(store_tx_commit(c, &e), ST_STORAGE_FULL);
	assert_false(c->broken);
	store_conn_put(d->st, c);
	store_health_get(d->st, 60 * 1000000LL, &h);
	assert_true(h.storage_full);

	/* nothing of the failed transaction is stored, and the same connection works on */
	assert_int_equal(store_conn_get(d->st, &c, NULL), ST_OK);
	assert_int_equal(store_exec_script(c, "PRAGMA max_page_count = 100000", NULL), ST_OK);
	assert_int_equal(store_query(c, "SELECT COUNT(*) FROM t", 0, NULL, &r, NULL), ST_OK);
	assert_string_equal(store_rows_get(r, 0, 0), "0");
	store_rows_free(r);
	assert_int_equal(store_tx_begin(c, STORE_TX_WRITE, NULL), ST_OK);
	assert_int_equal(store_exec(c, "INSERT INTO t VALUES (x'00')", 0, NULL, NULL, NULL), ST_OK);
	assert_int_equal(store_tx_commit(c, NULL), ST_OK);
	store_conn_put(d->st, c);
	store_health_get(d->st, 60 * 1000000LL, &h);
	assert_false(h.storage_full); /* a write went through */
}

/* Another connection's write lock: SQLITE_BUSY after the lock timeout is ST_TIMEOUT. */
static void test_busy_is_a_timeout(void **state)
{
	struct db *d = *state;
	const struct store_options opt = {.pool_size = 1, .lock_timeout_ms = 100};
	struct store *other = NULL;
	struct store_conn *c, *o;
	struct err e = {0};
	char url[80];

	snprintf(url, sizeof(url), "sqlite:%s", d->path);
	assert_int_equal(store_open(url, &opt, &other, NULL), ST_OK);
	assert_int_equal(store_conn_get(other, &o, NULL), ST_OK);
	assert_int_equal(store_tx_begin(o, STORE_TX_WRITE, NULL), ST_OK);
	assert_int_equal(store_conn_get(d->st, &c, NULL), ST_OK);
	assert_int_equal(store_tx_begin(c, STORE_TX_WRITE, &e), ST_TIMEOUT);
	store_conn_put(d->st, c);
	store_conn_put(other, o);
	store_close(other);
}

static const struct decision_rec test_rec = {
	.decision_id = "d1",
	.session_id = "s1",
	.action_type = "shell",
	.decision = "allow",
	.severity = "low",
	.decided_at = "2026-01-01T00:00:00.000000Z",
	.payload = "{}",
};

static bool queue_empty(struct store *st)
{
	bool empty;

	pthread_mutex_lock(&st->batch.mu);
	empty = !st->batch.head && !st->batch.tail;
	pthread_mutex_unlock(&st->batch.mu);
	return empty;
}

/* A decision whose request deadline has passed is not written: ST_TIMEOUT, queue left empty. */
static void test_deadline_passed_before_the_decision_queue(void **state)
{
	struct db *d = *state;
	struct err e = {0};

	store_deadline_set(time_mono_us() - 1);
	assert_int_equal(store_decision_insert(d->st, &test_rec, &e), ST_TIMEOUT);
	store_deadline_set(0);
	assert_non_null(strstr(e.msg, "request deadline passed"));
	assert_true(queue_empty(d->st));
}

static void *insert_alone(void *arg)
{
	struct err e = {0};
	enum status rc = store_decision_insert(arg, &test_rec, &e);

	UNUSED(rc); /* there is no table: it fails, and that is all right here */
	return NULL;
}

static int writers(struct store *st)
{
	int n;

	pthread_mutex_lock(&st->batch.mu);
	n = st->batch.writers;
	pthread_mutex_unlock(&st->batch.mu);
	return n;
}

/*
 * SQLite has one batch writer.  While it waits for the pool's only connection (held
 * here), a second decision queues behind it; when its request deadline passes it
 * leaves the queue with ST_TIMEOUT instead of waiting for the writer without limit.
 */
static void test_deadline_ends_the_wait_in_the_decision_queue(void **state)
{
	struct db *d = *state;
	struct store_conn *held;
	struct err e = {0};
	pthread_t t;

	assert_int_equal(store_conn_get(d->st, &held, NULL), ST_OK);
	assert_int_equal(pthread_create(&t, NULL, insert_alone, d->st), 0);
	while (writers(d->st) == 0)
		usleep(1000);
	store_deadline_set(time_mono_us() + 20 * 1000);
	assert_int_equal(store_decision_insert(d->st, &test_rec, &e), ST_TIMEOUT);
	store_deadline_set(0);
	assert_non_null(strstr(e.msg, "request deadline passed"));
	assert_true(queue_empty(d->st));
	assert_int_equal(writers(d->st), 1); /* the writer still waits for the connection */
	store_conn_put(d->st, held);
	assert_int_equal(pthread_join(t, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deadline_ends_the_pool_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_a_long_wait_is_exhaustion, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_full_database_ends_the_transaction_honestly,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_is_a_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_passed_before_the_decision_queue,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_ends_the_wait_in_the_decision_queue,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
