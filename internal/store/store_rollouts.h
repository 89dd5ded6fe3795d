/*
 * store_rollouts.h - what a policy rollout's drill-down and change plan ask
 * the database (store_rollouts.c): aggregates over a repository's decisions
 * under one pack, its sessions and pending approvals, the rollout's version
 * and history (migration 016), and the compare-and-set that applies a change.
 *
 * Every function runs on c, so that the caller can read them all in one
 * snapshot.  Times in and out are the canonical UTC text form.
 */
#ifndef CAVRA_STORE_ROLLOUTS_H
#define CAVRA_STORE_ROLLOUTS_H

#include "store/store.h"

/* The scope of the aggregates: borrowed for the call. */
struct rollout_scope {
	const char *repository, *policy_pack;
	const char *since; /* decisions at or after this time */
};

/*
 * The decisions of the scope grouped by (day "YYYY-MM-DD" UTC, rule_id,
 * decision, would_decision, severity, count): one row a group, a few hundred
 * at most whatever the number of decisions.  would_decision is read only
 * for allow and audit_only decisions (NULL otherwise).  *out is the caller's,
 * store_rows_free.
 */
ATTR_NODISCARD enum status store_rollout_groups(struct store_conn *c, const struct rollout_scope *s,
						struct store_rows **out, struct err *e);

/* Sessions of the scope active since s->since that hold a block / a require_approval. */
ATTR_NODISCARD enum status store_rollout_sessions(struct store_conn *c,
						  const struct rollout_scope *s, int64_t *blocked,
						  int64_t *approval, struct err *e);

/*
 * Pending approvals of decisions of the repository under the pack (any
 * time): before their expiry (*pending) and past it at now (*expired).
 */
ATTR_NODISCARD enum status store_rollout_approvals(struct store_conn *c,
						   const struct rollout_scope *s, const char *now,
						   int64_t *pending, int64_t *expired,
						   struct err *e);

/* The payloads of the newest limit decisions of the scope's repository and pack (any time). */
ATTR_NODISCARD enum status store_rollout_recent(struct store_conn *c, const struct rollout_scope *s,
						int limit, struct store_rows **out, struct err *e);

/* Every integration's id and payload (two columns), by id, at most limit of them. */
ATTR_NODISCARD enum status store_rollout_integrations(struct store_conn *c, int limit,
						      struct store_rows **out, struct err *e);

/* A rollout's version and history (a JSON array, caller frees); ST_NOT_FOUND. */
ATTR_NODISCARD enum status store_rollout_version(struct store_conn *c, const char *id,
						 int64_t *version, char **history, struct err *e);

/* A change to apply; every pointer borrowed for the call. */
struct rollout_change {
	const char *id;
	int64_t base_version; /* applied only while the stored version still equals it */
	const char *mode, *state, *payload, *history, *updated_at;
};

/*
 * One UPDATE ... WHERE rollout_id = id AND version = base_version that
 * sets mode, state, payload, history and updated_at and moves version to
 * base_version + 1.  *won is false when the version had moved on (or the
 * rollout is gone).  Runs inside the caller's write transaction; a change it
 * made is chained there too (store_chain_append_record).
 */
ATTR_NODISCARD enum status store_rollout_apply(struct store_conn *c, const struct rollout_change *w,
					       bool *won, struct err *e);

#endif
