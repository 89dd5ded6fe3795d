/*
 * cmd_migrate.c - cavra migrate status | up | plan | verify | sql.
 */
#include "base/base.h"
#include "cmd.h"
#include "base/xalloc.h"
#include "migrate/migrate.h"
#include "service/adopt.h"
#include "store/store.h"
#include "store/store_sqlite_file.h"
#include "base/num.h"
#include "base/dburl.h"
#include "base/progress.h"
#include "base/str.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct migrate_opts {
	const char *action;
	bool json;
	int to;
	struct cmd_progress pf; /* up: --progress, --quiet */
};

struct ctx {
	struct store *store;
	struct migration_set set;
	char *snapshot; /* a copy read in place of an original's pilot, or NULL */
};

/*
 * --to N: a migration version, 1 or more.
 *
 * Only the form is checked here; whether that version exists is known once the
 * migration set is loaded (do_up), and is also a usage error there.
 */
static int take_to(const struct cmd_opt *opt, const char *where, const char *value)
{
	int64_t to;

	if (!str_to_i64(value, 1, 999999999, &to))
		return cmd_usage_error("%s: --to: '%s' is not a migration version", where, value);
	*(int *)opt->target = (int)to;
	return EXIT_OK;
}

static int parse_opts(int argc, char **argv, struct migrate_opts *o)
{
	const struct cmd_opt status[] = {CMD_FLAG("--json", &o->json), {0}};
	const struct cmd_opt up[] = {{.name = "--to",
				      .kind = CMD_KIND_VALUE,
				      .target = &o->to,
				      .needs = "a version",
				      .take = take_to},
				     CMD_PROGRESS_OPTS(&o->pf),
				     {0}};
	const struct cmd_opt none[] = {{0}};
	char where[64];
	int code;

	memset(o, 0, sizeof(*o));
	if (argc < 2)
		return cmd_usage_error(
			"migrate: missing action (known: status, up, plan, verify, sql)");
	o->action = argv[1];
	snprintf(where, sizeof(where), "migrate %.40s", o->action);
	code = cmd_opts_parse(where,
			      strcmp(o->action, "status") == 0 ? status
			      : strcmp(o->action, "up") == 0 || strcmp(o->action, "sql") == 0
				      ? up
				      : none,
			      argc - 2, argv + 2);
	return code == EXIT_OK ? cmd_progress_check(&o->pf, where) : code;
}

/*
 * Read-only actions on an original CAVRA pilot look at a copy: opening the
 * file itself would switch its journal mode, and it must stay as it is
 * until it is adopted.
 */
static enum status snapshot_original(const char *path, char **out, struct err *e)
{
	const char *tmp = getenv("TMPDIR");
	bool original = false;
	char *dir;
	enum status st = migrate_sqlite_is_original(path, &original, e);

	*out = NULL;
	if (st != ST_OK || !original)
		return st;
	dir = xasprintf("%s/cavra-migrate-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		st = err_set(e, ST_IO, "create a directory in '%s': %s", tmp ? tmp : "/tmp",
			     BASE_ERRSTR(errno));
		free(dir);
		return st;
	}
	*out = xasprintf("%s/pilot.db", dir);
	st = store_sqlite_copy(path, *out, e);
	if (st != ST_OK) {
		rmdir(dir);
		free(*out);
		*out = NULL;
	}
	free(dir);
	return st;
}

static void snapshot_remove(char *snapshot)
{
	if (!snapshot)
		return;
	store_sqlite_file_remove(snapshot);
	*strrchr(snapshot, '/') = '\0';
	rmdir(snapshot);
	free(snapshot);
}

/*
 * Opens the database.  Read-only actions on a SQLite file that does not exist
 * look at an empty in-memory database instead, so that a mistyped path is
 * reported as "nothing applied" without leaving a new file behind.
 */
static enum status ctx_open(struct ctx *c, const struct config *cfg, bool read_only, struct err *e)
{
	const char *url = config_migration_url(cfg);
	const char *path = dburl_sqlite_path(url);
	enum status st;

	memset(c, 0, sizeof(*c));
	if (read_only && path && access(path, F_OK) != 0)
		url = ":memory:";
	else if (read_only && path && (st = snapshot_original(path, &c->snapshot, e)) != ST_OK)
		return st;
	if (c->snapshot)
		url = c->snapshot;
	/* unprepared: migrations run once and must work through any pooler */
	st = store_open(url, &(struct store_options){.pool_size = 1, .existing = read_only},
			&c->store, e);
	if (st == ST_OK)
		st = migrate_set_load(cfg->migrations_dir, store_backend_name(c->store), &c->set,
				      e);
	if (st != ST_OK) {
		store_close(c->store);
		c->store = NULL;
		snapshot_remove(c->snapshot);
		c->snapshot = NULL;
	}
	return st;
}

static void ctx_close(struct ctx *c)
{
	migrate_set_release(&c->set);
	store_close(c->store);
	snapshot_remove(c->snapshot);
}

/*
 * Indexed by the ledger kind; the names are part of the status output that
 * operators and scripts read, so they do not change.
 */
static const char *const ledger_names[] = {"none", "legacy", "current"};

static void print_table(const struct ctx *c, const struct migrate_report *r, const char *foreign)
{
	struct cmd_shown sh = {0}; /* a ledger row's name, checksum and time: the database's text */

	printf("%-8s %-36s %-8s %-64s %s\n", "VERSION", "NAME", "STATE", "CHECKSUM", "APPLIED_AT");
	for (size_t i = 0; i < r->n; i++) {
		const struct mig_entry *en = &r->entries[i];

		printf("%03d      %-36s %-8s %-64s %s\n", en->version, cmd_show(&sh, en->name),
		       migrate_state_name(en->state),
		       cmd_show(&sh, en->checksum
					     ? en->checksum
					     : (en->applied_checksum ? en->applied_checksum : "-")),
		       cmd_show(&sh, en->applied_at ? en->applied_at : "-"));
		cmd_shown_release(&sh);
	}
	printf("\nbackend %s, ledger %s, schema version %d of %d, %zu pending\n",
	       store_backend_name(c->store), ledger_names[r->ledger], r->schema_version,
	       r->latest_version, r->pending);
	if (r->newer_compatible)
		printf("%zu newer migrations, each declared backward compatible: this binary "
		       "works on this schema\n",
		       r->newer_compatible);
	if (foreign)
		printf("the database is not cavra's: it holds '%s' and no migration ledger "
		       "('migrate up' would add cavra's tables beside it)\n",
		       cmd_show(&sh, foreign));
	cmd_shown_release(&sh);
	for (size_t i = 0; i < r->nproblems; i++) {
		printf("problem: %s: %s\n", migrate_problem_kind_name(r->problems[i].kind),
		       cmd_show(&sh, r->problems[i].msg));
		cmd_shown_release(&sh);
	}
}

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *entry_json(const struct mig_entry *en)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_int(en->version));
	json_object_object_add(o, "name", json_object_new_string(en->name));
	json_object_object_add(o, "state", json_object_new_string(migrate_state_name(en->state)));
	json_object_object_add(o, "checksum", str_or_null(en->checksum));
	json_object_object_add(o, "applied_checksum", str_or_null(en->applied_checksum));
	json_object_object_add(o, "applied_at", str_or_null(en->applied_at));
	json_object_object_add(o, "compatibility", str_or_null(en->compatibility));
	return o;
}

static void print_status_json(const struct ctx *c, const struct migrate_report *r,
			      const char *foreign)
{
	json_object *o = json_object_new_object();
	json_object *items = json_object_new_array();
	json_object *probs = json_object_new_array();

	for (size_t i = 0; i < r->n; i++)
		json_object_array_add(items, entry_json(&r->entries[i]));
	for (size_t i = 0; i < r->nproblems; i++) {
		json_object *p = json_object_new_object();

		json_object_object_add(
			p, "kind",
			json_object_new_string(migrate_problem_kind_name(r->problems[i].kind)));
		json_object_object_add(p, "version", json_object_new_int(r->problems[i].version));
		json_object_object_add(p, "message", json_object_new_string(r->problems[i].msg));
		json_object_array_add(probs, p);
	}
	json_object_object_add(o, "backend", json_object_new_string(store_backend_name(c->store)));
	json_object_object_add(o, "migrations_source", json_object_new_string(c->set.origin));
	json_object_object_add(o, "ledger", json_object_new_string(ledger_names[r->ledger]));
	json_object_object_add(o, "foreign_table", str_or_null(foreign));
	json_object_object_add(o, "schema_version", json_object_new_int(r->schema_version));
	json_object_object_add(o, "latest_version", json_object_new_int(r->latest_version));
	json_object_object_add(o, "pending", json_object_new_int((int)r->pending));
	json_object_object_add(o, "newer_compatible",
			       json_object_new_int((int)r->newer_compatible));
	json_object_object_add(o, "migrations", items);
	json_object_object_add(o, "problems", probs);
	cmd_print_json(o, false);
	json_object_put(o);
}

/*
 * Pending migrations are a state, not a failure: status fails (exit 1) only on
 * problems (drift, unknown versions), so a deployment script can show it freely.
 * Another application's database reads as "ledger none" as a new one does, so status
 * names one of its tables: an explicit migrate up is how cavra comes to share it, and
 * the operator sees that before running it.
 */
static int do_status(struct ctx *c, const struct migrate_opts *o, const struct migrate_report *r)
{
	struct store_conn *conn = NULL;
	char *foreign = NULL;
	struct err e = {0};
	enum status rc = store_conn_get(c->store, &conn, &e);

	if (rc == ST_OK)
		rc = migrate_foreign_table(conn, r->ledger, &foreign, &e);
	store_conn_put(c->store, conn);
	if (rc != ST_OK)
		return cmd_fail(rc, &e);
	if (o->json)
		print_status_json(c, r, foreign);
	else
		print_table(c, r, foreign);
	free(foreign);
	return r->nproblems ? EXIT_FAIL : EXIT_OK;
}

/*
 * verify is the gate a deployment runs before it trusts a database: every
 * problem is printed, not just the first, and anything short of "all applied with
 * matching checksums" fails, pending migrations and a ledger without checksums
 * included.
 */
static int do_verify(struct ctx *c, const struct migrate_report *r)
{
	for (size_t i = 0; i < r->nproblems; i++) {
		printf("%s: ", migrate_problem_kind_name(r->problems[i].kind));
		str_fput_printable(stdout, r->problems[i].msg); /* may quote the ledger's text */
		putchar('\n');
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->entries[i].state == MIG_PENDING)
			printf("pending: version %03d (%s) is not applied\n", r->entries[i].version,
			       r->entries[i].name);
	for (size_t i = 0; i < r->n; i++)
		if (r->entries[i].state == MIG_NEWER)
			printf("newer: version %03d (%s) is past this binary's migrations and "
			       "declared backward compatible\n",
			       r->entries[i].version, r->entries[i].name);
	if (r->ledger == LEDGER_LEGACY)
		printf("legacy: the ledger has no checksums yet: run 'cavra migrate up' to adopt "
		       "it\n");
	if (r->nproblems || r->pending || r->ledger == LEDGER_LEGACY) {
		fprintf(stderr, "cavra: verify failed (%s)\n", store_backend_name(c->store));
		return EXIT_FAIL;
	}
	printf("ok: %d migrations applied, checksums match (%s)\n", r->schema_version,
	       store_backend_name(c->store));
	return EXIT_OK;
}

/*
 * Prints the exact SQL that `migrate up` would run, with each file's checksum, as
 * an SQL script with "--" comments, so a DBA can review it or apply it by hand
 * (docs/migrations.md).  A database with problems gets no plan: what would run on
 * it is not known.
 */
static int do_plan(struct ctx *c, const struct migrate_report *r)
{
	if (r->nproblems) {
		for (size_t i = 0; i < r->nproblems; i++)
			fprintf(stderr, "cavra: %s: %s\n",
				migrate_problem_kind_name(r->problems[i].kind), r->problems[i].msg);
		return EXIT_FAIL;
	}
	if (c->snapshot)
		printf("-- an original CAVRA database: 'migrate up' adopts it whole, moving its "
		       "records into the tables that every migration below creates "
		       "(docs/migrations.md)\n");
	else if (r->ledger == LEDGER_LEGACY)
		printf("-- the legacy ledger will be adopted first (checksums recorded)\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct migration *m;

		if (r->entries[i].state != MIG_PENDING && !c->snapshot)
			continue;
		m = &c->set.items[r->entries[i].version - 1];
		printf("-- %s sha256=%s\n%s\n", m->file, m->checksum, m->sql);
	}
	if (!r->pending)
		printf("-- nothing to apply: database is up to date\n");
	return EXIT_OK;
}

/*
 * The hand-apply path (docs/migrations.md): the exact SQL of `migrate up --to N`
 * with the ledger's DDL and rows, for a DBA to review and run with psql or
 * sqlite3.  An original CAVRA pilot is adopted by `migrate up`, never by hand.
 */
static int do_sql(struct ctx *c, const struct migrate_opts *o, const struct ledger *l,
		  const struct migrate_report *r)
{
	struct err e = {0};
	enum status rc;

	if (o->to > (int)c->set.n)
		return cmd_usage_error("--to %d: the latest migration is %zu", o->to, c->set.n);
	if (c->snapshot)
		rc = err_set(&e, ST_CONFLICT,
			     "an original CAVRA database is adopted by 'cavra migrate up', not by "
			     "hand (docs/migrations.md)");
	else
		rc = migrate_script(stdout, &c->set, l, r, store_kind(c->store), o->to, &e);
	return rc == ST_OK ? EXIT_OK : cmd_fail(rc, &e);
}

/*
 * Flushed at once: a long migration shows its progress as it goes, also when
 * stdout is a pipe to a deployment log.
 */
static void on_progress(void *ctx, const char *what, const struct migration *m, int64_t ms)
{
	if (ctx && m)
		(*(size_t *)ctx)++; /* do_up's count of applied migrations */
	if (m)
		printf("%s %03d_%s (%lld ms)\n", what, m->version, m->name, (long long)ms);
	else
		printf("%s the legacy ledger: checksums recorded\n", what);
	fflush(stdout);
}

static void print_adopted(const char *path, const struct adopt_result *r)
{
	printf("adopted the original CAVRA database '%s':", path);
	for (size_t i = 0; i < ADOPT_TABLES; i++)
		printf("%s %s %lld", i ? "," : "", r->tables[i], (long long)r->records[i]);
	printf(" records; %lld sessions recounted\n", (long long)r->sessions);
	fflush(stdout);
}

/*
 * A SQLite file that the original CAVRA made is adopted whole before
 * anything else opens it (opening it with the store would already rewrite
 * its header).  True when the command ends here, with *code (a failure).
 */
static bool adopt_original(const struct config *cfg, int to, struct progress *p, int *code)
{
	const char *path = dburl_sqlite_path(config_migration_url(cfg));
	struct migration_set set = {0};
	struct adopt_result r = {.progress = p};
	struct err e = {0};
	enum status rc;
	bool original = false;

	if (!path)
		return false;
	if ((rc = migrate_sqlite_is_original(path, &original, &e)) != ST_OK) {
		*code = cmd_fail(rc, &e);
		return true;
	}
	if (!original)
		return false;
	/* its records need 008's value sets, and a half-adopted pilot is no use */
	if (to) {
		*code = cmd_usage_error("--to: an original CAVRA database is adopted whole, up to "
					"the latest migration");
		return true;
	}
	if ((rc = migrate_set_load(cfg->migrations_dir, "sqlite", &set, &e)) != ST_OK ||
	    (rc = migrate_adopt_sqlite(path, &set, service_adopt_records, &r, &e)) != ST_OK) {
		progress_finish(p, false);
		*code = cmd_fail(rc, &e);
	} else {
		progress_clear(p);
		print_adopted(path, &r);
	}
	migrate_set_release(&set);
	return *code != EXIT_OK;
}

/*
 * "Up to date" only when nothing is pending: after --to N the line says
 * where the database stands and what is left, and that nothing was applied
 * when it already was at or past N.
 */
static void print_up_result(const struct ctx *c, int to, size_t applied,
			    const struct migrate_report *r)
{
	const char *backend = store_backend_name(c->store);

	if (!applied && to && r->schema_version >= to && !r->pending)
		printf("nothing applied: schema version %d is already at or past --to %d (%s); "
		       "database is up to date\n",
		       r->schema_version, to, backend);
	else if (!applied && to && r->schema_version >= to)
		printf("nothing applied: schema version %d is already at or past --to %d (%s); "
		       "%zu migrations pending up to %d\n",
		       r->schema_version, to, backend, r->pending, r->latest_version);
	else if (!r->pending)
		printf("database is up to date: schema version %d (%s)\n", r->schema_version,
		       backend);
	else
		printf("database is at schema version %d (%s); %zu migrations pending up to %d: "
		       "'cavra migrate up' applies them\n",
		       r->schema_version, backend, r->pending, r->latest_version);
}

/*
 * The status is read again after applying, so the version printed is what the
 * database now records, not what was planned.
 */
static int do_up(struct ctx *c, const struct migrate_opts *o, struct progress *p)
{
	struct err e = {0};
	enum status rc;
	struct ledger l = {0};
	struct migrate_report r = {0};
	size_t applied = 0;
	int code = EXIT_OK;

	if (o->to > (int)c->set.n)
		return cmd_usage_error("--to %d: the latest migration is %zu", o->to, c->set.n);
	if ((rc = migrate_up(c->store, &c->set, o->to, on_progress, &applied, &e)) != ST_OK)
		return cmd_fail(rc, &e);
	rc = cmd_chain_adopt(c->store, p, &e);
	progress_finish(p, rc == ST_OK);
	if (rc != ST_OK)
		return cmd_fail(rc, &e);
	if ((rc = migrate_status(c->store, &c->set, &l, &r, &e)) != ST_OK)
		code = cmd_fail(rc, &e);
	else
		print_up_result(c, o->to, applied, &r);
	migrate_report_release(&r);
	migrate_ledger_release(&l);
	return code;
}

int cmd_migrate(struct config *cfg, int argc, char **argv)
{
	struct migrate_opts o;
	struct ledger l = {0};
	struct migrate_report r = {0};
	struct err e = {0};
	enum status rc;
	struct ctx c;
	struct progress *p = NULL;
	int code = parse_opts(argc, argv, &o);

	if (code != EXIT_OK)
		return code;
	if (strcmp(o.action, "status") != 0 && strcmp(o.action, "up") != 0 &&
	    strcmp(o.action, "plan") != 0 && strcmp(o.action, "verify") != 0 &&
	    strcmp(o.action, "sql") != 0)
		return cmd_usage_error(
			"unknown migrate action '%s' (known: status, up, plan, verify, sql)",
			o.action);
	if (strcmp(o.action, "up") == 0)
		p = cmd_progress_new(&o.pf, "migrate up");
	if (strcmp(o.action, "up") == 0 && adopt_original(cfg, o.to, p, &code)) {
		progress_free(p);
		return code;
	}
	if ((rc = ctx_open(&c, cfg, strcmp(o.action, "up") != 0, &e)) != ST_OK) {
		progress_free(p);
		return cmd_fail(rc, &e);
	}
	if (strcmp(o.action, "up") == 0) {
		code = do_up(&c, &o, p);
	} else if ((rc = migrate_status(c.store, &c.set, &l, &r, &e)) != ST_OK) {
		code = cmd_fail(rc, &e);
	} else if (strcmp(o.action, "status") == 0) {
		code = do_status(&c, &o, &r);
	} else if (strcmp(o.action, "verify") == 0) {
		code = do_verify(&c, &r);
	} else if (strcmp(o.action, "sql") == 0) {
		code = do_sql(&c, &o, &l, &r);
	} else {
		code = do_plan(&c, &r);
	}
	migrate_report_release(&r);
	migrate_ledger_release(&l);
	ctx_close(&c);
	progress_free(p);
	return code;
}
