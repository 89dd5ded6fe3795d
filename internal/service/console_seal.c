/*
 * console_seal.c - HMAC seals over the console's rows.  Each field goes into the sealed
 * text as "<length>:<bytes>;" (a NULL as "-;"), so no two different rows give the same text:
 * groups ["a", "b"] and ["ab"], or a subject moved into the actor, seal differently.
 */
#include "base/base.h"
#include "service/console_seal.h"
#include "base/buf.h"

#include <openssl/crypto.h>
#include <string.h>

/* The label that keys are derived under; a new version of the sealed text changes it. */
static const char key_label[] = "cavra console seal key v1";

bool console_seal_key_derive(const char *client_secret, struct console_seal_key *key)
{
	return hmac_sha256(client_secret, strlen(client_secret), key_label, strlen(key_label),
			   key->k);
}

static void field(struct buf *b, const char *v)
{
	if (!v) {
		buf_xadds(b, "-;");
		return;
	}
	buf_xaddf(b, "%zu:", strlen(v));
	buf_xadds(b, v);
	buf_xadds(b, ";");
}

static bool seal(const struct console_seal_key *key, struct buf *b, char out[SHA256_HEX_LEN])
{
	unsigned char mac[HMAC_SHA256_LEN];
	bool ok = hmac_sha256(key->k, sizeof(key->k), b->data, b->len, mac);

	buf_release(b);
	if (ok)
		hex_encode(mac, sizeof(mac), out);
	return ok;
}

bool console_seal_session(const struct console_seal_key *key, const struct console_seal_session *s,
			  char out[SHA256_HEX_LEN])
{
	struct buf b = BUF_INIT;

	field(&b, "session v1");
	field(&b, s->hash);
	field(&b, s->expires_at);
	field(&b, s->subject);
	field(&b, s->actor);
	field(&b, s->issuer);
	field(&b, s->csrf_token);
	buf_xaddf(&b, "%zu;", s->ngroups);
	for (size_t i = 0; i < s->ngroups; i++)
		field(&b, s->groups[i]);
	return seal(key, &b, out);
}

bool console_seal_login(const struct console_seal_key *key, const struct console_seal_login *l,
			char out[SHA256_HEX_LEN])
{
	struct buf b = BUF_INIT;

	field(&b, "login v1");
	field(&b, l->hash);
	field(&b, l->expires_at);
	field(&b, l->nonce);
	field(&b, l->verifier);
	field(&b, l->return_to);
	field(&b, l->binding);
	return seal(key, &b, out);
}

bool console_seal_matches(const char *stored, const char *expected)
{
	return stored && strlen(stored) == SHA256_HEX_LEN - 1 &&
	       CRYPTO_memcmp(stored, expected, SHA256_HEX_LEN - 1) == 0;
}
