/*
 * store_import.h - what `cavra ops import` needs beyond the record stores:
 * session summaries as the original tool wrote them, and recounting a
 * session's counters from its stored decisions.
 */
#ifndef CAVRA_STORE_IMPORT_H
#define CAVRA_STORE_IMPORT_H

#include "store/store_records.h"

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
 * Like store_rec_put, for records that never change (decisions): an id
 * already stored with a different payload is ST_CONFLICT.
 */
ATTR_NODISCARD enum status store_rec_put_once(struct store_conn *c, const struct rec_table *t,
					      const struct rec_write *w, enum rec_outcome *out,
					      struct err *e);

#endif
