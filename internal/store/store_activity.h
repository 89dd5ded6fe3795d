/*
 * store_activity.h - the activity store: decisions and session summaries.
 *
 * The store treats payloads as opaque JSON text; the service layer builds
 * them.  Timestamps in and out are the canonical UTC text form
 * (base/timeutil.h).
 */
#ifndef CAVRA_STORE_ACTIVITY_H
#define CAVRA_STORE_ACTIVITY_H

#include "store/store.h"

/* A decision to insert; every pointer is borrowed for the call. */
struct decision_rec {
	const char *decision_id, *session_id, *agent_id, *actor, *repository, *action_type;
	const char *policy_pack, *rule_id, *decision, *severity, *approver_group;
	const char *correlation_id, *decided_at;
	const char *payload; /* the whole record as JSON */
};

/*
 * Stores d and updates its session's summary (created when new) in one
 * transaction, O(1) in the session's size.  ST_CONFLICT on a duplicate id.
 */
ATTR_NODISCARD enum status store_decision_insert(struct store *st, const struct decision_rec *d,
						 struct err *e);

/* The stored payload of one decision; *payload is the caller's, free(). */
ATTR_NODISCARD enum status store_decision_get(struct store *st, const char *id, char **payload,
					      struct err *e);

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
	size_t n;
	int64_t total; /* -1 when not counted */
	char *last_ts, *last_id; /* sort key of the last row, for the next cursor */
	bool more;
};

ATTR_NODISCARD enum status store_decision_list(struct store *st, const struct decision_filter *f,
					       struct store_page *out, struct err *e);
void store_page_release(struct store_page *p);

/* A session summary as stored; strings owned. */
struct session_row {
	char *session_id, *agent_id, *actor, *repository, *policy_pack, *state;
	char *started_at, *updated_at, *created_at;
	int64_t decision_count, blocked_count, approval_required_count;
	char *payload; /* extra fields given by clients, a JSON object */
};

void session_row_release(struct session_row *s);

ATTR_NODISCARD enum status store_session_get(struct store *st, const char *id,
					     struct session_row *out, struct err *e);

/*
 * Creates or updates a session's descriptive fields (NULL: keep).  The
 * counters are never set here.  *created tells which happened.
 */
struct session_upsert {
	const char *session_id, *agent_id, *actor, *repository, *policy_pack, *state;
	const char *now, *payload;
	bool replace_payload; /* false: an existing session keeps its extras */
};
ATTR_NODISCARD enum status store_session_upsert(struct store *st, const struct session_upsert *u,
						bool *created, struct err *e);

struct session_filter {
	const char *agent_id, *repository, *policy_pack, *state;
	int limit;
	int64_t offset;
	const char *after_ts, *after_id; /* keyset cursor on (created_at, session_id) */
	bool want_total;
	int64_t total_bound; /* as in decision_filter */
};

struct session_list {
	struct session_row *rows;
	size_t n;
	int64_t total; /* -1 when not counted */
	bool more;
};

ATTR_NODISCARD enum status store_session_list(struct store *st, const struct session_filter *f,
					      struct session_list *out, struct err *e);
void session_list_release(struct session_list *l);

#endif
