/*
 * audit.h - checking the audit hash chain (store/store_chain.h,
 * docs/audit.md): one streaming pass that reports every break, and signed
 * checkpoints of the chain's head.
 */
#ifndef CAVRA_AUDIT_H
#define CAVRA_AUDIT_H

#include "base/base.h"
#include "base/buf.h"
#include "base/ed25519.h"
#include "base/err.h"
#include "base/hash.h"
#include "store/store.h"

#define AUDIT_CHECKPOINT_FORMAT "cavra.audit.checkpoint.v1"
#define AUDIT_CHECKPOINT_MAX	4096 /* bytes of a checkpoint file */

/* The head of the chain at one moment, as a checkpoint file holds it. */
struct audit_checkpoint {
	int64_t seq; /* the last entry's sequence number (0: empty chain) */
	char hash[SHA256_HEX_LEN]; /* its hash */
	char time[32]; /* when the checkpoint was taken, canonical UTC */
	int64_t count; /* chain entries at that moment */
	char key_id[SHA256_HEX_LEN]; /* ed25519_key_id of the signing key */
};

/*
 * The bytes a checkpoint's signature covers: "cavra.audit.checkpoint.v1\n"
 * then seq, hash, time, count and key_id, each followed by '\n'.
 */
ATTR_NODISCARD enum status audit_checkpoint_message(const struct audit_checkpoint *cp,
						    struct buf *out, struct err *e);
/*
 * Signs cp with k (a private key; cp->key_id is set from it) and appends
 * the checkpoint file's JSON, one line, to out.
 */
ATTR_NODISCARD enum status audit_checkpoint_write(struct audit_checkpoint *cp,
						  const struct ed25519_key *k, struct buf *out,
						  struct err *e);
/*
 * Parses a checkpoint file and checks its signature with pub: ST_INVALID,
 * naming what is wrong, for a malformed file, a key id other than pub's or
 * a signature that does not match.  On success *out holds the checkpoint.
 */
ATTR_NODISCARD enum status audit_checkpoint_read(const char *text, size_t n,
						 const struct ed25519_key *pub,
						 struct audit_checkpoint *out, struct err *e);
/* audit_checkpoint_read of the file at path (at most AUDIT_CHECKPOINT_MAX bytes). */
ATTR_NODISCARD enum status audit_checkpoint_load(const char *path, const struct ed25519_key *pub,
						 struct audit_checkpoint *out, struct err *e);

/* One break of the chain, as verification reports it; strings borrowed for the call. */
struct audit_break {
	const char *what; /* edited | deleted | inserted | reordered | truncated | rewritten */
	int64_t seq, seq_to; /* the entry (or entries seq..seq_to); 0 when none */
	const char *id; /* the record there (NULL when none) */
	const char *prev_id, *next_id; /* the records around it (NULL when none) */
	const char *why;
};
typedef void (*audit_break_fn)(void *ctx, const struct audit_break *b);

struct audit_verify_result {
	int64_t entries; /* chain entries read */
	int64_t breaks;
	int64_t head_seq; /* what audit_chain_head says */
	char head_hash[SHA256_HEX_LEN];
	bool from_lines; /* the links were proved from a restore's loaded lines, not read back */
	/*
	 * The first pass found no break: the chain's links hold and every decision is the record
	 * its one entry chained, by keyed multiset sums over the chain and the table (msum.h).
	 */
	bool summed;
	/*
	 * Records written before the migration that chains their kind wait to be chained
	 * (evidence before 021, evidence_pending; the registry, inventory and integrations
	 * before 022, records_pending; sessions before 023, sessions_pending; each on a chain
	 * with no entry of those kinds): they were
	 * not checked (audit_verify_opts' late_pending_ok), or the verification refused.
	 */
	bool late_pending;
	int64_t sealed; /* with audit_verify_opts' seal_keys: the entries whose seal was checked */
};

/*
 * Walks the whole chain of st in one snapshot, in seq order and in
 * constant memory, recomputing each record's hash and each link, then looks
 * for decisions and approvals that have no entry (an approval is chained at
 * every write; only its last entry is checked against the row).  A first pass over the chain
 * alone and the decisions in their stored order only counts breaks; the walk that names each
 * break runs when it found one (audit_verify_result.summed says it did not); cp (may be NULL) is a
 * checkpoint read with audit_checkpoint_read, whose entry must still be there unchanged. Each break
 * goes to fn.  ST_OK when the walk finished (out->breaks says whether the chain is intact);
 * ST_CONFLICT when decisions written before the chain existed still wait for `cavra audit adopt`.
 */
ATTR_NODISCARD enum status audit_verify(struct store *st, const struct audit_checkpoint *cp,
					audit_break_fn fn, void *ctx,
					struct audit_verify_result *out, struct err *e);

struct progress;
struct ops_decision_hashes;
struct ops_chain_lines;
struct seal_keys;
/* audit_verify's inputs, and where its progress goes. */
struct audit_verify_opts {
	const struct audit_checkpoint *cp; /* may be NULL */
	audit_break_fn fn;
	void *ctx;
	/*
	 * Borrowed; NULL: none.  The phase "chain" (the head's seq as its total), "decisions"
	 * (the first pass's), "chain" again when that pass found a break, then "records without
	 * an entry".
	 */
	struct progress *progress;
	/*
	 * Borrowed; NULL: none.  The record hashes of the decision lines a restore loaded: each
	 * decision entry is checked against them instead of the row read back, and the records
	 * without an entry are looked for only when some line was named by no entry.
	 */
	struct ops_decision_hashes *known;
	/*
	 * Borrowed; NULL: none.  The audit_chain lines a restore loaded: when they prove the
	 * chain up to the head (ops_chain_lines_prove), the walk does not read the chain back;
	 * otherwise it does, and names each break.  Ignored with a checkpoint.
	 */
	struct ops_chain_lines *lines;
	/*
	 * Also compares each session's three counters with its decisions, which the chain
	 * covers (the phase "session counters"): an edited counter, or decisions whose session
	 * row is gone, is a break.  Sessions are not chained; a session without decisions
	 * (recorded, started by its evidence, or imported as a summary alone) is not checked.
	 */
	bool sessions;
	/*
	 * Records written before the migration that chains their kind, waiting to be chained,
	 * are left unchecked (out->late_pending) instead of refusing: a restore, which the next
	 * adoption follows.
	 */
	bool late_pending_ok;
	/*
	 * Borrowed; NULL: seals are not checked.  Each entry from seq sealed_from on (the phase
	 * "seals") must carry a seal of one of these keys (store_chain_seals_ok), or it is
	 * "unsealed" or "forged"; and each writer's numbers (store/store_chain.h) must run without
	 * a gap, or entries were "deleted", "reordered" or "replayed" (audit_int.h).  ST_CONFLICT
	 * when the schema has no seals (before 024).
	 */
	const struct seal_keys *seal_keys;
	int64_t sealed_from;
	/*
	 * Unsealed entries before the first sealed one are skipped, as written before the key was
	 * set (a restore, which cannot know from when every writer had it).
	 */
	bool sealed_from_first;
};
/* audit_verify with the inputs of o. */
ATTR_NODISCARD enum status audit_verify_with(struct store *st, const struct audit_verify_opts *o,
					     struct audit_verify_result *out, struct err *e);

/*
 * What a checkpoint writer checks before it signs (audit_watch.c): the chain from the last head
 * it trusted (the genesis at first) to the current head, as links and, with seal keys, as seals
 * and writers' numbers, the writers' numbers kept from one check to the next (a writer not read
 * for a week is forgotten, and met again as a new one).  The records themselves are left to
 * audit_verify.
 */
struct audit_watch;
/* keys borrowed for the watch's life (NULL: links only); NULL when OpenSSL fails. */
struct audit_watch *audit_watch_new(const struct seal_keys *keys);
/*
 * Trusts the entry seq with hash (a checkpoint read with audit_checkpoint_read; seq 0: none)
 * from now on; the writers' numbers start afresh.
 */
void audit_watch_trust(struct audit_watch *w, int64_t seq, const char *hash);
/* The seq of the head trusted now (0: the genesis). */
int64_t audit_watch_seq(const struct audit_watch *w);
/*
 * Reads, in one snapshot, the trusted entry (still there with its hash: else "rewritten" or
 * "truncated"), every entry after it ("deleted", "reordered", "edited" links; "unsealed" once a
 * sealed entry was met, "forged", and writers' numbers as audit_verify's seals pass) and the head
 * row, which must name the last entry.  Each break goes to fn and counts in *breaks.  With none,
 * the head is trusted from now on and *out holds it (count read from the chain) to sign.
 */
ATTR_NODISCARD enum status audit_watch_check(struct store *st, struct audit_watch *w,
					     audit_break_fn fn, void *ctx,
					     struct audit_checkpoint *out, int64_t *breaks,
					     struct err *e);
/*
 * Stops the check that runs now, or the next one, at its next entry (ST_INTERRUPTED), and every
 * check after it: for a server that stops.  Safe from any thread while w lives.
 */
void audit_watch_cancel(struct audit_watch *w);
void audit_watch_free(struct audit_watch *w);

#endif
