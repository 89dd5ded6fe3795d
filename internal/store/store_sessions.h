/*
 * store_sessions.h - session summaries (table activity_sessions): one row a
 * session with its descriptive fields and three counters.  The counters
 * change with the decisions written (store_decision_insert bumps them in the
 * same statement or transaction); POST /sessions sets only the descriptive
 * fields; an import writes summaries as the original tool kept them and
 * recounts them from the stored decisions.
 *
 * Timestamps in and out are the canonical UTC text form (base/timeutil.h).
 */
#ifndef CAVRA_STORE_SESSIONS_H
#define CAVRA_STORE_SESSIONS_H

#include "store/store.h"
#include "store/store_records.h"

/* A session summary as stored; strings owned. */
struct session_row {
	char *session_id, *agent_id, *actor, *repository, *policy_pack, *state;
	char *started_at, *updated_at, *created_at;
	int64_t decision_count, blocked_count, approval_required_count;
	char *payload; /* extra fields given by clients, a JSON object */
};

void store_session_row_release(struct session_row *s);

ATTR_NODISCARD enum status store_session_get(struct store *st, const char *id,
					     struct session_row *out, struct err *e);

/*
 * Creates or updates a session's descriptive fields (NULL: keep).  The
 * counters are never set here.  *created tells which happened.
 */
struct session_upsert {
	const char *session_id, *agent_id, *actor, *repository, *policy_pack, *state;
	const char *now, *payload;
	/*
	 * payload replaces the stored one; with keep_metadata an existing session's "metadata"
	 * is carried into it by the write's own statement, so that an upsert without metadata
	 * racing one with it cannot write back what it read before the other committed.
	 */
	bool keep_metadata;
	/*
	 * NULL, or a recorded_by object (JSON text): an existing session is changed only when
	 * this caller recorded it (its payload's recorded_by) or, never recorded through POST
	 * /sessions, started it (the recorded_by of its first decision); else ST_FORBIDDEN.
	 */
	const char *owner;
};
/* Writes u in a write transaction of st with the session's chain entry (kind 'session'). */
ATTR_NODISCARD enum status store_session_upsert(struct store *st, const struct session_upsert *u,
						bool *created, struct err *e);

/*
 * ST_OK when owner (a recorded_by object, JSON text) may add a decision to session id: the
 * session does not exist yet, or owner is its owner (the recorded_by of POST /sessions, else
 * of its first decision); else ST_FORBIDDEN.  A session with no owner (imported) is nobody's.
 * *is_new tells that the session did not exist: then the read settles nothing, since another
 * caller's first decision may be on its way too, and a decision's write checks again under the
 * session's lock (struct decision_rec's owner).
 */
ATTR_NODISCARD enum status store_session_owner_check(struct store *st, const char *id,
						     const char *owner, bool *is_new,
						     struct err *e);

/*
 * Starts session id for owner (a recorded_by object, JSON text) unless it exists (state
 * active, started now, owner its payload's started_by: its owner, but not its describer, so
 * decisions fill in its agent and the like), on c inside the caller's write transaction, with
 * its chain entry (kind 'session') when it is started here.  An
 * existing session that another caller recorded or started, or nobody (imported), is
 * ST_FORBIDDEN: a concurrent write that started it first has committed by then (PostgreSQL's
 * insert waits for it; SQLite has one writer), so one caller owns a session however its first
 * writes race.
 */
ATTR_NODISCARD enum status store_session_start(struct store_conn *c, const char *id,
					       const char *owner, const char *now, struct err *e);

struct session_filter {
	const char *agent_id, *repository, *policy_pack, *state;
	int limit;
	int64_t offset;
	const char *after_ts, *after_id; /* keyset cursor on (created_at, session_id) */
	bool want_total;
	int64_t total_bound; /* > 0: count at most this + 1 rows; 0: count all */
};

struct session_list {
	struct session_row *rows;
	size_t n;
	int64_t total; /* -1 when not counted */
	bool more;
};

ATTR_NODISCARD enum status store_session_list(struct store *st, const struct session_filter *f,
					      struct session_list *out, struct err *e);
void store_session_list_release(struct session_list *l);

/* ---- imports ---- */

/* A session from an original activity file; borrowed for the call. */
struct session_import {
	const char *session_id, *agent_id, *actor, *repository, *policy_pack, *state;
	const char *started_at, *updated_at; /* canonical; NULL: keep, or now when new */
	const char *now;
	const char *decision_count, *blocked_count, *approval_required_count; /* decimal */
	const char *payload; /* extras, a JSON object */
};

/*
 * Inserts the session, or updates it when any field differs (the counters
 * are left to store_session_recount when the session has decisions).  On
 * c, inside the caller's write transaction.
 */
ATTR_NODISCARD enum status store_session_import(struct store_conn *c,
						const struct session_import *s,
						enum rec_outcome *out, struct err *e);

/*
 * Makes session id's summary agree with its stored decisions: creates the
 * session from its first decision when it is missing, and sets the three
 * counters to the counts of its decisions when they differ.  Does nothing
 * for a session without decisions.  *changed tells whether anything was
 * written.
 */
ATTR_NODISCARD enum status store_session_recount(struct store_conn *c, const char *id,
						 bool *changed, struct err *e);

/*
 * Recounts (store_session_recount) every session named by a summary or
 * only by decisions; *changed gets how many changed.
 */
ATTR_NODISCARD enum status store_session_recount_all(struct store_conn *c, int64_t *changed,
						     struct err *e);

/*
 * ---- restore-test: the busiest session of a restored database, on c (the
 * other questions are store_activity_count and store_activity_rows) ----
 */

/*
 * The session with the most decisions by its counter (the first by id of
 * a tie): *id (NULL when there are no sessions; caller frees) and *count.
 */
ATTR_NODISCARD enum status store_session_busiest(struct store_conn *c, char **id, int64_t *count,
						 struct err *e);

#endif
