/*
 * authn.c - who is calling, and may they use this route (docs/security.md).
 *
 * Credentials are one "Authorization: Bearer <token>" header.  A token that
 * starts with "cavra_" is an API token, looked up by its SHA-256; anything
 * else is a JWT verified against the trusted OIDC issuers.  In auth mode
 * none a request without credentials acts with every role (the pilot);
 * credentials that are sent are still checked.  Every denial is logged with
 * the route, the subject when known and the reason, never the token.
 */
#include "base/base.h"
#include "http/http_int.h"
#include "base/log.h"
#include "base/hash.h"
#include "base/xalloc.h"
#include "base/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ALL_ROLES (((uint32_t)1 << AUTH_ROLE__COUNT) - 1)

struct header_count {
	int n;
	const char *value;
};

/*
 * Counts every Authorization header rather than taking the first: with two, a proxy in front
 * and this server could each act on a different one, so two are refused outright.
 */
static enum MHD_Result count_auth(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	struct header_count *h = cls;

	UNUSED(kind);
	if (strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION) == 0) {
		h->n++;
		h->value = value;
	}
	return MHD_YES;
}

/*
 * Public routes skip authentication entirely, so a bad token sent to /healthz by a probe that
 * reuses a client's headers cannot make the probe fail.
 */
static bool is_public(const struct req *r)
{
	const char *perm = r->route->permission;
	const struct http_auth *a = r->app->auth;

	return strcmp(perm, "public") == 0 ||
	       (a && a->metrics_public && strcmp(perm, "metrics.read") == 0);
}

/*
 * The challenge of a 401.  RFC 6750 section 3.1: a request that carried no
 * bearer credentials (none at all, another scheme, a console cookie) gets
 * no error code; a malformed Authorization header gets invalid_request.
 */
static void challenge(struct req *r, const char *error)
{
	if (error)
		snprintf(r->www_authenticate, sizeof(r->www_authenticate),
			 "Bearer realm=\"cavra\", error=\"%s\"", error);
	else
		snprintf(r->www_authenticate, sizeof(r->www_authenticate),
			 "Bearer realm=\"cavra\"");
}

/*
 * Replies a denial: 401 (with WWW-Authenticate) or 403, logged here as a denial; or a 5xx
 * (a database or an issuer that cannot answer), which http_reply_err logs, so that one
 * failure is one log line.
 */
static bool deny(struct req *r, enum status st, const struct err *e, enum MHD_Result *ret)
{
	const char *subject = r->who.subject ? r->who.subject : "-";
	unsigned int http = http_reply_http_status(st);

	if (st != ST_UNAUTHENTICATED)
		r->www_authenticate[0] = '\0'; /* a challenge belongs on a 401 only */
	else if (!r->www_authenticate[0])
		challenge(r, "invalid_token"); /* a bearer token was sent and failed */
	if (http < 500)
		log_warn("auth: denied route=\"%s %s\" subject=%s status=%u reason=\"%s\"",
			 r->method, r->route->pattern, subject, http, e->msg);
	*ret = http_reply_err(r, st, e);
	return false;
}

/*
 * Only the token's SHA-256 is ever looked up or stored.  A database that is down answers 503,
 * not 401, so that an agent retries instead of concluding that its token is bad.
 */
static enum status api_token(struct req *r, const char *token, struct err *e)
{
	struct token_info info;
	char hash[SHA256_HEX_LEN];
	uint32_t roles = 0;
	enum status st;

	auth_token_hash(token, hash);
	st = service_token_check(r->app->svc, hash, &info, e);
	if (st != ST_OK)
		return st; /* unknown, revoked or expired: 401; a database fault: its own 5xx */
	if (!auth_token_hash_equal(hash, info.sha256)) { /* the lookup matched: belt and braces */
		service_token_info_release(&info);
		return err_set(e, ST_UNAUTHENTICATED, "unknown API token");
	}
	for (size_t i = 0; i < info.nroles; i++) {
		enum auth_role role;

		if (auth_role_parse(info.roles[i], &role))
			roles |= AUTH_ROLE_BIT(role);
	}
	auth_principal_for_token(info.name, roles, &r->who);
	service_token_info_release(&info);
	return ST_OK;
}

/*
 * A kid that is still unknown after the issuer's keys were refetched means the token was not
 * signed by a key the issuer publishes: that is the client's credential failing (401), not a
 * missing resource.
 */
static enum status jwt(struct req *r, const char *token, struct err *e)
{
	const struct http_auth *a = r->app->auth;
	struct auth_oidc *by = NULL;
	struct auth_jwt t = {0};
	enum status st;

	if (!a || a->mode != HTTP_AUTH_OIDC || !a->issuers)
		return err_set(e, ST_UNAUTHENTICATED,
			       "bearer JWTs are not accepted in auth mode none (API tokens are)");
	st = auth_issuers_verify(a->issuers, token, &t, &by, e);
	if (st == ST_NOT_FOUND) /* an unknown kid even after a refetch */
		st = ST_UNAUTHENTICATED;
	if (st == ST_OK)
		st = auth_principal_from_jwt(&t, auth_oidc_groups_claim(by), a->mapping, &r->who,
					     e);
	auth_jwt_release(&t);
	return st;
}

/* The bearer token of the one Authorization header, or why there is none. */
static enum status bearer(struct req *r, const char **token, struct err *e)
{
	struct header_count h = {0};
	const char *v;

	*token = NULL;
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_auth, &h);
	if (h.n == 0)
		return ST_NOT_FOUND;
	challenge(r, "invalid_request");
	if (h.n > 1)
		return err_set(e, ST_UNAUTHENTICATED, "more than one Authorization header");
	v = h.value;
	if (strncasecmp(v, "Bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\0')) {
		challenge(r, NULL);
		return err_set(e, ST_UNAUTHENTICATED, "the Authorization scheme must be Bearer");
	}
	v += 6;
	v += strspn(v, " ");
	if (!*v)
		return err_set(e, ST_UNAUTHENTICATED, "Bearer with no token");
	r->www_authenticate[0] = '\0'; /* a token: deny() says invalid_token */
	if (strlen(v) > AUTH_JWT_MAX)
		return err_set(e, ST_UNAUTHENTICATED, "bearer token longer than %d bytes",
			       AUTH_JWT_MAX);
	*token = v;
	return ST_OK;
}

/* The methods that change nothing, so a cross-site request through them gains nothing. */
static bool safe_method(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

/*
 * The console's session cookie: the session's identity, with roles from
 * the current mapping.  Changes (any method but GET) need the session's
 * CSRF token in X-CSRF-Token.
 */
/*
 * The cookie is looked up by its hash, so the sessions table holds nothing a reader of the
 * database could replay.  Roles are derived from the mapping at each request, not stored, so a
 * change of the group mapping applies to open sessions at once.
 */
static enum status console_session(struct req *r, const char *cookie, struct err *e)
{
	const struct http_auth *a = r->app->auth;
	struct console_session cs;
	char hash[SHA256_HEX_LEN];
	const char *sent;
	enum status st;

	sha256_hex(cookie, strlen(cookie), hash);
	st = service_console_session_get(r->app->svc, &a->console->seal_key, hash, &cs, e);
	if (st == ST_NOT_FOUND)
		return err_set(e, ST_UNAUTHENTICATED, "console session unknown or expired; log in");
	if (st != ST_OK)
		return st;
	sent = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
	if (!safe_method(r->method) && !auth_secret_equal(sent, cs.csrf_token))
		st = err_set(e, ST_FORBIDDEN, "missing or wrong X-CSRF-Token for this session");
	if (st == ST_OK) {
		r->who.kind = AUTH_KIND_JWT;
		r->who.issuer = cs.issuer;
		r->who.subject = cs.subject;
		r->who.actor = cs.actor;
		r->who.groups = cs.groups;
		r->who.n_groups = cs.ngroups;
		r->who.roles = auth_mapping_roles(a->mapping, cs.issuer,
						  (const char *const *)cs.groups, cs.ngroups);
		r->csrf_token = cs.csrf_token;
		memset(&cs, 0, sizeof(cs)); /* now owned by r */
	}
	service_console_session_release(&cs);
	return st;
}

/*
 * A bearer token always wins over a console cookie: an agent's call is judged by its own
 * credential even from a browser that is logged in.  Only in auth mode none does a request
 * without credentials get through, with every role, which is the pilot's zero-setup mode.
 */
static enum status authenticate(struct req *r, struct err *e)
{
	const struct http_auth *a = r->app->auth;
	const char *token = NULL, *cookie;
	bool twice = false;
	enum status st = bearer(r, &token, e);

	cookie = http_req_cookie(
		r, http_session_cookie(http_console_secure(r, a ? a->console : NULL)), &twice);
	if (st == ST_NOT_FOUND && twice && a && a->console) {
		challenge(r, NULL);
		return err_set(e, ST_UNAUTHENTICATED,
			       "the request has two console session cookies (one may come from "
			       "another site of this domain); clear this site's cookies and log in "
			       "again");
	}
	if (st == ST_NOT_FOUND && cookie && *cookie && a && a->console) {
		challenge(r, NULL); /* a cookie is not a bearer credential */
		return console_session(r, cookie, e);
	}

	if (st == ST_NOT_FOUND && (!a || a->mode == HTTP_AUTH_NONE)) {
		r->who.kind = AUTH_KIND_NONE; /* the pilot: every role */
		r->who.roles = ALL_ROLES;
		return ST_OK;
	}
	if (st == ST_NOT_FOUND) {
		challenge(r, NULL);
		return err_set(e, ST_UNAUTHENTICATED, "credentials required: send a bearer token");
	}
	if (st != ST_OK)
		return st;
	/* no JWT starts with the prefix: a mistyped API token is reported as one, in every mode */
	if (str_starts_with(token, AUTH_TOKEN_PREFIX) && !auth_token_is_api(token))
		return err_set(e, ST_UNAUTHENTICATED,
			       "malformed API token: '%s' and %zu lowercase hex digits expected",
			       AUTH_TOKEN_PREFIX, AUTH_TOKEN_LEN - strlen(AUTH_TOKEN_PREFIX));
	return auth_token_is_api(token) ? api_token(r, token, e) : jwt(r, token, e);
}

bool http_authn_check(struct req *r, enum MHD_Result *ret)
{
	struct err e = {0};
	enum status st;

	if (is_public(r))
		return true;
	st = authenticate(r, &e);
	if (st == ST_OK)
		st = auth_check(r->who.roles, r->route->permission, &e);
	if (st == ST_OK) {
		r->www_authenticate[0] = '\0';
		return true;
	}
	return deny(r, st, &e, ret);
}

/*
 * The service layer gets a plain struct with no HTTP or auth types in it: service must not
 * depend on http or auth (docs/architecture.md), and its tests can build a caller by hand.
 */
struct caller http_authn_caller(const struct req *r)
{
	const bool jwt = r->who.kind == AUTH_KIND_JWT, token = r->who.kind == AUTH_KIND_API_TOKEN;

	return (struct caller){
		.verified = r->who.kind != AUTH_KIND_NONE,
		.actor = r->who.actor,
		.groups = (const char *const *)r->who.groups,
		.ngroups = r->who.n_groups,
		.admin = (r->who.roles & AUTH_ROLE_BIT(AUTH_ROLE_ADMIN)) != 0,
		.may_route = auth_allowed(r->who.roles, "approvals.route"),
		.may_request_any = auth_allowed(r->who.roles, "approvals.request_any"),
		.may_read_any = auth_allowed(r->who.roles, "approvals.read_any"),
		.may_replace = auth_allowed(r->who.roles, "evidence.replace"),
		.may_replace_sessions = auth_allowed(r->who.roles, "sessions.replace"),
		.issuer = jwt ? r->who.issuer : NULL,
		.subject = jwt ? r->who.subject : NULL,
		.token = token ? r->who.actor : NULL,
	};
}
