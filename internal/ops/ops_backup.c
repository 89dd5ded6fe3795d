/*
 * ops_backup.c - `cavra ops backup`: a logical dump of every table from one
 * snapshot, one JSON Lines file per table in a stable order (key order, or
 * newest first for append-mostly tables), zstd-compressed unless asked
 * otherwise, and the manifest.
 *
 * The snapshot is a single read transaction (REPEATABLE READ READ ONLY on
 * PostgreSQL; on SQLite in WAL mode a read transaction), so writers go on
 * while it runs and a decision and its session's counters are either both
 * in the dump or both not.  Each table is read in its order by one
 * streaming query inside that transaction, so memory stays flat however
 * large the tables are.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "base/files.h"
#include "store/store_chain.h"
#include "base/progress.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct backup {
	struct store *st;
	struct store_conn *c;
	char *dir;
	bool made_dir;
	int dir_fd; /* the directory, held with flock(2) until the backup ends; -1: none */
	struct ops_manifest m;
	const struct ed25519_key *key; /* signs the manifest; NULL: unsigned */
	struct progress *progress; /* borrowed; NULL: none */
	struct ops_compress compress; /* how table files are stored */
	char **written; /* final paths, removed again if the backup fails */
	size_t nwritten;
};

/*
 * Two backups into one directory (a scheduled one and a manual one, both to the default path)
 * would collide on the tables' temporary file names, and one could replace or remove the
 * other's files.  The directory is held with flock(2) from its emptiness check to the end of
 * the backup; a second backup is refused at once, and the kernel drops the hold when a backup
 * dies.
 */
static enum status claim_dir(struct backup *b, struct err *e)
{
	b->dir_fd = open(b->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->dir_fd < 0)
		return err_set(e, ST_IO, "open directory '%s': %s", b->dir, BASE_ERRSTR(errno));
	if (flock(b->dir_fd, LOCK_EX | LOCK_NB) == 0)
		return ST_OK;
	if (errno == EWOULDBLOCK)
		return err_set(e, ST_CONFLICT,
			       "backup directory '%s' is being written by another backup: give "
			       "another directory",
			       b->dir);
	return err_set(e, ST_IO, "lock directory '%s': %s", b->dir, BASE_ERRSTR(errno));
}

/* A missing dir is created; it must then be an empty directory that no other backup holds. */
static enum status prepare_dir(struct backup *b, struct err *e)
{
	struct stat sb;
	struct dirent *de;
	DIR *d;
	bool empty = true;
	enum status st;

	if (stat(b->dir, &sb) != 0) {
		if (errno != ENOENT)
			return err_set(e, ST_IO, "backup directory '%s': %s", b->dir,
				       BASE_ERRSTR(errno));
		b->made_dir = true;
		st = mkdir_p(b->dir, e);
		if (st != ST_OK)
			return st;
	} else if (!S_ISDIR(sb.st_mode)) {
		return err_set(e, ST_CONFLICT, "'%s' exists and is not a directory", b->dir);
	}
	st = claim_dir(b, e);
	if (st != ST_OK)
		return st;
	d = opendir(b->dir);
	if (!d)
		return err_set(e, ST_IO, "open directory '%s': %s", b->dir, BASE_ERRSTR(errno));
	/* readdir's race is on its DIR, and d is this function's own */
	while (empty && (de = readdir(d)) != NULL) /* NOLINT(concurrency-mt-unsafe) */
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	if (!empty)
		return err_set(e, ST_CONFLICT,
			       "backup directory '%s' is not empty: give a new or empty directory",
			       b->dir);
	return ST_OK;
}

/* A schema this binary's catalogue does not describe must not be dumped half. */
static enum status check_columns(struct store_conn *c, const struct ops_table *t, struct err *e)
{
	size_t n = 0;
	enum status st = store_table_ncols(c, t->table, &n, e);

	if (st == ST_OK && n != ops_table_ncols(t))
		st = err_set(
			e, ST_CONFLICT,
			"table '%s' has %zu columns, this binary's backup catalogue knows %zu: "
			"the schema and the binary do not match",
			t->table, n, ops_table_ncols(t));
	return st;
}

/* Every table of the database is either in the catalogue or left out on purpose. */
static enum status check_tables(struct store_conn *c, struct err *e)
{
	struct store_rows *r = NULL;
	enum status st = store_table_names(c, &r, e);

	for (size_t i = 0; st == ST_OK && i < store_rows_count(r); i++) {
		const char *name = store_rows_get(r, i, 0);

		if (!ops_table_find(name) && !ops_table_skipped(name))
			st = err_set(
				e, ST_CONFLICT,
				"table '%s' is not in this binary's backup catalogue: it would "
				"be left out, so nothing is backed up",
				name);
	}
	store_rows_free(r);
	return st;
}

/* What verify will say about each line of one file. */
struct written {
	const char *table;
	struct ops_line_check check;
	struct ops_report problems;
	struct ops_span spans[OPS_MAX_COLS]; /* the current line's values */
};

struct dump {
	struct ops_encoder enc;
	struct ops_writer *w;
	struct written *wr;
	struct buf line;
	int64_t rows;
	struct progress *progress;
	atomic_bool *stop; /* set when another table's dump failed */
};

/*
 * What verify's line check would say about the line just encoded, from the encoder's own
 * spans rather than a second parse of the line: the encoder writes exactly the columns, in
 * canonical JSON, so what verify could still reject is text that is not valid UTF-8 (which
 * SQLite stores as given) and rows out of the order verify expects (a collation that does not
 * sort by bytes).  Such a backup must fail now rather than be found unrestorable later.
 */
static enum status check_row(struct dump *d, size_t bad_col, size_t dup_col, struct err *e)
{
	struct written *wr = d->wr;
	const char *fix = "`cavra ops doctor` finds text to repair";

	if (bad_col != SIZE_MAX)
		return err_set(e, ST_CONFLICT, "table '%s' line %lld: '%s' is invalid UTF-8; %s",
			       wr->table, (long long)d->rows + 1, d->enc.t->cols[bad_col].name,
			       fix);
	/* the line could hold only one of the two values: the backup would not be the data */
	if (dup_col != SIZE_MAX)
		return err_set(e, ST_CONFLICT,
			       "table '%s' line %lld: '%s' has an object with a key twice (edited "
			       "in the database?); `cavra ops doctor` names the record",
			       wr->table, (long long)d->rows + 1, d->enc.t->cols[dup_col].name);
	ops_line_check_spans(&wr->check, wr->spans, d->rows + 1);
	if (wr->check.problems == 0)
		return ST_OK;
	return err_set(e, ST_CONFLICT, "table '%s' %s; %s", wr->table,
		       wr->problems.n ? wr->problems.items[0].msg : "is not valid", fix);
}

/* store_row_fn: one row, encoded, checked and written. */
static enum status dump_row(void *ctx, const char *const *vals, const size_t *lens, struct err *e)
{
	struct dump *d = ctx;
	size_t bad_col = SIZE_MAX, dup_col = SIZE_MAX;
	enum status st;

	if (atomic_load(d->stop))
		return err_set(e, ST_INTERNAL, "stopped: another table's dump failed");
	buf_reset(&d->line);
	st = ops_row_encode_spans(&d->enc, vals, lens, &d->line, d->wr->spans, &bad_col, &dup_col,
				  e);
	if (st == ST_OK)
		st = check_row(d, bad_col, dup_col, e);
	if (st == ST_OK)
		st = ops_writer_add(d->w, d->line.data, d->line.len, e);
	d->rows++;
	progress_add(d->progress, 1);
	return st;
}

/*
 * Streams t into w in its order: one query inside the snapshot transaction
 * (COPY TO STDOUT on PostgreSQL), rows encoded as they arrive, so memory
 * stays flat however large the table is.
 */
static enum status dump_rows(struct store_conn *c, struct ops_manifest_file *f,
			     const struct ops_table *t, struct ops_writer *w, struct written *wr,
			     struct progress *p, atomic_bool *stop, struct err *e)
{
	struct dump d = {.w = w, .wr = wr, .progress = p, .stop = stop};
	const char *cols[OPS_MAX_COLS];
	char order[160];
	enum status st;

	for (size_t i = 0; i < ops_table_ncols(t); i++)
		cols[i] = t->cols[i].name;
	snprintf(order, sizeof(order), "%s%s%s", t->newest_first ? t->newest_first : "",
		 t->newest_first ? " DESC, " : "", t->key);
	buf_init(&d.line, OPS_LINE_MAX);
	ops_encoder_init(&d.enc, t);
	st = store_stream_table(c, t->table, cols, ops_table_ncols(t), order, dump_row, &d, e);
	f->rows = d.rows;
	ops_encoder_release(&d.enc);
	buf_release(&d.line);
	return st;
}

static void fill_entry(struct ops_manifest_file *f, const struct ops_table *t, const char *name)
{
	size_t n = ops_table_ncols(t);

	f->store = xstrdup(t->store);
	f->table = xstrdup(t->table);
	f->path = xstrdup(name);
	f->key = xstrdup(t->key);
	f->newest_first = t->newest_first ? xstrdup(t->newest_first) : NULL;
	f->columns = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		f->columns[f->ncolumns++] = xstrdup(t->cols[i].name);
}

/*
 * Every line is checked as it is encoded for what the verifier would reject (check_row): such
 * a row fails the backup now, while the operator is watching, rather than the restore months
 * later.  The file is written under a temporary name and renamed only once complete.
 */
static enum status dump_table(struct backup *b, struct store_conn *c, struct ops_manifest_file *f,
			      const struct ops_table *t, atomic_bool *stop, struct err *e)
{
	bool zstd = b->compress.kind == OPS_COMPRESS_ZSTD;
	struct ops_writer *w = xcalloc(1, sizeof(*w));
	struct written wr = {.table = t->table};
	enum status st = check_columns(c, t, e);

	ops_line_check_init(&wr.check, f, &wr.problems);
	if (st == ST_OK)
		st = ops_writer_open(w, b->dir, f->path, e);
	if (st == ST_OK && zstd)
		st = ops_writer_compress(w, &b->compress, e);
	if (st == ST_OK) {
		progress_item(b->progress, t->table);
		st = dump_rows(c, f, t, w, &wr, b->progress, stop, e);
	}
	f->bytes = w->bytes;
	if (st == ST_OK)
		st = ops_writer_commit(w, f->sha256, e);
	else if (w->file.tmp)
		ops_writer_abort(w);
	if (st == ST_OK) {
		f->compression = b->compress.kind;
		f->stored_bytes = w->stored_bytes;
		memcpy(f->stored_sha256, w->stored_sha256, SHA256_HEX_LEN);
	}
	ops_line_check_release(&wr.check);
	ops_report_release(&wr.problems);
	free(w);
	return st;
}

/* ---- the tables, on one connection or (PostgreSQL) several sharing one snapshot ---- */

#define BACKUP_CONNS 2 /* PostgreSQL: tables dumped at once (the command's pool holds two) */

/*
 * The tables of one backup and who dumps which: each worker takes the next table of the
 * queue.  Files and manifest entries keep the catalogue's order whoever dumps them; the
 * queue puts the append-mostly tables (the large ones) first so that the others fill in
 * beside them.  The first failure stops every worker, a running COPY included.
 */
struct jobs {
	struct backup *b;
	struct ops_table *views; /* n of them, in catalogue order */
	bool *done; /* the table's file is in place */
	size_t *queue, n, next;
	pthread_mutex_t mu;
	atomic_bool stop;
	enum status st; /* the first failure, with its message in e */
	struct err e;
};

struct worker {
	struct jobs *j;
	struct store_conn *c;
};

/* The next table to dump, or SIZE_MAX when none is left or a dump failed. */
static size_t take(struct jobs *j)
{
	size_t k = SIZE_MAX;

	pthread_mutex_lock(&j->mu);
	if (!atomic_load(&j->stop) && j->next < j->n)
		k = j->queue[j->next++];
	pthread_mutex_unlock(&j->mu);
	return k;
}

static void *work(void *arg)
{
	struct worker *wk = arg;
	struct jobs *j = wk->j;
	size_t k;

	while ((k = take(j)) != SIZE_MAX) {
		struct err e = {0};
		enum status st =
			dump_table(j->b, wk->c, &j->b->m.files[k], &j->views[k], &j->stop, &e);

		pthread_mutex_lock(&j->mu);
		if (st == ST_OK)
			j->done[k] = true;
		else if (j->st == ST_OK) {
			j->st = st;
			j->e = e;
		}
		if (st != ST_OK)
			atomic_store(&j->stop, true);
		pthread_mutex_unlock(&j->mu);
	}
	return NULL;
}

/* The manifest's entries in catalogue order, and the queue the workers take them from. */
static void plan_jobs(struct jobs *j)
{
	struct backup *b = j->b;
	size_t q = 0;

	j->views = xcalloc(ops_catalog_n, sizeof(*j->views));
	j->done = xcalloc(ops_catalog_n, sizeof(*j->done));
	j->queue = xcalloc(ops_catalog_n, sizeof(*j->queue));
	for (size_t i = 0; i < ops_catalog_n; i++) {
		char *name;

		if (!ops_table_at(&ops_catalog[i], b->m.schema_version))
			continue;
		ops_table_view(&ops_catalog[i], b->m.schema_version, &j->views[j->n]);
		name = xasprintf("%s.jsonl%s", j->views[j->n].table,
				 b->compress.kind == OPS_COMPRESS_ZSTD ? ".zst" : "");
		fill_entry(&b->m.files[j->n], &j->views[j->n], name);
		free(name);
		j->n++;
	}
	b->m.nfiles = j->n;
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < j->n; k++)
			if ((j->views[k].newest_first != NULL) == (pass == 0))
				j->queue[q++] = k;
}

/*
 * A second connection in the same snapshot: the first one's transaction exports it and stays
 * open until every table is read, so the second sees exactly the same rows.
 */
static enum status second_conn(struct backup *b, struct store_conn **c2, struct err *e)
{
	char id[STORE_SNAPSHOT_ID_MAX];
	enum status st = store_snapshot_export(b->c, id, e);

	if (st == ST_OK)
		st = store_conn_get(b->st, c2, e);
	if (st == ST_OK && (st = store_snapshot_join(*c2, id, e)) != ST_OK) {
		store_conn_put(b->st, *c2);
		*c2 = NULL;
	}
	if (st == ST_OK) {
		free(b->m.snapshot);
		b->m.snapshot = xasprintf("one REPEATABLE READ, READ ONLY snapshot, exported "
					  "(pg_export_snapshot) to %d connections",
					  BACKUP_CONNS);
	}
	return st;
}

/* The finished files in catalogue order: their totals, and the list undo() removes. */
static void tally_done(struct jobs *j)
{
	struct backup *b = j->b;

	for (size_t k = 0; k < j->n; k++) {
		if (!j->done[k])
			continue;
		b->written[b->nwritten++] = ops_path_join(b->dir, b->m.files[k].path);
		b->m.rows += b->m.files[k].rows;
		b->m.bytes += b->m.files[k].bytes;
		b->m.stored_bytes += b->m.files[k].stored_bytes;
	}
}

static enum status dump_tables(struct backup *b, struct err *e)
{
	struct jobs *j = xcalloc(1, sizeof(*j));
	struct worker w0 = {.j = j, .c = b->c}, w1 = {.j = j};
	pthread_t th;
	bool started = false;
	enum status st = ST_OK;

	j->b = b;
	pthread_mutex_init(&j->mu, NULL);
	plan_jobs(j);
	if (store_kind(b->st) == STORE_POSTGRES && j->n > 1)
		st = second_conn(b, &w1.c, e);
	if (st == ST_OK && w1.c)
		started = pthread_create(&th, NULL, work, &w1) == 0;
	if (st == ST_OK)
		work(&w0); /* on this thread; alone, when the second could not start */
	if (started)
		pthread_join(th, NULL);
	if (w1.c) {
		store_tx_rollback(w1.c); /* read-only: nothing to commit */
		store_conn_put(b->st, w1.c);
	}
	tally_done(j);
	if (st == ST_OK && j->st != ST_OK) {
		st = j->st;
		if (e)
			*e = j->e;
	}
	pthread_mutex_destroy(&j->mu);
	free(j->views);
	free(j->done);
	free(j->queue);
	free(j);
	return st;
}

/*
 * The migrations as the ledger records them, read inside the snapshot so
 * that the schema version matches the rows.  A restore checks them against
 * its own migrations before it touches anything.
 */
static enum status read_schema(struct backup *b, const struct migration_set *set, struct err *e)
{
	struct ledger l = {0};
	enum status st = migrate_ledger_read(b->c, &l, e);

	b->m.migrations = xcalloc(l.n + 1, sizeof(*b->m.migrations));
	for (size_t i = 0; st == ST_OK && i < l.n; i++) {
		struct ops_manifest_migration *g = &b->m.migrations[b->m.nmigrations++];

		g->version = l.rows[i].version;
		g->name = xstrdup(l.rows[i].name ? l.rows[i].name : l.rows[i].id);
		g->checksum = l.rows[i].checksum ? xstrdup(l.rows[i].checksum) : NULL;
		if (g->version > b->m.schema_version)
			b->m.schema_version = g->version;
	}
	migrate_ledger_release(&l);
	if (st == ST_OK && b->m.schema_version == 0)
		st = err_set(e, ST_CONFLICT,
			     "the database has no applied migrations: nothing to "
			     "back up");
	else if (st == ST_OK && (size_t)b->m.schema_version > set->n)
		st = err_set(e, ST_CONFLICT,
			     "database schema version %d is newer than this binary's %zu: use the "
			     "newer cavra",
			     b->m.schema_version, set->n);
	return st;
}

/*
 * The chain's head in the same snapshot as the rows (schema 15 on): a restore checks
 * that the chain it loaded ends there.
 */
static enum status read_audit_head(struct backup *b, struct err *e)
{
	const struct ops_table *t = ops_table_find("audit_chain_head");
	struct chain_head h;
	enum status st;

	if (!t || !ops_table_at(t, b->m.schema_version))
		return ST_OK;
	st = store_chain_head(b->c, &h, e);
	if (st != ST_OK)
		return st;
	b->m.has_audit_head = true;
	b->m.audit_head_seq = h.seq;
	memcpy(b->m.audit_head_hash, h.hash, SHA256_HEX_LEN);
	return ST_OK;
}

/*
 * The rows the snapshot holds, as the progress line's total: counted in the snapshot itself,
 * so exact, and only when someone watches (a count is a pass over the table's index).
 */
static enum status count_rows(struct backup *b, struct err *e)
{
	int64_t total = 0;
	enum status st = ST_OK;

	for (size_t i = 0; b->progress && st == ST_OK && i < ops_catalog_n; i++) {
		int64_t n = 0;

		if (ops_table_at(&ops_catalog[i], b->m.schema_version))
			st = store_table_count(b->c, ops_catalog[i].table, &n, e);
		total += n;
	}
	progress_phase(b->progress, "backup", st == ST_OK ? total : -1);
	return st;
}

static enum status dump_all(struct backup *b, const struct migration_set *set, struct err *e)
{
	char now[TIME_FMT_LEN];
	enum status st;

	time_format_utc(time_now_us(), now, sizeof(now));
	b->m.created_at = xstrdup(now);
	st = store_tx_begin(b->c, STORE_TX_SNAPSHOT, e);
	if (st == ST_OK)
		st = read_schema(b, set, e);
	if (st == ST_OK)
		st = check_tables(b->c, e);
	if (st == ST_OK)
		st = read_audit_head(b, e);
	if (st == ST_OK)
		st = count_rows(b, e);
	b->m.files = xcalloc(ops_catalog_n, sizeof(*b->m.files));
	b->written = xcalloc(ops_catalog_n + 2, sizeof(char *)); /* + manifest.sig, manifest */
	if (st == ST_OK)
		st = dump_tables(b, e);
	store_tx_rollback(b->c); /* read-only: nothing to commit */
	return st;
}

/*
 * The signature goes in before the manifest it signs: a manifest, which is written last, is
 * never there without it (a required key then refuses a signed backup cut short).
 */
static enum status write_signature(struct backup *b, const char *text,
				   struct ops_backup_result *out, struct err *e)
{
	enum status st;

	if (!b->key)
		return ST_OK;
	st = ops_signature_write(b->dir, text, strlen(text), b->key, out->signing_key_id, e);
	if (st == ST_OK)
		b->written[b->nwritten++] = ops_path_join(b->dir, OPS_SIGNATURE_NAME);
	else
		out->signing_key_id[0] = '\0';
	return st;
}

/*
 * The manifest is written last, after every dump file is durable: a directory with a manifest
 * is a complete backup, one without it is an interrupted one that verify refuses.  The
 * directories are synced so that the renames themselves survive a crash.
 */
static enum status write_manifest(struct backup *b, struct ops_backup_result *out, struct err *e)
{
	char now[TIME_FMT_LEN];
	char *text;
	enum status st;

	time_format_utc(time_now_us(), now, sizeof(now));
	b->m.finished_at = xstrdup(now);
	text = ops_manifest_text(&b->m, out->manifest_sha256);
	st = write_signature(b, text, out, e);
	if (st == ST_OK)
		st = ops_writer_text(b->dir, OPS_MANIFEST_NAME, text, e);
	free(text);
	if (st == ST_OK)
		b->written[b->nwritten++] = ops_path_join(b->dir, OPS_MANIFEST_NAME);
	if (st == ST_OK)
		st = file_fsync_dir(b->dir, e);
	if (st == ST_OK && b->made_dir) {
		char *parent = file_dir_of(b->dir);

		st = file_fsync_dir(parent, e);
		free(parent);
	}
	return st;
}

/* After a failure: nothing that looks like (part of) a complete backup stays. */
static void undo(struct backup *b)
{
	for (size_t i = 0; i < b->nwritten; i++)
		unlink(b->written[i]);
	if (b->made_dir)
		rmdir(b->dir);
}

/*
 * The operations record is the evidence the retention plan and auditors read ("when was the
 * last backup, of what").  Failing to write it does not fail a backup that is already safe on
 * disk; the warning is shown instead.
 */
static void record(struct backup *b, struct ops_backup_result *out, int64_t started)
{
	json_object *d = json_object_new_object();
	char *where = realpath(b->dir, NULL);
	struct err e = {0};
	struct ops_record r = {.kind = "backup",
			       .succeeded = true,
			       .manifest_sha256 = out->manifest_sha256,
			       .location = where ? where : b->dir,
			       .started_us = started,
			       .finished_us = time_now_us(),
			       .details = d};

	jx_add_str(d, "backup_id", out->backup_id);
	jx_add_str(d, "backend", store_backend_name(b->st));
	jx_add_int(d, "database_schema_version", out->schema_version);
	jx_add_int(d, "files", (int64_t)out->files);
	jx_add_int(d, "rows", out->rows);
	jx_add_int(d, "bytes", out->bytes);
	jx_add_int(d, "stored_bytes", out->stored_bytes);
	jx_add_str(d, "compression", ops_compression_name(b->compress.kind));
	if (ops_record_add(b->st, &r, out->record_id, &e) != ST_OK) {
		out->record_id[0] = '\0';
		snprintf(out->record_warning, sizeof(out->record_warning), "%s", e.msg);
	}
	json_object_put(d);
	free(where);
}

static void release(struct backup *b)
{
	/* the manifest's strings are owned here: free them through a heap copy */
	struct ops_manifest *m = xmalloc(sizeof(*m));

	for (size_t i = 0; i < b->nwritten; i++)
		free(b->written[i]);
	free(b->written);
	*m = b->m;
	ops_manifest_free(m);
	free(b->dir);
	if (b->dir_fd >= 0)
		close(b->dir_fd); /* and with it the hold */
}

static void fill_header(struct backup *b, struct ops_backup_result *out)
{
	b->m.tool_version = xstrdup(CAVRA_VERSION);
	b->m.backup_id = xstrdup(out->backup_id);
	b->m.backend = xstrdup(store_backend_name(b->st));
	b->m.snapshot = xstrdup(store_kind(b->st) == STORE_POSTGRES
					? "one REPEATABLE READ, READ ONLY transaction"
					: "one read transaction (WAL)");
}

/*
 * The connection is returned before the manifest is written, so the snapshot transaction is
 * held only while rows are read.  A failure removes every file this call wrote, and the
 * directory only when this call created it.
 */
enum status ops_backup(struct store *st, const struct migration_set *set,
		       const struct ops_backup_opts *opts, struct ops_backup_result *out,
		       struct err *e)
{
	const char *dir = opts->dir;
	struct backup b = {.st = st,
			   .dir = xstrdup(dir),
			   .dir_fd = -1,
			   .key = opts->signing_key,
			   .compress = opts->compress,
			   .progress = opts->progress};
	int64_t started = time_now_us(), mono = time_mono_us();
	enum status rc;

	memset(out, 0, sizeof(*out));
	rc = ops_new_id("bak_", out->backup_id, e);
	fill_header(&b, out);
	if (rc == ST_OK)
		rc = prepare_dir(&b, e);
	if (rc != ST_OK) {
		b.made_dir = false; /* never remove what this call did not make */
		goto out;
	}
	rc = store_conn_get(st, &b.c, e);
	if (rc == ST_OK)
		rc = dump_all(&b, set, e);
	store_conn_put(st, b.c);
	if (rc == ST_OK)
		rc = write_manifest(&b, out, e);
	if (rc != ST_OK) {
		undo(&b);
		goto out;
	}
	out->manifest_path = ops_path_join(dir, OPS_MANIFEST_NAME);
	out->schema_version = b.m.schema_version;
	out->files = b.m.nfiles;
	out->rows = b.m.rows;
	out->bytes = b.m.bytes;
	out->stored_bytes = b.m.stored_bytes;
	out->compression = b.compress.kind;
	out->duration_ms = (time_mono_us() - mono) / 1000;
	record(&b, out, started);
out:
	release(&b);
	return rc;
}

void ops_backup_result_release(struct ops_backup_result *r)
{
	if (!r)
		return;
	free(r->manifest_path);
	r->manifest_path = NULL;
}
