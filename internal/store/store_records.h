/*
 * store_records.h - the record stores that share one shape: an id column,
 * typed projection columns for the filters, created_at / updated_at, and a
 * payload column with the record as JSON.  Evidence metadata, approvals,
 * registry agents and MCP servers, inventory repositories and rollouts, and
 * integrations are all described by a struct rec_table and go through the
 * functions below; the service layer builds payloads and projections.
 *
 * Times in and out are the canonical UTC text form (base/timeutil.h).
 */
#ifndef CAVRA_STORE_RECORDS_H
#define CAVRA_STORE_RECORDS_H

#include "store/store.h"

#define REC_MAX_COLS 12

struct rec_table {
	const char *name; /* table */
	const char *id_col;
	const char *cols[REC_MAX_COLS + 1]; /* projection columns, NULL-terminated */
	const char *order_col; /* lists: this time descending, then id ascending */
	/*
	 * Whether the audit chain covers every write of this table's records
	 * (store_chain_append_record): store_rec_upsert appends the record's entry in the write's
	 * transaction after every write that changed it.  store_rec_put does not: an import
	 * chains what it wrote before it commits.
	 */
	bool chained;
};

/* One record to write; everything borrowed for the call. */
struct rec_write {
	const char *id;
	const char *values[REC_MAX_COLS]; /* one per projection column; NULL is SQL NULL */
	const char *payload; /* a JSON object */
	const char *created_at; /* used when the record is new */
	const char *updated_at;
	/*
	 * NULL, or a recorded_by object (JSON): the record's id is a session's, and the record is
	 * that session's owner's to write (evidence).  In the same transaction the session is
	 * started for this caller unless it exists (store_session_start); one another caller, or
	 * nobody, owns is ST_FORBIDDEN and nothing is written.  The session's owner then replaces
	 * the record whoever wrote it before.
	 */
	const char *session_owner;
	/*
	 * An existing record whose payload has a recorded_by other than payload's keeps it, and
	 * payload's recorded_by is stored as its changed_by: a caller allowed to replace another
	 * caller's record (owner NULL) changes it without taking it over.  Decided by the UPDATE
	 * itself, on the row as it then stands.  payload must carry recorded_by.
	 */
	bool keep_writer;
};

enum rec_outcome { REC_CREATED, REC_UPDATED, REC_UNCHANGED };

/*
 * Inserts w, or updates the existing record with its id (keeping its
 * created_at).  A record whose payload is unchanged is not written at all,
 * so that writing the same data twice changes nothing.  Runs on c inside
 * the caller's write transaction.  A clash on another unique column (an MCP
 * server's name) is ST_CONFLICT.  With w->session_owner, a session that another caller owns is
 * ST_FORBIDDEN; with w->keep_writer, an existing record keeps its writer.
 */
ATTR_NODISCARD enum status store_rec_put(struct store_conn *c, const struct rec_table *t,
					 const struct rec_write *w, enum rec_outcome *out,
					 struct err *e);

/* store_rec_put in a transaction of its own. */
ATTR_NODISCARD enum status store_rec_upsert(struct store *st, const struct rec_table *t,
					    const struct rec_write *w, enum rec_outcome *out,
					    struct err *e);

/* A stored record; strings owned. */
struct rec_row {
	char *id, *payload, *created_at, *updated_at;
};
void store_rec_row_release(struct rec_row *r);

/* The record with id, or ST_NOT_FOUND. */
ATTR_NODISCARD enum status store_rec_get(struct store *st, const struct rec_table *t,
					 const char *id, struct rec_row *out, struct err *e);
/* The same on a borrowed connection (inside a transaction). */
ATTR_NODISCARD enum status store_rec_get_conn(struct store_conn *c, const struct rec_table *t,
					      const char *id, struct rec_row *out, struct err *e);

enum rec_op {
	REC_EQ, /* column = value */
	REC_CONTAINS, /* value is a substring of column */
	REC_MIN, /* integer column >= value */
	REC_NONZERO, /* value "true": column > 0; "false": column = 0 */
	REC_HAS, /* the payload's array field named by column holds the string value */
	REC_FIELD_EQ, /* the payload's string field named by column equals value */
	REC_AFTER, /* time column > value */
	REC_NOT_AFTER, /* time column <= value */
	/*
	 * value is a recorded_by object as JSON text: the payload's recorded_by equals it, or the
	 * recorded_by of the payload's object field named by column does (an approval's decision)
	 */
	REC_BY,
};

struct rec_filter {
	const char *column;
	enum rec_op op;
	const char *value; /* NULL: the filter is not applied */
	/*
	 * 0: must hold.  n > 0: part of alternative n; the filters of one
	 * alternative hold together and at least one alternative must hold
	 * (a derived state: "expired, or pending and past its time").
	 */
	int alt;
};

struct rec_query {
	const struct rec_filter *filters;
	size_t nfilters;
	int limit;
	int64_t offset;
	const char *after_ts, *after_id; /* keyset cursor */
	bool want_total;
	int64_t total_bound; /* > 0: count at most this + 1 rows; 0: count all */
};

struct rec_page {
	struct rec_row *rows;
	size_t n;
	int64_t total; /* -1 when not counted */
	bool more;
	char *last_ts, *last_id; /* sort key of the last row */
};

ATTR_NODISCARD enum status store_rec_list(struct store *st, const struct rec_table *t,
					  const struct rec_query *q, struct rec_page *out,
					  struct err *e);
void store_rec_page_release(struct rec_page *p);

/*
 * Changes one record only if its column guard_col still equals guard and
 * (when not_before_col is set) that time column is later than now: the
 * compare-and-set under every state machine.  *won is false when another
 * writer got there first or the guard no longer holds.
 */
struct rec_cas {
	const char *id;
	const char *guard_col, *guard; /* e.g. state = 'pending' */
	const char *later_col, *now; /* e.g. expires_at > now; NULL to skip */
	const char *set_cols[REC_MAX_COLS + 1]; /* NULL-terminated */
	const char *set_values[REC_MAX_COLS];
	const char *payload, *updated_at;
};
ATTR_NODISCARD enum status store_rec_cas(struct store *st, const struct rec_table *t,
					 const struct rec_cas *w, bool *won, struct err *e);
/* The same on c, inside the caller's write transaction. */
ATTR_NODISCARD enum status store_rec_cas_conn(struct store_conn *c, const struct rec_table *t,
					      const struct rec_cas *w, bool *won, struct err *e);

/*
 * The newest record (by t->order_col, then id) whose column col equals
 * value, on c, as one row of its id and then every column of t->cols, in
 * order; no row when there is none.  *out is the caller's, store_rows_free.
 */
ATTR_NODISCARD enum status store_rec_latest(struct store_conn *c, const struct rec_table *t,
					    const char *col, const char *value,
					    struct store_rows **out, struct err *e);

/*
 * Like store_rec_put, for records that never change (decisions): an id
 * already stored with a different payload is ST_CONFLICT.
 */
ATTR_NODISCARD enum status store_rec_put_once(struct store_conn *c, const struct rec_table *t,
					      const struct rec_write *w, enum rec_outcome *out,
					      struct err *e);

#endif
