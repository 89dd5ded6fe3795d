/*
 * Unit tests for the SQLite checkpointer (store_sqlite_ckpt.c) on a real file: commits below the
 * threshold leave it asleep; a commit that fills the log wakes the thread, the commit after its
 * checkpoint copies the tail, and the log starts over from its beginning; every committed row
 * is there and the file passes integrity_check; connections to one path share one; a thread
 * that could not open the file is tried again, not before its time; a thread that opens the file
 * while another connection briefly holds its exclusive lock waits for it.  The file's writer
 * gate lets one writer in at a time and wakes the next when it leaves.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include "base/base.h"
#include "base/timeutil.h"
#include "store/store_sqlite_ckpt.h"
#include "store/store_sqlite_vfs.h"

#include <sqlite3.h>

#include "store/store_sqlite_testutil.h"

#define PAGES 64

static void temp_path(char *path, size_t cap)
{
	int fd;

	snprintf(path, cap, "/tmp/store_ckpt_test_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
}

/* A new file in WAL mode with table t, open on the caller's connection; pragma: one more. */
static sqlite3 *new_file(char *path, size_t cap, const char *pragma)
{
	sqlite3 *db = NULL;
	char sql[160];

	temp_path(path, cap);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, store_sqlite_vfs_name()),
			 SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "PRAGMA journal_mode=WAL; PRAGMA %s; CREATE TABLE t (id INTEGER PRIMARY KEY, v "
		 "BLOB)",
		 pragma);
	exec_ok(db, sql);
	return db;
}

static void remove_files(const char *path)
{
	char side[96];

	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

/* A row of about 3,000 bytes: a page of its own, so each commit adds a frame or two. */
static void insert_row(sqlite3 *db)
{
	exec_ok(db, "INSERT INTO t (v) VALUES (randomblob(3000))");
}

static struct sqlite_ckpt_counts counts(struct sqlite_ckpt *k)
{
	struct sqlite_ckpt_counts c;

	sqlite_ckpt_counts(k, &c);
	return c;
}

/* The file, closed by everyone: every row committed is there, and it passes integrity_check. */
static void check_file(const char *path, int rows)
{
	sqlite3 *r = NULL;

	assert_int_equal(sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(one_int(r, "SELECT count(*) FROM t"), rows);
	assert_int_equal(one_int(r, "SELECT count(*) FROM pragma_integrity_check "
				    "WHERE integrity_check <> 'ok'"),
			 0);
	sqlite3_close(r);
}

/* Waits (10 s at most) until the thread has done n wake-ups, and checks it did not do more. */
static void wait_background(struct sqlite_ckpt *k, long n)
{
	const struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};

	for (int i = 0; i < 10000 && counts(k).background < n; i++)
		nanosleep(&ms, NULL);
	assert_int_equal(counts(k).background, n);
}

static void test_log_starts_over_after_the_tail(void **state)
{
	char path[64];
	sqlite3 *w = NULL, *r = NULL;
	struct sqlite_ckpt *k;
	int rows = 0;

	UNUSED(state);
	w = new_file(path, sizeof(path), "synchronous=FULL");
	k = sqlite_ckpt_get(path, PAGES);
	sqlite_ckpt_attach(k, w);

	/* up to the commit that fills the log and wakes the thread, which nothing else does */
	while (counts(k).frames < PAGES) {
		assert_int_equal(counts(k).background, 0);
		insert_row(w);
		rows++;
	}
	wait_background(k, 1);
	assert_int_equal(counts(k).tails, 0);
	/*
	 * With no commit beside it, the thread's checkpoint reached the log's end, so this commit
	 * already starts the log over; it then copies the tail (its own pages).
	 */
	insert_row(w);
	assert_int_equal(counts(k).tails, 1);
	insert_row(w);
	rows += 2;
	assert_in_range(counts(k).frames, 1, 8);
	assert_int_equal(counts(k).background, 1);

	assert_int_equal(sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(one_int(r, "SELECT count(*) FROM t"), rows);
	sqlite3_close(r);
	sqlite3_close(w);
	sqlite_ckpt_put(k);

	check_file(path, rows);
	remove_files(path);
}

/* Commits until one that finds the log full; returns the rows inserted. */
static int fill_log(sqlite3 *w, struct sqlite_ckpt *k)
{
	int rows = 0;

	do {
		insert_row(w);
		rows++;
	} while (counts(k).frames < PAGES);
	return rows;
}

/* The commit that copies the tail, and the next, which finds the log started over: 2 rows. */
static int past_the_tail(sqlite3 *w, struct sqlite_ckpt *k, long tails)
{
	insert_row(w);
	insert_row(w);
	assert_int_equal(counts(k).tails, tails);
	assert_in_range(counts(k).frames, 1, 8);
	return 2;
}

/*
 * The checkpointer's path names no file at first (a link made later to the database), so its
 * thread cannot open it: the commits checkpoint themselves (the log still starts over), and
 * the thread is tried again only once its retry time has passed, then opens the file.
 */
static void test_thread_tried_again_after_failing_to_open(void **state)
{
	char path[64], link_path[80];
	sqlite3 *w = NULL;
	struct sqlite_ckpt *k;
	int rows = 0;

	UNUSED(state);
	w = new_file(path, sizeof(path), "synchronous=FULL");
	snprintf(link_path, sizeof(link_path), "%s.link", path);
	k = sqlite_ckpt_get(link_path, PAGES);
	sqlite_ckpt_retry_after(k, 3600 * 1000);
	sqlite_ckpt_attach(k, w);

	rows += fill_log(w, k);
	wait_background(k, 1);
	assert_int_equal(counts(k).failures, 1);
	rows += past_the_tail(w, k, 1);

	/* not yet time to try again: the commit that fills the log checkpoints it itself */
	assert_int_equal(symlink(path, link_path), 0);
	rows += fill_log(w, k);
	insert_row(w);
	rows++;
	assert_in_range(counts(k).frames, 1, 8);
	assert_int_equal(counts(k).background, 1);

	sqlite_ckpt_retry_after(k, 0);
	rows += fill_log(w, k);
	wait_background(k, 2);
	assert_int_equal(counts(k).failures, 1);
	rows += past_the_tail(w, k, 2);

	sqlite3_close(w);
	sqlite_ckpt_put(k);
	check_file(path, rows);
	unlink(link_path);
	remove_files(path);
}

/*
 * Another connection holds the file's exclusive lock when the thread opens it, and lets go
 * 300 ms later (as one closing the file last does): the thread waits for it instead of failing.
 */
static void test_thread_waits_for_a_lock_held_briefly(void **state)
{
	const struct timespec wait = {.tv_sec = 0, .tv_nsec = 300 * 1000000L};
	char path[64];
	sqlite3 *x = NULL;
	struct sqlite_ckpt *k;

	UNUSED(state);
	x = new_file(path, sizeof(path), "locking_mode=EXCLUSIVE");
	insert_row(x); /* x now holds the exclusive lock until it closes */
	k = sqlite_ckpt_get(path, PAGES);
	sqlite_ckpt_request(k);
	nanosleep(&wait, NULL);
	assert_int_equal(counts(k).background, 0); /* still waiting for the lock */
	sqlite3_close(x);
	wait_background(k, 1);
	assert_int_equal(counts(k).failures, 0);
	sqlite_ckpt_put(k);
	check_file(path, 1);
	remove_files(path);
}

static void test_one_checkpointer_per_path(void **state)
{
	struct sqlite_ckpt *a = sqlite_ckpt_get("/tmp/store_ckpt_test_a", 10);
	struct sqlite_ckpt *b = sqlite_ckpt_get("/tmp/store_ckpt_test_a", 20);
	struct sqlite_ckpt *c = sqlite_ckpt_get("/tmp/store_ckpt_test_c", 10);

	UNUSED(state);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, c);
	sqlite_ckpt_put(a);
	sqlite_ckpt_put(c);
	/* b still holds the shared one: a new get finds it */
	assert_ptr_equal(sqlite_ckpt_get("/tmp/store_ckpt_test_a", 30), b);
	sqlite_ckpt_put(b);
	sqlite_ckpt_put(b);
	sqlite_ckpt_put(NULL);
}

/* The gate is held: a second writer waits until its limit, then is refused. */
static void test_writer_gate_one_writer_at_a_time(void **state)
{
	struct sqlite_ckpt *k = sqlite_ckpt_get("/tmp/store_ckpt_test_gate", 10);

	UNUSED(state);
	assert_true(sqlite_ckpt_writer_enter(k, time_mono_us() + 1000000));
	assert_false(sqlite_ckpt_writer_enter(k, time_mono_us() + 20000));
	sqlite_ckpt_writer_leave(k);
	assert_true(sqlite_ckpt_writer_enter(k, time_mono_us())); /* free: in at once */
	sqlite_ckpt_writer_leave(k);
	sqlite_ckpt_put(k);
}

struct gate_waiter {
	struct sqlite_ckpt *k;
	bool in;
	int64_t waited_us;
};

static void *wait_at_gate(void *arg)
{
	struct gate_waiter *w = arg;
	int64_t t0 = time_mono_us();

	w->in = sqlite_ckpt_writer_enter(w->k, t0 + 30 * 1000000LL);
	w->waited_us = time_mono_us() - t0;
	return NULL;
}

/* A writer waiting at the gate is let in when the one inside leaves, not at its limit. */
static void test_writer_gate_wakes_the_next_writer(void **state)
{
	struct gate_waiter w = {sqlite_ckpt_get("/tmp/store_ckpt_test_gate", 10), false, 0};
	const struct timespec wait = {0, 50 * 1000 * 1000};
	pthread_t t;

	UNUSED(state);
	assert_true(sqlite_ckpt_writer_enter(w.k, time_mono_us()));
	assert_int_equal(pthread_create(&t, NULL, wait_at_gate, &w), 0);
	nanosleep(&wait, NULL);
	sqlite_ckpt_writer_leave(w.k);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(w.in);
	assert_true(w.waited_us < 20 * 1000000LL); /* woken, far before its 30 s limit */
	sqlite_ckpt_writer_leave(w.k);
	sqlite_ckpt_put(w.k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_starts_over_after_the_tail),
		cmocka_unit_test(test_thread_tried_again_after_failing_to_open),
		cmocka_unit_test(test_thread_waits_for_a_lock_held_briefly),
		cmocka_unit_test(test_one_checkpointer_per_path),
		cmocka_unit_test(test_writer_gate_one_writer_at_a_time),
		cmocka_unit_test(test_writer_gate_wakes_the_next_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
