/*
 * ops_int.h - private to internal/ops: the table catalogue, the canonical
 * JSON form, the manifest, and the file writer and line scanner.
 */
#ifndef CAVRA_OPS_INT_H
#define CAVRA_OPS_INT_H

#include "ops/ops.h"
#include "base/buf.h"
#include "json/jx_canon.h"
#include "base/files.h"
#include "store/store_bulk.h"
#include "store/store_stats.h"

/* ---- the catalogue: every table a backup carries ---- */

enum ops_col_kind {
	OPS_TEXT, /* JSON string or null */
	OPS_INT, /* JSON integer */
	OPS_TIME, /* canonical UTC text "YYYY-MM-DDTHH:MM:SS.ffffffZ" or null */
	OPS_JSON, /* a JSON value in canonical form (payload) */
};

#define OPS_MAX_COLS 24

struct ops_col {
	const char *name;
	enum ops_col_kind kind;
	int since; /* the migration that adds it; 0: it came with its table */
};

struct ops_table {
	const char *store, *table;
	const char *key; /* primary key: the dump's row order */
	const char *time_col; /* the record's time: oldest/newest, retention */
	int since; /* the migration that creates it */
	bool merge; /* a restore adds missing rows and keeps the target's */
	struct ops_col cols[OPS_MAX_COLS + 1]; /* table order; a NULL name ends it */
	/*
	 * Set for append-mostly tables: their dump is newest first by this time
	 * column, then by key, which is the order rows were written in (read
	 * through the (time DESC, key) index, the heap in order) rather than the
	 * random order of their ids.  NULL: the dump is in key order.
	 */
	const char *newest_first;
	/* the key a backup before format v4 names and is in order of; NULL: the key */
	const char *legacy_key;
};

extern const struct ops_table ops_catalog[];
extern const size_t ops_catalog_n;

const struct ops_table *ops_table_find(const char *table);
/* Whether table is one that backups leave out on purpose (docs/backup-format.md). */
bool ops_table_skipped(const char *table);
size_t ops_table_ncols(const struct ops_table *t);
/* The index of t's column called name, or SIZE_MAX when t has none. */
size_t ops_table_col(const struct ops_table *t, const char *name);
/*
 * t as it is at schema version v: a copy whose columns stop before the first
 * one a later migration adds (those are appended, so the rest are a prefix).
 * Backups of an older database, restores of an older backup and doctor's
 * scan read a table through its view, never through the latest columns.
 */
void ops_table_view(const struct ops_table *t, int v, struct ops_table *out);
/* Whether the table exists at schema version v. */
bool ops_table_at(const struct ops_table *t, int v);
struct ops_manifest_file;
/*
 * Whether the manifest's entry f names exactly t's columns (t: a table as ops_table_view
 * gives it at the backup's schema version), its key and its store: what a restore loads.
 */
bool ops_same_columns(const struct ops_manifest_file *f, const struct ops_table *t, bool legacy);
/* The distinct store names, in catalogue order, that have a table at version v. */
size_t ops_store_names(int v, const char *names[], size_t max);

struct ops_canonizer;

/* Turns stored rows of one table into dump lines; set up once per table. */
struct ops_encoder {
	const struct ops_table *t;
	size_t order[OPS_MAX_COLS]; /* column indexes in name order: the keys of a line */
	size_t n;
	struct buf keys; /* '{"a":' ',"b":' ...: each member's opening, in line order */
	size_t key_off[OPS_MAX_COLS + 1]; /* where each opening starts in keys */
	struct ops_canonizer *cz; /* reused for every payload */
};
void ops_encoder_init(struct ops_encoder *enc, const struct ops_table *t);
void ops_encoder_release(struct ops_encoder *enc);

/*
 * Appends one stored row (columns in table order, as text from the store,
 * with their lengths; lens may be NULL for NUL-terminated values) as a dump
 * line: a canonical JSON object and '\n'.  Times are normalised to the
 * canonical UTC form and payloads re-serialised canonically, so that the
 * same data gives the same bytes on SQLite and PostgreSQL.
 */
ATTR_NODISCARD enum status ops_row_encode(struct ops_encoder *enc, const char *const *vals,
					  const size_t *lens, struct buf *line, struct err *e);

/* ---- canonical JSON (docs/backup-format.md; the tree form is json/jx_canon.h) ---- */

/* Returns the canonical form of text (caller's, free()); NULL on bad JSON.  Text path. */
char *ops_canon_text(const char *text, size_t len);

/*
 * The same canonical form computed from text without a json-c tree
 * (ops_canon_text.c): what backups use for every payload.  z holds scratch
 * buffers reused across calls; one per thread.  On failure out is left as
 * it was.
 */
struct ops_canonizer *ops_canonizer_new(void);
void ops_canonizer_free(struct ops_canonizer *z);
ATTR_NODISCARD enum status ops_canon_text_append(struct ops_canonizer *z, struct buf *out,
						 const char *text, size_t len, struct err *e);
/*
 * Whether an ops_canon_text_append since the last call met an object with a key twice (of
 * which the canonical form keeps the later, as JSONB does); clears it.  Only SQLite can store
 * such a payload, and only when it was written behind cavra's back.
 */
bool ops_canonizer_take_duplicate(struct ops_canonizer *z);

/* ---- dump lines without json-c (ops_line.c) ---- */

enum ops_span_kind {
	OPS_SPAN_NULL,
	OPS_SPAN_BOOL,
	OPS_SPAN_NUMBER,
	OPS_SPAN_STRING,
	OPS_SPAN_OBJECT,
	OPS_SPAN_ARRAY,
};

/* Where a value lies in a line. */
struct ops_span {
	const char *p; /* a string: its inside, between the quotes; else the value's text */
	size_t n;
	enum ops_span_kind kind;
	bool escaped; /* a string with backslash escapes */
	bool integer; /* a number without fraction or exponent */
};

#define OPS_LINE_KEYS_MAX 64

/* The member names every line of a file has, in the order spans are returned. */
struct ops_line_keys {
	const char *names[OPS_LINE_KEYS_MAX]; /* borrowed */
	size_t lens[OPS_LINE_KEYS_MAX];
	size_t n;
};

/* Names beyond OPS_LINE_KEYS_MAX are dropped (a manifest check reports them). */
void ops_line_keys_init(struct ops_line_keys *k, const char *const *names, size_t n);

/*
 * Checks that line is one strict JSON object (RFC 8259, UTF-8, nesting at
 * most 64 deep, surrogates in pairs) whose member names are exactly k's,
 * each once, in any order; out[i] gets the value of k->names[i].  On
 * failure *why says what is wrong (a static string).
 */
bool ops_line_split(const char *line, size_t len, const struct ops_line_keys *k,
		    struct ops_span *out, const char **why);

/*
 * The JSON escape at p (on its backslash, before end): *cp gets the code
 * point it stands for (a surrogate pair gives one); returns the bytes it
 * spans, or 0 with *why (static) when it is not a valid escape.  The one
 * escape reader of the line parser, ops_span_text and the canonizer.
 */
size_t ops_json_escape(const char *p, const char *end, unsigned *cp, const char **why);
/*
 * Appends the n bytes of a string's inside at p with its escapes decoded;
 * ST_INVALID for a bad escape, and for "\\u0000" unless nul_ok.
 */
ATTR_NODISCARD enum status ops_json_unescape(const char *p, size_t n, bool nul_ok, struct buf *b,
					     struct err *e);
/* A number span's value when it is a JSON integer within int64; false otherwise. */
bool ops_span_int(const struct ops_span *s, int64_t *out);
/* Appends a string span's value, escapes decoded; ST_INVALID for "\u0000" or a non-string. */
ATTR_NODISCARD enum status ops_span_text(const struct ops_span *s, struct buf *b, struct err *e);

/* ---- the JSON scanner (ops_lex.c) of the line parser, the canonizer and the manifest ---- */

#define OPS_LEX_DEPTH 64 /* nesting ops_lex_value accepts; depth 1 is a top-level member */

/* Text being scanned; why is the first failure (static) and stays once set. */
struct ops_lex {
	const char *p, *end;
	const char *why;
};

/*
 * The first byte at or after p (before end) that is not JSON whitespace.
 * Inline, as buf_add: scanners call it between every two tokens.
 */
static inline const char *ops_json_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static inline void ops_lex_ws(struct ops_lex *l)
{
	l->p = ops_json_ws(l->p, l->end);
}

/* Records why (unless a failure already is) and returns false. */
bool ops_lex_fail(struct ops_lex *l, const char *why);
/*
 * The string at l->p (on its quote): s gets its inside, l->p goes past it.
 * With check, escapes and UTF-8 are validated; without, only control
 * characters and the end are (the canonizer decodes escapes itself).
 */
bool ops_lex_string(struct ops_lex *l, bool check, struct ops_span *s);
/* A number by JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
bool ops_lex_number(struct ops_lex *l, struct ops_span *s);
/* true, false or null. */
bool ops_lex_literal(struct ops_lex *l, struct ops_span *s);
/* Whitespace and a checked member name. */
bool ops_lex_key(struct ops_lex *l, struct ops_span *name);
/* Whitespace, ':' and whitespace. */
bool ops_lex_colon(struct ops_lex *l);
/* After a member or element: whitespace, then ',' (*more) or close. */
bool ops_lex_more(struct ops_lex *l, char close, bool *more);
/* Any strict value, nested at most OPS_LEX_DEPTH deep counting from depth. */
bool ops_lex_value(struct ops_lex *l, struct ops_span *s, int depth);

/* ---- the manifest ---- */

struct ops_manifest_file {
	char *store, *table, *path, *key;
	char *newest_first; /* the time column rows are newest first by, then by key; NULL: key
			       order */
	char **columns;
	size_t ncolumns;
	int64_t rows, bytes;
	char sha256[SHA256_HEX_LEN]; /* bytes and sha256: the canonical lines, uncompressed */
	/*
	 * The file as stored (v3): its size and SHA-256, checked before it is
	 * decompressed.  A v2 entry, or compression none, has the content's.
	 */
	enum ops_compression compression;
	int64_t stored_bytes;
	char stored_sha256[SHA256_HEX_LEN];
	bool usable; /* path safe and fields well formed: the file can be checked */
};

struct ops_manifest_migration {
	int version;
	char *name;
	char *checksum; /* NULL for a legacy ledger row */
};

struct ops_manifest {
	char *format, *tool_version, *backup_id, *backend, *created_at, *finished_at;
	char *snapshot;
	int schema_version;
	struct ops_manifest_migration *migrations;
	size_t nmigrations;
	struct ops_manifest_file *files;
	size_t nfiles;
	int64_t rows, bytes; /* totals as written */
	int64_t stored_bytes; /* total of the files as stored (v3; v2: bytes) */
	/*
	 * The audit hash chain's head as of the snapshot, when the database has
	 * one: the optional "audit_head" {seq, hash}.  No reader requires it.
	 */
	bool has_audit_head;
	int64_t audit_head_seq;
	char audit_head_hash[SHA256_HEX_LEN];
	char self_sha256[SHA256_HEX_LEN]; /* the value recorded in the file */
};

void ops_manifest_free(struct ops_manifest *m);
/* The first file of m holding table, or NULL. */
const struct ops_manifest_file *ops_manifest_file_of(const struct ops_manifest *m,
						     const char *table);
/* The column of f named name, or SIZE_MAX. */
size_t ops_manifest_col(const struct ops_manifest_file *f, const char *name);
/*
 * ops_manifest_file_of when that file is usable (a table listed twice is a problem of its
 * own), else NULL.
 */
const struct ops_manifest_file *ops_manifest_usable_file_of(const struct ops_manifest *m,
							    const char *table);

/*
 * The manifest's text: the fields above as pretty-printed JSON whose last
 * member, on a line of its own, is "manifest_sha256": the SHA-256 of every
 * byte before that line.  *sha gets that checksum.  Caller owns the text.
 */
char *ops_manifest_text(const struct ops_manifest *m, char sha[SHA256_HEX_LEN]);

/* ---- manifest.sig (ops_sign.c) ---- */

/*
 * Signs manifest[0..len), the exact bytes of manifest.json, with the private
 * key k and writes dir/manifest.sig (temporary name, fsync, rename); key_id
 * gets k's id.  The caller syncs the directory.
 */
ATTR_NODISCARD enum status ops_signature_write(const char *dir, const char *manifest, size_t len,
					       const struct ed25519_key *k,
					       char key_id[ED25519_KEY_ID_LEN], struct err *e);
/*
 * Checks dir/manifest.sig against manifest[0..len) into out, adding a
 * problem to rep when it fails: with pub (required), "unsigned",
 * "signature_key" or "signature"; without, only "signature" for a file that
 * is there but does not sign these bytes under the key it names.  Returns
 * whether the manifest may be looked at further: false only when pub is
 * given and the signature is not pub's.
 */
bool ops_signature_check(const char *dir, const char *manifest, size_t len,
			 const struct ed25519_key *pub, struct ops_signature *out,
			 struct ops_report *rep);

/*
 * Checks the self checksum of text and parses it.  Every problem goes into
 * rep (kind manifest_*, path_unsafe, duplicate).  *out is NULL when the
 * text is not a JSON object; otherwise the caller's (ops_manifest_free),
 * with usable set on the files that can be checked on disk.
 */
void ops_manifest_parse(const char *text, size_t len, struct ops_manifest **out,
			struct ops_report *rep);

/*
 * Whether path may name a file inside the backup directory: relative, at
 * most 4 components of [A-Za-z0-9._-] each, none empty, "." or ".." or
 * starting with '.', and not the manifest itself.  why gets the reason.
 */
bool ops_path_safe(const char *path, char *why, size_t size);

/* ---- the row checks of verify (ops_verify.c), which backup also runs ---- */

#define OPS_LINE_PROBLEMS_MAX 5 /* reported per file; the rest are only counted */

/* State for checking the lines of one table file in order. */
struct ops_line_check {
	const struct ops_manifest_file *f; /* borrowed */
	struct ops_report *rep; /* borrowed: problems go here, kind "line" */
	struct ops_line_keys keys;
	size_t key_col; /* f->key among the columns */
	size_t time_col; /* f->newest_first among them, when set */
	struct ops_span spans[OPS_LINE_KEYS_MAX];
	struct buf prev, cur; /* the previous and this line's key */
	bool int_key; /* the key is an integer column: ordered by value, not by its text */
	int64_t prev_int, cur_int; /* and then the key's values */
	struct buf prev_time, cur_time; /* and time, for a file newest first */
	bool have_prev;
	/* this binary's view of the table: each value is checked against its column's kind */
	const struct ops_table *view; /* borrowed; NULL: not checked */
	struct buf text; /* a string value decoded for that check */
	int64_t problems; /* all of them, reported or not */
	struct progress *progress; /* a row checked is a row done; NULL (the default): none */
	struct ops_vchain *vchain; /* each line's values handed to the chain's check; NULL: not */
	struct ops_vcount *vcount; /* and to the sessions' counters' check; NULL: not */
};

void ops_line_check_init(struct ops_line_check *lc, const struct ops_manifest_file *f,
			 struct ops_report *rep);
void ops_line_check_release(struct ops_line_check *lc);
/*
 * ops_line_fn (ctx is a struct ops_line_check): one line, without its '\n'.
 * The line must be a strict JSON object (UTF-8 included) with f's columns,
 * after the previous line in f's order.  Problems are counted and reported,
 * never returned: it returns ST_OK.
 */
enum status ops_line_check(void *ctx, const char *line, size_t len, int64_t lineno, struct err *e);
/*
 * The order check of ops_line_check for a line the caller has already split with the same
 * columns (spans in f's column order): a loader checks what verify would without a second split.
 */
void ops_line_check_spans(struct ops_line_check *lc, const struct ops_span *spans, int64_t lineno);
/*
 * ops_row_encode for a backup: also each value's span in line (by column, as ops_line_split
 * would give them; valid until line changes), *bad_col, the first text or JSON column
 * whose stored value is not valid UTF-8 (SIZE_MAX: none), which verify would reject, and
 * *dup_col, the JSON column that held an object with a key twice, of which the line keeps
 * only the later (SIZE_MAX: none).
 */
ATTR_NODISCARD enum status ops_row_encode_spans(struct ops_encoder *enc, const char *const *vals,
						const size_t *lens, struct buf *line,
						struct ops_span *spans, size_t *bad_col,
						size_t *dup_col, struct err *e);

/* ---- files ---- */

#define OPS_WRITE_CHUNK ((size_t)1 << 20)

struct ops_wthread;
struct ops_wlines;
struct ops_zwriter;

/* Called with each line (without its '\n'); lineno counts from 1. */
typedef enum status (*ops_line_fn)(void *ctx, const char *line, size_t len, int64_t lineno,
				   struct err *e);

struct ops_writer {
	struct file_atomic file;
	void *md; /* EVP_MD_CTX */
	char *chunk[2]; /* one filled here while the thread hashes and writes the other */
	int cur;
	size_t used;
	int64_t bytes;
	struct ops_wthread *th; /* NULL: everything on the caller's thread */
	struct ops_wlines *lines; /* ops_writer_lines; NULL: lines are not looked at */
	struct ops_zwriter *z; /* ops_writer_compress; NULL: stored as written */
	void *stored_md; /* EVP_MD_CTX of the compressed bytes, with z */
	int stored_err; /* the errno of a failed write of compressed bytes */
	/* the file as stored, set by a successful commit (uncompressed: the content's) */
	int64_t stored_bytes;
	char stored_sha256[SHA256_HEX_LEN];
};

/* Creates dir/.name.tmp (O_EXCL, 0600) to become dir/name. */
ATTR_NODISCARD enum status ops_writer_open(struct ops_writer *w, const char *dir, const char *name,
					   struct err *e);
ATTR_NODISCARD enum status ops_writer_add(struct ops_writer *w, const char *p, size_t n,
					  struct err *e);
/*
 * Hands each line written (without its '\n') to fn, where the chunks are
 * hashed: on the writer's thread when it has one, so the check costs the
 * caller's thread nothing.  The first error of fn fails the next add, or
 * the commit before its rename.  ctx must live until commit or abort.
 * Call once, right after ops_writer_open.
 */
void ops_writer_lines(struct ops_writer *w, ops_line_fn fn, void *ctx);
/*
 * Stores the file as one zstd frame at level c->level (ops_zstd.c) instead
 * of as written; the SHA-256 that commit returns stays the one of the bytes
 * added, and stored_bytes/stored_sha256 get the compressed file's.  Call
 * once, right after ops_writer_open, with c->kind OPS_COMPRESS_ZSTD.
 * ST_INTERNAL when libzstd refuses the parameters.
 */
ATTR_NODISCARD enum status ops_writer_compress(struct ops_writer *w, const struct ops_compress *c,
					       struct err *e);
/* Flushes, fsyncs, closes and renames into place; sha gets the SHA-256. */
ATTR_NODISCARD enum status ops_writer_commit(struct ops_writer *w, char sha[SHA256_HEX_LEN],
					     struct err *e);
/* Closes and removes the temporary file (after a failure).  Safe after commit. */
void ops_writer_abort(struct ops_writer *w);
/* Writes a whole small text file (a manifest, a signature) through a writer: durable or absent. */
ATTR_NODISCARD enum status ops_writer_text(const char *dir, const char *name, const char *text,
					   struct err *e);

#define OPS_LINE_MAX ((size_t)64 << 20)

struct ops_scan {
	int64_t bytes, rows; /* rows: lines, a last one without '\n' included */
	char sha256[SHA256_HEX_LEN];
	int64_t stored_bytes; /* the file as read (compressed); uncompressed: bytes */
	char stored_sha256[SHA256_HEX_LEN];
	bool final_newline; /* the file is empty or ends with '\n' */
	int64_t overlong; /* first line longer than OPS_LINE_MAX (skipped), 0 if none */
};

/*
 * Reads path once: SHA-256, size, lines.  fn may be NULL.  Stops at the
 * first error of fn or of reading (ST_IO naming the file).
 */
ATTR_NODISCARD enum status ops_scan_file(const char *path, ops_line_fn fn, void *ctx,
					 struct ops_scan *out, struct err *e);

/* How ops_scan_stored reads a file: what it is stored as, and how much it may hold. */
struct ops_stored {
	enum ops_compression compression;
	int64_t max_bytes; /* decompressed bytes past this are an error (ST_TOO_LARGE) */
};

/*
 * ops_scan_file for a file stored as how says: a compressed file is
 * decompressed as it is read, in bounded memory, and fn sees its lines;
 * out->bytes and out->sha256 are the decompressed content's, stored_* the
 * file's.  A frame that is damaged, cut short, followed by anything, or
 * whose window needs more memory than a backup writer uses is ST_INVALID;
 * content past how->max_bytes is ST_TOO_LARGE (a decompression bomb stops
 * there).  Read errors are ST_IO.
 */
ATTR_NODISCARD enum status ops_scan_stored(const char *path, const struct ops_stored *how,
					   ops_line_fn fn, void *ctx, struct ops_scan *out,
					   struct err *e);
/* The size and SHA-256 of the file at path as it is on disk (ST_IO naming it). */
ATTR_NODISCARD enum status ops_hash_file(const char *path, int64_t *bytes, char sha[SHA256_HEX_LEN],
					 struct err *e);

/* ---- zstd streams (ops_zstd.c), used by the writer and the scanner ---- */

/* Output of a compressor or decompressor step: called with each piece it produces. */
typedef enum status (*ops_bytes_fn)(void *ctx, const char *p, size_t n, struct err *e);

struct ops_zwriter *ops_zwriter_new(int level, struct err *e);
/* Compresses p[0..n) (end: and ends the frame), handing the output to out. */
ATTR_NODISCARD enum status ops_zwriter_add(struct ops_zwriter *z, const char *p, size_t n, bool end,
					   ops_bytes_fn out, void *ctx, struct err *e);
void ops_zwriter_free(struct ops_zwriter *z);

struct ops_zreader;
struct ops_zreader *ops_zreader_new(struct err *e);
/*
 * Decompresses p[0..n), handing the output to out in pieces; ST_INVALID for
 * a damaged frame, one that needs too large a window, or bytes after the
 * end of the frame.
 */
ATTR_NODISCARD enum status ops_zreader_add(struct ops_zreader *z, const char *p, size_t n,
					   ops_bytes_fn out, void *ctx, struct err *e);
/* At the end of the file: ST_INVALID unless exactly one whole frame was read. */
ATTR_NODISCARD enum status ops_zreader_end(const struct ops_zreader *z, struct err *e);
void ops_zreader_free(struct ops_zreader *z);

/*
 * ops_v1.c: checks an original CAVRA backup (v1 manifest text) in dir, filling
 * out's problems, counts, manifest_sha256 and v1.
 */
void ops_v1_verify(const char *dir, const char *text, size_t len, struct ops_verify_result *out);

/* Joins dir and name; caller's. */
char *ops_path_join(const char *dir, const char *name);
/* Resolves a manifest argument: a directory means DIR/manifest.json.  Caller's. */
char *ops_manifest_path(const char *arg);
/* "<prefix>" + 12 random hex digits into id. */
ATTR_NODISCARD enum status ops_new_id(const char *prefix, char id[OPS_ID_LEN], struct err *e);
/* Removes dir and everything in it (best effort, for scratch directories). */
void ops_remove_tree(const char *dir);

/* ---- shared by stores, retention and records ---- */

/* The database's applied schema version (0: none) on c. */
ATTR_NODISCARD enum status ops_schema_version(struct store_conn *c, int *out, struct err *e);
/* The latest record of kind (any outcome) as JSON, or NULL; on c. */
ATTR_NODISCARD enum status ops_record_last(struct store_conn *c, int schema, const char *kind,
					   json_object **out, struct err *e);
/* Count, oldest and newest of a table; times canonical or NULL (owned). */
struct ops_table_stat {
	int64_t rows;
	int64_t bytes; /* -1: unknown */
	char *oldest, *newest;
};
ATTR_NODISCARD enum status ops_table_stat(struct store_conn *c, const struct ops_table *t,
					  bool with_bytes, struct ops_table_stat *out,
					  struct err *e);
void ops_table_stat_release(struct ops_table_stat *s);

/*
 * Loads lines of a verified backup file into t on c inside the caller's
 * transaction.  A merged table keeps its rows; any other table must have been
 * emptied with store_empty_table in that transaction.
 */
struct ops_load {
	const struct ops_table *t;
	struct store_conn *c;
	int64_t loaded; /* rows inserted */
	struct ops_restore_result *tally_into; /* activity_decisions: tally "decision" */
	struct progress *progress; /* a row loaded is a row done; NULL: none */
	struct ops_stored how; /* the file's compression and size: ops_scan_stored */
	struct ops_line_check *check; /* each line's order checked too; NULL: not */
	struct ops_decision_hashes *hashes; /* activity_decisions: each line's record hash */
	struct ops_chain_lines *chain; /* audit_chain: each line proved as it loads */
	struct ops_vcount *counts; /* activity_decisions, activity_sessions: each line counted */
};
ATTR_NODISCARD enum status ops_load_file(struct ops_load *l, const char *path,
					 struct ops_scan *scan, struct err *e);

/*
 * Reports (kind "unlisted") every file or directory under root that is not one of paths
 * (relative to root; NULL entries skipped), nor the manifest itself at the top.  Only
 * directories holding listed files are entered (at most OPS_WALK_DEPTH deep), so an
 * unlisted directory is one problem; symbolic links are never followed.  Both the v2
 * verifier and the original's v1 verifier (ops_v1.c) use it.
 */
#define OPS_WALK_DEPTH 4
void ops_walk_unlisted(const char *root, const char *const *paths, size_t n,
		       struct ops_report *rep);

/*
 * The audit chain a backup carries, checked from its lines as `ops verify` reads them
 * (ops_vchain.c): the decisions' file must be read before the chain's (ops_vchain_file).
 * ops_vchain_new returns NULL when the backup has no chain or it cannot be checked (out says
 * which); breaks go to rep as kind "chain", and out is filled in by ops_vchain_end.
 */
struct ops_vchain;
struct ops_vchain *ops_vchain_new(const struct ops_manifest *m, const struct ops_verify_opts *o,
				  struct ops_report *rep, struct ops_verify_chain *out);
void ops_vchain_free(struct ops_vchain *vc);
/* The chain's file, to be read last; NULL for vc NULL. */
const struct ops_manifest_file *ops_vchain_file(const struct ops_vchain *vc);
/* f is a file whose lines the check reads. */
bool ops_vchain_reads(const struct ops_vchain *vc, const struct ops_manifest_file *f);
/* One line of such a file (without its '\n'), split into spans by f's columns. */
void ops_vchain_line(struct ops_vchain *vc, const struct ops_manifest_file *f,
		     const struct ops_span *spans, const char *line, size_t len, int64_t lineno);
/* Such a file was read to its end without a problem of its own (clean), or not. */
void ops_vchain_read(struct ops_vchain *vc, const struct ops_manifest_file *f, bool clean);
/* After both files: the chain's end against audit_head, and out's counts. */
void ops_vchain_end(struct ops_vchain *vc);

/*
 * A set of byte-string keys numbered 0, 1, ... in the order each first came (ops_ktab.c), each
 * with a value of value_size bytes (zeroed when its key came), for matching a backup's lines by
 * id: placed by a keyed hash, so ids chosen to collide do not slow it down.  ops_ktab_broken:
 * libcrypto failed to draw the key (the set still works).
 */
struct ops_ktab;
struct ops_ktab *ops_ktab_new(size_t value_size);
void ops_ktab_free(struct ops_ktab *t);
bool ops_ktab_broken(const struct ops_ktab *t);
/* key[0..len)'s number; *added when it was not in the set before. */
size_t ops_ktab_put(struct ops_ktab *t, const char *key, size_t len, bool *added);
size_t ops_ktab_count(const struct ops_ktab *t);
/* Key number i, NUL-terminated, and its length (len may be NULL). */
const char *ops_ktab_key(const struct ops_ktab *t, size_t i, size_t *len);
/* Key number i's value: valid until the next ops_ktab_put. */
void *ops_ktab_value(struct ops_ktab *t, size_t i);

/*
 * `cavra ops verify`'s check of the sessions' counters against the decision lines
 * (ops_vcount.c), and of the description of each session only decisions made against them:
 * NULL when the backup lacks either file or a column the counters' check reads (out says
 * which).  The lines of every file it reads, in any order, then ops_vcount_end: problems go
 * to rep as kind "session_counters" or "session_description", and out is filled in.
 */
struct ops_vcount;
struct ops_vcount *ops_vcount_new(const struct ops_manifest *m, struct ops_report *rep,
				  struct ops_verify_counters *out);
void ops_vcount_free(struct ops_vcount *v);
bool ops_vcount_reads(const struct ops_vcount *v, const struct ops_manifest_file *f);
void ops_vcount_line(struct ops_vcount *v, const struct ops_manifest_file *f,
		     const struct ops_span *spans);
/* A value as text: p NULL for a null; n OPS_VTEXT_ABSENT for a column the line lacks. */
struct ops_vtext {
	const char *p;
	size_t n;
};
#define OPS_VTEXT_ABSENT    SIZE_MAX
#define OPS_VCOUNT_COLS_MAX 12 /* the most columns ops_vcount_columns gives for a table */
/*
 * The same from a restore's decoded values: the columns of table the check reads (NULL, *n 0
 * for a table it does not read), then each line's values in that order (integers and JSON as
 * their text, strings decoded, times in the canonical form).
 */
const char *const *ops_vcount_columns(const struct ops_vcount *v, const char *table, size_t *n);
void ops_vcount_values(struct ops_vcount *v, const char *table, const struct ops_vtext *vals);
void ops_vcount_read(struct ops_vcount *v, const struct ops_manifest_file *f, bool clean);
void ops_vcount_end(struct ops_vcount *v);

/*
 * The records chained at every write, for ops_vchain (ops_vrecs.c): each line's hash and each
 * record's newest entry by (kind, id), compared at the end, each break named in the order its
 * record was first met.
 */
struct ops_vrecs;
/* The kind whose records table's lines are (and its id column), or NULL. */
const char *ops_vrecs_kind(const char *table, const char **id_col);
struct ops_vrecs *ops_vrecs_new(void);
void ops_vrecs_free(struct ops_vrecs *r);
/*
 * The first n (at most 32) bytes of a record's hash, into out: the SHA-256 of its line (without
 * its '\n') and a '\n', as record_sha256 holds it (md: the caller's digest state).  false when
 * libcrypto fails.
 */
bool ops_record_sha(EVP_MD_CTX *md, const char *line, size_t len, unsigned char *out, size_t n);

/*
 * A record line of a backup as its chain entries hash it (ops_vform.c): the line, but an API
 * token's last_used_at as null, and what decisions move in a session as its entries leave it.
 */
#define OPS_ENTRY_FORM_COLS 12
struct ops_entry_form {
	int form;
	size_t col[OPS_ENTRY_FORM_COLS]; /* the columns it replaces or reads, in the file */
};
/* For kind's file f; false when f lacks a column the form needs. */
bool ops_entry_form_init(struct ops_entry_form *ef, const char *kind,
			 const struct ops_manifest_file *f);
struct ops_entry_text {
	const char *p; /* the line, or the form in the caller's buffer */
	size_t n;
	bool may_lack; /* a row that may have no entry: a session only decisions made */
};
/* The form of a line split into spans by f's columns; out holds it when it is not the line. */
bool ops_entry_form_of(const struct ops_entry_form *ef, const struct ops_span *spans,
		       const char *line, size_t len, struct buf *out, struct ops_entry_text *t);
/*
 * The entry form (ops_entry_form_of, without the line's '\n') of a line of kind's table, whose
 * id is id[0..id_len).  false when libcrypto failed.
 */
bool ops_vrecs_line(struct ops_vrecs *r, const char *kind, const char *id, size_t id_len,
		    const struct ops_entry_text *t);
/* An entry of such a kind: kept when it is the record's newest so far. */
void ops_vrecs_entry(struct ops_vrecs *r, const char *kind, const char *id, int64_t seq,
		     const char *rsha);
/* Called for each break: the newest entry's seq, "kind id", and what is wrong. */
typedef void (*ops_vrecs_fn)(void *ctx, int64_t seq, const char *name, const char *what);
/* Reports every record whose newest entry its line is not; returns the lines without entry. */
int64_t ops_vrecs_end(struct ops_vrecs *r, ops_vrecs_fn fn, void *ctx);

#endif
