/*
 * jx_yaml.c - YAML (and so JSON) files into json-c trees, with libyaml's
 * document loader.
 */
#include "base/base.h"
#include "json/jx_yaml.h"
#include "base/buf.h"
#include "base/files.h"
#include "base/num.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct walk {
	yaml_document_t *doc;
	const char *file;
	size_t visited;
	struct err *e;
};

static enum status node_to_json(struct walk *w, yaml_node_t *n, int depth, json_object **out);

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

static enum status scalar_to_json(yaml_node_t *n, json_object **out)
{
	const char *s = (const char *)n->data.scalar.value;

	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		*out = plain_scalar(s);
	else
		*out = json_object_new_string_len(s, (int)n->data.scalar.length);
	return ST_OK;
}

static enum status seq_to_json(struct walk *w, yaml_node_t *n, int depth, json_object **out)
{
	json_object *arr = json_object_new_array();

	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		json_object *v = NULL;
		enum status st =
			node_to_json(w, yaml_document_get_node(w->doc, *it), depth + 1, &v);

		if (st != ST_OK) {
			json_object_put(arr);
			return st;
		}
		json_object_array_add(arr, v);
	}
	*out = arr;
	return ST_OK;
}

static enum status map_to_json(struct walk *w, yaml_node_t *n, int depth, json_object **out)
{
	json_object *obj = json_object_new_object();

	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		json_object *v = NULL;
		enum status st;

		if (!k || k->type != YAML_SCALAR_NODE) {
			json_object_put(obj);
			return err_set(w->e, ST_INVALID, "%s:%zu: mapping keys must be scalars",
				       w->file, n->start_mark.line + 1);
		}
		st = node_to_json(w, yaml_document_get_node(w->doc, p->value), depth + 1, &v);
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
	*out = NULL;
	if (!n)
		return ST_OK;
	if (depth > 32 || ++w->visited > JX_YAML_MAX_NODES)
		return err_set(w->e, ST_INVALID, "%s:%zu: document too deep or too large", w->file,
			       n->start_mark.line + 1);
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return scalar_to_json(n, out);
	case YAML_SEQUENCE_NODE:
		return seq_to_json(w, n, depth, out);
	case YAML_MAPPING_NODE:
		return map_to_json(w, n, depth, out);
	default:
		return ST_OK;
	}
}

enum status jx_yaml_parse(const char *text, size_t len, const char *file, json_object **out,
			  struct err *e)
{
	struct walk w = {.file = file, .e = e};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	enum status st;

	*out = NULL;
	if (!yaml_parser_initialize(&parser))
		return err_set(e, ST_INTERNAL, "%s: yaml parser: out of memory", file);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		st = err_set(e, ST_INVALID, "%s:%zu: %s", file, parser.problem_mark.line + 1,
			     parser.problem ? parser.problem : "not valid YAML or JSON");
		yaml_parser_delete(&parser);
		return st;
	}
	w.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	st = node_to_json(&w, root, 0, out);
	if (st == ST_OK && !*out && !root)
		*out = json_object_new_object();
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return st;
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
