/*
 * auth_int.h - private to internal/auth: base64url, the algorithm table, the
 * key set layout and small helpers shared by the auth sources and tests.
 */
#ifndef CAVRA_AUTH_INT_H
#define CAVRA_AUTH_INT_H

#include "auth/auth.h"

#include <stdatomic.h>

#include <openssl/evp.h>

/* Key types a JWK can describe and an algorithm can need. */
enum auth_kty { AUTH_KTY_RSA, AUTH_KTY_EC_P256, AUTH_KTY_EC_P384 };

struct auth_alg_info {
	const char *name; /* "RS256" */
	uint32_t bit; /* enum auth_alg */
	enum auth_kty kty;
	const char *md; /* OpenSSL digest name */
	bool pss; /* RSASSA-PSS, salt length = digest length (RFC 7518 §3.5) */
};

struct auth_key {
	char *kid; /* NULL when the JWK has none */
	enum auth_kty kty;
	const struct auth_alg_info *alg; /* the JWK's "alg", or NULL: any alg of kty */
	EVP_PKEY *pkey;
};

struct auth_keyset {
	atomic_int refs;
	struct auth_key *keys;
	size_t n;
	size_t skipped;
	char skip_note[160];
};

/* Room for a value shown in a message (auth_show). */
#define AUTH_SHOW_MAX 72

/* The algorithm called name (exact), or NULL. */
const struct auth_alg_info *auth_alg_lookup(const char *name);
/* "RSA", "EC P-256", "EC P-384". */
const char *auth_kty_name(enum auth_kty kty);
/* Bytes of one EC coordinate (and of r or s in a JWS signature); 0 for RSA. */
size_t auth_kty_coord(enum auth_kty kty);

/*
 * Strict base64url (RFC 7515 §2): the URL-safe alphabet only, no padding, no
 * whitespace, unused trailing bits zero.  *out is the caller's (free), with a
 * NUL after the *outlen bytes.  False (and *out NULL) on anything else.
 */
bool auth_b64url_decode(const char *s, size_t n, unsigned char **out, size_t *outlen);
/* Unpadded base64url of data[0..n).  Caller owns, free with free(). */
char *auth_b64url_encode(const void *data, size_t n);

/* Copies s for a message: at most 64 bytes, non-printable ASCII as '?', "..." when cut. */
const char *auth_show(const char *s, char out[AUTH_SHOW_MAX]);

/* Sets *e to code "what: <first OpenSSL error>" and clears the OpenSSL error queue. */
enum status auth_ossl_err(struct err *e, enum status code, const char *what);

/* The three parts of a compact JWS, pointing into the token. */
struct jws_parts {
	const char *hdr, *payload, *sig;
	size_t hdr_len, payload_len, sig_len;
	size_t signed_len; /* "header.payload", the bytes the signature covers */
};

/* Splits token (at most AUTH_JWT_MAX bytes); ST_UNAUTHENTICATED when malformed. */
enum status auth_jws_split(const char *tok, struct jws_parts *parts, struct err *e);
/* Decodes a segment and parses it as a JSON object; what ("header") names it in errors. */
enum status auth_jws_segment_json(const char *s, size_t n, const char *what, json_object **out,
				  struct err *e);

/* auth_claims.c: iss, aud, exp, nbf and iat of a signed payload. ST_UNAUTHENTICATED. */
enum status auth_claims_check(json_object *claims, const struct auth_jwt_rules *r, int64_t now,
			      struct err *e);
/* exp of claims that passed auth_claims_check. */
int64_t auth_claims_exp(json_object *claims);

/* auth_oidc.c: the fetcher of a provider (borrowed), for the token endpoint. */
struct auth_fetcher *auth_oidc_fetcher(struct auth_oidc *p);

#endif
