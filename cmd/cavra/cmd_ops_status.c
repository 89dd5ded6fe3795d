/*
 * cmd_ops_status.c - `cavra ops stores [--json]` and `cavra ops
 * retention-plan [--output DIR] [--retention-days N] [--classification C]
 * [--[no-]legal-hold]`: read-only views of the configured database, the
 * same documents GET /operations/stores and /operations/retention-plan
 * return.
 */
#include "base/base.h"
#include "cmd.h"
#include "json/jx.h"
#include "ops/ops.h"

#include <stdio.h>
#include <string.h>

/* The original's default directory of the retention plan. */
#define PLAN_DEFAULT_DIR ".cavra/operations/retention"

/* The record's fields are read from the database: shown escaped (cmd_show). */
static void print_last(const char *what, json_object *last)
{
	struct cmd_shown sh = {0};

	if (!last)
		printf("last %s: none recorded\n", what);
	else
		printf("last %s: %s %s (%s, %s)\n", what,
		       cmd_show(&sh, jx_get_str_or(last, "finished_at", "?")),
		       cmd_show(&sh, jx_get_str_or(last, "outcome", "?")),
		       cmd_show(&sh, jx_get_str_or(last, "record_id", "?")),
		       cmd_show(&sh, jx_get_str_or(last, "location", "?")));
	cmd_shown_release(&sh);
}

/*
 * The text is for a person; --json prints the document itself, field for field
 * what GET /operations/stores answers, for scripts.  The database is shown by its
 * redacted URL, so the output can be pasted into a ticket.
 */
static void print_stores(json_object *doc, struct store *st)
{
	json_object *stores = json_object_object_get(doc, "stores");
	struct cmd_shown sh = {0}; /* the oldest and newest times are the rows' own text */

	printf("%s at schema version %d, %lld bytes\n", store_display_url(st),
	       json_object_get_int(json_object_object_get(doc, "database_schema_version")),
	       (long long)json_object_get_int64(json_object_object_get(doc, "database_bytes")));
	printf("%-18s %-26s %10s %12s  %-27s  %s\n", "store", "table", "rows", "bytes", "oldest",
	       "newest");
	for (size_t i = 0; i < json_object_array_length(stores); i++) {
		json_object *s = json_object_array_get_idx(stores, i);
		json_object *tables = json_object_object_get(s, "tables");

		for (size_t k = 0; k < json_object_array_length(tables); k++) {
			json_object *t = json_object_array_get_idx(tables, k);
			json_object *bytes = json_object_object_get(t, "bytes");

			printf("%-18s %-26s %10lld %12s  %-27s  %s\n",
			       jx_get_str_or(s, "store", "?"), jx_get_str_or(t, "table", "?"),
			       (long long)json_object_get_int64(json_object_object_get(t, "rows")),
			       bytes ? json_object_get_string(bytes) : "-",
			       cmd_show(&sh, jx_get_str_or(t, "oldest", "-")),
			       cmd_show(&sh, jx_get_str_or(t, "newest", "-")));
			cmd_shown_release(&sh);
		}
	}
	print_last("backup", json_object_object_get(doc, "last_backup"));
	print_last("restore test", json_object_object_get(doc, "last_restore_test"));
}

/*
 * cmd_open_existing: a status must not create the database it reports on (a
 * mistyped path would otherwise show an empty, new store) nor migrate it.
 */
static int ops_stores_cmd(struct config *cfg, int argc, char **argv)
{
	struct migration_set set = {0};
	struct store *st = NULL;
	json_object *doc = NULL;
	struct err e = {0};
	enum status rc;
	bool json = false;
	const struct cmd_opt opts[] = {CMD_FLAG("--json", &json), {0}};
	int code = cmd_opts_parse("ops stores", opts, argc - 1, argv + 1);

	if (code != EXIT_OK)
		return code;
	if ((rc = cmd_open_existing(cfg, &st, &set, &e)) != ST_OK ||
	    (rc = ops_stores(st, &doc, &e)) != ST_OK)
		code = cmd_fail(rc, &e);
	else if (json)
		cmd_print_json(doc, true);
	else
		print_stores(doc, st);
	json_object_put(doc);
	migrate_set_release(&set);
	store_close(st);
	return code;
}

struct plan_args {
	const char *output, *days, *classification;
	bool legal_hold;
};

/*
 * The values are kept as text and checked by ops_retention_opts_parse, the same
 * function that checks the HTTP query of GET /operations/retention-plan, so the
 * CLI and the API accept exactly the same values.
 */
static int parse_plan(int argc, char **argv, struct plan_args *a)
{
	const struct cmd_opt opts[] = {CMD_VALUE("--output", &a->output),
				       CMD_VALUE("--retention-days", &a->days),
				       CMD_VALUE("--classification", &a->classification),
				       CMD_FLAG("--legal-hold", &a->legal_hold),
				       CMD_NOFLAG("--no-legal-hold", &a->legal_hold),
				       {0}};
	int code;

	memset(a, 0, sizeof(*a));
	if ((code = cmd_opts_parse("ops retention-plan", opts, argc - 1, argv + 1)) != EXIT_OK)
		return code;
	if (!a->output)
		a->output = PLAN_DEFAULT_DIR;
	return EXIT_OK;
}

/*
 * A bad parameter is a usage error (exit 2) found before the database is opened.
 * The plan is only written to files, never acted on: deleting records is left to
 * a person who has read it.
 */
static int ops_retention_cmd(struct config *cfg, int argc, char **argv)
{
	struct migration_set set = {0};
	struct ops_retention_opts o;
	struct store *st = NULL;
	json_object *plan = NULL;
	struct plan_args a;
	struct err e = {0};
	enum status rc;
	int code = parse_plan(argc, argv, &a);

	if (code != EXIT_OK)
		return code;
	if (ops_retention_opts_parse(a.days, a.classification, a.legal_hold ? "true" : "false", &o,
				     &e) != ST_OK)
		return cmd_usage_error("ops retention-plan: %s", e.msg);
	if ((rc = cmd_open_existing(cfg, &st, &set, &e)) != ST_OK ||
	    (rc = ops_retention_plan(st, &o, &plan, &e)) != ST_OK ||
	    (rc = ops_retention_write(plan, a.output, &e)) != ST_OK) {
		code = cmd_fail(rc, &e);
	} else {
		printf("wrote %s/%s and %s/%s\n%lld records, %lld past the cutoff %s; delete "
		       "protection %s; legal hold %s\n",
		       a.output, OPS_PLAN_JSON, a.output, OPS_PLAN_MD,
		       (long long)json_object_get_int64(json_object_object_get(plan, "records")),
		       (long long)json_object_get_int64(
			       json_object_object_get(plan, "past_cutoff")),
		       jx_get_str_or(plan, "cutoff", "?"),
		       json_object_get_boolean(json_object_object_get(plan, "delete_protection"))
			       ? "on"
			       : "off",
		       o.legal_hold ? "on" : "off");
	}
	json_object_put(plan);
	migrate_set_release(&set);
	store_close(st);
	return code;
}

int cmd_ops_status(struct config *cfg, int argc, char **argv)
{
	if (strcmp(argv[0], "stores") == 0)
		return ops_stores_cmd(cfg, argc, argv);
	if (strcmp(argv[0], "retention-plan") == 0)
		return ops_retention_cmd(cfg, argc, argv);
	return -1;
}
