/*
 * policy_load.c - reads policy.yaml files (through json/jx_yaml) into struct policy_pack and
 * assembles the set: the embedded baseline first, then every <dir>/<id>/policy.yaml.
 *
 * Parsing is strict: unknown keys, duplicate keys and wrong shapes are errors, because a typo
 * in a security policy ("block_reads") must not silently drop rules.  Every message starts
 * with "<file>:<line>: ".
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/files.h"
#include "base/xalloc.h"
#include "json/jx_yaml.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*
 * A pack id names its directory (<dir>/<id>/policy.yaml) and is written into every
 * decision it makes, so valid_id() allows only what is safe as one path component
 * and in a log line: lowercase, digits, '.', '_', '-', starting with a letter or a
 * digit (so never "." or "..").
 */
#define ID_MAX 64

/* Where each list lives in the file; indexed by enum policy_list. */
static const struct {
	enum policy_section section;
	const char *key;
	const char *name;
} lists[POLICY_LIST_COUNT] = {
	[POLICY_LIST_FS_BLOCK_READ] = {POLICY_SECTION_FILESYSTEM, "block_read",
				       "filesystem.block_read"},
	[POLICY_LIST_FS_BLOCK_WRITE] = {POLICY_SECTION_FILESYSTEM, "block_write",
					"filesystem.block_write"},
	[POLICY_LIST_FS_REQUIRE_APPROVAL_WRITE] = {POLICY_SECTION_FILESYSTEM,
						   "require_approval_write",
						   "filesystem.require_approval_write"},
	[POLICY_LIST_CMD_BLOCK] = {POLICY_SECTION_COMMANDS, "block", "commands.block"},
	[POLICY_LIST_CMD_ALLOW] = {POLICY_SECTION_COMMANDS, "allow", "commands.allow"},
	[POLICY_LIST_GIT_PROTECTED_BRANCHES] = {POLICY_SECTION_GIT, "protected_branches",
						"git.protected_branches"},
	[POLICY_LIST_MCP_BLOCKED_SERVERS] = {POLICY_SECTION_MCP, "blocked_servers",
					     "mcp.blocked_servers"},
	[POLICY_LIST_MCP_BLOCKED_TOOLS] = {POLICY_SECTION_MCP, "blocked_tools",
					   "mcp.blocked_tools"},
	[POLICY_LIST_MCP_REQUIRE_APPROVAL_TOOLS] = {POLICY_SECTION_MCP, "require_approval_tools",
						    "mcp.require_approval_tools"},
	[POLICY_LIST_MCP_REQUIRE_APPROVAL_CAPABILITIES] = {POLICY_SECTION_MCP,
							   "require_approval_capabilities",
							   "mcp.require_approval_capabilities"},
	[POLICY_LIST_CMD_REQUIRE_APPROVAL] = {POLICY_SECTION_COMMANDS, "require_approval",
					      "commands.require_approval"},
	[POLICY_LIST_GIT_BLOCK_PUSH_BRANCHES] = {POLICY_SECTION_GIT, "block_push_branches",
						 "git.block_push_branches"},
	[POLICY_LIST_MCP_ALLOWED_SERVERS] = {POLICY_SECTION_MCP, "allowed_servers",
					     "mcp.allowed_servers"},
};

/* Every section a file may hold besides metadata, in the order messages list them. */
static const char *const all_sections[] = {"filesystem", "commands",  "git",	  "mcp",
					   "input",	 "approvals", "evidence", "compliance"};

/* Keys that are not pattern lists, with their shape; slot indexes the flag or audit list. */
enum key_kind { K_FLAG, K_TEXT, K_AUDIT_LIST, K_RISK };

static const struct {
	const char *section;
	const char *key;
	enum key_kind kind;
	int slot;
} keys[] = {
	{"git", "block_direct_push_to_protected_branch", K_FLAG, POLICY_FLAG_GIT_BLOCK_DIRECT_PUSH},
	{"git", "require_pull_request", K_FLAG, POLICY_FLAG_GIT_REQUIRE_PULL_REQUEST},
	{"git", "require_human_reviewer", K_FLAG, POLICY_FLAG_GIT_REQUIRE_HUMAN_REVIEWER},
	{"git", "require_ai_attestation", K_FLAG, POLICY_FLAG_GIT_REQUIRE_AI_ATTESTATION},
	{"git", "require_pr_attestation", K_FLAG, POLICY_FLAG_GIT_REQUIRE_PR_ATTESTATION},
	{"mcp", "allowlist_enabled", K_FLAG, POLICY_FLAG_MCP_ALLOWLIST_ENABLED},
	{"mcp", "block_unknown_servers", K_FLAG, POLICY_FLAG_MCP_BLOCK_UNKNOWN_SERVERS},
	{"mcp", "risk_scoring", K_RISK, 0},
	{"input", "block_hidden_characters", K_FLAG, POLICY_FLAG_INPUT_BLOCK_HIDDEN},
	{"evidence", "require_agent_manifest", K_FLAG, POLICY_FLAG_EV_REQUIRE_AGENT_MANIFEST},
	{"evidence", "require_issue_link", K_FLAG, POLICY_FLAG_EV_REQUIRE_ISSUE_LINK},
	{"evidence", "require_bot_identity", K_FLAG, POLICY_FLAG_EV_REQUIRE_BOT_IDENTITY},
	{"evidence", "require_pr_attestation", K_FLAG, POLICY_FLAG_EV_REQUIRE_PR_ATTESTATION},
	{"evidence", "require_docs_update_for_user_facing_changes", K_FLAG,
	 POLICY_FLAG_EV_REQUIRE_DOCS_UPDATE},
	{"evidence", "require_branch_pattern", K_TEXT, 0},
	{"evidence", "required_fields", K_AUDIT_LIST, POLICY_AUDIT_REQUIRED_FIELDS},
	{"compliance", "maps_to", K_AUDIT_LIST, POLICY_AUDIT_MAPS_TO},
};

/* The key paths of the flags; policy_load_test checks them against the key table. */
static const char *const flag_names[POLICY_FLAG_COUNT] = {
	[POLICY_FLAG_GIT_BLOCK_DIRECT_PUSH] = "git.block_direct_push_to_protected_branch",
	[POLICY_FLAG_MCP_ALLOWLIST_ENABLED] = "mcp.allowlist_enabled",
	[POLICY_FLAG_MCP_BLOCK_UNKNOWN_SERVERS] = "mcp.block_unknown_servers",
	[POLICY_FLAG_INPUT_BLOCK_HIDDEN] = "input.block_hidden_characters",
	[POLICY_FLAG_GIT_REQUIRE_PULL_REQUEST] = "git.require_pull_request",
	[POLICY_FLAG_GIT_REQUIRE_HUMAN_REVIEWER] = "git.require_human_reviewer",
	[POLICY_FLAG_GIT_REQUIRE_AI_ATTESTATION] = "git.require_ai_attestation",
	[POLICY_FLAG_GIT_REQUIRE_PR_ATTESTATION] = "git.require_pr_attestation",
	[POLICY_FLAG_EV_REQUIRE_AGENT_MANIFEST] = "evidence.require_agent_manifest",
	[POLICY_FLAG_EV_REQUIRE_ISSUE_LINK] = "evidence.require_issue_link",
	[POLICY_FLAG_EV_REQUIRE_BOT_IDENTITY] = "evidence.require_bot_identity",
	[POLICY_FLAG_EV_REQUIRE_PR_ATTESTATION] = "evidence.require_pr_attestation",
	[POLICY_FLAG_EV_REQUIRE_DOCS_UPDATE] =
		"evidence.require_docs_update_for_user_facing_changes",
};

static const char *const mode_names[POLICY_MODE_COUNT] = {
	[POLICY_MODE_UNSET] = NULL,
	[POLICY_MODE_ENFORCE] = "enforce",
	[POLICY_MODE_AUDIT_ONLY] = "audit_only",
	[POLICY_MODE_STRICT] = "strict",
	[POLICY_MODE_BREAK_GLASS] = "break_glass",
};

const char *policy_flag_name(enum policy_flag f)
{
	return (unsigned)f < POLICY_FLAG_COUNT ? flag_names[f] : "unknown";
}

bool policy_flag_decides(enum policy_flag f)
{
	return f == POLICY_FLAG_GIT_BLOCK_DIRECT_PUSH || f == POLICY_FLAG_MCP_ALLOWLIST_ENABLED ||
	       f == POLICY_FLAG_MCP_BLOCK_UNKNOWN_SERVERS || f == POLICY_FLAG_INPUT_BLOCK_HIDDEN;
}

const char *policy_mode_name(enum policy_mode m)
{
	return (unsigned)m < POLICY_MODE_COUNT ? mode_names[m] : NULL;
}

static const char *const section_names[POLICY_SECTION_COUNT] = {
	[POLICY_SECTION_FILESYSTEM] = "filesystem",
	[POLICY_SECTION_COMMANDS] = "commands",
	[POLICY_SECTION_GIT] = "git",
	[POLICY_SECTION_MCP] = "mcp",
};

const char *policy_list_name(enum policy_list l)
{
	if ((unsigned)l >= POLICY_LIST_COUNT)
		return "unknown";
	return lists[l].name;
}

enum policy_section policy_list_section(enum policy_list l)
{
	if ((unsigned)l >= POLICY_LIST_COUNT)
		return POLICY_SECTION_COUNT;
	return lists[l].section;
}

const char *policy_section_name(enum policy_section s)
{
	if ((unsigned)s >= POLICY_SECTION_COUNT)
		return "unknown";
	return section_names[s];
}

/* ---- struct strlist ---- */

void policy_strlist_addn(struct strlist *l, const char *s, size_t len)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 8;
		l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
	}
	l->v[l->n++] = xstrndup(s, len);
}

bool policy_strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

void policy_strlist_add_unique(struct strlist *l, const char *s)
{
	if (!policy_strlist_has(l, s))
		policy_strlist_addn(l, s, strlen(s));
}

void policy_strlist_release(struct strlist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

size_t policy_listmap_find(const struct listmap *m, const char *key)
{
	size_t i;

	for (i = 0; i < m->keys.n; i++)
		if (strcmp(m->keys.v[i], key) == 0)
			break;
	return i;
}

void policy_listmap_set(struct listmap *m, const char *key, const struct strlist *val)
{
	size_t i = policy_listmap_find(m, key);

	if (i == m->keys.n) {
		policy_strlist_addn(&m->keys, key, strlen(key));
		m->vals = xrealloc(m->vals, m->keys.n * sizeof(*m->vals));
		memset(&m->vals[i], 0, sizeof(*m->vals));
	}
	policy_strlist_release(&m->vals[i]);
	for (size_t k = 0; k < val->n; k++)
		policy_strlist_add_unique(&m->vals[i], val->v[k]);
}

void policy_listmap_release(struct listmap *m)
{
	for (size_t i = 0; i < m->keys.n; i++)
		policy_strlist_release(&m->vals[i]);
	free(m->vals);
	m->vals = NULL;
	policy_strlist_release(&m->keys);
}

void policy_pack_free(struct policy_pack *pack)
{
	if (!pack)
		return;
	free(pack->id);
	free(pack->title);
	free(pack->description);
	free(pack->version);
	free(pack->source);
	policy_strlist_release(&pack->inherits);
	for (size_t i = 0; i < POLICY_LIST_COUNT; i++) {
		policy_strlist_release(&pack->own[i]);
		policy_strlist_release(&pack->lists[i]);
	}
	for (size_t i = 0; i < POLICY_AUDIT_COUNT; i++) {
		policy_strlist_release(&pack->own_audit[i]);
		policy_strlist_release(&pack->audit[i]);
	}
	free(pack->own_branch_pattern);
	policy_listmap_release(&pack->own_risk);
	policy_listmap_release(&pack->risk);
	free(pack->risk_levels);
	policy_listmap_release(&pack->own_approvals);
	policy_listmap_release(&pack->approvals);
	free(pack);
}

/* ---- the document, as jx_yaml reads it ---- */

/*
 * One file being parsed: everything a message needs.  The tree is jx_yaml's JX_YAML_TEXT
 * form: scalars as written, with their quoting and lines.
 */
struct parse {
	const char *file;
	struct err *e;
	struct policy_pack *pack; /* being filled */
	const char *sec; /* the section being read */
	const char *cls; /* the approval class being read, and its approvers */
	struct strlist *groups;
	bool have_meta;
};

/* One key of a mapping and its value; each_pair calls it for every key, in file order. */
typedef enum status (*pair_fn)(struct parse *ps, const char *key, json_object *val);

static size_t line_of(json_object *node)
{
	return jx_yaml_line(node);
}

/* The line of the key whose value node is: messages about a key point at it. */
static size_t key_line_of(json_object *node)
{
	struct jx_yaml_pos pos;

	jx_yaml_pos(node, &pos);
	return pos.key_line;
}

/* Fails with "<file>:<line>: <message>". */
static enum status perr(struct parse *ps, size_t line, const char *fmt, ...) ATTR_PRINTF(3, 4);

static enum status perr(struct parse *ps, size_t line, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	err_set(ps->e, ST_INVALID, "%s:%zu: %s", ps->file, line, what);
	return ST_INVALID;
}

static const char *scalar(json_object *node)
{
	return json_object_get_string(node);
}

/*
 * The tree keeps every scalar as written with its quoting (JX_YAML_TEXT), so the
 * typing is decided here, key by key: in a pattern list an unquoted yes, on or 1.0
 * stays the text it is (no YAML 1.1 surprises), and only where a flag is expected
 * is a plain true or false a boolean.
 */
static bool is_plain(json_object *node)
{
	struct jx_yaml_pos pos;

	jx_yaml_pos(node, &pos);
	return json_object_get_type(node) == json_type_string && pos.plain;
}

/* An empty plain value ("key:" with nothing after it), "~" or "null": YAML's null. */
static bool is_null(json_object *node)
{
	const char *s;

	if (!is_plain(node))
		return false;
	s = scalar(node);
	return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0;
}

/*
 * A scalar that holds no NUL byte, so that it is safe as a C string.
 *
 * A quoted "\0" would cut the C string short, and the pattern used would not be
 * the pattern written.
 */
static bool is_string(json_object *node)
{
	return json_object_get_type(node) == json_type_string &&
	       strlen(scalar(node)) == (size_t)json_object_get_string_len(node);
}

/*
 * Checks that map is a mapping; jx_yaml has checked that its keys are unique strings.  what
 * names it in messages ("top level", "metadata").
 */
static enum status check_mapping(struct parse *ps, json_object *map, const char *what)
{
	if (json_object_get_type(map) != json_type_object)
		return perr(ps, line_of(map), "%s must be a mapping", what);
	return ST_OK;
}

/* Checks that map is a mapping (named what), then calls fn for each key until one fails. */
static enum status each_pair(struct parse *ps, json_object *map, const char *what, pair_fn fn)
{
	enum status st = check_mapping(ps, map, what);

	for (struct lh_entry *p = st == ST_OK ? json_object_get_object(map)->head : NULL;
	     st == ST_OK && p; p = p->next)
		st = fn(ps, lh_entry_k(p), (json_object *)lh_entry_v(p));
	return st;
}

/*
 * Reads a list of non-empty strings (or null, meaning empty) into out.
 *
 * A pattern listed twice is kept once, so merging and the evaluator never see
 * duplicates.  An empty pattern is refused: it can only be a mistake, and it
 * would match nothing that its author meant.
 */
static enum status parse_strings(struct parse *ps, json_object *node, const char *name,
				 struct strlist *out)
{
	if (is_null(node))
		return ST_OK;
	if (json_object_get_type(node) != json_type_array)
		return perr(ps, line_of(node), "%s must be a list of strings", name);
	for (size_t i = 0; i < json_object_array_length(node); i++) {
		json_object *item = json_object_array_get_idx(node, i);

		if (!is_string(item))
			return perr(ps, line_of(item), "%s must be a list of strings", name);
		if (!*scalar(item))
			return perr(ps, line_of(item), "%s: empty pattern", name);
		policy_strlist_add_unique(out, scalar(item));
	}
	return ST_OK;
}

static bool valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ID_MAX || !strchr("abcdefghijklmnopqrstuvwxyz0123456789", s[0]))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static enum status parse_text(struct parse *ps, json_object *node, const char *name, char **out)
{
	if (!is_string(node) || !*scalar(node))
		return perr(ps, line_of(node), "%s must be a non-empty string", name);
	free(*out);
	*out = xstrdup(scalar(node));
	return ST_OK;
}

static enum status parse_inherits(struct parse *ps, json_object *node, struct policy_pack *pack)
{
	enum status st;

	pack->inherits_line = line_of(node);
	if (is_string(node) && !is_null(node)) {
		policy_strlist_add_unique(&pack->inherits, scalar(node));
	} else {
		st = parse_strings(ps, node, "metadata.inherits", &pack->inherits);
		if (st != ST_OK)
			return st;
	}
	for (size_t i = 0; i < pack->inherits.n; i++)
		if (!valid_id(pack->inherits.v[i]))
			return perr(ps, line_of(node),
				    "metadata.inherits: '%s' is not a valid pack id",
				    pack->inherits.v[i]);
	return ST_OK;
}

static enum status parse_mode(struct parse *ps, json_object *node, struct policy_pack *pack)
{
	for (int m = POLICY_MODE_ENFORCE; is_string(node) && m < POLICY_MODE_COUNT; m++) {
		if (strcmp(scalar(node), mode_names[m]) == 0) {
			pack->mode = (enum policy_mode)m;
			return ST_OK;
		}
	}
	return perr(ps, line_of(node), "metadata.mode must be one of %s", POLICY_MODE_VALUES);
}

static enum status metadata_pair(struct parse *ps, const char *key, json_object *val)
{
	struct policy_pack *pack = ps->pack;

	if (strcmp(key, "id") == 0)
		return parse_text(ps, val, "metadata.id", &pack->id);
	if (strcmp(key, "title") == 0)
		return parse_text(ps, val, "metadata.title", &pack->title);
	if (strcmp(key, "description") == 0)
		return parse_text(ps, val, "metadata.description", &pack->description);
	if (strcmp(key, "version") == 0)
		return parse_text(ps, val, "metadata.version", &pack->version);
	if (strcmp(key, "inherits") == 0)
		return parse_inherits(ps, val, pack);
	if (strcmp(key, "mode") == 0)
		return parse_mode(ps, val, pack);
	return perr(ps, key_line_of(val),
		    "unknown key 'metadata.%.64s' (known: id, title, description, version, "
		    "inherits, mode)",
		    key);
}

static enum status parse_metadata(struct parse *ps, json_object *map, struct policy_pack *pack)
{
	enum status st = each_pair(ps, map, "metadata", metadata_pair);

	if (st != ST_OK)
		return st;
	if (!pack->id)
		return perr(ps, line_of(map), "metadata.id is required");
	if (!valid_id(pack->id))
		return perr(ps, line_of(map), "metadata.id '%s' is not a valid pack id (%s)",
			    pack->id, "lowercase letters, digits, '.', '_', '-', at most 64");
	if (!pack->version)
		return perr(ps, line_of(map), "metadata.version is required");
	return ST_OK;
}

/* Appends ", key" (or "key" first) to out while it fits; a longer list is cut. */
static void add_key(char *out, size_t size, size_t *used, const char *key)
{
	int n;

	if (*used >= size)
		return;
	n = snprintf(out + *used, size - *used, "%s%s", *used ? ", " : "", key);
	*used = n < 0 ? size : *used + (size_t)n;
}

/* "a, b, c": the keys a section knows, for "unknown key" messages. */
static void known_keys(const char *sec, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t l = 0; l < POLICY_LIST_COUNT; l++)
		if (strcmp(section_names[lists[l].section], sec) == 0)
			add_key(out, size, &used, lists[l].key);
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
		if (strcmp(keys[k].section, sec) == 0)
			add_key(out, size, &used, keys[k].key);
}

static enum status unknown_key(struct parse *ps, const char *key, json_object *val, const char *sec)
{
	char known[320];

	known_keys(sec, known, sizeof(known));
	return perr(ps, key_line_of(val), "unknown key '%s.%.64s' (known: %s)", sec, key, known);
}

/*
 * YAML's plain true/false (null leaves the flag unset); anything else is an error.
 *
 * Only plain true and false (in the three spellings YAML 1.2's core schema has)
 * are booleans: yes, on, 1 and a quoted "true" are refused rather than guessed,
 * since a flag that silently reads the wrong way changes what the policy blocks.
 * null leaves the flag unset, so an inherited value still applies.
 */
static enum status parse_flag(struct parse *ps, json_object *node, const char *name,
			      enum policy_flag_value *out)
{
	static const char *const yes[] = {"true", "True", "TRUE"};
	static const char *const no[] = {"false", "False", "FALSE"};
	bool plain = is_plain(node);

	if (is_null(node))
		return ST_OK;
	for (size_t i = 0; plain && i < ARRAY_SIZE(yes); i++) {
		if (strcmp(scalar(node), yes[i]) == 0) {
			*out = POLICY_FLAG_TRUE;
			return ST_OK;
		}
		if (strcmp(scalar(node), no[i]) == 0) {
			*out = POLICY_FLAG_FALSE;
			return ST_OK;
		}
	}
	return perr(ps, line_of(node), "%s must be true or false", name);
}

static enum status risk_pair(struct parse *ps, const char *k, json_object *v)
{
	enum policy_severity sev;
	struct strlist level = {0};

	if (!*k)
		return perr(ps, key_line_of(v), "mcp.risk_scoring: empty server pattern");
	if (!is_string(v) || !policy_severity_parse(scalar(v), &sev))
		return perr(ps, line_of(v), "mcp.risk_scoring.%.64s must be one of %s", k,
			    POLICY_SEVERITY_VALUES);
	policy_strlist_addn(&level, scalar(v), strlen(scalar(v)));
	policy_listmap_set(&ps->pack->own_risk, k, &level);
	policy_strlist_release(&level);
	return ST_OK;
}

/* mcp.risk_scoring: server pattern -> low | medium | high | critical. */
static enum status parse_risk(struct parse *ps, json_object *map)
{
	return is_null(map) ? ST_OK : each_pair(ps, map, "mcp.risk_scoring", risk_pair);
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* Approver group names end up in approval records: printable, at most 128 bytes. */
static enum status check_groups(struct parse *ps, json_object *node, const char *name,
				const struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i]) > 128 || !printable(l->v[i]))
			return perr(ps, line_of(node), "%s: '%.64s' is not a group name (%s)", name,
				    l->v[i], "printable, at most 128 bytes");
	return ST_OK;
}

static enum status approver_pair(struct parse *ps, const char *k, json_object *v)
{
	enum status st;

	if (strcmp(k, "approvers") != 0)
		return perr(ps, key_line_of(v), "unknown key '%s.%.64s' (known: approvers)",
			    ps->cls, k);
	policy_strlist_release(ps->groups);
	st = parse_strings(ps, v, "approvers", ps->groups);
	if (st == ST_OK)
		st = check_groups(ps, v, ps->cls, ps->groups);
	return st;
}

/* approvals.<class>: {approvers: [group, ...]}. */
static enum status parse_approval_class(struct parse *ps, const char *cls, json_object *map)
{
	struct strlist groups = {0};
	char name[128];
	enum status st;

	snprintf(name, sizeof(name), "approvals.%.64s", cls);
	if (is_null(map))
		return ST_OK;
	ps->cls = name;
	ps->groups = &groups;
	st = each_pair(ps, map, name, approver_pair);
	if (st == ST_OK)
		policy_listmap_set(&ps->pack->own_approvals, cls, &groups);
	policy_strlist_release(&groups);
	ps->groups = NULL;
	return st;
}

static enum status approvals_pair(struct parse *ps, const char *k, json_object *v)
{
	if (!valid_id(k))
		return perr(ps, key_line_of(v), "approvals: '%.64s' is not a valid class name (%s)",
			    k, "lowercase letters, digits, '.', '_', '-'");
	return parse_approval_class(ps, k, v);
}

/* A key of the keys table: a flag, evidence.require_branch_pattern, an audit list, a map. */
static enum status parse_other(struct parse *ps, size_t k, json_object *val,
			       struct policy_pack *pack)
{
	char name[96];

	snprintf(name, sizeof(name), "%s.%s", keys[k].section, keys[k].key);
	switch (keys[k].kind) {
	case K_FLAG:
		return parse_flag(ps, val, name, &pack->own_flags[keys[k].slot]);
	case K_TEXT:
		return is_null(val) ? ST_OK : parse_text(ps, val, name, &pack->own_branch_pattern);
	case K_AUDIT_LIST:
		return parse_strings(ps, val, name, &pack->own_audit[keys[k].slot]);
	case K_RISK:
		return parse_risk(ps, val);
	}
	return perr(ps, line_of(val), "%s: unhandled key kind", name);
}

/* One key of a section other than metadata and approvals: one the section knows. */
static enum status section_pair(struct parse *ps, const char *key, json_object *val)
{
	size_t l, k;

	for (l = 0; l < POLICY_LIST_COUNT; l++)
		if (strcmp(section_names[lists[l].section], ps->sec) == 0 &&
		    strcmp(lists[l].key, key) == 0)
			return parse_strings(ps, val, lists[l].name, &ps->pack->own[l]);
	for (k = 0; k < ARRAY_SIZE(keys); k++)
		if (strcmp(keys[k].section, ps->sec) == 0 && strcmp(keys[k].key, key) == 0)
			return parse_other(ps, k, val, ps->pack);
	return unknown_key(ps, key, val, ps->sec);
}

/* One top-level key: metadata, approvals or a section. */
static enum status root_pair(struct parse *ps, const char *key, json_object *val)
{
	size_t s;

	if (strcmp(key, "metadata") == 0) {
		ps->have_meta = true;
		return parse_metadata(ps, val, ps->pack);
	}
	if (strcmp(key, "approvals") == 0)
		return is_null(val) ? ST_OK : each_pair(ps, val, "approvals", approvals_pair);
	for (s = 0; s < ARRAY_SIZE(all_sections); s++) {
		if (strcmp(all_sections[s], key) == 0) {
			ps->sec = all_sections[s];
			return is_null(val) ? ST_OK : each_pair(ps, val, ps->sec, section_pair);
		}
	}
	return perr(ps, key_line_of(val), "unknown key '%.64s' (known: metadata, %s)", key,
		    "filesystem, commands, git, mcp, approvals, evidence, compliance");
}

static enum status parse_root(struct parse *ps, json_object *map)
{
	enum status st = each_pair(ps, map, "top level", root_pair);

	if (st == ST_OK && !ps->have_meta)
		st = perr(ps, line_of(map), "metadata is required");
	return st;
}

/*
 * Duplicate keys are refused by the reader (JX_YAML_UNIQUE_KEYS): YAML would let
 * the later one silently replace the earlier, which in a security policy hides
 * rules.  title and description default to "" so that every listing can print
 * them without a NULL check.
 */
enum status policy_pack_parse(const char *file, const unsigned char *data, size_t len,
			      struct policy_pack **out, struct err *e)
{
	struct policy_pack *pack = xcalloc(1, sizeof(*pack));
	struct parse ps = {.file = file, .e = e, .pack = pack};
	json_object *root = NULL;
	enum status st;

	*out = NULL;
	st = jx_yaml_parse_ex((const char *)data, len, file, JX_YAML_TEXT | JX_YAML_UNIQUE_KEYS,
			      &root, e);
	if (st == ST_OK && !root)
		st = perr(&ps, 1, "file is empty");
	if (st == ST_OK)
		st = parse_root(&ps, root);
	json_object_put(root);
	if (st != ST_OK) {
		policy_pack_free(pack);
		return st;
	}
	pack->source = xstrdup(file);
	if (!pack->title)
		pack->title = xstrdup("");
	if (!pack->description)
		pack->description = xstrdup("");
	*out = pack;
	return ST_OK;
}

/* ---- the set ---- */

/*
 * A pack on disk with the id of an embedded one replaces it, so an operator can
 * adjust the baseline without rebuilding the binary.
 */
static void set_add(struct policy_set *set, struct policy_pack *pack)
{
	for (size_t i = 0; i < set->n; i++) {
		if (strcmp(set->packs[i]->id, pack->id) == 0) {
			policy_pack_free(set->packs[i]); /* disk replaces embedded */
			set->packs[i] = pack;
			return;
		}
	}
	if (set->n == set->alloc) {
		set->alloc = set->alloc ? 2 * set->alloc : 8;
		set->packs = xrealloc(set->packs, set->alloc * sizeof(struct policy_pack *));
	}
	set->packs[set->n++] = pack;
}

/*
 * The embedded baseline goes through the same strict parser as a file on disk: a
 * pack that ships in the binary gets no shortcut, and a broken one fails the start
 * (and the tests) instead of deciding with half its rules.
 */
static enum status load_embedded(struct policy_set *set, struct err *e)
{
	for (size_t i = 0; i < policy_embedded_count; i++) {
		const struct embedded_file *f = &policy_embedded[i];
		char *file = xasprintf("embedded:%s/%s", POLICY_DEFAULT_PACK, f->name);
		struct policy_pack *pack;
		enum status st = policy_pack_parse(file, f->data, f->len, &pack, e);

		free(file);
		if (st != ST_OK)
			return st;
		set_add(set, pack);
	}
	return ST_OK;
}

/*
 * Loads <dir>/<id>/policy.yaml when it exists; a missing file is not an error.
 *
 * The id inside must match the directory name: packs inherit each other by id,
 * and the file an operator edits must be the pack that the id names.  Entries
 * without a policy.yaml (a README, a scratch directory) are skipped.
 */
static enum status load_one(struct policy_set *set, const char *dir, const char *id, struct err *e)
{
	char *file = xasprintf("%s/%s/policy.yaml", dir, id);
	struct buf b = BUF_INIT;
	struct policy_pack *pack = NULL;
	struct stat sb;
	enum status st = ST_OK;

	if (stat(file, &sb) != 0 || !S_ISREG(sb.st_mode))
		goto out;
	st = file_read(file, POLICY_FILE_MAX, &b, e);
	if (st != ST_OK)
		goto out;
	st = policy_pack_parse(file, (const unsigned char *)b.data, b.len, &pack, e);
	if (st != ST_OK)
		goto out;
	if (strcmp(pack->id, id) != 0) {
		err_set(e, ST_INVALID, "%s: metadata.id '%s' does not match directory '%s'", file,
			pack->id, id);
		st = ST_INVALID;
		goto out;
	}
	set_add(set, pack);
	pack = NULL;
out:
	policy_pack_free(pack);
	buf_release(&b);
	free(file);
	return st;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum status load_dir(struct policy_set *set, const char *dir, struct err *e)
{
	struct strlist names = {0};
	struct dirent *de;
	enum status st = ST_OK;
	DIR *d = opendir(dir);

	if (!d)
		return err_set(e, ST_IO, "open policy dir '%s': %s", dir, BASE_ERRSTR(errno));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			policy_strlist_addn(&names, de->d_name, strlen(de->d_name));
	closedir(d);
	/* Sorted, so that the first error reported does not depend on readdir order. */
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), cmp_str);
	for (size_t i = 0; i < names.n && st == ST_OK; i++)
		st = load_one(set, dir, names.v[i], e);
	policy_strlist_release(&names);
	return st;
}

static int cmp_pack(const void *a, const void *b)
{
	const struct policy_pack *pa = *(struct policy_pack *const *)a;
	const struct policy_pack *pb = *(struct policy_pack *const *)b;

	return strcmp(pa->id, pb->id);
}

/*
 * Packs are sorted by id, so listings and merge order do not depend on the
 * directory's order; merging runs once every pack is loaded, because a pack may
 * inherit from any other, embedded or on disk.
 */
enum status policy_set_load(const char *dir, struct policy_set **out, struct err *e)
{
	struct policy_set *set = xcalloc(1, sizeof(*set));
	enum status st;

	*out = NULL;
	st = load_embedded(set, e);
	if (st == ST_OK && dir)
		st = load_dir(set, dir, e);
	if (st == ST_OK && set->n)
		qsort(set->packs, set->n, sizeof(struct policy_pack *), cmp_pack);
	if (st == ST_OK)
		st = policy_set_merge(set, e);
	if (st != ST_OK) {
		policy_set_free(set);
		return st;
	}
	*out = set;
	return ST_OK;
}

void policy_set_free(struct policy_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		policy_pack_free(set->packs[i]);
	free(set->packs);
	free(set);
}

enum status policy_set_find(const struct policy_set *set, const char *id,
			    const struct policy_pack **out, struct err *e)
{
	if (id) {
		for (size_t i = 0; i < set->n; i++) {
			if (strcmp(set->packs[i]->id, id) == 0) {
				*out = set->packs[i];
				return ST_OK;
			}
		}
	}
	return err_set(e, ST_NOT_FOUND, "policy pack '%.128s' not found", id ? id : "");
}

size_t policy_set_count(const struct policy_set *set)
{
	return set->n;
}

const struct policy_pack *policy_set_at(const struct policy_set *set, size_t i)
{
	return i < set->n ? set->packs[i] : NULL;
}

void policy_pack_info(const struct policy_pack *pack, struct policy_pack_info *out)
{
	memset(out, 0, sizeof(*out));
	out->id = pack->id;
	out->title = pack->title;
	out->description = pack->description;
	out->version = pack->version;
	out->source = pack->source;
	out->inherits = (const char *const *)pack->inherits.v;
	out->inherits_len = pack->inherits.n;
	out->sha256 = pack->sha256;
	for (size_t l = 0; l < POLICY_LIST_COUNT; l++) {
		out->list_counts[l] = pack->lists[l].n;
		out->section_counts[lists[l].section] += pack->lists[l].n;
		out->rule_count += pack->lists[l].n;
	}
}

void policy_pack_list(const struct policy_pack *pack, enum policy_list l, const char *const **items,
		      size_t *n)
{
	if ((unsigned)l >= POLICY_LIST_COUNT) {
		*items = NULL;
		*n = 0;
		return;
	}
	*items = (const char *const *)pack->lists[l].v;
	*n = pack->lists[l].n;
}

void policy_pack_settings(const struct policy_pack *pack, struct policy_pack_settings *out)
{
	memset(out, 0, sizeof(*out));
	out->mode = pack->mode;
	memcpy(out->flags, pack->flags, sizeof(out->flags));
	out->branch_pattern = pack->branch_pattern;
	out->required_fields = (const char *const *)pack->audit[POLICY_AUDIT_REQUIRED_FIELDS].v;
	out->required_fields_len = pack->audit[POLICY_AUDIT_REQUIRED_FIELDS].n;
	out->maps_to = (const char *const *)pack->audit[POLICY_AUDIT_MAPS_TO].v;
	out->maps_to_len = pack->audit[POLICY_AUDIT_MAPS_TO].n;
	out->risk_servers = (const char *const *)pack->risk.keys.v;
	out->risk_levels = pack->risk_levels;
	out->risk_len = pack->risk.keys.n;
	out->approval_classes_len = pack->approvals.keys.n;
}

bool policy_pack_approvals(const struct policy_pack *pack, size_t i, const char **cls,
			   const char *const **approvers, size_t *n)
{
	if (i >= pack->approvals.keys.n)
		return false;
	*cls = pack->approvals.keys.v[i];
	*approvers = (const char *const *)pack->approvals.vals[i].v;
	*n = pack->approvals.vals[i].n;
	return true;
}
