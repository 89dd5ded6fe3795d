/*
 * seals.h - the rows that grant access, sealed with keys that the database does not hold
 * (base/seal.h): the web console's sessions and logins in flight (docs/console.md#sealed-rows)
 * and, with api_token_key_file set, API tokens (docs/security.md#sealed-tokens).
 *
 * A row's seal is an HMAC-SHA256 over what it grants.  Someone who can write the database but
 * does not hold the key can neither make such a row (for a cookie or a token of their choosing)
 * nor widen one (its groups, roles, actor or expiry) nor move a seal to another row.
 */
#ifndef CAVRA_SEALS_H
#define CAVRA_SEALS_H

#include "base/base.h"
#include "base/seal.h"

/* The console's key, of its client secret; false when OpenSSL fails. */
ATTR_NODISCARD bool seal_console_key(const char *client_secret, struct seal_key *key);
/* The API tokens' key, of the api_token_key_file's secret. */
ATTR_NODISCARD bool seal_token_key(const char *secret, struct seal_key *key);
/* The audit chain entries' key, of audit_seal_key_file's secret (store/store_chain.h). */
ATTR_NODISCARD bool seal_audit_key(const char *secret, struct seal_key *key);

/* What a console session row grants; strings may be NULL (a NULL and "" seal differently). */
struct seal_session {
	const char *hash, *expires_at, *subject, *actor, *issuer, *csrf_token;
	const char *const *groups;
	size_t ngroups;
};

/* What a console login in flight holds. */
struct seal_login {
	const char *hash, *expires_at, *nonce, *verifier, *return_to, *binding;
};

/* What an API token grants: everything but its revocation and last use. */
struct seal_token {
	const char *token_id, *sha256, *name, *subject, *created_by, *created_at, *expires_at;
	const char *const *roles;
	size_t nroles;
};

/* The seals as lowercase hex into out; false when OpenSSL fails. */
ATTR_NODISCARD bool seal_of_session(const struct seal_key *key, const struct seal_session *s,
				    char out[SHA256_HEX_LEN]);
ATTR_NODISCARD bool seal_of_login(const struct seal_key *key, const struct seal_login *l,
				  char out[SHA256_HEX_LEN]);
ATTR_NODISCARD bool seal_of_token(const struct seal_key *key, const struct seal_token *t,
				  char out[SHA256_HEX_LEN]);

#endif
