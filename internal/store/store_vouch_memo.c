/*
 * store_vouch_memo.c - rows the audit chain vouched for, as digests (store_vouch_memo.h).
 */
#include "base/base.h"
#include "store/store_vouch_memo.h"
#include "base/hash.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

static pthread_mutex_t memo_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char memo[STORE_VOUCH_MEMO_SLOTS][STORE_VOUCH_MEMO_KEY];

/* One value into ctx: its length first (all ones for a null), so no values pass for others. */
static bool digest_value(EVP_MD_CTX *ctx, const char *v)
{
	uint64_t len = v ? strlen(v) : UINT64_MAX;

	return EVP_DigestUpdate(ctx, &len, sizeof(len)) && (!v || EVP_DigestUpdate(ctx, v, len));
}

void store_vouch_memo_key(const char *table, const char *const *vals, size_t n,
			  const char *record_sha256, unsigned char key[STORE_VOUCH_MEMO_KEY])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int got = 0;
	bool ok = ctx && EVP_DigestInit_ex(ctx, sha256_evp(), NULL) && digest_value(ctx, table) &&
		  digest_value(ctx, record_sha256);

	for (size_t i = 0; ok && i < n; i++)
		ok = digest_value(ctx, vals[i]);
	if (!ok || !EVP_DigestFinal_ex(ctx, key, &got) || got != STORE_VOUCH_MEMO_KEY)
		memset(key, 0, STORE_VOUCH_MEMO_KEY); /* never kept, never found */
	EVP_MD_CTX_free(ctx);
}

static bool key_is_zero(const unsigned char *k)
{
	static const unsigned char zero[STORE_VOUCH_MEMO_KEY];

	return memcmp(k, zero, sizeof(zero)) == 0;
}

static unsigned char *slot_of(const unsigned char *k)
{
	uint64_t h;

	memcpy(&h, k, sizeof(h));
	return memo[h % STORE_VOUCH_MEMO_SLOTS];
}

bool store_vouch_memo_has(const unsigned char key[STORE_VOUCH_MEMO_KEY])
{
	bool has;

	if (key_is_zero(key))
		return false;
	pthread_mutex_lock(&memo_mu);
	has = memcmp(slot_of(key), key, STORE_VOUCH_MEMO_KEY) == 0;
	pthread_mutex_unlock(&memo_mu);
	return has;
}

void store_vouch_memo_put(const unsigned char key[STORE_VOUCH_MEMO_KEY])
{
	if (key_is_zero(key))
		return;
	pthread_mutex_lock(&memo_mu);
	memcpy(slot_of(key), key, STORE_VOUCH_MEMO_KEY);
	pthread_mutex_unlock(&memo_mu);
}
