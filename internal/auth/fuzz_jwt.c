/*
 * fuzz_jwt.c - libFuzzer target for the bearer token and JWK set parsers.
 *
 * Each input is tried as a compact JWT against a key set made once at
 * start (an RSA and a P-256 key, so both signature paths run), as an issuer
 * peek, and as a JWK set.  Built with -DCAVRA_FUZZ=ON and clang; the test
 * command runs it briefly on the seeds in fuzz/jwt/ (scripts/test.sh).
 */
#include "base/base.h"
#include "auth/auth.h"
#include "auth/auth_testutil.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct auth_keyset *keys;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *rsa = tk_rsa(2048), *ec = tk_ec("P-256");
	char *a = tk_jwk(rsa, "r1", ",\"alg\":\"RS256\""), *b = tk_jwk(ec, "e1", "");
	char *set = xasprintf("{\"keys\":[%s,%s]}", a, b);

	(void)argc;
	(void)argv;
	if (auth_keyset_parse(set, strlen(set), &keys, NULL) != ST_OK)
		abort();
	free(set);
	free(a);
	free(b);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct auth_jwt_rules rules = {
		.issuer = "https://issuer.test", .audience = "cavra-api", .leeway_s = 60};
	char *text = malloc(size + 1);
	struct auth_keyset *ks = NULL;
	struct auth_jwt jwt = {0};
	char *iss = NULL;

	memcpy(text, data, size);
	text[size] = '\0';
	if (auth_jwt_verify(text, keys, &rules, 1700000000, &jwt, NULL) == ST_OK)
		abort(); /* nothing the fuzzer makes is signed by our keys */
	auth_jwt_release(&jwt);
	if (auth_jwt_peek_issuer(text, &iss, NULL) == ST_OK)
		free(iss);
	if (auth_keyset_parse(text, size, &ks, NULL) == ST_OK)
		auth_keyset_unref(ks);
	free(text);
	return 0;
}
