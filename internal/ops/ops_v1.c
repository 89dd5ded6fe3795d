/*
 * ops_v1.c - the original CAVRA's backups (cavra.persistent_api.backup.v1):
 * a directory of file copies of its JSON and SQLite stores with a manifest
 * giving each copy's size and SHA-256.  Reading the manifest and checking
 * the copies against it, reporting every problem, so that `ops verify` and
 * `ops import --backup` can take the original's backups as they are.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "base/files.h"
#include "base/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#define V1_MANIFEST_MAX ((size_t)8 << 20)
#define V1_DEPTH	16

static const char *const store_names[] = {"evidence_metadata", "approvals", "registry",
					  "activity",	       "inventory", "integrations"};

static json_object *parse_object(const char *text, size_t len)
{
	json_object *root = NULL;
	struct err e = {0};

	if (jx_parse(text, len, V1_DEPTH, &root, &e) != ST_OK)
		return NULL;
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return NULL;
	}
	return root;
}

bool ops_manifest_is_v1(const char *text, size_t len)
{
	json_object *root = parse_object(text, len);
	bool v1 = root && str_eq(jx_get_str(root, "schema_version"), OPS_V1_FORMAT);

	json_object_put(root);
	return v1;
}

bool ops_backup_is_v1(const char *manifest)
{
	char *path = ops_manifest_path(manifest);
	struct buf text = BUF_INIT;
	struct err e = {0};
	bool v1 = false;

	buf_init(&text, V1_MANIFEST_MAX);
	if (file_read(path, V1_MANIFEST_MAX, &text, &e) == ST_OK)
		v1 = ops_manifest_is_v1(text.data, text.len);
	buf_release(&text);
	free(path);
	return v1;
}

void ops_v1_free(struct ops_v1_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->stores[i].name);
		free(m->stores[i].kind);
		free(m->stores[i].backup_path);
		free(m->stores[i].sha256);
		free(m->stores[i].file);
	}
	free(m->stores);
	free(m->created_at);
	free(m);
}

/* ---- the manifest ---- */

static void field_problem(struct ops_report *rep, size_t i, const char *what)
{
	ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME, "stores[%zu]: %s", i, what);
}

static bool known_store(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(store_names); i++)
		if (str_eq(store_names[i], name))
			return true;
	return false;
}

/*
 * A store or a copy listed twice would be imported twice or checked against the wrong entry,
 * so it is reported rather than guessed at.
 */
static bool listed_twice(const struct ops_v1_manifest *m, const char *name, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (str_eq(m->stores[i].name, name) ||
		    (path && m->stores[i].backup_path && str_eq(m->stores[i].backup_path, path)))
			return true;
	return false;
}

/* The copy's fields: a path that stays inside the directory, a size and a checksum. */
static bool parse_copy(json_object *so, size_t i, struct ops_v1_store *s, struct ops_report *rep)
{
	json_object *v = NULL;
	char why[200];

	if (!json_object_object_get_ex(so, "backup_path", &v) || !v)
		return true; /* not copied */
	if (!json_object_is_type(v, json_type_string)) {
		field_problem(rep, i, "backup_path: not a string or null");
		return false;
	}
	s->backup_path = xstrdup(json_object_get_string(v));
	if (!ops_path_safe(s->backup_path, why, sizeof(why))) {
		ops_report_add(rep, "path_unsafe", s->backup_path, "%s", why);
		return false;
	}
	if (!json_object_object_get_ex(so, "size_bytes", &v) ||
	    !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
		field_problem(rep, i, "size_bytes: missing or not a whole number >= 0");
		return false;
	}
	s->size_bytes = json_object_get_int64(v);
	if (!ops_is_sha256(jx_get_str(so, "sha256"))) {
		field_problem(rep, i, "sha256: missing or not 64 lowercase hex digits");
		return false;
	}
	s->sha256 = xstrdup(jx_get_str(so, "sha256"));
	return true;
}

static bool parse_store(json_object *so, size_t i, const struct ops_v1_manifest *m,
			struct ops_v1_store *s, struct ops_report *rep)
{
	const char *name, *kind;
	json_object *ex = NULL;

	if (!json_object_is_type(so, json_type_object)) {
		field_problem(rep, i, "not an object");
		return false;
	}
	name = jx_get_str(so, "name");
	kind = jx_get_str(so, "kind");
	if (!name || !known_store(name)) {
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "stores[%zu]: name '%.40s' is not one of evidence_metadata, "
			       "approvals, registry, activity, inventory, integrations",
			       i, name ? name : "");
		return false;
	}
	if (!str_eq(kind, "json") && !str_eq(kind, "sqlite")) {
		field_problem(rep, i, "kind: missing or not json or sqlite");
		return false;
	}
	if (!json_object_object_get_ex(so, "exists", &ex) ||
	    !json_object_is_type(ex, json_type_boolean)) {
		field_problem(rep, i, "exists: missing or not true or false");
		return false;
	}
	s->name = xstrdup(name);
	s->kind = xstrdup(kind);
	s->exists = json_object_get_boolean(ex);
	if (!parse_copy(so, i, s, rep))
		return false;
	if (listed_twice(m, s->name, s->backup_path)) {
		ops_report_add(rep, "duplicate", OPS_MANIFEST_NAME,
			       "stores[%zu]: store '%s' or its file is listed twice", i, s->name);
		return false;
	}
	return true;
}

static void parse_stores(json_object *arr, struct ops_v1_manifest *m, struct ops_report *rep)
{
	size_t n = json_object_array_length(arr);

	m->stores = xcalloc(n + 1, sizeof(*m->stores));
	for (size_t i = 0; i < n; i++) {
		struct ops_v1_store s = {0};

		if (parse_store(json_object_array_get_idx(arr, i), i, m, &s, rep)) {
			m->stores[m->n++] = s;
			continue;
		}
		free(s.name);
		free(s.kind);
		free(s.backup_path);
		free(s.sha256);
	}
}

void ops_v1_parse(const char *text, size_t len, struct ops_v1_manifest **out,
		  struct ops_report *rep)
{
	json_object *root = parse_object(text, len), *arr = NULL;
	struct ops_v1_manifest *m;

	*out = NULL;
	if (!root) {
		ops_report_add(rep, "manifest_syntax", OPS_MANIFEST_NAME, "not a JSON object");
		return;
	}
	if (!str_eq(jx_get_str(root, "schema_version"), OPS_V1_FORMAT)) {
		ops_report_add(rep, "manifest_format", OPS_MANIFEST_NAME,
			       "schema_version is not %s", OPS_V1_FORMAT);
		json_object_put(root);
		return;
	}
	m = xcalloc(1, sizeof(*m));
	if (jx_get_str(root, "created_at"))
		m->created_at = xstrdup(jx_get_str(root, "created_at"));
	if (!json_object_object_get_ex(root, "stores", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		ops_report_add(rep, "manifest_field", OPS_MANIFEST_NAME,
			       "stores: missing or not a list");
	else
		parse_stores(arr, m, rep);
	json_object_put(root);
	*out = m;
}

/* ---- the copies ---- */

/* Size and SHA-256 of a regular file, read in chunks: SQLite copies can be large. */
static enum status hash_file(const char *path, int64_t *size, char sha[SHA256_HEX_LEN],
			     unsigned char head[16], struct err *e)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char chunk[65536], digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	FILE *f = fopen(path, "rb");
	size_t n;

	*size = 0;
	if (!f || !md) {
		EVP_MD_CTX_free(md);
		if (f)
			fclose(f);
		return err_set(e, ST_IO, "open: %s", BASE_ERRSTR(errno));
	}
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (*size == 0)
			memcpy(head, chunk, n < 16 ? n : 16);
		EVP_DigestUpdate(md, chunk, n);
		*size += (int64_t)n;
	}
	EVP_DigestFinal_ex(md, digest, &dlen);
	EVP_MD_CTX_free(md);
	for (unsigned int i = 0; i < dlen; i++)
		snprintf(sha + (size_t)2 * i, 3, "%02x", digest[i]);
	if (ferror(f)) {
		fclose(f);
		return err_set(e, ST_IO, "read: %s", BASE_ERRSTR(errno));
	}
	fclose(f);
	return ST_OK;
}

/* What the content should be: the placeholder for a missing store, a SQLite file, or JSON. */
static void check_content(const struct ops_v1_store *s, int64_t size, const unsigned char *head,
			  struct ops_report *rep)
{
	static const char sqlite_magic[16] = "SQLite format 3";

	if (!s->exists && !(size == 3 && memcmp(head, "{}\n", 3) == 0))
		ops_report_add(rep, "placeholder", s->backup_path,
			       "the store did not exist, but the file is not the \"{}\" "
			       "placeholder");
	else if (s->exists && str_eq(s->kind, "sqlite") &&
		 (size < 16 || memcmp(head, sqlite_magic, 16) != 0))
		ops_report_add(rep, "not_sqlite", s->backup_path,
			       "kind sqlite, but the file is not a SQLite database%s",
			       size == 3 && memcmp(head, "{}\n", 3) == 0 ? " (a placeholder)" : "");
}

/*
 * Checks in the order that tells the operator the most: present, a regular file, readable,
 * the right size, the right checksum, and only then whether the content is what its kind
 * says.  Each store gets at most one problem, the first that applies.
 */
static void check_store(const char *dir, const struct ops_v1_store *s,
			struct ops_verify_result *out)
{
	unsigned char head[16] = {0};
	char sha[SHA256_HEX_LEN] = "";
	char *path = ops_path_join(dir, s->backup_path);
	struct err e = {0};
	struct stat sb;
	int64_t size;

	if (lstat(path, &sb) != 0)
		ops_report_add(&out->problems, errno == ENOENT ? "missing" : "unreadable",
			       s->backup_path, "%s",
			       errno == ENOENT ? "listed in the manifest, not found"
					       : BASE_ERRSTR(errno));
	else if (!S_ISREG(sb.st_mode))
		ops_report_add(&out->problems, "not_regular", s->backup_path, "not a regular file");
	else if (hash_file(path, &size, sha, head, &e) != ST_OK)
		ops_report_add(&out->problems, "unreadable", s->backup_path, "%s", e.msg);
	else if (size != s->size_bytes)
		ops_report_add(&out->problems, "size", s->backup_path,
			       "%lld bytes, the manifest says %lld", (long long)size,
			       (long long)s->size_bytes);
	else if (!str_eq(sha, s->sha256))
		ops_report_add(&out->problems, "sha256", s->backup_path,
			       "sha256 %s, the manifest says %s", sha, s->sha256);
	else {
		check_content(s, size, head, &out->problems);
		out->files++;
		out->bytes += size;
	}
	free(path);
}

/*
 * Same report shape as a v2 verify, so that `ops verify` prints and exits the same way for
 * both, and `ops import --backup` can rely on the same verdict before it reads anything.
 */
void ops_v1_verify(const char *dir, const char *text, size_t len, struct ops_verify_result *out)
{
	const char **paths;

	sha256_hex(text, len, out->manifest_sha256);
	ops_v1_parse(text, len, &out->v1, &out->problems);
	if (!out->v1)
		return;
	for (size_t i = 0; i < out->v1->n; i++)
		if (out->v1->stores[i].backup_path) {
			out->v1->stores[i].file =
				ops_path_join(dir, out->v1->stores[i].backup_path);
			check_store(dir, &out->v1->stores[i], out);
		} else if (out->v1->stores[i].exists)
			ops_report_add(&out->problems, "missing", OPS_MANIFEST_NAME,
				       "store '%s' existed but was not copied (backup_path null)",
				       out->v1->stores[i].name);
	paths = xcalloc(out->v1->n + 1, sizeof(*paths));
	for (size_t i = 0; i < out->v1->n; i++)
		paths[i] = out->v1->stores[i].backup_path;
	ops_walk_unlisted(dir, paths, out->v1->n, &out->problems);
	free(paths);
}
