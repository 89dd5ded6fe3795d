/*
 * seals.c - the texts sealed for the console's rows and for API tokens: a kind and version
 * first, so that no row of one kind passes for another, then each field (base/seal.h).
 */
#include "base/base.h"
#include "service/seals.h"

bool seal_console_key(const char *client_secret, struct seal_key *key)
{
	return seal_key_derive(client_secret, "cavra console seal key v1", key);
}

bool seal_token_key(const char *secret, struct seal_key *key)
{
	return seal_key_derive(secret, "cavra api token seal key v1", key);
}

bool seal_audit_key(const char *secret, struct seal_key *key)
{
	return seal_key_derive(secret, "cavra audit chain seal key v1", key);
}

bool seal_of_session(const struct seal_key *key, const struct seal_session *s,
		     char out[SHA256_HEX_LEN])
{
	struct buf b = BUF_INIT;

	seal_field(&b, "session v1");
	seal_field(&b, s->hash);
	seal_field(&b, s->expires_at);
	seal_field(&b, s->subject);
	seal_field(&b, s->actor);
	seal_field(&b, s->issuer);
	seal_field(&b, s->csrf_token);
	seal_count(&b, s->ngroups);
	for (size_t i = 0; i < s->ngroups; i++)
		seal_field(&b, s->groups[i]);
	return seal_sign(key, &b, out);
}

bool seal_of_login(const struct seal_key *key, const struct seal_login *l, char out[SHA256_HEX_LEN])
{
	struct buf b = BUF_INIT;

	seal_field(&b, "login v1");
	seal_field(&b, l->hash);
	seal_field(&b, l->expires_at);
	seal_field(&b, l->nonce);
	seal_field(&b, l->verifier);
	seal_field(&b, l->return_to);
	seal_field(&b, l->binding);
	return seal_sign(key, &b, out);
}

bool seal_of_token(const struct seal_key *key, const struct seal_token *t, char out[SHA256_HEX_LEN])
{
	struct buf b = BUF_INIT;

	seal_field(&b, "api token v1");
	seal_field(&b, t->token_id);
	seal_field(&b, t->sha256);
	seal_field(&b, t->name);
	seal_field(&b, t->subject);
	seal_field(&b, t->created_by);
	seal_field(&b, t->created_at);
	seal_field(&b, t->expires_at);
	seal_count(&b, t->nroles);
	for (size_t i = 0; i < t->nroles; i++)
		seal_field(&b, t->roles[i]);
	return seal_sign(key, &b, out);
}
