/*
 * store_count_cache.h - private to internal/store: a small per-process memory of
 * "this list filter matches more than its bound" facts, so that the bounded total of a
 * large list is not counted again on every request (docs/api.md, "total").
 */
#ifndef CAVRA_STORE_COUNT_CACHE_H
#define CAVRA_STORE_COUNT_CACHE_H

#include "base/base.h"

#include <pthread.h>
#include <stdint.h>

/* Fixed size, so the memory is bounded: at most SLOTS keys of at most KEY_MAX bytes. */
#define STORE_COUNT_CACHE_SLOTS	  1024
#define STORE_COUNT_CACHE_KEY_MAX 2048

struct store_count_slot {
	uint64_t hash;
	char *key; /* NULL: free */
	int64_t learnt_us; /* when the count that proved the fact began; expires its life after */
	uint64_t used; /* tick of the last hit or fill: the least recently used goes first */
};

/*
 * Only facts of the form "count > bound" are kept: rows are added to the cached lists while
 * the process runs, which never makes such a fact false, whereas an exact count below the
 * bound changes with every insert.  What can make a fact false (rows deleted or moved out of
 * a filter) either happens in this process, which calls store_count_cache_forget, or in
 * another one, which the TTL bounds.
 */
struct store_count_cache {
	pthread_mutex_t mu;
	int64_t ttl_us; /* 0: the cache is off */
	uint64_t tick;
	uint64_t gen; /* bumped by each forget */
	struct store_count_slot slot[STORE_COUNT_CACHE_SLOTS];
};

/* ttl_us <= 0 turns the cache off: every lookup misses and nothing is kept. */
void store_count_cache_init(struct store_count_cache *c, int64_t ttl_us);
/* Frees the keys.  NULL-safe. */
void store_count_cache_release(struct store_count_cache *c);

bool store_count_cache_enabled(const struct store_count_cache *c);

/*
 * The key of a count: its SQL, the bound and each parameter (length-prefixed, so that no value can
 * pass for two).  NULL when it is longer than STORE_COUNT_CACHE_KEY_MAX (such a count is not
 * cached).  Caller frees.
 */
char *store_count_key(const char *sql, int n, const char *const *params, int64_t bound);

/* The generation to hand to store_count_cache_add, read before the count runs. */
uint64_t store_count_cache_gen(struct store_count_cache *c);

/*
 * How long a fact about key is kept: more than 3/4 of the TTL and at most the TTL, fixed by
 * the key's hash, so that facts learnt at the same moment are not all counted again at once.
 * 0 when the cache is off.
 */
int64_t store_count_cache_life_us(const struct store_count_cache *c, const char *key);

/* Whether key's count was found above its bound less than its life before now_us. */
bool store_count_cache_hit(struct store_count_cache *c, const char *key, int64_t now_us);

/*
 * Notes that key's count, begun at began_us when the generation was gen, passed its bound.
 * Nothing is kept when a forget came in between (the count may have seen rows that are
 * gone since).  When every slot is taken, an expired one or else the least recently used
 * one is reused.  key is copied.
 */
void store_count_cache_add(struct store_count_cache *c, const char *key, int64_t began_us,
			   uint64_t gen);

/* Drops every fact whose key starts with prefix (NULL: all of them). */
void store_count_cache_forget(struct store_count_cache *c, const char *prefix);

#endif
