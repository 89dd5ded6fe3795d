/*
 * store_count_cache.c - the bounded-total cache of the decision and session lists: a fixed
 * table of keys under one mutex, looked up by hash, expired by age and evicted least
 * recently used first.  The clock is the caller's, so the logic is tested without one.
 */
#include "base/base.h"
#include "store/store_count_cache.h"
#include "base/hash.h"
#include "base/xalloc.h"
#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_count_cache_init(struct store_count_cache *c, int64_t ttl_us)
{
	memset(c, 0, sizeof(*c));
	c->ttl_us = ttl_us > 0 ? ttl_us : 0;
	pthread_mutex_init(&c->mu, NULL);
}

static void slot_clear(struct store_count_slot *s)
{
	free(s->key);
	memset(s, 0, sizeof(*s));
}

void store_count_cache_release(struct store_count_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(c->slot); i++)
		slot_clear(&c->slot[i]);
	pthread_mutex_destroy(&c->mu);
}

bool store_count_cache_enabled(const struct store_count_cache *c)
{
	return c->ttl_us > 0;
}

/* FNV-1a: the hash only spares most string comparisons, the key decides. */
static uint64_t hash_of(const char *s)
{
	return hash_fnv1a(s, strlen(s));
}

char *store_count_key(const char *sql, int n, const char *const *params, int64_t bound)
{
	struct buf b;
	char *key = NULL;
	bool ok;

	buf_init(&b, STORE_COUNT_CACHE_KEY_MAX);
	/* the SQL first: store_count_cache_forget goes by its start */
	ok = buf_addf(&b, NULL, "%s|%lld", sql, (long long)bound) == ST_OK;
	for (int i = 0; ok && i < n; i++) {
		const char *v = params[i] ? params[i] : "";

		/* a NULL parameter is marked apart from an empty one */
		ok = buf_addf(&b, NULL, "|%c%zu:%s", params[i] ? 'v' : 'n', strlen(v), v) == ST_OK;
	}
	if (ok)
		key = buf_detach(&b, NULL);
	buf_release(&b);
	return key;
}

uint64_t store_count_cache_gen(struct store_count_cache *c)
{
	uint64_t g;

	pthread_mutex_lock(&c->mu);
	g = c->gen;
	pthread_mutex_unlock(&c->mu);
	return g;
}

/*
 * Facts learnt together (a console's first screens, a warm-up) would otherwise expire
 * together and be counted again in one burst; the key's hash spreads their lives over the
 * last quarter of the TTL, the same for a key every time.
 */
static int64_t life_of(const struct store_count_cache *c, uint64_t h)
{
	int64_t spread = c->ttl_us / 4;

	return c->ttl_us - spread * (int64_t)(h >> 54) / 1024;
}

int64_t store_count_cache_life_us(const struct store_count_cache *c, const char *key)
{
	return life_of(c, hash_of(key));
}

static bool expired(const struct store_count_cache *c, const struct store_count_slot *s,
		    int64_t now_us)
{
	/* threads read the clock in any order: a fact a little newer than now is fresh */
	return now_us - s->learnt_us >= life_of(c, s->hash);
}

/* The slot holding key (hash h), or NULL.  Called with mu held. */
static struct store_count_slot *find(struct store_count_cache *c, const char *key, uint64_t h)
{
	for (size_t i = 0; i < ARRAY_SIZE(c->slot); i++) {
		struct store_count_slot *s = &c->slot[i];

		if (s->key && s->hash == h && strcmp(s->key, key) == 0)
			return s;
	}
	return NULL;
}

bool store_count_cache_hit(struct store_count_cache *c, const char *key, int64_t now_us)
{
	uint64_t h = hash_of(key);
	struct store_count_slot *s;
	bool hit = false;

	if (!store_count_cache_enabled(c))
		return false;
	pthread_mutex_lock(&c->mu);
	s = find(c, key, h);
	if (s && expired(c, s, now_us)) {
		slot_clear(s);
	} else if (s) {
		s->used = ++c->tick;
		hit = true;
	}
	pthread_mutex_unlock(&c->mu);
	return hit;
}

/* A free slot, else an expired one, else the least recently used.  Called with mu held. */
static struct store_count_slot *victim(struct store_count_cache *c, int64_t now_us)
{
	struct store_count_slot *lru = &c->slot[0];

	for (size_t i = 0; i < ARRAY_SIZE(c->slot); i++) {
		struct store_count_slot *s = &c->slot[i];

		if (!s->key || expired(c, s, now_us))
			return s;
		if (s->used < lru->used)
			lru = s;
	}
	return lru;
}

void store_count_cache_add(struct store_count_cache *c, const char *key, int64_t began_us,
			   uint64_t gen)
{
	uint64_t h = hash_of(key);
	struct store_count_slot *s;

	if (!store_count_cache_enabled(c))
		return;
	pthread_mutex_lock(&c->mu);
	if (gen == c->gen) {
		s = find(c, key, h);
		if (!s) {
			s = victim(c, began_us);
			slot_clear(s);
			s->key = xstrdup(key);
			s->hash = h;
		}
		if (began_us > s->learnt_us)
			s->learnt_us = began_us;
		s->used = ++c->tick;
	}
	pthread_mutex_unlock(&c->mu);
}

void store_count_cache_forget(struct store_count_cache *c, const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;

	pthread_mutex_lock(&c->mu);
	c->gen++;
	for (size_t i = 0; i < ARRAY_SIZE(c->slot); i++) {
		struct store_count_slot *s = &c->slot[i];

		if (s->key && (!prefix || strncmp(s->key, prefix, n) == 0))
			slot_clear(s);
	}
	pthread_mutex_unlock(&c->mu);
}
