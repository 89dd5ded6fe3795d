/*
 * store_pg_bulk.c - bulk reads and loads on PostgreSQL through COPY: a
 * backup streams each table with COPY (query) TO STDOUT and a restore loads
 * it with COPY FROM STDIN, both in the binary format, instead of a result
 * set per page and an INSERT per batch.
 *
 * Binary format: a signature, flags and header extension, then per row a
 * 16-bit field count and per field a 32-bit length (-1 for NULL) and the
 * value in the type's send form; a count of -1 ends the data.  The types
 * read and written are the ones probe_types knows; any other column type
 * fails loudly rather than being guessed.
 */
#include "base/base.h"
#include "store/store_pg_int.h"
#include "base/buf.h"
#include "base/interrupt.h"
#include "base/timeutil.h"
#include "base/num.h"
#include "base/xalloc.h"

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define LOAD_FLUSH   ((size_t)256 << 10) /* bytes handed to libpq at a time */
#define READ_BATCH   (128 << 10) /* bytes a reading wait asks for */
#define READ_WAIT_MS 2 /* and how long it waits at most */

/* ---- COPY TO: reading ---- */

/* Stops a running COPY after an error of ours; the server answers with an error we drop. */
static void cancel(PGconn *pg)
{
	PGcancel *cn = PQgetCancel(pg);
	char msg[256];

	if (cn) {
		PQcancel(cn, msg, sizeof(msg));
		PQfreeCancel(cn);
	}
}

/*
 * Collects the results after a COPY; the first failure is the statement's.
 * *rows (may be NULL) gets the rows COPY reports.
 */
static enum status finish(struct store_conn *c, enum status st, int64_t *rows, struct err *e,
			  const char *what)
{
	PGconn *pg = store_pg_handle(c);
	PGresult *res;

	while ((res = PQgetResult(pg)) != NULL) {
		if (st == ST_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
			st = store_pg_error(c, res, e, what);
		else if (st == ST_OK && rows)
			*rows = strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	return st;
}

/* ---- COPY TO in binary: the column types this side turns into text ---- */

/* pg_type OIDs (stable across releases: they are in the system catalogue's bootstrap data). */
enum {
	OID_BOOL = 16,
	OID_INT8 = 20,
	OID_INT2 = 21,
	OID_INT4 = 23,
	OID_TEXT = 25,
	OID_JSON = 114,
	OID_VARCHAR = 1043,
	OID_TIMESTAMPTZ = 1184,
	OID_JSONB = 3802,
};

#define PG_EPOCH_US 946684800000000LL /* 2000-01-01 in Unix microseconds */
#define BIN_HEADER  19 /* signature (11), flags (4), extension length (4) */

static const char bin_signature[11] = "PGCOPY\n\377\r\n";

struct bin_stream {
	Oid types[STORE_BULK_MAX_COLS];
	size_t ncols;
	bool header_seen, trailer_seen;
	struct buf pending; /* bytes of a tuple cut by a message boundary */
	struct buf values; /* the current row's values as NUL-terminated text */
	store_row_fn fn;
	void *ctx;
};

/* Runs a statement that returns no rows; *rows (may be NULL) gets the rows it reports. */
static enum status exec_ok(struct store_conn *c, const char *sql, int64_t *rows, const char *what,
			   struct err *e)
{
	PGresult *res = PQexec(store_pg_handle(c), sql);
	enum status st = ST_OK;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		st = store_pg_error(c, res, e, what);
	else if (rows)
		*rows = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return st;
}

static bool known_type(Oid t)
{
	return t == OID_BOOL || t == OID_INT8 || t == OID_INT2 || t == OID_INT4 || t == OID_TEXT ||
	       t == OID_JSON || t == OID_VARCHAR || t == OID_TIMESTAMPTZ || t == OID_JSONB;
}

/*
 * The types of the ncols columns of query, each one this side converts to
 * or from binary: every type the schema uses; a new one fails here, loudly,
 * and in the backup tests.  names (may be NULL) gets the column names,
 * caller's.  what names the operation in errors.  The query is only parsed
 * and described (the unnamed prepared statement), never planned or run: run
 * with LIMIT 0 it was planned on a table a restore had just loaded, without
 * statistics, and its cost woke PostgreSQL's JIT compiler, about 0.3 s for a
 * query that returns nothing (docs/benchmarks.md).
 */
static enum status probe_types(struct store_conn *c, const char *query, size_t ncols, Oid *types,
			       char **names, const char *what, struct err *e)
{
	PGconn *pg = store_pg_handle(c);
	PGresult *res = PQprepare(pg, "", query, 0, NULL);
	enum status st = ST_OK;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		st = store_pg_error(c, res, e, what);
	PQclear(res);
	if (st != ST_OK)
		return st;
	res = PQdescribePrepared(pg, "");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		st = store_pg_error(c, res, e, what);
	else if ((size_t)PQnfields(res) != ncols)
		st = err_set(e, ST_INTERNAL, "%s: %d columns, expected %zu", what, PQnfields(res),
			     ncols);
	for (size_t i = 0; st == ST_OK && i < ncols; i++) {
		types[i] = PQftype(res, (int)i);
		if (names)
			names[i] = xstrdup(PQfname(res, (int)i));
		if (!known_type(types[i]))
			st = err_set(e, ST_INTERNAL,
				     "%s: column '%s' has a type (oid %u) that is not converted "
				     "to or from binary",
				     what, PQfname(res, (int)i), (unsigned)types[i]);
	}
	PQclear(res);
	return st;
}

static uint64_t be(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Appends the text form of one binary value (as PostgreSQL's text output would give it). */
static enum status bin_value(Oid type, const unsigned char *p, size_t n, struct buf *out,
			     struct err *e)
{
	char tmp[32];
	size_t width = type == OID_INT8 ? 8 : type == OID_INT4 ? 4 : 2;

	switch (type) {
	case OID_BOOL:
		return n == 1 ? buf_add(out, p[0] ? "t" : "f", 1, e)
			      : err_set(e, ST_INTERNAL, "COPY binary: bad boolean");
	case OID_INT8:
	case OID_INT4:
	case OID_INT2: {
		uint64_t u = be(p, width);
		int64_t v = width == 8	 ? (int64_t)u
			    : width == 4 ? (int64_t)(int32_t)(uint32_t)u
					 : (int64_t)(int16_t)(uint16_t)u;

		if (n != width)
			return err_set(e, ST_INTERNAL, "COPY binary: bad integer");
		snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
		return buf_adds(out, tmp, e);
	}
	case OID_TIMESTAMPTZ: {
		int64_t v = n == 8 ? (int64_t)be(p, 8) : 0;

		if (n != 8)
			return err_set(e, ST_INTERNAL, "COPY binary: bad timestamp");
		if (v == INT64_MAX || v == INT64_MIN)
			return buf_adds(out, v > 0 ? "infinity" : "-infinity", e);
		time_format_utc(v + PG_EPOCH_US, tmp, sizeof(tmp));
		return buf_adds(out, tmp, e);
	}
	case OID_JSONB: /* a version byte, then the text */
		if (n < 1 || p[0] != 1)
			return err_set(e, ST_INTERNAL, "COPY binary: unknown jsonb version");
		return buf_add(out, p + 1, n - 1, e);
	default: /* text, varchar, json: the bytes themselves */
		return buf_add(out, p, n, e);
	}
}

/*
 * One tuple at *p (with *left bytes after it): 0 when it is not all there
 * yet, else its length; the row is converted and handed to the callback.
 */
static enum status bin_tuple(struct bin_stream *bs, const unsigned char *p, size_t left,
			     size_t *used, struct err *e)
{
	size_t off[STORE_BULK_MAX_COLS], len[STORE_BULK_MAX_COLS], at = 2;
	const char *vals[STORE_BULK_MAX_COLS];
	int16_t nf;
	enum status st = ST_OK;
	/* read once: buf_reset below is opaque to clang's analyzer, which then lets ncols change */
	const size_t ncols = bs->ncols;

	*used = 0;
	if (left < 2)
		return ST_OK;
	nf = (int16_t)be(p, 2);
	if (nf == -1) {
		bs->trailer_seen = true;
		*used = 2;
		return ST_OK;
	}
	if ((size_t)nf != ncols)
		return err_set(e, ST_INTERNAL, "COPY binary: %d fields, expected %zu", nf, ncols);
	for (size_t i = 0; i < ncols; i++) {
		int32_t n;

		if (left - at < 4)
			return ST_OK;
		n = (int32_t)(uint32_t)be(p + at, 4);
		at += 4;
		if (n >= 0 && left - at < (size_t)n)
			return ST_OK;
		off[i] = at;
		len[i] = n < 0 ? SIZE_MAX : (size_t)n;
		at += n < 0 ? 0 : (size_t)n;
	}
	buf_reset(&bs->values);
	for (size_t i = 0; i < ncols && st == ST_OK; i++) {
		size_t start = bs->values.len;

		if (len[i] == SIZE_MAX) {
			off[i] = SIZE_MAX;
			len[i] = 0;
			continue;
		}
		st = bin_value(bs->types[i], p + off[i], len[i], &bs->values, e);
		if (st == ST_OK)
			st = buf_add(&bs->values, "", 1, e); /* the NUL that ends the value */
		off[i] = start;
		len[i] = bs->values.len - start - 1;
	}
	/* only now: the buffer may have moved while it grew */
	for (size_t i = 0; i < ncols; i++)
		vals[i] = off[i] == SIZE_MAX ? NULL : bs->values.data + off[i];
	/* a signal stops the COPY here: cancel() then ends it on the server */
	if (st == ST_OK)
		st = interrupt_check(e);
	if (st == ST_OK)
		st = bs->fn(bs->ctx, vals, len, e);
	*used = at;
	return st;
}

/* The tuples of one CopyData message; a tuple cut at its end waits in pending. */
static enum status bin_message(struct bin_stream *bs, const unsigned char *p, size_t n,
			       struct err *e)
{
	enum status st = ST_OK;
	size_t used = 1;

	if (bs->pending.len) {
		st = buf_add(&bs->pending, p, n, e);
		p = (const unsigned char *)bs->pending.data;
		n = bs->pending.len;
	}
	if (st == ST_OK && !bs->header_seen) {
		if (n < BIN_HEADER || memcmp(p, bin_signature, sizeof(bin_signature)) != 0 ||
		    be(p + 15, 4) != 0)
			return err_set(e, ST_INTERNAL, "COPY binary: unexpected header");
		bs->header_seen = true;
		p += BIN_HEADER;
		n -= BIN_HEADER;
	}
	while (st == ST_OK && n > 0 && used > 0 && !bs->trailer_seen) {
		st = bin_tuple(bs, p, n, &used, e);
		p += used;
		n -= used;
	}
	if (st == ST_OK && n > 0 && bs->trailer_seen)
		st = err_set(e, ST_INTERNAL, "COPY binary: data after the trailer");
	if (st == ST_OK) {
		/* keep what is left (it may live in pending itself: move it down first) */
		char *rest = n ? xmalloc(n) : NULL;

		if (n)
			memcpy(rest, p, n);
		buf_reset(&bs->pending);
		if (n)
			st = buf_add(&bs->pending, rest, n, e);
		free(rest);
	}
	return st;
}

/* The socket's receive low-water mark: poll() reports it readable from this many bytes on. */
static void set_rcvlowat(PGconn *pg, int bytes)
{
	int fd = PQsocket(pg);

	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof(bytes));
}

/*
 * The next COPY message, like PQgetCopyData(pg, msg, 0), but waiting for a
 * batch of data rather than for every packet: with the low-water mark set,
 * a wait ends when READ_BATCH bytes are there or after READ_WAIT_MS.
 * Each packet waking this thread cost more than its rows (a
 * wake-up per 8 kB the server sends).
 */
static int next_copy_message(PGconn *pg, char **msg)
{
	int n;

	while ((n = PQgetCopyData(pg, msg, 1)) == 0) {
		struct pollfd p = {.fd = PQsocket(pg), .events = POLLIN};

		/* what has arrived, without waiting; only when no message is whole, a wait */
		if (!PQconsumeInput(pg))
			return -2;
		if ((n = PQgetCopyData(pg, msg, 1)) != 0)
			return n;
		(void)poll(&p, 1, READ_WAIT_MS);
	}
	return n;
}

/* Reads every message of a running COPY; stops the server at our first error. */
static enum status copy_out_loop(struct store_conn *c, struct bin_stream *bs, struct err *e)
{
	PGconn *pg = store_pg_handle(c);
	enum status st = ST_OK;
	bool cancelled = false;
	char *msg = NULL;
	int n;

	set_rcvlowat(pg, READ_BATCH);
	while ((n = next_copy_message(pg, &msg)) >= 0) {
		if (st == ST_OK)
			st = bin_message(bs, (const unsigned char *)msg, (size_t)n, e);
		PQfreemem(msg);
		msg = NULL;
		if (st != ST_OK && !cancelled) {
			cancel(pg);
			cancelled = true;
		}
	}
	set_rcvlowat(pg, 1); /* libpq's own waits must wake for any byte again */
	/*
	 * The statement's own error first: a COPY cancelled (a signal, interrupt.h) or failed on
	 * the server ends its data early too, and that is not why it stopped.
	 */
	st = finish(c, st, NULL, e, "copy out");
	if (st == ST_OK && (!bs->trailer_seen || bs->pending.len))
		st = err_set(e, ST_INTERNAL, "COPY binary: the data ended early");
	return st;
}

/*
 * A stream reads a whole table or join once, where JIT compilation has little to win, and on
 * tables without statistics (a restore's, right after its load) the planner's estimates make
 * the server compile reads that return nothing: the approvals' check after a 1M restore took
 * 126 ms with JIT and 3 ms without (docs/benchmarks.md).  Off for the rest of the caller's
 * transaction, when there is one (a backup's and a verification's snapshot, an adoption's
 * page); a stream on its own keeps the server's setting.
 */
static enum status no_jit(struct store_conn *c, struct err *e)
{
	if (PQtransactionStatus(store_pg_handle(c)) != PQTRANS_INTRANS)
		return ST_OK;
	return exec_ok(c, "SET LOCAL jit = off", NULL, "copy out", e);
}

enum status store_pg_stream(struct store_conn *c, const char *sql, size_t ncols, store_row_fn fn,
			    void *ctx, struct err *e)
{
	struct bin_stream bs = {.ncols = ncols, .fn = fn, .ctx = ctx};
	enum status st = probe_types(c, sql, ncols, bs.types, NULL, "copy out", e);
	PGresult *res;
	char *copy;

	if (st == ST_OK)
		st = no_jit(c, e);
	if (st != ST_OK)
		return st;
	copy = xasprintf("COPY (%s) TO STDOUT (FORMAT binary)", sql);
	res = PQexec(store_pg_handle(c), copy);
	free(copy);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		st = store_pg_error(c, res, e, "copy out");
		PQclear(res);
		return finish(c, st, NULL, e, "copy out");
	}
	PQclear(res);
	buf_init(&bs.pending, (size_t)1 << 30);
	buf_init(&bs.values, (size_t)1 << 30);
	st = copy_out_loop(c, &bs, e);
	buf_release(&bs.pending);
	buf_release(&bs.values);
	return st;
}

/* ---- COPY FROM in binary: loading ---- */

/*
 * Rows go to the server in COPY's binary format too: the server then takes
 * times and integers as they are stored instead of parsing their text, and
 * reads no escapes (about a fifth of a restore's time in the database).
 */
struct pg_load {
	struct store_load base; /* first */
	struct buf out; /* rows not yet handed to libpq */
	char *table, *cols; /* cols: "a, b, c" */
	char *temp; /* skip_existing: the temporary table rows go through */
	size_t ncols;
	Oid types[STORE_BULK_MAX_COLS];
	char *names[STORE_BULK_MAX_COLS];
	bool failed;
};

static void join_cols(struct buf *b, const char *const *cols, size_t ncols)
{
	for (size_t i = 0; i < ncols; i++) {
		/* identifiers from the catalogue: far below the cap */
		buf_xadds(b, i ? ", " : "");
		buf_xadds(b, cols[i]);
	}
}

static void load_free(struct pg_load *l)
{
	buf_release(&l->out);
	for (size_t i = 0; i < l->ncols; i++)
		free(l->names[i]);
	free(l->cols);
	free(l->table);
	free(l->temp);
	free(l);
}

/*
 * Not FREEZE, though the restore has just truncated the table: marking
 * every page all-visible while loading cost about three seconds more per
 * million decisions than it saved (measured against pg_restore, which does
 * not freeze either).
 */
static enum status start_copy(struct pg_load *l, struct err *e)
{
	char *sql = xasprintf("COPY %s (%s) FROM STDIN WITH (FORMAT binary)",
			      l->temp ? l->temp : l->table, l->cols);
	PGresult *res = PQexec(store_pg_handle(l->base.c), sql);
	enum status st = ST_OK;
	static const char header[BIN_HEADER] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0";

	free(sql);
	if (PQresultStatus(res) != PGRES_COPY_IN)
		st = store_pg_error(l->base.c, res, e, "copy in");
	PQclear(res);
	return st == ST_OK ? buf_add(&l->out, header, sizeof(header), e) : st;
}

enum status store_pg_load_begin(struct store_conn *c, const char *table, const char *const *cols,
				size_t ncols, enum store_load_mode mode, struct store_load **out,
				struct err *e)
{
	struct pg_load *l = xcalloc(1, sizeof(*l));
	struct buf names = BUF_INIT;
	enum status st;
	char *sql;

	l->base.c = c;
	l->ncols = ncols;
	join_cols(&names, cols, ncols);
	l->cols = buf_detach(&names, NULL);
	l->table = xstrdup(table);
	buf_init(&l->out, (size_t)1 << 28); /* a row of the largest payload */
	sql = xasprintf("SELECT %s FROM %s", l->cols, table);
	st = probe_types(c, sql, ncols, l->types, l->names, "copy in", e);
	free(sql);
	if (st == ST_OK && mode == STORE_LOAD_SKIP_EXISTING) {
		l->temp = xasprintf("cavra_load_%s", table);
		sql = xasprintf("CREATE TEMPORARY TABLE %s ON COMMIT DROP AS SELECT %s FROM %s "
				"WITH NO DATA",
				l->temp, l->cols, table);
		st = exec_ok(c, sql, NULL, "load", e);
		free(sql);
	}
	if (st == ST_OK)
		st = start_copy(l, e);
	if (st != ST_OK) {
		st = finish(c, st, NULL, e, "copy in");
		load_free(l);
		return st;
	}
	*out = &l->base;
	return ST_OK;
}

static enum status put_be(struct buf *b, uint64_t v, size_t n, struct err *e)
{
	unsigned char tmp[8];

	for (size_t i = 0; i < n; i++)
		tmp[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	return buf_add(b, tmp, n, e);
}

/* A fixed-width value: its length, then its big-endian bytes. */
static enum status put_fixed(struct buf *b, uint64_t v, size_t width, struct err *e)
{
	enum status st = put_be(b, width, 4, e);

	return st == ST_OK ? put_be(b, v, width, e) : st;
}

/* The int64 a time, integer or boolean column's text stands for, in the type's binary sense. */
static bool parse_fixed(Oid t, const char *text, int64_t *x)
{
	int64_t lim = t == OID_INT8 ? INT64_MAX : t == OID_INT4 ? INT32_MAX : INT16_MAX;

	switch (t) {
	case OID_BOOL:
		*x = strcmp(text, "t") == 0 || strcmp(text, "true") == 0;
		return *x || strcmp(text, "f") == 0 || strcmp(text, "false") == 0;
	case OID_TIMESTAMPTZ:
		if (strcmp(text, "infinity") == 0 || strcmp(text, "-infinity") == 0) {
			*x = text[0] == '-' ? INT64_MIN : INT64_MAX;
			return true;
		}
		if (!time_parse_stored(text, x))
			return false;
		*x -= PG_EPOCH_US;
		return true;
	default:
		return str_to_i64(text, -lim - 1, lim, x);
	}
}

/* A value's binary form, as the field's length and bytes. */
static enum status put_value(struct pg_load *l, size_t i, const char *v, size_t n, struct err *e)
{
	struct buf *b = &l->out;
	Oid t = l->types[i];
	size_t width = t == OID_INT8 || t == OID_TIMESTAMPTZ ? 8
		       : t == OID_INT4			     ? 4
		       : t == OID_INT2			     ? 2
							     : 1;
	char text[64];
	int64_t x = 0;

	if (t == OID_TEXT || t == OID_VARCHAR || t == OID_JSON || t == OID_JSONB) {
		bool jsonb = t == OID_JSONB;
		enum status st = put_be(b, (uint64_t)(n + jsonb), 4, e);

		if (st == ST_OK && jsonb)
			st = buf_add(b, "\1", 1, e); /* jsonb's binary version */
		return st == ST_OK ? buf_add(b, v, n, e) : st;
	}
	if (n < sizeof(text)) {
		memcpy(text, v, n);
		text[n] = '\0';
	}
	if (n >= sizeof(text) || memchr(v, '\0', n) || !parse_fixed(t, text, &x))
		return err_set(e, ST_INVALID, "column '%s': '%.40s' is not a %s", l->names[i],
			       n < sizeof(text) ? text : "(long value)",
			       t == OID_TIMESTAMPTZ ? "time"
			       : t == OID_BOOL	    ? "boolean"
						    : "whole number in range");
	return put_fixed(b, (uint64_t)x, width, e);
}

static enum status put(struct pg_load *l, struct err *e)
{
	PGconn *pg = store_pg_handle(l->base.c);

	if (l->out.len == 0)
		return ST_OK;
	if (PQputCopyData(pg, l->out.data, (int)l->out.len) != 1) {
		l->failed = true;
		return err_set(e, ST_UNAVAILABLE, "copy in: %s", PQerrorMessage(pg));
	}
	buf_reset(&l->out);
	return ST_OK;
}

enum status store_pg_load_row(struct store_load *base, const char *const *vals, const size_t *lens,
			      struct err *e)
{
	struct pg_load *l = (struct pg_load *)base;
	enum status st = put_be(&l->out, l->ncols, 2, e);

	for (size_t i = 0; i < l->ncols && st == ST_OK; i++)
		st = vals[i] ? put_value(l, i, vals[i], lens[i], e)
			     : put_be(&l->out, UINT32_MAX, 4, e); /* -1: NULL */
	if (st != ST_OK)
		l->failed = true;
	if (st == ST_OK && l->out.len >= LOAD_FLUSH)
		st = put(l, e);
	return st;
}

enum status store_pg_load_end(struct store_load *base, bool ok, int64_t *rows, struct err *e)
{
	struct pg_load *l = (struct pg_load *)base;
	struct store_conn *c = base->c;
	enum status st = ST_OK;
	char *sql;

	ok = ok && !l->failed;
	if (ok)
		st = put_be(&l->out, UINT16_MAX, 2, e); /* the trailer: a field count of -1 */
	if (ok && st == ST_OK)
		st = put(l, e);
	/* a trailer that could not be sent is this load's failure, reported, not the caller's */
	PQputCopyEnd(store_pg_handle(c), ok && st == ST_OK ? NULL : "load abandoned");
	st = finish(c, st, rows, ok ? e : NULL, "copy in");
	if (ok && st == ST_OK && l->temp) {
		sql = xasprintf("INSERT INTO %s (%s) SELECT %s FROM %s ON CONFLICT DO NOTHING",
				l->table, l->cols, l->cols, l->temp);
		st = exec_ok(c, sql, rows, "load", e);
		free(sql);
		sql = xasprintf("DROP TABLE %s", l->temp);
		if (st == ST_OK)
			st = exec_ok(c, sql, NULL, "load", e);
		free(sql);
	}
	load_free(l);
	return ok ? st : ST_OK;
}
