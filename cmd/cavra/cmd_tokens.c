/*
 * cmd_tokens.c - `cavra tokens create|list|revoke|seal` (API tokens for agents
 * and CI), the key of api_token_key_file, and `cavra auth permissions` (the
 * permission table).
 */
#include "base/base.h"
#include "cmd.h"
#include "auth/auth.h"
#include "base/buf.h"
#include "base/files.h"
#include "base/seal.h"
#include "migrate/migrate.h"
#include "service/service.h"
#include "store/store.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROLES AUTH_ROLE__COUNT

struct create_args {
	const char *name, *created_by;
	const char *roles[MAX_ROLES];
	size_t nroles;
	int64_t expires_in_s;
};

/*
 * "90d", "12h", "30m", "45s" or "never" (0).
 *
 * A unit is required ("90" alone is refused), so no one gets seconds by accident;
 * 100000 of any unit keeps the product far inside int64_t and the expiry a date
 * both databases store.
 */
static bool parse_duration(const char *s, int64_t *out)
{
	char *end;
	long long n;

	if (strcmp(s, "never") == 0) {
		*out = 0;
		return true;
	}
	n = strtoll(s, &end, 10);
	if (end == s || n <= 0 || n > 100000 || strlen(end) != 1)
		return false;
	switch (*end) {
	case 'd':
		*out = n * 86400;
		return true;
	case 'h':
		*out = n * 3600;
		return true;
	case 'm':
		*out = n * 60;
		return true;
	case 's':
		*out = n;
		return true;
	default:
		return false;
	}
}

/*
 * An unknown role is refused while parsing, before the database is opened, with
 * the list of known ones.  There are only MAX_ROLES roles, so anything past that
 * is a repetition and adds nothing.
 */
static int take_role(const struct cmd_opt *o, const char *where, const char *role)
{
	struct create_args *a = o->target;
	enum auth_role r;
	char names[256];

	if (!auth_role_parse(role, &r)) {
		auth_roles_format(((uint32_t)1 << AUTH_ROLE__COUNT) - 1, names, sizeof(names));
		return cmd_usage_error("%s: unknown role '%s' (known: %s)", where, role, names);
	}
	if (a->nroles < MAX_ROLES)
		a->roles[a->nroles++] = role;
	return EXIT_OK;
}

static int take_expiry(const struct cmd_opt *o, const char *where, const char *value)
{
	if (!parse_duration(value, o->target))
		return cmd_usage_error("%s: --expires-in '%s': use e.g. 90d, 12h, 30m or never",
				       where, value);
	return EXIT_OK;
}

/*
 * Tokens expire after 90 days unless asked otherwise, so a forgotten token does
 * not stay valid for ever; "never" has to be written out.
 */
static int parse_create(int argc, char **argv, struct create_args *a)
{
	const struct cmd_opt opts[] = {CMD_VALUE("--name", &a->name),
				       CMD_TAKE("--role", a, take_role),
				       CMD_VALUE("--created-by", &a->created_by),
				       CMD_TAKE("--expires-in", &a->expires_in_s, take_expiry),
				       {0}};
	int code;

	memset(a, 0, sizeof(*a));
	a->expires_in_s = (int64_t)90 * 86400;
	if ((code = cmd_opts_parse("tokens create", opts, argc - 1, argv + 1)) != EXIT_OK)
		return code;
	if (!a->name || a->nroles == 0)
		return cmd_usage_error("tokens create: --name NAME and --role ROLE are required");
	return EXIT_OK;
}

/*
 * The token goes to stdout alone, so a script can capture it, and the notice to
 * stderr.  Only its SHA-256 is stored: this is the one moment it exists in the
 * clear, and the buffer is wiped before it goes out of scope.  created_by defaults
 * to $USER as a hint for the audit trail, not as a proof of who ran it.
 */
static int tokens_create(struct service *s, const struct create_args *a)
{
	char token[AUTH_TOKEN_LEN + 1], hash[SHA256_HEX_LEN];
	struct err e = {0};
	enum status rc;
	char *id = NULL;

	if ((rc = auth_token_generate(token, &e)) != ST_OK)
		return cmd_fail(rc, &e);
	auth_token_hash(token, hash);
	if ((rc = service_token_create(
		     s,
		     &(struct token_spec){a->name, hash,
					  a->created_by ? a->created_by : getenv("USER"), a->roles,
					  a->nroles, a->expires_in_s},
		     &id, &e)) != ST_OK) {
		memset(token, 0, sizeof(token));
		return cmd_fail(rc, &e);
	}
	puts(token);
	fprintf(stderr, "cavra: token '%s' (%s) created; it is shown only this once\n", a->name,
		id);
	memset(token, 0, sizeof(token));
	free(id);
	return EXIT_OK;
}

static int take_format(const struct cmd_opt *o, const char *where, const char *value)
{
	if (strcmp(value, "json") != 0 && strcmp(value, "text") != 0)
		return cmd_usage_error("%s: --format needs text or json", where);
	*(bool *)o->target = strcmp(value, "json") == 0;
	return EXIT_OK;
}

static int parse_list(int argc, char **argv, bool *json)
{
	const struct cmd_opt opts[] = {{.name = "--format",
					.kind = CMD_KIND_VALUE,
					.target = json,
					.needs = "text or json",
					.take = take_format},
				       {0}};

	*json = false;
	return cmd_opts_parse("tokens list", opts, argc - 1, argv + 1);
}

/* What the text listing adds for a token's seal ("" when the current key sealed it). */
static const char *seal_note(const char *seal)
{
	if (strcmp(seal, "previous") == 0)
		return "  SEALED WITH THE PREVIOUS KEY";
	return strcmp(seal, "none") == 0 ? "  NOT SEALED" : "";
}

/*
 * Text for a person at a terminal, one line a token; --format json for scripts,
 * with every field.  Neither shows a token: only its digest, id and name are
 * stored.
 */
static int tokens_list(struct service *s, bool json)
{
	struct cmd_shown sh = {0};
	json_object *list = NULL;
	struct err e = {0};
	enum status rc;

	if ((rc = service_token_list(s, &list, &e)) != ST_OK)
		return cmd_fail(rc, &e);
	if (json)
		puts(json_object_to_json_string_ext(list, JSON_C_TO_STRING_PRETTY));
	for (size_t i = 0; !json && i < json_object_array_length(list); i++) {
		json_object *t = json_object_array_get_idx(list, i), *v = NULL;
		const char *revoked = NULL, *exp = NULL, *used = NULL;
		const char *seal = json_object_object_get_ex(t, "seal", &v)
					   ? json_object_get_string(v)
					   : "current";

		if (json_object_object_get_ex(t, "revoked_at", &v))
			revoked = json_object_get_string(v);
		if (json_object_object_get_ex(t, "expires_at", &v))
			exp = json_object_get_string(v);
		if (json_object_object_get_ex(t, "last_used_at", &v))
			used = json_object_get_string(v);
		json_object_object_get_ex(t, "roles", &v);
		/* every field read from the database: a planted row cannot hide its own line */
		printf("%-24s %-17s %-28s created %s  expires %s  last used %s%s%s%s\n",
		       cmd_show(&sh, json_object_get_string(json_object_object_get(t, "name"))),
		       cmd_show(&sh, json_object_get_string(json_object_object_get(t, "token_id"))),
		       cmd_show(&sh, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)),
		       cmd_show(&sh,
				json_object_get_string(json_object_object_get(t, "created_at"))),
		       exp ? cmd_show(&sh, exp) : "never", used ? cmd_show(&sh, used) : "never",
		       revoked ? "  REVOKED " : "", revoked ? cmd_show(&sh, revoked) : "",
		       revoked ? "" : seal_note(seal));
		cmd_shown_release(&sh);
	}
	json_object_put(list);
	return EXIT_OK;
}

/*
 * A name without a live token is an error (the service's "no active token
 * called ...", exit 1), so a script learns that its revoke changed nothing, for
 * instance because the name was mistyped.
 */
static int tokens_revoke(struct service *s, const char *name)
{
	struct err e = {0};
	enum status rc;
	int64_t n = 0;

	if ((rc = service_token_revoke(s, name, &n, &e)) != ST_OK)
		return cmd_fail(rc, &e);
	printf("revoked %lld token%s called '%s'\n", (long long)n, n == 1 ? "" : "s", name);
	return EXIT_OK;
}

/*
 * Seals the unrevoked tokens with api_token_key_file's key: what an operator runs once after
 * setting the key (and after `cavra audit verify`), or after changing it.
 */
static int tokens_seal(struct service *s)
{
	struct token_seal_count n;
	struct err e = {0};
	enum status rc = service_token_seal(s, &n, &e);

	if (rc != ST_OK)
		return cmd_fail(rc, &e);
	printf("sealed %lld token%s; %lld already sealed with the current key; %lld refused\n",
	       (long long)n.sealed, n.sealed == 1 ? "" : "s", (long long)n.kept,
	       (long long)n.refused);
	return n.refused ? EXIT_FAIL : EXIT_OK;
}

/* Each action's arguments, all checked before the database is opened. */
struct tokens_args {
	struct create_args create;
	bool json;
	const char *name;
};

static int parse_revoke(int argc, char **argv, const char **name)
{
	const struct cmd_opt opts[] = {CMD_ARG("NAME", name), {0}};
	int code = cmd_opts_parse("tokens revoke", opts, argc - 1, argv + 1);

	if (code == EXIT_OK && !*name)
		return cmd_usage_error("tokens revoke: give the token's NAME");
	return code;
}

static int parse_tokens(int argc, char **argv, struct tokens_args *a)
{
	const char *action = argc >= 2 ? argv[1] : "";

	memset(a, 0, sizeof(*a));
	if (!*action)
		return cmd_usage_error(
			"tokens: missing action (known: create, list, revoke, seal)");
	if (strcmp(action, "create") == 0)
		return parse_create(argc - 1, argv + 1, &a->create);
	if (strcmp(action, "list") == 0)
		return parse_list(argc - 1, argv + 1, &a->json);
	if (strcmp(action, "seal") == 0)
		return cmd_opts_parse("tokens seal", (const struct cmd_opt[]){{0}}, argc - 2,
				      argv + 2);
	if (strcmp(action, "revoke") != 0)
		return cmd_usage_error(
			"tokens: unknown action '%s' (known: create, list, revoke, seal)", action);
	return parse_revoke(argc - 1, argv + 1, &a->name);
}

/*
 * One connection is enough for one command, and cmd_open_database refuses a
 * database whose schema is not the binary's, before a token is written into it.
 */
int cmd_tokens(struct config *cfg, int argc, char **argv)
{
	struct migration_set set = {0};
	struct tokens_args a;
	struct store *st = NULL;
	struct err e = {0};
	enum status rc;
	struct service svc;
	struct seal_keys keys;
	bool keyed = false;
	int code = parse_tokens(argc, argv, &a);

	if (code != EXIT_OK)
		return code;
	if ((rc = cmd_token_key(cfg, &keys, &keyed, &e)) != ST_OK)
		return cmd_fail(rc, &e);
	if (!keyed && strcmp(argv[1], "seal") == 0)
		return cmd_usage_error(
			"tokens seal: set api_token_key_file (CAVRA_API_TOKEN_KEY_FILE, "
			"--api-token-key-file) to the key serve uses");
	if ((rc = cmd_open_database(
		     cfg, "manage tokens",
		     &(struct store_options){.pool_size = 1, .prepare = config_db_prepare(cfg)},
		     &st, &set, &e)) != ST_OK) {
		code = cmd_fail(rc, &e);
		goto out;
	}
	svc = (struct service){.store = st, .token_keys = keyed ? &keys : NULL};
	if (strcmp(argv[1], "create") == 0)
		code = tokens_create(&svc, &a.create);
	else if (strcmp(argv[1], "list") == 0)
		code = tokens_list(&svc, a.json);
	else if (strcmp(argv[1], "seal") == 0)
		code = tokens_seal(&svc);
	else
		code = tokens_revoke(&svc, a.name);
out:
	memset(&keys, 0, sizeof(keys));
	migrate_set_release(&set);
	store_close(st);
	return code;
}

/* `cavra auth permissions [--markdown]`: the one permission -> roles table. */
int cmd_auth(struct config *cfg, int argc, char **argv)
{
	struct buf out = BUF_INIT;
	struct err e = {0};
	enum status rc;
	bool md = false;
	const struct cmd_opt opts[] = {CMD_FLAG("--markdown", &md), {0}};
	int code;

	UNUSED(cfg);
	if (argc < 2)
		return cmd_usage_error("auth: missing action (known: permissions)");
	if (strcmp(argv[1], "permissions") != 0)
		return cmd_usage_error("auth: unknown action '%s' (known: permissions)", argv[1]);
	if ((code = cmd_opts_parse("auth permissions", opts, argc - 2, argv + 2)) != EXIT_OK)
		return code;
	if ((rc = auth_permissions_render(md ? AUTH_RENDER_MARKDOWN : AUTH_RENDER_TEXT, &out,
					  &e)) != ST_OK)
		return cmd_fail(rc, &e);
	fputs(out.data, stdout);
	buf_release(&out);
	return EXIT_OK;
}
