/* Unit tests for idempotency: the key's syntax, the canonical request hash, the caller. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"
#include "service/idempotency.h"
#include "json/jx_canon.h"

static const struct {
	const char *value, *want; /* want NULL: ST_INVALID */
} key_cases[] = {
	{"\"8e03978e-40d5-43e8-bc93-6894a57f9324\"", "8e03978e-40d5-43e8-bc93-6894a57f9324"},
	{"8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"},
	{"  \"k1\"\t", "k1"},
	{"a:b/c=d+e~f", "a:b/c=d+e~f"},
	{"", NULL},
	{"\"\"", NULL},
	{"\"", NULL},
	{"\"open", NULL},
	{"two words", NULL},
	{"\"two words\"", NULL},
	{"\"a\\\"b\"", NULL},
	{"back\\slash", NULL},
	{"caf\xc3\xa9", NULL},
	{"ctl\x01", NULL},
};

static void test_key_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(key_cases); i++) {
		char out[IDEMPOTENCY_KEY_MAX + 1] = "untouched";
		struct err e = {0};
		enum status st = service_idempotency_key_parse(key_cases[i].value, out, &e);

		if (key_cases[i].want) {
			assert_int_equal(st, ST_OK);
			assert_string_equal(out, key_cases[i].want);
		} else {
			assert_int_equal(st, ST_INVALID);
			assert_non_null(strstr(e.msg, "Idempotency-Key"));
		}
	}
}

static void test_key_length(void **state)
{
	char value[IDEMPOTENCY_KEY_MAX + 4], out[IDEMPOTENCY_KEY_MAX + 1];

	(void)state;
	memset(value, 'k', IDEMPOTENCY_KEY_MAX);
	value[IDEMPOTENCY_KEY_MAX] = '\0';
	assert_int_equal(service_idempotency_key_parse(value, out, NULL), ST_OK);
	assert_int_equal(strlen(out), IDEMPOTENCY_KEY_MAX);
	value[IDEMPOTENCY_KEY_MAX] = 'k';
	value[IDEMPOTENCY_KEY_MAX + 1] = '\0';
	assert_int_equal(service_idempotency_key_parse(value, out, NULL), ST_INVALID);
}

static void hash_of(const char *json, char out[SHA256_HEX_LEN])
{
	json_object *o = json_tokener_parse(json);

	assert_non_null(o);
	assert_int_equal(jx_canon_sha256(o, out, NULL), ST_OK);
	json_object_put(o);
}

/* Key order and whitespace do not count; values, arrays' order and added members do. */
static void test_canonical_hash(void **state)
{
	char a[SHA256_HEX_LEN], b[SHA256_HEX_LEN];

	(void)state;
	hash_of("{\"b\":1,\"a\":{\"y\":[1,2],\"x\":null}}", a);
	hash_of("{ \"a\" : { \"x\" : null , \"y\" : [ 1 , 2 ] } ,\n \"b\" : 1 }", b);
	assert_string_equal(a, b);
	hash_of("{\"b\":1,\"a\":{\"y\":[2,1],\"x\":null}}", b);
	assert_string_not_equal(a, b);
	hash_of("{\"b\":1,\"a\":{\"y\":[1,2],\"x\":null},\"c\":\"\"}", b);
	assert_string_not_equal(a, b);
	hash_of("{\"b\":\"1\",\"a\":{\"y\":[1,2],\"x\":null}}", b);
	assert_string_not_equal(a, b);
	/* SHA-256 of the canonical text {"a":"b"} */
	hash_of("{ \"a\": \"b\" }", a);
	assert_string_equal(a, "db4a7ecb114bc66c623a06c4ff6fe8daa2f49cc270ebbf7a1f81e22ab061c837");
	/* escapes do not count: the backups' canonical form spells each string one way */
	hash_of("{\"a\":\"\\u0062\"}", b);
	assert_string_equal(a, b);
	hash_of("{\"a\":\"/\"}", a);
	hash_of("{\"a\":\"\\/\"}", b);
	assert_string_equal(a, b);
}

static void test_init_binds_caller_and_body(void **state)
{
	const struct caller anon = {0}, tok = {.verified = true, .token = "ci-agent"};
	const struct caller oidc = {
		.verified = true, .issuer = "https://idp", .subject = "ci-agent"};
	json_object *req = json_tokener_parse("{\"action_type\":\"read_file\"}");
	struct idempotency k1, k2, k3, none;

	(void)state;
	assert_int_equal(service_idempotency_init(&none, NULL, &anon, req, NULL), ST_OK);
	assert_string_equal(none.key, "");
	assert_int_equal(service_idempotency_init(&k1, "\"k\"", &anon, req, NULL), ST_OK);
	assert_int_equal(service_idempotency_init(&k2, "k", &tok, req, NULL), ST_OK);
	assert_int_equal(service_idempotency_init(&k3, "k", &oidc, req, NULL), ST_OK);
	assert_string_equal(k1.key, "k");
	assert_string_equal(k1.request_sha256, k2.request_sha256);
	assert_string_not_equal(k1.caller, k2.caller);
	assert_string_not_equal(k2.caller, k3.caller);
	assert_int_equal(strlen(k3.caller), 64);
	assert_int_equal(service_idempotency_init(&k1, "bad key", &anon, req, NULL), ST_INVALID);
	json_object_put(req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_parse),
		cmocka_unit_test(test_key_length),
		cmocka_unit_test(test_canonical_hash),
		cmocka_unit_test(test_init_binds_caller_and_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
