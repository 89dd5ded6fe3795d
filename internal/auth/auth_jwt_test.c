/*
 * auth_jwt_test.c - JWT verification as a table of crafted tokens signed at
 * test time with freshly generated RSA and EC keys; plus base64url edge cases,
 * the algorithm list parser and the unverified issuer peek.
 */
#include <stdarg.h> /* cmocka 1.1.x needs these four before <cmocka.h> */
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_testutil.h"

#define NOW   1500
#define ISS   "https://idp.example"
#define BASE  "\"iss\":\"" ISS "\",\"aud\":\"api\",\"sub\":\"u1\""
#define OK_CL "{" BASE ",\"exp\":2000}"
/* the claims RFC 9068 §2.2 requires of an access token */
#define AT_CL(...)	  "{\"iss\":\"" ISS "\",\"aud\":\"api\",\"exp\":2000," __VA_ARGS__ "}"
#define AT_OK		  AT_CL("\"sub\":\"u1\",\"client_id\":\"c1\",\"iat\":1500,\"jti\":\"j1\"")
#define CL(x)		  "{" BASE "," x "}"
#define HDR(alg, kid)	  "{\"alg\":\"" alg "\",\"kid\":\"" kid "\"}"
#define HDR_NOKID(alg)	  "{\"alg\":\"" alg "\"}"
#define HDR_TYP(alg, typ) "{\"alg\":\"" alg "\",\"kid\":\"r1\",\"typ\":\"" typ "\"}"

/* Keys: r1, r2 (alg RS256 only), e1 (P-256) and e2 (P-384) are in the set; the x keys are not. */
enum tkey { K_R1, K_R2, K_E1, K_E2, K_RX, K_EX, K__COUNT };

enum mutation {
	M_NONE,
	M_FLIP_SIG, /* change one signature character */
	M_CUT_SIG, /* drop the last 4 signature characters */
	M_NO_SIG, /* "header.payload." */
	M_PAD_SIG, /* append '=' padding */
	M_RAW, /* the token is hdr itself */
	M_HDR_SEGMENT, /* hdr is the already encoded header segment */
	M_PAYLOAD_SEGMENT, /* claims is the already encoded payload segment */
	M_OVERSIZE, /* grow past AUTH_JWT_MAX */
};

struct jwt_case {
	const char *name;
	enum tkey key;
	const char *sign; /* algorithm used to sign */
	const char *hdr, *claims;
	enum mutation mut;
	uint32_t algs; /* 0: default */
	bool at_jwt;
	enum status want;
	const char *msg_has;
};

/* What most cases share: an RS256 token under key r1, no mutation and the default rules, a refusal.
 */
#define R1_RS256 K_R1, "RS256", HDR("RS256", "r1")
#define PLAIN	 M_NONE, 0, false
#define REJECT	 ST_UNAUTHENTICATED

static const struct jwt_case cases[] = {
	/* the good ones */
	{"valid RS256", R1_RS256, OK_CL, PLAIN, ST_OK, NULL},
	{"valid PS256", K_R1, "PS256", HDR("PS256", "r1"), OK_CL, PLAIN, ST_OK, NULL},
	{"valid ES256", K_E1, "ES256", HDR("ES256", "e1"), OK_CL, PLAIN, ST_OK, NULL},
	{"valid ES384 when allowed", K_E2, "ES384", HDR("ES384", "e2"), OK_CL, M_NONE,
	 AUTH_ALG_ES384, false, ST_OK, NULL},
	{"valid RS512 when allowed", K_R1, "RS512", HDR("RS512", "r1"), OK_CL, M_NONE,
	 AUTH_ALG_RS512, false, ST_OK, NULL},
	{"no kid, one EC key", K_E1, "ES256", HDR_NOKID("ES256"), OK_CL, PLAIN, ST_OK, NULL},
	{"no kid, one key fits PS256", K_R1, "PS256", HDR_NOKID("PS256"), OK_CL, PLAIN, ST_OK,
	 NULL},
	{"aud array", R1_RS256, "{\"iss\":\"" ISS "\",\"aud\":[\"other\",\"api\"],\"exp\":2000}",
	 PLAIN, ST_OK, NULL},
	{"expired within leeway", R1_RS256, CL("\"exp\":1450"), PLAIN, ST_OK, NULL},
	{"nbf within leeway", R1_RS256, CL("\"exp\":2000,\"nbf\":1550"), PLAIN, ST_OK, NULL},
	{"fractional exp", R1_RS256, CL("\"exp\":2000.5"), PLAIN, ST_OK, NULL},
	{"at+jwt required and given", K_R1, "RS256", HDR_TYP("RS256", "at+jwt"), AT_OK, M_NONE, 0,
	 true, ST_OK, NULL},
	{"application/AT+JWT accepted", K_R1, "RS256", HDR_TYP("RS256", "application/AT+JWT"),
	 AT_OK, M_NONE, 0, true, ST_OK, NULL},
	{"plain JWT when at+jwt not required", K_R1, "RS256", HDR_TYP("RS256", "JWT"), OK_CL, PLAIN,
	 ST_OK, NULL},

	/* signatures */
	{"signed by another key", K_RX, "RS256", HDR("RS256", "r1"), OK_CL, PLAIN, REJECT,
	 "does not verify"},
	{"EC signed by another key", K_EX, "ES256", HDR("ES256", "e1"), OK_CL, PLAIN, REJECT,
	 "does not verify"},
	{"flipped RSA signature", R1_RS256, OK_CL, M_FLIP_SIG, 0, false, REJECT, "does not verify"},
	{"flipped EC signature", K_E1, "ES256", HDR("ES256", "e1"), OK_CL, M_FLIP_SIG, 0, false,
	 REJECT, "does not verify"},
	{"RS256 header, PS256 signature", K_R1, "PS256", HDR("RS256", "r1"), OK_CL, PLAIN, REJECT,
	 "does not verify"},
	{"short EC signature", K_E1, "ES256", HDR("ES256", "e1"), OK_CL, M_CUT_SIG, 0, false,
	 REJECT, "bytes"},
	{"short RSA signature", R1_RS256, OK_CL, M_CUT_SIG, 0, false, REJECT, "bytes"},
	{"no signature", R1_RS256, OK_CL, M_NO_SIG, 0, false, REJECT, "no signature"},
	{"padded signature", R1_RS256, OK_CL, M_PAD_SIG, 0, false, REJECT, "base64url"},

	/* algorithms */
	{"alg none", K_R1, "none", HDR_NOKID("none"), OK_CL, PLAIN, REJECT,
	 "'none' is never accepted"},
	{"alg None", K_R1, "none", HDR_NOKID("None"), OK_CL, PLAIN, REJECT, "never accepted"},
	{"HS256 keyed with the RSA public key", K_R1, "HS256", HDR("HS256", "r1"), OK_CL, PLAIN,
	 REJECT, "HMAC"},
	{"unknown alg", K_R1, "RS256", HDR("RS257", "r1"), OK_CL, PLAIN, REJECT, "not supported"},
	{"alg not in allow-list", R1_RS256, OK_CL, M_NONE, AUTH_ALG_ES256, false, REJECT,
	 "not allowed (allowed: ES256)"},
	{"ES384 not in default list", K_E2, "ES384", HDR("ES384", "e2"), OK_CL, PLAIN, REJECT,
	 "not allowed"},
	{"ES256 with RSA kid", K_E1, "ES256", HDR("ES256", "r1"), OK_CL, PLAIN, REJECT,
	 "key 'r1' is RSA but ES256 needs EC P-256"},
	{"RS256 with EC kid", K_R1, "RS256", HDR("RS256", "e1"), OK_CL, PLAIN, REJECT,
	 "is EC P-256"},
	{"PS256 with an RS256-only key", K_R2, "PS256", HDR("PS256", "r2"), OK_CL, PLAIN, REJECT,
	 "key 'r2' is for RS256, not PS256"},
	{"alg missing", K_R1, "RS256", "{\"kid\":\"r1\"}", OK_CL, PLAIN, REJECT, "no 'alg'"},
	{"crit header", K_R1, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"exp\"]}",
	 OK_CL, PLAIN, REJECT, "crit"},

	/* keys */
	{"unknown kid", K_R1, "RS256", HDR("RS256", "nope"), OK_CL, PLAIN, ST_NOT_FOUND,
	 "kid 'nope'"},
	{"no kid, two RSA keys fit", K_R1, "RS256", HDR_NOKID("RS256"), OK_CL, PLAIN, REJECT,
	 "2 keys fit"},
	{"no kid, one P-384 key", K_E2, "ES384", HDR_NOKID("ES384"), OK_CL, M_NONE,
	 AUTH_ALG_ES384 | AUTH_ALG_RS256, false, ST_OK, NULL},
	{"kid not a string", K_R1, "RS256", "{\"alg\":\"RS256\",\"kid\":7}", OK_CL, PLAIN, REJECT,
	 "'kid' must be a string"},

	/* claims */
	{"wrong iss", R1_RS256, "{\"iss\":\"https://evil.example\",\"aud\":\"api\",\"exp\":2000}",
	 PLAIN, REJECT, "issuer 'https://evil.example' is not"},
	{"no iss", R1_RS256, "{\"aud\":\"api\",\"exp\":2000}", PLAIN, REJECT, "no 'iss'"},
	{"aud missing", R1_RS256, "{\"iss\":\"" ISS "\",\"exp\":2000}", PLAIN, REJECT, "no 'aud'"},
	{"wrong aud", R1_RS256, "{\"iss\":\"" ISS "\",\"aud\":\"other\",\"exp\":2000}", PLAIN,
	 REJECT, "does not include 'api'"},
	{"aud array without us", R1_RS256,
	 "{\"iss\":\"" ISS "\",\"aud\":[\"a\",\"b\"],\"exp\":2000}", PLAIN, REJECT,
	 "does not include"},
	{"aud number", R1_RS256, "{\"iss\":\"" ISS "\",\"aud\":5,\"exp\":2000}", PLAIN, REJECT,
	 "'aud' must be"},
	{"exp missing", R1_RS256, "{" BASE "}", PLAIN, REJECT, "no 'exp'"},
	{"expired", R1_RS256, CL("\"exp\":1400"), PLAIN, REJECT, "expired 100 s ago"},
	{"expired at the leeway edge", R1_RS256, CL("\"exp\":1440"), PLAIN, REJECT, "expired"},
	{"exp a string", R1_RS256, CL("\"exp\":\"2000\""), PLAIN, REJECT, "'exp' must be a number"},
	{"exp out of range", R1_RS256, CL("\"exp\":1e300"), PLAIN, REJECT, "out of range"},
	{"nbf in the future", R1_RS256, CL("\"exp\":2000,\"nbf\":1600"), PLAIN, REJECT,
	 "not valid for another 100 s"},
	{"iat in the future", R1_RS256, CL("\"exp\":2000,\"iat\":1600"), PLAIN, REJECT,
	 "issued 100 s in the future"},
	{"sub not a string", R1_RS256,
	 "{\"iss\":\"" ISS "\",\"aud\":\"api\",\"exp\":2000,\"sub\":1}", PLAIN, REJECT, "'sub'"},
	{"at+jwt required, typ JWT", K_R1, "RS256", HDR_TYP("RS256", "JWT"), OK_CL, M_NONE, 0, true,
	 REJECT, "type 'JWT' is not at+jwt"},
	{"at+jwt required, typ missing", R1_RS256, OK_CL, M_NONE, 0, true, REJECT, "type '(none)'"},
	/* RFC 9068 §2.2's claims, required in strict mode only */
	{"at+jwt without client_id", K_R1, "RS256", HDR_TYP("RS256", "at+jwt"),
	 AT_CL("\"sub\":\"u1\",\"iat\":1500,\"jti\":\"j1\""), M_NONE, 0, true, REJECT,
	 "no 'client_id' claim"},
	{"at+jwt without jti", K_R1, "RS256", HDR_TYP("RS256", "at+jwt"),
	 AT_CL("\"sub\":\"u1\",\"client_id\":\"c1\",\"iat\":1500"), M_NONE, 0, true, REJECT,
	 "no 'jti' claim"},
	{"at+jwt without iat", K_R1, "RS256", HDR_TYP("RS256", "at+jwt"),
	 AT_CL("\"sub\":\"u1\",\"client_id\":\"c1\",\"jti\":\"j1\""), M_NONE, 0, true, REJECT,
	 "no 'iat' claim"},
	{"at+jwt without sub", K_R1, "RS256", HDR_TYP("RS256", "at+jwt"),
	 AT_CL("\"client_id\":\"c1\",\"iat\":1500,\"jti\":\"j1\""), M_NONE, 0, true, REJECT,
	 "no 'sub' claim"},
	{"at+jwt with an empty jti", K_R1, "RS256", HDR_TYP("RS256", "at+jwt"),
	 AT_CL("\"sub\":\"u1\",\"client_id\":\"c1\",\"iat\":1500,\"jti\":\"\""), M_NONE, 0, true,
	 REJECT, "no 'jti' claim"},
	{"at+jwt with a numeric client_id", K_R1, "RS256", HDR_TYP("RS256", "at+jwt"),
	 AT_CL("\"sub\":\"u1\",\"client_id\":7,\"iat\":1500,\"jti\":\"j1\""), M_NONE, 0, true,
	 REJECT, "no 'client_id' claim"},
	{"typ at+jwt without its claims, not strict", K_R1, "RS256", HDR_TYP("RS256", "at+jwt"),
	 OK_CL, PLAIN, ST_OK, NULL},

	/* structure */
	{"empty", K_R1, NULL, "", NULL, M_RAW, 0, false, REJECT, "empty"},
	{"one part", K_R1, NULL, "abc", NULL, M_RAW, 0, false, REJECT, "three parts"},
	{"four parts", K_R1, NULL, "a.b.c.d", NULL, M_RAW, 0, false, REJECT, "three parts"},
	{"empty header", K_R1, NULL, ".b.c", NULL, M_RAW, 0, false, REJECT, "empty header"},
	{"header with padding", K_R1, "RS256", "eyJhbGciOiJSUzI1NiJ9=", OK_CL, M_HDR_SEGMENT, 0,
	 false, REJECT, "header is not valid base64url"},
	{"header with '+'", K_R1, "RS256", "eyJhbGciOiJSUzI1+iJ9", OK_CL, M_HDR_SEGMENT, 0, false,
	 REJECT, "header is not valid base64url"},
	{"header non-canonical bits", K_R1, "RS256", "QR", OK_CL, M_HDR_SEGMENT, 0, false, REJECT,
	 "header is not valid base64url"},
	{"header not JSON", K_R1, "RS256", "bm90IGpzb24", OK_CL, M_HDR_SEGMENT, 0, false, REJECT,
	 "header is not valid JSON: "},
	{"payload not base64url", R1_RS256, "e30*", M_PAYLOAD_SEGMENT, 0, false, REJECT,
	 "payload is not valid base64url"},
	{"payload an array", R1_RS256, "W10", M_PAYLOAD_SEGMENT, 0, false, REJECT,
	 "payload must be a JSON object"},
	{"oversize token", R1_RS256, OK_CL, M_OVERSIZE, 0, false, REJECT, "longer than 16384"},
	/* a key twice: another library would read the first, json-c the last */
	{"alg twice in the header", K_R1, "RS256",
	 "{\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"r1\"}", OK_CL, PLAIN, REJECT,
	 "header has a key twice in one object (the object at byte 0)"},
	{"sub twice in the claims", R1_RS256, "{" BASE ",\"sub\":\"admin\",\"exp\":2000}", PLAIN,
	 REJECT, "payload has a key twice in one object"},
	/* json-c ends a key at an escaped NUL: "alg\u0000x" would be "alg" to it alone */
	{"a NUL in a header key", K_R1, "RS256",
	 "{\"alg\\u0000x\":\"none\",\"alg\":\"RS256\",\"kid\":\"r1\"}", OK_CL, PLAIN, REJECT,
	 "header has a key with a NUL character (\\u0000) at byte"},
};

static EVP_PKEY *keys[K__COUNT];
static struct auth_keyset *keyset;

static int setup(void **state)
{
	char *jwks;
	char *j[4];
	struct err e = {0};

	(void)state;
	keys[K_R1] = tk_rsa(2048);
	keys[K_R2] = tk_rsa(2048);
	keys[K_RX] = tk_rsa(2048);
	keys[K_E1] = tk_ec("P-256");
	keys[K_EX] = tk_ec("P-256");
	keys[K_E2] = tk_ec("P-384");
	j[0] = tk_jwk(keys[K_R1], "r1", "");
	j[1] = tk_jwk(keys[K_R2], "r2", ",\"alg\":\"RS256\"");
	j[2] = tk_jwk(keys[K_E1], "e1", ",\"alg\":\"ES256\"");
	j[3] = tk_jwk(keys[K_E2], "e2", "");
	jwks = xasprintf("{\"keys\":[%s,%s,%s,%s]}", j[0], j[1], j[2], j[3]);
	if (auth_keyset_parse(jwks, strlen(jwks), &keyset, &e) != ST_OK) {
		fprintf(stderr, "jwks: %s\n", e.msg);
		return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(j); i++)
		free(j[i]);
	free(jwks);
	return auth_keyset_count(keyset) == 4 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < K__COUNT; i++)
		EVP_PKEY_free(keys[i]);
	auth_keyset_unref(keyset);
	return 0;
}

/* The signature segment starts after the last '.'. */
static char *last_part(char *tok)
{
	return strrchr(tok, '.') + 1;
}

static void mutate(char **tok, enum mutation m)
{
	char *sig = last_part(*tok), *grown;
	size_t n = strlen(sig);

	switch (m) {
	case M_FLIP_SIG:
		sig[n / 2] = sig[n / 2] == 'A' ? 'B' : 'A';
		break;
	case M_CUT_SIG: /* a whole base64 group, so the rest still decodes */
		memmove(sig, sig + 4, n - 3);
		break;
	case M_NO_SIG:
		sig[0] = '\0';
		break;
	case M_PAD_SIG:
	case M_OVERSIZE: {
		size_t len = strlen(*tok), extra = m == M_PAD_SIG ? 1 : AUTH_JWT_MAX + 1;

		grown = xmalloc(len + extra + 1);
		memcpy(grown, *tok, len);
		memset(grown + len, m == M_PAD_SIG ? '=' : 'A', extra);
		grown[len + extra] = '\0';
		free(*tok);
		*tok = grown;
		break;
	}
	default:
		break;
	}
}

/* Builds the token of case c; caller frees. */
static char *build(const struct jwt_case *c)
{
	char *tok, *seg;

	if (c->mut == M_RAW)
		return xstrdup(c->hdr);
	if (c->mut == M_HDR_SEGMENT) {
		/* sign something valid, then swap in the literal header */
		tok = tk_sign(keys[c->key], c->sign, HDR("RS256", "r1"), OK_CL);
		seg = xasprintf("%s%s", c->hdr, strchr(tok, '.'));
		free(tok);
		return seg;
	}
	if (c->mut == M_PAYLOAD_SEGMENT) {
		/* a bad payload the key really signed: the signature passes, the payload fails */
		unsigned char sig[1024];
		char *h = auth_b64url_encode(c->hdr, strlen(c->hdr)), *s;
		char *input = xasprintf("%s.%s", h, c->claims);

		s = auth_b64url_encode(sig, tk_sig(keys[c->key], c->sign, input, sig, sizeof(sig)));
		tok = xasprintf("%s.%s", input, s);
		free(h);
		free(s);
		free(input);
		return tok;
	}
	tok = tk_sign(keys[c->key], c->sign, c->hdr, c->claims);
	mutate(&tok, c->mut);
	return tok;
}

static void run_case(const struct jwt_case *c)
{
	struct auth_jwt_rules rules = {ISS, "api", c->algs, 60, c->at_jwt};
	struct auth_jwt jwt;
	struct err e = {0};
	char *tok = build(c);
	enum status got = auth_jwt_verify(tok, keyset, &rules, NOW, &jwt, &e);

	if (got != c->want)
		fail_msg("case '%s': got %s, want %s (%s)", c->name, status_name(got),
			 status_name(c->want), e.msg);
	if (c->msg_has && !strstr(e.msg, c->msg_has))
		fail_msg("case '%s': message '%s' lacks '%s'", c->name, e.msg, c->msg_has);
	/* no message may echo the token, or any long piece of it */
	if (strlen(tok) > 40 && got != ST_OK && strstr(e.msg, tok + strlen(tok) - 40))
		fail_msg("case '%s': message contains the token", c->name);
	if (got == ST_OK && (!jwt.claims || strcmp(jwt.iss, ISS) != 0))
		fail_msg("case '%s': result not filled", c->name);
	if (got != ST_OK && jwt.claims)
		fail_msg("case '%s': result filled on failure", c->name);
	auth_jwt_release(&jwt);
	free(tok);
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		run_case(&cases[i]);
}

static void test_result_fields(void **state)
{
	struct auth_jwt_rules rules = {ISS, "api", 0, 0, false};
	struct auth_jwt jwt;
	char *tok = tk_sign(keys[K_E1], "ES256", HDR("ES256", "e1"), OK_CL);

	(void)state;
	assert_int_equal(auth_jwt_verify(tok, keyset, &rules, NOW, &jwt, NULL), ST_OK);
	assert_string_equal(jwt.alg, "ES256");
	assert_string_equal(jwt.kid, "e1");
	assert_string_equal(jwt.sub, "u1");
	assert_int_equal(jwt.exp, 2000);
	auth_jwt_release(&jwt);
	auth_jwt_release(&jwt); /* released twice is harmless */
	free(tok);
}

static void test_bad_rules(void **state)
{
	struct auth_jwt_rules rules = {NULL, "api", 0, 0, false};
	struct auth_jwt jwt;
	struct err e = {0};

	(void)state;
	assert_int_equal(auth_jwt_verify("a.b.c", keyset, &rules, NOW, &jwt, &e), ST_INTERNAL);
}

static void test_no_kid_no_key(void **state)
{
	struct auth_jwt_rules rules = {ISS, "api", 0, 60, false};
	struct auth_keyset *rsa_only;
	struct auth_jwt jwt;
	struct err e = {0};
	char *jwk = tk_jwk(keys[K_R1], "r1", "");
	char *jwks = xasprintf("{\"keys\":[%s]}", jwk);
	char *tok = tk_sign(keys[K_E1], "ES256", HDR_NOKID("ES256"), OK_CL);

	(void)state;
	assert_int_equal(auth_keyset_parse(jwks, strlen(jwks), &rsa_only, &e), ST_OK);
	/* a refetch could bring an EC key, so this is "not found", not a plain failure */
	assert_int_equal(auth_jwt_verify(tok, rsa_only, &rules, NOW, &jwt, &e), ST_NOT_FOUND);
	assert_non_null(strstr(e.msg, "no EC P-256 key"));
	auth_keyset_unref(rsa_only);
	free(tok);
	free(jwks);
	free(jwk);
}

static void test_peek_issuer(void **state)
{
	char *tok = tk_sign(keys[K_RX], "RS256", HDR("RS256", "zz"), OK_CL);
	char *iss = NULL;
	struct err e = {0};

	(void)state;
	/* peek trusts nothing: a bad signature still reveals iss */
	assert_int_equal(auth_jwt_peek_issuer(tok, &iss, &e), ST_OK);
	assert_string_equal(iss, ISS);
	free(iss);
	free(tok);
	tok = tk_sign(keys[K_R1], "RS256", HDR("RS256", "r1"), "{\"exp\":1}");
	assert_int_equal(auth_jwt_peek_issuer(tok, &iss, &e), ST_UNAUTHENTICATED);
	assert_null(iss);
	assert_non_null(strstr(e.msg, "no 'iss'"));
	free(tok);
	assert_int_equal(auth_jwt_peek_issuer("x", &iss, &e), ST_UNAUTHENTICATED);
}

static const struct {
	const char *in;
	const char *out; /* NULL: must be rejected */
} b64_cases[] = {
	{"", ""},
	{"QQ", "A"},
	{"QUI", "AB"},
	{"QUJD", "ABC"},
	{"QR", NULL}, /* trailing bits not zero */
	{"QUJ", NULL},
	{"Q", NULL}, /* impossible length */
	{"QQ==", NULL}, /* padding */
	{"Q Q", NULL},
	{"Pz8_", "??\x3f"},
	{"Pz8/", NULL}, /* standard alphabet */
	{"-_-_", "\xfb\xff\xbf"},
};

static void test_b64url(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(b64_cases); i++) {
		unsigned char *out = NULL;
		size_t n = 0;
		bool ok = auth_b64url_decode(b64_cases[i].in, strlen(b64_cases[i].in), &out, &n);

		if (ok != (b64_cases[i].out != NULL))
			fail_msg("b64 '%s': got %d", b64_cases[i].in, ok);
		if (ok) {
			char *back = auth_b64url_encode(out, n);

			assert_int_equal(n, strlen(b64_cases[i].out));
			assert_memory_equal(out, b64_cases[i].out, n);
			assert_string_equal(back, b64_cases[i].in);
			free(back);
		}
		free(out);
	}
}

static const struct {
	const char *in;
	uint32_t want; /* 0: rejected */
	const char *msg_has;
} algs_cases[] = {
	{"RS256, ES256, PS256", AUTH_ALGS_DEFAULT, NULL},
	{"  ES384 ", AUTH_ALG_ES384, NULL},
	{"RS256,RS256", AUTH_ALG_RS256, NULL},
	{"", 0, "empty"},
	{" , ", 0, "empty"},
	{"none", 0, "never accepted"},
	{"RS256,HS256", 0, "'HS256' is never accepted"},
	{"hs512", 0, "never accepted"},
	{"rs256", 0, "not supported"},
	{"EdDSA", 0, "not supported"},
	{"RS256XXXXXXXXXXXXXXXXXXXXXXXX", 0, "not supported"},
};

static void test_algs_parse(void **state)
{
	char text[AUTH_ALGS_NAMES_MAX];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(algs_cases); i++) {
		uint32_t got = 0;
		struct err e = {0};
		enum status st = auth_algs_parse(algs_cases[i].in, &got, &e);

		if ((st == ST_OK) != (algs_cases[i].want != 0) || got != algs_cases[i].want)
			fail_msg("algs '%s': got %s 0x%x (%s)", algs_cases[i].in, status_name(st),
				 got, e.msg);
		if (algs_cases[i].msg_has && !strstr(e.msg, algs_cases[i].msg_has))
			fail_msg("algs '%s': message '%s'", algs_cases[i].in, e.msg);
	}
	auth_algs_format(AUTH_ALGS_DEFAULT, text, sizeof(text));
	assert_string_equal(text, "RS256, PS256, ES256");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),	    cmocka_unit_test(test_result_fields),
		cmocka_unit_test(test_bad_rules),   cmocka_unit_test(test_no_kid_no_key),
		cmocka_unit_test(test_peek_issuer), cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_algs_parse),
	};

	return cmocka_run_group_tests_name("auth/jwt", tests, setup, teardown);
}
