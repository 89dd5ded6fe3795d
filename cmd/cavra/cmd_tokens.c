/*
 * cmd_tokens.c - `cavra tokens create|list|revoke` (API tokens for agents
 * and CI) and `cavra auth permissions` (the permission table).
 */
#include "base/base.h"
#include "cmd.h"
#include "auth/auth.h"
#include "base/buf.h"
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

/* "90d", "12h", "30m", "45s" or "never" (0). */
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

static int add_role(struct create_args *a, const char *role)
{
	enum auth_role r;
	char names[256];

	if (!auth_role_parse(role, &r)) {
		auth_roles_format(((uint32_t)1 << AUTH_ROLE__COUNT) - 1, names, sizeof(names));
		return cmd_usage_error("tokens create: unknown role '%s' (known: %s)", role, names);
	}
	if (a->nroles < MAX_ROLES)
		a->roles[a->nroles++] = role;
	return EXIT_OK;
}

static bool known_create_option(const char *arg)
{
	return strcmp(arg, "--name") == 0 || strcmp(arg, "--role") == 0 ||
	       strcmp(arg, "--created-by") == 0 || strcmp(arg, "--expires-in") == 0;
}

static int parse_create(int argc, char **argv, struct create_args *a)
{
	memset(a, 0, sizeof(*a));
	a->expires_in_s = (int64_t)90 * 86400;
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int code = EXIT_OK;

		if (!known_create_option(argv[i]))
			return cmd_bad_arg("tokens create", argv[i], NULL);
		if (!v)
			return cmd_usage_error("tokens create: '%s' needs a value", argv[i]);
		if (strcmp(argv[i], "--name") == 0)
			a->name = v;
		else if (strcmp(argv[i], "--role") == 0)
			code = add_role(a, v);
		else if (strcmp(argv[i], "--created-by") == 0)
			a->created_by = v;
		else if (!parse_duration(v, &a->expires_in_s))
			return cmd_usage_error(
				"tokens create: --expires-in '%s': use e.g. 90d, 12h, "
				"30m or never",
				v);
		if (code != EXIT_OK)
			return code;
		i++;
	}
	if (!a->name || a->nroles == 0)
		return cmd_usage_error("tokens create: --name NAME and --role ROLE are required");
	return EXIT_OK;
}

static int tokens_create(struct service *s, const struct create_args *a)
{
	char token[AUTH_TOKEN_LEN + 1], hash[SHA256_HEX_LEN];
	struct err e = {0};
	char *id = NULL;

	if (auth_token_generate(token, &e) != ST_OK)
		return cmd_fail(&e);
	auth_token_hash(token, hash);
	if (service_token_create(
		    s,
		    &(struct token_spec){a->name, hash,
					 a->created_by ? a->created_by : getenv("USER"), a->roles,
					 a->nroles, a->expires_in_s},
		    &id, &e) != ST_OK) {
		memset(token, 0, sizeof(token));
		return cmd_fail(&e);
	}
	puts(token);
	fprintf(stderr, "cavra: token '%s' (%s) created; it is shown only this once\n", a->name,
		id);
	memset(token, 0, sizeof(token));
	free(id);
	return EXIT_OK;
}

static int parse_list(int argc, char **argv, bool *json)
{
	*json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--format") != 0)
			return cmd_bad_arg("tokens list", argv[i], NULL);
		if (i + 1 >= argc ||
		    (strcmp(argv[i + 1], "json") != 0 && strcmp(argv[i + 1], "text") != 0))
			return cmd_usage_error("tokens list: --format needs text or json");
		*json = strcmp(argv[++i], "json") == 0;
	}
	return EXIT_OK;
}

static int tokens_list(struct service *s, bool json)
{
	json_object *list = NULL;
	struct err e = {0};

	if (service_token_list(s, &list, &e) != ST_OK)
		return cmd_fail(&e);
	if (json)
		puts(json_object_to_json_string_ext(list, JSON_C_TO_STRING_PRETTY));
	for (size_t i = 0; !json && i < json_object_array_length(list); i++) {
		json_object *t = json_object_array_get_idx(list, i), *v = NULL;
		const char *revoked = NULL, *exp = NULL;

		if (json_object_object_get_ex(t, "revoked_at", &v))
			revoked = json_object_get_string(v);
		if (json_object_object_get_ex(t, "expires_at", &v))
			exp = json_object_get_string(v);
		json_object_object_get_ex(t, "roles", &v);
		printf("%-24s %-17s %-28s created %s  expires %s%s%s\n",
		       json_object_get_string(json_object_object_get(t, "name")),
		       json_object_get_string(json_object_object_get(t, "token_id")),
		       json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
		       json_object_get_string(json_object_object_get(t, "created_at")),
		       exp ? exp : "never", revoked ? "  REVOKED " : "", revoked ? revoked : "");
	}
	json_object_put(list);
	return EXIT_OK;
}

static int tokens_revoke(struct service *s, const char *name)
{
	struct err e = {0};
	int64_t n = 0;

	if (service_token_revoke(s, name, &n, &e) != ST_OK)
		return cmd_fail(&e);
	printf("revoked %lld token%s called '%s'\n", (long long)n, n == 1 ? "" : "s", name);
	return EXIT_OK;
}

/* Each action's arguments, all checked before the database is opened. */
struct tokens_args {
	struct create_args create;
	bool json;
	const char *name;
};

static int parse_tokens(int argc, char **argv, struct tokens_args *a)
{
	const char *action = argc >= 2 ? argv[1] : "";

	memset(a, 0, sizeof(*a));
	if (!*action)
		return cmd_usage_error("tokens: missing action (known: create, list, revoke)");
	if (strcmp(action, "create") == 0)
		return parse_create(argc - 1, argv + 1, &a->create);
	if (strcmp(action, "list") == 0)
		return parse_list(argc - 1, argv + 1, &a->json);
	if (strcmp(action, "revoke") != 0)
		return cmd_usage_error("tokens: unknown action '%s' (known: create, list, revoke)",
				       action);
	if (argc < 3)
		return cmd_usage_error("tokens revoke: give the token's NAME");
	if (argc > 3)
		return cmd_bad_arg("tokens revoke", argv[3], NULL);
	a->name = argv[2];
	return EXIT_OK;
}

int cmd_tokens(struct config *cfg, int argc, char **argv)
{
	struct migration_set set = {0};
	struct tokens_args a;
	struct store *st = NULL;
	struct err e = {0};
	struct service svc;
	int code = parse_tokens(argc, argv, &a);

	if (code != EXIT_OK)
		return code;
	if (cmd_open_database(cfg, "manage tokens", 1, &st, &set, &e) != ST_OK) {
		code = cmd_fail(&e);
		goto out;
	}
	svc = (struct service){.store = st};
	if (strcmp(argv[1], "create") == 0)
		code = tokens_create(&svc, &a.create);
	else if (strcmp(argv[1], "list") == 0)
		code = tokens_list(&svc, a.json);
	else
		code = tokens_revoke(&svc, a.name);
out:
	migration_set_release(&set);
	store_close(st);
	return code;
}

/* `cavra auth permissions [--markdown]`: the one permission -> roles table. */
int cmd_auth(struct config *cfg, int argc, char **argv)
{
	static const char *const switches[] = {"--markdown", NULL};
	struct buf out = BUF_INIT;
	struct err e = {0};
	bool md = argc >= 3 && strcmp(argv[2], "--markdown") == 0;

	UNUSED(cfg);
	if (argc < 2)
		return cmd_usage_error("auth: missing action (known: permissions)");
	if (strcmp(argv[1], "permissions") != 0)
		return cmd_usage_error("auth: unknown action '%s' (known: permissions)", argv[1]);
	if (argc > 2 && !md)
		return cmd_bad_arg("auth permissions", argv[2], switches);
	if (argc > 3)
		return cmd_bad_arg("auth permissions", argv[3], switches);
	if (auth_permissions_render(md ? AUTH_RENDER_MARKDOWN : AUTH_RENDER_TEXT, &out, &e) !=
	    ST_OK)
		return cmd_fail(&e);
	fputs(out.data, stdout);
	buf_release(&out);
	return EXIT_OK;
}
