/*
 * ops.h - operations on the stores (docs/operations.md): the
 * status of every store, checksum-verified logical backups, a verifier that
 * reports every problem, restores within and across backends, restore
 * tests, records of all of these, and retention plans.
 *
 * Backup and restore are for the command line only; internal/http calls
 * nothing here but ops_stores and the retention plan.  The backup format is
 * docs/backup-format.md.
 */
#ifndef CAVRA_OPS_H
#define CAVRA_OPS_H

#include "base/base.h"
#include "base/err.h"
#include "base/ed25519.h"
#include "base/hash.h"
#include "migrate/migrate.h"
#include "store/store.h"

#include <json-c/json.h>

struct progress; /* base/progress.h: progress lines on stderr; NULL everywhere means none */

#define OPS_BACKUP_FORMAT	"cavra.persistent_api.backup.v4"
#define OPS_BACKUP_FORMAT_V3	"cavra.persistent_api.backup.v3" /* still verified and restored */
#define OPS_BACKUP_FORMAT_V2	"cavra.persistent_api.backup.v2" /* and this one too */
#define OPS_STORES_FORMAT	"cavra.persistent_api.stores.v1"
#define OPS_VERIFY_FORMAT	"cavra.persistent_api.verify.v1"
#define OPS_RESTORE_FORMAT	"cavra.persistent_api.restore.v2"
#define OPS_RESTORE_TEST_FORMAT "cavra.persistent_api.restore_test.v1"
#define OPS_RETENTION_FORMAT	"cavra.persistent_api.retention_plan.v1"
#define OPS_RECORD_FORMAT	"cavra.operations_record.v1"
#define OPS_MANIFEST_NAME	"manifest.json"
#define OPS_SIGNATURE_NAME	"manifest.sig" /* the manifest's detached Ed25519 signature */
#define OPS_SIGNATURE_FORMAT	"cavra.persistent_api.backup_signature.v1"
#define OPS_PLAN_JSON		"persistent-api-retention-plan.json"
#define OPS_PLAN_MD		"persistent-api-retention-plan.md"
#define OPS_ID_LEN		20 /* "opr_" / "bak_" + 12 hex digits + NUL, with room */

/* ---- problems: what verify found; every one is kept, none stops the check ---- */

struct ops_problem {
	char *kind; /* "sha256", "missing", ... (docs/backup-format.md) */
	char *path; /* the file, relative to the backup directory; "manifest.json" */
	char *msg;
};

struct ops_report {
	struct ops_problem *items;
	size_t n, cap;
};

void ops_report_add(struct ops_report *r, const char *kind, const char *path, const char *fmt, ...)
	ATTR_PRINTF(4, 5);
/* Frees every problem.  NULL-safe. */
void ops_report_release(struct ops_report *r);

/* ---- status of the stores ---- */

/*
 * GET /operations/stores and `cavra ops stores`: per store its tables, row
 * counts, bytes on disk (null where the backend cannot tell), oldest and
 * newest record time, the schema version and the last backup and restore
 * test.  Tables that the database's schema version does not have yet are
 * left out.  *out is the caller's (json_object_put).
 */
ATTR_NODISCARD enum status ops_stores(struct store *st, json_object **out, struct err *e);

/* ---- backup ---- */

/* How a table file is stored on disk (docs/backup-format.md, "Compression"). */
enum ops_compression {
	OPS_COMPRESS_NONE = 0, /* the canonical lines as they are (every v2 backup) */
	OPS_COMPRESS_ZSTD, /* one zstd frame of them */
};

#define OPS_ZSTD_LEVEL_DEFAULT 1
#define OPS_ZSTD_LEVEL_MAX     19 /* 20..22 need windows a reader should not have to allow */
#define OPS_COMPRESS_DEFAULT   "zstd"

/* --compression none|zstd[:LEVEL] */
struct ops_compress {
	enum ops_compression kind;
	int level; /* zstd: 1..OPS_ZSTD_LEVEL_MAX */
};

/*
 * Parses "none", "zstd" (level OPS_ZSTD_LEVEL_DEFAULT) or "zstd:LEVEL" into
 * *out; ST_INVALID with a message naming what is accepted.
 */
ATTR_NODISCARD enum status ops_compress_parse(const char *text, struct ops_compress *out,
					      struct err *e);
/* The manifest's name of a compression: "none" or "zstd". */
const char *ops_compression_name(enum ops_compression kind);

struct ops_backup_opts {
	const char *dir; /* must not exist or be empty */
	const struct ed25519_key *signing_key; /* private key, borrowed; NULL: unsigned */
	struct ops_compress compress; /* {0}: none */
	/*
	 * Borrowed; NULL: none.  The phase "backup" with every table's row count in the
	 * snapshot as its total (counted only when progress is wanted), one item per table.
	 */
	struct progress *progress;
};

struct ops_backup_result {
	char *manifest_path; /* DIR/manifest.json; owned */
	char manifest_sha256[SHA256_HEX_LEN];
	char backup_id[OPS_ID_LEN];
	int schema_version;
	size_t files;
	int64_t rows, bytes, duration_ms;
	int64_t stored_bytes; /* the files' size on disk (bytes: their content, uncompressed) */
	enum ops_compression compression;
	char record_id[OPS_ID_LEN]; /* "" when the backup could not be recorded */
	char record_warning[ERR_MSG_MAX]; /* why not; "" when recorded */
	char signing_key_id[ED25519_KEY_ID_LEN]; /* "" when the backup is not signed */
};
void ops_backup_result_release(struct ops_backup_result *r);

/*
 * Writes a logical backup of st into opts->dir, which must not exist or be empty
 * (ST_CONFLICT otherwise): one JSON Lines file per table in key order, read
 * in one snapshot transaction and stored as opts->compress says
 * (TABLE.jsonl.zst or TABLE.jsonl), then manifest.sig when opts->signing_key
 * is given, then manifest.json last.  Every file goes
 * through a temporary name, fsync and rename, and the directory is fsynced.  On failure every file
 * written so far is removed again (and dir, when this call created it), so nothing looks like a
 * complete backup.  Then the backup is recorded in st (a failure to record only fills
 * out->record_warning).  set is this binary's migrations for st's backend:
 * a database newer than it is refused.
 */
ATTR_NODISCARD enum status ops_backup(struct store *st, const struct migration_set *set,
				      const struct ops_backup_opts *opts,
				      struct ops_backup_result *out, struct err *e);

/* ---- verify ---- */

struct ops_manifest;
struct ops_v1_manifest;

/* What manifest.sig said about the manifest (docs/backup-format.md, "The signature"). */
struct ops_signature {
	bool present; /* there is a manifest.sig */
	bool valid; /* it signs these manifest bytes (under the required key when pinned) */
	bool pinned; /* a public key was required */
	char key_id[ED25519_KEY_ID_LEN]; /* the signer's key id; "" when unknown */
};

/*
 * What ops_verify_opts.chain found of the audit chain the backup carries (docs/backup-format.md,
 * "The audit chain"): its breaks are problems of kind "chain" in the report.
 */
struct ops_verify_chain {
	bool present; /* the backup has an audit_chain file */
	bool checked; /* its lines were checked against the decision lines (and audit_head) */
	bool in_order; /* the file is in seq order (v4): each break is named */
	const char *why_not; /* static: why a present chain was not checked; NULL */
	int64_t entries; /* the chain's lines read */
	int64_t breaks; /* chain problems found, reported or not */
	/* decision lines no entry names (not a problem: rows from behind cavra); 0 after a failed
	 * proof of a chain file in hash order, which stops at its first bad line */
	int64_t unchained;
	int64_t checkpoint_seq; /* checked against a checkpoint of this seq; 0: none */
	bool seals_checked; /* seal keys were given and the chain has seals (024) */
	int64_t sealed; /* then: the entries whose seal was checked */
};

/* `cavra ops verify`'s check of the sessions' counters against the decision lines. */
struct ops_verify_counters {
	bool present; /* the backup has a decisions' and a sessions' file */
	bool checked; /* each session the decision lines name was compared with them */
	const char *why_not; /* static: why present files were not checked; NULL */
	int64_t sessions; /* sessions compared */
	int64_t differ; /* sessions whose counters differ or whose line is missing */
	/*
	 * The descriptions of the sessions their decisions described (only decisions made
	 * them, no chain entry; or their evidence started them, an entry without recorded_by):
	 * each agent, actor, repository and pack one that a decision line of the session names.
	 */
	bool described; /* compared (with checked) */
	const char *describe_why_not; /* static: why not, when checked */
	int64_t decision_made; /* such sessions compared */
	int64_t undescribed; /* of those, sessions naming a value none of their decisions does */
};

struct ops_verify_result {
	char *manifest_path; /* owned */
	struct ops_signature signature;
	/*
	 * A required signature was missing, foreign or bad: problems holds
	 * that one problem and nothing else in the backup was looked at.
	 */
	bool refused;
	struct ops_report problems;
	struct ops_manifest *manifest; /* parsed, or NULL when it could not be */
	struct ops_v1_manifest *v1; /* an original CAVRA backup's manifest, parsed; or NULL */
	char manifest_sha256[SHA256_HEX_LEN]; /* of the file as read; "" when unreadable */
	struct ops_verify_chain chain; /* with ops_verify_opts.chain */
	struct ops_verify_counters counters; /* with ops_verify_opts.chain too */
	size_t files;
	int64_t rows, bytes; /* as found on disk; bytes uncompressed */
	int64_t stored_bytes; /* the files' size on disk */
};
void ops_verify_result_release(struct ops_verify_result *r);
/* s is a SHA-256 as the manifests write it: exactly 64 lowercase hex digits. */
bool ops_is_sha256(const char *s);

/*
 * Checks a backup: the manifest's own checksum and fields, that no path
 * leaves the backup directory, that no listed file is missing and no
 * unlisted one is present, then each file's size, SHA-256 and row count,
 * and that every line is a JSON object with the manifest's columns, in key
 * order.  Every problem goes into out->problems.  manifest is the
 * manifest.json path or the backup directory.  True when nothing was found.
 */
bool ops_verify(const char *manifest, struct ops_verify_result *out);
/*
 * ops_verify that first checks manifest.sig against the manifest's bytes.
 * With public_key (borrowed) the signature is required and must be that
 * key's: when it is not, out->refused is set and nothing else is checked
 * (nothing in an unauthenticated manifest is trusted, not even its paths).
 * Without it, an unsigned backup verifies as before, and a signature that
 * does not match its own public key is the problem "signature".
 */
bool ops_verify_signed(const char *manifest, const struct ed25519_key *public_key,
		       struct ops_verify_result *out);
struct seal_keys;
struct ops_verify_opts {
	const struct ed25519_key *public_key; /* as for ops_verify_signed; NULL: none */
	/* borrowed; NULL: none.  The phase "verify" of the manifest's rows, one item per file */
	struct progress *progress;
	/*
	 * Check the manifest, the signature, every path and each file as stored (a compressed
	 * file's size and SHA-256, an uncompressed one's size) but not the content: for a caller
	 * that checks the content's size, SHA-256, rows and lines itself while it reads it, and
	 * runs the full verification when that fails (a restore that rolls back).
	 */
	bool stored_only;
	/*
	 * Also check the files against this binary's catalogue as a restore would before loading
	 * (tables, columns, key) and each value against its column's kind (an integer, a time, a
	 * string without NUL), so that a backup verify passes is one a restore takes.
	 */
	bool catalogue;
	/*
	 * Also check the audit chain the backup carries against its decision lines and its
	 * manifest's audit_head, as a restore checks the restored chain, without a database
	 * (ops_vchain.c), and each session's counters against the decision lines that name it
	 * (ops_vcount.c).  Not with stored_only.
	 */
	bool chain;
	/*
	 * With chain: the backup's chain must hold the entry checkpoint_seq with hash
	 * checkpoint_hash, the head a signed checkpoint recorded (read and its signature checked
	 * by the caller), so that a chain rebuilt from an edit before it is told; 0: none.
	 */
	int64_t checkpoint_seq;
	const char *checkpoint_hash;
	/*
	 * With chain: the entries' seals are checked under these keys (audit_seal_key_file's,
	 * borrowed; NULL: not), from the first sealed entry on, as a restore checks them.
	 */
	const struct seal_keys *seal_keys;
};
/* ops_verify_signed with the options of o. */
bool ops_verify_with(const char *manifest, const struct ops_verify_opts *o,
		     struct ops_verify_result *out);
/* The result as cavra.persistent_api.verify.v1 (caller's). */
json_object *ops_verify_json(const struct ops_verify_result *r);
/*
 * {checked, sessions, differ} of the sessions' counters' check (verify's and a restore's),
 * {checked: false, reason} when it was not made, null when the backup lacks the decisions' or
 * the sessions' file.
 */
json_object *ops_verify_counters_json(const struct ops_verify_counters *c);

/* ---- the original CAVRA's backups (docs/migrating-from-original.md) ---- */

#define OPS_V1_FORMAT "cavra.persistent_api.backup.v1"

/* One store of a v1 manifest.  Strings are owned by the manifest. */
struct ops_v1_store {
	char *name; /* one of the six store names, each at most once */
	char *kind; /* "json" | "sqlite" */
	char *backup_path; /* relative to the backup directory; NULL: the store was not copied */
	char *sha256; /* of the copied file; NULL with backup_path */
	char *file; /* the backup directory joined with backup_path, set by ops_verify; or NULL */
	int64_t size_bytes;
	bool exists; /* false: backup_path, if any, is the "{}" placeholder */
};

struct ops_v1_manifest {
	char *created_at; /* NULL when absent */
	struct ops_v1_store *stores;
	size_t n;
};

/* Whether the manifest text's schema_version is the original's v1. */
bool ops_manifest_is_v1(const char *text, size_t len);
/* Whether the manifest at path (manifest.json or its directory) is a v1 one. */
bool ops_backup_is_v1(const char *manifest);
/*
 * Parses a v1 manifest, putting every problem into rep.  *out is the
 * caller's (ops_v1_free), or NULL when the text is not a JSON object of
 * that format; stores with a problem are left out of it.
 */
void ops_v1_parse(const char *text, size_t len, struct ops_v1_manifest **out,
		  struct ops_report *rep);
/* NULL-safe. */
void ops_v1_free(struct ops_v1_manifest *m);

/* ---- restore ---- */

struct ops_restore_opts {
	const char *manifest; /* manifest.json or the backup directory */
	/*
	 * Exactly one of: target_dir (a new SQLite database DIR/cavra.db,
	 * built under a temporary name and renamed when complete) or
	 * target_url (any database URL).
	 */
	const char *target_dir;
	const char *target_url;
	const char *migration_url; /* schema changes on target_url; NULL: target_url */
	const char *migrations_dir; /* NULL: the embedded migrations */
	const struct ed25519_key *public_key; /* required signer, borrowed; NULL: none */
	bool overwrite; /* replace a target that holds data */
	/* borrowed; NULL: none.  The phases "verify", then "load" of the manifest's rows */
	struct progress *progress;
	/* PostgreSQL: maintenance_work_mem of the load's transaction (index builds); 0: server's */
	int64_t maintenance_work_mem_mb;
};

struct ops_table_count {
	const char *store, *table; /* static */
	int64_t expected; /* rows in the backup */
	int64_t loaded; /* rows inserted */
	int64_t after; /* rows in the table after the load */
	bool merged; /* operations_records: merged, never replaced */
};

#define OPS_TALLY_MAX 8

struct ops_restore_result {
	struct ops_verify_result verify;
	char *target; /* redacted URL or path; owned */
	char *target_backend; /* "sqlite" | "postgres"; owned */
	int schema_before, schema_after;
	bool overwrote;
	/*
	 * the target was refused as not cavra's (another application's, another tool's migration
	 * ledger, the original CAVRA's before its adoption): bad input, a mistyped URL, where the
	 * status (ST_INVALID) alone does not tell it from a refused backup
	 */
	bool foreign_target;
	/* the target's chain emptied and set to be rebuilt: a backup from before the chain */
	bool chain_restarted;
	struct ops_table_count *tables;
	size_t ntables;
	int64_t rows, duration_ms;
	/* activity_decisions rows per value of "decision", for restore tests */
	struct {
		char value[32];
		int64_t count;
	} tally[OPS_TALLY_MAX];
	size_t ntally;
	/* the manifest's audit_head, which the restored chain must end at (has_: it was there) */
	bool has_audit_head;
	int64_t audit_head_seq;
	char audit_head_hash[SHA256_HEX_LEN];
	/* the restored database's URL, for checks after the restore; credentials: never print */
	char *url;
	/* the record hashes of the loaded decision lines (owned; NULL: none were loaded) */
	struct ops_decision_hashes *decision_hashes;
	/* the loaded audit_chain lines' proof (owned; NULL: none were loaded) */
	struct ops_chain_lines *chain_lines;
	/*
	 * Each restored session's counters against the decision lines loaded (ops_vcount.c), and
	 * the sessions whose counters differ (kind "session_counters").  The restore commits
	 * regardless, as it does with the chain's breaks: the caller reports them.
	 */
	struct ops_verify_counters counters;
	struct ops_report counter_problems;
};
void ops_restore_result_release(struct ops_restore_result *r);

/*
 * The record hash (docs/audit.md) of each decision line a restore loads, by decision id, so
 * that the restored chain is checked without reading the decisions back: 24 bytes a line
 * (a 64-bit hash of the id, the first 128 bits of the line's SHA-256), one bit and about
 * one byte of look-up directory, sized once from the manifest's row count.
 */
struct ops_decision_hashes;
struct ops_decision_hashes *ops_decision_hashes_new(int64_t expected);
void ops_decision_hashes_free(struct ops_decision_hashes *h);
/* One line (without its '\n') whose decision_id is id[0..id_len). */
void ops_decision_hashes_add(struct ops_decision_hashes *h, const char *id, size_t id_len,
			     const char *line, size_t len);
/* Every line was kept (false: more lines than expected, or a digest failed: do not use). */
bool ops_decision_hashes_usable(const struct ops_decision_hashes *h);
enum ops_dechash_match {
	OPS_DECHASH_MISSING, /* no line has this id */
	OPS_DECHASH_DIFFERS, /* a line has this id, none with this record hash */
	OPS_DECHASH_MATCHES /* a line has both: marked as named by an entry */
};
/* A chain entry's record id and record_sha256 (hex) against the lines. */
enum ops_dechash_match ops_decision_hashes_match(struct ops_decision_hashes *h, const char *id,
						 const char *sha_hex);
/* Every line was matched by some entry: no decision can be without one. */
bool ops_decision_hashes_all_named(const struct ops_decision_hashes *h);
/* How many lines no entry matched. */
int64_t ops_decision_hashes_unnamed(const struct ops_decision_hashes *h);

/*
 * The audit_chain lines a restore loads, proved a whole chain as they load (ops_chainsum.c):
 * each line's hash and decision record checked, the links between lines by two keyed
 * multiset sums, in constant memory.  known: the decision lines' record hashes, loaded
 * before (borrowed).  A line is seq, kind, record_id, record_sha256, prev_hash and hash.
 */
#define OPS_CHAIN_LINE_COLS 6
struct ops_chain_lines;
struct ops_chain_lines *ops_chain_lines_new(struct ops_decision_hashes *known);
void ops_chain_lines_free(struct ops_chain_lines *c);
void ops_chain_lines_add(struct ops_chain_lines *c, const char *const v[OPS_CHAIN_LINE_COLS],
			 const size_t n[OPS_CHAIN_LINE_COLS]);
/* Something could not be checked (a column missing): nothing will be proved. */
void ops_chain_lines_fail(struct ops_chain_lines *c);
/*
 * The lines are exactly the chain 1..head_seq from the genesis to head_hash, every line's
 * hash its link's and every decision entry's record a loaded line.  false proves nothing
 * broken: only that the database must be walked to tell (c NULL: false).
 */
bool ops_chain_lines_prove(struct ops_chain_lines *c, int64_t head_seq, const char *head_hash);

/*
 * Verifies the backup (problems: ST_INVALID "backup failed verification",
 * nothing written; the problems are in out->verify; a required signature
 * that is missing, foreign or bad: ST_INVALID naming it), checks that this
 * binary knows the backup's schema, refuses a target that holds data unless
 * opts->overwrite (ST_CONFLICT), brings the target's schema to the
 * backup's version, then replaces every table's rows in ONE transaction
 * (operations_records is merged instead) and checks row counts before it
 * commits.  A failure at any point leaves the target's rows as they were.
 */
ATTR_NODISCARD enum status ops_restore(const struct ops_restore_opts *o,
				       struct ops_restore_result *out, struct err *e);
/* cavra.persistent_api.restore.v2 (caller's); e is the failure or NULL. */
json_object *ops_restore_json(const struct ops_restore_result *r, const struct err *e);

/* ---- restore test ---- */

struct ops_check {
	char name[40];
	bool ok;
	char detail[400];
};

#define OPS_CHECKS_MAX 16

struct ops_restore_test_result {
	struct ops_restore_result restore;
	struct ops_check checks[OPS_CHECKS_MAX];
	size_t nchecks;
	bool ok; /* every check held */
	char *scratch; /* the scratch directory (removed again); owned */
};
void ops_restore_test_result_release(struct ops_restore_test_result *r);

/*
 * One more check of the restored scratch database, run by the caller (the audit chain's, which
 * this layer cannot reach): r is the restore (r->url the scratch database); writes a one-line
 * detail into detail[size] and returns whether the check held.
 */
typedef bool (*ops_restore_test_check_fn)(void *ctx, const struct ops_restore_result *r,
					  char *detail, size_t size);

/* What ops_restore_test restores and how; every pointer borrowed for the call. */
struct ops_restore_test_opts {
	const char *manifest;
	const struct ed25519_key *public_key; /* the required signer, as for ops_restore; NULL */
	const char *scratch_parent;
	struct progress *progress; /* the restore's phases, then "checks"; NULL: none */
	const char *extra_name; /* extra_check's name in the report, e.g. "audit_chain" */
	ops_restore_test_check_fn extra_check; /* NULL: none */
	void *extra_ctx;
};

/*
 * Verifies the backup, restores it into a scratch SQLite database in a new
 * directory under o->scratch_parent, runs representative queries (row counts,
 * a filtered decision search, one session's reconstruction, session
 * counters against their decisions, decisions without a session), then
 * o->extra_check, and removes the scratch directory.  ST_OK means the test ran:
 * out->ok tells whether every check held.
 */
ATTR_NODISCARD enum status ops_restore_test(const struct ops_restore_test_opts *o,
					    struct ops_restore_test_result *out, struct err *e);
json_object *ops_restore_test_json(const struct ops_restore_test_result *r, const struct err *e);
/* The checks of a restore test as a JSON array of {name, ok, detail}; caller owns. */
json_object *ops_restore_test_checks_json(const struct ops_restore_test_result *r);

/* ---- doctor: stored text that is not valid UTF-8 ---- */

/* One value that is not valid UTF-8. */
struct ops_doctor_item {
	const char *table, *column; /* borrowed from the catalogue */
	char *id; /* the row's key, made valid for display (U+FFFD); owned */
	char *key_raw; /* the key as stored, to find the row again; owned */
	size_t key_len;
	char *raw; /* the value as stored; owned */
	char *fixed; /* the value with U+FFFD for each bad byte; owned */
	size_t fixed_len;
};

/* A stored JSON value that is valid UTF-8 but not one the strict parser takes for its column. */
struct ops_doctor_damage {
	const char *table; /* borrowed from the catalogue */
	const char *column; /* the JSON column (payload, history...); borrowed from the catalogue */
	char *id; /* the row's key, made valid for display; owned */
	char *problem; /* the parser's fault ("has a key twice in one object (...)"); owned */
};

struct ops_doctor_result {
	struct ops_doctor_item *items;
	size_t n, cap;
	struct ops_doctor_damage *damaged; /* reported, never rewritten */
	size_t ndamaged, damaged_cap;
	int64_t rows_scanned;
	int64_t fixed; /* values rewritten by --fix */
	char record_id[OPS_ID_LEN]; /* the operations record of a fix; "" when none */
	char record_warning[ERR_MSG_MAX]; /* why a fix was not recorded; "" when it was */
};

/*
 * Reads every text, time and payload column of every table a backup carries
 * (one snapshot) and lists the values that are not valid UTF-8, and the
 * payloads that are valid UTF-8 but not a JSON object the strict parser takes
 * (a key twice, edited in the database): reads skip those, a backup would
 * keep one of the two keys; they are listed, never rewritten.  With fix,
 * then rewrites them, U+FFFD for each bad byte, in one write transaction;
 * a value changed since the scan is left alone (and not counted in fixed).
 * A fix that changed anything is recorded (operations_records, kind
 * doctor); a failure to record only sets record_warning.
 * out is the caller's (ops_doctor_result_release), filled also on failure.
 */
ATTR_NODISCARD enum status ops_doctor(struct store *st, bool fix, struct ops_doctor_result *out,
				      struct err *e);
void ops_doctor_result_release(struct ops_doctor_result *r);
/*
 * The result as JSON {ok, rows_scanned, invalid_values, fixed, items[{table,id,column}],
 * damaged_payloads, damaged[{table,id,problem}]}.
 */
json_object *ops_doctor_json(const struct ops_doctor_result *r, bool fix);

/* ---- records of backups, restores and restore tests (operations_records) ---- */

struct ops_record {
	const char *kind; /* "backup" | "restore" | "restore_test" | "doctor" */
	bool succeeded;
	const char *manifest_sha256; /* NULL when there was none */
	const char *location; /* backup directory or target; never a password */
	int64_t started_us, finished_us;
	json_object *details; /* borrowed; copied into the payload; may be NULL */
};

/*
 * Adds a record; id gets its "opr_" id.  ST_NOT_FOUND when the database's
 * schema has no operations_records yet (before migration 009).
 */
ATTR_NODISCARD enum status ops_record_add(struct store *st, const struct ops_record *r,
					  char id[OPS_ID_LEN], struct err *e);

/* ---- retention plan ---- */

#define OPS_RETENTION_DAYS_DEFAULT  2555
#define OPS_RETENTION_CLASS_DEFAULT "regulated-sdlc"
#define OPS_RETENTION_PROTECT_DAYS  365 /* delete protection from this many days on */
#define OPS_RETENTION_DAYS_MAX	    36500
#define OPS_BACKUP_EVERY_DAYS	    1
#define OPS_RESTORE_TEST_EVERY_DAYS 30

struct ops_retention_opts {
	int64_t days;
	char classification[65];
	bool legal_hold;
	int64_t now_us; /* the plan's time (tests pin it) */
};

/*
 * Reads the plan's parameters as given on the command line or the query
 * string (NULL: the default).  days must be 1..36500, classification
 * [A-Za-z0-9._-]{1,64}, legal_hold true|false|1|0.  ST_INVALID naming the
 * parameter otherwise.  now_us is set to the current time.
 */
ATTR_NODISCARD enum status ops_retention_opts_parse(const char *days, const char *classification,
						    const char *legal_hold,
						    struct ops_retention_opts *out, struct err *e);

/* The plan (cavra.persistent_api.retention_plan.v1), read-only.  Caller's. */
ATTR_NODISCARD enum status ops_retention_plan(struct store *st, const struct ops_retention_opts *o,
					      json_object **out, struct err *e);
/* The plan as Markdown; caller owns, free(). */
char *ops_retention_markdown(json_object *plan);
/* Writes both plan files into dir (created when missing), each atomically. */
ATTR_NODISCARD enum status ops_retention_write(json_object *plan, const char *dir, struct err *e);

/* ---- a row's canonical line hashed: the audit chain's record_sha256 ---- */

struct ops_row_hasher;

/*
 * A hasher for rows of table (a table of the backup catalogue), reused for
 * every row of a scan.  ST_NOT_FOUND for a table the catalogue lacks.  *out
 * is the caller's, free with ops_row_hasher_free.
 */
ATTR_NODISCARD enum status ops_row_hasher_new(const char *table, struct ops_row_hasher **out,
					      struct err *e);
/*
 * The SHA-256 (hex) of the dump line a backup writes for one stored row:
 * values as text in the table's column order (NULL for SQL NULL), lens as
 * ops_row_encode takes them (may be NULL).
 */
ATTR_NODISCARD enum status ops_row_sha256(struct ops_row_hasher *h, const char *const *vals,
					  const size_t *lens, char out[SHA256_HEX_LEN],
					  struct err *e);
/*
 * From now on ops_row_sha256 fails (ST_INVALID) for a row whose JSON holds a key twice in one
 * object, instead of hashing the form that keeps the later value: the canonical form would
 * hide an earlier key added behind cavra's back, which a reader taking the first may show.
 */
void ops_row_hasher_refuse_duplicates(struct ops_row_hasher *h);
void ops_row_hasher_free(struct ops_row_hasher *h);
/*
 * One row of table hashed as above (a store_chain_canon_fn: what the store
 * chains with, installed by store_chain_canon_set); n must be the table's
 * column count.
 */
ATTR_NODISCARD enum status ops_chain_canon(const char *table, const char *const *vals, size_t n,
					   char out[SHA256_HEX_LEN], struct err *e);

#endif
