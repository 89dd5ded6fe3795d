/*
 * migrate_source.c - loading migration files (embedded or from a directory)
 * and their canonical checksums.
 */
#include "base/base.h"
#include "migrate/migrate.h"
#include "base/buf.h"
#include "base/embed.h"
#include "base/xalloc.h"
#include "base/files.h"
#include "base/str.h"
#include "base/num.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * The embedded copy is the default, so that a binary always runs the exact migrations it was
 * built and tested with; a directory (migrations_dir) exists for review and drift checks, and
 * its files are capped because they are read whole into memory.
 */
#define MIGRATION_MAX_BYTES ((size_t)8 << 20)

extern const struct embedded_file migrate_sql_sqlite_files[];
extern const size_t migrate_sql_sqlite_files_count;
extern const struct embedded_file migrate_sql_postgres_files[];
extern const size_t migrate_sql_postgres_files_count;

/*
 * The checksum is over a canonical form (no UTF-8 byte order mark, every line ending "\n"), so
 * that a checkout on Windows or an editor that adds a BOM does not read as drift.  Any other
 * change, whitespace inside a line included, changes the checksum: the ledger must notice an
 * edited migration even when the edit looks harmless.  Changing this rule would make every
 * migration already applied anywhere read as drifted.
 */
void migrate_checksum(const char *data, size_t len, char out[SHA256_HEX_LEN])
{
	char *canon = xmalloc(len + 1);
	size_t n = 0, i = 0;

	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	for (; i < len; i++) {
		if (data[i] == '\r') {
			canon[n++] = '\n';
			if (i + 1 < len && data[i + 1] == '\n')
				i++;
		} else {
			canon[n++] = data[i];
		}
	}
	sha256_hex(canon, n, out);
	free(canon);
}

/* "NNN_name.sql" -> version and name; false on any other form. */
/*
 * The name is strict (lowercase, digits, '_') because it is stored in the ledger and compared
 * across machines and both dialects; a case or spelling difference would read as drift.
 */
static bool parse_file_name(const char *file, int *version, char **name)
{
	size_t len = strlen(file), digits = 0;
	int64_t v;
	char num[12];

	while (isdigit((unsigned char)file[digits]))
		digits++;
	if (digits < 3 || digits > 9 || file[digits] != '_' || !str_ends_with(file, ".sql") ||
	    len <= digits + 1 + 4)
		return false;
	for (size_t i = digits + 1; i < len - 4; i++)
		if (!islower((unsigned char)file[i]) && !isdigit((unsigned char)file[i]) &&
		    file[i] != '_')
			return false;
	memcpy(num, file, digits);
	num[digits] = '\0';
	if (!str_to_i64(num, 1, 999999999, &v))
		return false;
	*version = (int)v;
	*name = xstrndup(file + digits + 1, len - digits - 1 - 4);
	return true;
}

static enum status add_file(struct migration_set *set, const char *file, const char *data,
			    size_t len, struct err *e)
{
	struct migration *m;
	char *name;
	int version;

	if (!parse_file_name(file, &version, &name))
		return err_set(e, ST_INVALID,
			       "migration file '%s': name must be NNN_name.sql (digits, then "
			       "lowercase letters, digits and _)",
			       file);
	set->items = xrealloc(set->items, (set->n + 1) * sizeof(*set->items));
	m = &set->items[set->n++];
	m->version = version;
	m->file = xstrdup(file);
	m->name = name;
	m->sql = xstrndup(data, len);
	migrate_checksum(data, len, m->checksum);
	return migrate_compat_parse(m, e);
}

static int by_version(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

/* Sorted, no duplicates, numbered 1..n without gaps. */
/*
 * No gaps: a missing number usually means a file was left out of a build or a directory, and
 * applying the ones after it would build a schema nobody has tested.
 */
static enum status check_order(struct migration_set *set, struct err *e)
{
	if (set->n == 0)
		return err_set(e, ST_INVALID, "migrations directory '%s' has no NNN_name.sql files",
			       set->origin);
	qsort(set->items, set->n, sizeof(*set->items), by_version);
	for (size_t i = 0; i < set->n; i++) {
		if (i > 0 && set->items[i].version == set->items[i - 1].version)
			return err_set(e, ST_INVALID, "migrations '%s' and '%s' share version %d",
				       set->items[i - 1].file, set->items[i].file,
				       set->items[i].version);
		if (set->items[i].version != (int)i + 1)
			return err_set(e, ST_INVALID,
				       "migrations in '%s' skip version %zu (next file is '%s')",
				       set->origin, i + 1, set->items[i].file);
	}
	return ST_OK;
}

static enum status load_embedded(const char *backend, struct migration_set *set, struct err *e)
{
	const struct embedded_file *files = migrate_sql_sqlite_files;
	size_t count = migrate_sql_sqlite_files_count;
	enum status st = ST_OK;

	if (strcmp(backend, "postgres") == 0) {
		files = migrate_sql_postgres_files;
		count = migrate_sql_postgres_files_count;
	}
	set->origin = xasprintf("embedded sql/%s", backend);
	for (size_t i = 0; st == ST_OK && i < count; i++)
		st = add_file(set, files[i].name, (const char *)files[i].data, files[i].len, e);
	return st;
}

static enum status load_one(struct migration_set *set, const char *dir, const char *file,
			    struct err *e)
{
	char *path = xasprintf("%s/%s", dir, file);
	struct buf b;
	enum status st = file_read(path, MIGRATION_MAX_BYTES, &b, e);

	if (st == ST_OK) {
		st = add_file(set, file, b.data, b.len, e);
		buf_release(&b);
	}
	free(path);
	return st;
}

/* Directory order is arbitrary; check_order sorts afterwards.  Dot files are editor leftovers. */
static enum status load_dir(const char *dir, struct migration_set *set, struct err *e)
{
	enum status st = ST_OK;
	struct dirent *de;
	DIR *d = opendir(dir);

	set->origin = xstrdup(dir);
	if (!d)
		return err_set(e, ST_INVALID, "migrations directory '%s': %s", dir,
			       BASE_ERRSTR(errno));
	/* readdir's race is on its DIR, and d is this function's own */
	while (st == ST_OK && (de = readdir(d)) != NULL) { /* NOLINT(concurrency-mt-unsafe) */
		if (de->d_name[0] == '.' || !str_ends_with(de->d_name, ".sql"))
			continue;
		st = load_one(set, dir, de->d_name, e);
	}
	closedir(d);
	return st;
}

enum status migrate_set_load(const char *dir, const char *backend, struct migration_set *out,
			     struct err *e)
{
	struct migration_set set = {0};
	enum status st;

	st = dir ? load_dir(dir, &set, e) : load_embedded(backend, &set, e);
	if (st == ST_OK)
		st = check_order(&set, e);
	if (st != ST_OK) {
		migrate_set_release(&set);
		return st;
	}
	*out = set;
	return ST_OK;
}

void migrate_set_release(struct migration_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++) {
		free(set->items[i].file);
		free(set->items[i].name);
		free(set->items[i].sql);
	}
	free(set->items);
	free(set->origin);
	memset(set, 0, sizeof(*set));
}

/* Skips blanks and "--" comments. */
/*
 * The scanners below are not an SQL parser: they only find the "CREATE TABLE name" of our own
 * migration files, which is enough to check that a legacy ledger's tables exist.
 */
static const char *skip_space(const char *p)
{
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (p[0] != '-' || p[1] != '-')
			return p;
		while (*p && *p != '\n')
			p++;
	}
}

static const char *take_word(const char *p, const char *word)
{
	size_t n = strlen(word);

	p = skip_space(p);
	if (strncasecmp(p, word, n) == 0 && !isalnum((unsigned char)p[n]) && p[n] != '_')
		return p + n;
	return NULL;
}

/* A copy of sql with comments and quoted text blanked out, so only code is scanned. */
/* Blanking instead of removing keeps offsets, so names found are at their original places. */
static char *code_only(const char *sql)
{
	char *out = xstrdup(sql);
	char *p = out;

	while (*p) {
		if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				*p++ = ' ';
		} else if (p[0] == '/' && p[1] == '*') {
			while (*p && !(p[0] == '*' && p[1] == '/'))
				*p++ = ' ';
			if (*p) {
				p[0] = p[1] = ' ';
				p += 2;
			}
		} else if (*p == '\'') {
			*p++ = ' ';
			while (*p && *p != '\'')
				*p++ = ' ';
			if (*p)
				*p++ = ' ';
		} else {
			p++;
		}
	}
	return out;
}

size_t migrate_tables(const struct migration *m, char names[][64], size_t max)
{
	char *code = code_only(m->sql);
	size_t count = 0;

	for (const char *p = code; *p && count < max; p++) {
		const char *q = (p == code || !isalnum((unsigned char)p[-1])) ? p : NULL;
		const char *after;
		size_t n = 0;

		if (!q || !(q = take_word(q, "create")) || !(q = take_word(q, "table")))
			continue;
		if ((after = take_word(q, "if")) && (after = take_word(after, "not")) &&
		    (after = take_word(after, "exists")))
			q = after;
		q = skip_space(q);
		while ((isalnum((unsigned char)q[n]) || q[n] == '_') && n < 63)
			n++;
		if (n == 0)
			continue;
		memcpy(names[count], q, n);
		names[count][n] = '\0';
		for (size_t i = 0; i < n; i++)
			names[count][i] = (char)tolower((unsigned char)names[count][i]);
		count++;
		p = q + n - 1;
	}
	free(code);
	return count;
}
