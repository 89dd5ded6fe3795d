/*
 * store_pg.c - the PostgreSQL backend over libpq.
 *
 * Every session runs in UTC with ISO dates so that timestamps read back as
 * text parse the same way on every replica.
 */
#include "base/base.h"
#include "store/store_backend.h"
#include "store/store_pg_int.h"
#include "base/interrupt.h"
#include "base/log.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* Key of the transaction-scoped advisory lock that serialises migrations (store.h). */
#define PG_SCHEMA_LOCK_KEY STORE_PG_SCHEMA_LOCK_KEY

/*
 * Past this a statement runs unprepared, so what a connection keeps prepared on
 * the server stays bounded however many distinct texts the query builder makes.
 */
#define PG_PREPARED_MAX 64 /* statements prepared per connection at most */

struct pg_conn {
	struct store_conn base; /* first */
	PGconn *pg;
	char *prepared[PG_PREPARED_MAX]; /* SQL text of statement "cavra_<i>" */
	int nprepared;
	PGcancel *cancel; /* prepared at connect, for the watcher */
	struct interrupt_canceller *watch; /* NULL outside ops, audit and migrate */
};

static struct pg_conn *to_pg(struct store_conn *c)
{
	return (struct pg_conn *)c;
}

PGconn *store_pg_handle(struct store_conn *c)
{
	return to_pg(c)->pg;
}

/* Copies the first line of a libpq message (they end with '\n'). */
static void first_line(const char *msg, char *out, size_t size)
{
	size_t n = strcspn(msg, "\n");

	if (n >= size)
		n = size - 1;
	memcpy(out, msg, n);
	out[n] = '\0';
}

/*
 * A connection-level failure is ST_UNAVAILABLE (503, retry later): the server may
 * be restarting or failing over.  Only the first line of libpq's message is kept,
 * so a log record stays one line.
 */
static enum status conn_error(PGconn *pg, struct err *e, const char *what)
{
	char line[400];

	first_line(PQerrorMessage(pg), line, sizeof(line));
	return err_set(e, ST_UNAVAILABLE, "%s: %s", what, line[0] ? line : "connection failed");
}

/* The status of a SQLSTATE that is worth a retry (503), or ST_OK when it is not one. */
static enum status retryable(const char *state)
{
	/* 57014 query_canceled (statement_timeout), 55P03 lock_not_available (lock_timeout) */
	if (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0)
		return ST_TIMEOUT;
	/* 53100 disk_full; out of memory (53200) and too many connections (53300) pass */
	if (strcmp(state, "53100") == 0)
		return ST_STORAGE_FULL;
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 ||
	    strncmp(state, "53", 2) == 0)
		return ST_UNAVAILABLE;
	return ST_OK;
}

/* The rest of msg after prefix, or NULL when msg does not start with it. */
static const char *after(const char *msg, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(msg, prefix, n) == 0 ? msg + n : NULL;
}

/*
 * 42501 (insufficient privilege), said once for every caller: the role, the object and the
 * GRANT that is missing.  Left as PostgreSQL words it, a missing grant read as "no table yet"
 * or "10 pending migrations" to whoever met it first.  The GRANT named for a table is the one
 * docs/migrations.md gives the data role; an object that only its owner may change needs the
 * owner's credentials instead (migration_database_url).
 */
static enum status perm_error(struct pg_conn *c, const char *primary, struct err *e,
			      const char *what)
{
	const char *role = PQuser(c->pg) ? PQuser(c->pg) : "?";
	const char *obj;

	if ((obj = after(primary, "permission denied for table ")) != NULL)
		return err_set(e, ST_FORBIDDEN,
			       "%s: permission denied: role '%s' has no privilege on table '%s' "
			       "(missing GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO %s)",
			       what, role, obj, obj, role);
	if ((obj = after(primary, "permission denied for sequence ")) != NULL)
		return err_set(e, ST_FORBIDDEN,
			       "%s: permission denied: role '%s' has no privilege on sequence '%s' "
			       "(missing GRANT USAGE, SELECT ON SEQUENCE %s TO %s)",
			       what, role, obj, obj, role);
	if ((obj = after(primary, "permission denied for schema ")) != NULL)
		return err_set(e, ST_FORBIDDEN,
			       "%s: permission denied: role '%s' may not use schema '%s' (reading "
			       "needs GRANT USAGE ON SCHEMA %s TO %s; creating tables is for the "
			       "schema owner's credentials: migration_database_url)",
			       what, role, obj, obj, role);
	if ((obj = after(primary, "permission denied for database ")) != NULL)
		return err_set(e, ST_FORBIDDEN,
			       "%s: permission denied: role '%s' may not connect to database '%s' "
			       "(missing GRANT CONNECT ON DATABASE %s TO %s)",
			       what, role, obj, obj, role);
	if ((obj = after(primary, "must be owner of ")) != NULL)
		return err_set(e, ST_FORBIDDEN,
			       "%s: permission denied: role '%s' does not own %s: only the schema "
			       "owner may change it (use the owner's credentials: "
			       "migration_database_url)",
			       what, role, obj);
	return err_set(e, ST_FORBIDDEN, "%s: %s (role '%s')", what, primary, role);
}

/*
 * Maps a failed result to a status by SQLSTATE; copies the message.
 *
 * SQLSTATE classes: 08 (connection), 57 (operator intervention: shutdown,
 * cancel) and 53 (insufficient resources) are worth a retry, so 503; within them a
 * statement or lock timeout is ST_TIMEOUT and a full disk ST_STORAGE_FULL (retryable()).
 * 23505 (unique violation), 40001 (serialization failure) and 40P01
 * (deadlock) are 409; 42501 (insufficient privilege) is 403, as a least-privilege
 * role meets it.  A lost connection marks it broken so the pool drops it.
 */
enum status store_pg_error(struct store_conn *base, PGresult *res, struct err *e, const char *what)
{
	struct pg_conn *c = to_pg(base);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	enum status code = ST_INTERNAL;
	char line[400];

	if (PQstatus(c->pg) != CONNECTION_OK) {
		c->base.broken = true;
		return conn_error(c->pg, e, what);
	}
	if (!primary) {
		first_line(PQresultErrorMessage(res), line, sizeof(line));
		primary = line;
	}
	/* the cancel a signal sent (interrupt.h): the signal is why the statement stopped */
	if (state && strcmp(state, "57014") == 0 && interrupt_signal())
		return interrupt_check(e);
	if (state && retryable(state) != ST_OK)
		code = retryable(state);
	else if (state && (strcmp(state, "23505") == 0 || strcmp(state, "40001") == 0 ||
			   strcmp(state, "40P01") == 0))
		code = ST_CONFLICT;
	else if (state && strcmp(state, "42501") == 0)
		return perm_error(c, primary, e, what);
	return err_set(e, code, "%s: %s", what, primary);
}

/*
 * The session's settings: UTC and ISO dates always; the statement and lock timeouts
 * when the pool has them (serve), so that a query stuck behind a lock fails with
 * 55P03 or 57014 instead of holding its request and its connection for ever.  SET
 * rather than the startup "options": a pooler such as PgBouncer refuses unknown
 * startup parameters, and a URL that sets its own "options" would drop ours.
 */
static void session_sql(const struct store_options *opt, char *sql, size_t size)
{
	int n = snprintf(sql, size, "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'");

	if (opt->statement_timeout_ms > 0)
		n += snprintf(sql + n, size - (size_t)n, "; SET statement_timeout = %lld",
			      (long long)opt->statement_timeout_ms);
	if (opt->lock_timeout_ms > 0)
		snprintf(sql + n, size - (size_t)n, "; SET lock_timeout = %lld",
			 (long long)opt->lock_timeout_ms);
}

/*
 * expand_dbname=1 lets libpq parse the URL given as dbname, and the defaults given
 * before it yield to anything the URL says.  A 5 s connect_timeout makes a dead
 * host fail in seconds instead of after the operating system's TCP timeout;
 * TCP keepalives (first probe after 30 s idle, then every 10 s, 3 lost = dead)
 * notice a server or a network path that vanished without closing the socket, which
 * would otherwise leave a request waiting on a reply that never comes;
 * application_name shows cavra in pg_stat_activity.  The last key comes after the URL,
 * so its value (when not NULL) wins over the URL's: the application name of a
 * connection that must be found by it (store_pg_connect_start).
 */
static const char *const conn_keys[] = {"connect_timeout",
					"keepalives",
					"keepalives_idle",
					"keepalives_interval",
					"keepalives_count",
					"application_name",
					"dbname",
					"application_name",
					NULL};

int64_t store_pg_connect_timeout_s(const struct store_options *opt)
{
	return opt->connect_timeout_s > 0 ? opt->connect_timeout_s : 5;
}

/* The values of conn_keys; timeout is their storage for connect_timeout. */
static void conn_values(const char *url, const struct store_options *opt, const char *app_name,
			char timeout[24], const char *vals[ARRAY_SIZE(conn_keys)])
{
	const char *fixed[] = {timeout, "1", "30", "10", "3", "cavra", url, app_name, NULL};

	snprintf(timeout, 24, "%lld", (long long)store_pg_connect_timeout_s(opt));
	memcpy(vals, fixed, sizeof(fixed));
}

static PGconn *pg_open(const char *url, const struct store_options *opt)
{
	const char *vals[ARRAY_SIZE(conn_keys)];
	char timeout[24];

	conn_values(url, opt, NULL, timeout, vals);
	return PQconnectdbParams(conn_keys, vals, 1);
}

PGconn *store_pg_connect_start(const char *url, const struct store_options *opt,
			       const char *app_name)
{
	const char *vals[ARRAY_SIZE(conn_keys)];
	char timeout[24];

	conn_values(url, opt, app_name, timeout, vals);
	return PQconnectStartParams(conn_keys, vals, 1);
}

static void cancel_statement(void *cancel)
{
	char msg[256];

	(void)PQcancel(cancel, msg, sizeof(msg)); /* a failed cancel leaves the statement be */
}

/*
 * Under a command that stops on a signal (interrupt.h), a signal cancels the statement the
 * connection runs, whichever thread runs it.  The PGcancel is made here, in advance, and
 * freed only after the watcher lets go of it (pg_disconnect).  serve registers nothing.
 */
static void watch_signals(struct pg_conn *c)
{
	if (!interrupt_installed() || !(c->cancel = PQgetCancel(c->pg)))
		return;
	c->watch = interrupt_canceller_add(cancel_statement, c->cancel);
}

/*
 * What the server says outside a statement's result: a statement's NOTICE, or the FATAL with
 * which it ends an idle session ("terminating connection due to administrator command" from
 * pg_terminate_backend, a shutdown, a failover).  libpq's default prints it to stderr as a raw
 * line, which a log reader that expects log_format's lines (json, logfmt) cannot parse; it goes
 * through the log instead: a warning and worse as a warning, the rest at debug.
 */
static void log_server_message(void *arg, const PGresult *res)
{
	static const char *const loud[] = {"WARNING", "ERROR", "FATAL", "PANIC"};
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	(void)arg;
	if (!msg)
		return;
	for (size_t i = 0; sev && i < ARRAY_SIZE(loud); i++)
		if (strcmp(sev, loud[i]) == 0) {
			log_warn("postgres: %s: %s", sev, msg);
			return;
		}
	log_debug("postgres: %s: %s", sev ? sev : "NOTICE", msg);
}

static enum status pg_connect(const char *url, const struct store_options *opt,
			      struct store_conn **out, struct err *e)
{
	struct pg_conn *c;
	PGresult *res;
	PGconn *pg = pg_open(url, opt);
	char sql[192];

	if (!pg)
		return err_set(e, ST_UNAVAILABLE, "connect to postgres: out of memory");
	if (PQstatus(pg) != CONNECTION_OK) {
		enum status st = conn_error(pg, e, "connect to postgres");

		PQfinish(pg);
		return st;
	}
	PQsetNoticeReceiver(pg, log_server_message, NULL);
	session_sql(opt, sql, sizeof(sql));
	res = PQexec(pg, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		PQfinish(pg);
		return err_set(e, ST_UNAVAILABLE, "connect to postgres: session setup failed");
	}
	PQclear(res);
	c = xcalloc(1, sizeof(*c));
	c->base.ops = &store_pg_ops;
	c->pg = pg;
	watch_signals(c);
	*out = &c->base;
	return ST_OK;
}

static void pg_disconnect(struct store_conn *c)
{
	struct pg_conn *p = to_pg(c);

	if (!c)
		return;
	interrupt_canceller_remove(p->watch); /* first: the watcher may be using p->cancel */
	PQfreeCancel(p->cancel);
	PQfinish(p->pg);
	for (int i = 0; i < p->nprepared; i++)
		free(p->prepared[i]);
	free(c);
}

/*
 * A non-blocking read notices a server that closed the socket while the
 * connection sat idle in the pool (restart, failover, idle timeout).
 */
static bool pg_alive(struct store_conn *c)
{
	PGconn *pg = to_pg(c)->pg;

	if (PQstatus(pg) != CONNECTION_OK || !PQconsumeInput(pg))
		return false;
	return PQstatus(pg) == CONNECTION_OK && PQtransactionStatus(pg) == PQTRANS_IDLE;
}

static enum status pg_exec_script(struct store_conn *c, const char *sql, struct err *e)
{
	struct pg_conn *p = to_pg(c);
	PGresult *res = PQexec(p->pg, sql);
	enum status st = ST_OK;
	ExecStatusType rs = PQresultStatus(res);

	if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK && rs != PGRES_EMPTY_QUERY)
		st = store_pg_error(c, res, e, "execute");
	PQclear(res);
	return st;
}

/*
 * Reads and writes run at PostgreSQL's default, READ COMMITTED.  A snapshot is
 * REPEATABLE READ so that a backup reads every table at the same point in time;
 * READ ONLY turns any write in it into an error.
 */
static enum status pg_begin(struct store_conn *c, enum store_tx_mode mode, struct err *e)
{
	switch (mode) {
	case STORE_TX_SNAPSHOT:
		/*
		 * The SELECT takes the snapshot now: otherwise the first real query takes it,
		 * after it has waited for its table's lock, and sees what committed meanwhile.
		 */
		return pg_exec_script(
			c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1", e);
	case STORE_TX_READ:
	case STORE_TX_WRITE:
	default:
		return pg_exec_script(c, "BEGIN", e);
	}
}

/*
 * The slot of sql among p's prepared statements ("cavra_<slot>"), prepared now when it is
 * new; -1 when it runs unprepared: the pool keeps no prepared statements, the statement is
 * one_shot or has no parameters, or PG_PREPARED_MAX are kept already.  A failed prepare
 * returns its result (the caller's to clear), NULL otherwise.
 */
static PGresult *prepared_slot(struct pg_conn *p, const char *sql, int nparams, int *slot)
{
	char name[24];
	int i;

	*slot = -1;
	if (!p->base.prepare || p->base.one_shot || nparams == 0)
		return NULL;
	for (i = 0; i < p->nprepared; i++)
		if (strcmp(p->prepared[i], sql) == 0)
			break;
	if (i == PG_PREPARED_MAX)
		return NULL;
	if (i == p->nprepared) {
		PGresult *res;

		snprintf(name, sizeof(name), "cavra_%d", i);
		res = PQprepare(p->pg, name, sql, nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			return res;
		PQclear(res);
		p->prepared[p->nprepared++] = xstrdup(sql);
	}
	*slot = i;
	return NULL;
}

/*
 * Runs a parameterised statement, prepared once per connection when the pool
 * allows it (the parse and plan of the decision insert cost about as much as
 * executing it).  Statements past PG_PREPARED_MAX, and one_shot ones, run unprepared.
 */
static PGresult *run(struct pg_conn *p, const char *sql, int nparams, const char *const *params)
{
	char name[24];
	int slot;
	PGresult *failed = prepared_slot(p, sql, nparams, &slot);

	if (failed)
		return failed;
	if (slot < 0)
		return PQexecParams(p->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	snprintf(name, sizeof(name), "cavra_%d", slot);
	return PQexecPrepared(p->pg, name, nparams, params, NULL, NULL, 0);
}

enum status store_pg_prepared(struct store_conn *c, const char *sql, int nparams, char name[24],
			      struct err *e)
{
	int slot;
	PGresult *failed = prepared_slot(to_pg(c), sql, nparams, &slot);
	enum status st = ST_OK;

	name[0] = '\0';
	if (failed)
		st = store_pg_error(c, failed, e, "prepare");
	else if (slot >= 0)
		snprintf(name, 24, "cavra_%d", slot);
	PQclear(failed);
	return st;
}

static enum status pg_exec(struct store_conn *c, const char *sql, int nparams,
			   const char *const *params, int64_t *changes, struct err *e)
{
	struct pg_conn *p = to_pg(c);
	PGresult *res = run(p, sql, nparams, params);
	ExecStatusType rs = PQresultStatus(res);
	enum status st = ST_OK;

	if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK)
		st = store_pg_error(c, res, e, "execute");
	else if (changes)
		*changes = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return st;
}

static enum status pg_query(struct store_conn *c, const char *sql, int nparams,
			    const char *const *params, struct store_rows **out, struct err *e)
{
	struct pg_conn *p = to_pg(c);
	PGresult *res = run(p, sql, nparams, params);
	struct store_rows *r;
	const char *vals[64];
	size_t lens[64];
	int nrows, ncols;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		enum status st = store_pg_error(c, res, e, "query");

		PQclear(res);
		return st;
	}
	nrows = PQntuples(res);
	ncols = PQnfields(res);
	if (ncols > 64) {
		PQclear(res);
		return err_set(e, ST_INTERNAL, "query: more than 64 columns");
	}
	r = store_rows_new((size_t)ncols);
	for (int i = 0; i < nrows; i++) {
		for (int j = 0; j < ncols; j++) {
			vals[j] = PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j);
			lens[j] = (size_t)PQgetlength(res, i, j);
		}
		store_rows_add(r, vals, lens);
	}
	PQclear(res);
	*out = r;
	return ST_OK;
}

/*
 * Transaction-scoped, so COMMIT or ROLLBACK releases it and a migrator that dies
 * cannot leave it held, not even behind a pooler that keeps server sessions open.
 * A second migrator waits here until the first commits, then sees its ledger.
 */
static enum status pg_lock_schema(struct store_conn *c, struct err *e)
{
	return pg_exec_script(c, "SELECT pg_advisory_xact_lock(" PG_SCHEMA_LOCK_KEY ")", e);
}

const struct store_ops store_pg_ops = {
	.name = "postgres",
	.kind = STORE_POSTGRES,
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.alive = pg_alive,
	.begin = pg_begin,
	.exec_script = pg_exec_script,
	.exec = pg_exec,
	.query = pg_query,
	.lock_schema = pg_lock_schema,
	.stream = store_pg_stream,
	.load_begin = store_pg_load_begin,
	.load_row = store_pg_load_row,
	.load_end = store_pg_load_end,
	/*
	 * The catalogs, not information_schema: information_schema hides a table from a role
	 * that holds no privilege on it, so a missing GRANT looked like a missing table (an
	 * empty database) instead of failing with 42501 on the first read (perm_error).
	 */
	.table_exists_sql = "SELECT 1 FROM pg_catalog.pg_class t "
			    "WHERE t.relnamespace = current_schema()::regnamespace "
			    "AND t.relname = $1 AND t.relkind IN ('r', 'p')",
	.column_exists_sql = "SELECT 1 FROM pg_catalog.pg_attribute a "
			     "JOIN pg_catalog.pg_class t ON t.oid = a.attrelid "
			     "WHERE t.relnamespace = current_schema()::regnamespace "
			     "AND t.relname = $1 AND a.attname = $2 AND a.attnum > 0 "
			     "AND NOT a.attisdropped",
	/* any schema's: an application may keep its tables outside the one cavra uses */
	.first_table_sql =
		"SELECT format('%I.%I', n.nspname, t.relname) FROM pg_catalog.pg_class t "
		"JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace "
		"WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' "
		"AND t.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') ORDER BY 1 LIMIT 1",
	.empty_table_sql = "TRUNCATE ", /* transactional on PostgreSQL */
	/* indexes behind no constraint, and the primary key unless a foreign key needs it */
	.load_indexes_sql =
		"SELECT i.relname, pg_get_indexdef(i.oid), format('DROP INDEX %I', i.relname) "
		"FROM pg_index x "
		"JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
		"WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = $1 "
		"AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) "
		"UNION ALL "
		"SELECT k.conname, format('ALTER TABLE %I ADD CONSTRAINT %I %s', t.relname, "
		"k.conname, pg_get_constraintdef(k.oid)), "
		"format('ALTER TABLE %I DROP CONSTRAINT %I', t.relname, k.conname) "
		"FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid "
		"WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = $1 "
		"AND k.contype = 'p' "
		"AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = t.oid) "
		"ORDER BY 1",
};
