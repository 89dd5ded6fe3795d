/*
 * auth_oidc_test.c - OIDC issuers with a fake fetcher and the injected clock:
 * URL rules, discovery checks, key rotation through an unknown kid, the
 * refresh rate limit, last good keys kept when the IdP fails, key swaps
 * under concurrent readers, and routing between several trusted issuers.
 * No network.
 */
#include <stdarg.h> /* cmocka 1.1.x needs these four before <cmocka.h> */
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_testutil.h"
#include "base/timeutil.h"

#define ISS	 "https://idp.example"
#define ISS2	 "http://127.0.0.1:8080/realms/ci"
#define DISC_URL ISS "/.well-known/openid-configuration"
#define JWKS_URL ISS "/jwks"
#define T0	 INT64_C(1000000) /* seconds */

static int64_t now_us;

static int64_t fake_clock(void)
{
	return now_us;
}

/* Serves fixed bodies by URL; counts the requests. */
struct fake {
	struct auth_fetcher base;
	struct {
		char *url, *body;
	} pages[4];
	bool down;
	int gets;
};

static enum status fake_get(struct auth_fetcher *f, const char *url, struct buf *body,
			    struct err *e)
{
	struct fake *fk = (struct fake *)f;

	fk->gets++;
	if (fk->down)
		return err_set(e, ST_UNAVAILABLE, "connection refused");
	for (size_t i = 0; i < ARRAY_SIZE(fk->pages); i++)
		if (fk->pages[i].url && strcmp(fk->pages[i].url, url) == 0)
			return buf_adds(body, fk->pages[i].body, e);
	return err_set(e, ST_UNAVAILABLE, "HTTP status 404");
}

static void fake_free(struct auth_fetcher *f)
{
	struct fake *fk = (struct fake *)f;

	for (size_t i = 0; i < ARRAY_SIZE(fk->pages); i++) {
		free(fk->pages[i].url);
		free(fk->pages[i].body);
	}
	free(fk);
}

static void fake_set(struct fake *fk, size_t i, const char *url, const char *body)
{
	free(fk->pages[i].url);
	free(fk->pages[i].body);
	fk->pages[i].url = url ? xstrdup(url) : NULL;
	fk->pages[i].body = body ? xstrdup(body) : NULL;
}

static struct fake *fake_new(void)
{
	struct fake *fk = xcalloc(1, sizeof(*fk));

	fk->base.get = fake_get;
	fk->base.free = fake_free;
	return fk;
}

static EVP_PKEY *ka, *kb;

static int setup(void **state)
{
	(void)state;
	ka = tk_ec("P-256");
	kb = tk_ec("P-256");
	time_set_clock(fake_clock);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	time_set_clock(NULL);
	return 0;
}

/* {"keys":[...]} with k1 as kid1 and, when k2 is set, k2 as kid2. */
static char *jwks(EVP_PKEY *k1, const char *kid1, EVP_PKEY *k2, const char *kid2)
{
	char *a = tk_jwk(k1, kid1, ""), *b = k2 ? tk_jwk(k2, kid2, "") : NULL;
	char *out = xasprintf("{\"keys\":[%s%s%s]}", a, b ? "," : "", b ? b : "");

	free(a);
	free(b);
	return out;
}

/* Serves ISS's discovery document and JWK set k1/kid1. */
static struct fake *idp(EVP_PKEY *k1, const char *kid1)
{
	struct fake *fk = fake_new();
	char *set = jwks(k1, kid1, NULL, NULL);

	fake_set(fk, 0, DISC_URL, "{\"issuer\":\"" ISS "\",\"jwks_uri\":\"" JWKS_URL "\"}");
	fake_set(fk, 1, JWKS_URL, set);
	free(set);
	return fk;
}

static struct auth_oidc *provider(struct fake *fk)
{
	struct auth_oidc_opts o = {.issuer = ISS, .audience = "api", .leeway_s = 60};
	struct auth_oidc *p = NULL;
	struct err e = {0};

	now_us = T0 * INT64_C(1000000);
	if (auth_oidc_new(&o, &fk->base, &p, &e) != ST_OK)
		fail_msg("new: %s", e.msg);
	return p;
}

static char *token(EVP_PKEY *k, const char *kid, const char *iss)
{
	char *hdr = xasprintf("{\"alg\":\"ES256\",\"kid\":\"%s\"}", kid);
	char *claims = xasprintf("{\"iss\":\"%s\",\"aud\":\"api\",\"sub\":\"u1\",\"exp\":%lld}",
				 iss, (long long)(T0 + 600));
	char *tok = tk_sign(k, "ES256", hdr, claims);

	free(hdr);
	free(claims);
	return tok;
}

static enum status verify(struct auth_oidc *p, const char *tok, struct err *e)
{
	struct auth_jwt jwt;
	enum status st = auth_oidc_verify(p, tok, &jwt, e);

	auth_jwt_release(&jwt);
	return st;
}

static const struct {
	const char *url;
	bool ok;
} url_cases[] = {
	{"https://idp.example", true},
	{"https://idp.example:8443/realms/x", true},
	{"HTTPS://IDP.example/", true},
	{"http://127.0.0.1:8080/realms/x", true},
	{"http://localhost", true},
	{"http://LOCALHOST:9000/", true},
	{"http://[::1]:9000/x", true},
	{"http://idp.example", false},
	{"http://127.0.0.1.nip.io/", false},
	{"http://127.0.0.2/", false},
	{"http://localhost@evil.example/", false},
	{"https://user:pw@idp.example/", false},
	{"http://localhost:80x/", false},
	{"http://localhost:/", false},
	{"http://[::1]x/", false},
	{"https:///path", false},
	{"https://", false},
	{"ftp://idp.example", false},
	{"file:///etc/passwd", false},
	{"https://idp.example/a b", false},
	{"idp.example", false},
};

static void test_url_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(url_cases); i++) {
		struct err e = {0};
		bool ok = auth_url_check(url_cases[i].url, "issuer", &e) == ST_OK;

		if (ok != url_cases[i].ok)
			fail_msg("'%s': got %d (%s)", url_cases[i].url, ok, e.msg);
	}
}

static void test_new_rejects(void **state)
{
	static const struct auth_oidc_opts bad[] = {
		{.issuer = "http://idp.example", .audience = "api"},
		{.issuer = ISS, .audience = NULL},
		{.issuer = ISS, .audience = "api", .leeway_s = -1},
		{.issuer = ISS, .audience = "api", .leeway_s = AUTH_LEEWAY_MAX + 1},
		{.issuer = ISS, .audience = "api", .groups_claim = ""},
		{.issuer = NULL, .audience = "api"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct auth_oidc *p = NULL;
		struct err e = {0};

		/* the fetcher is freed even on failure: the leak checker would say otherwise */
		if (auth_oidc_new(&bad[i], &fake_new()->base, &p, &e) != ST_INVALID)
			fail_msg("opts %zu accepted", i);
		assert_null(p);
	}
}

static void test_refresh_and_verify(void **state)
{
	struct fake *fk = idp(ka, "a");
	struct auth_oidc *p = provider(fk);
	struct auth_oidc_status st;
	char *tok = token(ka, "a", ISS);
	struct err e = {0};

	(void)state;
	auth_oidc_status_get(p, &st);
	assert_false(st.have_keys);
	assert_int_equal(auth_oidc_refresh(p, true, &e), ST_OK);
	assert_int_equal(fk->gets, 2);
	auth_oidc_status_get(p, &st);
	assert_true(st.have_keys);
	assert_int_equal(st.keys, 1);
	assert_string_equal(st.last_error, "");
	assert_int_equal(st.last_ok_us, T0 * 1000000);
	if (verify(p, tok, &e) != ST_OK)
		fail_msg("verify: %s", e.msg);
	assert_int_equal(fk->gets, 2); /* cached */
	assert_string_equal(auth_oidc_issuer(p), ISS);
	assert_string_equal(auth_oidc_groups_claim(p), "groups");
	free(tok);
	auth_oidc_free(p);
}

static const struct {
	const char *disc, *jwks_url, *jwks, *msg_has;
} disc_cases[] = {
	{"{\"issuer\":\"https://evil.example\",\"jwks_uri\":\"" JWKS_URL "\"}", NULL, NULL,
	 "names issuer 'https://evil.example', not 'https://idp.example'"},
	{"{\"jwks_uri\":\"" JWKS_URL "\"}", NULL, NULL, "names issuer '(none)'"},
	{"{\"issuer\":\"" ISS "\"}", NULL, NULL, "no 'jwks_uri'"},
	{"not json", NULL, NULL,
	 "discovery document 'https://idp.example/.well-known/"
	 "openid-configuration' is not a JSON object"},
	{NULL, NULL, NULL,
	 "discovery document 'https://idp.example/.well-known/"
	 "openid-configuration': HTTP status 404"},
	{"{\"issuer\":\"" ISS "\",\"jwks_uri\":\"http://keys.example/jwks\"}", NULL, NULL,
	 "jwks_uri 'http://keys.example/jwks' must use https"},
	{"{\"issuer\":\"" ISS "\",\"jwks_uri\":\"" JWKS_URL "\"}", JWKS_URL, "[]",
	 "jwks_uri 'https://idp.example/jwks': jwks is not a JSON object"},
	{"{\"issuer\":\"" ISS "\",\"jwks_uri\":\"" JWKS_URL "\"}", JWKS_URL,
	 "{\"keys\":[{\"kty\":\"oct\"}]}", "no usable signing key"},
};

static void test_discovery_problems(void **state)
{
	char *tok = token(ka, "a", ISS);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(disc_cases); i++) {
		struct fake *fk = fake_new();
		struct auth_oidc *p;
		struct auth_oidc_status st;
		struct err e = {0};

		fake_set(fk, 0, disc_cases[i].disc ? DISC_URL : NULL, disc_cases[i].disc);
		fake_set(fk, 1, disc_cases[i].jwks_url, disc_cases[i].jwks);
		p = provider(fk);
		assert_int_equal(auth_oidc_refresh(p, true, &e), ST_UNAVAILABLE);
		if (!strstr(e.msg, disc_cases[i].msg_has))
			fail_msg("case %zu: message '%s' lacks '%s'", i, e.msg,
				 disc_cases[i].msg_has);
		auth_oidc_status_get(p, &st);
		assert_false(st.have_keys);
		assert_non_null(strstr(st.last_error, disc_cases[i].msg_has));
		/* no keys at all: 503, and the reason */
		assert_int_equal(verify(p, tok, &e), ST_UNAVAILABLE);
		assert_non_null(strstr(e.msg, "has no signing keys"));
		assert_non_null(strstr(e.msg, disc_cases[i].msg_has));
		auth_oidc_free(p);
	}
	free(tok);
}

static void test_rotation_and_rate_limit(void **state)
{
	struct fake *fk = idp(ka, "a");
	struct auth_oidc *p = provider(fk);
	char *tok_b = token(kb, "b", ISS), *tok_c = token(kb, "c", ISS);
	char *rotated = jwks(ka, "a", kb, "b");
	struct err e = {0};

	(void)state;
	assert_int_equal(auth_oidc_refresh(p, true, NULL), ST_OK);
	/* the IdP rotates to key b; a token with kid b makes us refetch */
	fake_set(fk, 1, JWKS_URL, rotated);
	now_us += 31 * INT64_C(1000000);
	if (verify(p, tok_b, &e) != ST_OK)
		fail_msg("rotated: %s", e.msg);
	assert_int_equal(fk->gets, 4);
	/* kid c is unknown even after a refetch; the next one waits 30 s */
	assert_int_equal(verify(p, tok_c, &e), ST_UNAUTHENTICATED);
	assert_non_null(strstr(e.msg, "no key with the token's kid 'c'"));
	assert_int_equal(fk->gets, 4);
	assert_int_equal(auth_oidc_refresh(p, false, &e), ST_UNAVAILABLE);
	assert_non_null(strstr(e.msg, "less than 30 s ago"));
	now_us += 29 * INT64_C(1000000);
	assert_int_equal(verify(p, tok_c, &e), ST_UNAUTHENTICATED);
	assert_int_equal(fk->gets, 4);
	now_us += 2 * INT64_C(1000000);
	assert_int_equal(verify(p, tok_c, &e), ST_UNAUTHENTICATED);
	assert_int_equal(fk->gets, 6);
	/* a clock that jumps back does not block refreshes */
	now_us -= 3600 * INT64_C(1000000);
	assert_int_equal(auth_oidc_refresh(p, false, &e), ST_OK);
	free(tok_b);
	free(tok_c);
	free(rotated);
	auth_oidc_free(p);
}

static void test_keeps_last_good_keys(void **state)
{
	struct fake *fk = idp(ka, "a");
	struct auth_oidc *p = provider(fk);
	char *tok = token(ka, "a", ISS);
	struct auth_oidc_status st;
	struct err e = {0};

	(void)state;
	assert_int_equal(auth_oidc_refresh(p, true, NULL), ST_OK);
	fk->down = true;
	now_us += 300 * INT64_C(1000000);
	assert_int_equal(auth_oidc_refresh(p, true, &e), ST_UNAVAILABLE);
	assert_non_null(strstr(e.msg, "connection refused"));
	auth_oidc_status_get(p, &st);
	assert_true(st.have_keys);
	assert_int_equal(st.last_ok_us, T0 * 1000000);
	assert_int_equal(st.last_attempt_us, now_us);
	assert_non_null(strstr(st.last_error, "connection refused"));
	if (verify(p, tok, &e) != ST_OK)
		fail_msg("cached keys: %s", e.msg);
	free(tok);
	auth_oidc_free(p);
}

static void test_down_at_start(void **state)
{
	struct fake *fk = idp(ka, "a");
	struct auth_oidc *p = provider(fk);
	char *tok = token(ka, "a", ISS);
	struct err e = {0};

	(void)state;
	fk->down = true;
	assert_int_equal(auth_oidc_refresh(p, true, NULL), ST_UNAVAILABLE);
	assert_int_equal(fk->gets, 1);
	assert_int_equal(verify(p, tok, &e), ST_UNAVAILABLE);
	assert_int_equal(fk->gets, 1); /* rate-limited: no fetch per request */
	fk->down = false;
	now_us += 30 * INT64_C(1000000);
	if (verify(p, tok, &e) != ST_OK)
		fail_msg("after recovery: %s", e.msg);
	assert_int_equal(fk->gets, 3);
	free(tok);
	auth_oidc_free(p);
}

struct worker {
	struct auth_oidc *p;
	const char *tok;
	int ok;
};

static void *verify_loop(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 200; i++)
		w->ok += verify(w->p, w->tok, NULL) == ST_OK;
	return NULL;
}

/* Key swaps under readers: the sanitizers catch a key set freed while in use. */
static void test_threads(void **state)
{
	struct fake *fk = idp(ka, "a");
	struct auth_oidc *p = provider(fk);
	char *tok = token(ka, "a", ISS);
	struct worker w[4];
	pthread_t th[4];

	(void)state;
	assert_int_equal(auth_oidc_refresh(p, true, NULL), ST_OK);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){p, tok, 0};
		assert_int_equal(pthread_create(&th[i], NULL, verify_loop, &w[i]), 0);
	}
	for (int i = 0; i < 50; i++)
		assert_int_equal(auth_oidc_refresh(p, true, NULL), ST_OK);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].ok, 200);
	}
	free(tok);
	auth_oidc_free(p);
}

static struct auth_oidc *provider2(void)
{
	struct auth_oidc_opts o = {.issuer = ISS2, .audience = "api", .refresh_min_interval_s = -1};
	struct fake *fk = fake_new();
	char *set = jwks(kb, "b", NULL, NULL);
	struct auth_oidc *p = NULL;

	fake_set(fk, 0, ISS2 "/.well-known/openid-configuration",
		 "{\"issuer\":\"" ISS2 "\",\"jwks_uri\":\"" ISS2 "/certs\"}");
	fake_set(fk, 1, ISS2 "/certs", set);
	free(set);
	assert_int_equal(auth_oidc_new(&o, &fk->base, &p, NULL), ST_OK);
	assert_int_equal(auth_oidc_refresh(p, true, NULL), ST_OK);
	return p;
}

static void test_issuers(void **state)
{
	struct auth_issuers *set = auth_issuers_new();
	struct auth_oidc *p1 = provider(idp(ka, "a")), *by = NULL;
	char *t1 = token(ka, "a", ISS), *t2 = token(kb, "b", ISS2);
	char *forged = token(ka, "b", ISS2), *stranger = token(ka, "a", "https://other.example");
	struct auth_jwt jwt;
	struct err e = {0};

	(void)state;
	assert_int_equal(auth_oidc_refresh(p1, true, NULL), ST_OK);
	assert_int_equal(auth_issuers_add(set, p1, NULL), ST_OK);
	assert_int_equal(auth_issuers_add(set, provider2(), NULL), ST_OK);
	assert_int_equal(auth_issuers_add(set, provider(idp(ka, "a")), &e), ST_CONFLICT);
	assert_int_equal(auth_issuers_count(set), 2);
	assert_int_equal(auth_issuers_verify(set, t1, &jwt, &by, &e), ST_OK);
	assert_ptr_equal(by, p1);
	auth_jwt_release(&jwt);
	assert_int_equal(auth_issuers_verify(set, t2, &jwt, &by, &e), ST_OK);
	assert_ptr_equal(by, auth_issuers_at(set, 1));
	assert_string_equal(jwt.iss, ISS2);
	auth_jwt_release(&jwt);
	/* claims ISS2 but signed with ISS's key under ISS2's kid */
	assert_int_equal(auth_issuers_verify(set, forged, &jwt, &by, &e), ST_UNAUTHENTICATED);
	assert_non_null(strstr(e.msg, "does not verify"));
	assert_int_equal(auth_issuers_verify(set, stranger, &jwt, &by, &e), ST_UNAUTHENTICATED);
	assert_non_null(strstr(e.msg, "issuer 'https://other.example' is not trusted"));
	assert_null(by);
	assert_int_equal(auth_issuers_verify(set, "junk", &jwt, NULL, &e), ST_UNAUTHENTICATED);
	free(t1);
	free(t2);
	free(forged);
	free(stranger);
	auth_issuers_free(set);
	auth_issuers_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_check),
		cmocka_unit_test(test_new_rejects),
		cmocka_unit_test(test_refresh_and_verify),
		cmocka_unit_test(test_discovery_problems),
		cmocka_unit_test(test_rotation_and_rate_limit),
		cmocka_unit_test(test_keeps_last_good_keys),
		cmocka_unit_test(test_down_at_start),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_issuers),
	};

	return cmocka_run_group_tests_name("auth/oidc", tests, setup, teardown);
}
