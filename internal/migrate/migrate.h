/*
 * migrate.h - ordered, numbered, checksummed schema migrations
 * (docs/migrations.md).
 *
 * Files are sql/<backend>/NNN_name.sql, embedded into the binary or read
 * from a directory.  The ledger is the table schema_migrations.  Checksums
 * are SHA-256 over the file's canonical form: a leading UTF-8 BOM removed,
 * CRLF and lone CR turned into LF.  Nothing else is normalised.
 */
#ifndef CAVRA_MIGRATE_H
#define CAVRA_MIGRATE_H

#include "base/base.h"
#include "base/err.h"
#include "base/hash.h"
#include "store/store.h"

#include <stdio.h>

#define MIGRATE_LEDGER STORE_LEDGER

/*
 * Whether binaries of the previous schema keep working once a migration is
 * applied (expand/contract, docs/migrations.md): BACKWARD for additive
 * changes, CONTRACT otherwise.  A file declares it in its header comment,
 * "-- compatibility: backward" (or "expand") or "-- compatibility: contract";
 * 001-015 predate the line and are declared in migrate_compat.c; a file that
 * declares nothing is CONTRACT, the safe reading.
 */
enum mig_compat { MIG_COMPAT_CONTRACT = 0, MIG_COMPAT_BACKWARD };

struct migration {
	int version;
	char *file; /* "001_evidence_metadata.sql" */
	char *name; /* "evidence_metadata" */
	char *sql; /* as read (NUL-terminated) */
	char checksum[SHA256_HEX_LEN];
	enum mig_compat compat;
};

struct migration_set {
	struct migration *items; /* sorted by version; versions are 1..n */
	size_t n;
	char *origin; /* "embedded" or the directory */
};

/* One row of the ledger, current or legacy (legacy rows have no checksum). */
struct ledger_row {
	int version;
	char *id; /* "001_evidence_metadata.sql" */
	char *name;
	char *checksum; /* NULL for legacy rows */
	char *applied_at;
	char *applied_by;
	int64_t duration_ms;
	char *compatibility; /* "backward", "contract", NULL: not recorded */
};

enum ledger_kind { LEDGER_NONE = 0, LEDGER_LEGACY, LEDGER_CURRENT };

struct ledger {
	enum ledger_kind kind;
	struct ledger_row *rows; /* sorted by version */
	size_t n;
	bool has_compat; /* the ledger has the compatibility column (added in place) */
};

/* MIG_NEWER: a version past the set that its ledger row declares backward compatible. */
enum mig_state { MIG_APPLIED, MIG_PENDING, MIG_DRIFTED, MIG_MISSING, MIG_UNKNOWN, MIG_NEWER };

enum problem_kind { PROB_DRIFTED, PROB_MISSING, PROB_UNKNOWN, PROB_OUT_OF_ORDER, PROB_NEWER };

struct mig_entry {
	int version;
	const char *name; /* borrowed from the set or the ledger */
	enum mig_state state;
	const char *checksum; /* the file's, NULL when there is no file */
	const char *applied_checksum; /* the ledger's, NULL when not applied */
	const char *applied_at;
	const char *compatibility; /* the file's declaration, else the ledger's; may be NULL */
};

struct problem {
	enum problem_kind kind;
	int version;
	char msg[400];
};

/* The comparison of a migration set with a ledger. */
struct migrate_report {
	enum ledger_kind ledger;
	struct mig_entry *entries; /* by version: files and ledger rows merged */
	size_t n;
	struct problem *problems;
	size_t nproblems;
	int schema_version; /* highest applied version, 0 when none */
	int latest_version; /* highest version of the set */
	size_t pending;
	size_t newer_compatible; /* versions past the set, each declared backward compatible */
};

/* "backward" or "contract": the ledger's and the header line's spelling. */
const char *migrate_compat_name(enum mig_compat c);

/*
 * Sets m->compat from m's header comment, else from the declarations of
 * 001-015.  ST_INVALID for a compatibility line with another value.
 */
ATTR_NODISCARD enum status migrate_compat_parse(struct migration *m, struct err *e);

/* Canonical-form checksum (see above). */
void migrate_checksum(const char *data, size_t len, char out[SHA256_HEX_LEN]);

/*
 * Loads the set for backend ("sqlite" | "postgres") from dir, or from the
 * embedded copy when dir is NULL.  ST_INVALID for a missing or empty
 * directory, a badly named file, a duplicate or a gap in the numbering.
 */
ATTR_NODISCARD enum status migrate_set_load(const char *dir, const char *backend,
					    struct migration_set *out, struct err *e);
void migrate_set_release(struct migration_set *set);

/* Tables that a migration creates ("CREATE TABLE name"), for adoption checks. */
size_t migrate_tables(const struct migration *m, char names[][64], size_t max);

/*
 * Compares set and ledger (pure).  The report borrows strings from both,
 * which must outlive it; free it with migrate_report_release.
 */
void migrate_compare(const struct migration_set *set, const struct ledger *ledger,
		     struct migrate_report *out);
void migrate_report_release(struct migrate_report *r);

const char *migrate_state_name(enum mig_state s);
const char *migrate_problem_kind_name(enum problem_kind k);

/*
 * Reads the ledger (kind LEDGER_NONE when the table is absent).  ST_INVALID when the
 * database's schema_migrations is another tool's (neither checksum nor id column).
 */
ATTR_NODISCARD enum status migrate_ledger_read(struct store_conn *c, struct ledger *out,
					       struct err *e);
void migrate_ledger_release(struct ledger *l);

/* Reads the ledger and compares it with set, without changing anything. */
ATTR_NODISCARD enum status migrate_status(struct store *st, const struct migration_set *set,
					  struct ledger *ledger, struct migrate_report *out,
					  struct err *e);

/*
 * Refuses (ST_INVALID, naming one of its tables) a database that holds tables or views
 * but no ledger (ledger: migrate_status's): someone else's database, reached by a mistyped
 * URL, which a restore or an automatic migration would fill with cavra's tables.  An
 * explicit `cavra migrate up` is how an operator lets cavra share such a database.  A SQLite
 * file the original CAVRA made (ledger not LEDGER_CURRENT) is refused too (ST_INVALID), and
 * named as the original's: `cavra migrate up` adopts it.
 */
ATTR_NODISCARD enum status migrate_refuse_foreign(struct store *st, enum ledger_kind ledger,
						  const char *verb, struct err *e);

/*
 * The one test of "someone else's database": with no ledger (ledger: migrate_ledger_read's
 * kind), the first table, view or sequence it holds (store_first_table), which *table names
 * (caller frees); NULL when it has a ledger or holds nothing.
 */
ATTR_NODISCARD enum status migrate_foreign_table(struct store_conn *c, enum ledger_kind ledger,
						 char **table, struct err *e);

/*
 * For commands that read cavra's records and change nothing (ops stores, doctor, backup,
 * audit verify): ST_OK when c's database has cavra's ledger.  Else ST_INVALID for another
 * application's database (a table and no ledger, or another tool's schema_migrations) and for
 * the original CAVRA's before adoption, ST_NOT_FOUND for one no migration has touched; the
 * message names the table or the command to run.  Reads only.
 */
ATTR_NODISCARD enum status migrate_require_cavra(struct store_conn *c, struct err *e);

/*
 * Writes to f the SQL that `migrate up --to to` (0: all) would run on the
 * database whose ledger is l, compared in r with set: per pending migration
 * one transaction taking the schema lock, the ledger's DDL where the ledger
 * lacks it, the file and its ledger row (checksum, compatibility).  For a DBA
 * who applies by hand (`cavra migrate sql`).  ST_CONFLICT, writing nothing,
 * when r has problems or l is a legacy ledger.
 */
ATTR_NODISCARD enum status migrate_script(FILE *f, const struct migration_set *set,
					  const struct ledger *l, const struct migrate_report *r,
					  enum store_kind kind, int to, struct err *e);

/* Called after each applied migration (and after a legacy ledger is adopted). */
typedef void (*migrate_progress_fn)(void *ctx, const char *what, const struct migration *m,
				    int64_t duration_ms);

/*
 * Applies pending migrations up to version `to` (0: all), each in its own
 * transaction that takes the schema lock and re-reads the ledger under it,
 * so concurrent runners apply each migration once.  Adopts a legacy ledger
 * first.  Refuses (ST_CONFLICT) on drift, unknown or newer versions.
 */
ATTR_NODISCARD enum status migrate_up(struct store *st, const struct migration_set *set, int to,
				      migrate_progress_fn progress, void *ctx, struct err *e);

/*
 * The same, inside the caller's open write transaction on c (kind: c's
 * backend): the schema lock is taken there and every migration commits or
 * rolls back with the caller's own work.  For a restore into an empty
 * database, which must leave it as it was if it fails or is killed.
 */
ATTR_NODISCARD enum status migrate_up_in_tx(struct store_conn *c, enum store_kind kind,
					    const struct migration_set *set, int to, struct err *e);

/* ---- adopting the original CAVRA's SQLite database (migrate_adopt.c) ---- */

/* Its migrations are 001..006 of ours; its tables get this prefix during adoption. */
#define MIGRATE_ORIGINAL_LAST	6
#define MIGRATE_ORIGINAL_PREFIX "original_"

/*
 * Whether the SQLite file at path was made by the original CAVRA: one of
 * its tables exists and the ledger is absent or has no checksums.  Reads
 * the file read-only, changing nothing; a missing file is not.
 */
ATTR_NODISCARD enum status migrate_sqlite_is_original(const char *path, bool *out, struct err *e);

/*
 * Copies the records of the original's tables (now named
 * MIGRATE_ORIGINAL_PREFIX + name; absent ones were never created) into
 * ours, on c inside the adoption's transaction.  An error names the table
 * and the record.
 */
typedef enum status (*migrate_records_fn)(void *ctx, struct store_conn *c, struct err *e);

/*
 * Adopts the original's database at path, all or nothing: the work is done
 * on a copy next to it (its ledger checked, its tables renamed, every
 * migration of set applied, records(ctx) called, the original tables
 * dropped, all in one transaction), and only a finished copy replaces path
 * (fsync, rename, fsync of the directory).  On any failure path keeps every
 * byte and the copy is removed.
 */
ATTR_NODISCARD enum status migrate_adopt_sqlite(const char *path, const struct migration_set *set,
						migrate_records_fn records, void *ctx,
						struct err *e);

#endif
