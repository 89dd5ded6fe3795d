/*
 * ops_verify.c - `cavra ops verify`: checks a backup directory against its
 * manifest and reports every problem it finds, in the order
 * pg_verifybackup uses: the manifest's structure, then presence and size of
 * each file, then checksums and contents.  Nothing stops at the first
 * problem; only the number of line problems per file is capped, so that one
 * garbage file does not bury the rest.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "base/files.h"
#include "base/str.h"
#include "base/progress.h"
#include "base/timeutil.h"
#include "migrate/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MANIFEST_MAX ((size_t)8 << 20)

static void line_problem(struct ops_line_check *lc, int64_t lineno, const char *fmt, ...)
	ATTR_PRINTF(3, 4);
static void line_problem(struct ops_line_check *lc, int64_t lineno, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (lc->problems++ >= OPS_LINE_PROBLEMS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ops_report_add(lc->rep, "line", lc->f->path, "line %lld: %s", (long long)lineno, msg);
}

/* Whether f's key is an integer column of this binary's catalogue (audit_chain's seq). */
static bool key_is_int(const struct ops_manifest_file *f)
{
	const struct ops_table *t = f->table ? ops_table_find(f->table) : NULL;
	size_t i = t ? ops_table_col(t, f->key) : SIZE_MAX;

	return i != SIZE_MAX && t->cols[i].kind == OPS_INT;
}

void ops_line_check_init(struct ops_line_check *lc, const struct ops_manifest_file *f,
			 struct ops_report *rep)
{
	memset(lc, 0, sizeof(*lc));
	lc->f = f;
	lc->rep = rep;
	ops_line_keys_init(&lc->keys, (const char *const *)lc->f->columns, lc->f->ncolumns);
	lc->int_key = key_is_int(f);
	for (size_t i = 0; i < lc->f->ncolumns; i++)
		if (str_eq(lc->f->columns[i], lc->f->key))
			lc->key_col = i;
		else if (lc->f->newest_first && str_eq(lc->f->columns[i], lc->f->newest_first))
			lc->time_col = i;
	buf_init(&lc->prev, OPS_LINE_MAX);
	buf_init(&lc->cur, OPS_LINE_MAX);
	buf_init(&lc->prev_time, OPS_LINE_MAX);
	buf_init(&lc->cur_time, OPS_LINE_MAX);
	buf_init(&lc->text, OPS_LINE_MAX);
}

void ops_line_check_release(struct ops_line_check *lc)
{
	buf_release(&lc->prev);
	buf_release(&lc->cur);
	buf_release(&lc->prev_time);
	buf_release(&lc->cur_time);
	buf_release(&lc->text);
}

static int cmp_bufs(const struct buf *a, const struct buf *b)
{
	return bytes_cmp(a->data, a->len, b->data, b->len);
}

/* The current row becomes the previous one by swapping buffers, with no copy per line. */
static void swap_bufs(struct buf *a, struct buf *b)
{
	struct buf t = *a;

	*a = *b;
	*b = t;
}

/* The text of string column col into out; false (a problem reported) when it is not a string. */
static bool column_text(struct ops_line_check *lc, int64_t lineno, size_t col, struct buf *out)
{
	const struct ops_span *s = &lc->spans[col];

	buf_reset(out);
	if (s->kind == OPS_SPAN_STRING && ops_span_text(s, out, NULL) == ST_OK)
		return true;
	line_problem(lc, lineno, "'%s' is not a string, or holds a NUL (\\u0000)",
		     lc->f->columns[col]);
	return false;
}

/*
 * An integer key's value (its text into out too, for messages); false (a problem reported)
 * when it is not a whole number.
 */
static bool column_int(struct ops_line_check *lc, int64_t lineno, size_t col, struct buf *out,
		       int64_t *v)
{
	const struct ops_span *s = &lc->spans[col];

	buf_reset(out);
	if (!ops_span_int(s, v)) {
		line_problem(lc, lineno, "'%s' is not a whole number", lc->f->columns[col]);
		return false;
	}
	/* a span is far below the cap; the text ends in a NUL for the messages */
	return buf_add(out, s->p, s->n, NULL) == ST_OK && buf_add(out, "", 1, NULL) == ST_OK;
}

static bool column_key(struct ops_line_check *lc, int64_t lineno)
{
	return lc->int_key ? column_int(lc, lineno, lc->key_col, &lc->cur, &lc->cur_int)
			   : column_text(lc, lineno, lc->key_col, &lc->cur);
}

/* The previous key against this line's: < 0 when it comes first. */
static int cmp_keys(const struct ops_line_check *lc)
{
	if (lc->int_key)
		return (lc->prev_int > lc->cur_int) - (lc->prev_int < lc->cur_int);
	return cmp_bufs(&lc->prev, &lc->cur);
}

/*
 * Rows come in the file's order without repeating: keys strictly
 * increasing (by bytes, or an integer key by value), or for a file newest
 * first, times (canonical UTC text, whose byte order is time order)
 * decreasing and keys increasing among rows of the same time.
 */
static void check_order(struct ops_line_check *lc, int64_t lineno)
{
	bool by_time = lc->f->newest_first != NULL, in_order;
	int tcmp = 0;

	if (!column_key(lc, lineno) ||
	    (by_time && !column_text(lc, lineno, lc->time_col, &lc->cur_time)))
		return;
	if (by_time && lc->have_prev)
		tcmp = cmp_bufs(&lc->cur_time, &lc->prev_time);
	in_order = !lc->have_prev || tcmp < 0 || (tcmp == 0 && cmp_keys(lc) < 0);
	if (!in_order && by_time)
		line_problem(lc, lineno,
			     "row ('%.40s', '%.80s') does not come after ('%.40s', '%.80s') (rows "
			     "are newest first by %s, then in key order, without duplicates)",
			     lc->cur_time.data, lc->cur.data, lc->prev_time.data, lc->prev.data,
			     lc->f->newest_first);
	else if (!in_order)
		line_problem(lc, lineno,
			     "key '%.80s' does not come after '%.80s' (rows are in key order, "
			     "without duplicates)",
			     lc->cur.data, lc->prev.data);
	swap_bufs(&lc->prev, &lc->cur);
	swap_bufs(&lc->prev_time, &lc->cur_time);
	lc->prev_int = lc->cur_int;
	lc->have_prev = true;
}

/* Why the value s does not fit a column of kind k (what a restore would refuse), or NULL. */
static const char *kind_fault(struct ops_line_check *lc, enum ops_col_kind k,
			      const struct ops_span *s)
{
	int64_t n, us;

	if (s->kind == OPS_SPAN_NULL || k == OPS_JSON)
		return NULL; /* JSON: checked as the line was split */
	if (k == OPS_INT)
		return ops_span_int(s, &n) ? NULL : "is not an integer";
	if (s->kind != OPS_SPAN_STRING)
		return k == OPS_TIME ? "is not a time" : "is not a string";
	if (!s->escaped && k == OPS_TEXT)
		return NULL; /* a raw NUL is no JSON: only an escape can hold one */
	buf_reset(&lc->text);
	if (ops_span_text(s, &lc->text, NULL) != ST_OK)
		return "holds a NUL (\\u0000)";
	if (k == OPS_TIME && !time_parse_stored(lc->text.data, &us))
		return "is not a time";
	return NULL;
}

/* Every value against its column's kind in this binary's catalogue, as a restore decodes it. */
static void check_kinds(struct ops_line_check *lc, int64_t lineno)
{
	for (size_t i = 0; i < lc->f->ncolumns; i++) {
		const char *why = kind_fault(lc, lc->view->cols[i].kind, &lc->spans[i]);

		if (why) {
			line_problem(lc, lineno, "'%s' %s", lc->f->columns[i], why);
			return;
		}
	}
}

enum status ops_line_check(void *ctx, const char *line, size_t len, int64_t lineno, struct err *e)
{
	struct ops_line_check *lc = ctx;
	const char *why = NULL;

	UNUSED(e);
	progress_add(lc->progress, 1);
	if (!ops_line_split(line, len, &lc->keys, lc->spans, &why)) {
		line_problem(lc, lineno, "not a valid dump row: %s", why);
		return ST_OK;
	}
	check_order(lc, lineno);
	if (lc->view)
		check_kinds(lc, lineno);
	if (lc->vchain)
		ops_vchain_line(lc->vchain, lc->f, lc->spans, line, len, lineno);
	if (lc->vcount)
		ops_vcount_line(lc->vcount, lc->f, lc->spans);
	return ST_OK;
}

void ops_line_check_spans(struct ops_line_check *lc, const struct ops_span *spans, int64_t lineno)
{
	progress_add(lc->progress, 1);
	lc->spans[lc->key_col] = spans[lc->key_col];
	if (lc->f->newest_first)
		lc->spans[lc->time_col] = spans[lc->time_col];
	check_order(lc, lineno);
}

/*
 * Whether every directory between dir and rel's last component is a real
 * directory: a symbolic link among them would lead out of the backup even
 * though the path itself has no "..".
 */
static bool real_parents(const char *dir, const char *rel)
{
	char *p = xstrdup(rel);
	bool ok = true;

	for (char *slash = strchr(p, '/'); ok && slash; slash = strchr(slash + 1, '/')) {
		struct stat sb;
		char *full;

		*slash = '\0';
		full = ops_path_join(dir, p);
		ok = lstat(full, &sb) != 0 || S_ISDIR(sb.st_mode);
		*slash = '/';
		free(full);
	}
	free(p);
	return ok;
}

/*
 * Whether the file is there as a regular file; a problem otherwise.  lstat,
 * not stat: a symbolic link could point anywhere, and a FIFO would block
 * the reader.
 */
static bool present(const char *dir, const char *path, const struct ops_manifest_file *f,
		    struct ops_report *rep)
{
	struct stat sb;

	if (!real_parents(dir, f->path)) {
		ops_report_add(rep, "not_regular", f->path,
			       "a directory on the way is a symbolic link or not a directory");
		return false;
	}
	if (lstat(path, &sb) != 0) {
		if (errno == ENOENT)
			ops_report_add(rep, "missing", f->path,
				       "listed in the manifest, not found");
		else
			ops_report_add(rep, "unreadable", f->path, "%s", BASE_ERRSTR(errno));
		return false;
	}
	if (!S_ISREG(sb.st_mode)) {
		ops_report_add(rep, "not_regular", f->path, "not a regular file%s",
			       S_ISLNK(sb.st_mode) ? " (a symbolic link)" : "");
		return false;
	}
	return true;
}

/*
 * What the disk says against what the manifest says (for a compressed
 * file, its decompressed content).  A checksum mismatch
 * is reported only when the sizes agree: with a different size the content
 * differs for sure, and one problem says it (pg_verifybackup does the same).
 */
static void compare_scan(const struct ops_manifest_file *f, const struct ops_scan *s,
			 struct ops_report *rep)
{
	if (s->overlong)
		ops_report_add(rep, "line", f->path, "line %lld: longer than %zu bytes",
			       (long long)s->overlong, OPS_LINE_MAX);
	if (!s->final_newline)
		ops_report_add(rep, "truncated", f->path,
			       "the last line has no newline (the file was cut short)");
	if (s->bytes != f->bytes)
		ops_report_add(rep, "size", f->path, "%lld bytes, the manifest says %lld",
			       (long long)s->bytes, (long long)f->bytes);
	else if (strcmp(s->sha256, f->sha256) != 0)
		ops_report_add(rep, "sha256", f->path, "sha256 %s, the manifest says %s", s->sha256,
			       f->sha256);
	if (s->rows != f->rows)
		ops_report_add(rep, "rows", f->path, "%lld rows, the manifest says %lld",
			       (long long)s->rows, (long long)f->rows);
	/* checked before decompressing; different now only if the file changed meanwhile */
	if (f->compression != OPS_COMPRESS_NONE && strcmp(s->stored_sha256, f->stored_sha256) != 0)
		ops_report_add(rep, "stored_sha256", f->path,
			       "changed while it was being verified");
}

/*
 * A compressed file is checked as stored first, size and SHA-256 of its bytes, and only
 * decompressed when they match: a damaged file is reported as such, and a decompressor never
 * sees bytes the manifest does not vouch for.
 */
static bool stored_ok(const char *path, const struct ops_manifest_file *f, struct ops_report *rep)
{
	char sha[SHA256_HEX_LEN];
	struct err e = {0};
	int64_t bytes = 0;

	if (ops_hash_file(path, &bytes, sha, &e) != ST_OK) {
		ops_report_add(rep, "unreadable", f->path, "%s", e.msg);
		return false;
	}
	if (bytes != f->stored_bytes) {
		ops_report_add(rep, "stored_size", f->path,
			       "%lld bytes, the manifest says %lld (stored_bytes)",
			       (long long)bytes, (long long)f->stored_bytes);
		return false;
	}
	if (strcmp(sha, f->stored_sha256) != 0) {
		ops_report_add(rep, "stored_sha256", f->path,
			       "sha256 %s, the manifest says %s (stored_sha256)", sha,
			       f->stored_sha256);
		return false;
	}
	return true;
}

/* A failed read: a damaged frame and content past the listed size have kinds of their own. */
static void scan_failed(const struct ops_manifest_file *f, const struct err *e,
			struct ops_report *rep)
{
	const char *kind = e->code == ST_INVALID     ? "decompress"
			   : e->code == ST_TOO_LARGE ? "size"
						     : "unreadable";

	ops_report_add(rep, kind, f->path, "%s", e->msg);
}

/* An uncompressed file's size, which a restore's load checks again with its content. */
static bool size_ok(const char *path, const struct ops_manifest_file *f, struct ops_report *rep)
{
	struct stat sb;

	if (stat(path, &sb) != 0) {
		ops_report_add(rep, "unreadable", f->path, "%s", BASE_ERRSTR(errno));
		return false;
	}
	if ((int64_t)sb.st_size != f->bytes) {
		ops_report_add(rep, "size", f->path, "%lld bytes, the manifest says %lld",
			       (long long)sb.st_size, (long long)f->bytes);
		return false;
	}
	return true;
}

/*
 * stored_only: the file as stored, and the manifest's figures counted; the content is the
 * caller's to check.  An uncompressed file's stored checksum is its content's: only its size.
 */
static void verify_stored(const char *dir, const struct ops_manifest_file *f,
			  struct ops_verify_result *out)
{
	char *path = ops_path_join(dir, f->path);
	bool ok = present(dir, path, f, &out->problems);

	if (ok)
		ok = f->compression == OPS_COMPRESS_NONE ? size_ok(path, f, &out->problems)
							 : stored_ok(path, f, &out->problems);
	if (ok) {
		out->files++;
		out->rows += f->rows;
		out->bytes += f->bytes;
		out->stored_bytes += f->stored_bytes;
	}
	free(path);
}

/* The checks across files that read a file's lines: the chain's, the sessions' counters'. */
struct across {
	struct ops_vchain *chain;
	struct ops_vcount *counters;
};

/*
 * A file that cannot be read is one problem and the walk goes on with the next file, so one
 * bad disk block does not hide the state of the rest.  Lines are checked in the same pass that
 * hashes the (decompressed) content: each byte is read once however large the backup.
 */
static void verify_file(const char *dir, const struct ops_manifest_file *f,
			const struct ops_table *view, struct ops_verify_result *out,
			struct progress *progress, const struct across *x)
{
	const struct ops_stored how = {f->compression, f->bytes};
	struct ops_line_check lc;
	char *path = ops_path_join(dir, f->path);
	struct ops_scan scan;
	struct err e = {0};
	size_t before = out->problems.n;

	if (present(dir, path, f, &out->problems) &&
	    (f->compression == OPS_COMPRESS_NONE || stored_ok(path, f, &out->problems))) {
		ops_line_check_init(&lc, f, &out->problems);
		lc.progress = progress;
		lc.view = view;
		lc.vchain = ops_vchain_reads(x->chain, f) ? x->chain : NULL;
		lc.vcount = ops_vcount_reads(x->counters, f) ? x->counters : NULL;
		progress_item(progress, f->path);
		if (ops_scan_stored(path, &how, ops_line_check, &lc, &scan, &e) != ST_OK) {
			scan_failed(f, &e, &out->problems);
		} else {
			if (lc.problems > OPS_LINE_PROBLEMS_MAX)
				ops_report_add(&out->problems, "line", f->path,
					       "and %lld more line problems",
					       (long long)(lc.problems - OPS_LINE_PROBLEMS_MAX));
			compare_scan(f, &scan, &out->problems);
			if (lc.vchain)
				ops_vchain_read(lc.vchain, f, out->problems.n == before);
			if (lc.vcount)
				ops_vcount_read(lc.vcount, f, out->problems.n == before);
			out->files++;
			out->rows += scan.rows;
			out->bytes += scan.bytes;
			out->stored_bytes += scan.stored_bytes;
		}
		ops_line_check_release(&lc);
	}
	free(path);
}

/* ---- unlisted files ---- */

struct listing {
	const char *const *paths; /* NULL entries are skipped */
	size_t n;
};

/* rel is listed as a file, or (as_dir) a directory holding a listed file below it. */
static bool listed(const struct listing *l, const char *rel, bool as_dir)
{
	size_t n = strlen(rel);

	for (size_t i = 0; i < l->n; i++) {
		const char *p = l->paths[i];

		if (p && (as_dir ? strncmp(p, rel, n) == 0 && p[n] == '/' : str_eq(p, rel)))
			return true;
	}
	return false;
}

static void walk_from(const char *root, const char *rel, int depth, const struct listing *l,
		      struct ops_report *rep)
{
	char *dir = rel ? ops_path_join(root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL) {
		char *sub = rel ? ops_path_join(rel, de->d_name) : xstrdup(de->d_name);
		char *full = ops_path_join(root, sub);
		struct stat sb = {0};

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    (!rel && (strcmp(de->d_name, OPS_MANIFEST_NAME) == 0 ||
			      strcmp(de->d_name, OPS_SIGNATURE_NAME) == 0)) ||
		    listed(l, sub, false)) {
			/* expected */
		} else if (lstat(full, &sb) == 0 && S_ISDIR(sb.st_mode) && depth < OPS_WALK_DEPTH &&
			   listed(l, sub, true)) {
			walk_from(root, sub, depth + 1, l, rep);
		} else {
			ops_report_add(rep, "unlisted", sub, "%s not listed in the manifest",
				       S_ISDIR(sb.st_mode) ? "directory" : "file");
		}
		free(full);
		free(sub);
	}
	if (d)
		closedir(d);
	free(dir);
}

/*
 * Reports every entry under root that the manifest does not list.  Only
 * directories that hold listed files are entered, so an unlisted directory
 * is one problem, not one per file in it; symbolic links are never followed.
 * Both manifest formats (v2 here, the original's v1 in ops_v1.c) use it.
 */
void ops_walk_unlisted(const char *root, const char *const *paths, size_t n, struct ops_report *rep)
{
	struct listing l = {paths, n};

	walk_from(root, NULL, 0, &l, rep);
}

/*
 * Files the manifest does not list are problems too: an extra file may be a dump of another
 * backup copied in, and a restore must never mistake a directory of mixed origins for one.
 */
static void walk_manifest(const char *dir, const struct ops_manifest *m, struct ops_report *rep)
{
	size_t n = m ? m->nfiles : 0;
	const char **paths = xcalloc(n + 1, sizeof(*paths));

	for (size_t i = 0; i < n; i++)
		paths[i] = m->files[i].path;
	ops_walk_unlisted(dir, paths, n, rep);
	free(paths);
}

/* ---- the manifest ---- */

/*
 * lstat, not stat: a manifest that is a symlink could point anywhere, and the backup's own
 * checksum would then vouch for a file outside it.  The size cap bounds the read.
 */
static bool read_manifest(const char *path, struct buf *text, struct ops_report *rep)
{
	struct err e = {0};
	struct stat sb;

	if (lstat(path, &sb) != 0) {
		ops_report_add(rep, "manifest_unreadable", OPS_MANIFEST_NAME, "'%s': %s", path,
			       BASE_ERRSTR(errno));
		return false;
	}
	if (!S_ISREG(sb.st_mode)) {
		ops_report_add(rep, "manifest_unreadable", OPS_MANIFEST_NAME,
			       "'%s': not a regular file", path);
		return false;
	}
	if (file_read(path, MANIFEST_MAX, text, &e) != ST_OK) {
		ops_report_add(rep, "manifest_unreadable", OPS_MANIFEST_NAME, "%s", e.msg);
		return false;
	}
	return true;
}

/*
 * Returns a verdict, not a status: every problem goes into out->problems, and the command
 * decides the exit code.  Only files whose manifest entry parsed are checked, so a broken entry
 * is reported once rather than again as a missing or mismatched file.
 */
bool ops_verify(const char *manifest, struct ops_verify_result *out)
{
	return ops_verify_signed(manifest, NULL, out);
}

/*
 * The signature is checked on the very bytes that are then parsed, before the parse, so a
 * required key guards every later step (paths opened, files hashed, rows loaded) and a file
 * swapped in between cannot slip past it.
 */
bool ops_verify_signed(const char *manifest, const struct ed25519_key *public_key,
		       struct ops_verify_result *out)
{
	const struct ops_verify_opts o = {.public_key = public_key};

	return ops_verify_with(manifest, &o, out);
}

/*
 * What a restore by this binary refuses before it loads a row (ops_restore.c's plan): a table
 * it does not know at the backup's schema version, one of that version without a file, a file
 * whose columns are not the table's.  views[k] gets the table of file k as this binary reads
 * it, for the line check, or keeps 0 columns.  A backup of a schema newer than this binary's
 * migrations (or of a backend whose migrations it cannot load) is left to a newer binary.
 */
static void check_schema(const struct ops_manifest *m, struct ops_table *views,
			 struct ops_report *rep)
{
	struct migration_set set = {0};
	bool newer = migrate_set_load(NULL, m->backend, &set, NULL) != ST_OK ||
		     (size_t)m->schema_version > set.n;
	bool legacy = !str_eq(m->format, OPS_BACKUP_FORMAT);

	migrate_set_release(&set);
	for (size_t k = 0; !newer && k < m->nfiles; k++) {
		const struct ops_table *t =
			m->files[k].table ? ops_table_find(m->files[k].table) : NULL;

		if (m->files[k].usable && (!t || !ops_table_at(t, m->schema_version)))
			ops_report_add(rep, "schema", m->files[k].path,
				       "table '%s' is unknown to this binary at schema version %d",
				       m->files[k].table, m->schema_version);
	}
	for (size_t i = 0; !newer && i < ops_catalog_n; i++) {
		const struct ops_table *t = &ops_catalog[i];
		const struct ops_manifest_file *f = ops_manifest_file_of(m, t->table);
		struct ops_table view;

		if (!ops_table_at(t, m->schema_version) || (f && !f->usable))
			continue;
		ops_table_view(t, m->schema_version, &view);
		if (!f)
			ops_report_add(rep, "schema", OPS_MANIFEST_NAME,
				       "no file for table '%s', which a restore needs", t->table);
		else if (!ops_same_columns(f, &view, legacy))
			ops_report_add(rep, "schema", f->path,
				       "the columns of '%s' differ from this binary's at schema "
				       "version %d (names, order, key or store)",
				       t->table, m->schema_version);
		else
			views[f - m->files] = view;
	}
}

/*
 * Every usable file of the manifest; with o->chain, the chain's file last, so that the decision
 * lines its entries name were read before it whatever the manifest's order.
 */
static void verify_files(const char *dir, const struct ops_verify_opts *o,
			 const struct ops_table *views, struct ops_verify_result *out)
{
	const struct ops_manifest *m = out->manifest;
	bool across = o->chain && !o->stored_only;
	const struct across x = {across ? ops_vchain_new(m, o, &out->problems, &out->chain) : NULL,
				 across ? ops_vcount_new(m, &out->problems, &out->counters) : NULL};
	const struct ops_manifest_file *last = ops_vchain_file(x.chain);

	for (size_t i = 0; i <= m->nfiles; i++) {
		const struct ops_manifest_file *f = i < m->nfiles ? &m->files[i] : last;
		const struct ops_table *view;

		if (!f || !f->usable || (i < m->nfiles && f == last))
			continue;
		view = &views[f - m->files];
		if (o->stored_only)
			verify_stored(dir, f, out);
		else
			verify_file(dir, f, view->table ? view : NULL, out, o->progress, &x);
	}
	ops_vchain_end(x.chain);
	ops_vchain_free(x.chain);
	ops_vcount_end(x.counters);
	ops_vcount_free(x.counters);
}

bool ops_verify_with(const char *manifest, const struct ops_verify_opts *o,
		     struct ops_verify_result *out)
{
	const struct ed25519_key *public_key = o->public_key;
	struct ops_table *views = NULL;
	struct buf text = BUF_INIT;
	char *dir;

	memset(out, 0, sizeof(*out));
	out->manifest_path = ops_manifest_path(manifest);
	dir = file_dir_of(out->manifest_path);
	if (read_manifest(out->manifest_path, &text, &out->problems)) {
		out->refused = !ops_signature_check(dir, text.data, text.len, public_key,
						    &out->signature, &out->problems);
		if (out->refused) {
			/* an unauthenticated manifest: nothing in it is looked at */
		} else if (ops_manifest_is_v1(text.data, text.len)) {
			/* the original's file-copy backups are checked by their own rules */
			ops_v1_verify(dir, text.data, text.len, out);
		} else {
			ops_manifest_parse(text.data, text.len, &out->manifest, &out->problems);
		}
	}
	if (out->manifest) {
		snprintf(out->manifest_sha256, sizeof(out->manifest_sha256), "%s",
			 out->manifest->self_sha256);
		/* the stored files alone: the rows are counted where their content is checked */
		if (o->stored_only)
			progress_phase(o->progress, "verify files", -1);
		else
			progress_phase(o->progress, "verify", out->manifest->rows);
		views = xcalloc(out->manifest->nfiles + 1, sizeof(*views));
		if (o->catalogue && !o->stored_only)
			check_schema(out->manifest, views, &out->problems);
		verify_files(dir, o, views, out);
		free(views);
		walk_manifest(dir, out->manifest, &out->problems);
	}
	buf_release(&text);
	free(dir);
	return out->problems.n == 0;
}

void ops_verify_result_release(struct ops_verify_result *r)
{
	if (!r)
		return;
	free(r->manifest_path);
	ops_report_release(&r->problems);
	ops_manifest_free(r->manifest);
	ops_v1_free(r->v1);
	memset(r, 0, sizeof(*r));
}

/* The manifest's optional audit_head {seq, hash}, or null. */
static json_object *audit_head_json(const struct ops_manifest *m)
{
	json_object *o;

	if (!m->has_audit_head)
		return NULL;
	o = json_object_new_object();
	jx_add_int(o, "seq", m->audit_head_seq);
	jx_add_str(o, "hash", m->audit_head_hash);
	return o;
}

/*
 * A check across files: null when absent, {checked: false, reason} when not made, else
 * {checked: true} for the caller to fill in.
 */
static json_object *check_json(bool present, bool checked, const char *why_not)
{
	json_object *o;

	if (!present)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "checked", json_object_new_boolean(checked));
	if (!checked)
		jx_add_str(o, "reason", why_not);
	return o;
}

/*
 * {checked, entries, breaks, unchained, in_order} of the chain's check, {checked: false,
 * reason} when it was not made, null when the backup carries no chain.
 */
static json_object *chain_json(const struct ops_verify_chain *c)
{
	json_object *o = check_json(c->present, c->checked, c->why_not);

	if (!o || !c->checked)
		return o;
	jx_add_int(o, "entries", c->entries);
	jx_add_int(o, "breaks", c->breaks);
	jx_add_int(o, "unchained", c->unchained);
	if (c->checkpoint_seq)
		jx_add_int(o, "checkpoint_seq", c->checkpoint_seq);
	if (c->seals_checked)
		jx_add_int(o, "sealed", c->sealed);
	json_object_object_add(o, "in_order", json_object_new_boolean(c->in_order));
	return o;
}

/*
 * {checked, sessions, differ, descriptions} of the sessions' counters' check, {checked: false,
 * reason} when it was not made, null when the backup lacks the decisions' or the sessions'
 * file; descriptions: {checked, sessions, differ} of the decision-made sessions' descriptions,
 * {checked: false, reason} when they were not compared.
 */
json_object *ops_verify_counters_json(const struct ops_verify_counters *c)
{
	json_object *o = check_json(c->present, c->checked, c->why_not), *d;

	if (!o || !c->checked)
		return o;
	jx_add_int(o, "sessions", c->sessions);
	jx_add_int(o, "differ", c->differ);
	d = check_json(true, c->described, c->describe_why_not);
	if (c->described) {
		jx_add_int(d, "sessions", c->decision_made);
		jx_add_int(d, "differ", c->undescribed);
	}
	json_object_object_add(o, "descriptions", d);
	return o;
}

/* {signed, key_id, valid, required}: valid is against the configured key when required. */
static json_object *signature_json(const struct ops_signature *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "signed", json_object_new_boolean(s->present));
	jx_add_str(o, "key_id", s->key_id[0] ? s->key_id : NULL);
	json_object_object_add(o, "valid", json_object_new_boolean(s->valid));
	json_object_object_add(o, "required", json_object_new_boolean(s->pinned));
	return o;
}

json_object *ops_verify_json(const struct ops_verify_result *r)
{
	json_object *o = json_object_new_object(), *probs = json_object_new_array();
	const struct ops_manifest *m = r->manifest;

	jx_add_str(o, "schema_version", OPS_VERIFY_FORMAT);
	jx_add_str(o, "manifest", r->manifest_path);
	json_object_object_add(o, "ok", json_object_new_boolean(r->problems.n == 0));
	jx_add_str(o, "manifest_sha256", r->manifest_sha256[0] ? r->manifest_sha256 : NULL);
	jx_add_str(o, "backup_id", m ? m->backup_id : NULL);
	jx_add_str(o, "backend", m ? m->backend : NULL);
	json_object_object_add(o, "database_schema_version",
			       m ? json_object_new_int(m->schema_version) : NULL);
	jx_add_str(o, "created_at", m ? m->created_at : r->v1 ? r->v1->created_at : NULL);
	jx_add_str(o, "backup_format", r->v1 ? OPS_V1_FORMAT : m ? m->format : NULL);
	json_object_object_add(o, "signature", signature_json(&r->signature));
	json_object_object_add(o, "audit_head", m ? audit_head_json(m) : NULL);
	json_object_object_add(o, "audit_chain", chain_json(&r->chain));
	json_object_object_add(o, "session_counters", ops_verify_counters_json(&r->counters));
	jx_add_int(o, "files", (int64_t)r->files);
	jx_add_int(o, "rows", r->rows);
	jx_add_int(o, "bytes", r->bytes);
	jx_add_int(o, "stored_bytes", r->stored_bytes);
	for (size_t i = 0; i < r->problems.n; i++) {
		json_object *p = json_object_new_object();

		jx_add_str(p, "kind", r->problems.items[i].kind);
		jx_add_str(p, "path", r->problems.items[i].path);
		jx_add_str(p, "message", r->problems.items[i].msg);
		json_object_array_add(probs, p);
	}
	json_object_object_add(o, "problems", probs);
	return o;
}
