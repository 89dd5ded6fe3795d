/*
 * rollout.h - private to internal/service: the pure rules behind a policy
 * rollout's drill-down, change plan and readiness (docs/api.md, "Policy
 * rollout drill-down").  No I/O: rollouts.c reads the facts from the store
 * and these functions judge them, so the unit tests need no database.
 */
#ifndef CAVRA_SERVICE_ROLLOUT_H
#define CAVRA_SERVICE_ROLLOUT_H

#include "base/base.h"
#include "policy/policy.h"

#define ROLLOUT_WINDOW_DAYS  30 /* "recent": today and the 29 days before it, UTC */
#define ROLLOUT_COVERAGE_MIN 80 /* percent */
#define ROLLOUT_RECENT	     10 /* decisions listed in the drill-down */

/*
 * The outcome a decision recorded as decision (would: its would_decision, or
 * NULL) would have had under a rollout in mode and state.  A rollout that is
 * not active, or is in audit_only, stops nothing: block, require_approval and
 * warn become allow.  enforce, strict and break_glass answer what enforcing
 * answered: would_decision when the pack only recorded it, else decision.
 * Static strings; NULL decision gives NULL.
 */
const char *rollout_outcome(const char *mode, const char *state, const char *decision,
			    const char *would);

/* The mode readiness measures against: audit_only is read as enforce, the step it prepares for. */
const char *rollout_target_mode(const char *mode);

/* Which outcome a pack's list of patterns gives (commands.allow: allow; ...). */
const char *rollout_list_outcome(enum policy_list l);

/* An integration counts for readiness when configured or active and not failing. */
bool rollout_integration_usable(const char *status, const char *health);

enum rollout_check {
	RC_REPOSITORY,
	RC_COVERAGE,
	RC_SOURCE_CONTROL,
	RC_SIEM_STORAGE,
	RC_APPROVALS,
	RC_CHANGE_SHARE,
	RC__COUNT
};

/* What the checks judge; every pointer borrowed for the call. */
struct rollout_facts {
	const char *repository;
	bool repository_registered;
	int64_t coverage_percent;
	int64_t source_control, siem_or_storage; /* usable integrations serving the repository */
	int64_t expired_pending; /* pending approvals past their expiry */
	int64_t decisions, would_change; /* in the window, and those the target mode changes */
	const char *target_mode;
	int64_t change_pct_max; /* the most would_change may be, in percent of decisions */
};

struct rollout_check_result {
	const char *name; /* static: "repository_registered", ... */
	bool passed;
	char reason[192]; /* one sentence */
	bool has_value, has_threshold;
	double value, threshold;
};

/* Judges every check (each on its own facts); true when all pass. */
bool rollout_readiness(const struct rollout_facts *f, struct rollout_check_result out[RC__COUNT]);

#endif

/* ---- the reads shared by the drill-down and the change plan (rollouts.c) ---- */

#include "store/store_rollouts.h"

#include <json-c/json.h>

/* A rollout as read on one connection, with the scope of its activity. */
struct rollout_view {
	json_object *rec; /* the record as GET /policy-rollouts/{id} shows it, plus "version" */
	json_object *history; /* the stored history array, oldest first */
	const char *repository, *policy_pack, *mode, *state; /* borrowed from rec */
	int64_t coverage, version;
	struct rollout_scope scope; /* borrows the strings here */
	char since[32], now[32];
};

/* Reads rollout id on c; ST_NOT_FOUND names it.  Release with rollout_view_release. */
ATTR_NODISCARD enum status rollout_view_load(struct store_conn *c, const char *id,
					     struct rollout_view *v, struct err *e);
/*
 * The same for a read that shows the rollout or plans from it: ST_CONFLICT (logged) when the
 * audit chain does not vouch for its row (c is one of st's).
 */
ATTR_NODISCARD enum status rollout_view_load_vouched(struct store *st, struct store_conn *c,
						     const char *id, struct rollout_view *v,
						     struct err *e);
void rollout_view_release(struct rollout_view *v);

/* Decisions of one rule whose recorded outcome would become another. */
struct rollout_rule_count {
	char *rule_id;
	const char *from, *to; /* static */
	int64_t count;
};

struct rollout_tally {
	int64_t decisions, would_change;
	struct rollout_rule_count *rules; /* owned, nrules of them, most first */
	size_t nrules;
};

/*
 * Counts the groups of store_rollout_groups (day, rule, decision, would, severity, count):
 * every decision, and those whose recorded outcome differs from rollout_outcome(mode, state).
 */
void rollout_tally_changes(const struct store_rows *groups, const char *mode, const char *state,
			   struct rollout_tally *t);
void rollout_tally_release(struct rollout_tally *t);
