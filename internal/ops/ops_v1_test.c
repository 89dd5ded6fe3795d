/* Unit tests for the original CAVRA's backup manifest (backup.v1): what is read from it, and that
 * one reading reports every problem of the manifest. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/xalloc.h"
#include "ops/ops_testutil.h"
#include "ops/ops_int.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEAD  "{\"schema_version\": \"cavra.persistent_api.backup.v1\", \"product\": \"CAVRA\", "
#define JSON_STORE(name)                                                                        \
	"{\"name\": \"" name "\", \"kind\": \"json\", \"source_path\": \".cavra/api/x.json\", " \
	"\"configured_by\": \"default\", \"exists\": true, \"backup_path\": \"stores/" name     \
	".json\", \"size_bytes\": 12, \"sha256\": \"" SHA_A "\"}"

OPS_TEST_DEFINE_KINDS_OF(struct ops_v1_manifest, ops_v1_parse, ops_v1_free)

static void test_reads_every_kind_of_store(void **state)
{
	const char *text =
		HEAD "\"created_at\": \"2026-01-02T03:04:05+00:00\", \"stores\": [" JSON_STORE(
			"approvals") ", {\"name\": \"activity\", \"kind\": \"sqlite\", "
				     "\"source_path\": \".cavra/activity.db\", \"configured_by\": "
				     "\"CAVRA_ACTIVITY_DB\", \"exists\": true, \"backup_path\": "
				     "\"stores/activity.db\", \"size_bytes\": 8192, \"sha256\": "
				     "\"" SHA_A
				     "\"}, {\"name\": \"inventory\", \"kind\": \"json\", "
				     "\"exists\": false, \"backup_path\": "
				     "\"stores/inventory.json\", "
				     "\"size_bytes\": 3, \"sha256\": \"" SHA_A "\"}, "
				     "{\"name\": \"registry\", \"kind\": \"json\", \"exists\": "
				     "false, "
				     "\"backup_path\": null, \"size_bytes\": null, \"sha256\": "
				     "null}]}";
	struct ops_v1_manifest *m = NULL;
	char *kinds = kinds_of(text, &m);

	(void)state;
	assert_string_equal(kinds, "");
	assert_non_null(m);
	assert_string_equal(m->created_at, "2026-01-02T03:04:05+00:00");
	assert_int_equal(m->n, 4);
	assert_string_equal(m->stores[0].name, "approvals");
	assert_string_equal(m->stores[0].backup_path, "stores/approvals.json");
	assert_int_equal(m->stores[0].size_bytes, 12);
	assert_string_equal(m->stores[1].kind, "sqlite");
	assert_true(m->stores[1].exists);
	assert_false(m->stores[2].exists); /* the "{}" placeholder */
	assert_string_equal(m->stores[2].backup_path, "stores/inventory.json");
	assert_null(m->stores[3].backup_path);
	assert_null(m->stores[3].sha256);
	assert_true(ops_manifest_is_v1(text, strlen(text)));
	ops_v1_free(m);
	free(kinds);
}

static const struct {
	const char *text, *kinds;
	size_t stores; /* usable stores */
} bad[] = {
	{"not json", "manifest_syntax", 0},
	{"[1]", "manifest_syntax", 0},
	{"{\"schema_version\": \"cavra.persistent_api.backup.v2\", \"stores\": []}",
	 "manifest_format", 0},
	{HEAD "\"stores\": {}}", "manifest_field", 0},
	{HEAD "\"stores\": [" JSON_STORE("approvals") ", " JSON_STORE("approvals") "]}",
	 "duplicate", 1},
	/* every broken store is reported, and the good ones are still read */
	{HEAD "\"stores\": [" JSON_STORE(
		 "sessions") ", {\"name\": \"activity\", \"kind\": "
			     "\"csv\", \"exists\": true}, "
			     "{\"name\": \"registry\", \"kind\": \"json\"}, " JSON_STORE(
				     "integrations") ", 7]}",
	 "manifest_field,manifest_field,manifest_field,manifest_field", 1},
	{HEAD "\"stores\": [{\"name\": \"approvals\", \"kind\": \"json\", \"exists\": true, "
	      "\"backup_path\": \"../approvals.json\", \"size_bytes\": 1, \"sha256\": \"" SHA_A
	      "\"}]}",
	 "path_unsafe", 0},
	{HEAD "\"stores\": [{\"name\": \"approvals\", \"kind\": \"json\", \"exists\": true, "
	      "\"backup_path\": \"stores/approvals.json\", \"size_bytes\": -1, \"sha256\": "
	      "\"" SHA_A "\"}, {\"name\": \"activity\", \"kind\": \"json\", \"exists\": true, "
	      "\"backup_path\": \"stores/activity.json\", \"size_bytes\": 1, \"sha256\": "
	      "\"ABC\"}]}",
	 "manifest_field,manifest_field", 0},
};

static void test_every_problem(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct ops_v1_manifest *m = NULL;
		char *kinds = kinds_of(bad[i].text, &m);

		if (strcmp(kinds, bad[i].kinds) != 0)
			fail_msg("case %zu: problems '%s', want '%s'", i, kinds, bad[i].kinds);
		if ((m ? m->n : 0) != bad[i].stores)
			fail_msg("case %zu: %zu stores, want %zu", i, m ? m->n : 0, bad[i].stores);
		ops_v1_free(m);
		free(kinds);
	}
}

/* Only the original's format is taken for v1; cavra's own manifests are not. */
static void test_detection(void **state)
{
	static const char *const not_v1[] = {
		"{\"schema_version\": \"cavra.persistent_api.backup.v2\"}",
		"{\"format\": \"cavra.persistent_api.backup.v1\"}",
		"garbage",
		"",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(not_v1); i++)
		if (ops_manifest_is_v1(not_v1[i], strlen(not_v1[i])))
			fail_msg("'%s' taken for a v1 manifest", not_v1[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_every_kind_of_store),
		cmocka_unit_test(test_every_problem),
		cmocka_unit_test(test_detection),
	};

	return cmocka_run_group_tests_name("ops/v1", tests, NULL, NULL);
}
