/*
 * store_decisions.h - the activity store's decisions (table
 * activity_decisions).  Writing a decision also bumps its session's
 * counters (store_sessions.h has the sessions themselves).
 *
 * The store treats payloads as opaque JSON text; the service layer builds
 * them.  Timestamps in and out are the canonical UTC text form
 * (base/timeutil.h).
 */
#ifndef CAVRA_STORE_DECISIONS_H
#define CAVRA_STORE_DECISIONS_H

#include "store/store.h"

/*
 * The columns of activity_decisions in the backup catalogue's order (ops_catalog.c),
 * each name after prefix p (a table alias such as "d.", or ""): the insert, the audit
 * chain's canonical form and `audit verify` read the row in this one order.
 */
#define STORE_DECISION_COLS(p)                                                            \
	p "decision_id, " p "session_id, " p "agent_id, " p "actor, " p "repository, " p  \
	  "action_type, " p "policy_pack, " p "rule_id, " p "decision, " p "severity, " p \
	  "approver_group, " p "correlation_id, " p "decided_at, " p "created_at, " p     \
	  "updated_at, " p "payload, " p "idempotency_caller, " p "idempotency_key, " p   \
	  "request_sha256"
#define STORE_DECISION_NCOLS 19

/* A decision to insert; every pointer is borrowed for the call. */
struct decision_rec {
	const char *decision_id, *session_id, *agent_id, *actor, *repository, *action_type;
	const char *policy_pack, *rule_id, *decision, *severity, *approver_group;
	const char *correlation_id, *decided_at;
	const char *payload; /* the whole record as JSON */
	/* An Idempotency-Key: who sent it, the key, and the SHA-256 of the canonical request
	   body; all three NULL without a key (docs/api.md, Idempotency-Key). */
	const char *idempotency_caller, *idempotency_key, *request_sha256;
	/*
	 * The caller's recorded_by (JSON text) when it found session_id new
	 * (store_session_owner_check's is_new), else NULL: other callers' first decisions in the
	 * same session may be on their way, so the write checks again, holding the session, that
	 * no other caller owns it by then (ST_FORBIDDEN, nothing written).
	 */
	const char *owner;
};

/*
 * Stores d and updates its session's summary (created when new) in one
 * transaction, O(1) in the session's size.  ST_CONFLICT on a duplicate id or
 * a (idempotency_caller, idempotency_key) already stored; neither bumps a counter.
 * ST_FORBIDDEN when d->owner is set and another caller owns the session by then.
 */
ATTR_NODISCARD enum status store_decision_insert(struct store *st, const struct decision_rec *d,
						 struct err *e);

/*
 * The decision stored under caller's idempotency key: its decision_id and the
 * request_sha256 it was stored with, both the caller's (free()).
 * ST_NOT_FOUND when the caller has no decision under key.
 */
ATTR_NODISCARD enum status store_decision_find_key(struct store *st, const char *caller,
						   const char *key, char **decision_id,
						   char **request_sha256, struct err *e);

/* Filters: NULL means "any".  Borrowed for the call. */
struct decision_filter {
	const char *session_id, *agent_id, *repository, *policy_pack, *decision, *severity;
	const char *action_type, *since, *until;
	int limit; /* 1..500 */
	int64_t offset;
	const char *after_ts, *after_id; /* keyset cursor: rows after this one */
	bool oldest_first; /* a session's reconstruction */
	bool want_total; /* false: total stays -1 and no count query runs */
	int64_t total_bound; /* > 0: count at most this + 1 rows; 0: count all */
};

/* One page of payloads (JSON text), newest first unless oldest_first. */
struct store_page {
	char **items; /* owned */
	char **ids; /* owned: each item's decision_id */
	bool *vouched; /* owned: the audit chain vouches for each (store_decisions_vouched) */
	size_t n;
	int64_t total; /* -1 when not counted */
	char *last_ts, *last_id; /* sort key of the last row, for the next cursor */
	bool more;
};

ATTR_NODISCARD enum status store_decision_list(struct store *st, const struct decision_filter *f,
					       struct store_page *out, struct err *e);
void store_page_release(struct store_page *p);

/*
 * ---- the questions `cavra ops restore-test` asks a restored database ----
 * On c: counts and rows of the activity tables, named by what they ask.
 */

enum activity_count {
	ACTIVITY_DECISIONS_WITH_VALUE, /* value: allow, block, ... */
	ACTIVITY_DECISIONS_OF_SESSION, /* value: the session id */
	ACTIVITY_DECISIONS_ORPHANED, /* naming a session that has no summary; value NULL */
	ACTIVITY_SESSIONS_MISCOUNTED, /* counters differ from the decisions; value NULL */
};
ATTR_NODISCARD enum status store_activity_count(struct store_conn *c, enum activity_count what,
						const char *value, int64_t *out, struct err *e);

/* Rows of decisions; *out is the caller's, store_rows_free. */
enum activity_rows {
	/* the first page of a decision value, newest first as GET /decisions lists
	   it: (decided_at, decision_id) */
	ACTIVITY_FIRST_PAGE_OF_VALUE,
	/* a session's decisions oldest first, as its reconstruction lists them:
	   (decision_id, decided_at, payload) */
	ACTIVITY_SESSION_RECONSTRUCTION,
};
/* The first limit rows of what for value. */
ATTR_NODISCARD enum status store_activity_rows(struct store_conn *c, enum activity_rows what,
					       const char *value, int limit,
					       struct store_rows **out, struct err *e);

#endif
