/*
 * main.c - the cavra binary: settings, logging, then the subcommand.
 *
 * cmd_fail, here, is where a failed status becomes an error line for the user and an exit
 * code: everything under internal/ returns statuses and messages and never exits
 * (docs/architecture.md).  Exit codes are 0 for success, 2 for bad usage or a bad setting
 * (ST_INVALID), 1 for every other failure, so that a script can tell "fix the command" from
 * "look at the system".
 */
#include "base/base.h"
#include "cmd.h"
#include "cmd_healthcheck.h"
#include "base/interrupt.h"
#include "base/log.h"
#include "base/seal.h"
#include "base/xalloc.h"
#include "ops/ops.h"
#include "store/store_chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *env_get(const char *name)
{
	return getenv(name);
}

/* The settings were validated by config_load, so a parse here cannot fail; defaults are a guard. */
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
	const char *path = CMD_EVIDENCE_DEFAULT_DB;
	const struct cmd_opt opts[] = {
		{.name = "--sqlite", .kind = CMD_KIND_VALUE, .target = &path, .needs = "a PATH"},
		{0}};
	char where[32];
	int code;

	if (argc < 2)
		return cmd_usage_error("%s: missing action (known: migrate)", argv[0]);
	if (strcmp(argv[1], "migrate") != 0)
		return cmd_usage_error("%s: unknown action '%s' (known: migrate)", argv[0],
				       argv[1]);
	snprintf(where, sizeof(where), "%s migrate", argv[0]);
	if ((code = cmd_opts_parse(where, opts, argc - 2, argv + 2)) != EXIT_OK)
		return code;
	free(cfg->database_url);
	cfg->database_url = xstrdup(path);
	free(cfg->migration_database_url);
	cfg->migration_database_url = NULL;
	return cmd_migrate(cfg, 2, up_argv);
}

static int version(int argc, char **argv)
{
	static const struct cmd_opt none[] = {{0}};
	int code = cmd_opts_parse("version", none, argc - 1, argv + 1);

	if (code != EXIT_OK)
		return code;
	printf("cavra %s\n", CAVRA_VERSION);
	return EXIT_OK;
}

/*
 * The commands that write files or load rows for a while: on SIGINT, SIGTERM or SIGHUP they
 * stop at the next row and clean up after themselves instead of dying mid-write
 * (base/interrupt.h).  serve takes its signals itself; the rest end at once as before.
 */
static bool stops_on_signal(const char *cmd)
{
	static const char *const cmds[] = {"migrate",  "ops",	   "audit",
					   "evidence", "approval", "registry"};

	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (strcmp(cmd, cmds[i]) == 0)
			return true;
	return false;
}

/*
 * A command stopped by a signal exits with 128 + the signal's number, as a shell reports a
 * process the signal killed, once it has cleaned up; one that finished before it saw the signal
 * exits as it finished.
 */
static int exit_code(int code)
{
	int sig = interrupt_signal();

	return code != EXIT_OK && sig ? 128 + sig : code;
}

/*
 * Help is decided before any command runs, so "cavra ops backup --help" never opens a
 * database.  No command at all is a usage error (exit 2, usage on stderr), but asking for
 * help is not (exit 0, usage on stdout).
 */
static int run(struct config *cfg, int argc, char **argv)
{
	const char *cmd = argc > 0 ? argv[0] : NULL;

	if (cmd && strcmp(cmd, "help") == 0 && argc > 1)
		return cmd_help(cmd_usage_text, argc - 1, argv + 1);
	if (!cmd || strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0) {
		fputs(cmd_usage_text, cmd ? stdout : stderr);
		return cmd ? EXIT_OK : EXIT_USAGE;
	}
	if (cmd_help_wanted(argc, argv))
		return cmd_help(cmd_usage_text, argc, argv);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
		return version(argc, argv);
	if (strcmp(cmd, "healthcheck") == 0)
		return cmd_healthcheck(cfg, argc, argv);
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(cfg, argc, argv);
	if (stops_on_signal(cmd))
		interrupt_install();
	if (strcmp(cmd, "migrate") == 0)
		return cmd_migrate(cfg, argc, argv);
	if (strcmp(cmd, "tokens") == 0)
		return cmd_tokens(cfg, argc, argv);
	if (strcmp(cmd, "audit") == 0)
		return cmd_audit(cfg, argc, argv);
	if (strcmp(cmd, "auth") == 0)
		return cmd_auth(cfg, argc, argv);
	if (strcmp(cmd, "ops") == 0)
		return cmd_ops(cfg, argc, argv);
	if (strcmp(cmd, "evidence") == 0 || strcmp(cmd, "approval") == 0 ||
	    strcmp(cmd, "registry") == 0)
		return evidence_alias(cfg, argc, argv);
	if (cmd[0] == '-') /* not a setting, so it belongs to a command: after its name */
		return cmd_usage_error("unknown option '%s' before the command (a command's own "
				       "options go after it; see 'cavra help')",
				       cmd);
	return cmd_usage_error("unknown command '%s' (see 'cavra help')", cmd);
}

/*
 * audit_seal_key_file's key seals every chain entry that any command appends (serve, migrate
 * up's adoptions, imports, tokens); the previous key of a rotation only verifies.
 */
static enum status install_seal_key(const struct config *cfg, struct err *e)
{
	struct seal_keys keys;
	bool set;
	enum status st = cmd_seal_key(cfg, &keys, &set, e);

	if (set)
		store_chain_seal_set(&keys.now);
	memset(&keys, 0, sizeof(keys));
	return st;
}

/*
 * Settings are loaded before the command is known, from every source, so a bad setting fails
 * every command the same way (exit 2, one line naming it) before anything is opened or
 * logged.  What config_load does not recognise is left in rest for the command to parse.
 */
int main(int argc, char **argv)
{
	char **rest = xcalloc((size_t)argc + 1, sizeof(char *));
	struct config cfg;
	struct err e = {0};
	enum status rc;
	int nrest = 0, code;

	/* every decision a command writes is chained in the backups' canonical form */
	store_chain_canon_set(ops_chain_canon);
	config_init(&cfg);
	if ((rc = config_load(&cfg, argc - 1, argv + 1, env_get, rest, &nrest, &e)) != ST_OK ||
	    (rc = install_seal_key(&cfg, &e)) != ST_OK) {
		code = cmd_fail(rc, &e);
	} else {
		setup_logging(&cfg);
		code = exit_code(run(&cfg, nrest, rest));
	}
	config_release(&cfg);
	free(rest);
	return code;
}
