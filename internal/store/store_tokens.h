/*
 * store_tokens.h - API tokens for service accounts (table api_tokens).
 * Only a token's SHA-256 is stored.
 */
#ifndef CAVRA_STORE_TOKENS_H
#define CAVRA_STORE_TOKENS_H

#include "store/store.h"

/* A stored token; strings owned. */
struct token_row {
	char *token_id, *name, *subject, *created_by, *sha256;
	char *expires_at, *revoked_at, *last_used_at, *created_at; /* NULL when unset */
	char *payload; /* {"roles": [...]} */
};
void store_token_row_release(struct token_row *t);

/* A token to create; borrowed. */
struct token_new {
	const char *token_id, *sha256, *name, *subject, *created_by, *expires_at, *now, *payload;
};

/* Inserts t unless an unrevoked token has the same name (ST_CONFLICT). */
ATTR_NODISCARD enum status store_token_create(struct store *st, const struct token_new *t,
					      struct err *e);
/* The token with this hash, revoked or not; ST_NOT_FOUND when none. */
ATTR_NODISCARD enum status store_token_find(struct store *st, const char *sha256,
					    struct token_row *out, struct err *e);
/* Every token, newest first; *rows is the caller's (store_token_rows_free). */
ATTR_NODISCARD enum status store_token_list(struct store *st, struct token_row **rows, size_t *n,
					    struct err *e);
void store_token_rows_free(struct token_row *rows, size_t n);
/*
 * Sets the last use of token_id to now unless a use at or after since is already recorded, so
 * that concurrent requests and replicas write it at most about once per interval.
 */
ATTR_NODISCARD enum status store_token_touch(struct store *st, const char *token_id,
					     const char *now, const char *since, struct err *e);
/*
 * Replaces token_id's payload (its seal added: service_token_seal), chained; ST_NOT_FOUND if
 * none, ST_CONFLICT (nothing written) when the row is not what its newest chain entry hashed.
 */
ATTR_NODISCARD enum status store_token_set_payload(struct store *st, const char *token_id,
						   const char *payload, const char *now,
						   struct err *e);
/* Revokes the unrevoked tokens called name; *count how many (0: none). */
ATTR_NODISCARD enum status store_token_revoke(struct store *st, const char *name, const char *now,
					      int64_t *count, struct err *e);

#endif
