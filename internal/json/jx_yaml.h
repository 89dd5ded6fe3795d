/*
 * jx_yaml.h - reads a settings file written in YAML or JSON (JSON is YAML)
 * into a json-c tree, so that every loader of such a file (settings,
 * policy packs, routing rules, issuer and role lists) validates one shape.
 * Errors name the file and the line.
 */
#ifndef CAVRA_JX_YAML_H
#define CAVRA_JX_YAML_H

#include "base/base.h"
#include "base/err.h"

#include <json-c/json.h>

/* Nodes visited at most (aliases included): a cap on "billion laughs". */
#define JX_YAML_MAX_NODES 100000

/* How jx_yaml_parse_ex reads a document; flags combine. */
enum jx_yaml_flag {
	/*
	 * Every scalar stays the string it was written as (a loader that is
	 * strict about "true" versus "'true'" asks jx_yaml_pos whether it was
	 * quoted), every node keeps its line (jx_yaml_pos), and a stream with
	 * no document gives NULL instead of an empty object.
	 */
	JX_YAML_TEXT = 1,
	/* A key written twice in one mapping is an error, not "the last one wins". */
	JX_YAML_UNIQUE_KEYS = 2,
};

/* Where a node of a JX_YAML_TEXT tree was written. */
struct jx_yaml_pos {
	size_t line; /* 1-based line where the node starts */
	size_t key_line; /* a mapping value: the line of its key; else 0 */
	bool plain; /* a scalar written without quotes (or a collection) */
};

/*
 * Parses the first YAML document of text[0..len).  Without JX_YAML_TEXT,
 * plain scalars become JSON numbers, booleans (true/false) or null (null,
 * ~, empty) when they read as such, quoted scalars stay strings, and an
 * empty stream gives an empty object.  Mapping keys must be scalars.
 * Messages start "file:line: " and name the mapping a bad key is in
 * ("top level", "metadata", "mcp.risk_scoring", "rules[2]").  *out is the
 * caller's (json_object_put).
 */
ATTR_NODISCARD enum status jx_yaml_parse_ex(const char *text, size_t len, const char *file,
					    unsigned flags, json_object **out, struct err *e);

/* jx_yaml_parse_ex without flags. */
ATTR_NODISCARD enum status jx_yaml_parse(const char *text, size_t len, const char *file,
					 json_object **out, struct err *e);

/* Reads path (at most cap bytes) and parses it with jx_yaml_parse. */
ATTR_NODISCARD enum status jx_yaml_load(const char *path, size_t cap, json_object **out,
					struct err *e);

/* Where o was written; false (and zeros) for a node not from a JX_YAML_TEXT parse. */
bool jx_yaml_pos(json_object *o, struct jx_yaml_pos *out);

/* The 1-based line of o (0: unknown), a shorthand of jx_yaml_pos for messages. */
size_t jx_yaml_line(json_object *o);

#endif
