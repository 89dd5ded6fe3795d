/*
 * token_cache.c - the API tokens this process verified (token_cache.h): fixed slots chosen by
 * the token's digest, one mutex, and a generation that moves on every invalidation so that a
 * lookup that raced one never keeps what it read.
 */
#include "base/base.h"
#include "service/token_cache.h"
#include "base/hash.h"
#include "base/xalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct token_slot {
	char sha256[SHA256_HEX_LEN]; /* "": free */
	char *token_id, *name;
	char **roles;
	size_t nroles;
	int64_t expires_us, last_use_us; /* wall clock; 0: never, none */
	int64_t until_us; /* monotonic: kept until then */
};

struct token_cache {
	pthread_mutex_t mu;
	int64_t ttl_us; /* 0: off */
	bool live; /* the listener listens: notifications reach this process */
	uint64_t gen;
	uint64_t hits, misses; /* token_cache_get's answers */
	struct token_slot slot[TOKEN_CACHE_SLOTS];
};

struct token_cache *token_cache_new(int64_t ttl_us)
{
	struct token_cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->mu, NULL);
	c->ttl_us = ttl_us > 0 ? ttl_us : 0;
	return c;
}

/* Frees what a slot owns and marks it free. */
static void slot_clear(struct token_slot *s)
{
	for (size_t i = 0; i < s->nroles; i++)
		free(s->roles[i]);
	free(s->roles);
	free(s->token_id);
	free(s->name);
	memset(s, 0, sizeof(*s));
}

void token_cache_free(struct token_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < TOKEN_CACHE_SLOTS; i++)
		slot_clear(&c->slot[i]);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* The slot of a digest (FNV-1a of its text: the digest is already uniform, any mix will do). */
static struct token_slot *slot_of(struct token_cache *c, const char *sha256)
{
	return &c->slot[hash_fnv1a(sha256, strlen(sha256)) % TOKEN_CACHE_SLOTS];
}

static bool is_digest(const char *sha256)
{
	return sha256 && strlen(sha256) == SHA256_HEX_LEN - 1;
}

/* Called with c->mu held. */
static void forget(struct token_cache *c, const char *token_id)
{
	bool all = !token_id || strcmp(token_id, "*") == 0;

	for (size_t i = 0; i < TOKEN_CACHE_SLOTS; i++) {
		struct token_slot *s = &c->slot[i];

		if (s->sha256[0] && (all || strcmp(s->token_id, token_id) == 0))
			slot_clear(s);
	}
	c->gen++;
}

void token_cache_set_live(struct token_cache *c, bool live)
{
	pthread_mutex_lock(&c->mu);
	forget(c, "*");
	c->live = live;
	pthread_mutex_unlock(&c->mu);
}

void token_cache_invalidate(struct token_cache *c, const char *token_id)
{
	pthread_mutex_lock(&c->mu);
	forget(c, token_id);
	pthread_mutex_unlock(&c->mu);
}

uint64_t token_cache_generation(struct token_cache *c)
{
	uint64_t gen;

	pthread_mutex_lock(&c->mu);
	gen = c->gen;
	pthread_mutex_unlock(&c->mu);
	return gen;
}

static char **copy_roles(const char *const *roles, size_t n)
{
	char **out = xcalloc(n + 1, sizeof(char *));

	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(roles[i]);
	return out;
}

/* The slot f would fill, built outside the lock (it allocates). */
static void slot_fill(struct token_slot *s, const struct token_fact *f, int64_t until_us)
{
	memcpy(s->sha256, f->sha256, SHA256_HEX_LEN);
	s->token_id = xstrdup(f->token_id);
	s->name = xstrdup(f->name);
	s->roles = copy_roles(f->roles, f->nroles);
	s->nroles = f->nroles;
	s->expires_us = f->expires_us;
	s->last_use_us = f->last_use_us;
	s->until_us = until_us;
}

bool token_cache_put(struct token_cache *c, const struct token_fact *f, uint64_t gen,
		     int64_t mono_us)
{
	struct token_slot fresh = {0}, *s;
	bool kept;

	if (!c->ttl_us || !is_digest(f->sha256) || !f->token_id || !f->name)
		return false;
	slot_fill(&fresh, f, mono_us + c->ttl_us);
	s = slot_of(c, f->sha256);
	pthread_mutex_lock(&c->mu);
	kept = c->live && c->gen == gen;
	if (kept) { /* swap: the slot's old contents leave with fresh */
		struct token_slot old = *s;

		*s = fresh;
		fresh = old;
	}
	pthread_mutex_unlock(&c->mu);
	slot_clear(&fresh);
	return kept;
}

/* Called with c->mu held: the slot holding sha256, usable at now_us and mono_us, or NULL. */
static struct token_slot *find(struct token_cache *c, const char *sha256, int64_t now_us,
			       int64_t mono_us)
{
	struct token_slot *s = slot_of(c, sha256);

	if (!c->live || strcmp(s->sha256, sha256) != 0)
		return NULL;
	if (s->until_us <= mono_us || (s->expires_us && s->expires_us <= now_us)) {
		slot_clear(s); /* past the TTL, or expired: the database says so in its words */
		return NULL;
	}
	return s;
}

bool token_cache_get(struct token_cache *c, const char *sha256, int64_t now_us, int64_t mono_us,
		     struct token_info *out)
{
	struct token_slot *s;

	memset(out, 0, sizeof(*out));
	if (!c->ttl_us || !is_digest(sha256))
		return false;
	pthread_mutex_lock(&c->mu);
	s = find(c, sha256, now_us, mono_us);
	if (s)
		c->hits++;
	else
		c->misses++;
	if (s) {
		out->token_id = xstrdup(s->token_id);
		out->name = xstrdup(s->name);
		out->sha256 = xstrdup(s->sha256);
		out->roles = copy_roles((const char *const *)s->roles, s->nroles);
		out->nroles = s->nroles;
	}
	pthread_mutex_unlock(&c->mu);
	return s != NULL;
}

bool token_cache_note_use(struct token_cache *c, const char *sha256, int64_t now_us,
			  int64_t since_us)
{
	struct token_slot *s;
	bool due = false;

	if (!c->ttl_us || !is_digest(sha256))
		return false;
	s = slot_of(c, sha256);
	pthread_mutex_lock(&c->mu);
	if (c->live && strcmp(s->sha256, sha256) == 0 && s->last_use_us < since_us) {
		s->last_use_us = now_us;
		due = true;
	}
	pthread_mutex_unlock(&c->mu);
	return due;
}

void token_cache_stats(struct token_cache *c, struct token_cache_stats *out)
{
	pthread_mutex_lock(&c->mu);
	*out = (struct token_cache_stats){c->live, c->hits, c->misses};
	pthread_mutex_unlock(&c->mu);
}
