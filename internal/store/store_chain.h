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
 * An entry's seal (audit_chain.seal, from 024; docs/audit.md, "Sealed entries"):
 *   <writer: 32 hex> "." <number: 16 hex> "." <HMAC-SHA256: 64 hex>
 * the HMAC under a key the database never holds of the fields (base/seal.h) "audit entry v1",
 * kind, record_id, record_sha256, writer and number.  A writer is one database connection of
 * one process (16 random bytes, drawn at its first seal); it numbers the entries it commits
 * 1, 2, 3 ... with no gap (a transaction rolled back gives its numbers back, and one whose
 * COMMIT may or may not have happened ends the writer).  So the seal proves that a holder of
 * the key wrote the entry for that record hash, a copy of an earlier entry carries that
 * entry's seal, and an entry deleted from among a writer's leaves a gap in its numbers.
 */
#define STORE_CHAIN_WRITER_HEX 32
#define STORE_CHAIN_NUMBER_HEX 16
#define STORE_CHAIN_MAC_AT     (STORE_CHAIN_WRITER_HEX + 1 + STORE_CHAIN_NUMBER_HEX + 1)
#define STORE_CHAIN_SEAL_LEN   (STORE_CHAIN_MAC_AT + SHA256_HEX_LEN) /* with the NUL */

struct seal_key;
struct seal_keys;
/*
 * Installs the key that seals every entry the process appends (NULL: entries are appended
 * unsealed); the key is copied.  Call once before any thread writes, as store_chain_canon_set.
 * On a schema without audit_chain.seal (before 024) entries go unsealed.
 */
void store_chain_seal_set(const struct seal_key *key);
struct seal_mac;
/*
 * The seal of an entry by writer (STORE_CHAIN_WRITER_HEX hex digits) with its number into out,
 * under the key of mac (base/seal.h: one thread at a time); false when OpenSSL fails.
 */
ATTR_NODISCARD bool store_chain_seal_with(struct seal_mac *mac, const char *writer, uint64_t number,
					  const char *kind, const char *record_id,
					  const char *record_sha256,
					  char out[STORE_CHAIN_SEAL_LEN]);
/*
 * A stored seal's writer (STORE_CHAIN_WRITER_HEX hex digits and a NUL) and number; false when
 * seal (NULL: none) is not of that form.
 */
bool store_chain_seal_parse(const char *seal, char writer[STORE_CHAIN_WRITER_HEX + 1],
			    uint64_t *number);
/* What checks many entries' seals under keys (one thread at a time). */
struct store_chain_seals;
/* NULL when OpenSSL fails; keys are copied. */
struct store_chain_seals *store_chain_seals_new(const struct seal_keys *keys);
/* Whether seal (as stored; NULL: none) is the entry's under one of the keys (constant time). */
bool store_chain_seals_ok(struct store_chain_seals *s, const char *kind, const char *record_id,
			  const char *record_sha256, const char *seal);
void store_chain_seals_free(struct store_chain_seals *s);

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
 * store_chain_append_approval.  t is the approvals table.  The change is ST_CONFLICT, with
 * nothing written, when the row is not what its newest entry hashed (store_record_vouched).
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

/*
 * The columns, in catalogue order, of the record tables chained from migration 022 (kinds
 * 'agent', 'mcp_server', 'repository', 'rollout', 'integration'): what their entries hash.
 */
#define STORE_AGENT_COLS(p) \
	p "agent_id, " p "status, " p "owner, " p "created_at, " p "updated_at, " p "payload"
#define STORE_AGENT_NCOLS 6
#define STORE_MCP_SERVER_COLS(p)                                                       \
	p "server_id, " p "name, " p "trust_tier, " p "approval_state, " p "owner, " p \
	  "created_at, " p "updated_at, " p "payload"
#define STORE_MCP_SERVER_NCOLS 8
#define STORE_REPOSITORY_COLS(p)                                                           \
	p "repository_id, " p "provider, " p "owner, " p "policy_pack, " p "risk_tier, " p \
	  "status, " p "created_at, " p "updated_at, " p "payload"
#define STORE_REPOSITORY_NCOLS 9
#define STORE_ROLLOUT_COLS(p)                                                                  \
	p "rollout_id, " p "repository_id, " p "policy_pack, " p "mode, " p "state, " p        \
	  "coverage_percent, " p "created_at, " p "updated_at, " p "payload, " p "version, " p \
	  "history"
#define STORE_ROLLOUT_NCOLS 11
#define STORE_INTEGRATION_COLS(p)                                                           \
	p "integration_id, " p "provider, " p "environment, " p "category, " p "status, " p \
	  "health, " p "owner, " p "created_at, " p "updated_at, " p "payload"
#define STORE_INTEGRATION_NCOLS 10
/*
 * An API token's columns, last_used_at as NULL: a use is not a change of the token, and
 * hashing it would chain every first use of an interval.  Kind 'token' (from 022).
 */
#define STORE_TOKEN_COLS(p)                                                           \
	p "token_id, " p "token_sha256, " p "name, " p "subject, " p "created_by, " p \
	  "expires_at, " p "revoked_at, NULL, " p "created_at, " p "updated_at, " p "payload"
#define STORE_TOKEN_NCOLS 11
/*
 * A session's columns as its entry hashes them (kind 'session', from 023): what a decision
 * moves is left out, so that decisions never need a session entry (updated_at as NULL, the
 * counters as 0, and the agent, actor, repository and pack as NULL while no POST /sessions
 * has described the session: its decisions fill those in).  No commas inside an expression:
 * audit_verify.c splits the list on them.
 */
/* clang-format off */
#define STORE_SESSION_DESCRIBED(p, col) \
	"CASE WHEN " p "payload ->> 'recorded_by' IS NOT NULL THEN " p col " END, "
#define STORE_SESSION_COLS(p)                                                          \
	p "session_id, " STORE_SESSION_DESCRIBED(p, "agent_id")                        \
	STORE_SESSION_DESCRIBED(p, "actor") STORE_SESSION_DESCRIBED(p, "repository")   \
	STORE_SESSION_DESCRIBED(p, "policy_pack") p "state, " p "started_at, NULL, 0, " \
	"0, 0, " p "created_at, " p "payload"
/* clang-format on */
#define STORE_SESSION_NCOLS 13
/*
 * A session as a decision's batch inserts it (active, payload {}, started when created): one
 * decisions made after 023 has no entry, and may have none.  Any other session without an
 * entry was written behind cavra's back.  (An adoption or an import chains such rows too.)
 */
#define STORE_SESSION_DECISION_MADE(p) \
	"(" p "payload = '{}' AND " p "state = 'active' AND " p "started_at = " p "created_at)"
#define STORE_CHAIN_ALWAYS(p)	      ""
#define STORE_SESSION_UNCHAINED_OK(p) " AND NOT " STORE_SESSION_DECISION_MADE(p)

/*
 * Kinds chained from a migration after the chain's own (015), in groups: rows of a group's
 * tables written before its migration wait for an adoption, which its head flag asks for.
 */
enum store_chain_late {
	STORE_LATE_EVIDENCE, /* 021: 'evidence', audit_chain_head.evidence_pending */
	STORE_LATE_RECORDS, /* 022: the registry, the inventory and integrations, records_pending */
	STORE_LATE_SESSIONS, /* 023: 'session', sessions_pending */
	STORE_LATE_N
};
#define STORE_CHAIN_EVIDENCE_SINCE 21
#define STORE_CHAIN_RECORDS_SINCE  22
#define STORE_CHAIN_SESSIONS_SINCE 23
#define STORE_NOT_LATE		   (-1) /* chained from 015 on */

/*
 * The kinds chained at every write (a record may be written again, and only its last entry
 * matches its row), in the chain's adoption order after the decisions: each as
 * X(kind, table, id column, its COLS macro, its number of columns, created_at's place among
 * them, its late group or STORE_NOT_LATE, the macro of the condition under which a row may
 * have no entry, as " AND NOT (...)", or STORE_CHAIN_ALWAYS).  A session is chained at each
 * write but a decision's; an adoption chains every row without an entry, those included.
 * store_chain.c writes and adopts them from this list, audit_verify.c checks them from it.
 */
#define STORE_CHAIN_REWRITTEN(X)                                                                 \
	X("approval", "approvals", "approval_id", STORE_APPROVAL_COLS, STORE_APPROVAL_NCOLS, 10, \
	  STORE_NOT_LATE, STORE_CHAIN_ALWAYS)                                                    \
	X("evidence", "evidence_metadata", "session_id", STORE_EVIDENCE_COLS,                    \
	  STORE_EVIDENCE_NCOLS, 5, STORE_LATE_EVIDENCE, STORE_CHAIN_ALWAYS)                      \
	X("agent", "registry_agents", "agent_id", STORE_AGENT_COLS, STORE_AGENT_NCOLS, 3,        \
	  STORE_LATE_RECORDS, STORE_CHAIN_ALWAYS)                                                \
	X("mcp_server", "registry_mcp_servers", "server_id", STORE_MCP_SERVER_COLS,              \
	  STORE_MCP_SERVER_NCOLS, 5, STORE_LATE_RECORDS, STORE_CHAIN_ALWAYS)                     \
	X("repository", "inventory_repositories", "repository_id", STORE_REPOSITORY_COLS,        \
	  STORE_REPOSITORY_NCOLS, 6, STORE_LATE_RECORDS, STORE_CHAIN_ALWAYS)                     \
	X("rollout", "inventory_policy_rollouts", "rollout_id", STORE_ROLLOUT_COLS,              \
	  STORE_ROLLOUT_NCOLS, 6, STORE_LATE_RECORDS, STORE_CHAIN_ALWAYS)                        \
	X("integration", "integrations", "integration_id", STORE_INTEGRATION_COLS,               \
	  STORE_INTEGRATION_NCOLS, 7, STORE_LATE_RECORDS, STORE_CHAIN_ALWAYS)                    \
	X("token", "api_tokens", "token_id", STORE_TOKEN_COLS, STORE_TOKEN_NCOLS, 8,             \
	  STORE_LATE_RECORDS, STORE_CHAIN_ALWAYS)                                                \
	X("session", "activity_sessions", "session_id", STORE_SESSION_COLS, STORE_SESSION_NCOLS, \
	  11, STORE_LATE_SESSIONS, STORE_SESSION_UNCHAINED_OK)

/* The migration from which group g is chained, and what its records are, for messages. */
int store_chain_late_since(enum store_chain_late g);
const char *store_chain_late_what(enum store_chain_late g);
/* Group g's flag column in audit_chain_head ("evidence_pending", ...). */
const char *store_chain_late_flag(enum store_chain_late g);
/* The late group of an entry's kind; STORE_NOT_LATE for a decision's, an approval's or another. */
int store_chain_late_of_kind(const char *kind);
/*
 * Why a head whose flag asks for an adoption, beside entries the adoption would not make, is a
 * break: group g's flag beside entries of its kinds, adopt_pending beside any entry.  `cavra
 * audit verify` reports it in a database, `cavra ops verify` in a backup's lines.
 */
const char *store_chain_late_flag_why(enum store_chain_late g);
extern const char store_chain_adopt_flag_why[];

/*
 * Chains the record of table with id as it stands now inside c's open write transaction (after
 * its insert or change), as store_chain_append_approval does an approval: the table's kind of
 * STORE_CHAIN_REWRITTEN, record_id the id (evidence: the session id).  ST_NOT_FOUND when the row
 * is not there, ST_INTERNAL for a table not in that list.  store_rec_upsert calls it for a
 * rec_table marked chained; a policy rollout's applied change and an API token's creation and
 * revocation call it themselves.
 */
ATTR_NODISCARD enum status store_chain_append_record(struct store_conn *c, const char *table,
						     const char *id, struct err *e);

/*
 * store_chain_append_record unless the newest chain entry of the record already hashed the row
 * as it stands (a write that changed nothing the entry covers): the row read and hashed once.
 * *appended says whether it linked one.
 */
ATTR_NODISCARD enum status store_chain_append_changed(struct store_conn *c, const char *table,
						      const char *id, bool *appended,
						      struct err *e);

/*
 * Whether the row of table with id, as c sees it, is what the newest chain entry of its
 * record hashed (*matches false when it has no entry): a record that cavra wrote last, not
 * one inserted or edited in the database since.  Same tables as store_chain_append_record.
 */
ATTR_NODISCARD enum status store_chain_record_matches(struct store_conn *c, const char *table,
						      const char *id, bool *matches, struct err *e);

/*
 * *vouched: whether the audit chain vouches for the row of table with id as it stands (its
 * newest entry hashed it), read in one statement: a record cavra wrote last, not one planted or
 * edited in the database or a restored backup.  Also true where the chain cannot tell (a
 * schema before the migration that chains table's records, or its records written before it
 * still waiting for their adoption: adopt_pending for approvals, a late group's flag for the
 * others), and where the row is not there (the caller's not found).  A chain found to cover
 * table's records is remembered in st, as an adoption is never undone.  activity_decisions or a
 * table of STORE_CHAIN_REWRITTEN; ST_INTERNAL for another.
 */
ATTR_NODISCARD enum status store_record_vouched(struct store *st, const char *table, const char *id,
						bool *vouched, struct err *e);
/* What a record the chain does not vouch for is, after its name ("API token 'x' ..."). */
#define STORE_CHAIN_UNVOUCHED                                                                   \
	"is not what the audit chain last recorded for it: written or changed in the database " \
	"(cavra audit verify names it)"
/*
 * The same, and the value of the row's column col (caller frees; NULL when there is no row or
 * the value is null), read in the same statement.
 */
ATTR_NODISCARD enum status store_record_vouched_get(struct store *st, const char *table,
						    const char *id, const char *col, char **value,
						    bool *vouched, struct err *e);
/*
 * store_record_vouched of each of n ids into vouched[i], in one statement (a page of a list:
 * n at most a list's limit).
 */
ATTR_NODISCARD enum status store_records_vouched(struct store *st, const char *table,
						 const char *const *ids, size_t n, bool *vouched,
						 struct err *e);
/*
 * Of the first n rows of r, decisions with STORE_DECISION_COLS("") (a list's page, as read),
 * whether the chain vouches for each (vouched[i]).  A decision is never changed once written,
 * so one found vouched before with the same values is not checked again (store_vouch_memo.h);
 * the others are checked in one statement, as store_records_vouched checks them.
 */
ATTR_NODISCARD enum status store_decisions_vouched(struct store *st, const struct store_rows *r,
						   size_t n, bool *vouched, struct err *e);
/* store_record_vouched on c, one of st's (in its open transaction, if any). */
ATTR_NODISCARD enum status store_record_vouched_in(struct store *st, struct store_conn *c,
						   const char *table, const char *id, bool *vouched,
						   struct err *e);

/*
 * The refusal of a record the chain does not vouch for: ST_CONFLICT "<what> '<id>'<also> is
 * not what the audit chain last recorded for it: ...", and a warning that says so.
 */
ATTR_NODISCARD enum status store_chain_refuse(const char *what, const char *id, const char *also,
					      struct err *e);

/*
 * Before a write that keeps part of the row of table with id (a policy rollout's applied
 * change keeps its repository, pack and coverage): store_chain_refuse of what (the record's
 * name in messages) when the chain covers table and does not vouch for the row as it stands on
 * c, since the write's entry would vouch for what was changed in the database.  ST_OK without
 * a row.  Reads the head as well: for writes, not for the hot path.
 */
ATTR_NODISCARD enum status store_chain_write_check(struct store_conn *c, const char *table,
						   const char *id, const char *what, struct err *e);

/*
 * *vouched: whether the chain vouches for what makes the caller session id's owner, on c: its
 * row (its newest entry hashed it, or it has none and is as a decision's batch inserts it)
 * and, when first_decision is not NULL (its payload names no owner, so its first decision's
 * caller owns it), that decision's row.  True where the chain cannot tell, as for
 * store_record_vouched.  One statement, two with first_decision.
 */
ATTR_NODISCARD enum status store_session_owner_vouched(struct store *st, struct store_conn *c,
						       const char *id, const char *first_decision,
						       bool *vouched, struct err *e);

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
 * For each late group (enum store_chain_late): whether the chain covers it (the database is
 * at its migration or later) and, if so, whether its records written before that migration
 * wait to be chained (its head flag) and whether the chain holds any entry of its kinds.
 * Works on a database of any schema with a chain.
 */
struct chain_late {
	bool covered, pending, entries;
};
ATTR_NODISCARD enum status store_chain_lates(struct store_conn *c,
					     struct chain_late out[STORE_LATE_N], struct err *e);
/* The same for group g alone. */
ATTR_NODISCARD enum status store_chain_late(struct store_conn *c, enum store_chain_late g,
					    struct chain_late *out, struct err *e);

/*
 * Whether group g's records wait for the adoption: flagged, and none of its kinds chained yet
 * (a flag beside entries of its kinds is one set behind cavra's back, and adopts nothing).
 */
bool store_chain_late_waits(const struct chain_late *g);

/*
 * In the caller's write transaction, on a database whose records came from a backup of schema
 * from_version (a restore over a newer schema): the flag of each group chained from a
 * migration after from_version set when its tables hold records to chain and adopt_pending
 * does not already ask for everything.
 */
ATTR_NODISCARD enum status store_chain_late_restart(struct store_conn *c, int from_version,
						    struct err *e);

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

/*
 * In the caller's write transaction: adopt_pending set on a chain still empty when any chained
 * table (every one, whatever the schema) holds a record.  For records that came in after the
 * migrations had built empty tables (an original CAVRA database adopted), so that the next
 * adoption chains them as it does a database that predates the chain.
 */
ATTR_NODISCARD enum status store_chain_ask_adoption(struct store_conn *c, struct err *e);

/* Entries in the chain (count(*): seq when none is missing). */
ATTR_NODISCARD enum status store_chain_count(struct store_conn *c, int64_t *out, struct err *e);

struct progress;
/*
 * When the head says adopt_pending: chains every decision, then every approval, then the
 * records of each late group the database is at (evidence from 021, the registry, inventory
 * and integrations from 022) that have no entry, each table oldest first, and clears the
 * flags, in one write transaction; *chained gets how many.  When only late groups' flags are
 * set (records that predate their migration on a chain that has entries), chains the groups
 * that wait (store_chain_late_waits) alone.  Nothing to do is ST_OK with 0.
 * Refusing to run twice keeps a row inserted behind cavra's back later from
 * being adopted into the chain; so does refusing (ST_CONFLICT) a flag found on a
 * chain that already has entries, or a group's flag on a chain that has entries of its kinds,
 * which only someone with SQL access can set.
 * progress (borrowed; NULL: none) gets the phase "audit chain", rows chained as they are.
 */
ATTR_NODISCARD enum status store_chain_adopt(struct store *st, struct progress *progress,
					     int64_t *chained, struct err *e);

/*
 * After an import, on c in the import's open write transaction: chains every record of tables
 * (the chained tables the import wrote to, NULL-terminated) that has no entry, oldest first.
 * When records wait for an adoption (adopt_pending, or a late group's flag), it is that
 * adoption, whole, instead: every chained table, whatever it wrote.  The import is an
 * operator's explicit act; a row of those tables forged before it is chained along, which is
 * why docs/audit.md says to verify before importing.  Before its commit, so that no kill or
 * failure between the two can leave its records without entries (a second run of the same
 * file changes nothing, so it would chain nothing, and `audit adopt` acts only on the flags
 * the migrations set).  progress as store_chain_adopt's.
 */
ATTR_NODISCARD enum status store_chain_import_tx(struct store_conn *c, const char *const *tables,
						 struct progress *progress, int64_t *chained,
						 struct err *e);

#endif
