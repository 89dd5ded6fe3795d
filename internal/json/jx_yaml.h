/*
 * jx_yaml.h - reads a settings file written in YAML or JSON (JSON is YAML)
 * into a json-c tree, so that every loader of such a file validates one
 * shape.  Errors name the file and the line.
 */
#ifndef CAVRA_JX_YAML_H
#define CAVRA_JX_YAML_H

#include "base/base.h"
#include "base/err.h"

#include <json-c/json.h>

/* Nodes visited at most (aliases included): a cap on "billion laughs". */
#define JX_YAML_MAX_NODES 100000

/*
 * Parses one YAML document from text[0..len).  Plain scalars become JSON
 * numbers, booleans (true/false) or null (null, ~, empty) when they read as
 * such; quoted scalars stay strings.  Mapping keys must be scalars.  An
 * empty document gives an empty object.  Messages start "file:line: ".
 * *out is the caller's (json_object_put).
 */
ATTR_NODISCARD enum status jx_yaml_parse(const char *text, size_t len, const char *file,
					 json_object **out, struct err *e);

/* Reads path (at most cap bytes) and parses it with jx_yaml_parse. */
ATTR_NODISCARD enum status jx_yaml_load(const char *path, size_t cap, json_object **out,
					struct err *e);

#endif
