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

/*
 * The link of the entry at seq (its kind, record id, record hash, prev_hash and hash) after the
 * one at last_seq whose hash was last_hash, as `audit verify` and a checkpoint's check read it:
 * NULL when it follows; else "deleted" (the seqs between are missing), "reordered" (it names
 * another entry before it) or "edited" (its hash is not its link's), with *why.
 */
const char *audit_link_fault(int64_t last_seq, const char *last_hash, int64_t seq, const char *kind,
			     const char *id, const char *record_sha256, const char *prev_hash,
			     const char *hash, const char **why);
/* An entry's stored hash (cut to 64 characters) into out: a walk goes on from it, not from the
 * hash it expected, so that one break is reported once, not at every entry after it. */
void audit_keep_hash(char out[SHA256_HEX_LEN], const char *hash);

/* What the seals' pass needs of the verification it is part of. */
struct audit_seals_walk {
	const struct seal_keys *keys;
	int64_t sealed_from; /* the first seq checked (1 or less: all) */
	int64_t head_seq; /* the progress phase's total */
	struct progress *progress; /* may be NULL */
	audit_break_fn fn;
	void *ctx;
	bool from_first; /* entries before the first sealed one are skipped (before the key) */
};

/*
 * What checks entries' seals and each writer's numbers (store/store_chain.h), across calls:
 * the key's HMAC, and per writer its highest number so far and its numbers skipped (gaps).
 */
struct audit_seals;
/* NULL when OpenSSL cannot set up the HMAC; keys are copied. */
struct audit_seals *audit_seals_new(const struct seal_keys *keys);
/*
 * One entry, v its seq, kind, record_id, record_sha256 and seal (NULL: none) as text: "unsealed"
 * or "forged", then its writer's number against that writer's numbers so far ("reordered",
 * "replayed", or a gap held).  A writer met first with a number above 1 opens a gap only when
 * sw->sealed_from is 1 or less.  Each break goes to sw->fn and counts in *breaks.
 */
ATTR_NODISCARD enum status audit_seals_entry(struct audit_seals *s,
					     const struct audit_seals_walk *sw,
					     const char *const *v, int64_t *breaks, struct err *e);
/* The gaps held, each reported as entries "deleted", then dropped; the writers are kept. */
void audit_seals_gaps(struct audit_seals *s, const struct audit_seals_walk *sw, int64_t *breaks);
/* The clock each writer read from now on is stamped with (any unit; 0 at first). */
void audit_seals_clock(struct audit_seals *s, int64_t now);
/*
 * Forgets the writers last read before the clock said before and holding no gap: a writer met
 * again afterwards is new, which is checked as a writer first met after sealed_from is (its
 * first number may be above 1).  Bounds memory where writers come and go (each connection of
 * each process that ever sealed).
 */
void audit_seals_forget(struct audit_seals *s, int64_t before);
/* Forgets every writer and gap (the entries read since will be read again). */
void audit_seals_reset(struct audit_seals *s);
void audit_seals_free(struct audit_seals *s);

/*
 * Checks the seal of every entry from sw->sealed_from on in c's open snapshot, and each writer's
 * numbers (store/store_chain.h): each break goes to sw->fn and counts in *breaks; *checked
 * counts the entries read.  ST_CONFLICT when the schema has no seals (before 024).
 */
ATTR_NODISCARD enum status audit_verify_seals(struct store_conn *c,
					      const struct audit_seals_walk *sw, int64_t *breaks,
					      int64_t *checked, struct err *e);

#endif
