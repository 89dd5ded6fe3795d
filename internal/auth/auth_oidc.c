/*
 * auth_oidc.c - one trusted OpenID Connect issuer: the URL rule, discovery,
 * its JWK set cached behind a mutex, and a rate-limited refetch on an
 * unknown kid that keeps the last good keys when the fetch fails.
 *
 * Locking: fetch_lock serializes refreshes so at most one fetch per issuer is
 * in flight; lock guards the key set pointer and the status fields and is
 * never held during a fetch or a signature check.
 */
#include "base/base.h"
#include "auth/auth_int.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "json/jx.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DISCOVERY_PATH "/.well-known/openid-configuration"
#define US_PER_S       INT64_C(1000000)

struct auth_oidc {
	char *issuer, *audience, *groups_claim, *discovery_url;
	struct auth_jwt_rules rules; /* strings point at the copies above */
	int64_t min_interval_us; /* between refresh attempts; <0: none */
	struct auth_fetcher *fetcher;
	pthread_mutex_t fetch_lock;
	pthread_mutex_t lock;
	/* guarded by lock */
	struct auth_keyset *keys;
	uint64_t generation; /* bumped on every swap of keys */
	int64_t last_attempt_us, last_ok_us;
	char last_error[ERR_MSG_MAX];
	struct auth_endpoints endpoints; /* from the last good discovery document */
};

/*
 * Plain http is allowed only to these names, for a local IdP in development and tests: keys
 * fetched over http from anywhere else could be swapped by anyone on the path.
 */
static bool host_is_loopback(const char *host, size_t n)
{
	static const char *const names[] = {"127.0.0.1", "[::1]", "localhost"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == n && strncasecmp(host, names[i], n) == 0)
			return true;
	return false;
}

/*
 * Finds the host in authority a[0..n): "[v6]" or a name up to ':'.  What
 * follows it must be empty or ":" and one or more digits.
 */
static bool host_part(const char *a, size_t n, size_t *host_len)
{
	const char *close = a[0] == '[' ? memchr(a, ']', n) : NULL;
	const char *colon = memchr(a, ':', n);
	size_t h;

	if (a[0] == '[' && !close)
		return false;
	h = close ? (size_t)(close - a) + 1 : colon ? (size_t)(colon - a) : n;
	if (h < n && (a[h] != ':' || h + 1 == n))
		return false;
	for (size_t i = h + 1; i < n; i++)
		if (a[i] < '0' || a[i] > '9')
			return false;
	*host_len = h;
	return h > 0;
}

/*
 * Applied to every URL an issuer gives us (discovery, jwks_uri, endpoints) as well as to the
 * configured ones, so a discovery document cannot send us to http or to a URL with embedded
 * credentials, which would then appear in logs.
 */
enum status auth_url_check(const char *url, const char *what, struct err *e)
{
	bool https = strncasecmp(url, "https://", 8) == 0;
	bool http = !https && strncasecmp(url, "http://", 7) == 0;
	const char *auth = url + (https ? 8 : 7);
	size_t n, host_len;

	if (!https && !http)
		return err_set(e, ST_INVALID, "%s '%.200s' must be an https URL", what, url);
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return err_set(e, ST_INVALID,
				       "%s URL contains a space or control character", what);
	n = strcspn(auth, "/?#");
	if (memchr(auth, '@', n))
		return err_set(e, ST_INVALID, "%s '%.200s' must not carry user info", what, url);
	if (!host_part(auth, n, &host_len))
		return err_set(e, ST_INVALID, "%s '%.200s' has no valid host", what, url);
	if (http && !host_is_loopback(auth, host_len))
		return err_set(e, ST_INVALID,
			       "%s '%.200s' must use https (http only for 127.0.0.1, [::1], "
			       "localhost)",
			       what, url);
	return ST_OK;
}

static enum status opts_check(const struct auth_oidc_opts *o, struct err *e)
{
	if (!o->issuer || !*o->issuer)
		return err_set(e, ST_INVALID, "oidc: issuer is required");
	if (!o->audience || !*o->audience)
		return err_set(e, ST_INVALID, "oidc: audience is required");
	if (o->groups_claim && !*o->groups_claim)
		return err_set(e, ST_INVALID, "oidc: groups claim must not be empty");
	if (o->leeway_s < 0 || o->leeway_s > AUTH_LEEWAY_MAX)
		return err_set(e, ST_INVALID, "oidc: leeway must be from 0 to %d seconds",
			       AUTH_LEEWAY_MAX);
	if (o->algs & ~AUTH_ALGS_ALL)
		return err_set(e, ST_INVALID, "oidc: unknown algorithm bits");
	return auth_url_check(o->issuer, "issuer", e);
}

/* Copies the options into p; strings are duplicated, defaults filled in. */
static void opts_copy(struct auth_oidc *p, const struct auth_oidc_opts *o)
{
	size_t n = strlen(o->issuer);
	int64_t interval = o->refresh_min_interval_s;

	p->issuer = xstrdup(o->issuer);
	p->audience = xstrdup(o->audience);
	p->groups_claim = xstrdup(o->groups_claim ? o->groups_claim : AUTH_GROUPS_CLAIM_DEFAULT);
	while (n > 0 && o->issuer[n - 1] == '/') /* OIDC Discovery §4: drop the trailing '/' */
		n--;
	p->discovery_url = xasprintf("%.*s%s", (int)n, o->issuer, DISCOVERY_PATH);
	p->rules.issuer = p->issuer;
	p->rules.audience = p->audience;
	p->rules.algs = o->algs ? o->algs : AUTH_ALGS_DEFAULT;
	p->rules.leeway_s = o->leeway_s;
	p->rules.require_at_jwt = o->require_at_jwt;
	if (interval == 0)
		interval = AUTH_REFRESH_MIN_INTERVAL_S;
	p->min_interval_us = interval < 0 ? -1 : interval * US_PER_S;
}

enum status auth_oidc_new(const struct auth_oidc_opts *o, struct auth_fetcher *fetcher,
			  struct auth_oidc **out, struct err *e)
{
	struct auth_oidc *p;
	struct err le = {0};
	enum status st;

	*out = NULL;
	st = opts_check(o, &le);
	if (st == ST_OK && !fetcher)
		st = auth_fetcher_curl_new(&o->fetch, &fetcher, &le);
	if (st != ST_OK) {
		if (fetcher)
			fetcher->free(fetcher);
		if (e)
			*e = le;
		return st;
	}
	p = xcalloc(1, sizeof(*p));
	opts_copy(p, o);
	p->fetcher = fetcher;
	pthread_mutex_init(&p->fetch_lock, NULL);
	pthread_mutex_init(&p->lock, NULL);
	*out = p;
	return ST_OK;
}

void auth_oidc_free(struct auth_oidc *p)
{
	if (!p)
		return;
	auth_keyset_unref(p->keys);
	p->fetcher->free(p->fetcher);
	pthread_mutex_destroy(&p->fetch_lock);
	pthread_mutex_destroy(&p->lock);
	free(p->issuer);
	free(p->audience);
	free(p->groups_claim);
	free(p->discovery_url);
	free(p);
}

/* GETs url (checked first) and parses the body as a JSON object. */
static enum status fetch_json(struct auth_oidc *p, const char *url, const char *what,
			      json_object **out, struct err *e)
{
	struct buf body;
	enum status st;

	*out = NULL;
	if (auth_url_check(url, what, e) != ST_OK)
		return ST_INVALID;
	buf_init(&body, AUTH_FETCH_MAX);
	st = p->fetcher->get(p->fetcher, url, &body, e);
	if (st != ST_OK) {
		buf_release(&body);
		err_wrap(e, "%s '%.200s'", what, url);
		return st;
	}
	if (jx_parse_object(body.data, body.len, out, NULL) != ST_OK)
		st = err_set(e, ST_INVALID, "%s '%.200s' is not a JSON object", what, url);
	buf_release(&body);
	return st;
}

/* Discovery, then the JWK set it names.  *ks is new on success. */
static void copy_endpoint(json_object *disc, const char *key, char *out, size_t size)
{
	const char *v = jx_get_str(disc, key);

	snprintf(out, size, "%s", v && auth_url_check(v, key, NULL) == ST_OK ? v : "");
}

static void read_endpoints(json_object *disc, struct auth_endpoints *ep)
{
	copy_endpoint(disc, "authorization_endpoint", ep->authorization, sizeof(ep->authorization));
	copy_endpoint(disc, "token_endpoint", ep->token, sizeof(ep->token));
	copy_endpoint(disc, "end_session_endpoint", ep->end_session, sizeof(ep->end_session));
}

/*
 * The discovery document must name exactly the configured issuer (OpenID Connect Discovery
 * section 4.3): otherwise a document served for another issuer would make its keys sign for
 * ours.  Keys and endpoints are only returned here; publish() swaps them in under the lock.
 */
static enum status fetch_keys(struct auth_oidc *p, struct auth_keyset **ks,
			      struct auth_endpoints *ep, struct err *e)
{
	json_object *disc = NULL;
	const char *iss = NULL, *jwks_uri = NULL;
	struct buf body;
	enum status st;

	st = fetch_json(p, p->discovery_url, "discovery document", &disc, e);
	if (st != ST_OK)
		return st;
	if (jx_str(disc, "issuer", true, &iss, NULL) != ST_OK || strcmp(iss, p->issuer) != 0) {
		st = err_set(e, ST_INVALID, "discovery document names issuer '%.200s', not '%s'",
			     iss ? iss : "(none)", p->issuer);
		goto out;
	}
	if (jx_str(disc, "jwks_uri", true, &jwks_uri, NULL) != ST_OK) {
		st = err_set(e, ST_INVALID, "discovery document has no 'jwks_uri'");
		goto out;
	}
	st = auth_url_check(jwks_uri, "jwks_uri", e);
	if (st != ST_OK)
		goto out;
	read_endpoints(disc, ep);
	buf_init(&body, AUTH_FETCH_MAX);
	st = p->fetcher->get(p->fetcher, jwks_uri, &body, e);
	if (st == ST_OK)
		st = auth_keyset_parse(body.data, body.len, ks, e);
	if (st != ST_OK)
		err_wrap(e, "jwks_uri '%.200s'", jwks_uri);
	buf_release(&body);
out:
	json_object_put(disc);
	return st;
}

/* Whether a non-forced refresh must wait; reads under p->lock. */
static bool too_soon(struct auth_oidc *p, int64_t now)
{
	bool soon;

	pthread_mutex_lock(&p->lock);
	soon = p->min_interval_us >= 0 && p->last_attempt_us != 0 && now >= p->last_attempt_us &&
	       now - p->last_attempt_us < p->min_interval_us;
	pthread_mutex_unlock(&p->lock);
	return soon;
}

/* Records the outcome of a fetch; swaps in ks (taken over) when non-NULL. */
static void publish(struct auth_oidc *p, int64_t started, struct auth_keyset *ks,
		    const struct auth_endpoints *ep, const char *error)
{
	struct auth_keyset *old = NULL;

	pthread_mutex_lock(&p->lock);
	p->last_attempt_us = started;
	if (ks) {
		p->endpoints = *ep;
		old = p->keys;
		p->keys = ks;
		p->generation++;
		p->last_ok_us = time_now_us();
	}
	snprintf(p->last_error, sizeof(p->last_error), "%s", error ? error : "");
	pthread_mutex_unlock(&p->lock);
	auth_keyset_unref(old); /* outside the lock: may free many keys */
}

enum status auth_oidc_refresh(struct auth_oidc *p, bool force, struct err *e)
{
	struct auth_keyset *ks = NULL;
	struct auth_endpoints ep = {0};
	struct err fe = {0};
	int64_t now = time_now_us();
	enum status st;

	/*
	 * A request thread never waits behind a slow IdP: when another thread
	 * is fetching, a non-forced refresh gives up at once.
	 */
	if (!force && pthread_mutex_trylock(&p->fetch_lock) != 0)
		return err_set(e, ST_UNAVAILABLE, "issuer '%s': keys are being fetched", p->issuer);
	if (force)
		pthread_mutex_lock(&p->fetch_lock);
	if (!force && too_soon(p, now)) {
		pthread_mutex_unlock(&p->fetch_lock);
		return err_set(e, ST_UNAVAILABLE,
			       "issuer '%s': keys were fetched less than %lld s ago", p->issuer,
			       (long long)(p->min_interval_us / US_PER_S));
	}
	st = fetch_keys(p, &ks, &ep, &fe);
	publish(p, now, st == ST_OK ? ks : NULL, &ep, st == ST_OK ? NULL : fe.msg);
	pthread_mutex_unlock(&p->fetch_lock);
	if (st != ST_OK)
		return err_set(e, ST_UNAVAILABLE, "issuer '%s': %s", p->issuer, fe.msg);
	return ST_OK;
}

/* A reference to the current keys (or NULL) and their generation. */
static struct auth_keyset *keys_get(struct auth_oidc *p, uint64_t *generation)
{
	struct auth_keyset *ks;

	pthread_mutex_lock(&p->lock);
	ks = p->keys ? auth_keyset_ref(p->keys) : NULL;
	*generation = p->generation;
	pthread_mutex_unlock(&p->lock);
	return ks;
}

/*
 * 503, not 401: the caller's token may be perfectly good, it is we who cannot check it yet.
 * The last fetch error is included so the operator sees why from the log line alone.
 */
static enum status no_keys(struct auth_oidc *p, struct err *e)
{
	char last[ERR_MSG_MAX];

	pthread_mutex_lock(&p->lock);
	snprintf(last, sizeof(last), "%s", p->last_error[0] ? p->last_error : "never fetched");
	pthread_mutex_unlock(&p->lock);
	return err_set(e, ST_UNAVAILABLE, "issuer '%s' has no signing keys: %s", p->issuer, last);
}

/* Verifies with the current keys; *gen is the generation used (or unchanged if none). */
static enum status verify_current(struct auth_oidc *p, const struct auth_jwt_rules *rules,
				  const char *token, uint64_t *gen, struct auth_jwt *out,
				  struct err *e)
{
	uint64_t now_gen;
	struct auth_keyset *ks = keys_get(p, &now_gen);
	enum status st;

	if (!ks)
		return no_keys(p, e);
	if (now_gen == *gen)
		st = ST_NOT_FOUND; /* same keys as before: the answer cannot change */
	else
		st = auth_jwt_verify(token, ks, rules, time_now_us() / US_PER_S, out, e);
	*gen = now_gen;
	auth_keyset_unref(ks);
	return st;
}

/* A rate-limited refresh from the request path; a failure is kept in last_error. */
static void refresh_soft(struct auth_oidc *p)
{
	if (auth_oidc_refresh(p, false, NULL) != ST_OK)
		return;
}

static enum status verify_with(struct auth_oidc *p, const struct auth_jwt_rules *rules,
			       const char *token, struct auth_jwt *out, struct err *e)
{
	uint64_t gen = UINT64_MAX;
	struct err again = {0};
	enum status st;

	memset(out, 0, sizeof(*out));
	st = verify_current(p, rules, token, &gen, out, e);
	if (st == ST_UNAVAILABLE) { /* nothing cached (IdP down at start): try, rate-limited */
		refresh_soft(p);
		st = verify_current(p, rules, token, &gen, out, e);
	}
	if (st != ST_NOT_FOUND)
		return st;
	/* unknown kid: the issuer may have rotated its keys */
	refresh_soft(p);
	st = verify_current(p, rules, token, &gen, out, &again);
	if (st == ST_NOT_FOUND) {
		if (e)
			e->code = ST_UNAUTHENTICATED; /* keeps the "no key with kid" message */
		return ST_UNAUTHENTICATED;
	}
	if (st != ST_OK && e)
		*e = again;
	return st;
}

enum status auth_oidc_verify(struct auth_oidc *p, const char *token, struct auth_jwt *out,
			     struct err *e)
{
	return verify_with(p, &p->rules, token, out, e);
}

enum status auth_oidc_verify_id_token(struct auth_oidc *p, const char *token, const char *client_id,
				      struct auth_jwt *out, struct err *e)
{
	struct auth_jwt_rules rules = p->rules;

	rules.audience = client_id;
	rules.require_at_jwt = false; /* an ID token is typ JWT */
	return verify_with(p, &rules, token, out, e);
}

void auth_oidc_endpoints(struct auth_oidc *p, struct auth_endpoints *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->endpoints;
	pthread_mutex_unlock(&p->lock);
}

struct auth_fetcher *auth_oidc_fetcher(struct auth_oidc *p)
{
	return p->fetcher;
}

const char *auth_oidc_issuer(const struct auth_oidc *p)
{
	return p->issuer;
}

const char *auth_oidc_groups_claim(const struct auth_oidc *p)
{
	return p->groups_claim;
}

void auth_oidc_status_get(struct auth_oidc *p, struct auth_oidc_status *out)
{
	pthread_mutex_lock(&p->lock);
	out->have_keys = p->keys != NULL;
	out->keys = p->keys ? auth_keyset_count(p->keys) : 0;
	out->last_attempt_us = p->last_attempt_us;
	out->last_ok_us = p->last_ok_us;
	snprintf(out->last_error, sizeof(out->last_error), "%s", p->last_error);
	pthread_mutex_unlock(&p->lock);
}
