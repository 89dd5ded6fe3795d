/*
 * cmd_opts.c - the one parser of every subcommand's own options: each
 * command lists them in a table (struct cmd_opt, cmd.h) and this reads
 * argv against it, so every command accepts the same forms and refuses a
 * bad argument with the same one line.
 */
#include "base/base.h"
#include "cmd.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* The option named by arg[0..n) ("--output" of "--output=DIR"), or NULL. */
#define CMD_OPTS_MAX 64 /* options of one command that are checked for repeats */

static const struct cmd_opt *find_opt(const struct cmd_opt *opts, const char *arg, size_t n)
{
	for (const struct cmd_opt *o = opts; o->name; o++)
		if (o->kind != CMD_KIND_ARG && strlen(o->name) == n &&
		    strncmp(o->name, arg, n) == 0)
			return o;
	return NULL;
}

/* No option or argument of cavra's means anything when empty: "--output ''" is a mistake. */
static int take_value(const char *where, const struct cmd_opt *o, const char *value)
{
	if (!*value)
		return cmd_usage_error("%s: %s is empty", where, o->name);
	if (o->take)
		return o->take(o, where, value);
	*(const char **)o->target = value;
	return EXIT_OK;
}

/* A positional argument fills the first free slot; none left is an error. */
static int take_arg(const char *where, const struct cmd_opt *opts, const char *arg)
{
	for (const struct cmd_opt *o = opts; o->name; o++)
		if (o->kind == CMD_KIND_ARG && !*(const char **)o->target)
			return take_value(where, o, arg);
	return cmd_usage_error("%s: unexpected argument '%s' (see 'cavra %s --help')", where, arg,
			       where);
}

static int take_option(const char *where, const struct cmd_opt *o, const char *arg, size_t n)
{
	if (o->kind == CMD_KIND_VALUE)
		return take_value(where, o, arg + n + 1);
	if (arg[n])
		return cmd_usage_error("%s: option '%s' takes no value (see 'cavra %s --help')",
				       where, o->name, where);
	if (o->target)
		*(bool *)o->target = o->on;
	return EXIT_OK;
}

/*
 * A plain value option given twice is refused rather than the last one taken: "--database A
 * --database B" in a script is a mistake whose other reading writes elsewhere.  Options with a
 * take function decide for themselves (--role adds a role each time).
 */
static bool again(const struct cmd_opt *opts, const struct cmd_opt *o, bool seen[CMD_OPTS_MAX])
{
	size_t i = (size_t)(o - opts);

	if (o->kind != CMD_KIND_VALUE || o->take || i >= CMD_OPTS_MAX)
		return false;
	if (seen[i])
		return true;
	seen[i] = true;
	return false;
}

int cmd_opts_parse(const char *where, const struct cmd_opt *opts, int argc, char **argv)
{
	bool seen[CMD_OPTS_MAX] = {false};

	assert(cmd_opts_documented(cmd_usage_text, where, opts));
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		size_t n = strcspn(arg, "=");
		const struct cmd_opt *o = arg[0] == '-' ? find_opt(opts, arg, n) : NULL;
		int code;

		if (arg[0] != '-')
			code = take_arg(where, opts, arg);
		else if (o && again(opts, o, seen))
			code = cmd_usage_error("%s: option '%s' given twice", where, o->name);
		else if (!o)
			code = cmd_usage_error("%s: unknown option '%s' (see 'cavra %s --help')",
					       where, arg, where);
		else if (o->kind == CMD_KIND_FLAG || arg[n])
			code = take_option(where, o, arg, n);
		else if (i + 1 < argc)
			code = take_value(where, o, argv[++i]);
		else
			code = cmd_usage_error("%s: %s needs %s", where, o->name,
					       o->needs ? o->needs : "a value");
		if (code != EXIT_OK)
			return code;
	}
	return EXIT_OK;
}
