/*
 * store_owner_cache.c - "this caller owns this session" facts (store_owner_cache.h).  A slot
 * holds the SHA-256 of the pair, not the pair: the memory stays fixed, and a caller cannot
 * pass for the owner without finding a pair with the same digest.
 */
#include "base/base.h"
#include "store/store_owner_cache.h"
#include "base/hash.h"

#include <openssl/evp.h>
#include <string.h>

void store_owner_cache_init(struct store_owner_cache *c, int64_t ttl_us)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	c->ttl_us = ttl_us > 0 ? ttl_us : 0;
}

void store_owner_cache_release(struct store_owner_cache *c)
{
	if (c)
		pthread_mutex_destroy(&c->mu);
}

/* The digest of id and owner, each with its length first so that no pair passes for another. */
static void pair_key(const char *id, const char *owner, unsigned char out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t len[2] = {strlen(id), strlen(owner)};
	unsigned int n = 0;

	if (!ctx || !EVP_DigestInit_ex(ctx, sha256_evp(), NULL) ||
	    !EVP_DigestUpdate(ctx, &len[0], sizeof(len[0])) || !EVP_DigestUpdate(ctx, id, len[0]) ||
	    !EVP_DigestUpdate(ctx, &len[1], sizeof(len[1])) ||
	    !EVP_DigestUpdate(ctx, owner, len[1]) || !EVP_DigestFinal_ex(ctx, out, &n))
		memset(out, 0, 32); /* an all-zero key is never kept (store_owner_cache_add) */
	EVP_MD_CTX_free(ctx);
}

static bool key_is_zero(const unsigned char *k)
{
	static const unsigned char zero[32];

	return memcmp(k, zero, sizeof(zero)) == 0;
}

static struct store_owner_slot *slot_of(struct store_owner_cache *c, const unsigned char *k)
{
	uint64_t h;

	memcpy(&h, k, sizeof(h));
	return &c->slot[h % STORE_OWNER_CACHE_SLOTS];
}

bool store_owner_cache_has(struct store_owner_cache *c, const char *id, const char *owner,
			   int64_t now_us)
{
	unsigned char k[32];
	struct store_owner_slot *s;
	bool hit;

	if (!c->ttl_us)
		return false;
	pair_key(id, owner, k);
	if (key_is_zero(k))
		return false;
	s = slot_of(c, k);
	pthread_mutex_lock(&c->mu);
	hit = s->until_us > now_us && memcmp(s->key, k, sizeof(k)) == 0;
	pthread_mutex_unlock(&c->mu);
	return hit;
}

void store_owner_cache_add(struct store_owner_cache *c, const char *id, const char *owner,
			   int64_t now_us)
{
	unsigned char k[32];
	struct store_owner_slot *s;

	if (!c->ttl_us)
		return;
	pair_key(id, owner, k);
	if (key_is_zero(k))
		return;
	s = slot_of(c, k);
	pthread_mutex_lock(&c->mu);
	memcpy(s->key, k, sizeof(k));
	s->until_us = now_us + c->ttl_us;
	pthread_mutex_unlock(&c->mu);
}
