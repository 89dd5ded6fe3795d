/*
 * cmd_ops.c - `cavra ops ...`: operations on the stores.
 *
 *   ops import --json FILE --store NAME [--format text|json]
 *   ops import --sqlite FILE --store NAME [--format text|json]
 *   ops import --from-env [--format text|json]
 *   ops import --backup MANIFEST [--format text|json]
 *   (each also takes --progress | --quiet: cmd_progress.c)
 *
 * The other actions are in cmd_ops_backup.c (backup, verify, restore,
 * restore-test) and cmd_ops_status.c (stores, retention-plan).
 */
#include "base/base.h"
#include "cmd.h"
#include "base/xalloc.h"
#include "migrate/migrate.h"
#include "ops/ops.h"
#include "service/service.h"
#include "store/store.h"
#include "base/str.h"
#include "base/dburl.h"
#include "base/progress.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct import_args {
	const char *file, *store, *backup;
	bool from_env, json, sqlite;
	struct cmd_progress pf;
};

/* The import's progress (NULL: none), set by ops_import for the one command it runs. */
static struct progress *import_progress;

static bool known_store(const char *name)
{
	const char *env, *file, *n;

	for (size_t i = 0; (n = service_import_store_name(i, &env, &file)) != NULL; i++)
		if (strcmp(n, name) == 0)
			return true;
	return false;
}

/* --json FILE or --sqlite FILE: the original store's file, and which kind it is. */
static int take_file(const struct cmd_opt *o, const char *where, const char *value)
{
	struct import_args *a = o->target;

	if (a->file)
		return cmd_usage_error("%s: give one file, with --json or --sqlite, once", where);
	a->sqlite = strcmp(o->name, "--sqlite") == 0;
	a->file = value;
	return EXIT_OK;
}

static int take_format(const struct cmd_opt *o, const char *where, const char *value)
{
	if (strcmp(value, "json") != 0 && strcmp(value, "text") != 0)
		return cmd_usage_error("%s: --format '%s': use text or json", where, value);
	if (strcmp(value, "json") == 0) /* a later --format text does not undo it */
		*(bool *)o->target = true;
	return EXIT_OK;
}

static int parse_import(int argc, char **argv, struct import_args *a)
{
	const struct cmd_opt opts[] = {CMD_FLAG("--from-env", &a->from_env),
				       CMD_TAKE("--json", a, take_file),
				       CMD_TAKE("--sqlite", a, take_file),
				       CMD_VALUE("--backup", &a->backup),
				       CMD_VALUE("--store", &a->store),
				       CMD_TAKE("--format", &a->json, take_format),
				       CMD_PROGRESS_OPTS(&a->pf),
				       {0}};
	int code;

	memset(a, 0, sizeof(*a));
	if ((code = cmd_opts_parse("ops import", opts, argc - 1, argv + 1)) != EXIT_OK)
		return code;
	if (a->from_env || a->backup ? a->file || a->store || (a->from_env && a->backup)
				     : !a->file || !a->store)
		return cmd_usage_error("ops import: give --json|--sqlite FILE --store NAME, "
				       "--from-env, or --backup MANIFEST");
	if (a->store && !known_store(a->store))
		return cmd_usage_error("ops import: unknown store '%s' (known: evidence_metadata, "
				       "approvals, registry, activity, inventory, integrations)",
				       a->store);
	return cmd_progress_check(&a->pf, "ops import");
}

static void print_text(const struct import_result *r, enum status st, const struct err *e)
{
	if (st != ST_OK) {
		printf("%s: FAILED (%s): %s\n", r->store ? r->store : "?", r->path, e->msg);
		for (size_t i = 0; i < r->nproblems; i++) {
			fputs("  ", stdout);
			str_fput_printable(stdout, r->problems[i]); /* names from the files read */
			putchar('\n');
		}
		return;
	}
	printf("%s (%s):", r->store, r->path);
	for (int k = 0; k < r->ntables; k++)
		printf("%s %s %lld read, %lld created, %lld updated, %lld unchanged", k ? ";" : "",
		       r->tables[k].name, (long long)r->tables[k].read,
		       (long long)r->tables[k].created, (long long)r->tables[k].updated,
		       (long long)r->tables[k].unchanged);
	if (r->sessions_recounted)
		printf("; %lld session summaries recounted", (long long)r->sessions_recounted);
	putchar('\n');
}

static json_object *result_json(const struct import_result *r, enum status st, const struct err *e)
{
	json_object *o = json_object_new_object(), *tables = json_object_new_object();
	json_object *problems = json_object_new_array();

	json_object_object_add(o, "store", json_object_new_string(r->store ? r->store : "?"));
	json_object_object_add(o, "path", json_object_new_string(r->path ? r->path : ""));
	json_object_object_add(o, "ok", json_object_new_boolean(st == ST_OK));
	json_object_object_add(o, "error", st == ST_OK ? NULL : json_object_new_string(e->msg));
	for (int k = 0; k < r->ntables; k++) {
		json_object *t = json_object_new_object();

		json_object_object_add(t, "read", json_object_new_int64(r->tables[k].read));
		json_object_object_add(t, "created", json_object_new_int64(r->tables[k].created));
		json_object_object_add(t, "updated", json_object_new_int64(r->tables[k].updated));
		json_object_object_add(t, "unchanged",
				       json_object_new_int64(r->tables[k].unchanged));
		json_object_object_add(tables, r->tables[k].name, t);
	}
	json_object_object_add(o, "tables", tables);
	json_object_object_add(o, "sessions_recounted",
			       json_object_new_int64(r->sessions_recounted));
	for (size_t i = 0; i < r->nproblems; i++)
		json_object_array_add(problems, json_object_new_string(r->problems[i]));
	json_object_object_add(o, "problems", problems);
	return o;
}

/* What the files of one `ops import` share: how they are reported, and what they wrote. */
struct import_run {
	bool json;
	json_object *items; /* --json: each file's result */
	int64_t chained; /* decisions and approvals the files' imports chained */
};

/* Imports one file (an original SQLite store when sqlite); reports it; true on success. */
static bool import_one(struct store *st, const char *store, const char *path, bool sqlite,
		       struct import_run *run)
{
	const struct import_opts o = {store, path, sqlite, import_progress};
	struct import_result r;
	struct err e = {0};
	enum status rc = service_import_with(st, &o, &r, &e);

	progress_clear(import_progress);
	if (run->json)
		json_object_array_add(run->items, result_json(&r, rc, &e));
	else
		print_text(&r, rc, &e);
	run->chained += rc == ST_OK ? r.chained : 0;
	service_import_result_release(&r);
	return rc == ST_OK;
}

/*
 * Whether path is the configured SQLite database itself: an original pilot
 * file that migrate up adopted holds cavra's tables now, not the original's.
 */
static bool is_self(const struct config *cfg, const char *path)
{
	const char *self = dburl_sqlite_path(cfg->database_url);
	char a[PATH_MAX], b[PATH_MAX];

	return self &&
	       (str_eq(self, path) || (realpath(self, a) && realpath(path, b) && str_eq(a, b)));
}

/*
 * Per store, the original's precedence: its SQLite variable, else its JSON
 * variable, else .cavra/api/<file>; an absent default is skipped.
 */
static bool import_from_env(const struct config *cfg, struct store *st, struct import_run *run)
{
	const char *env, *file, *name;
	bool ok = true;

	for (size_t i = 0; (name = service_import_store_name(i, &env, &file)) != NULL; i++) {
		const char *db = getenv(service_import_store_db_env(i)), *set = getenv(env);
		char *path = db && *db	   ? xstrdup(db)
			     : set && *set ? xstrdup(set)
					   : xasprintf(".cavra/api/%s", file);

		if (!(db && *db) && !(set && *set) && access(path, F_OK) != 0) {
			if (!run->json)
				printf("%s (%s): not found, skipped\n", name, path);
		} else if (db && *db && is_self(cfg, path)) {
			if (!run->json)
				printf("%s (%s): the configured database itself, skipped\n", name,
				       path);
		} else {
			ok = import_one(st, name, path, db && *db, run) && ok;
		}
		free(path);
	}
	return ok;
}

/*
 * An original CAVRA backup (backup.v1) is verified whole before anything is
 * imported: every problem is listed and nothing is written (exit 1).
 * cavra's own backups are restored, not imported (exit 2).
 */
static int verify_backup(const char *manifest, struct ops_verify_result *r)
{
	bool ok = ops_verify(manifest, r);

	if (r->manifest)
		return cmd_usage_error("ops import: '%s' is a cavra backup, not an original CAVRA "
				       "one (%s): restore it with 'cavra ops restore'",
				       manifest, OPS_V1_FORMAT);
	if (ok)
		return EXIT_OK;
	if (cmd_interrupted("ops import"))
		return EXIT_FAIL;
	fprintf(stderr,
		"cavra: ops import: '%s' failed verification (%zu problem%s); nothing was "
		"imported\n",
		r->manifest_path, r->problems.n, r->problems.n == 1 ? "" : "s");
	cmd_print_problems(&r->problems, stderr);
	return EXIT_FAIL;
}

/* Every store the backup holds a copy of, like the stores themselves; placeholders hold nothing. */
static bool import_backup(struct store *st, const struct ops_verify_result *r,
			  struct import_run *run)
{
	bool ok = true;

	for (size_t i = 0; i < r->v1->n; i++) {
		const struct ops_v1_store *s = &r->v1->stores[i];

		if (!s->file || !s->exists) {
			if (!run->json)
				printf("%s: did not exist when backed up, skipped\n", s->name);
			continue;
		}
		ok = import_one(st, s->name, s->file, str_eq(s->kind, "sqlite"), run) && ok;
	}
	return ok;
}

/*
 * Imported decisions and approvals go in as rows; each file's import chains those without an
 * entry, oldest first, in its own transaction.  The count goes to stderr so that stdout stays
 * the import's document under --json.
 */
static void report_chained(const struct import_run *run)
{
	if (run->chained > 0)
		cmd_info("audit chain: chained %lld imported records (rebuilt from the rows)",
			 (long long)run->chained);
}

static int ops_import(struct config *cfg, int argc, char **argv)
{
	struct migration_set set = {0};
	struct ops_verify_result vr = {0};
	struct import_args a;
	struct store *st = NULL;
	struct import_run run = {.items = json_object_new_array()};
	struct err e = {0};
	enum status rc;
	int code = parse_import(argc, argv, &a);
	bool ok;

	if (code == EXIT_OK && a.backup)
		code = verify_backup(a.backup, &vr);
	if (code != EXIT_OK)
		goto out;
	import_progress = cmd_progress_new(&a.pf, "import");
	if ((rc = cmd_open_database(
		     cfg, "import",
		     &(struct store_options){.pool_size = 1, .prepare = config_db_prepare(cfg)},
		     &st, &set, &e)) != ST_OK) {
		code = cmd_fail(rc, &e);
		goto out;
	}
	run.json = a.json;
	if (a.from_env)
		ok = import_from_env(cfg, st, &run);
	else if (a.backup)
		ok = import_backup(st, &vr, &run);
	else
		ok = import_one(st, a.store, a.file, a.sqlite, &run);
	report_chained(&run);
	progress_finish(import_progress, ok);
	if (a.json)
		puts(json_object_to_json_string_ext(
			run.items, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	/* the report names the file the signal cut short; stderr says why the import stopped */
	if (!ok)
		cmd_interrupted("ops import");
	code = ok ? EXIT_OK : EXIT_FAIL;
out:
	progress_free(import_progress);
	import_progress = NULL;
	ops_verify_result_release(&vr);
	json_object_put(run.items);
	migrate_set_release(&set);
	store_close(st);
	return code;
}

#define OPS_ACTIONS "import, stores, backup, verify, restore, restore-test, retention-plan"

int cmd_ops(struct config *cfg, int argc, char **argv)
{
	int code;

	if (argc >= 2 && strcmp(argv[1], "import") == 0)
		return ops_import(cfg, argc - 1, argv + 1);
	if (argc >= 2 && (code = cmd_ops_data(cfg, argc - 1, argv + 1)) >= 0)
		return code;
	if (argc >= 2 && (code = cmd_ops_status(cfg, argc - 1, argv + 1)) >= 0)
		return code;
	if (argc < 2)
		return cmd_usage_error("ops: missing action (known: %s)", OPS_ACTIONS);
	return cmd_usage_error("ops: unknown action '%s' (known: %s)", argv[1], OPS_ACTIONS);
}
