/*
 * main.c - the cavra binary: settings, logging, then the subcommand.
 */
#include "base/base.h"
#include "cmd.h"
#include "base/log.h"
#include "base/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The original's default database of `evidence migrate`. */
#define EVIDENCE_DEFAULT_DB ".cavra/evidence/metadata.db"

static const char usage[] =
	"usage: cavra <command> [options]\n"
	"\n"
	"commands:\n"
	"  serve [--print-config]             run the HTTP service\n"
	"  migrate status [--json] | up [--to N] | plan | verify\n"
	"                                     manage the database schema\n"
	"  evidence migrate [--sqlite PATH]   'migrate up' on a SQLite file (default\n"
	"                                     " EVIDENCE_DEFAULT_DB "); adopts a database\n"
	"                                     the original tool made\n"
	"  approval migrate [--sqlite PATH]   the same as 'evidence migrate'\n"
	"  registry migrate [--sqlite PATH]   the same as 'evidence migrate'\n"
	"  ops import --json|--sqlite FILE --store NAME | --from-env | --backup MANIFEST\n"
	"                                     import the original tool's stores or backup\n"
	"  ops stores [--json]                per store: rows, bytes, oldest/newest, last backup\n"
	"  ops backup [--output DIR] [--json] [--[no-]include-missing]\n"
	"                                     logical backup of every table from one snapshot\n"
	"                                     (default DIR .cavra/backups/latest)\n"
	"  ops verify MANIFEST [--json]       check a backup; reports every problem (exit 1)\n"
	"  ops restore MANIFEST [--target-dir DIR | --target-url URL] [--[no-]overwrite]\n"
	"                                     verify, then load a backup in one transaction\n"
	"  ops restore-test MANIFEST [--scratch-dir DIR]\n"
	"                                     restore into a scratch SQLite, check, record\n"
	"  ops doctor [--fix] [--json]        list stored text that is not valid UTF-8;\n"
	"                                     --fix rewrites it with U+FFFD\n"
	"  ops retention-plan [--output DIR] [--retention-days N] [--classification C]\n"
	"                     [--[no-]legal-hold]\n"
	"                                     write the retention plan (JSON and Markdown;\n"
	"                                     default DIR .cavra/operations/retention)\n"
	"  tokens create --name N --role R [--expires-in 90d] [--created-by WHO]\n"
	"         | list [--format json] | revoke NAME\n"
	"                                     API tokens for agents and CI\n"
	"  auth permissions [--markdown]      the permission -> roles table\n"
	"  version                            print the version\n"
	"  help [COMMAND [ACTION]]            this text, or one command's (also COMMAND --help)\n"
	"\n"
	"settings (see docs/config.md): --config FILE, --database URL, --listen HOST:PORT,\n"
	"  --migration-database URL, --migrations-dir DIR, --log-level L, --log-format F,\n"
	"  --db-pool-size N, --[no-]auto-migrate, --policy-dir DIR\n";

int cmd_fail(const struct err *e)
{
	fprintf(stderr, "cavra: %s\n", e->msg[0] ? e->msg : status_name(e->code));
	return e->code == ST_INVALID ? EXIT_USAGE : EXIT_FAIL;
}

int cmd_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("cavra: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

static void setup_logging(const struct config *cfg)
{
	enum log_level level = LOG_INFO;
	enum log_format fmt = LOG_FMT_LOGFMT;

	log_level_parse(cfg->log_level, &level);
	log_format_parse(cfg->log_format, &fmt);
	log_setup(level, fmt);
}

/*
 * "evidence|approval|registry migrate [--sqlite PATH]" (the original tool's
 * three entry points of one runner) -> "migrate up" on that database, by
 * default the original's .cavra/evidence/metadata.db (not database_url:
 * the command names its file, as the original's did).
 */
static int evidence_alias(struct config *cfg, int argc, char **argv)
{
	char mig[] = "migrate", up[] = "up"; /* argv strings are writable */
	char *up_argv[] = {mig, up, NULL};
	const char *path = EVIDENCE_DEFAULT_DB;

	if (argc < 2)
		return cmd_usage_error("%s: missing action (known: migrate)", argv[0]);
	if (strcmp(argv[1], "migrate") != 0)
		return cmd_usage_error("%s: unknown action '%s' (known: migrate)", argv[0],
				       argv[1]);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--sqlite") != 0)
			return cmd_bad_arg(argv[0], argv[i], NULL);
		if (i + 1 >= argc)
			return cmd_usage_error("%s migrate: --sqlite needs a PATH", argv[0]);
		path = argv[++i];
	}
	free(cfg->database_url);
	cfg->database_url = xstrdup(path);
	free(cfg->migration_database_url);
	cfg->migration_database_url = NULL;
	return cmd_migrate(cfg, 2, up_argv);
}

static int version(int argc, char **argv)
{
	if (argc > 1)
		return cmd_bad_arg("version", argv[1], NULL);
	printf("cavra %s\n", CAVRA_VERSION);
	return EXIT_OK;
}

static int run(struct config *cfg, int argc, char **argv)
{
	const char *cmd = argc > 0 ? argv[0] : NULL;

	if (cmd && strcmp(cmd, "help") == 0 && argc > 1)
		return cmd_help(usage, argc - 1, argv + 1);
	if (!cmd || strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0) {
		fputs(usage, cmd ? stdout : stderr);
		return cmd ? EXIT_OK : EXIT_USAGE;
	}
	if (cmd_help_wanted(argc, argv))
		return cmd_help(usage, argc, argv);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
		return version(argc, argv);
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(cfg, argc, argv);
	if (strcmp(cmd, "migrate") == 0)
		return cmd_migrate(cfg, argc, argv);
	if (strcmp(cmd, "tokens") == 0)
		return cmd_tokens(cfg, argc, argv);
	if (strcmp(cmd, "auth") == 0)
		return cmd_auth(cfg, argc, argv);
	if (strcmp(cmd, "ops") == 0)
		return cmd_ops(cfg, argc, argv);
	if (strcmp(cmd, "evidence") == 0 || strcmp(cmd, "approval") == 0 ||
	    strcmp(cmd, "registry") == 0)
		return evidence_alias(cfg, argc, argv);
	return cmd_usage_error("unknown command '%s' (see 'cavra help')", cmd);
}

int main(int argc, char **argv)
{
	char **rest = xcalloc((size_t)argc + 1, sizeof(char *));
	struct config cfg;
	struct err e = {0};
	int nrest = 0, code;

	config_init(&cfg);
	if (config_load(&cfg, argc - 1, argv + 1, env_get, rest, &nrest, &e) != ST_OK) {
		code = cmd_fail(&e);
	} else {
		setup_logging(&cfg);
		code = run(&cfg, nrest, rest);
	}
	config_release(&cfg);
	free(rest);
	return code;
}
