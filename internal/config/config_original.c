/*
 * config_original.c - the original CAVRA's store settings (CAVRA_*_DB for
 * its SQLite stores, CAVRA_*_STORE for its JSON files).  They are never
 * ignored silently: when the SQLite ones all name one file and
 * database_url is not set, that file is the database; anything else makes
 * serve refuse to start with the variables named and the way to move them.
 */
#include "base/base.h"
#include "config/config_int.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/redact.h"
#include "base/dburl.h"
#include "base/xalloc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The original's precedence, per store: the SQLite variable wins over the JSON one. */
static const struct {
	const char *db, *json;
} vars[] = {
	{"CAVRA_EVIDENCE_METADATA_DB", "CAVRA_EVIDENCE_METADATA_STORE"},
	{"CAVRA_APPROVAL_DB", "CAVRA_APPROVAL_STORE"},
	{"CAVRA_REGISTRY_DB", "CAVRA_REGISTRY_STORE"},
	{"CAVRA_ACTIVITY_DB", "CAVRA_ACTIVITY_STORE"},
	{"CAVRA_INVENTORY_DB", "CAVRA_INVENTORY_STORE"},
	{"CAVRA_INTEGRATION_DB", "CAVRA_INTEGRATION_STORE"},
};

/* Empty counts as unset, as in the settings table: "CAVRA_APPROVAL_DB=" names no file. */
static const char *get(config_getenv_fn getenv_fn, const char *name)
{
	const char *v = getenv_fn(name);

	return v && *v ? v : NULL;
}

/* Whether two paths name one file: the same text, or the same file once resolved. */
/*
 * Each variable is set on its own, so a pilot may name one file as ".cavra/x.db" in one
 * variable and by its absolute path in another; comparing text alone would refuse a valid
 * setup.  A file that does not exist yet compares by text only.
 */
static bool same_file(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	if (str_eq(a, b))
		return true;
	return realpath(a, ra) && realpath(b, rb) && str_eq(ra, rb);
}

/*
 * The one file the SQLite variables name, with the list of variables that
 * set it; NULL when none is set, when they disagree, or when a JSON
 * variable is set for a store without a SQLite one (its records would be
 * left behind).
 */
/*
 * Taking over a file is only safe when it holds every store: cavra keeps all stores in one
 * database, so a second file, or a store still kept as JSON, would silently drop records.
 */
static const char *one_file(config_getenv_fn getenv_fn, struct buf *names)
{
	const char *file = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(vars); i++) {
		const char *db = get(getenv_fn, vars[i].db);

		if (!db && get(getenv_fn, vars[i].json))
			return NULL;
		if (!db)
			continue;
		if (file && !same_file(file, db))
			return NULL;
		file = file ? file : db;
		if (buf_addf(names, NULL, "%s%s", names->len ? ", " : "env ", vars[i].db) != ST_OK)
			return NULL;
	}
	return file;
}

/*
 * Runs after every other source, and only fills a database_url that nobody set: an explicit
 * setting always wins, and config_original_check then explains any disagreement.  The source
 * becomes the list of variables, so that --print-config says why this file was chosen.
 */
void config_original_apply(struct config *c, enum config_source *src, config_getenv_fn getenv_fn)
{
	struct buf names = BUF_INIT;
	const char *file = one_file(getenv_fn, &names);

	if (file && *src == CFG_SRC_DEFAULT) {
		free(c->database_url);
		c->database_url = xstrdup(file);
		*src = CFG_SRC_ORIGINAL;
		free(c->original_source);
		c->original_source = buf_detach(&names, NULL);
	}
	buf_release(&names);
}

/* "CAVRA_X_DB='a', CAVRA_Y_DB='b'" of the SQLite variables that are set. */
static void db_list(config_getenv_fn getenv_fn, struct buf *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
		if (get(getenv_fn, vars[i].db) &&
		    buf_addf(out, NULL, "%s%s='%s'", out->len ? ", " : "", vars[i].db,
			     get(getenv_fn, vars[i].db)) != ST_OK)
			return;
}

/* The JSON variables of stores without a SQLite one: their records are in files cavra never reads.
 */
static void json_list(config_getenv_fn getenv_fn, struct buf *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
		if (!get(getenv_fn, vars[i].db) && get(getenv_fn, vars[i].json) &&
		    buf_addf(out, NULL, "%s%s", out->len ? ", " : "", vars[i].json) != ST_OK)
			return;
}

/*
 * Refuses to start when the original's SQLite variables cannot all be honoured.  The URL is
 * redacted before it goes into the message because the message reaches stderr.
 */
static enum status check_db_vars(const struct config *c, config_getenv_fn getenv_fn,
				 struct buf *list, struct err *e)
{
	struct buf names = BUF_INIT;
	const char *file = one_file(getenv_fn, &names), *path = dburl_sqlite_path(c->database_url);
	enum status st = ST_OK;
	char *url;

	buf_release(&names);
	db_list(getenv_fn, list);
	if (!list->len || (file && c->original_source))
		return ST_OK;
	if (!file)
		return err_set(
			e, ST_INVALID,
			"the original's SQLite store settings name different files (%s), but "
			"cavra keeps every store in one database: set database_url, move "
			"the stores into it with 'cavra ops import --from-env', then unset "
			"them",
			list->data);
	if (path && same_file(path, file))
		return ST_OK;
	url = redact_url(c->database_url);
	st = err_set(e, ST_INVALID,
		     "the original's SQLite store settings (%s) name another database than "
		     "database_url '%s': move the stores into it with 'cavra ops import "
		     "--from-env', then unset them",
		     list->data, url);
	free(url);
	return st;
}

/*
 * JSON stores are checked first because they can never be read in place: whatever the SQLite
 * variables say, serving while a JSON store holds records would hide those records.
 */
enum status config_original_check(const struct config *c, config_getenv_fn getenv_fn, struct err *e)
{
	struct buf list = BUF_INIT;
	enum status st;

	json_list(getenv_fn, &list);
	if (list.len)
		st = err_set(e, ST_INVALID,
			     "the original's JSON store settings %s name files cavra does not "
			     "read: move their records into the database with 'cavra ops import "
			     "--from-env', then unset them",
			     list.data);
	else
		st = check_db_vars(c, getenv_fn, &list, e);
	buf_release(&list);
	return st;
}
