/*
 * token_cache.h - private to internal/service: the API tokens this process verified, so that a
 * request's bearer token is not read from PostgreSQL every time (a round trip of its own: with
 * a token, 2,020 decisions/s at 8 connections against 2,681 without, docs/benchmarks.md).
 *
 * Only usable tokens read from the database are kept (never an unknown, revoked or expired
 * one), keyed by the SHA-256 of the token.  What makes a kept token wrong is a change of its
 * row, which PostgreSQL announces (migration 019, LISTEN cavra_api_tokens): the listener calls
 * token_cache_invalidate.  The cache answers only while it is live, i.e. while the listener
 * listens; a listener that loses its connection makes it not live, since notifications sent
 * meanwhile are lost.  A TTL bounds what a notification that never came could cost.
 *
 * A lookup reads the generation before it reads the database, and its token is kept only if
 * the generation has not moved since: an invalidation (or a change of liveness) that arrives
 * between the read and the keeping refuses it, so a revocation that lands in between is never
 * kept.  All functions are thread-safe.
 */
#ifndef CAVRA_SERVICE_TOKEN_CACHE_H
#define CAVRA_SERVICE_TOKEN_CACHE_H

#include "base/base.h"
#include "service/service.h"

#include <stdint.h>

/* Fixed size, so the memory is bounded; a token whose slot another takes is read again. */
#define TOKEN_CACHE_SLOTS 4096

struct token_cache;

/* A usable token as read from the database; borrowed for the call. */
struct token_fact {
	const char *sha256, *token_id, *name;
	const char *const *roles;
	size_t nroles;
	int64_t expires_us; /* wall clock; 0: never */
	int64_t last_use_us; /* the last use recorded, wall clock; 0: none */
};

/*
 * A cache that keeps a token ttl_us (monotonic clock) at most; ttl_us <= 0: off (nothing is
 * found or kept).  It starts not live.  Caller owns, free with token_cache_free (NULL-safe).
 */
struct token_cache *token_cache_new(int64_t ttl_us);
void token_cache_free(struct token_cache *c);

/* Forgets every token and moves the generation; then finds and keeps tokens only if live. */
void token_cache_set_live(struct token_cache *c, bool live);

/* Forgets the token token_id ("*": every token) and moves the generation. */
void token_cache_invalidate(struct token_cache *c, const char *token_id);

/* The generation now: read it before reading the token from the database. */
uint64_t token_cache_generation(struct token_cache *c);

/*
 * Keeps f, read from the database at mono_us after token_cache_generation returned gen.
 * False (nothing kept) when the cache is off or not live, or the generation moved since gen.
 */
bool token_cache_put(struct token_cache *c, const struct token_fact *f, uint64_t gen,
		     int64_t mono_us);

/*
 * The token kept under sha256, if live, kept less than the TTL ago (mono_us) and not expired
 * by now_us (wall clock; an expired token is forgotten, so the database says why it is
 * refused).  On a hit *out gets owned copies (service_token_info_release); else it is zeroed.
 */
bool token_cache_get(struct token_cache *c, const char *sha256, int64_t now_us, int64_t mono_us,
		     struct token_info *out);

/*
 * Records a use of the kept token sha256 at now_us unless one at or after since_us is already
 * recorded.  True when it recorded it: the caller is then the one to write it to the database,
 * so concurrent requests write a token's use once per interval.  False for a token not kept.
 */
bool token_cache_note_use(struct token_cache *c, const char *sha256, int64_t now_us,
			  int64_t since_us);

/* What GET /metrics shows of the cache: whether it is live, and its lookups since it started. */
struct token_cache_stats {
	bool live;
	uint64_t hits, misses; /* token_cache_get's answers, a cache that is off counting none */
};
void token_cache_stats(struct token_cache *c, struct token_cache_stats *out);

#endif
