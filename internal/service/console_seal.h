/*
 * console_seal.h - the web console's rows in console_sessions sealed with a key that the
 * database does not hold (docs/console.md#sealed-rows).
 *
 * The key is derived from the console's client secret, which every replica has and the
 * database never sees.  A row's seal is an HMAC-SHA256 over what it grants: its hash, its
 * expiry and its payload's fields.  Someone who can write the database but does not know
 * the client secret can neither make a session (a row for a cookie of their choosing) nor
 * widen one (its groups, actor or expiry) nor move a seal to another row.
 */
#ifndef CAVRA_CONSOLE_SEAL_H
#define CAVRA_CONSOLE_SEAL_H

#include "base/base.h"
#include "base/hash.h"

struct console_seal_key {
	unsigned char k[HMAC_SHA256_LEN];
};

/* The key of client_secret; false when OpenSSL fails. */
ATTR_NODISCARD bool console_seal_key_derive(const char *client_secret,
					    struct console_seal_key *key);

/* What a session row grants; strings may be NULL (a NULL and "" seal differently). */
struct console_seal_session {
	const char *hash, *expires_at, *subject, *actor, *issuer, *csrf_token;
	const char *const *groups;
	size_t ngroups;
};

/* What a login in flight holds. */
struct console_seal_login {
	const char *hash, *expires_at, *nonce, *verifier, *return_to, *binding;
};

/* The seals as lowercase hex into out; false when OpenSSL fails. */
ATTR_NODISCARD bool console_seal_session(const struct console_seal_key *key,
					 const struct console_seal_session *s,
					 char out[SHA256_HEX_LEN]);
ATTR_NODISCARD bool console_seal_login(const struct console_seal_key *key,
				       const struct console_seal_login *l,
				       char out[SHA256_HEX_LEN]);

/* Whether a stored seal (NULL: none) is expected's, compared in constant time. */
bool console_seal_matches(const char *stored, const char *expected);

#endif
