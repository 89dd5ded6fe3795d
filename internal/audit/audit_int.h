/*
 * audit_int.h - private to internal/audit: the seals' pass of `cavra audit verify`
 * (audit_seals.c), which audit_verify.c runs after the chain's own checks.
 */
#ifndef CAVRA_AUDIT_INT_H
#define CAVRA_AUDIT_INT_H

#include "audit/audit.h"
#include "store/store.h"

struct progress;
struct seal_keys;

/* What the seals' pass needs of the verification it is part of. */
struct audit_seals_walk {
	const struct seal_keys *keys;
	int64_t sealed_from; /* the first seq checked (1 or less: all) */
	int64_t head_seq; /* the progress phase's total */
	struct progress *progress; /* may be NULL */
	audit_break_fn fn;
	void *ctx;
};

/*
 * Checks the seal of every entry from sw->sealed_from on in c's open snapshot, and each writer's
 * numbers (store/store_chain.h): each break goes to sw->fn and counts in *breaks; *checked
 * counts the entries read.  ST_CONFLICT when the schema has no seals (before 024).
 */
ATTR_NODISCARD enum status audit_verify_seals(struct store_conn *c,
					      const struct audit_seals_walk *sw, int64_t *breaks,
					      int64_t *checked, struct err *e);

#endif
