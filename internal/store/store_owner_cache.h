/*
 * store_owner_cache.h - private to internal/store: a small per-process memory of "this caller
 * owns this session" facts, so that POST /decisions does not read the session's owner from the
 * database on every request (store_session_owner_check).  On PostgreSQL that read was a round
 * trip of its own: with one agent's token, 2,058 decisions/s without the check and 1,403 with it
 * at 8 connections (docs/benchmarks.md).
 *
 * Only facts read from the database are kept, and only positive ones: a session's owner does
 * not change once it has one (a caller with sessions.replace does not take it over), so a fact
 * stays true; what could still change it (an import of older decisions into the session, a
 * restore over a running server's database) happens in another process, which the TTL bounds.
 * A refusal is never kept: the caller that is refused is read again each time.
 */
#ifndef CAVRA_STORE_OWNER_CACHE_H
#define CAVRA_STORE_OWNER_CACHE_H

#include "base/base.h"

#include <pthread.h>
#include <stdint.h>

/* Fixed size, so the memory is bounded; a fact whose slot another takes is read again. */
#define STORE_OWNER_CACHE_SLOTS	 4096
#define STORE_OWNER_CACHE_TTL_US (60 * 1000000LL)

struct store_owner_slot {
	unsigned char key[32]; /* SHA-256 of the session id and the owner */
	int64_t until_us; /* 0: free */
};

struct store_owner_cache {
	pthread_mutex_t mu;
	int64_t ttl_us; /* 0: the cache is off */
	struct store_owner_slot slot[STORE_OWNER_CACHE_SLOTS];
};

/* ttl_us <= 0 turns the cache off: every lookup misses and nothing is kept. */
void store_owner_cache_init(struct store_owner_cache *c, int64_t ttl_us);
void store_owner_cache_release(struct store_owner_cache *c);

/* Whether owner (a recorded_by object, JSON text) was found to own session id, now_us on. */
bool store_owner_cache_has(struct store_owner_cache *c, const char *id, const char *owner,
			   int64_t now_us);

/* Keeps that owner owns session id, as read from the database at now_us. */
void store_owner_cache_add(struct store_owner_cache *c, const char *id, const char *owner,
			   int64_t now_us);

#endif
