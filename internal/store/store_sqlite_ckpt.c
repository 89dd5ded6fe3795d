/*
 * store_sqlite_ckpt.c - the checkpointer thread of a SQLite file (store_sqlite_ckpt.h).
 */
#include "base/base.h"
#include "store/store_sqlite_ckpt.h"
#include "store/store_sqlite_vfs.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*
 * Rounds per wake-up: the second takes what commits published during the first.  Up to six,
 * until one copied under 256 pages, measured no better (docs/benchmarks.md).
 */
#define CKPT_ROUNDS 2

/*
 * A thread that could not start or open the file is tried again this long after (by the first
 * commit that fills the log then): what failed may have been passing, such as a process out of
 * file descriptors, and commits that checkpoint themselves stall their callers.
 */
#define CKPT_RETRY_US (30 * 1000000LL)

/*
 * How long the thread's connection waits for a lock when it opens the file.  Only an exclusive
 * lock makes it wait, which in WAL mode another connection holds while it closes the file last
 * (it copies the log into the file and removes it) or recovers the log: commits wait for it as
 * well.  The last commit before such a close often wakes the thread (`cavra migrate up` closing
 * after a large migration), which would otherwise fail at once and warn for nothing.
 */
#define CKPT_OPEN_BUSY_MS 2000

struct sqlite_ckpt {
	struct sqlite_ckpt *next; /* in the process's list */
	char *path;
	int refs; /* under list_mu */
	int pages;
	pthread_mutex_t mu; /* the rest */
	pthread_cond_t cv;
	pthread_t thread;
	bool started; /* the thread runs */
	bool failed; /* it could not start or open the file: commits checkpoint themselves */
	int64_t failed_at, retry_us; /* when, and how long until the thread is tried again */
	bool busy; /* asked for and not yet done: the thread's work */
	bool tail; /* done: the next commit checkpoints what was committed since */
	bool stop;
	bool warned; /* the thread logged a failed checkpoint and none succeeded since */
	struct sqlite_ckpt_counts counts;
	pthread_mutex_t wmu; /* the writer gate: writing, under wmu; wcv on CLOCK_MONOTONIC */
	pthread_cond_t wcv;
	bool writing;
};

static pthread_mutex_t list_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sqlite_ckpt *list;

static void gate_init(struct sqlite_ckpt *k)
{
	pthread_mutex_init(&k->wmu, NULL);
	time_mono_cond_init(&k->wcv);
}

bool sqlite_ckpt_writer_enter(struct sqlite_ckpt *k, int64_t until_us)
{
	bool in;

	pthread_mutex_lock(&k->wmu);
	while (k->writing && time_mono_us() < until_us) {
		struct timespec abs = time_mono_abs(until_us);

		(void)pthread_cond_timedwait(&k->wcv, &k->wmu, &abs);
	}
	in = !k->writing;
	if (in)
		k->writing = true;
	pthread_mutex_unlock(&k->wmu);
	return in;
}

void sqlite_ckpt_writer_leave(struct sqlite_ckpt *k)
{
	pthread_mutex_lock(&k->wmu);
	k->writing = false;
	pthread_cond_signal(&k->wcv);
	pthread_mutex_unlock(&k->wmu);
}

struct sqlite_ckpt *sqlite_ckpt_get(const char *path, int pages)
{
	struct sqlite_ckpt *k;

	pthread_mutex_lock(&list_mu);
	for (k = list; k && strcmp(k->path, path) != 0; k = k->next)
		;
	if (!k) {
		k = xcalloc(1, sizeof(*k));
		k->path = xstrdup(path);
		k->pages = pages;
		k->retry_us = CKPT_RETRY_US;
		pthread_mutex_init(&k->mu, NULL);
		pthread_cond_init(&k->cv, NULL);
		gate_init(k);
		k->next = list;
		list = k;
	}
	k->refs++;
	pthread_mutex_unlock(&list_mu);
	return k;
}

static void unlink_locked(struct sqlite_ckpt *k)
{
	struct sqlite_ckpt **p = &list;

	while (*p && *p != k)
		p = &(*p)->next;
	if (*p)
		*p = k->next;
}

void sqlite_ckpt_put(struct sqlite_ckpt *k)
{
	bool started;

	if (!k)
		return;
	pthread_mutex_lock(&list_mu);
	if (--k->refs > 0) {
		pthread_mutex_unlock(&list_mu);
		return;
	}
	unlink_locked(k);
	pthread_mutex_unlock(&list_mu);
	pthread_mutex_lock(&k->mu);
	k->stop = true;
	started = k->started;
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
	if (started)
		pthread_join(k->thread, NULL);
	pthread_mutex_destroy(&k->mu);
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->wmu);
	pthread_cond_destroy(&k->wcv);
	free(k->path);
	free(k);
}

void sqlite_ckpt_counts(struct sqlite_ckpt *k, struct sqlite_ckpt_counts *out)
{
	pthread_mutex_lock(&k->mu);
	*out = k->counts;
	pthread_mutex_unlock(&k->mu);
}

/*
 * The thread's connection: synchronous=FULL like the pool's (the checkpoint's syncs follow
 * it, and the VFS requires it); it never commits, so it has no hook.  Its busy timeout applies
 * to the PRAGMA, which reads the schema: a PASSIVE checkpoint never waits for a lock.
 */
static sqlite3 *open_own(const char *path)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
				 store_sqlite_vfs_name());

	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(db, CKPT_OPEN_BUSY_MS);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		return db;
	log_warn("sqlite: the checkpointer cannot open the database (%s); commits checkpoint "
		 "the log themselves until it is tried again",
		 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_close(db);
	return NULL;
}

/*
 * Writes the pages a checkpoint copied: SQLite syncs the database file only after a
 * checkpoint that reached the log's end, so without this the tail's sync would write them
 * all on the commit path.  A failure here changes nothing: that later sync is the one SQLite
 * relies on, and it reports its own errors.
 */
static void sync_database(sqlite3 *db)
{
	sqlite3_file *f = NULL;

	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK && f &&
	    f->pMethods)
		(void)f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
}

/*
 * A failure is logged once until a checkpoint succeeds again: on a full disk every failed
 * write asks for one (sqlite_ckpt_request), and each would fail the same way.  Each round is
 * followed by a sync, whether or not SQLite synced: what sqlite3_wal_checkpoint_v2() reports
 * is the log as this connection saw it when the round began, not whether commits added to it
 * since (SQLite syncs the database file only when none did), and a sync with nothing to write
 * costs little.
 */
static void checkpoint_rounds(struct sqlite_ckpt *k, sqlite3 *db)
{
	for (int i = 0; i < CKPT_ROUNDS; i++) {
		int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

		if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
			if (!k->warned)
				log_warn("sqlite: background checkpoint failed: %s",
					 sqlite3_errmsg(db));
			k->warned = true;
			return;
		}
		k->warned = false;
		sync_database(db);
	}
}

/* Under k->mu. */
static void fail_locked(struct sqlite_ckpt *k)
{
	k->failed = true;
	k->failed_at = time_mono_us();
	k->counts.failures++;
}

static void *run(void *arg)
{
	struct sqlite_ckpt *k = arg;
	sqlite3 *db = NULL;

	pthread_mutex_lock(&k->mu);
	for (;;) {
		while (!k->busy && !k->stop)
			pthread_cond_wait(&k->cv, &k->mu);
		if (k->stop)
			break;
		pthread_mutex_unlock(&k->mu);
		if (!db)
			db = open_own(k->path);
		if (db)
			checkpoint_rounds(k, db);
		pthread_mutex_lock(&k->mu);
		if (!db)
			fail_locked(k);
		k->busy = false;
		k->tail = true;
		k->counts.background++;
		pthread_cond_broadcast(&k->cv);
	}
	pthread_mutex_unlock(&k->mu);
	sqlite3_close(db);
	return NULL;
}

/* Under k->mu.  False when the commit must checkpoint itself. */
static bool wake_locked(struct sqlite_ckpt *k)
{
	if (k->failed && time_mono_us() - k->failed_at < k->retry_us)
		return false;
	k->failed = false; /* a thread that failed is started or opens the file again */
	if (!k->started) {
		if (pthread_create(&k->thread, NULL, run, k) != 0) {
			log_warn("sqlite: cannot start the checkpointer thread; commits checkpoint "
				 "the log themselves until it is tried again");
			fail_locked(k);
			return false;
		}
		k->started = true;
	}
	k->busy = true;
	pthread_cond_broadcast(&k->cv);
	return true;
}

/*
 * SQLite calls this after each commit on db, its write lock released; frames: the pages the
 * log holds.  A busy thread is left alone however large the log grows meanwhile.
 */
static int on_commit(void *arg, sqlite3 *db, const char *schema, int frames)
{
	struct sqlite_ckpt *k = arg;
	bool self = false;

	pthread_mutex_lock(&k->mu);
	k->counts.frames = frames;
	if (k->tail) {
		k->tail = false;
		k->counts.tails++;
		self = true;
	} else if (frames >= k->pages && !k->busy) {
		self = !wake_locked(k);
	}
	pthread_mutex_unlock(&k->mu);
	if (self)
		(void)sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

void sqlite_ckpt_retry_after(struct sqlite_ckpt *k, int ms)
{
	pthread_mutex_lock(&k->mu);
	k->retry_us = (int64_t)ms * 1000;
	pthread_mutex_unlock(&k->mu);
}

void sqlite_ckpt_request(struct sqlite_ckpt *k)
{
	pthread_mutex_lock(&k->mu);
	if (!k->busy)
		(void)wake_locked(k);
	pthread_mutex_unlock(&k->mu);
}

void sqlite_ckpt_attach(struct sqlite_ckpt *k, sqlite3 *db)
{
	(void)sqlite3_wal_hook(db, on_commit, k);
}
