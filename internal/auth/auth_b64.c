/*
 * auth_b64.c - strict base64url for JWS segments and JWK fields, plus the
 * algorithm table and the small message helpers of auth_int.h.
 */
#include "base/base.h"
#include "auth/auth_int.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

static const char b64url_digits[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const struct auth_alg_info alg_table[] = {
	{"RS256", AUTH_ALG_RS256, AUTH_KTY_RSA, "SHA256", false},
	{"RS384", AUTH_ALG_RS384, AUTH_KTY_RSA, "SHA384", false},
	{"RS512", AUTH_ALG_RS512, AUTH_KTY_RSA, "SHA512", false},
	{"PS256", AUTH_ALG_PS256, AUTH_KTY_RSA, "SHA256", true},
	{"PS384", AUTH_ALG_PS384, AUTH_KTY_RSA, "SHA384", true},
	{"PS512", AUTH_ALG_PS512, AUTH_KTY_RSA, "SHA512", true},
	{"ES256", AUTH_ALG_ES256, AUTH_KTY_EC_P256, "SHA256", false},
	{"ES384", AUTH_ALG_ES384, AUTH_KTY_EC_P384, "SHA384", false},
};

const struct auth_alg_info *auth_alg_lookup(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(alg_table); i++)
		if (strcmp(alg_table[i].name, name) == 0)
			return &alg_table[i];
	return NULL;
}

const char *auth_kty_name(enum auth_kty kty)
{
	switch (kty) {
	case AUTH_KTY_RSA:
		return "RSA";
	case AUTH_KTY_EC_P256:
		return "EC P-256";
	case AUTH_KTY_EC_P384:
		return "EC P-384";
	}
	return "?";
}

size_t auth_kty_coord(enum auth_kty kty)
{
	switch (kty) {
	case AUTH_KTY_EC_P256:
		return 32;
	case AUTH_KTY_EC_P384:
		return 48;
	case AUTH_KTY_RSA:
		break;
	}
	return 0;
}

/* Parses one name of an allow-list entry into *bit. */
static enum status alg_word(const char *w, size_t n, uint32_t *bit, struct err *e)
{
	char name[16];

	if (n >= sizeof(name))
		return err_set(e, ST_INVALID, "algorithm '%.*s...' is not supported", 12, w);
	memcpy(name, w, n);
	name[n] = '\0';
	if (strcasecmp(name, "none") == 0 || strncasecmp(name, "HS", 2) == 0)
		return err_set(e, ST_INVALID, "algorithm '%s' is never accepted", name);
	for (size_t i = 0; i < ARRAY_SIZE(alg_table); i++)
		if (strcmp(alg_table[i].name, name) == 0) {
			*bit = alg_table[i].bit;
			return ST_OK;
		}
	return err_set(e, ST_INVALID,
		       "algorithm '%s' is not supported (supported: RS256, RS384, "
		       "RS512, PS256, PS384, PS512, ES256, ES384)",
		       name);
}

enum status auth_algs_parse(const char *list, uint32_t *out, struct err *e)
{
	static const char seps[] = ", \t";
	uint32_t mask = 0, bit = 0;
	const char *p = list;

	while (*(p += strspn(p, seps))) {
		size_t n = strcspn(p, seps);

		if (alg_word(p, n, &bit, e) != ST_OK)
			return ST_INVALID;
		mask |= bit;
		p += n;
	}
	if (!mask)
		return err_set(e, ST_INVALID, "algorithm list is empty");
	*out = mask;
	return ST_OK;
}

void auth_algs_format(uint32_t algs, char *out, size_t size)
{
	size_t used = 0;

	if (size)
		out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(alg_table) && used < size; i++) {
		if (!(algs & alg_table[i].bit))
			continue;
		used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "",
					 alg_table[i].name);
	}
}

static int b64url_value(unsigned char c)
{
	const char *p = c ? strchr(b64url_digits, c) : NULL;

	return p ? (int)(p - b64url_digits) : -1;
}

/*
 * Strict on purpose: no padding, no whitespace, no standard-alphabet characters.  A lenient
 * decoder would accept many spellings of one signature, and a JWS signs the exact segment
 * text, so every byte of it must mean exactly one thing.  The result is NUL-terminated so that
 * a decoded JSON segment can go straight to the parser.
 */
bool auth_b64url_decode(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	unsigned char *p;
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0;

	*out = NULL;
	*outlen = 0;
	if (n % 4 == 1)
		return false;
	p = xmalloc(n / 4 * 3 + 3);
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value((unsigned char)s[i]);

		if (v < 0)
			goto bad;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			p[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* leftover bits must be zero, so that each value has one encoding */
	if (acc != 0)
		goto bad;
	p[o] = '\0';
	*out = p;
	*outlen = o;
	return true;
bad:
	free(p);
	return false;
}

char *auth_b64url_encode(const void *data, size_t n)
{
	const unsigned char *p = data;
	char *out = xmalloc(n / 3 * 4 + 5);
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64url_digits[(acc >> bits) & 63];
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[o++] = b64url_digits[(acc << (6 - bits)) & 63];
	out[o] = '\0';
	return out;
}

/*
 * For quoting a value from a token in an error message: printable ASCII only and cut short,
 * because these messages are logged and some are returned to the client, and a token's claims
 * are attacker-controlled text.
 */
const char *auth_show(const char *s, char out[AUTH_SHOW_MAX])
{
	size_t i;

	for (i = 0; s[i] && i < 64; i++)
		out[i] = (char)((s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?');
	if (s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/*
 * Takes one error off OpenSSL's thread-local queue and clears the rest: a stale entry left
 * there would be reported later against an unrelated call on the same thread.
 */
enum status auth_ossl_err(struct err *e, enum status code, const char *what)
{
	unsigned long ec = ERR_get_error();
	char msg[160] = "unknown error";

	if (ec)
		ERR_error_string_n(ec, msg, sizeof(msg));
	ERR_clear_error();
	return err_set(e, code, "%s: %s", what, msg);
}
