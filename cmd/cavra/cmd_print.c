/*
 * cmd_print.c - how the subcommands print a JSON document on stdout:
 * indented, '/' not escaped, one document per line group, and a list of
 * problems.  One place, so that `ops` and `migrate` cannot drift apart by
 * accident.
 */
#include "base/base.h"
#include "cmd.h"
#include "base/str.h"
#include "ops/ops.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

void cmd_print_json(struct json_object *o, bool spaced)
{
	int flags = JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE;

	if (spaced)
		flags |= JSON_C_TO_STRING_SPACED;
	puts(json_object_to_json_string_ext(o, flags));
}

void cmd_print_problems(const struct ops_report *rep, FILE *f)
{
	for (size_t i = 0; i < rep->n; i++) {
		fprintf(f, "  %s: ", rep->items[i].kind);
		str_fput_printable(f, rep->items[i].path);
		fputs(": ", f);
		str_fput_printable(f, rep->items[i].msg);
		fputc('\n', f);
	}
}

const char *cmd_show(struct cmd_shown *sh, const char *s)
{
	if (!s || sh->n == CMD_SHOWN_MAX)
		return s ? "?" : NULL;
	sh->s[sh->n] = str_printable(s);
	return sh->s[sh->n++];
}

void cmd_shown_release(struct cmd_shown *sh)
{
	for (size_t i = 0; i < sh->n; i++)
		free(sh->s[i]);
	sh->n = 0;
}
