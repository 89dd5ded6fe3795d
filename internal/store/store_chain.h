/*
 * store_chain.h - the audit hash chain (tables audit_chain and
 * audit_chain_head, docs/audit.md): appended inside the transaction that
 * writes the records it covers, read by `cavra audit` and GET /audit/head.
 *
 * Each entry commits to one record and to the entry before it:
 *   hash = SHA-256(store_chain_link_bytes(seq, kind, record_id,
 *                                         record_sha256, prev_hash))
 * where record_sha256 is the SHA-256 of the record's canonical JSON line,
 * exactly as a backup writes it.  That form lives in internal/ops, above this
 * module, so the store is handed it as a function (store_chain_canon_set)
 * instead of including upwards.
 */
#ifndef CAVRA_STORE_CHAIN_H
#define CAVRA_STORE_CHAIN_H

#include "store/store.h"
#include "store/store_records.h"
#include "base/buf.h"
#include "base/hash.h"

struct decision_rec;

/* The prev_hash of the first entry: 64 zeros. */
extern const char store_chain_genesis[SHA256_HEX_LEN];

/*
 * Computes the SHA-256 (hex) of the canonical line of one row of table,
 * whose n values are text in the table's column order (NULL for SQL NULL).
 */
typedef enum status (*store_chain_canon_fn)(const char *table, const char *const *vals, size_t n,
					    char out[SHA256_HEX_LEN], struct err *e);

/*
 * Installs the canonical form for every chaining write of the process; call
 * once before any thread writes.  Without it a chaining write fails with
 * ST_INTERNAL rather than writing an unverifiable chain.
 */
void store_chain_canon_set(store_chain_canon_fn fn);

/*
 * The bytes an entry's hash covers (docs/audit.md, "The link"), appended to
 * b: "cavra.audit.chain.v1\n", then seq in decimal, kind, record_id as
 * "<byte length>:<bytes>", record_sha256 and prev_hash, each followed by '\n'.
 */
ATTR_NODISCARD enum status store_chain_link_bytes(struct buf *b, int64_t seq, const char *kind,
						  const char *record_id, const char *record_sha256,
						  const char *prev_hash, struct err *e);
/* The hash of a link (SHA-256 of store_chain_link_bytes) as hex. */
ATTR_NODISCARD enum status store_chain_link_hash(int64_t seq, const char *kind,
						 const char *record_id, const char *record_sha256,
						 const char *prev_hash, char out[SHA256_HEX_LEN],
						 struct err *e);

/*
 * Appends n decisions to the chain inside c's open write transaction, after
 * their rows are inserted: locks the head (FOR UPDATE on PostgreSQL; SQLite's
 * write transaction already holds the lock), links each row in order, moves
 * the head.  The rows and their strings are borrowed for the call.
 */
ATTR_NODISCARD enum status store_chain_append_decisions(struct store_conn *c,
							const struct decision_rec *const *rows,
							size_t n, struct err *e);

/* The approvals table's columns in catalogue order: what an approval's entry hashes. */
#define STORE_APPROVAL_COLS(p)                                                                  \
	p "approval_id, " p "decision_id, " p "session_id, " p "state, " p "approver_group, " p \
	  "requested_by, " p "rule_id, " p "expires_at, " p "decided_at, " p "decided_by, " p   \
	  "created_at, " p "updated_at, " p "payload"
#define STORE_APPROVAL_NCOLS 13

/*
 * Chains the approval with approval_id as it stands now inside c's open write
 * transaction (after its insert or state change, history included in its
 * payload): reads the row back, so the entry hashes exactly the stored values,
 * then links it with kind 'approval' and moves the head.  ST_NOT_FOUND when
 * the row is not there.
 */
ATTR_NODISCARD enum status store_chain_append_approval(struct store_conn *c,
						       const char *approval_id, struct err *e);

/*
 * An approval's writes with their chain entry, in one write transaction of
 * st: store_rec_put (an unchanged record is not chained again) and
 * store_rec_cas_conn (chained only when *won), each followed by
 * store_chain_append_approval.  t is the approvals table.
 */
ATTR_NODISCARD enum status store_chain_approval_put(struct store *st, const struct rec_table *t,
						    const struct rec_write *w,
						    enum rec_outcome *out, struct err *e);
ATTR_NODISCARD enum status store_chain_approval_cas(struct store *st, const struct rec_table *t,
						    const struct rec_cas *w, bool *won,
						    struct err *e);

/* The evidence_metadata table's columns in catalogue order: what an evidence entry hashes. */
#define STORE_EVIDENCE_COLS(p)                                                   \
	p "session_id, " p "signer, " p "decision_count, " p "blocked_count, " p \
	  "approval_count, " p "created_at, " p "updated_at, " p "payload"
#define STORE_EVIDENCE_NCOLS 8

/* The migration from which evidence is chained (kind 'evidence', evidence_pending). */
#define STORE_CHAIN_EVIDENCE_SINCE 21

/*
 * Chains the evidence of session_id as it stands now inside c's open write transaction
 * (after its insert or replacement), as store_chain_append_approval does an approval: kind
 * 'evidence', record_id the session id.  ST_NOT_FOUND when the row is not there.
 */
ATTR_NODISCARD enum status store_chain_append_evidence(struct store_conn *c, const char *session_id,
						       struct err *e);

/* A new approval is written only while its decision has no open one. */
struct approval_guard {
	const char *decision_id;
	const char *now; /* canonical UTC: an approval pending past its expires_at is not open */
	char **open_id; /* out: the open approval's id (caller frees), or NULL when w was written */
};

/*
 * store_chain_approval_put of a new approval, unless the decision has a pending approval that
 * has not expired: then nothing is written, *g->open_id names it and *out is REC_UNCHANGED.
 * The check runs in the write transaction under the chain head's lock, so two simultaneous
 * creations for one decision make one approval.
 */
ATTR_NODISCARD enum status store_chain_approval_create(struct store *st, const struct rec_table *t,
						       const struct rec_write *w,
						       const struct approval_guard *g,
						       enum rec_outcome *out, struct err *e);

/* The chain's head: the last entry's seq and hash (0 and the genesis when empty). */
struct chain_head {
	int64_t seq;
	char hash[SHA256_HEX_LEN];
	char updated_at[32]; /* canonical UTC text */
	bool adopt_pending; /* decisions written before the chain existed wait to be chained */
};
ATTR_NODISCARD enum status store_chain_head(struct store_conn *c, struct chain_head *out,
					    struct err *e);

/*
 * Whether the chain covers evidence (the database is at migration 021 or later) and, if so,
 * whether evidence written before 021 waits to be chained (audit_chain_head.evidence_pending)
 * and whether any evidence entry exists.  Works on a database of any schema with a chain.
 */
struct chain_evidence {
	bool covered, pending, entries;
};
ATTR_NODISCARD enum status store_chain_evidence(struct store_conn *c, struct chain_evidence *out,
						struct err *e);

/*
 * In the caller's write transaction, on a database at 021 or later whose evidence came from a
 * backup from before 021 (a restore over a newer schema): evidence_pending set when there is
 * evidence to chain and adopt_pending does not already ask for everything.
 */
ATTR_NODISCARD enum status store_chain_evidence_restart(struct store_conn *c, struct err *e);

/* store_chain_head on a borrowed connection of st. */
ATTR_NODISCARD enum status store_chain_head_get(struct store *st, struct chain_head *out,
						struct err *e);

/*
 * In the caller's write transaction: every entry deleted and the head back at the genesis,
 * adopt_pending set when decisions or approvals are there to chain, as migration 015 leaves a
 * database it finds with records.  For a restore of a backup from before the chain over a
 * database that has one, whose entries name the records the restore replaced.
 */
ATTR_NODISCARD enum status store_chain_restart(struct store_conn *c, struct err *e);

/* Entries in the chain (count(*): seq when none is missing). */
ATTR_NODISCARD enum status store_chain_count(struct store_conn *c, int64_t *out, struct err *e);

struct progress;
/*
 * When the head says adopt_pending: chains every decision, then every approval, then (from
 * 021) every evidence record that has no entry, each oldest first, and clears the flag, in
 * one write transaction; *chained gets how many.  When only evidence_pending is set (evidence
 * that predates 021 on a chain that has entries), chains the evidence alone.  Nothing to do
 * is ST_OK with 0.
 * Refusing to run twice keeps a row inserted behind cavra's back later from
 * being adopted into the chain; so does refusing (ST_CONFLICT) a flag found on a
 * chain that already has entries, or evidence_pending on a chain that has evidence entries,
 * which only someone with SQL access can set.
 * progress (borrowed; NULL: none) gets the phase "audit chain", rows chained as they are.
 */
ATTR_NODISCARD enum status store_chain_adopt(struct store *st, struct progress *progress,
					     int64_t *chained, struct err *e);

/*
 * After an import, on c in the import's open write transaction: chains every decision,
 * approval and (from 021) evidence record that has no entry, oldest first, whatever adopt_pending
 * says.  The import is an operator's explicit act; a row forged before it is chained along, which
 * is why docs/audit.md says to verify before importing.  Before its commit, so that no kill or
 * failure between the two can leave its records without entries (a second run of the same
 * file changes nothing, so it would chain nothing, and `audit adopt` acts only on the flag
 * migration 015 sets).  progress as store_chain_adopt's.
 */
ATTR_NODISCARD enum status store_chain_import_tx(struct store_conn *c, struct progress *progress,
						 int64_t *chained, struct err *e);

#endif
