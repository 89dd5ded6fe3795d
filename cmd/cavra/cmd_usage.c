/*
 * cmd_usage.c - `cavra CMD [ACTION] --help` and `cavra help CMD [ACTION]`
 * print that command's lines of the top-level usage (cmd_usage_text), so a
 * command listed there has its help without more code, and the options
 * each command's parser takes are checked against it; and the one-line
 * failure messages every subcommand shares.
 */
#include "base/base.h"
#include "cmd.h"
#include "base/interrupt.h"
#include "base/str.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char cmd_usage_text[] =
	"usage: cavra <command> [options]\n"
	"\n"
	"commands:\n"
	"  serve [--print-config]             run the HTTP service\n"
	"  migrate status [--json] | up [--to N] | plan | verify | sql [--to N]\n"
	"          (up also: [--progress | --quiet])\n"
	"                                     manage the database schema\n"
	"  evidence migrate [--sqlite PATH]   'migrate up' on a SQLite file (default\n"
	"                                     " CMD_EVIDENCE_DEFAULT_DB "); adopts a database\n"
	"                                     the original tool made\n"
	"  approval migrate [--sqlite PATH]   the same as 'evidence migrate'\n"
	"  registry migrate [--sqlite PATH]   the same as 'evidence migrate'\n"
	"  ops import --json|--sqlite FILE --store NAME | --from-env | --backup MANIFEST\n"
	"             [--format text|json] [--progress | --quiet]\n"
	"                                     import the original tool's stores or backup\n"
	"  ops stores [--json]                per store: rows, bytes, oldest/newest, last backup\n"
	"  ops backup [--output DIR] [--json] [--[no-]include-missing] [--signing-key PEM]\n"
	"             [--compression none|zstd[:LEVEL]]\n"
	"             [--progress | --quiet]\n"
	"                                     logical backup of every table from one snapshot\n"
	"                                     (default DIR .cavra/backups/latest), signed\n"
	"                                     with an Ed25519 key when one is given; table\n"
	"                                     files zstd-compressed (level 1) by default\n"
	"  ops verify MANIFEST [--json] [--public-key PEM] [--progress | --quiet]\n"
	"             [--checkpoint FILE --checkpoint-key PEM] [--seal-key-file FILE]\n"
	"                                     check a backup, its audit chain and sessions'\n"
	"                                     counters included; reports every problem (exit\n"
	"                                     1); with a public key, refuses one not signed by\n"
	"                                     it; with a checkpoint, its entry must be in the\n"
	"                                     backup's chain; with seal keys (or\n"
	"                                     audit_seal_key_file), the entries' seals\n"
	"  ops restore MANIFEST [--target-dir DIR | --target-url URL] [--[no-]overwrite]\n"
	"              [--public-key PEM] [--progress | --quiet]\n"
	"                                     verify, then load a backup in one transaction\n"
	"  ops restore-test MANIFEST [--scratch-dir DIR] [--public-key PEM]\n"
	"                   [--progress | --quiet]\n"
	"                                     restore into a scratch SQLite, check, record\n"
	"  ops doctor [--fix] [--json]        list stored text that is not valid UTF-8;\n"
	"                                     --fix rewrites it with U+FFFD\n"
	"  ops retention-plan [--output DIR] [--retention-days N] [--classification C]\n"
	"                     [--[no-]legal-hold]\n"
	"                                     write the retention plan (JSON and Markdown;\n"
	"                                     default DIR .cavra/operations/retention)\n"
	"  tokens create --name N --role R [--expires-in 90d] [--created-by WHO]\n"
	"         | list [--format json] | revoke NAME | seal\n"
	"                                     API tokens for agents and CI; seal: with\n"
	"                                     api_token_key_file, seal the existing ones\n"
	"  audit verify [--checkpoint FILE --public-key PEM] [--progress | --quiet]\n"
	"               [--seal-key-file FILE [--sealed-from SEQ]]\n"
	"                                     walk the hash chain over decisions; reports\n"
	"                                     every break (exit 1); with the seal key, every\n"
	"                                     entry must be sealed with it\n"
	"  audit checkpoint --signing-key PEM --output FILE [--after FILE]\n"
	"                   [--seal-key-file FILE]\n"
	"                                     check the chain since --after's checkpoint\n"
	"                                     (or its start), then write its head signed\n"
	"                                     with Ed25519; nothing on a break (exit 1)\n"
	"  audit adopt [--progress | --quiet]\n"
	"                                     chain the decisions written before the chain\n"
	"  auth permissions [--markdown]      the permission -> roles table\n"
	"  healthcheck [--ready] [--timeout SECONDS]\n"
	"                                     exit 0 when the server on the listen address\n"
	"                                     answers GET /healthz (/readyz) with 200\n"
	"  version                            print the version\n"
	"  help [COMMAND [ACTION]]            this text, or one command's (also COMMAND --help)\n"
	"\n"
	"settings (see docs/config.md): --config FILE, --database URL, --listen HOST:PORT,\n"
	"  --migration-database URL, --migrations-dir DIR, --log-level L, --log-format F,\n"
	"  --db-pool-size N, --[no-]auto-migrate, --policy-dir DIR\n"
	"\n"
	"progress (docs/operations.md): the long commands show it on stderr when that is a\n"
	"   terminal; --progress forces it (plain lines when not a terminal); --quiet\n"
	"   silences it and every other informational line on stderr, never errors\n";

/* Where descriptions start in the usage text; synopses continue left of it. */
#define DESC_COLUMN 37

bool cmd_help_wanted(int argc, char **argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

/* A command's entry: two spaces, then a lowercase command name. */
static bool is_entry(const char *line)
{
	return line[0] == ' ' && line[1] == ' ' && line[2] >= 'a' && line[2] <= 'z';
}

/* Whether word w (not NUL-terminated, ends at a space or newline) is s. */
static bool word_is(const char *w, const char *s)
{
	size_t n = strlen(s);

	return strncmp(w, s, n) == 0 && (w[n] == ' ' || w[n] == '\n' || w[n] == '\0');
}

/* The entry names cmd, and sub as its second word when sub is given. */
static bool entry_matches(const char *line, const char *cmd, const char *sub)
{
	const char *second;

	if (!is_entry(line) || !word_is(line + 2, cmd))
		return false;
	if (!sub)
		return true;
	second = line + 2 + strlen(cmd);
	return *second == ' ' && word_is(second + 1, sub);
}

static size_t line_len(const char *line)
{
	return strcspn(line, "\n");
}

static const char *next_line(const char *l)
{
	size_t n = line_len(l);

	return l[n] ? l + n + 1 : l + n;
}

/* The lines indented under an entry: its synopsis continued, or its description. */
static void print_more(const char *line, bool synopsis)
{
	for (const char *l = next_line(line); l[0] == ' ' && !is_entry(l); l = next_line(l)) {
		size_t lead = strspn(l, " ");
		int n = (int)(line_len(l) - lead);

		if (synopsis && lead < DESC_COLUMN)
			printf(" %.*s", n, l + lead);
		else if (!synopsis && lead >= DESC_COLUMN)
			printf("         %.*s\n", n, l + lead);
	}
}

/* "usage: cavra <synopsis>" (or "   or: ..."), then the description indented. */
static void print_entry(const char *line, bool first)
{
	const char *end = line + line_len(line), *syn = line + 2;
	const char *gap = strstr(syn, "  ");
	const char *desc;

	if (!gap || gap > end)
		gap = end;
	printf("%s cavra %.*s", first ? "usage:" : "   or:", (int)(gap - syn), syn);
	print_more(line, true);
	putchar('\n');
	desc = gap + strspn(gap, " ");
	if (desc < end)
		printf("         %.*s\n", (int)(end - desc), desc);
	print_more(line, false);
}

/* Prints the entries that match; returns how many did. */
static int print_entries(const char *usage, const char *cmd, const char *sub)
{
	int n = 0;

	for (const char *l = usage; *l; l = next_line(l))
		if (entry_matches(l, cmd, sub))
			print_entry(l, n++ == 0);
	return n;
}

/* Whether the entry at line (with its indented lines) names word, whole. */
static bool entry_names(const char *line, const char *word)
{
	const char *end = next_line(line);
	size_t n = strlen(word);

	while (*end == ' ' && !is_entry(end))
		end = next_line(end);
	for (const char *p = strstr(line, word); p && p < end; p = strstr(p + 1, word))
		if (!isalnum((unsigned char)p[n]) && p[n] != '-')
			return true;
	return false;
}

static bool option_named(const char *usage, const char *cmd, const char *sub, const char *name)
{
	char either[64];

	snprintf(either, sizeof(either), "--[no-]%s",
		 name + (strncmp(name, "--no-", 5) == 0 ? 5 : 2));
	for (const char *l = usage; *l; l = next_line(l))
		if (entry_matches(l, cmd, sub) && (entry_names(l, name) || entry_names(l, either)))
			return true;
	return false;
}

static bool has_entry(const char *usage, const char *cmd, const char *sub)
{
	for (const char *l = usage; *l; l = next_line(l))
		if (entry_matches(l, cmd, sub))
			return true;
	return false;
}

bool cmd_opts_documented(const char *usage, const char *where, const struct cmd_opt *opts)
{
	char cmd[32];
	size_t n = strcspn(where, " ");
	const char *sub = where[n] ? where + n + 1 : NULL;

	snprintf(cmd, sizeof(cmd), "%.*s", (int)n, where);
	if (sub && !has_entry(usage, cmd, sub))
		sub = NULL; /* its help is the command's, as in cmd_help */
	if (!has_entry(usage, cmd, sub))
		return true;
	for (const struct cmd_opt *o = opts; o->name; o++)
		if (o->kind != CMD_KIND_ARG && !option_named(usage, cmd, sub, o->name))
			return false;
	return true;
}

int cmd_help(const char *usage, int argc, char **argv)
{
	const char *cmd = argc > 0 ? argv[0] : "--help";
	const char *sub = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;

	if (cmd[0] == '-') {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	/* an action without an entry of its own is described by its command's */
	if (print_entries(usage, cmd, sub) == 0 && print_entries(usage, cmd, NULL) == 0)
		return cmd_usage_error("unknown command '%s' (see 'cavra help')", cmd);
	printf("\nsettings flags (--database URL, ...): see 'cavra help' and docs/config.md\n");
	return EXIT_OK;
}

int cmd_fail(enum status st, const struct err *e)
{
	/* the exit code follows the status the call returned; e only carries its message */
	assert(st != ST_OK && e->code == st);
	/* a message may quote a value read from a database or a file: shown escaped */
	fputs("cavra: ", stderr);
	str_fput_printable(stderr, e->msg[0] ? e->msg : status_name(st));
	fputc('\n', stderr);
	return st == ST_INVALID ? EXIT_USAGE : EXIT_FAIL;
}

bool cmd_interrupted(const char *where)
{
	struct err e = {0};

	if (interrupt_check(&e) == ST_OK)
		return false;
	fprintf(stderr, "cavra: %s: %s\n", where, e.msg);
	return true;
}

int cmd_usage_print(const char *fmt, ...)
{
	va_list ap;

	fputs("cavra: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}
