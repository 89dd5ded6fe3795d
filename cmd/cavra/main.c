/*
 * main.c - the cavra binary: settings, logging, then the subcommand.
 */
#include "base/base.h"
#include "cmd.h"
#include "base/log.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	char *up_argv[] = {"migrate", "up", NULL};
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
