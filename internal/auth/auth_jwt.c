/*
 * auth_jwt.c - compact JWS verification: split, decode, header checks, key
 * choice and the OpenSSL signature check.  The claims are checked after the
 * signature (auth_claims.c), so that a claim error always concerns a token
 * the issuer really signed.
 */
#include "base/base.h"
#include "auth/auth_int.h"
#include "base/xalloc.h"
#include "json/jx.h"

#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

enum status auth_jws_split(const char *tok, struct jws_parts *parts, struct err *e)
{
	size_t len = strnlen(tok, AUTH_JWT_MAX + 1);
	const char *d1, *d2, *end = tok + len;

	if (len == 0)
		return err_set(e, ST_UNAUTHENTICATED, "token is empty");
	/* checked before anything is decoded or allocated */
	if (len > AUTH_JWT_MAX)
		return err_set(e, ST_UNAUTHENTICATED, "token is longer than %d bytes",
			       AUTH_JWT_MAX);
	d1 = memchr(tok, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', (size_t)(end - d1 - 1)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', (size_t)(end - d2 - 1)))
		return err_set(e, ST_UNAUTHENTICATED,
			       "token is not a compact JWS (three parts separated by '.')");
	parts->hdr = tok;
	parts->hdr_len = (size_t)(d1 - tok);
	parts->payload = d1 + 1;
	parts->payload_len = (size_t)(d2 - d1 - 1);
	parts->sig = d2 + 1;
	parts->sig_len = (size_t)(end - d2 - 1);
	parts->signed_len = (size_t)(d2 - tok);
	if (parts->hdr_len == 0 || parts->payload_len == 0)
		return err_set(e, ST_UNAUTHENTICATED, "token has an empty header or payload");
	return ST_OK;
}

enum status auth_jws_segment_json(const char *s, size_t n, const char *what, json_object **out,
				  struct err *e)
{
	struct err pe = {0};
	unsigned char *raw;
	size_t rawlen;
	enum status st;

	*out = NULL;
	if (!auth_b64url_decode(s, n, &raw, &rawlen))
		return err_set(e, ST_UNAUTHENTICATED, "token %s is not valid base64url", what);
	st = jx_parse_object((const char *)raw, rawlen, out, &pe);
	free(raw);
	if (st != ST_OK)
		return err_set(e, ST_UNAUTHENTICATED, "token %s %s", what, jx_fault(pe.msg));
	return ST_OK;
}

/* RFC 9068 §4: "at+jwt", with or without the "application/" prefix, any case. */
static bool is_at_jwt(const char *typ)
{
	return typ &&
	       (strcasecmp(typ, "at+jwt") == 0 || strcasecmp(typ, "application/at+jwt") == 0);
}

/*
 * The algorithm comes from the attacker, so it is checked against a fixed
 * table and the allow-list, and later against the key's type: never trusted to
 * pick how the key is used (the "alg: none" and HS256-with-public-key attacks).
 */
static enum status header_alg(json_object *hdr, uint32_t allowed, const struct auth_alg_info **alg,
			      struct err *e)
{
	char shown[AUTH_SHOW_MAX], list[AUTH_ALGS_NAMES_MAX];
	const char *name;

	if (jx_str(hdr, "alg", true, &name, NULL) != ST_OK)
		return err_set(e, ST_UNAUTHENTICATED, "token header has no 'alg'");
	/* named apart from "not supported" so that logs show an attack for what it is */
	if (strcasecmp(name, "none") == 0)
		return err_set(e, ST_UNAUTHENTICATED, "token algorithm 'none' is never accepted");
	if (strncasecmp(name, "HS", 2) == 0)
		return err_set(e, ST_UNAUTHENTICATED,
			       "token algorithm '%s' is never accepted (shared-secret HMAC)",
			       auth_show(name, shown));
	*alg = auth_alg_lookup(name); /* exact: "rs256" is not RS256 */
	if (!*alg)
		return err_set(e, ST_UNAUTHENTICATED, "token algorithm '%s' is not supported",
			       auth_show(name, shown));
	if (!((*alg)->bit & allowed)) {
		auth_algs_format(allowed, list, sizeof(list));
		return err_set(e, ST_UNAUTHENTICATED,
			       "token algorithm %s is not allowed (allowed: %s)", name, list);
	}
	return ST_OK;
}

/* Checks the header; *alg and *kid (NULL when absent) point into hdr. */
static enum status header_check(json_object *hdr, const struct auth_jwt_rules *r,
				const struct auth_alg_info **alg, const char **kid, struct err *e)
{
	char shown[AUTH_SHOW_MAX];
	const char *typ;

	if (header_alg(hdr, r->algs ? r->algs : AUTH_ALGS_DEFAULT, alg, e) != ST_OK)
		return ST_UNAUTHENTICATED;
	/* RFC 7515 §4.1.11: we understand no extension, so any "crit" is fatal */
	if (json_object_object_get_ex(hdr, "crit", NULL))
		return err_set(e, ST_UNAUTHENTICATED,
			       "token header has critical extensions ('crit') we do not support");
	if (jx_str(hdr, "kid", false, kid, NULL) != ST_OK)
		return err_set(e, ST_UNAUTHENTICATED, "token header 'kid' must be a string");
	if (jx_str(hdr, "typ", false, &typ, NULL) != ST_OK)
		return err_set(e, ST_UNAUTHENTICATED, "token header 'typ' must be a string");
	if (r->require_at_jwt && !is_at_jwt(typ))
		return err_set(e, ST_UNAUTHENTICATED, "token type '%s' is not at+jwt (RFC 9068)",
			       typ ? auth_show(typ, shown) : "(none)");
	return ST_OK;
}

/*
 * The key decides which algorithms may use it, never the token alone: a token that names an
 * algorithm of another family than its key (the classic RS256/HS256 confusion) is refused.
 */
static bool key_fits(const struct auth_key *k, const struct auth_alg_info *alg)
{
	return k->kty == alg->kty && (!k->alg || k->alg == alg);
}

static enum status key_misfit(const struct auth_key *k, const struct auth_alg_info *alg,
			      struct err *e)
{
	char shown[AUTH_SHOW_MAX];

	if (k->kty != alg->kty)
		return err_set(e, ST_UNAUTHENTICATED, "key '%s' is %s but %s needs %s",
			       auth_show(k->kid, shown), auth_kty_name(k->kty), alg->name,
			       auth_kty_name(alg->kty));
	return err_set(e, ST_UNAUTHENTICATED, "key '%s' is for %s, not %s",
		       auth_show(k->kid, shown), k->alg->name, alg->name);
}

/*
 * The key for kid, or without kid the only key that fits alg.  ST_NOT_FOUND
 * when a refetch of the keys could help.
 */
static enum status key_pick(const struct auth_keyset *ks, const char *kid,
			    const struct auth_alg_info *alg, const struct auth_key **out,
			    struct err *e)
{
	const struct auth_key *named = NULL, *fit = NULL;
	char shown[AUTH_SHOW_MAX];
	size_t fits = 0;

	for (size_t i = 0; i < ks->n; i++) {
		const struct auth_key *k = &ks->keys[i];

		if (kid && (!k->kid || strcmp(k->kid, kid) != 0))
			continue;
		named = k;
		if (key_fits(k, alg)) {
			fit = k;
			fits++;
		}
	}
	/* a kid names one key; a kid whose only keys do not fit alg is not "unknown" */
	if (kid && fit) {
		*out = fit;
		return ST_OK;
	}
	if (kid)
		return named ? key_misfit(named, alg, e)
			     : err_set(e, ST_NOT_FOUND, "no key with the token's kid '%s'",
				       auth_show(kid, shown));
	/* without kid, guessing among several keys would let any of them sign */
	if (fits == 1) {
		*out = fit;
		return ST_OK;
	}
	if (fits == 0)
		return err_set(e, ST_NOT_FOUND, "token has no kid and no %s key is known",
			       auth_kty_name(alg->kty));
	return err_set(e, ST_UNAUTHENTICATED, "token has no kid and %zu keys fit %s", fits,
		       alg->name);
}

/* A signature from a token; for ECDSA also the DER form that OpenSSL checks. */
struct sig {
	unsigned char *raw; /* free() */
	size_t raw_len;
	unsigned char *der; /* OPENSSL_free() */
	size_t der_len;
};

/* JWS ECDSA signatures are r || s (RFC 7518 §3.4); OpenSSL wants DER. */
static enum status ecdsa_to_der(struct sig *sg, size_t coord, struct err *e)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sg->raw, (int)coord, NULL);
	BIGNUM *s = BN_bin2bn(sg->raw + coord, (int)coord, NULL);
	int len;

	if (!es || !r || !s) {
		ECDSA_SIG_free(es);
		BN_free(r);
		BN_free(s);
		return auth_ossl_err(e, ST_INTERNAL, "ECDSA signature");
	}
	ECDSA_SIG_set0(es, r, s); /* cannot fail with both set; es owns them now */
	len = i2d_ECDSA_SIG(es, &sg->der);
	ECDSA_SIG_free(es);
	if (len <= 0)
		return auth_ossl_err(e, ST_INTERNAL, "ECDSA signature encoding");
	sg->der_len = (size_t)len;
	return ST_OK;
}

/* Checks the signature length for the key and converts ECDSA to DER. */
static enum status sig_prepare(const struct auth_key *k, const struct auth_alg_info *alg,
			       struct sig *sg, struct err *e)
{
	size_t coord = auth_kty_coord(alg->kty);
	size_t want = coord ? 2 * coord : (size_t)EVP_PKEY_get_size(k->pkey);

	if (sg->raw_len != want)
		return err_set(e, ST_UNAUTHENTICATED,
			       "token signature is %zu bytes, %s with this key needs %zu",
			       sg->raw_len, alg->name, want);
	if (coord)
		return ecdsa_to_der(sg, coord, e);
	return ST_OK;
}

/* Checks sg over the signed part of the token with key k. */
static enum status sig_verify(const struct auth_key *k, const struct auth_alg_info *alg,
			      const struct jws_parts *parts, struct sig *sg, struct err *e)
{
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	enum status st;

	st = sig_prepare(k, alg, sg, e);
	if (st != ST_OK)
		return st;
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestVerifyInit_ex(ctx, &pctx, alg->md, NULL, NULL, k->pkey, NULL) != 1 ||
	    (alg->pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
			  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))) {
		st = auth_ossl_err(e, ST_INTERNAL, "signature check setup");
	} else if (EVP_DigestVerify(ctx, sg->der ? sg->der : sg->raw,
				    sg->der ? sg->der_len : sg->raw_len,
				    (const unsigned char *)parts->hdr, parts->signed_len) != 1) {
		ERR_clear_error();
		st = err_set(e, ST_UNAUTHENTICATED, "token signature does not verify");
	}
	EVP_MD_CTX_free(ctx);
	return st;
}

/* Decodes the signature segment and checks it with the key the header names. */
static enum status signature_check(const struct jws_parts *parts, json_object *hdr,
				   const struct auth_keyset *ks, const struct auth_jwt_rules *r,
				   struct err *e)
{
	const struct auth_alg_info *alg = NULL;
	const struct auth_key *key = NULL;
	const char *kid = NULL;
	struct sig sg = {0};
	enum status st;

	st = header_check(hdr, r, &alg, &kid, e);
	if (st != ST_OK)
		return st;
	if (parts->sig_len == 0)
		return err_set(e, ST_UNAUTHENTICATED, "token has no signature");
	if (!auth_b64url_decode(parts->sig, parts->sig_len, &sg.raw, &sg.raw_len))
		return err_set(e, ST_UNAUTHENTICATED, "token signature is not valid base64url");
	st = key_pick(ks, kid, alg, &key, e);
	if (st == ST_OK)
		st = sig_verify(key, alg, parts, &sg, e);
	free(sg.raw);
	OPENSSL_free(sg.der);
	return st;
}

enum status auth_jwt_verify(const char *token, const struct auth_keyset *keys,
			    const struct auth_jwt_rules *rules, int64_t now, struct auth_jwt *out,
			    struct err *e)
{
	struct jws_parts parts;
	json_object *hdr = NULL, *claims = NULL;
	enum status st;

	memset(out, 0, sizeof(*out));
	if (!keys || !rules || !rules->issuer || !rules->audience)
		return err_set(e, ST_INTERNAL, "jwt verify: no keys, issuer or audience given");
	/* signature before claims: a claim error then always concerns a signed token */
	st = auth_jws_split(token, &parts, e);
	if (st == ST_OK)
		st = auth_jws_segment_json(parts.hdr, parts.hdr_len, "header", &hdr, e);
	if (st == ST_OK)
		st = signature_check(&parts, hdr, keys, rules, e);
	if (st == ST_OK)
		st = auth_jws_segment_json(parts.payload, parts.payload_len, "payload", &claims, e);
	if (st == ST_OK)
		st = auth_claims_check(claims, rules, now, e);
	if (st != ST_OK) {
		json_object_put(hdr);
		json_object_put(claims);
		return st;
	}
	out->header = hdr;
	out->claims = claims;
	out->alg = jx_get_str(hdr, "alg");
	out->kid = jx_get_str(hdr, "kid");
	out->iss = jx_get_str(claims, "iss");
	out->sub = jx_get_str(claims, "sub");
	out->exp = auth_claims_exp(claims);
	return ST_OK;
}

void auth_jwt_release(struct auth_jwt *t)
{
	if (!t)
		return;
	json_object_put(t->header);
	json_object_put(t->claims);
	memset(t, 0, sizeof(*t));
}

/*
 * Reads iss without verifying anything, only to choose the issuer whose keys to verify with.
 * Nothing read here may be trusted: the chosen issuer checks iss again on the signed claims.
 */
enum status auth_jwt_peek_issuer(const char *token, char **iss, struct err *e)
{
	struct jws_parts parts;
	json_object *claims = NULL;
	const char *s = NULL;
	enum status st;

	*iss = NULL;
	st = auth_jws_split(token, &parts, e);
	if (st == ST_OK)
		st = auth_jws_segment_json(parts.payload, parts.payload_len, "payload", &claims, e);
	if (st != ST_OK)
		return st;
	if (jx_str(claims, "iss", true, &s, NULL) != ST_OK)
		st = err_set(e, ST_UNAUTHENTICATED, "token has no 'iss' claim");
	else
		*iss = xstrdup(s);
	json_object_put(claims);
	return st;
}
