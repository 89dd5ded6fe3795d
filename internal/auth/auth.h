/*
 * auth.h - identity and access (docs/security.md): bearer JWT verification against
 * JWK sets, OIDC issuers that fetch and cache those keys, the role and
 * permission table, IdP group -> role mappings, and API tokens for agents.
 *
 * Everything here but auth_oidc_*, auth_issuers_* and auth_fetcher_curl_new
 * is pure: no I/O, no clock (the caller passes "now").  Error messages never contain a
 * token; values taken from a token (alg, kid, typ, iss) are shown shortened
 * and with non-printable bytes replaced.
 *
 * Thread safety: key sets are immutable and refcounted; an auth_oidc
 * provider is safe to use from any number of threads; everything else is
 * read-only after it is built.
 */
#ifndef CAVRA_AUTH_H
#define CAVRA_AUTH_H

#include "base/base.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/hash.h"

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* Algorithms                                                          */
/* ------------------------------------------------------------------ */

/* JWS algorithms we can verify, as bits of an allow-list.  HMAC and "none" are never accepted. */
enum auth_alg {
	AUTH_ALG_RS256 = 1u << 0,
	AUTH_ALG_RS384 = 1u << 1,
	AUTH_ALG_RS512 = 1u << 2,
	AUTH_ALG_PS256 = 1u << 3,
	AUTH_ALG_PS384 = 1u << 4,
	AUTH_ALG_PS512 = 1u << 5,
	AUTH_ALG_ES256 = 1u << 6, /* EC P-256 */
	AUTH_ALG_ES384 = 1u << 7, /* EC P-384 */
};

#define AUTH_ALGS_DEFAULT   (AUTH_ALG_RS256 | AUTH_ALG_ES256 | AUTH_ALG_PS256)
#define AUTH_ALGS_ALL	    ((uint32_t)AUTH_ALG_ES384 * 2 - 1)
#define AUTH_ALGS_NAMES_MAX 96 /* room for every name, comma-separated */

/*
 * Parses a list such as "RS256, ES256" (commas and/or spaces) into a mask.
 * ST_INVALID naming the entry for an unknown name, an empty list, "none" or
 * any HS* algorithm.
 */
ATTR_NODISCARD enum status auth_algs_parse(const char *list, uint32_t *out, struct err *e);
/* Writes the names in algs as "RS256, PS256, ES256" into out. */
void auth_algs_format(uint32_t algs, char *out, size_t size);

/* ------------------------------------------------------------------ */
/* JWK sets                                                            */
/* ------------------------------------------------------------------ */

#define AUTH_JWKS_MAX_KEYS 64 /* keys past this are skipped */
#define AUTH_RSA_MIN_BITS  2048

/* An immutable, refcounted set of public signing keys. */
struct auth_keyset;

/*
 * Parses a JWK set ({"keys": [...]}) from json[0..len).  Keys are RSA (n, e;
 * at least 2048 bits) or EC P-256 / P-384 (crv, x, y).  A key with "use"
 * other than "sig", an unknown kty, crv or alg, or any malformed field is
 * skipped and counted, not an error.  ST_INVALID when the text is not a JWK
 * set or no key is usable.  *out has one reference: the caller's, drop it
 * with auth_keyset_unref.
 */
ATTR_NODISCARD enum status auth_keyset_parse(const char *json, size_t len, struct auth_keyset **out,
					     struct err *e);
/* Adds a reference (thread-safe) and returns ks. */
struct auth_keyset *auth_keyset_ref(struct auth_keyset *ks);
/* Drops a reference (thread-safe); the last one frees the set.  NULL-safe. */
void auth_keyset_unref(struct auth_keyset *ks);
/* Usable keys. */
size_t auth_keyset_count(const struct auth_keyset *ks);
/* Keys that were skipped, and why the first one was ("" when none). Borrowed. */
size_t auth_keyset_skipped(const struct auth_keyset *ks);
const char *auth_keyset_skip_note(const struct auth_keyset *ks);

/* ------------------------------------------------------------------ */
/* JWT verification                                                    */
/* ------------------------------------------------------------------ */

#define AUTH_JWT_MAX		  16384 /* bytes of a compact token */
#define AUTH_LEEWAY_DEFAULT	  60
#define AUTH_LEEWAY_MAX		  3600
#define AUTH_GROUPS_CLAIM_DEFAULT "groups"

/* What a token must satisfy.  Borrowed strings. */
struct auth_jwt_rules {
	const char *issuer; /* required: "iss" must equal it exactly */
	const char *audience; /* required: "aud" must be it or contain it */
	uint32_t algs; /* enum auth_alg bits; 0 means AUTH_ALGS_DEFAULT */
	int64_t leeway_s; /* clock skew allowed for exp, nbf and iat */
	bool require_at_jwt; /* header typ must be at+jwt (RFC 9068) */
};

/* A verified token.  Release with auth_jwt_release. */
struct auth_jwt {
	json_object *header; /* owned */
	json_object *claims; /* owned */
	const char *alg; /* borrowed from header */
	const char *kid; /* borrowed from header, NULL when absent */
	const char *iss; /* borrowed from claims */
	const char *sub; /* borrowed from claims, NULL when absent */
	int64_t exp; /* seconds since the epoch */
};

/*
 * Verifies a compact JWS token (a C string of at most AUTH_JWT_MAX bytes)
 * against keys and rules at time now (seconds since the epoch): structure and
 * strict base64url, header alg in the allow-list and fitting the key type,
 * the key chosen by kid (or the one key that fits when the token has no
 * kid), the signature, then iss, aud, exp (required), nbf and iat with
 * leeway, and typ when required.
 *
 * Returns ST_OK and fills *out; ST_NOT_FOUND when no key has the token's kid
 * (or, without kid, no key fits): the caller may refetch keys and retry;
 * ST_UNAUTHENTICATED for every other problem with the token; ST_INTERNAL
 * for bad rules or an OpenSSL failure.  On failure *out is zeroed.
 */
ATTR_NODISCARD enum status auth_jwt_verify(const char *token, const struct auth_keyset *keys,
					   const struct auth_jwt_rules *rules, int64_t now,
					   struct auth_jwt *out, struct err *e);
/* Frees what auth_jwt_verify filled and zeroes t.  NULL-safe. */
void auth_jwt_release(struct auth_jwt *t);

/*
 * Reads "iss" from the payload WITHOUT verifying anything, only to pick the
 * issuer whose keys will then verify the token.  *iss is the caller's (free).
 * ST_UNAUTHENTICATED when the token is malformed or has no string iss.
 */
ATTR_NODISCARD enum status auth_jwt_peek_issuer(const char *token, char **iss, struct err *e);

/* ------------------------------------------------------------------ */
/* OIDC issuers                                                        */
/* ------------------------------------------------------------------ */

#define AUTH_FETCH_MAX		    ((size_t)1 << 20) /* discovery and JWKS bodies */
#define AUTH_CONNECT_TIMEOUT_MS	    5000
#define AUTH_FETCH_TIMEOUT_MS	    10000
#define AUTH_REFRESH_MIN_INTERVAL_S 30

/*
 * Fetches a URL.  Implementations: libcurl (auth_fetcher_curl_new) and the
 * fakes of the unit tests.  A provider calls get from one thread at a time.
 */
/* A form POST (the token endpoint): body and HTTP basic client credentials. */
struct auth_post {
	const char *url, *form, *user, *password;
};

struct auth_fetcher {
	/*
	 * GETs url into body (body->cap bounds the size).  ST_OK only for HTTP
	 * 200.  ST_TOO_LARGE over the cap, ST_UNAVAILABLE for network, TLS and
	 * HTTP errors.  Redirects are not followed.
	 */
	enum status (*get)(struct auth_fetcher *f, const char *url, struct buf *body,
			   struct err *e);
	/*
	 * POSTs req; *status gets the HTTP status whatever it is, with the
	 * body.  ST_UNAVAILABLE only when no answer came.  May be NULL (test
	 * fetchers that only GET).
	 */
	enum status (*post)(struct auth_fetcher *f, const struct auth_post *req, struct buf *body,
			    long *status, struct err *e);
	void (*free)(struct auth_fetcher *f); /* frees f itself */
};

struct auth_fetch_opts {
	const char *ca_file; /* PEM bundle; NULL: the system store. Copied */
	long connect_timeout_ms; /* 0: AUTH_CONNECT_TIMEOUT_MS */
	long timeout_ms; /* 0: AUTH_FETCH_TIMEOUT_MS */
};

/* A libcurl fetcher (http and https only, no redirects).  Free with (*out)->free(*out). */
ATTR_NODISCARD enum status auth_fetcher_curl_new(const struct auth_fetch_opts *o,
						 struct auth_fetcher **out, struct err *e);

/*
 * Checks that url may be fetched: https, or http to a loopback host
 * (127.0.0.1, [::1], localhost); no user info.  what names the URL in the
 * message ("issuer", "jwks_uri").  ST_INVALID otherwise.
 */
ATTR_NODISCARD enum status auth_url_check(const char *url, const char *what, struct err *e);

struct auth_oidc_opts {
	const char *issuer; /* required; compared exactly with "iss" and discovery */
	const char *audience; /* required */
	const char *groups_claim; /* NULL: AUTH_GROUPS_CLAIM_DEFAULT */
	int64_t leeway_s; /* 0..AUTH_LEEWAY_MAX */
	uint32_t algs; /* 0: AUTH_ALGS_DEFAULT */
	bool require_at_jwt;
	int64_t refresh_min_interval_s; /* 0: AUTH_REFRESH_MIN_INTERVAL_S; <0: no limit (tests) */
	struct auth_fetch_opts fetch; /* for the libcurl fetcher */
};

/* One trusted OIDC issuer with its cached keys. */
struct auth_oidc;

/*
 * Creates a provider.  Fetches nothing: call auth_oidc_refresh at start.
 * fetcher is taken over (freed even on failure); NULL creates a libcurl one
 * from o->fetch.  Strings are copied.  ST_INVALID for bad options.
 */
ATTR_NODISCARD enum status auth_oidc_new(const struct auth_oidc_opts *o,
					 struct auth_fetcher *fetcher, struct auth_oidc **out,
					 struct err *e);
/* NULL-safe.  No other thread may use p any more. */
void auth_oidc_free(struct auth_oidc *p);

/*
 * Fetches <issuer>/.well-known/openid-configuration, checks its "issuer",
 * fetches its jwks_uri and swaps in the new keys.  Without force, does
 * nothing and returns ST_UNAVAILABLE when the last attempt was less than the
 * minimum interval ago or another thread is fetching (with force, waits for
 * that fetch, then fetches again: for the periodic refresh).  On failure the last good keys stay in
 * use and the error is kept for auth_oidc_status_get; the return is ST_UNAVAILABLE.
 */
ATTR_NODISCARD enum status auth_oidc_refresh(struct auth_oidc *p, bool force, struct err *e);

/*
 * Verifies a token with p's keys and rules at the clock of base/timeutil.h.
 * An unknown kid triggers one rate-limited refresh and a retry.  Returns
 * ST_OK, ST_UNAUTHENTICATED, or ST_UNAVAILABLE when p has no keys at all.
 */
ATTR_NODISCARD enum status auth_oidc_verify(struct auth_oidc *p, const char *token,
					    struct auth_jwt *out, struct err *e);

const char *auth_oidc_issuer(const struct auth_oidc *p); /* borrowed, lives as long as p */
const char *auth_oidc_groups_claim(const struct auth_oidc *p); /* borrowed */

/* For /readyz and logs. */
struct auth_oidc_status {
	bool have_keys;
	size_t keys; /* usable keys in the current set */
	int64_t last_attempt_us; /* 0: never tried */
	int64_t last_ok_us; /* 0: never succeeded */
	char last_error[ERR_MSG_MAX]; /* "" when the last attempt succeeded */
};
void auth_oidc_status_get(struct auth_oidc *p, struct auth_oidc_status *out);

/*
 * The trusted issuers.  Built before the server starts (add is not
 * thread-safe); verify is.
 */
struct auth_issuers;

struct auth_issuers *auth_issuers_new(void);
/* NULL-safe; frees the providers too. */
void auth_issuers_free(struct auth_issuers *set);
/* Takes over p, even on failure.  ST_CONFLICT when its issuer is already in the set. */
ATTR_NODISCARD enum status auth_issuers_add(struct auth_issuers *set, struct auth_oidc *p,
					    struct err *e);
size_t auth_issuers_count(const struct auth_issuers *set);
struct auth_oidc *auth_issuers_at(const struct auth_issuers *set, size_t i); /* borrowed */
/*
 * Picks the provider whose issuer equals the token's (unverified) iss and
 * verifies the token with it.  *by (optional) is that provider, borrowed.
 * ST_UNAUTHENTICATED for an issuer not in the set; else as auth_oidc_verify.
 */
ATTR_NODISCARD enum status auth_issuers_verify(struct auth_issuers *set, const char *token,
					       struct auth_jwt *out, struct auth_oidc **by,
					       struct err *e);

/* ------------------------------------------------------------------ */
/* Roles and permissions                                               */
/* ------------------------------------------------------------------ */

enum auth_role {
	AUTH_ROLE_AGENT = 0,
	AUTH_ROLE_CISO,
	AUTH_ROLE_SECURITY_OPERATOR,
	AUTH_ROLE_PLATFORM_SECURITY,
	AUTH_ROLE_MODEL_OWNER,
	AUTH_ROLE_AUDITOR,
	AUTH_ROLE_BREAK_GLASS_APPROVER,
	AUTH_ROLE_ADMIN,
	/* a scraper's: /metrics and nothing else (last, so that earlier roles keep their bits) */
	AUTH_ROLE_METRICS,
	AUTH_ROLE__COUNT
};

#define AUTH_ROLE_BIT(r) ((uint32_t)1 << (r))
/* Every role but agent: the people. */
#define AUTH_ROLES_HUMAN                                                                     \
	(AUTH_ROLE_BIT(AUTH_ROLE_CISO) | AUTH_ROLE_BIT(AUTH_ROLE_SECURITY_OPERATOR) |        \
	 AUTH_ROLE_BIT(AUTH_ROLE_PLATFORM_SECURITY) | AUTH_ROLE_BIT(AUTH_ROLE_MODEL_OWNER) | \
	 AUTH_ROLE_BIT(AUTH_ROLE_AUDITOR) | AUTH_ROLE_BIT(AUTH_ROLE_BREAK_GLASS_APPROVER))

/* "security_operator", ...; NULL for an out-of-range value. */
const char *auth_role_name(enum auth_role r);
/* Exact, lowercase name.  False when unknown. */
bool auth_role_parse(const char *name, enum auth_role *out);
/* Writes the names in roles, comma-separated ("" for none), into out. */
void auth_roles_format(uint32_t roles, char *out, size_t size);
/* The names in roles as a JSON array, in role order; caller owns. */
json_object *auth_roles_json(uint32_t roles);

enum auth_access {
	AUTH_ACCESS_PUBLIC, /* no credentials needed */
	AUTH_ACCESS_AUTHENTICATED, /* any verified caller, with or without roles */
	AUTH_ACCESS_ROLES, /* one of roles (admin always qualifies) */
};

/* One row of the permission table. */
struct auth_permission {
	const char *name; /* as named by the route table: "approvals.decide" */
	enum auth_access access;
	uint32_t roles; /* AUTH_ACCESS_ROLES: any of these grants it; admin is added implicitly */
	const char *summary; /* what it guards, for docs and `cavra auth permissions` */
};

/* The table, in display order.  Borrowed, static. */
size_t auth_permission_count(void);
const struct auth_permission *auth_permission_at(size_t i); /* NULL past the end */
const struct auth_permission *auth_permission_find(const char *name); /* NULL if unknown */
/* The roles that grant p (admin included), or 0 for public/authenticated rows. */
uint32_t auth_permission_roles(const struct auth_permission *p);

/* True when an authenticated caller holding roles may use permission (false if unknown). */
bool auth_allowed(uint32_t roles, const char *permission);
/*
 * As auth_allowed, with a reason: ST_FORBIDDEN "permission 'x' needs one of
 * the roles a, b, admin"; ST_INTERNAL for a permission not in the table.
 */
ATTR_NODISCARD enum status auth_check(uint32_t roles, const char *permission, struct err *e);

enum auth_render { AUTH_RENDER_TEXT, AUTH_RENDER_MARKDOWN };
/* Appends the whole permission table to out (columns: permission, who, what). */
ATTR_NODISCARD enum status auth_permissions_render(enum auth_render fmt, struct buf *out,
						   struct err *e);

/* ------------------------------------------------------------------ */
/* Group -> role mapping                                               */
/* ------------------------------------------------------------------ */

#define AUTH_MAPPING_MAX_GROUPS 1024 /* rules per mapping */
#define AUTH_GROUPS_MAX		512 /* groups read from one token */

/*
 * IdP groups -> roles.  The document shape (YAML or JSON, already parsed):
 *
 *   groups:                              # for every issuer without its own
 *     "CAVRA-CISO": [ciso]
 *     "Change Advisory Board": break_glass_approver
 *   issuers:
 *     "https://token.actions.example":   # this issuer uses only its own rules
 *       groups:
 *         "repo:org/app": [agent]
 *
 * Group names match exactly (case-sensitive).
 */
struct auth_mapping;

/* The built-in mapping (CAVRA-CISO -> ciso, ..., cavra-agents -> agent).  Free with
 * auth_mapping_free. */
struct auth_mapping *auth_mapping_new_default(void);
/*
 * Builds a mapping from doc (borrowed).  Strict: unknown keys, wrong types,
 * empty group names and unknown role names are ST_INVALID, the message
 * starting with source (a file name) and naming the group and role.
 */
ATTR_NODISCARD enum status auth_mapping_from_json(json_object *doc, const char *source,
						  struct auth_mapping **out, struct err *e);
void auth_mapping_free(struct auth_mapping *m); /* NULL-safe */
/* Roles granted by groups[0..n) for a token of issuer (NULL: the global rules). */
uint32_t auth_mapping_roles(const struct auth_mapping *m, const char *issuer,
			    const char *const *groups, size_t n);

/* ------------------------------------------------------------------ */
/* Principals                                                          */
/* ------------------------------------------------------------------ */

enum auth_kind { AUTH_KIND_NONE = 0, AUTH_KIND_JWT, AUTH_KIND_API_TOKEN };

/* Who is calling.  Every string is owned; release with auth_principal_release. */
struct auth_principal {
	enum auth_kind kind;
	char *issuer; /* JWT: iss; API token: NULL */
	char *subject; /* JWT: sub; API token: "token:<name>" */
	char *actor; /* recorded on approvals: email, else preferred_username, else sub */
	char **groups; /* JWT: the groups claim values */
	size_t n_groups;
	uint32_t roles;
};

/*
 * Fills *out from a verified token: sub (required), the actor, the groups
 * found under groups_claim (a claim name; when no claim has that exact name
 * and it contains '.', a path into nested objects such as
 * "realm_access.roles") and the roles m grants them.  The claim may be a
 * string or an array of strings.  ST_UNAUTHENTICATED for a missing sub or a
 * malformed groups claim.
 */
ATTR_NODISCARD enum status auth_principal_from_jwt(const struct auth_jwt *jwt,
						   const char *groups_claim,
						   const struct auth_mapping *m,
						   struct auth_principal *out, struct err *e);
/* Fills *out for an API token called name with the given roles. */
void auth_principal_for_token(const char *name, uint32_t roles, struct auth_principal *out);
void auth_principal_release(struct auth_principal *p); /* NULL-safe; zeroes *p */

/*
 * Why p has the roles it has: which group matched which mapping rule, which
 * groups would grant each missing role, and for every permission whether p
 * has it and, if not, which roles would grant it.  m is the mapping p was
 * built with (may be NULL for API tokens).  Caller owns the result
 * (json_object_put).
 */
json_object *auth_explain(const struct auth_mapping *m, const struct auth_principal *p);

/* ------------------------------------------------------------------ */
/* Console login: the authorization code flow with PKCE (auth_login.c) */
/* ------------------------------------------------------------------ */

/* Endpoints from the issuer's discovery document ("" until fetched). */
struct auth_endpoints {
	char authorization[512], token[512], end_session[512];
};
void auth_oidc_endpoints(struct auth_oidc *p, struct auth_endpoints *out);

/*
 * Verifies an ID token of p's issuer for the client audience (not the API
 * audience), refetching keys once on an unknown kid.  The nonce check is the
 * caller's.
 */
ATTR_NODISCARD enum status auth_oidc_verify_id_token(struct auth_oidc *p, const char *token,
						     const char *client_id, struct auth_jwt *out,
						     struct err *e);

#define AUTH_PKCE_VERIFIER_LEN 43 /* base64url of 32 random bytes */

/* Random url-safe values: a PKCE verifier, a state or a nonce (out holds AUTH_PKCE_VERIFIER_LEN+1).
 */
ATTR_NODISCARD enum status auth_random_b64url(char out[AUTH_PKCE_VERIFIER_LEN + 1], struct err *e);

struct auth_login_request {
	const char *client_id, *redirect_uri, *scope, *state, *nonce, *verifier;
};
/* The authorization URL to send the browser to; caller frees.  NULL before discovery. */
char *auth_login_url(struct auth_oidc *p, const struct auth_login_request *r);

/*
 * Exchanges an authorization code at the token endpoint (client_secret_basic,
 * with the PKCE verifier) and returns its id_token (caller frees).
 * ST_UNAUTHENTICATED when the provider refuses the code (used, expired,
 * wrong verifier): the message carries its "error"; ST_UNAVAILABLE when it
 * does not answer.
 */
ATTR_NODISCARD enum status auth_login_exchange(struct auth_oidc *p,
					       const struct auth_login_request *r, const char *code,
					       const char *client_secret, char **id_token,
					       struct err *e);

/* ------------------------------------------------------------------ */
/* API tokens                                                          */
/* ------------------------------------------------------------------ */

#define AUTH_TOKEN_PREFIX	"cavra_"
#define AUTH_TOKEN_RANDOM_BYTES 32
/* Length of a token: the prefix and two hex digits per random byte. */
#define AUTH_TOKEN_LEN (sizeof(AUTH_TOKEN_PREFIX) - 1 + (size_t)2 * AUTH_TOKEN_RANDOM_BYTES)

/* Writes a fresh random token ("cavra_" + 64 hex) and its NUL into out.  Show it once; store its
 * hash. */
ATTR_NODISCARD enum status auth_token_generate(char out[AUTH_TOKEN_LEN + 1], struct err *e);
/* True when s has the shape of an API token (so it is not a JWT). */
bool auth_token_is_api(const char *s);
/* The stored form: SHA-256 of the whole token, lowercase hex. */
void auth_token_hash(const char *token, char out[SHA256_HEX_LEN]);
/* Compares two secrets (CSRF tokens, nonces) in time that does not depend on where they differ. */
bool auth_secret_equal(const char *a, const char *b);
/* Compares two stored hashes in constant time; false unless both are 64 hex digits and equal. */
bool auth_token_hash_equal(const char *a, const char *b);

#endif
