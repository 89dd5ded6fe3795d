/*
 * auth_jwks.c - JWK set parsing into OpenSSL 3 public keys (EVP_PKEY_fromdata,
 * no deprecated RSA/EC_KEY calls).  A bad key is skipped and counted rather
 * than failing the set, so one odd entry at the IdP cannot lock everyone out.
 */
#include "base/base.h"
#include "auth/auth_int.h"
#include "base/xalloc.h"
#include "json/jx.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

/*
 * Caps on decoded sizes: a JWK set comes from the network, and an absurd modulus or exponent
 * would cost every signature check a slow big-number operation.
 */
#define RSA_MAX_BYTES	2048 /* 16384-bit modulus */
#define RSA_E_MAX_BYTES 8

/* Decodes base64url field name of jwk into a fresh string of 1..max bytes. */
static enum status field_bytes(json_object *jwk, const char *name, size_t max, unsigned char **out,
			       size_t *n, struct err *e)
{
	const char *s;

	if (jx_str(jwk, name, true, &s, e) != ST_OK)
		return ST_INVALID;
	if (!auth_b64url_decode(s, strlen(s), out, n))
		return err_set(e, ST_INVALID, "'%s' is not valid base64url", name);
	if (*n == 0 || *n > max) {
		free(*out);
		*out = NULL;
		return err_set(e, ST_INVALID, "'%s' has a bad length (%zu bytes)", name, *n);
	}
	return ST_OK;
}

static enum status field_bn(json_object *jwk, const char *name, size_t max, BIGNUM **out,
			    struct err *e)
{
	unsigned char *raw;
	size_t n;

	if (field_bytes(jwk, name, max, &raw, &n, e) != ST_OK)
		return ST_INVALID;
	*out = BN_bin2bn(raw, (int)n, NULL);
	free(raw);
	return *out ? ST_OK : auth_ossl_err(e, ST_INTERNAL, "BN_bin2bn");
}

/* Imports the public key that bld describes, then runs OpenSSL's public key check. */
static enum status pkey_import(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out, struct err *e)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY_CTX *check = NULL;
	enum status st = ST_OK;

	*out = NULL;
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		st = auth_ossl_err(e, ST_INVALID, "key import");
		goto out;
	}
	/* an EC point off the curve would open invalid-curve attacks; RSA gets sanity checks */
	check = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
	if (!check || EVP_PKEY_public_check(check) != 1) {
		st = auth_ossl_err(e, ST_INVALID, "public key check");
		EVP_PKEY_free(*out);
		*out = NULL;
	}
out:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return st;
}

static enum status rsa_from_jwk(json_object *jwk, EVP_PKEY **out, struct err *e)
{
	BIGNUM *n = NULL, *ex = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	enum status st;

	st = field_bn(jwk, "n", RSA_MAX_BYTES, &n, e);
	if (st == ST_OK)
		st = field_bn(jwk, "e", RSA_E_MAX_BYTES, &ex, e);
	if (st != ST_OK)
		goto out;
	/* shorter moduli are factorable; a JWKS may still carry them from old setups */
	if (BN_num_bits(n) < AUTH_RSA_MIN_BITS) {
		st = err_set(e, ST_INVALID, "RSA key of %d bits is shorter than %d", BN_num_bits(n),
			     AUTH_RSA_MIN_BITS);
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, ex)) {
		st = auth_ossl_err(e, ST_INTERNAL, "RSA parameters");
		goto out;
	}
	st = pkey_import("RSA", bld, out, e);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(ex);
	return st;
}

static enum status ec_curve(json_object *jwk, enum auth_kty *kty, const char **group, struct err *e)
{
	char shown[AUTH_SHOW_MAX];
	const char *crv;

	if (jx_str(jwk, "crv", true, &crv, e) != ST_OK)
		return ST_INVALID;
	if (strcmp(crv, "P-256") == 0) {
		*kty = AUTH_KTY_EC_P256;
		*group = "prime256v1";
	} else if (strcmp(crv, "P-384") == 0) {
		*kty = AUTH_KTY_EC_P384;
		*group = "secp384r1";
	} else {
		return err_set(e, ST_INVALID, "crv '%s' is not supported", auth_show(crv, shown));
	}
	return ST_OK;
}

/* Reads coordinate name (exactly size bytes, RFC 7518 §6.2.1.2) into dst. */
static enum status ec_coord(json_object *jwk, const char *name, size_t size, unsigned char *dst,
			    struct err *e)
{
	unsigned char *raw;
	size_t n;

	if (field_bytes(jwk, name, size, &raw, &n, e) != ST_OK)
		return ST_INVALID;
	if (n != size) {
		free(raw);
		return err_set(e, ST_INVALID, "'%s' is %zu bytes, want %zu", name, n, size);
	}
	memcpy(dst, raw, n);
	free(raw);
	return ST_OK;
}

static enum status ec_from_jwk(json_object *jwk, enum auth_kty *kty, EVP_PKEY **out, struct err *e)
{
	unsigned char pub[1 + 2 * 48];
	OSSL_PARAM_BLD *bld;
	const char *group = NULL;
	enum status st;
	size_t c;

	if (ec_curve(jwk, kty, &group, e) != ST_OK)
		return ST_INVALID;
	c = auth_kty_coord(*kty);
	pub[0] = 0x04; /* uncompressed point: 04 || x || y */
	if (ec_coord(jwk, "x", c, pub + 1, e) != ST_OK || ec_coord(jwk, "y", c, pub + 1 + c, e))
		return ST_INVALID;
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * c)) {
		OSSL_PARAM_BLD_free(bld);
		return auth_ossl_err(e, ST_INTERNAL, "EC parameters");
	}
	st = pkey_import("EC", bld, out, e);
	OSSL_PARAM_BLD_free(bld);
	return st;
}

/* Reads use, alg and kid; rejects keys that are not for signatures. */
static enum status key_meta(json_object *jwk, struct auth_key *k, struct err *e)
{
	char shown[AUTH_SHOW_MAX];
	const char *use, *alg, *kid;

	if (jx_str(jwk, "use", false, &use, e) != ST_OK ||
	    jx_str(jwk, "alg", false, &alg, e) != ST_OK || jx_str(jwk, "kid", false, &kid, e))
		return ST_INVALID;
	/* an encryption key must never verify signatures, even if the maths would work */
	if (use && strcmp(use, "sig") != 0)
		return err_set(e, ST_INVALID, "use '%s' is not 'sig'", auth_show(use, shown));
	if (alg) {
		k->alg = auth_alg_lookup(alg);
		if (!k->alg)
			return err_set(e, ST_INVALID, "alg '%s' is not supported",
				       auth_show(alg, shown));
	}
	k->kid = kid ? xstrdup(kid) : NULL;
	return ST_OK;
}

/* Parses one JWK into *k.  On failure *k holds nothing. */
static enum status key_parse(json_object *jwk, struct auth_key *k, struct err *e)
{
	char shown[AUTH_SHOW_MAX];
	const char *kty;
	enum status st;

	memset(k, 0, sizeof(*k));
	if (!json_object_is_type(jwk, json_type_object))
		return err_set(e, ST_INVALID, "not a JSON object");
	if (jx_str(jwk, "kty", true, &kty, e) != ST_OK || key_meta(jwk, k, e) != ST_OK)
		return ST_INVALID;
	if (strcmp(kty, "RSA") == 0) {
		k->kty = AUTH_KTY_RSA;
		st = rsa_from_jwk(jwk, &k->pkey, e);
	} else if (strcmp(kty, "EC") == 0) {
		st = ec_from_jwk(jwk, &k->kty, &k->pkey, e);
	} else {
		st = err_set(e, ST_INVALID, "kty '%s' is not supported", auth_show(kty, shown));
	}
	if (st == ST_OK && k->alg && k->alg->kty != k->kty)
		st = err_set(e, ST_INVALID, "alg %s does not fit a %s key", k->alg->name,
			     auth_kty_name(k->kty));
	if (st != ST_OK) {
		free(k->kid);
		EVP_PKEY_free(k->pkey);
		memset(k, 0, sizeof(*k));
	}
	return st;
}

/*
 * Only the first skipped key is described (the count says how many): enough for an operator
 * to find the odd entry at the IdP, in a message of bounded size.
 */
static void note_skip(struct auth_keyset *ks, size_t i, const char *kid, const char *why)
{
	char shown[AUTH_SHOW_MAX];

	if (ks->skipped++ == 0 &&
	    snprintf(ks->skip_note, sizeof(ks->skip_note), "key %zu%s%s%s: %s", i, kid ? " '" : "",
		     kid ? auth_show(kid, shown) : "", kid ? "'" : "",
		     why) >= (int)sizeof(ks->skip_note))
		ks->skip_note[sizeof(ks->skip_note) - 2] = '~'; /* cut short: say so */
}

/*
 * The key count is capped so that a huge set cannot make every unknown-kid lookup slow; keys
 * past the cap are skipped and counted like any other unusable key.
 */
static void keys_fill(struct auth_keyset *ks, json_object *arr)
{
	size_t total = json_object_array_length(arr);

	ks->keys = xcalloc(total < AUTH_JWKS_MAX_KEYS ? total + 1 : AUTH_JWKS_MAX_KEYS,
			   sizeof(*ks->keys));
	for (size_t i = 0; i < total; i++) {
		json_object *jwk = json_object_array_get_idx(arr, i);
		struct err ke = {0};

		if (ks->n == AUTH_JWKS_MAX_KEYS) {
			note_skip(ks, i, NULL, "too many keys");
			continue;
		}
		if (key_parse(jwk, &ks->keys[ks->n], &ke) == ST_OK)
			ks->n++;
		else
			note_skip(ks, i, jx_get_str(jwk, "kid"), ke.msg);
	}
}

/*
 * A set with no usable key at all is an error, so that a refresh which fetched garbage keeps
 * the last good keys instead of replacing them with nothing.
 */
enum status auth_keyset_parse(const char *json, size_t len, struct auth_keyset **out, struct err *e)
{
	struct auth_keyset *ks;
	json_object *doc, *arr;
	struct err pe = {0};

	*out = NULL;
	if (jx_parse_object(json, len, &doc, &pe) != ST_OK)
		return err_set(e, ST_INVALID, "jwks is not a JSON object");
	if (!json_object_object_get_ex(doc, "keys", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(doc);
		return err_set(e, ST_INVALID, "jwks has no 'keys' array");
	}
	/* refcounted so a request can keep using a set while a refresh swaps in a new one */
	ks = xcalloc(1, sizeof(*ks));
	atomic_init(&ks->refs, 1);
	keys_fill(ks, arr);
	json_object_put(doc);
	if (ks->n == 0) {
		enum status st =
			err_set(e, ST_INVALID, "jwks has no usable signing key (%zu skipped%s%s)",
				ks->skipped, ks->skipped ? "; first: " : "", ks->skip_note);

		auth_keyset_unref(ks);
		return st;
	}
	*out = ks;
	return ST_OK;
}

/*
 * Key sets are reference-counted so that a refresh can swap in a new set while requests are
 * still verifying with the old one: each verification holds its own reference and never the
 * issuer's lock, and the last reference frees the keys.
 */
struct auth_keyset *auth_keyset_ref(struct auth_keyset *ks)
{
	atomic_fetch_add(&ks->refs, 1);
	return ks;
}

void auth_keyset_unref(struct auth_keyset *ks)
{
	if (!ks || atomic_fetch_sub(&ks->refs, 1) != 1)
		return;
	for (size_t i = 0; i < ks->n; i++) {
		free(ks->keys[i].kid);
		EVP_PKEY_free(ks->keys[i].pkey);
	}
	free(ks->keys);
	free(ks);
}

size_t auth_keyset_count(const struct auth_keyset *ks)
{
	return ks->n;
}

size_t auth_keyset_skipped(const struct auth_keyset *ks)
{
	return ks->skipped;
}

const char *auth_keyset_skip_note(const struct auth_keyset *ks)
{
	return ks->skip_note;
}
