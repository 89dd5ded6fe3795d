/*
 * store_sqlite_ckpt.h - a SQLite file's write-ahead log checkpointed on a thread of its own,
 * beside the commits instead of inside one.  Private to internal/store.
 */
#ifndef CAVRA_STORE_SQLITE_CKPT_H
#define CAVRA_STORE_SQLITE_CKPT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * SQLite's own checkpoint runs inside the commit that crosses wal_autocheckpoint (1,000
 * pages): that commit copies every page the log holds into the database file and syncs it
 * (about 10 ms of scattered writes here) while every caller waits.  Instead, a commit that
 * finds the log at STORE_SQLITE_CKPT_PAGES or more wakes the file's checkpointer thread, which
 * on a connection of its own copies the pages that commits have published (a PASSIVE
 * checkpoint, which never blocks a writer or a reader) and syncs the database file, twice, the
 * second round taking what was committed during the first.  The next commit then copies the
 * few pages committed since (the tail) and syncs them: only a checkpoint that reaches the end
 * of the log lets SQLite start the log again from its beginning, and one on the committing
 * connection gets there because no other commit runs beside it.
 *
 * Durability is SQLite's: commits still sync the log (synchronous=FULL), a checkpoint that stops
 * short of the log's end leaves the log in place (SQLite starts it over only after a checkpoint
 * that reached its end and synced the database), and the extra syncs only start writing the
 * copied pages earlier.  If the thread cannot be started or cannot open the file, the commit
 * checkpoints itself, as SQLite would, and the thread is tried again 30 s later.
 *
 * 8,000 pages (a log of about 32 MiB of 4 KiB pages): the larger the log between checkpoints,
 * the more of a page's changes one copy carries (docs/benchmarks.md has the measurements).
 * serve's sqlite_checkpoint_pages setting chooses another size (store_options).
 */
#define STORE_SQLITE_CKPT_PAGES 8000

struct sqlite_ckpt;

/*
 * The checkpointer of the file at path: one per path in the process, shared by every
 * connection that gets it, its thread started at the first checkpoint it is asked for.
 * pages: the log's size in pages that asks for one (the first caller's holds).  Never NULL.
 */
struct sqlite_ckpt *sqlite_ckpt_get(const char *path, int pages);

/*
 * Makes db's commits ask k for checkpoints (sqlite3_wal_hook), which turns SQLite's own
 * automatic checkpoint off on db.  db must be a connection to k's file in WAL mode.
 */
void sqlite_ckpt_attach(struct sqlite_ckpt *k, sqlite3 *db);

/*
 * Asks for a checkpoint whatever the log's size: store_sqlite.c calls it when a write failed on
 * a full disk, where a log that cannot grow to the threshold would otherwise never be copied,
 * and only a checkpoint lets the log start over in the space its file already has.
 */
void sqlite_ckpt_request(struct sqlite_ckpt *k);

/*
 * Gives back one sqlite_ckpt_get(), after closing the connection attached with it; the last
 * one waits for a running checkpoint to end, stops the thread and closes its connection.
 * NULL-safe.
 */
void sqlite_ckpt_put(struct sqlite_ckpt *k);

/*
 * The file's writer gate: one write transaction of the process on the file at a time.  SQLite
 * itself lets a second writer wait only by polling (its busy handler sleeps 1, 2, 5 ... then
 * 100 ms between tries), so with several writers one could lose every try for a second or
 * more while others came and went.  A writer that passes the gate first is woken as soon as
 * the one before it leaves, and then takes SQLite's lock at once; other processes on the file
 * still meet the busy handler.  sqlite_ckpt_writer_enter waits until until_us
 * (time_mono_us()) and says whether it got in; the caller leaves once its transaction ended.
 */
bool sqlite_ckpt_writer_enter(struct sqlite_ckpt *k, int64_t until_us);
void sqlite_ckpt_writer_leave(struct sqlite_ckpt *k);

/* How long after failing to start or to open the file the thread is tried again (30 s). */
void sqlite_ckpt_retry_after(struct sqlite_ckpt *k, int ms);

/*
 * For tests: the thread's wake-ups done (all their rounds, or a failure to open the file), the
 * tails copied by commits, the times the thread could not start or open the file, and the
 * pages the log held at the last commit.
 */
struct sqlite_ckpt_counts {
	long background, tails, failures;
	int frames;
};
void sqlite_ckpt_counts(struct sqlite_ckpt *k, struct sqlite_ckpt_counts *out);

#endif
