/*
 * store_sqlite.c - the embedded SQLite backend (WAL, synchronous=FULL so a
 * committed decision survives power loss).
 */
#include "base/base.h"
#include "store/store_backend.h"
#include "store/store_sqlite_ckpt.h"
#include "store/store_sqlite_int.h"
#include "store/store_sqlite_vfs.h"
#include "base/buf.h"
#include "base/files.h"
#include "base/interrupt.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

/*
 * How long a statement waits for another connection's lock before SQLITE_BUSY
 * (ST_TIMEOUT, 503) when store_options sets no lock timeout.  WAL allows one writer
 * at a time: a writer waits for the one before it, as long as a borrower waits for
 * the pool (store.c).
 */
#define SQLITE_BUSY_MS 10000

#define SQLITE_STMT_CACHE 64 /* prepared statements kept per connection */

/*
 * Each connection caches its own statements: a sqlite3_stmt belongs to the
 * connection that prepared it, and a connection is used by one thread at a time, so
 * the cache needs no lock.
 */
struct cached_stmt {
	char *sql; /* the text as the caller gave it ("$N" placeholders) */
	sqlite3_stmt *stmt;
};

struct sqlite_conn {
	struct store_conn base; /* first */
	sqlite3 *db;
	struct sqlite_ckpt *ckpt; /* the file's checkpointer, which db's commits drive */
	struct cached_stmt cache[SQLITE_STMT_CACHE];
	int ncache;
	/*
	 * The failure after which SQLite rolled the open transaction back on its own
	 * (SQLITE_FULL, IOERR, NOMEM can); code ST_OK while none did.
	 */
	struct err ended;
	int busy_ms; /* the busy timeout, also the writer gate's longest wait */
	bool gated; /* inside the file's writer gate: a write transaction is open */
};

static struct sqlite_conn *to_sqlite(struct store_conn *c)
{
	return (struct sqlite_conn *)c;
}

sqlite3 *store_sqlite_handle(struct store_conn *c)
{
	return to_sqlite(c)->db;
}

/*
 * Maps a result code to a status by its primary code (the low byte: extended codes
 * are on, for the messages).  BUSY and LOCKED mean another writer held the lock past
 * the busy timeout, so the client may retry (503 timeout); CONSTRAINT is a duplicate
 * key or a violated check (409).  FULL, or an I/O error whose system error is ENOSPC
 * (or EDQUOT), is a full disk (503 storage_full): nothing was written, and a retry
 * works once there is room.  sqlite3_errmsg() dies at the next call on db, so the
 * message is copied into e now.
 */
enum status store_sqlite_status(sqlite3 *db, int rc, struct err *e, const char *what)
{
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	int sys = db ? sqlite3_system_errno(db) : 0;

	switch (rc & 0xff) {
	case SQLITE_INTERRUPT:
		/* stopped by stop_on_signal below: the signal is the reason, not "interrupted" */
		if (interrupt_check(e) != ST_OK)
			return err_ctx(ST_INTERRUPTED, e, "%s", what);
		return err_set(e, ST_INTERRUPTED, "%s: %s", what, msg);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return err_set(e, ST_TIMEOUT, "%s: %s", what, msg);
	case SQLITE_CONSTRAINT:
		return err_set(e, ST_CONFLICT, "%s: %s", what, msg);
	case SQLITE_FULL:
		return err_set(e, ST_STORAGE_FULL, "%s: %s", what, msg);
	case SQLITE_IOERR:
		if (sys == ENOSPC || sys == EDQUOT)
			return err_set(e, ST_STORAGE_FULL, "%s: %s", what, msg);
		return err_set(e, ST_IO, "%s: %s", what, msg);
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return err_set(e, ST_IO, "%s: %s", what, msg);
	default:
		return err_set(e, ST_INTERNAL, "%s: %s", what, msg);
	}
}

/* Creates the database's directory when missing, so a first run just works. */
static enum status ensure_parent(const char *path, struct err *e)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	enum status rc = ST_OK;
	struct stat sb;

	if (slash && slash != dir) {
		*slash = '\0';
		if (stat(dir, &sb) != 0)
			rc = mkdir_p(dir, e);
		else if (!S_ISDIR(sb.st_mode))
			rc = err_set(e, ST_IO, "'%s' is not a directory", dir);
	}
	free(dir);
	return rc;
}

/*
 * Whether the file may be switched to WAL: it is new (no schema yet) or cavra's (its migration
 * ledger, STORE_LEDGER, has cavra's column STORE_LEDGER_CURRENT, the test migrate_ledger_read
 * makes with the store's API once the file is open); existing (store_options'): only the latter.
 * Anything else is someone else's database reached by a mistyped path, or the original CAVRA's
 * before adoption; commands refuse those, and the journal mode is stored in the file, so switching
 * it would change the file they did not touch.
 */
static int may_switch_to_wal(sqlite3 *db, bool existing, bool *ok)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(
		db,
		"SELECT (NOT ?1 AND NOT EXISTS (SELECT 1 FROM sqlite_master)) OR "
		"EXISTS (SELECT 1 FROM pragma_table_info('" STORE_LEDGER "') "
		"WHERE name = '" STORE_LEDGER_CURRENT "')",
		-1, &s, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(s, 1, existing);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	*ok = rc == SQLITE_ROW && sqlite3_column_int(s, 0) != 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/*
 * Every connection sets these: they are per connection (foreign_keys is off by
 * default in every new one) except journal_mode, which is stored in the file.  WAL
 * lets readers go on while one writer writes; synchronous=FULL syncs the WAL at
 * every commit (NORMAL, often chosen with WAL, does not), so a committed decision
 * survives a power loss, not only a crash of the process.
 */
static enum status run_pragmas(sqlite3 *db, bool existing, struct err *e)
{
	static const char pragmas[] = "PRAGMA synchronous=FULL;"
				      "PRAGMA foreign_keys=ON;"
				      /* savepoint journals in memory, not in /var/tmp files */
				      "PRAGMA temp_store=MEMORY;";
	int rc = sqlite3_exec(db, pragmas, NULL, NULL, NULL);
	bool wal = false;

	if (rc == SQLITE_OK)
		rc = may_switch_to_wal(db, existing, &wal);
	if (rc == SQLITE_OK && wal)
		rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_status(db, rc, e, "configure database");
	return ST_OK;
}

/*
 * sqlite3_progress_handler's callback: a statement stops with SQLITE_INTERRUPT once a signal
 * asked the command to stop (base/interrupt.h), so that a long statement (an index built over
 * a restored table, a migration's copy) ends within milliseconds and the transaction is rolled
 * back, rather than running to its end first.  Short statements (ROLLBACK) never reach the
 * callback's interval.  serve never notes a signal, so for it this answers 0 for ever.
 */
static int stop_on_signal(void *ctx)
{
	UNUSED(ctx);
	return interrupt_signal() != 0;
}

#define SIGNAL_CHECK_OPS 10000 /* virtual machine steps between two looks at the signal */

/*
 * SQLITE_OPEN_NOMUTEX: the pool hands a connection to one thread at a time, so
 * SQLite's own per-connection mutex would only cost time.  The VFS gathers a commit's
 * WAL frames into one write (store_sqlite_vfs.h), which relies on run_pragmas()'s
 * synchronous=FULL.  The file's checkpointer thread copies the log into the database
 * instead of the commit that fills it (store_sqlite_ckpt.h).
 */
static enum status sqlite_connect(const char *path, const struct store_options *opt,
				  struct store_conn **out, struct err *e)
{
	int busy_ms = opt->lock_timeout_ms > 0 ? (int)opt->lock_timeout_ms : SQLITE_BUSY_MS;
	struct sqlite_conn *c;
	sqlite3 *db = NULL;
	enum status st;
	int rc;

	st = ensure_parent(path, e);
	if (st != ST_OK)
		return err_ctx(st, e, "open sqlite database '%s'", path);
	rc = sqlite3_open_v2(path, &db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     store_sqlite_vfs_name());
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, busy_ms);
		sqlite3_extended_result_codes(db, 1);
		sqlite3_progress_handler(db, SIGNAL_CHECK_OPS, stop_on_signal, NULL);
		st = run_pragmas(db, opt->existing, e);
	} else {
		st = store_sqlite_status(db, rc, e, "open");
	}
	if (st != ST_OK) {
		sqlite3_close(db);
		return err_ctx(st, e, "open sqlite database '%s'", path);
	}
	c = xcalloc(1, sizeof(*c));
	c->base.ops = &store_sqlite_ops;
	c->db = db;
	c->busy_ms = busy_ms;
	c->ckpt = sqlite_ckpt_get(path, opt->sqlite_checkpoint_pages > 0
						? (int)opt->sqlite_checkpoint_pages
						: STORE_SQLITE_CKPT_PAGES);
	sqlite_ckpt_attach(c->ckpt, db);
	*out = &c->base;
	return ST_OK;
}

static void sqlite_disconnect(struct store_conn *c)
{
	struct sqlite_conn *sc = to_sqlite(c);

	if (!c)
		return;
	for (int i = 0; i < sc->ncache; i++) {
		sqlite3_finalize(sc->cache[i].stmt);
		free(sc->cache[i].sql);
	}
	sqlite3_close(sc->db);
	if (sc->gated)
		sqlite_ckpt_writer_leave(sc->ckpt);
	sqlite_ckpt_put(sc->ckpt);
	free(c);
}

/*
 * A file has no server that could drop an idle connection; a handle that went bad
 * fails its next statement, which reports the error.
 */
static bool sqlite_alive(struct store_conn *c)
{
	UNUSED(c);
	return true;
}

/*
 * Called after a statement failed: when SQLite ended the open transaction on its own,
 * remembers why, so that what the caller runs next in that transaction answers with
 * the real cause (a full disk) instead of "no such savepoint" or "cannot commit".  A full
 * disk also asks for a checkpoint (sqlite_ckpt_request).
 */
static enum status failed(struct sqlite_conn *c, enum status st, const struct err *e)
{
	if (st == ST_STORAGE_FULL)
		sqlite_ckpt_request(c->ckpt);
	if (c->base.in_tx && c->ended.code == ST_OK && sqlite3_get_autocommit(c->db))
		err_set(&c->ended, st, "%s", e && e->msg[0] ? e->msg : status_name(st));
	return st;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Whether sql must not run because SQLite already ended the transaction; *st is the
 * answer then.  ROLLBACK (TO) and RELEASE have nothing left to undo or fold: they
 * succeed, so the caller neither marks the connection broken nor reopens it.  Anything
 * else, COMMIT included, fails with the error that ended the transaction: run
 * outside it, a SAVEPOINT would open a new transaction and its rows would be
 * committed while the caller is told they failed.
 */
static bool after_end(struct sqlite_conn *c, const char *sql, enum status *st, struct err *e)
{
	if (c->ended.code == ST_OK)
		return false;
	if (!c->base.in_tx) {
		err_clear(&c->ended);
		return false;
	}
	if (starts_with(sql, "ROLLBACK") || starts_with(sql, "RELEASE"))
		*st = ST_OK;
	else
		*st = err_set(e, c->ended.code, "transaction already ended: %s", c->ended.msg);
	return true;
}

static enum status exec_script_in(struct store_conn *c, const char *sql, struct err *e)
{
	struct sqlite_conn *sc = to_sqlite(c);
	enum status st;
	int rc;

	if (after_end(sc, sql, &st, e))
		return st;
	rc = sqlite3_exec(sc->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return failed(sc, store_sqlite_status(sc->db, rc, e, "execute"), e);
	return ST_OK;
}

/*
 * A write transaction holds the file's writer gate from its BEGIN IMMEDIATE until SQLite has
 * no transaction open on the connection: after its COMMIT or ROLLBACK, a BEGIN that failed,
 * or a failure after which SQLite rolled back on its own.
 */
static enum status gate_after(struct sqlite_conn *sc, enum status st)
{
	if (sc->gated && sqlite3_get_autocommit(sc->db)) {
		sc->gated = false;
		sqlite_ckpt_writer_leave(sc->ckpt);
	}
	return st;
}

static enum status sqlite_exec_script(struct store_conn *c, const char *sql, struct err *e)
{
	return gate_after(to_sqlite(c), exec_script_in(c, sql, e));
}

static enum status exec_in(struct store_conn *c, const char *sql, int nparams,
			   const char *const *params, int64_t *changes, struct err *e);

static enum status sqlite_exec(struct store_conn *c, const char *sql, int nparams,
			       const char *const *params, int64_t *changes, struct err *e)
{
	return gate_after(to_sqlite(c), exec_in(c, sql, nparams, params, changes, e));
}

/*
 * Writers take the write lock at BEGIN IMMEDIATE, where the busy timeout applies: a
 * deferred transaction that reads first and then writes can fail with SQLITE_BUSY
 * at once, without waiting, when another writer committed in between.  Reads and
 * snapshots use a deferred BEGIN: in WAL mode a read transaction sees one snapshot
 * from its first read to its end, which is what a backup needs.
 */
static enum status sqlite_begin(struct store_conn *c, enum store_tx_mode mode, struct err *e)
{
	struct sqlite_conn *sc = to_sqlite(c);
	int64_t until = time_mono_us() + (int64_t)sc->busy_ms * 1000;
	int64_t deadline = store_deadline_get();

	err_clear(&sc->ended);
	if (mode != STORE_TX_WRITE)
		return sqlite_exec_script(c, "BEGIN", e);
	if (deadline && deadline < until)
		until = deadline;
	if (!sc->gated && !sqlite_ckpt_writer_enter(sc->ckpt, until))
		return err_set(e, ST_TIMEOUT,
			       "begin: database is locked: another write transaction of this "
			       "process held it for the whole wait (%d ms at most)",
			       sc->busy_ms);
	sc->gated = true;
	return sqlite_exec_script(c, "BEGIN IMMEDIATE", e);
}

/*
 * Rewrites "$N" placeholders as "?N", leaving quoted text alone.
 *
 * SQLite reads "$1" as a named parameter and numbers those in order of first
 * appearance, so "... $2 ... $1" would bind the wrong values; "?N" binds by number,
 * as PostgreSQL's "$N" does.  A '$' inside a quoted literal or identifier is text.
 */
static char *rewrite_params(const char *sql)
{
	char *out = xstrdup(sql);
	char quote = 0;

	for (char *p = out; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '$' && isdigit((unsigned char)p[1])) {
			*p = '?';
		}
	}
	return out;
}

/*
 * A statement for sql: from the connection's cache (compiling the long
 * decision statements costs about as much as running them), else newly
 * prepared and cached while there is room (never for a one_shot statement).
 * *cached tells done_with() what to do afterwards.
 */
static enum status get_stmt(struct sqlite_conn *c, const char *sql, sqlite3_stmt **stmt,
			    bool *cached, struct err *e)
{
	char *q;
	int rc;

	for (int i = 0; !c->base.one_shot && i < c->ncache; i++) {
		if (strcmp(c->cache[i].sql, sql) == 0) {
			*stmt = c->cache[i].stmt;
			*cached = true;
			return ST_OK;
		}
	}
	q = rewrite_params(sql);
	rc = sqlite3_prepare_v3(c->db, q, -1, c->base.one_shot ? 0 : SQLITE_PREPARE_PERSISTENT,
				stmt, NULL);
	free(q);
	if (rc != SQLITE_OK)
		return store_sqlite_status(c->db, rc, e, "prepare");
	*cached = !c->base.one_shot && c->ncache < SQLITE_STMT_CACHE;
	if (*cached)
		c->cache[c->ncache++] = (struct cached_stmt){xstrdup(sql), *stmt};
	return ST_OK;
}

/* Resets a cached statement for its next use, or finalizes one that is not. */
static void done_with(sqlite3_stmt *stmt, bool cached)
{
	if (!cached) {
		sqlite3_finalize(stmt);
		return;
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

/*
 * Binds with SQLITE_STATIC: the caller's values live until exec or query returns,
 * and done_with() clears the bindings before that, so SQLite never needs a copy.
 */
static enum status prepare(struct sqlite_conn *c, const char *sql, int nparams,
			   const char *const *params, sqlite3_stmt **stmt, bool *cached,
			   struct err *e)
{
	enum status st = get_stmt(c, sql, stmt, cached, e);
	int rc;

	if (st != ST_OK)
		return st;
	/* a statement may use only some of the parameters (?N numbering) */
	if (nparams > sqlite3_bind_parameter_count(*stmt))
		nparams = sqlite3_bind_parameter_count(*stmt);
	for (int i = 0; i < nparams; i++) {
		if (params[i])
			rc = sqlite3_bind_text(*stmt, i + 1, params[i], -1, SQLITE_STATIC);
		else
			rc = sqlite3_bind_null(*stmt, i + 1);
		if (rc != SQLITE_OK)
			return store_sqlite_status(c->db, rc, e, "bind");
	}
	return ST_OK;
}

static enum status exec_in(struct store_conn *c, const char *sql, int nparams,
			   const char *const *params, int64_t *changes, struct err *e)
{
	sqlite3 *db = to_sqlite(c)->db;
	sqlite3_stmt *stmt = NULL;
	bool cached = false;
	enum status st;
	int rc;

	/* SQLite already rolled back after SQLITE_FULL, IOERR or NOMEM: nothing to undo */
	if (strcmp(sql, "ROLLBACK") == 0 && sqlite3_get_autocommit(db))
		return ST_OK;
	if (after_end(to_sqlite(c), sql, &st, e))
		return st;
	st = prepare(to_sqlite(c), sql, nparams, params, &stmt, &cached, e);
	if (st != ST_OK)
		goto out;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		st = failed(to_sqlite(c), store_sqlite_status(db, rc, e, "execute"), e);
		goto out;
	}
	if (changes)
		*changes = sqlite3_changes64(db);
out:
	if (stmt)
		done_with(stmt, cached);
	return st;
}

/*
 * Every value travels as text, as on PostgreSQL: sqlite3_column_text() converts
 * numbers.  It is called before sqlite3_column_bytes(), so the length is that of
 * the text form.  64 columns bound the arrays; sqlite_query() refuses a wider
 * result.
 */
static void add_row(struct store_rows *r, sqlite3_stmt *stmt)
{
	const char *vals[64];
	size_t lens[64];

	for (size_t i = 0; i < r->ncols; i++) {
		vals[i] = (const char *)sqlite3_column_text(stmt, (int)i);
		lens[i] = (size_t)sqlite3_column_bytes(stmt, (int)i);
	}
	store_rows_add(r, vals, lens);
}

static enum status sqlite_query(struct store_conn *c, const char *sql, int nparams,
				const char *const *params, struct store_rows **out, struct err *e)
{
	sqlite3 *db = to_sqlite(c)->db;
	struct store_rows *r = NULL;
	sqlite3_stmt *stmt = NULL;
	bool cached = false;
	enum status st;
	int rc;

	if (after_end(to_sqlite(c), sql, &st, e))
		return st;
	st = prepare(to_sqlite(c), sql, nparams, params, &stmt, &cached, e);
	if (st != ST_OK)
		goto out;
	if (sqlite3_column_count(stmt) > 64) {
		st = err_set(e, ST_INTERNAL, "query: more than 64 columns");
		goto out;
	}
	r = store_rows_new((size_t)sqlite3_column_count(stmt));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		add_row(r, stmt);
	if (rc != SQLITE_DONE) {
		st = failed(to_sqlite(c), store_sqlite_status(db, rc, e, "query"), e);
		goto out;
	}
	*out = r;
	r = NULL;
out:
	store_rows_free(r);
	if (stmt)
		done_with(stmt, cached);
	return st;
}

static enum status sqlite_lock_schema(struct store_conn *c, struct err *e)
{
	UNUSED(c);
	UNUSED(e);
	return ST_OK; /* BEGIN IMMEDIATE took the database's write lock */
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.kind = STORE_SQLITE,
	.connect = sqlite_connect,
	.disconnect = sqlite_disconnect,
	.alive = sqlite_alive,
	.begin = sqlite_begin,
	.exec_script = sqlite_exec_script,
	.exec = sqlite_exec,
	.query = sqlite_query,
	.lock_schema = sqlite_lock_schema,
	.stream = store_sqlite_stream,
	.load_begin = store_sqlite_load_begin,
	.load_row = store_sqlite_load_row,
	.load_end = store_sqlite_load_end,
	.table_exists_sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1",
	.column_exists_sql = "SELECT 1 FROM pragma_table_info($1) WHERE name = $2",
	.first_table_sql = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
			   "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name LIMIT 1",
	.empty_table_sql = "DELETE FROM ",
	/* an index with sql NULL is a constraint's (the primary key's): it stays */
	.load_indexes_sql = "SELECT name, sql, printf('DROP INDEX \"%w\"', name) "
			    "FROM sqlite_master WHERE type = 'index' "
			    "AND tbl_name = $1 AND sql IS NOT NULL ORDER BY name",
};
