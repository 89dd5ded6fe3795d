/*
 * handlers_console.c - the web console: its files, embedded at build time, and in
 * auth_mode oidc the login run by the server: the OpenID Connect
 * authorization code flow with PKCE, state and nonce, as a confidential
 * client, bound to the browser that started it by a pre-login cookie.  The
 * browser gets only HttpOnly, SameSite=Lax cookies naming server-side rows
 * (docs/console.md).
 */
#include "base/base.h"
#include "http/http_int.h"
#include "base/embed.h"
#include "base/log.h"
#include "base/hash.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "json/jx.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGIN_TTL_S	  600 /* from /console/login to the callback */
#define LOGIN_RETRY_AFTER "60" /* seconds, after a 503 for too many logins in flight */
#define RETURN_TO_MAX	  512 /* bytes: every login in flight stores its return_to */
#define CONSOLE_CSP                                                                       \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

extern const struct embedded_file http_console_files[];
extern const size_t http_console_files_count;

static const struct {
	const char *ext, *type;
} types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".svg", "image/svg+xml"},
	{".json", "application/json"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
};

static const char *type_of(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (str_ends_with(name, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

static enum MHD_Result send_file(struct req *r, const char *name)
{
	for (size_t i = 0; i < http_console_files_count; i++)
		if (strcmp(http_console_files[i].name, name) == 0) {
			r->csp = CONSOLE_CSP;
			return http_reply_text(r, MHD_HTTP_OK, type_of(name),
					       (const char *)http_console_files[i].data,
					       http_console_files[i].len);
		}
	return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such console file");
}

static enum MHD_Result redirect(struct req *r, const char *to)
{
	r->location = to;
	return http_reply_text(r, MHD_HTTP_FOUND, "text/plain; charset=utf-8", "", 0);
}

enum MHD_Result http_handle_console_file(struct req *r)
{
	return send_file(r, r->params[0]);
}

/*
 * The path part (up to '?' or '#') has no "." or ".." segment and no %-escape: a browser
 * resolves "/console/../auth/whoami", or its "%2e%2e" form, to a page outside the console.
 */
static bool plain_path(const char *to)
{
	const char *end = to + strcspn(to, "?#"), *seg = to;

	if (memchr(to, '%', (size_t)(end - to)))
		return false;
	for (const char *p = to;; p++) {
		if (p == end || *p == '/') {
			size_t len = (size_t)(p - seg);

			if ((len == 1 || len == 2) && strncmp(seg, "..", len) == 0)
				return false;
			seg = p + 1;
		}
		if (p == end)
			return true;
	}
}

/* A same-site path inside the console, or "/console/" (no open redirects). */
static const char *safe_return(const char *to)
{
	if (!to || strncmp(to, "/console/", 9) != 0 || strstr(to, "//") || strchr(to, '\\') ||
	    strlen(to) > RETURN_TO_MAX || !plain_path(to))
		return "/console/";
	for (const char *c = to; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return "/console/";
	return to;
}

static const struct http_console *console_of(const struct req *r)
{
	const struct http_auth *a = r->app->auth;

	return a && a->mode == HTTP_AUTH_OIDC && a->console && a->console->client_id ? a->console
										     : NULL;
}

static enum MHD_Result not_configured(struct req *r)
{
	const struct http_auth *a = r->app->auth;

	if (!a || a->mode != HTTP_AUTH_OIDC)
		return redirect(r, "/console/"); /* auth_mode none: no login needed */
	return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
				"console login is not configured: set console_client_id, a client "
				"secret and console_public_url");
}

bool http_console_secure(const struct req *r, const struct http_console *c)
{
	const char *proto;

	if (!c || c->secure_cookie)
		return c != NULL;
	if (!c->trust_forwarded_proto)
		return false; /* the header is read only when it is trusted: not on every request */
	proto = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
	return proto && !strcmp(proto, "https");
}

/*
 * Whether the request came to the host (and, when a trusted proxy says so, the scheme) of
 * console_public_url.  Without a Host header (HTTP/1.0) there is nothing to compare.  Over
 * https the cookies are Secure and __Host- cookies, which plain http neither keeps nor
 * sends, so a trusted "X-Forwarded-Proto: http" under an https URL is another address too;
 * the reverse (https under an http URL) is how a TLS proxy serves the console and works.
 */
static bool at_public_url(struct req *r, const struct http_console *c)
{
	const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
	const char *proto;

	if (host && !http_origin_host_matches(&c->origin, host))
		return false;
	if (!c->origin.https || !c->trust_forwarded_proto)
		return true;
	proto = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
	return !proto || strcmp(proto, "http") != 0;
}

/*
 * Cookies belong to the host name the browser used, and the callback comes back under
 * console_public_url's: a console opened as localhost, configured as 127.0.0.1, set its
 * pre-login cookie where the callback never looked, and every login ended in 403 and began
 * again.  Its pages and the login start therefore send the browser to the same path under
 * console_public_url, before any cookie is set.  The Location is built from the setting and
 * the route alone (plus login's checked return_to): never from Host, so no open redirect.
 *
 * A proxy that rewrites Host (nginx's proxy_pass without "proxy_set_header Host") would make
 * that a loop, so the redirect carries HOST_REDIRECT_MARK and a request that has it is served
 * where it is; the log says once that Host does not match.
 */
#define HOST_REDIRECT_MARK "host_redirect"

static bool public_url_or_reply(struct req *r, const struct http_console *c, enum MHD_Result *ret)
{
	static atomic_bool warned; /* once per process */
	const char *to = http_req_query(r, "return_to");
	char *enc, *loc;

	if (!c || at_public_url(r, c))
		return true;
	if (http_req_query(r, HOST_REDIRECT_MARK)) {
		if (!atomic_exchange(&warned, true))
			log_warn("console: a request redirected to console_public_url came back "
				 "with another Host or scheme: a proxy in front rewrites them");
		return true;
	}
	enc = to ? str_url_encode(safe_return(to)) : NULL;
	loc = xasprintf("%s%s?%s%s%s=1", c->public_url, r->path, enc ? "return_to=" : "",
			enc ? enc : "", enc ? "&" HOST_REDIRECT_MARK : HOST_REDIRECT_MARK);
	r->location = loc;
	*ret = http_reply_text(r, MHD_HTTP_FOUND, "text/plain; charset=utf-8", "", 0);
	r->location = NULL;
	free(loc);
	free(enc);
	return false;
}

enum MHD_Result http_handle_console_root(struct req *r)
{
	enum MHD_Result ret;

	if (!public_url_or_reply(r, console_of(r), &ret))
		return ret;
	return redirect(r, "/console/");
}

enum MHD_Result http_handle_console_index(struct req *r)
{
	enum MHD_Result ret;

	if (!public_url_or_reply(r, console_of(r), &ret))
		return ret;
	return send_file(r, "index.html");
}

/*
 * Sets (value) or clears (NULL) the pre-login cookie: the login in flight
 * stores its hash, and only the browser holding it may finish that login, so
 * nobody can hand a victim the callback URL of a login they started.
 */
static void login_cookie(struct req *r, const struct http_console *c, const char *value)
{
	bool secure = http_console_secure(r, c);

	snprintf(r->login_cookie, sizeof(r->login_cookie),
		 "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%d%s", http_login_cookie(secure),
		 value ? value : "", value ? LOGIN_TTL_S : 0, secure ? "; Secure" : "");
}

/*
 * True when another login may start.  Logins in flight are rows anyone can
 * make without credentials, so at most max_pending_logins exist at a time;
 * over that the answer is 503 with Retry-After.
 */
static bool room_or_reply(struct req *r, const struct http_console *c, enum MHD_Result *ret)
{
	struct err e = {0};
	int64_t n = 0;
	enum status st = service_console_logins_pending(r->app->svc, &n, &e);

	if (st != ST_OK) {
		*ret = http_reply_err(r, st, &e);
		return false;
	}
	if (c->max_pending_logins <= 0 || n < c->max_pending_logins)
		return true;
	r->retry_after = LOGIN_RETRY_AFTER;
	*ret = http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
				"too many console logins are in progress; try again in a minute");
	return false;
}

enum MHD_Result http_handle_console_login(struct req *r)
{
	const struct http_console *c = console_of(r);
	char state[AUTH_PKCE_VERIFIER_LEN + 1], nonce[sizeof(state)], verifier[sizeof(state)];
	char hash[SHA256_HEX_LEN], binding[65], bhash[SHA256_HEX_LEN];
	struct console_login l;
	struct err e = {0};
	enum MHD_Result ret;
	enum status st;
	char *url, *to;

	if (!c)
		return not_configured(r);
	if (!public_url_or_reply(r, c, &ret) || !room_or_reply(r, c, &ret))
		return ret;
	st = auth_random_b64url(state, &e);
	if (st == ST_OK)
		st = auth_random_b64url(nonce, &e);
	if (st == ST_OK)
		st = auth_random_b64url(verifier, &e);
	if (st == ST_OK)
		st = random_hex(binding, 32, &e);
	if (st != ST_OK)
		return http_reply_err(r, st, &e);
	url = auth_login_url(c->provider,
			     &(struct auth_login_request){c->client_id, c->redirect_uri, c->scopes,
							  state, nonce, verifier});
	if (!url)
		return http_reply_error(
			r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
			"the identity provider's discovery document is not loaded yet");
	sha256_hex(state, strlen(state), hash);
	sha256_hex(binding, strlen(binding), bhash);
	/* a copy: console_login's strings are not const (console_login_get fills them) */
	to = xstrdup(safe_return(http_req_query(r, "return_to")));
	l = (struct console_login){nonce, verifier, to, bhash};
	st = service_console_login_put(r->app->svc, &c->seal_key, hash, &l, LOGIN_TTL_S, &e);
	if (st != ST_OK) {
		ret = http_reply_err(r, st, &e);
	} else {
		login_cookie(r, c, binding);
		ret = redirect(r, url);
	}
	memset(binding, 0, sizeof(binding));
	free(to);
	free(url);
	return ret;
}

/* The ID token of the callback's code, checked, as a principal. */
static enum status callback_principal(struct req *r, const struct http_console *c,
				      const struct console_login *l, const char *code,
				      struct auth_principal *p, struct err *e)
{
	struct auth_jwt jwt = {0};
	char *id_token = NULL;
	const char *nonce;
	enum status st = auth_login_exchange(
		c->provider,
		&(struct auth_login_request){c->client_id, c->redirect_uri, c->scopes, NULL, NULL,
					     l->verifier},
		code, c->client_secret, &id_token, e);

	if (st == ST_OK)
		st = auth_oidc_verify_id_token(c->provider, id_token, c->client_id, &jwt, e);
	nonce = st == ST_OK ? jx_get_str(jwt.claims, "nonce") : NULL;
	if (st == ST_OK && (!nonce || !auth_secret_equal(nonce, l->nonce)))
		st = err_set(e, ST_UNAUTHENTICATED, "the ID token's nonce is not this login's");
	if (st == ST_OK)
		st = auth_principal_from_jwt(&jwt, auth_oidc_groups_claim(c->provider),
					     r->app->auth->mapping, p, e);
	auth_jwt_release(&jwt);
	free(id_token);
	return st;
}

static enum status start_session(struct req *r, const struct http_console *c,
				 const struct auth_principal *p, struct err *e)
{
	char id[65], csrf[65], hash[SHA256_HEX_LEN];
	struct console_session s = {p->subject, p->actor, p->issuer, csrf, p->groups, p->n_groups};
	bool secure = http_console_secure(r, c);
	enum status st = random_hex(id, 32, e);

	if (st == ST_OK)
		st = random_hex(csrf, 32, e);
	sha256_hex(id, strlen(id), hash);
	if (st == ST_OK)
		st = service_console_session_put(r->app->svc, &c->seal_key, hash, &s,
						 c->session_seconds, e);
	if (st == ST_OK)
		snprintf(r->set_cookie, sizeof(r->set_cookie),
			 "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%lld%s",
			 http_session_cookie(secure), id, (long long)c->session_seconds,
			 secure ? "; Secure" : "");
	memset(id, 0, sizeof(id));
	return st;
}

/*
 * Copies host into out when it is made of the characters of a host name, an address and a
 * port only: it goes back into the answer and the log, and the request chose it.
 */
static const char *shown_host(const char *host, char *out, size_t size)
{
	if (!host || !*host || strlen(host) >= size ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
		    strlen(host))
		return "another address";
	snprintf(out, size, "%s", host);
	return out;
}

/*
 * A callback without its pre-login cookie.  Under another address than console_public_url
 * that is why (the cookie stays with the address the login started at), and a redirect
 * cannot help: the login is already taken.  The answer names both addresses.
 */
static enum status no_cookie(struct req *r, const struct http_console *c, struct err *e)
{
	char host[128];
	const char *h;

	if (at_public_url(r, c))
		return err_set(e, ST_FORBIDDEN,
			       "this browser has no pre-login cookie for this login; log in again");
	h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
	return err_set(e, ST_FORBIDDEN,
		       "this browser has no pre-login cookie for this login: the console was "
		       "opened as %s, but console_public_url is %s; use %s/console/",
		       shown_host(h, host, sizeof(host)), c->public_url, c->public_url);
}

/*
 * The login of state, taken (so it is used once, whatever follows) and then
 * checked against the pre-login cookie of the browser that came back.  The
 * cookie is cleared once it has served its login; one that belongs to another
 * login (a callback planted by someone else) stays for that login.
 */
static enum status take_login(struct req *r, const struct http_console *c, const char *state,
			      struct console_login *l, struct err *e)
{
	bool twice = false;
	const char *cookie =
		http_req_cookie(r, http_login_cookie(http_console_secure(r, c)), &twice);
	char hash[SHA256_HEX_LEN];
	enum status st;

	sha256_hex(state, strlen(state), hash);
	st = service_console_login_take(r->app->svc, &c->seal_key, hash, l, e);
	if (st == ST_NOT_FOUND)
		return err_set(e, ST_INVALID, "unknown, used or expired login state; log in again");
	if (st != ST_OK)
		return st;
	if (twice)
		return err_set(e, ST_FORBIDDEN,
			       "this browser sent two pre-login cookies (one may come from another "
			       "site of this domain); clear this site's cookies and log in again");
	if (!cookie)
		return no_cookie(r, c, e);
	sha256_hex(cookie, strlen(cookie), hash);
	if (!l->binding[0] || !auth_secret_equal(hash, l->binding))
		return err_set(e, ST_FORBIDDEN,
			       "this login was started in another browser; log in again");
	login_cookie(r, c, NULL);
	return ST_OK;
}

enum MHD_Result http_handle_console_callback(struct req *r)
{
	const struct http_console *c = console_of(r);
	const char *state = http_req_query(r, "state"), *code = http_req_query(r, "code");
	struct auth_principal p = {0};
	struct console_login l = {0};
	struct err e = {0};
	enum MHD_Result ret;
	enum status st;

	if (!c)
		return not_configured(r);
	if (http_req_query(r, "error"))
		return http_reply_error(r, MHD_HTTP_UNAUTHORIZED, "unauthenticated",
					"the identity provider refused the login");
	if (!state || !code || strlen(state) > 256 || strlen(code) > 4096)
		return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid",
					"the callback needs 'state' and 'code'");
	st = take_login(r, c, state, &l, &e);
	if (st == ST_OK)
		st = callback_principal(r, c, &l, code, &p, &e);
	if (st == ST_OK)
		st = start_session(r, c, &p, &e);
	if (st == ST_OK)
		log_info("console: login subject=%s", p.subject ? p.subject : "-");
	else
		log_warn("console: login refused reason=\"%s\"", e.msg);
	auth_principal_release(&p);
	ret = st == ST_OK ? redirect(r, safe_return(l.return_to)) : http_reply_err(r, st, &e);
	service_console_login_release(&l);
	return ret;
}

enum MHD_Result http_handle_console_logout(struct req *r)
{
	const struct http_console *c = console_of(r);
	bool secure = http_console_secure(r, c), twice = false;
	const char *cookie = http_req_cookie(r, http_session_cookie(secure), &twice);
	json_object *body = json_object_new_object();
	char hash[SHA256_HEX_LEN], to[700] = "/console/";
	struct auth_endpoints ep = {0};
	enum MHD_Result ret;

	if (cookie) {
		sha256_hex(cookie, strlen(cookie), hash);
		if (service_console_session_delete(r->app->svc, hash, NULL) != ST_OK)
			log_warn("console: could not delete a session at logout");
	}
	if (c)
		auth_oidc_endpoints(c->provider, &ep);
	if (c && ep.end_session[0] && c->home_uri)
		snprintf(to, sizeof(to), "%s%sclient_id=%s&post_logout_redirect_uri=%s",
			 ep.end_session, strchr(ep.end_session, '?') ? "&" : "?", c->client_id,
			 c->home_uri_encoded);
	snprintf(r->set_cookie, sizeof(r->set_cookie),
		 "%s=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0%s", http_session_cookie(secure),
		 secure ? "; Secure" : "");
	json_object_object_add(body, "redirect", json_object_new_string(to));
	ret = http_reply_json(r, MHD_HTTP_OK, body);
	json_object_put(body);
	return ret;
}
