/*
 * jx_yaml.c - YAML (and so JSON) files into json-c trees, with libyaml's
 * document loader: the one place that includes <yaml.h>.  A JX_YAML_TEXT
 * tree keeps each node's line and quoting as json-c userdata.
 */
#include "base/base.h"
#include "json/jx_yaml.h"
#include "base/buf.h"
#include "base/files.h"
#include "base/num.h"
#include "base/str.h"
#include "base/hash.h"
#include "base/xalloc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct walk {
	yaml_document_t *doc;
	const char *file;
	unsigned flags;
	size_t visited;
	char path[160]; /* the mapping or item being read: "mcp.risk_scoring", "rules[2]" */
	size_t plen;
	struct err *e;
};

static enum status node_to_json(struct walk *w, yaml_node_t *n, int depth, json_object **out);

static void pos_free(json_object *o, void *pos)
{
	(void)o;
	free(pos);
}

/* Keeps where a JX_YAML_TEXT node was written, for the loader's messages. */
static void pos_set(struct walk *w, json_object *o, const yaml_node_t *n)
{
	struct jx_yaml_pos *pos;

	if (!(w->flags & JX_YAML_TEXT) || !o)
		return;
	pos = xcalloc(1, sizeof(*pos));
	pos->line = n->start_mark.line + 1;
	pos->plain = n->type != YAML_SCALAR_NODE || n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	json_object_set_userdata(o, pos, pos_free);
}

bool jx_yaml_pos(json_object *o, struct jx_yaml_pos *out)
{
	const struct jx_yaml_pos *pos = o ? json_object_get_userdata(o) : NULL;

	/* Only JX_YAML_TEXT trees have userdata: they hold no doubles (json-c's own use). */
	if (!pos || json_object_get_type(o) == json_type_double) {
		*out = (struct jx_yaml_pos){0};
		return false;
	}
	*out = *pos;
	return true;
}

size_t jx_yaml_line(json_object *o)
{
	struct jx_yaml_pos pos;

	jx_yaml_pos(o, &pos);
	return pos.line;
}

/* Descends into key (or "[index]" when key is NULL); returns the length to restore. */
static size_t path_push(struct walk *w, const char *key, size_t index)
{
	size_t old = w->plen, room = sizeof(w->path) - old;
	int n = key ? snprintf(w->path + old, room, "%s%s", old ? "." : "", key)
		    : snprintf(w->path + old, room, "[%zu]", index);

	w->plen = n < 0 || (size_t)n >= room ? sizeof(w->path) - 1 : old + (size_t)n;
	return old;
}

static void path_pop(struct walk *w, size_t old)
{
	w->plen = old;
	w->path[old] = '\0';
}

static const char *path_name(const struct walk *w)
{
	return w->plen ? w->path : "top level";
}

static bool plain_is(const char *s, const char *const *words)
{
	for (size_t i = 0; words[i]; i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	return false;
}

/* A plain scalar as the JSON value it reads as. */
static json_object *plain_scalar(const char *s)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const trues[] = {"true", "True", "TRUE", NULL};
	static const char *const falses[] = {"false", "False", "FALSE", NULL};
	int64_t i;
	char *end;
	double d;

	if (plain_is(s, nulls))
		return NULL;
	if (plain_is(s, trues) || plain_is(s, falses))
		return json_object_new_boolean(plain_is(s, trues));
	if (str_to_i64(s, INT64_MIN, INT64_MAX, &i))
		return json_object_new_int64(i);
	errno = 0;
	d = strtod(s, &end);
	if (*s && !*end && errno == 0 && isfinite(d) && strspn(s, "+-0123456789.eE") == strlen(s))
		return json_object_new_double(d);
	return json_object_new_string(s);
}

static enum status scalar_to_json(struct walk *w, yaml_node_t *n, json_object **out)
{
	const char *s = (const char *)n->data.scalar.value;

	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !(w->flags & JX_YAML_TEXT))
		*out = plain_scalar(s);
	else
		*out = json_object_new_string_len(s, (int)n->data.scalar.length);
	return ST_OK;
}

static enum status seq_to_json(struct walk *w, yaml_node_t *n, int depth, json_object **out)
{
	json_object *arr = json_object_new_array();
	size_t i = 0;

	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, i++) {
		json_object *v = NULL;
		size_t old = path_push(w, NULL, i);
		enum status st =
			node_to_json(w, yaml_document_get_node(w->doc, *it), depth + 1, &v);

		path_pop(w, old);
		if (st != ST_OK) {
			json_object_put(arr);
			return st;
		}
		json_object_array_add(arr, v);
	}
	*out = arr;
	return ST_OK;
}

/* A key must be a scalar without NUL bytes (json-c keys are C strings), once when asked. */
static enum status check_key(struct walk *w, json_object *obj, const yaml_node_t *k)
{
	if (!k || k->type != YAML_SCALAR_NODE ||
	    strlen((const char *)k->data.scalar.value) != k->data.scalar.length)
		return err_set(w->e, ST_INVALID, "%s:%zu: %s keys must be strings", w->file,
			       (k ? k : yaml_document_get_root_node(w->doc))->start_mark.line + 1,
			       path_name(w));
	if ((w->flags & JX_YAML_UNIQUE_KEYS) &&
	    json_object_object_get_ex(obj, (const char *)k->data.scalar.value, NULL))
		return err_set(w->e, ST_INVALID, "%s:%zu: duplicate key '%s' in %s", w->file,
			       k->start_mark.line + 1, (const char *)k->data.scalar.value,
			       path_name(w));
	return ST_OK;
}

/* The value of key k, with the key's line kept beside the value's own. */
static enum status pair_to_json(struct walk *w, yaml_node_pair_t *p, const yaml_node_t *k,
				int depth, json_object **v)
{
	size_t old = path_push(w, (const char *)k->data.scalar.value, 0);
	enum status st = node_to_json(w, yaml_document_get_node(w->doc, p->value), depth + 1, v);
	struct jx_yaml_pos *pos = *v ? json_object_get_userdata(*v) : NULL;

	path_pop(w, old);
	if (pos && (w->flags & JX_YAML_TEXT))
		pos->key_line = k->start_mark.line + 1;
	return st;
}

static enum status map_to_json(struct walk *w, yaml_node_t *n, int depth, json_object **out)
{
	json_object *obj = json_object_new_object();

	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		json_object *v = NULL;
		enum status st = check_key(w, obj, k);

		if (st == ST_OK)
			st = pair_to_json(w, p, k, depth, &v);
		if (st != ST_OK) {
			json_object_put(obj);
			return st;
		}
		json_object_object_add(obj, (const char *)k->data.scalar.value, v);
	}
	*out = obj;
	return ST_OK;
}

static enum status node_to_json(struct walk *w, yaml_node_t *n, int depth, json_object **out)
{
	enum status st = ST_OK;

	*out = NULL;
	if (!n)
		return ST_OK;
	if (depth > 32 || ++w->visited > JX_YAML_MAX_NODES)
		return err_set(w->e, ST_INVALID, "%s:%zu: document too deep or too large", w->file,
			       n->start_mark.line + 1);
	switch (n->type) {
	case YAML_SCALAR_NODE:
		st = scalar_to_json(w, n, out);
		break;
	case YAML_SEQUENCE_NODE:
		st = seq_to_json(w, n, depth, out);
		break;
	case YAML_MAPPING_NODE:
		st = map_to_json(w, n, depth, out);
		break;
	default:
		break;
	}
	if (st == ST_OK)
		pos_set(w, *out, n);
	return st;
}

/* libyaml's problem and context: "did not find expected ',' or ']' while parsing ...". */
static enum status syntax_error(const yaml_parser_t *p, const char *file, struct err *e)
{
	return err_set(e, ST_INVALID, "%s:%zu: invalid yaml: %s%s%s", file,
		       p->problem_mark.line + 1, p->problem ? p->problem : "cannot parse",
		       p->context ? " " : "", p->context ? p->context : "");
}

enum status jx_yaml_parse_ex(const char *text, size_t len, const char *file, unsigned flags,
			     json_object **out, struct err *e)
{
	struct walk w = {.file = file, .flags = flags, .e = e};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	enum status st;

	*out = NULL;
	if (!yaml_parser_initialize(&parser))
		return err_set(e, ST_INTERNAL, "%s: yaml parser: out of memory", file);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		st = syntax_error(&parser, file, e);
		yaml_parser_delete(&parser);
		return st;
	}
	w.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	st = node_to_json(&w, root, 0, out);
	if (st == ST_OK && !*out && !root && !(flags & JX_YAML_TEXT))
		*out = json_object_new_object();
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return st;
}

enum status jx_yaml_parse(const char *text, size_t len, const char *file, json_object **out,
			  struct err *e)
{
	return jx_yaml_parse_ex(text, len, file, 0, out, e);
}

enum status jx_yaml_load(const char *path, size_t cap, json_object **out, struct err *e)
{
	struct buf b;
	enum status st;

	buf_init(&b, cap);
	st = file_read(path, cap, &b, e);
	if (st == ST_OK)
		st = jx_yaml_parse(b.data ? b.data : "", b.len, path, out, e);
	buf_release(&b);
	return st;
}
