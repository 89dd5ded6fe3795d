/*
 * store_chain_seal.c - the audit chain entries' seals (store_chain.h, docs/audit.md "Sealed
 * entries"): the text a seal covers, its form, and checking many seals under one set of keys.
 * Which connection seals which entry is store_chain.c's.
 */
#include "base/base.h"
#include "store/store_chain.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/seal.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The text an entry's seal covers (writer and number as its seal shows them), into b. */
static void seal_text(struct buf *b, const char *writer, const char *number, const char *kind,
		      const char *record_id, const char *record_sha256)
{
	seal_field(b, "audit entry v1");
	seal_field(b, kind);
	seal_field(b, record_id);
	seal_field(b, record_sha256);
	seal_field(b, writer);
	seal_field(b, number);
}

bool store_chain_seal_with(struct seal_mac *mac, const char *writer, uint64_t number,
			   const char *kind, const char *record_id, const char *record_sha256,
			   char out[STORE_CHAIN_SEAL_LEN])
{
	unsigned char be[STORE_CHAIN_NUMBER_HEX / 2];
	char *num = out + STORE_CHAIN_WRITER_HEX + 1;
	struct buf b;
	bool ok;

	/* "<writer>.<number>" first, each NUL-terminated for the text, then the dots and the MAC */
	memcpy(out, writer, STORE_CHAIN_WRITER_HEX);
	out[STORE_CHAIN_WRITER_HEX] = '\0';
	for (int i = (int)sizeof(be) - 1; i >= 0; i--, number >>= 8)
		be[i] = (unsigned char)number;
	hex_encode(be, sizeof(be), num);
	buf_init(&b, BUF_CAP_DEFAULT);
	seal_text(&b, out, num, kind, record_id, record_sha256);
	out[STORE_CHAIN_WRITER_HEX] = '.';
	out[STORE_CHAIN_MAC_AT - 1] = '.';
	ok = seal_mac_sign(mac, &b, out + STORE_CHAIN_MAC_AT);
	buf_release(&b);
	return ok;
}

struct store_chain_seals {
	struct seal_mac *mac[2]; /* the key, and the one rotated out (NULL: none) */
	struct buf text; /* the text of the entry being checked */
};

struct store_chain_seals *store_chain_seals_new(const struct seal_keys *keys)
{
	struct store_chain_seals *s = xcalloc(1, sizeof(*s));

	buf_init(&s->text, BUF_CAP_DEFAULT);
	s->mac[0] = seal_mac_new(&keys->now);
	s->mac[1] = keys->before_set ? seal_mac_new(&keys->before) : NULL;
	if (!s->mac[0] || (keys->before_set && !s->mac[1])) {
		store_chain_seals_free(s);
		return NULL;
	}
	return s;
}

bool store_chain_seal_parse(const char *seal, char writer[STORE_CHAIN_WRITER_HEX + 1],
			    uint64_t *number)
{
	unsigned char be[STORE_CHAIN_NUMBER_HEX / 2];

	if (!seal || strlen(seal) != STORE_CHAIN_SEAL_LEN - 1 ||
	    seal[STORE_CHAIN_WRITER_HEX] != '.' || seal[STORE_CHAIN_MAC_AT - 1] != '.' ||
	    !hex_is_lower(seal, STORE_CHAIN_WRITER_HEX) ||
	    !hex_decode(seal + STORE_CHAIN_WRITER_HEX + 1, sizeof(be), be))
		return false;
	memcpy(writer, seal, STORE_CHAIN_WRITER_HEX);
	writer[STORE_CHAIN_WRITER_HEX] = '\0';
	*number = 0;
	for (size_t i = 0; i < sizeof(be); i++)
		*number = *number << 8 | be[i];
	return true;
}

bool store_chain_seals_ok(struct store_chain_seals *s, const char *kind, const char *record_id,
			  const char *record_sha256, const char *seal)
{
	char writer[STORE_CHAIN_WRITER_HEX + 1], num[STORE_CHAIN_NUMBER_HEX + 1];
	char mac[SHA256_HEX_LEN];
	uint64_t n;
	bool ok = false;

	if (!store_chain_seal_parse(seal, writer, &n))
		return false;
	/* the number as the seal spells it: its text, not its value, is what was sealed */
	memcpy(num, seal + STORE_CHAIN_WRITER_HEX + 1, STORE_CHAIN_NUMBER_HEX);
	num[STORE_CHAIN_NUMBER_HEX] = '\0';
	buf_reset(&s->text);
	seal_text(&s->text, writer, num, kind, record_id, record_sha256);
	for (size_t i = 0; !ok && i < ARRAY_SIZE(s->mac) && s->mac[i]; i++)
		ok = seal_mac_sign(s->mac[i], &s->text, mac) &&
		     seal_matches(seal + STORE_CHAIN_MAC_AT, mac);
	return ok;
}

void store_chain_seals_free(struct store_chain_seals *s)
{
	if (!s)
		return;
	seal_mac_free(s->mac[0]);
	seal_mac_free(s->mac[1]);
	buf_release(&s->text);
	free(s);
}
