/*
 * ops_manifest.c - manifest.json of a backup: writing it with its own
 * SHA-256 on the last line, and reading it back while collecting every
 * problem (pg_verifybackup's approach: one pass that reports and goes on).
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "base/str.h"
#include "base/hash.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A manifest nests only a few levels; the tokener's depth limit refuses a crafted
 * file that nests deeper before it costs memory or stack.  The paths the writer
 * makes are short and shallow, so longer or deeper ones are refused rather than
 * trusted.
 */
#define MANIFEST_DEPTH 8
#define SELF_KEY       "\"manifest_sha256\""
#define PATH_MAX_LEN   255
#define PATH_MAX_PARTS 4

/* ---- writing ---- */

static json_object *file_json(const struct ops_manifest_file *f)
{
	json_object *o = json_object_new_object(), *cols = json_object_new_array();
	bool zstd = f->compression == OPS_COMPRESS_ZSTD;

	jx_add_str(o, "store", f->store);
	jx_add_str(o, "table", f->table);
	jx_add_str(o, "path", f->path);
	jx_add_str(o, "key", f->key);
	if (f->newest_first) {
		char *order = xasprintf("%s desc, %s", f->newest_first, f->key);

		jx_add_str(o, "order", order);
		free(order);
	} else {
		jx_add_str(o, "order", f->key);
	}
	for (size_t i = 0; i < f->ncolumns; i++)
		json_object_array_add(cols, json_object_new_string(f->columns[i]));
	json_object_object_add(o, "columns", cols);
	jx_add_int(o, "rows", f->rows);
	jx_add_int(o, "bytes", f->bytes);
	jx_add_str(o, "sha256", f->sha256);
	/* uncompressed, the file stored is the content: one pair of numbers, never two */
	jx_add_str(o, "compression", ops_compression_name(f->compression));
	jx_add_int(o, "stored_bytes", zstd ? f->stored_bytes : f->bytes);
	jx_add_str(o, "stored_sha256", zstd ? f->stored_sha256 : f->sha256);
	return o;
}

static int64_t stored_total(const struct ops_manifest *m)
{
	int64_t n = 0;

	for (size_t i = 0; i < m->nfiles; i++)
		n += m->files[i].compression == OPS_COMPRESS_ZSTD ? m->files[i].stored_bytes
								  : m->files[i].bytes;
	return n;
}

static json_object *manifest_json(const struct ops_manifest *m)
{
	json_object *o = json_object_new_object(), *migs = json_object_new_array();
	json_object *files = json_object_new_array();

	jx_add_str(o, "schema_version", OPS_BACKUP_FORMAT);
	jx_add_str(o, "tool", "cavra");
	jx_add_str(o, "tool_version", m->tool_version);
	jx_add_str(o, "backup_id", m->backup_id);
	jx_add_str(o, "backend", m->backend);
	jx_add_str(o, "snapshot", m->snapshot);
	jx_add_str(o, "created_at", m->created_at);
	jx_add_str(o, "finished_at", m->finished_at);
	jx_add_int(o, "database_schema_version", m->schema_version);
	for (size_t i = 0; i < m->nmigrations; i++) {
		json_object *g = json_object_new_object();

		jx_add_int(g, "version", m->migrations[i].version);
		jx_add_str(g, "name", m->migrations[i].name);
		jx_add_str(g, "checksum", m->migrations[i].checksum);
		json_object_array_add(migs, g);
	}
	json_object_object_add(o, "migrations", migs);
	jx_add_str(o, "row_format", "json-lines, canonical JSON, in each file's order");
	for (size_t i = 0; i < m->nfiles; i++)
		json_object_array_add(files, file_json(&m->files[i]));
	json_object_object_add(o, "files", files);
	/* before the totals: the writer trims the closing braces, so an object may not come last */
	if (m->has_audit_head) {
		json_object *h = json_object_new_object();

		jx_add_int(h, "seq", m->audit_head_seq);
		jx_add_str(h, "hash", m->audit_head_hash);
		json_object_object_add(o, "audit_head", h);
	}
	jx_add_int(o, "rows", m->rows);
	jx_add_int(o, "bytes", m->bytes);
	jx_add_int(o, "stored_bytes", stored_total(m));
	return o;
}

/*
 * The checksum goes last and covers the bytes before its line, so a reader
 * can check the manifest with the manifest alone, and `sed` plus
 * `sha256sum` can check it by hand (docs/backup-format.md).
 */
char *ops_manifest_text(const struct ops_manifest *m, char sha[SHA256_HEX_LEN])
{
	json_object *o = manifest_json(m);
	const char *text = json_object_to_json_string_ext(
		o,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text);
	char *body, *out;

	/* json-c ends the object with "\n}": the checksum member goes before it */
	while (len > 0 && text[len - 1] != '}')
		len--;
	while (len > 0 && (text[len - 1] == '}' || text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	body = xasprintf("%.*s,\n", (int)len, text);
	sha256_hex(body, strlen(body), sha);
	out = xasprintf("%s  " SELF_KEY ": \"%s\"\n}\n", body, sha);
	free(body);
	json_object_put(o);
	return out;
}

/* ---- paths ---- */

/*
 * An allow-list, not a deny-list: a manifest comes from a backup directory that may
 * have been tampered with, and its paths are joined to that directory and
 * opened, so only plain names pass (no "..", no hidden files, no control bytes, no
 * separators other than '/').
 */
static bool part_ok(const char *p, size_t n, char *why, size_t size)
{
	if (n == 0) {
		snprintf(why, size, "empty path component");
		return false;
	}
	if (p[0] == '.') {
		snprintf(why, size, "component '%.*s' starts with '.'", (int)n, p);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-') {
			snprintf(why, size, "character 0x%02x is not allowed", c);
			return false;
		}
	}
	return true;
}

/*
 * A file entry naming the manifest itself would let a listed checksum vouch for
 * the manifest, which is checked by its own last line instead.
 */
bool ops_path_safe(const char *path, char *why, size_t size)
{
	size_t len = strlen(path), parts = 0;
	const char *p = path;

	if (len == 0 || len > PATH_MAX_LEN) {
		snprintf(why, size, "length %zu is not 1..%d", len, PATH_MAX_LEN);
		return false;
	}
	if (path[0] == '/') {
		snprintf(why, size, "absolute path");
		return false;
	}
	if (strcmp(path, OPS_MANIFEST_NAME) == 0 || strcmp(path, OPS_SIGNATURE_NAME) == 0) {
		snprintf(why, size, "names the manifest or its signature");
		return false;
	}
	for (;;) {
		size_t n = strcspn(p, "/");

		if (++parts > PATH_MAX_PARTS) {
			snprintf(why, size, "more than %d components", PATH_MAX_PARTS);
			return false;
		}
		/* ".." is caught here: it starts with '.' */
		if (!part_ok(p, n, why, size))
			return false;
		if (!p[n])
			return true;
		p += n + 1;
	}
}

/* ---- reading ---- */

const struct ops_manifest_file *ops_manifest_file_of(const struct ops_manifest *m,
						     const char *table)
{
	for (size_t k = 0; k < m->nfiles; k++)
		if (m->files[k].table && str_eq(m->files[k].table, table))
			return &m->files[k];
	return NULL;
}

const struct ops_manifest_file *ops_manifest_usable_file_of(const struct ops_manifest *m,
							    const char *table)
{
	const struct ops_manifest_file *f = ops_manifest_file_of(m, table);

	return f && f->usable ? f : NULL;
}

size_t ops_manifest_col(const struct ops_manifest_file *f, const char *name)
{
	for (size_t i = 0; i < f->ncolumns; i++)
		if (str_eq(f->columns[i], name))
			return i;
	return SIZE_MAX;
}

void ops_manifest_free(struct ops_manifest *m)
{
	if (!m)
		return;
	free(m->format);
	free(m->tool_version);
	free(m->backup_id);
	free(m->backend);
	free(m->created_at);
	free(m->finished_at);
	free(m->snapshot);
	for (size_t i = 0; i < m->nmigrations; i++) {
		free(m->migrations[i].name);
		free(m->migrations[i].checksum);
	}
	free(m->migrations);
	for (size_t i = 0; i < m->nfiles; i++) {
		struct ops_manifest_file *f = &m->files[i];

		free(f->store);
		free(f->table);
		free(f->path);
		free(f->key);
		free(f->newest_first);
		for (size_t k = 0; k < f->ncolumns; k++)
			free(f->columns[k]);
		free(f->columns);
	}
	free(m->files);
	free(m);
}

/*
 * Lowercase only: that is what the writer emits, and one spelling means checksums
 * compare as plain strings.
 */
bool ops_is_sha256(const char *s)
{
	return s && strlen(s) == SHA256_HEX_LEN - 1 && hex_is_lower(s, SHA256_HEX_LEN - 1);
}

/* The offset of the first byte from t[i] on (i <= len) that is not JSON whitespace. */
static size_t skip_ws(const char *t, size_t i, size_t len)
{
	return (size_t)(ops_json_ws(t + i, t + len) - t);
}

/*
 * Whether the text from the checksum key on is exactly
 * "manifest_sha256": "<64 hex>" } and blanks: nothing may follow the
 * checksum, or it would be left unprotected.
 */
static bool self_line_last(const char *t, size_t at, size_t len)
{
	size_t i = skip_ws(t, at + strlen(SELF_KEY), len);

	if (i >= len || t[i] != ':')
		return false;
	i = skip_ws(t, i + 1, len);
	if (i + 66 > len || t[i] != '"' || t[i + 65] != '"')
		return false;
	i = skip_ws(t, i + 66, len);
	if (i >= len || t[i] != '}')
		return false;
	return skip_ws(t, i + 1, len) == len;
}

/* Finds the checksum line and hashes everything before it. */
static void check_self(const char *t, size_t len, json_object *root, struct ops_manifest *m,
		       struct ops_report *rep)
{
	const char *recorded = jx_get_str(root, "manifest_sha256");
	char computed[SHA256_HEX_LEN];
	const char *hit = NULL, *p = t;
	size_t line;

	/* memmem, not strstr: the text is (t, len), not a C string */
	while ((p = memmem(p, len - (size_t)(p - t), SELF_KEY, strlen(SELF_KEY))) != NULL)
		hit = p++;
	if (!hit || !recorded) {
		ops_report_add(rep, "manifest_checksum", OPS_MANIFEST_NAME,
			       "no manifest_sha256: the manifest cannot be checked");
		return;
	}
	snprintf(m->self_sha256, sizeof(m->self_sha256), "%s", recorded);
	if (!self_line_last(t, (size_t)(hit - t), len)) {
		ops_report_add(rep, "manifest_checksum", OPS_MANIFEST_NAME,
			       "manifest_sha256 must be the last member, on the last line");
		return;
	}
	line = (size_t)(hit - t);
	while (line > 0 && t[line - 1] != '\n')
		line--;
	sha256_hex(t, line, computed);
	if (strcmp(computed, recorded) != 0)
		ops_report_add(rep, "manifest_checksum", OPS_MANIFEST_NAME,
			       "manifest_sha256 is %.64s but the manifest's content hashes to %s "
			       "(the manifest was changed)",
			       recorded, computed);
}

/* A string member; a problem when required and absent or not a string. */
static char *take_str(json_object *o, const char *key, const char *where, struct ops_report *rep)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "%s%s: missing or not a string", where, key);
		return NULL;
	}
	return xstrdup(json_object_get_string(v));
}

static bool take_int(json_object *o, const char *key, const char *where, int64_t min, int64_t *out,
		     struct ops_report *rep)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < min) {
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "%s%s: missing or not a whole number >= %lld", where, key,
			       (long long)min);
		return false;
	}
	*out = json_object_get_int64(v);
	return true;
}

static json_object *take_array(json_object *o, const char *key, struct ops_report *rep)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array)) {
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "%s: missing or not an array", key);
		return NULL;
	}
	return v;
}

/*
 * The versions must run 1..N without gaps, as the schema's migrations do: restore
 * compares entry i with this binary's migration i (name and checksum), which only
 * means something when position and version agree.
 */
static void parse_migrations(json_object *root, struct ops_manifest *m, struct ops_report *rep)
{
	json_object *a = take_array(root, "migrations", rep);
	size_t n = a ? json_object_array_length(a) : 0;

	m->migrations = xcalloc(n + 1, sizeof(*m->migrations));
	for (size_t i = 0; i < n; i++) {
		json_object *g = json_object_array_get_idx(a, i);
		struct ops_manifest_migration *mg = &m->migrations[m->nmigrations++];
		char where[40];
		int64_t v = 0;

		snprintf(where, sizeof(where), "migrations[%zu].", i);
		if (take_int(g, "version", where, 1, &v, rep) && v != (int64_t)i + 1)
			ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
				       "%sversion: %lld where %zu was expected", where,
				       (long long)v, i + 1);
		mg->version = (int)v;
		mg->name = take_str(g, "name", where, rep);
		mg->checksum =
			jx_get_str(g, "checksum") ? xstrdup(jx_get_str(g, "checksum")) : NULL;
	}
	if (m->schema_version > 0 && (size_t)m->schema_version != m->nmigrations)
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "migrations: %zu listed for database_schema_version %d",
			       m->nmigrations, m->schema_version);
}

static bool parse_columns(json_object *fo, struct ops_manifest_file *f, const char *where,
			  struct ops_report *rep)
{
	json_object *a = NULL;
	bool has_key = false;
	size_t n;

	if (!json_object_object_get_ex(fo, "columns", &a) ||
	    !json_object_is_type(a, json_type_array) || json_object_array_length(a) == 0 ||
	    json_object_array_length(a) > OPS_MAX_COLS) {
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "%scolumns: missing or not an array of 1..%d names", where,
			       OPS_MAX_COLS);
		return false;
	}
	n = json_object_array_length(a);
	f->columns = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const char *c = json_object_get_string(json_object_array_get_idx(a, i));

		if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_string)) {
			ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
				       "%scolumns[%zu]: not a string", where, i);
			return false;
		}
		f->columns[f->ncolumns++] = xstrdup(c);
		has_key = has_key || str_eq(c, f->key);
	}
	if (!has_key)
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "%scolumns: the key column is not among them", where);
	return has_key;
}

/*
 * The optional "order": the key alone (also when absent, as in backups
 * from before it existed) or "TIME desc, KEY" with TIME another column.
 */
static bool parse_order(json_object *fo, struct ops_manifest_file *f, const char *where,
			struct ops_report *rep)
{
	const char *o = jx_get_str(fo, "order");
	const char *sep = o ? strstr(o, " desc, ") : NULL;
	json_object *v = NULL;

	if (!json_object_object_get_ex(fo, "order", &v) || (o && str_eq(o, f->key)))
		return true;
	if (sep && sep > o && str_eq(sep + 7, f->key)) {
		f->newest_first = xstrndup(o, (size_t)(sep - o));
		for (size_t i = 0; i < f->ncolumns; i++)
			if (str_eq(f->columns[i], f->newest_first) &&
			    !str_eq(f->key, f->newest_first))
				return true;
	}
	ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
		       "%sorder: must be the key \"%s\" or \"COLUMN desc, %s\" with COLUMN "
		       "another of the columns",
		       where, f->key, f->key);
	return false;
}

static bool take_sha256(json_object *o, const char *key, const char *where,
			char out[SHA256_HEX_LEN], struct ops_report *rep)
{
	if (!ops_is_sha256(jx_get_str(o, key))) {
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "%s%s: missing or not 64 lowercase hex digits", where, key);
		return false;
	}
	snprintf(out, SHA256_HEX_LEN, "%s", jx_get_str(o, key));
	return true;
}

/*
 * How the file is stored (v3): "compression" and the stored file's size and
 * SHA-256.  A v2 entry is stored as it is, so its stored file is its
 * content; so must a v3 entry without compression say.
 */
static bool parse_stored(json_object *fo, struct ops_manifest_file *f, const char *where, bool v3,
			 struct ops_report *rep)
{
	const char *c = jx_get_str(fo, "compression");
	bool ok = true;

	if (!v3) {
		f->stored_bytes = f->bytes;
		memcpy(f->stored_sha256, f->sha256, SHA256_HEX_LEN);
		return true;
	}
	if (str_eq(c, "zstd") || str_eq(c, "none")) {
		f->compression = str_eq(c, "zstd") ? OPS_COMPRESS_ZSTD : OPS_COMPRESS_NONE;
	} else {
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "%scompression: missing or not \"none\" or \"zstd\"", where);
		ok = false;
	}
	ok = take_int(fo, "stored_bytes", where, 0, &f->stored_bytes, rep) && ok;
	ok = take_sha256(fo, "stored_sha256", where, f->stored_sha256, rep) && ok;
	if (ok && f->compression == OPS_COMPRESS_NONE && ops_is_sha256(f->sha256) &&
	    (f->stored_bytes != f->bytes || strcmp(f->stored_sha256, f->sha256) != 0)) {
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "%sstored_bytes and stored_sha256 must be bytes and sha256 when "
			       "compression is none",
			       where);
		ok = false;
	}
	return ok;
}

/* One files[] entry; usable when it can be checked against the disk. */
static void parse_file(json_object *fo, size_t i, struct ops_manifest_file *f, bool v3,
		       struct ops_report *rep)
{
	char where[40], why[120];
	bool ok;

	snprintf(where, sizeof(where), "files[%zu].", i);
	f->store = take_str(fo, "store", where, rep);
	f->table = take_str(fo, "table", where, rep);
	f->path = take_str(fo, "path", where, rep);
	f->key = take_str(fo, "key", where, rep);
	ok = f->store && f->table && f->path && f->key;
	ok = parse_columns(fo, f, where, rep) && ok;
	ok = ok && parse_order(fo, f, where, rep);
	ok = take_int(fo, "rows", where, 0, &f->rows, rep) && ok;
	ok = take_int(fo, "bytes", where, 0, &f->bytes, rep) && ok;
	ok = take_sha256(fo, "sha256", where, f->sha256, rep) && ok;
	/* read even when something else is wrong, so that the stored total still adds up */
	ok = parse_stored(fo, f, where, v3, rep) && ok;
	if (f->path && !ops_path_safe(f->path, why, sizeof(why))) {
		ops_report_add(rep, "path_unsafe", f->path,
			       "path leaves or hides in the backup directory: %s", why);
		ok = false;
	}
	f->usable = ok;
}

/*
 * The totals are stored beside the per-file numbers on purpose: an edit that
 * changes one file entry and not the totals is caught here, before any file is
 * read.  A path listed twice is unusable (which entry's checksum holds?); a table
 * listed twice is reported but its files can still be checked.
 */
static void parse_files(json_object *root, struct ops_manifest *m, struct ops_report *rep)
{
	json_object *a = take_array(root, "files", rep);
	size_t n = a ? json_object_array_length(a) : 0;
	/* the stored fields came with v3 */
	bool v3 = str_eq(m->format, OPS_BACKUP_FORMAT) || str_eq(m->format, OPS_BACKUP_FORMAT_V3);
	int64_t rows = 0, bytes = 0, stored = 0;

	m->files = xcalloc(n + 1, sizeof(*m->files));
	for (size_t i = 0; i < n; i++) {
		struct ops_manifest_file *f = &m->files[m->nfiles++];

		parse_file(json_object_array_get_idx(a, i), i, f, v3, rep);
		/* the numbers are the manifest's own: a sum past int64 cannot be a real backup */
		if (__builtin_add_overflow(rows, f->rows, &rows) ||
		    __builtin_add_overflow(bytes, f->bytes, &bytes) ||
		    __builtin_add_overflow(stored, f->stored_bytes, &stored)) {
			ops_report_add(rep, "manifest_field", f->path ? f->path : "?",
				       "rows or bytes add up past the largest total");
			rows = bytes = stored = INT64_MAX;
		}
		for (size_t k = 0; k < i; k++) {
			if (f->path && str_eq(m->files[k].path, f->path)) {
				ops_report_add(rep, "duplicate", f->path, "listed twice");
				f->usable = false;
			} else if (f->table && str_eq(m->files[k].table, f->table)) {
				ops_report_add(rep, "duplicate", f->path ? f->path : "?",
					       "table '%s' listed twice", f->table);
			}
		}
	}
	if (take_int(root, "rows", "", 0, &m->rows, rep) && m->rows != rows)
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "rows: %lld, but the files add up to %lld", (long long)m->rows,
			       (long long)rows);
	if (take_int(root, "bytes", "", 0, &m->bytes, rep) && m->bytes != bytes)
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "bytes: %lld, but the files add up to %lld", (long long)m->bytes,
			       (long long)bytes);
	if (!v3)
		m->stored_bytes = m->bytes;
	else if (take_int(root, "stored_bytes", "", 0, &m->stored_bytes, rep) &&
		 m->stored_bytes != stored)
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "stored_bytes: %lld, but the files add up to %lld",
			       (long long)m->stored_bytes, (long long)stored);
}

/*
 * The optional audit_head: absent in backups of databases without a hash chain (and in
 * every backup before it existed); when present it must be {seq >= 0, hash: 64 hex}.
 */
static void parse_audit_head(json_object *root, struct ops_manifest *m, struct ops_report *rep)
{
	json_object *h = NULL, *seq = NULL;
	const char *hash;

	if (!json_object_object_get_ex(root, "audit_head", &h))
		return;
	hash = jx_get_str(h, "hash");
	if (!json_object_is_type(h, json_type_object) ||
	    !json_object_object_get_ex(h, "seq", &seq) ||
	    !json_object_is_type(seq, json_type_int) || json_object_get_int64(seq) < 0 ||
	    !ops_is_sha256(hash)) {
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "audit_head: not {\"seq\": N >= 0, \"hash\": 64 lowercase hex}");
		return;
	}
	m->audit_head_seq = json_object_get_int64(seq);
	snprintf(m->audit_head_hash, sizeof(m->audit_head_hash), "%s", hash);
	m->has_audit_head = true;
}

/*
 * Each field is read on its own and every problem is reported, so one run tells
 * the operator everything that is wrong with the manifest.
 */
static void parse_header(json_object *root, struct ops_manifest *m, struct ops_report *rep)
{
	int64_t v = 0;

	m->format = take_str(root, "schema_version", "", rep);
	if (m->format && !str_eq(m->format, OPS_BACKUP_FORMAT) &&
	    !str_eq(m->format, OPS_BACKUP_FORMAT_V3) && !str_eq(m->format, OPS_BACKUP_FORMAT_V2))
		ops_report_add(rep, "manifest_format", OPS_MANIFEST_NAME,
			       "schema_version '%.60s' is not %s (or the earlier %s or %s)",
			       m->format, OPS_BACKUP_FORMAT, OPS_BACKUP_FORMAT_V3,
			       OPS_BACKUP_FORMAT_V2);
	m->tool_version = take_str(root, "tool_version", "", rep);
	m->backup_id = take_str(root, "backup_id", "", rep);
	m->backend = take_str(root, "backend", "", rep);
	if (m->backend && strcmp(m->backend, "sqlite") != 0 && strcmp(m->backend, "postgres") != 0)
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "backend '%.40s' is not sqlite or postgres", m->backend);
	m->snapshot = take_str(root, "snapshot", "", rep);
	m->created_at = take_str(root, "created_at", "", rep);
	m->finished_at = take_str(root, "finished_at", "", rep);
	if (take_int(root, "database_schema_version", "", 1, &v, rep))
		m->schema_version = (int)v;
}

/*
 * The request bodies' parser (jx_parse): RFC 8259 with UTF-8 validation, no raw control
 * character in a string, no malformed number or NaN, nothing but whitespace after the object,
 * and no key twice in one object (JSON leaves open which of the two values counts).  The
 * self-checksum covers bytes, and text that a lenient parser would skip could hide a second
 * document.  The checksum is checked before the fields, so a manifest that was edited is
 * reported as such, whatever else is wrong with it.
 */
void ops_manifest_parse(const char *text, size_t len, struct ops_manifest **out,
			struct ops_report *rep)
{
	json_object *root = NULL;
	struct ops_manifest *m;
	struct err je = {0};

	*out = NULL;
	if (jx_parse(text, len, MANIFEST_DEPTH, &root, &je) != ST_OK) {
		ops_report_add(rep, "manifest_syntax", OPS_MANIFEST_NAME, "the manifest %s",
			       jx_fault(je.msg));
		return;
	}
	if (!json_object_is_type(root, json_type_object)) {
		ops_report_add(rep, "manifest_syntax", OPS_MANIFEST_NAME, "not a JSON object");
		json_object_put(root);
		return;
	}
	m = xcalloc(1, sizeof(*m));
	check_self(text, len, root, m, rep);
	parse_header(root, m, rep);
	parse_migrations(root, m, rep);
	parse_files(root, m, rep);
	parse_audit_head(root, m, rep);
	json_object_put(root);
	*out = m;
}
