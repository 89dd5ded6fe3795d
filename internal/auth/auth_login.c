/*
 * auth_login.c - the console's OpenID Connect authorization code flow with
 * PKCE (RFC 7636, S256): random state / nonce / verifier, the authorization
 * URL, and the code exchange at the token endpoint as a confidential client
 * (client_secret_basic).  The ID token is checked by the caller with
 * auth_oidc_verify_id_token and its nonce.
 */
#include "base/base.h"
#include "auth/auth_int.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "json/jx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

/*
 * 32 random bytes (256 bits) for each of state, nonce and verifier: RFC 7636 asks at least that
 * much entropy of a verifier, and the same size serves the others.  The raw bytes are wiped.
 */
enum status auth_random_b64url(char out[AUTH_PKCE_VERIFIER_LEN + 1], struct err *e)
{
	unsigned char raw[32];
	char *s;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return err_set(e, ST_INTERNAL, "no random bytes");
	s = auth_b64url_encode(raw, sizeof(raw));
	snprintf(out, AUTH_PKCE_VERIFIER_LEN + 1, "%s", s);
	OPENSSL_cleanse(raw, sizeof(raw));
	free(s);
	return ST_OK;
}

/* S256: base64url(SHA-256(verifier)). */
static char *pkce_challenge(const char *verifier)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(verifier, strlen(verifier), md, &n, EVP_sha256(), NULL);
	return auth_b64url_encode(md, n);
}

/* A URL or form being built; full is set once anything did not fit. */
struct ubuf {
	struct buf b;
	bool full;
};

static void put(struct ubuf *u, const char *s, size_t n)
{
	if (!u->full && buf_add(&u->b, s, n, NULL) != ST_OK)
		u->full = true;
}

/* Appends s percent-encoded (RFC 3986 unreserved characters kept). */
static void add_encoded(struct ubuf *u, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c))
			put(u, s, 1);
		else
			put(u, esc, 3);
	}
}

static void add_param(struct ubuf *u, const char *key, const char *value)
{
	if (u->b.len && u->b.data[u->b.len - 1] != '?')
		put(u, "&", 1);
	put(u, key, strlen(key));
	put(u, "=", 1);
	add_encoded(u, value);
}

/* The built text (caller frees), or NULL when it did not fit. */
static char *ubuf_take(struct ubuf *u)
{
	if (u->full) {
		buf_release(&u->b);
		return NULL;
	}
	return buf_detach(&u->b, NULL);
}

/*
 * Endpoints come from the issuer's discovery document, never from the request, so a login can
 * only ever be sent to the configured provider.  NULL until discovery has succeeded once.
 */
char *auth_login_url(struct auth_oidc *p, const struct auth_login_request *r)
{
	struct ubuf u = {0};
	struct auth_endpoints ep;
	char *challenge;

	auth_oidc_endpoints(p, &ep);
	if (!ep.authorization[0])
		return NULL;
	challenge = pkce_challenge(r->verifier);
	buf_init(&u.b, 16384);
	put(&u, ep.authorization, strlen(ep.authorization));
	put(&u, strchr(ep.authorization, '?') ? "&" : "?", 1);
	add_param(&u, "response_type", "code");
	add_param(&u, "client_id", r->client_id);
	add_param(&u, "redirect_uri", r->redirect_uri);
	add_param(&u, "scope", r->scope);
	add_param(&u, "state", r->state);
	add_param(&u, "nonce", r->nonce);
	add_param(&u, "code_challenge", challenge);
	add_param(&u, "code_challenge_method", "S256");
	free(challenge);
	return ubuf_take(&u);
}

/* "error" and "error_description" of a refusal, for the message. */
/*
 * A provider's own refusal (bad or reused code) is the user's login failing, 401; anything
 * else from the token endpoint is the provider being unavailable to us, 503.
 */
static enum status refused(const struct buf *body, long status, struct err *e)
{
	json_object *o = NULL;
	enum status st;

	if (jx_parse_object(body->data, body->len, &o, NULL) == ST_OK && jx_get_str(o, "error"))
		st = err_set(e, ST_UNAUTHENTICATED, "the provider refused the code: %.80s%s%.200s",
			     jx_get_str(o, "error"), jx_get_str(o, "error_description") ? ": " : "",
			     jx_get_str(o, "error_description") ? jx_get_str(o, "error_description")
								: "");
	else
		st = err_set(e, ST_UNAVAILABLE, "token endpoint answered HTTP %ld", status);
	json_object_put(o);
	return st;
}

static char *exchange_form(const struct auth_login_request *r, const char *code)
{
	struct ubuf u = {0};

	buf_init(&u.b, 65536);
	add_param(&u, "grant_type", "authorization_code");
	add_param(&u, "code", code);
	add_param(&u, "redirect_uri", r->redirect_uri);
	add_param(&u, "code_verifier", r->verifier);
	add_param(&u, "client_id", r->client_id);
	return ubuf_take(&u);
}

/*
 * The form holds the code and the PKCE verifier, both single-use secrets, so it is wiped before
 * it is freed.  The ID token is returned unverified: the caller verifies it with the nonce.
 */
enum status auth_login_exchange(struct auth_oidc *p, const struct auth_login_request *r,
				const char *code, const char *client_secret, char **id_token,
				struct err *e)
{
	struct auth_fetcher *f = auth_oidc_fetcher(p);
	struct auth_endpoints ep;
	json_object *o = NULL;
	char *form;
	struct buf body;
	long status = 0;
	enum status st;

	*id_token = NULL;
	auth_oidc_endpoints(p, &ep);
	if (!ep.token[0] || !f->post)
		return err_set(e, ST_UNAVAILABLE, "the provider's token endpoint is not known yet");
	form = exchange_form(r, code);
	if (!form)
		return err_set(e, ST_UNAUTHENTICATED, "authorization code too long");
	buf_init(&body, AUTH_FETCH_MAX);
	st = f->post(f, &(struct auth_post){ep.token, form, r->client_id, client_secret}, &body,
		     &status, e);
	if (st == ST_OK && status != 200)
		st = refused(&body, status, e);
	if (st == ST_OK &&
	    (jx_parse_object(body.data, body.len, &o, NULL) != ST_OK || !jx_get_str(o, "id_token")))
		st = err_set(e, ST_UNAUTHENTICATED, "the token endpoint returned no id_token");
	if (st == ST_OK)
		*id_token = xstrdup(jx_get_str(o, "id_token"));
	json_object_put(o);
	OPENSSL_cleanse(form, strlen(form));
	free(form);
	buf_release(&body);
	return st;
}
