/*
 * ops_ktab.c - a set of byte-string keys, each given a dense number in the order it first came
 * and a value of the caller's type, for `ops verify`'s checks that match a backup's lines by id
 * (ops_vrecs.c, ops_vcount.c).  The keys come from the backup: slots are placed by a keyed hash
 * (base/msum.h) with a key drawn for each table, so that ids chosen to collide under a public hash
 * cannot make every look-up walk them all.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/msum.h"
#include "base/xalloc.h"

#include <stdlib.h>
#include <string.h>

struct ops_ktab {
	size_t *slots; /* a key's number + 1; 0: a free slot */
	size_t cap; /* a power of two, more than twice n */
	char **keys; /* by number, each with a NUL after its len bytes */
	size_t *lens;
	unsigned char *values; /* by number, value_size bytes each, zeroed when the key came */
	size_t value_size;
	size_t n, room;
	struct msum_key key;
};

struct ops_ktab *ops_ktab_new(size_t value_size)
{
	struct ops_ktab *t = xcalloc(1, sizeof(*t));

	t->value_size = value_size;
	t->cap = 64;
	t->slots = xcalloc(t->cap, sizeof(*t->slots));
	(void)msum_key_init(&t->key); /* broken: ops_ktab_broken says so */
	return t;
}

void ops_ktab_free(struct ops_ktab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->lens);
	free(t->values);
	free(t->slots);
	msum_key_release(&t->key);
	free(t);
}

bool ops_ktab_broken(const struct ops_ktab *t)
{
	return t->key.broken;
}

size_t ops_ktab_count(const struct ops_ktab *t)
{
	return t->n;
}

const char *ops_ktab_key(const struct ops_ktab *t, size_t i, size_t *len)
{
	if (len)
		*len = t->lens[i];
	return t->keys[i];
}

void *ops_ktab_value(struct ops_ktab *t, size_t i)
{
	return t->values + i * t->value_size;
}

/* The slot of key in slots, or the free one where it would go. */
static size_t *slot_of(struct ops_ktab *t, size_t *slots, size_t cap, const char *key, size_t len)
{
	const void *p[1] = {key};
	struct msum h = {{0, 0}, 0};
	size_t i;

	msum_add(&t->key, &h, p, &len, 1);
	i = (size_t)h.v[0] & (cap - 1);
	while (slots[i] &&
	       (t->lens[slots[i] - 1] != len || memcmp(t->keys[slots[i] - 1], key, len) != 0))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static void grow(struct ops_ktab *t)
{
	size_t cap = t->cap * 2;
	size_t *slots = xcalloc(cap, sizeof(*slots));

	for (size_t i = 0; i < t->n; i++)
		*slot_of(t, slots, cap, t->keys[i], t->lens[i]) = i + 1;
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
}

size_t ops_ktab_put(struct ops_ktab *t, const char *key, size_t len, bool *added)
{
	size_t *s;

	if ((t->n + 1) * 2 > t->cap)
		grow(t);
	s = slot_of(t, t->slots, t->cap, key, len);
	*added = *s == 0;
	if (*s)
		return *s - 1;
	if (t->n == t->room) {
		t->room = t->room ? t->room * 2 : 64;
		t->keys = xrealloc(t->keys, t->room * sizeof(*t->keys));
		t->lens = xrealloc(t->lens, t->room * sizeof(*t->lens));
		t->values = xrealloc(t->values, t->room * t->value_size);
	}
	memset(ops_ktab_value(t, t->n), 0, t->value_size);
	t->keys[t->n] = xmalloc(len + 1);
	memcpy(t->keys[t->n], key, len);
	t->keys[t->n][len] = '\0';
	t->lens[t->n] = len;
	*s = ++t->n;
	return t->n - 1;
}
