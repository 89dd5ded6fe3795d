/*
 * policy_load.c - reads policy.yaml files (libyaml document API) into struct policy_pack and
 * assembles the set: the embedded baseline first, then every <dir>/<id>/policy.yaml.
 *
 * Parsing is strict: unknown keys, duplicate keys and wrong shapes are errors, because a typo
 * in a security policy ("block_reads") must not silently drop rules.  Every message starts
 * with "<file>:<line>: ".
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/util.h"
#include "base/xalloc.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

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
};

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

void strlist_addn(struct strlist *l, const char *s, size_t len)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 8;
		l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
	}
	l->v[l->n++] = xstrndup(s, len);
}

bool strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

void strlist_add_unique(struct strlist *l, const char *s)
{
	if (!strlist_has(l, s))
		strlist_addn(l, s, strlen(s));
}

void strlist_release(struct strlist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
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
	strlist_release(&pack->inherits);
	for (size_t i = 0; i < POLICY_LIST_COUNT; i++) {
		strlist_release(&pack->own[i]);
		strlist_release(&pack->lists[i]);
	}
	free(pack);
}

/* ---- YAML walking ---- */

/* One file being parsed: everything a message needs. */
struct parse {
	const char *file;
	yaml_document_t *doc;
	struct err *e;
};

static size_t line_of(const yaml_node_t *node)
{
	return node->start_mark.line + 1;
}

/* Fails with "<file>:<line>: <message>" for node. */
static enum status perr(struct parse *ps, const yaml_node_t *node, const char *fmt, ...)
	ATTR_PRINTF(3, 4);

static enum status perr(struct parse *ps, const yaml_node_t *node, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	err_set(ps->e, ST_INVALID, "%s:%zu: %s", ps->file, line_of(node), what);
	return ST_INVALID;
}

static const char *scalar(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

/* An empty plain value ("key:" with nothing after it), "~" or "null": YAML's null. */
static bool is_null(const yaml_node_t *node)
{
	const char *s;

	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = scalar(node);
	return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0;
}

/* A scalar that holds no NUL byte, so that it is safe as a C string. */
static bool is_string(const yaml_node_t *node)
{
	return node->type == YAML_SCALAR_NODE && strlen(scalar(node)) == node->data.scalar.length;
}

static yaml_node_t *node_at(struct parse *ps, int index)
{
	return yaml_document_get_node(ps->doc, index);
}

/*
 * Checks that map is a mapping whose keys are unique strings.  what names it in messages
 * ("top level", "metadata").
 */
static enum status check_mapping(struct parse *ps, yaml_node_t *map, const char *what)
{
	yaml_node_pair_t *p, *q;

	if (map->type != YAML_MAPPING_NODE)
		return perr(ps, map, "%s must be a mapping", what);
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_at(ps, p->key);

		if (!is_string(k))
			return perr(ps, k, "%s keys must be strings", what);
		for (q = map->data.mapping.pairs.start; q < p; q++)
			if (strcmp(scalar(node_at(ps, q->key)), scalar(k)) == 0)
				return perr(ps, k, "duplicate key '%s' in %s", scalar(k), what);
	}
	return ST_OK;
}

/* Reads a list of non-empty strings (or null, meaning empty) into out. */
static enum status parse_strings(struct parse *ps, yaml_node_t *node, const char *name,
				 struct strlist *out)
{
	yaml_node_item_t *it;

	if (is_null(node))
		return ST_OK;
	if (node->type != YAML_SEQUENCE_NODE)
		return perr(ps, node, "%s must be a list of strings", name);
	for (it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
		yaml_node_t *item = node_at(ps, *it);

		if (!is_string(item))
			return perr(ps, item, "%s must be a list of strings", name);
		if (!*scalar(item))
			return perr(ps, item, "%s: empty pattern", name);
		strlist_add_unique(out, scalar(item));
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

static enum status parse_text(struct parse *ps, yaml_node_t *node, const char *name, char **out)
{
	if (!is_string(node) || !*scalar(node))
		return perr(ps, node, "%s must be a non-empty string", name);
	free(*out);
	*out = xstrdup(scalar(node));
	return ST_OK;
}

static enum status parse_inherits(struct parse *ps, yaml_node_t *node, struct policy_pack *pack)
{
	enum status st;

	pack->inherits_line = line_of(node);
	if (is_string(node) && !is_null(node)) {
		strlist_add_unique(&pack->inherits, scalar(node));
	} else {
		st = parse_strings(ps, node, "metadata.inherits", &pack->inherits);
		if (st != ST_OK)
			return st;
	}
	for (size_t i = 0; i < pack->inherits.n; i++)
		if (!valid_id(pack->inherits.v[i]))
			return perr(ps, node, "metadata.inherits: '%s' is not a valid pack id",
				    pack->inherits.v[i]);
	return ST_OK;
}

static enum status parse_metadata(struct parse *ps, yaml_node_t *map, struct policy_pack *pack)
{
	yaml_node_pair_t *p;
	enum status st;

	st = check_mapping(ps, map, "metadata");
	for (p = map->data.mapping.pairs.start; st == ST_OK && p < map->data.mapping.pairs.top;
	     p++) {
		const char *key = scalar(node_at(ps, p->key));
		yaml_node_t *val = node_at(ps, p->value);

		if (strcmp(key, "id") == 0)
			st = parse_text(ps, val, "metadata.id", &pack->id);
		else if (strcmp(key, "title") == 0)
			st = parse_text(ps, val, "metadata.title", &pack->title);
		else if (strcmp(key, "description") == 0)
			st = parse_text(ps, val, "metadata.description", &pack->description);
		else if (strcmp(key, "version") == 0)
			st = parse_text(ps, val, "metadata.version", &pack->version);
		else if (strcmp(key, "inherits") == 0)
			st = parse_inherits(ps, val, pack);
		else
			st = perr(ps, node_at(ps, p->key), "unknown key 'metadata.%s'", key);
	}
	if (st != ST_OK)
		return st;
	if (!pack->id)
		return perr(ps, map, "metadata.id is required");
	if (!valid_id(pack->id))
		return perr(ps, map, "metadata.id '%s' is not a valid pack id (%s)", pack->id,
			    "lowercase letters, digits, '.', '_', '-', at most 64");
	if (!pack->version)
		return perr(ps, map, "metadata.version is required");
	return ST_OK;
}

/* One of filesystem / commands / git / mcp: every key must name a list of that section. */
static enum status parse_section(struct parse *ps, yaml_node_t *map, enum policy_section sec,
				 struct policy_pack *pack)
{
	yaml_node_pair_t *p;
	enum status st;

	if (is_null(map))
		return ST_OK;
	st = check_mapping(ps, map, section_names[sec]);
	for (p = map->data.mapping.pairs.start; st == ST_OK && p < map->data.mapping.pairs.top;
	     p++) {
		const char *key = scalar(node_at(ps, p->key));
		size_t l;

		for (l = 0; l < POLICY_LIST_COUNT; l++)
			if (lists[l].section == sec && strcmp(lists[l].key, key) == 0)
				break;
		if (l == POLICY_LIST_COUNT)
			return perr(ps, node_at(ps, p->key), "unknown key '%s.%s'",
				    section_names[sec], key);
		st = parse_strings(ps, node_at(ps, p->value), lists[l].name, &pack->own[l]);
	}
	return st;
}

static enum status parse_root(struct parse *ps, yaml_node_t *root, struct policy_pack *pack)
{
	yaml_node_t *meta = NULL;
	yaml_node_pair_t *p;
	enum status st;

	st = check_mapping(ps, root, "top level");
	for (p = root->data.mapping.pairs.start; st == ST_OK && p < root->data.mapping.pairs.top;
	     p++) {
		const char *key = scalar(node_at(ps, p->key));
		yaml_node_t *val = node_at(ps, p->value);
		size_t s;

		if (strcmp(key, "metadata") == 0) {
			meta = val;
			st = parse_metadata(ps, val, pack);
			continue;
		}
		for (s = 0; s < POLICY_SECTION_COUNT; s++)
			if (strcmp(section_names[s], key) == 0)
				break;
		if (s == POLICY_SECTION_COUNT)
			return perr(ps, node_at(ps, p->key),
				    "unknown key '%s' (expected metadata, %s)", key,
				    "filesystem, commands, git, mcp");
		st = parse_section(ps, val, (enum policy_section)s, pack);
	}
	if (st == ST_OK && !meta)
		st = perr(ps, root, "metadata is required");
	return st;
}

static enum status yaml_error(const char *file, const yaml_parser_t *parser, struct err *e)
{
	const char *problem = parser->problem ? parser->problem : "cannot parse";

	if (parser->context)
		err_set(e, ST_INVALID, "%s:%zu: invalid yaml: %s %s", file,
			parser->problem_mark.line + 1, problem, parser->context);
	else
		err_set(e, ST_INVALID, "%s:%zu: invalid yaml: %s", file,
			parser->problem_mark.line + 1, problem);
	return ST_INVALID;
}

enum status policy_pack_parse(const char *file, const unsigned char *data, size_t len,
			      struct policy_pack **out, struct err *e)
{
	struct policy_pack *pack = xcalloc(1, sizeof(*pack));
	yaml_parser_t parser;
	yaml_document_t doc;
	bool have_doc = false;
	struct parse ps = {file, &doc, e};
	yaml_node_t *root;
	enum status st;

	*out = NULL;
	if (!yaml_parser_initialize(&parser)) {
		free(pack);
		err_set(e, ST_INTERNAL, "%s: yaml parser: out of memory", file);
		return ST_INTERNAL;
	}
	yaml_parser_set_input_string(&parser, data, len);
	if (!yaml_parser_load(&parser, &doc)) {
		st = yaml_error(file, &parser, e);
		goto out;
	}
	have_doc = true;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		err_set(e, ST_INVALID, "%s:1: file is empty", file);
		st = ST_INVALID;
		goto out;
	}
	st = parse_root(&ps, root, pack);
	if (st != ST_OK)
		goto out;
	pack->source = xstrdup(file);
	if (!pack->title)
		pack->title = xstrdup("");
	if (!pack->description)
		pack->description = xstrdup("");
	*out = pack;
	pack = NULL;
out:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	policy_pack_free(pack);
	return st;
}

/* ---- the set ---- */

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

/* Loads <dir>/<id>/policy.yaml when it exists; a missing file is not an error. */
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
		return err_set(e, ST_IO, "open policy dir '%s': %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			strlist_addn(&names, de->d_name, strlen(de->d_name));
	closedir(d);
	/* Sorted, so that the first error reported does not depend on readdir order. */
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), cmp_str);
	for (size_t i = 0; i < names.n && st == ST_OK; i++)
		st = load_one(set, dir, names.v[i], e);
	strlist_release(&names);
	return st;
}

static int cmp_pack(const void *a, const void *b)
{
	const struct policy_pack *pa = *(struct policy_pack *const *)a;
	const struct policy_pack *pb = *(struct policy_pack *const *)b;

	return strcmp(pa->id, pb->id);
}

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
