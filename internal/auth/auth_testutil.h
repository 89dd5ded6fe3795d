/*
 * auth_testutil.h - helpers for the auth unit tests only: keys generated with
 * OpenSSL at test time, their JWK form, and tokens signed like an IdP would.
 */
#ifndef CAVRA_AUTH_TESTUTIL_H
#define CAVRA_AUTH_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base/base.h"
#include "base/xalloc.h"
#include "auth/auth_int.h"

static inline void tk_die(const char *what)
{
	fprintf(stderr, "test setup: %s failed\n", what);
	abort();
}

static inline EVP_PKEY *tk_rsa(unsigned bits)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);

	if (!k)
		tk_die("RSA keygen");
	return k;
}

static inline EVP_PKEY *tk_ec(const char *curve)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

	if (!k)
		tk_die("EC keygen");
	return k;
}

/* base64url of a key parameter, left-padded with zeros to pad bytes (0: minimal). */
static inline char *tk_param_b64(EVP_PKEY *k, const char *param, int pad)
{
	unsigned char raw[1024];
	BIGNUM *bn = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(k, param, &bn) != 1)
		tk_die(param);
	n = pad ? BN_bn2binpad(bn, raw, pad) : BN_bn2bin(bn, raw);
	BN_free(bn);
	if (n <= 0)
		tk_die("BN_bn2bin");
	return auth_b64url_encode(raw, (size_t)n);
}

/* The public JWK of k; extra is spliced in as more members (",\"alg\":\"RS256\"" or ""). */
static inline char *tk_jwk(EVP_PKEY *k, const char *kid, const char *extra)
{
	char *a, *b, *out;

	if (EVP_PKEY_is_a(k, "RSA")) {
		a = tk_param_b64(k, OSSL_PKEY_PARAM_RSA_N, 0);
		b = tk_param_b64(k, OSSL_PKEY_PARAM_RSA_E, 0);
		out = xasprintf("{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":\"sig\",\"n\":\"%s\","
				"\"e\":\"%s\"%s}",
				kid, a, b, extra);
	} else {
		int bits = EVP_PKEY_get_bits(k);
		int c = (bits + 7) / 8;

		a = tk_param_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, c);
		b = tk_param_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, c);
		out = xasprintf("{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"%s\",\"x\":\"%s\","
				"\"y\":\"%s\"%s}",
				kid, bits == 256 ? "P-256" : "P-384", a, b, extra);
	}
	free(a);
	free(b);
	return out;
}

/* DER ECDSA -> JWS r || s (coord bytes each) in place; returns the new length. */
static inline size_t tk_ecdsa_raw(unsigned char *sig, size_t len, int coord)
{
	const unsigned char *p = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;

	if (!es)
		tk_die("d2i_ECDSA_SIG");
	ECDSA_SIG_get0(es, &r, &s);
	BN_bn2binpad(r, sig, coord);
	BN_bn2binpad(s, sig + coord, coord);
	ECDSA_SIG_free(es);
	return 2 * (size_t)coord;
}

/* HMAC-SHA256 keyed with the DER public key: the classic alg-confusion forgery. */
static inline size_t tk_hmac(EVP_PKEY *k, const char *data, unsigned char *out, size_t size)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);
	size_t len = 0;

	if (n <= 0 || !EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, der, (size_t)n,
				 (const unsigned char *)data, strlen(data), out, size, &len))
		tk_die("HMAC");
	OPENSSL_free(der);
	return len;
}

static inline size_t tk_sig(EVP_PKEY *k, const char *alg, const char *data, unsigned char *out,
			    size_t size)
{
	const struct auth_alg_info *info = auth_alg_lookup(alg);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t len = size;

	if (strncmp(alg, "HS", 2) == 0) {
		EVP_MD_CTX_free(ctx);
		return tk_hmac(k, data, out, size);
	}
	if (!info || EVP_DigestSignInit_ex(ctx, &pctx, info->md, NULL, NULL, k, NULL) != 1)
		tk_die("sign init");
	if (info->pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
			  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		tk_die("PSS setup");
	if (EVP_DigestSign(ctx, out, &len, (const unsigned char *)data, strlen(data)) != 1)
		tk_die("sign");
	EVP_MD_CTX_free(ctx);
	if (info->kty != AUTH_KTY_RSA)
		len = tk_ecdsa_raw(out, len, (int)auth_kty_coord(info->kty));
	return len;
}

/*
 * A compact JWS of header and payload (JSON text) signed by k with alg
 * ("none": no signature).  Caller owns, free with free().
 */
static inline char *tk_sign(EVP_PKEY *k, const char *alg, const char *header, const char *payload)
{
	char *h = auth_b64url_encode(header, strlen(header));
	char *p = auth_b64url_encode(payload, strlen(payload));
	char *input = xasprintf("%s.%s", h, p);
	unsigned char sig[1024];
	char *s, *out;

	if (strcmp(alg, "none") == 0) {
		s = xstrdup("");
	} else {
		size_t n = tk_sig(k, alg, input, sig, sizeof(sig));

		s = auth_b64url_encode(sig, n);
	}
	out = xasprintf("%s.%s", input, s);
	free(h);
	free(p);
	free(input);
	free(s);
	return out;
}

#endif
