/*
 * policy_merge.c - resolves metadata.inherits, merges every pack with its ancestors and hashes
 * the result.
 *
 * Resolution is iterative (repeated passes that merge every pack whose parents are done), so a
 * deep or cyclic chain costs no stack; what is left unmerged after the last pass is a cycle.
 */
#include "base/base.h"
#include "base/err.h"
#include "base/util.h"
#include "base/xalloc.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CANONICAL_HEADER "cavra.policy.canonical.v1\n"

const char *const policy_default_protected[2] = {"main", "master"};

static struct policy_pack *find(struct policy_set *set, const char *id)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->packs[i]->id, id) == 0)
			return set->packs[i];
	return NULL;
}

static enum status check_parents(struct policy_set *set, struct err *e)
{
	for (size_t i = 0; i < set->n; i++) {
		struct policy_pack *p = set->packs[i];

		for (size_t j = 0; j < p->inherits.n; j++)
			if (!find(set, p->inherits.v[j]))
				return err_set(e, ST_INVALID,
					       "%s:%zu: policy pack '%s' inherits unknown policy "
					       "pack '%s'",
					       p->source, p->inherits_line, p->id,
					       p->inherits.v[j]);
	}
	return ST_OK;
}

static bool parents_merged(struct policy_set *set, const struct policy_pack *p)
{
	for (size_t j = 0; j < p->inherits.n; j++)
		if (!find(set, p->inherits.v[j])->merged)
			return false;
	return true;
}

/* Parents first, in the order written, then the pack's own entries; first occurrence wins. */
static void merge_one(struct policy_set *set, struct policy_pack *p)
{
	for (size_t l = 0; l < POLICY_LIST_COUNT; l++) {
		struct strlist *dst = &p->lists[l];

		for (size_t j = 0; j < p->inherits.n; j++) {
			const struct strlist *src = &find(set, p->inherits.v[j])->lists[l];

			for (size_t k = 0; k < src->n; k++)
				strlist_add_unique(dst, src->v[k]);
		}
		for (size_t k = 0; k < p->own[l].n; k++)
			strlist_add_unique(dst, p->own[l].v[k]);
	}
	if (p->lists[POLICY_LIST_GIT_PROTECTED_BRANCHES].n == 0)
		for (size_t k = 0; k < ARRAY_SIZE(policy_default_protected); k++)
			strlist_add_unique(&p->lists[POLICY_LIST_GIT_PROTECTED_BRANCHES],
					   policy_default_protected[k]);
	p->merged = true;
}

static struct policy_pack *first_unmerged_parent(struct policy_set *set, struct policy_pack *p)
{
	for (size_t j = 0; j < p->inherits.n; j++) {
		struct policy_pack *q = find(set, p->inherits.v[j]);

		if (!q->merged)
			return q;
	}
	return NULL;
}

/*
 * Every unmerged pack has an unmerged parent, so following first unmerged parents from any of
 * them must come back to a pack already on the path: that loop is the cycle reported.
 */
static enum status report_cycle(struct policy_set *set, struct policy_pack *start, struct err *e)
{
	struct policy_pack **path = xcalloc(set->n + 1, sizeof(struct policy_pack *));
	size_t n = 0, from = 0;
	struct policy_pack *p = start;
	char chain[256] = "";
	size_t used = 0;
	enum status st;

	for (;;) {
		for (from = 0; from < n && path[from] != p; from++)
			;
		if (from < n || n == set->n)
			break;
		path[n++] = p;
		p = first_unmerged_parent(set, p);
	}
	if (from >= n)
		from = 0; /* unreachable: the walk always closes a loop */
	for (size_t i = from; i < n && used < sizeof(chain); i++)
		used += (size_t)snprintf(chain + used, sizeof(chain) - used, "%s -> ", path[i]->id);
	if (used < sizeof(chain))
		snprintf(chain + used, sizeof(chain) - used, "%s", path[from]->id);
	st = err_set(e, ST_INVALID, "%s:%zu: policy pack '%s': inheritance cycle %s",
		     path[from]->source, path[from]->inherits_line, path[from]->id, chain);
	free(path);
	return st;
}

static void append(char **s, size_t *len, size_t *alloc, const char *p, size_t n)
{
	if (*len + n + 1 > *alloc) {
		while (*len + n + 1 > *alloc)
			*alloc = *alloc ? 2 * *alloc : 1024;
		*s = xrealloc(*s, *alloc);
	}
	memcpy(*s + *len, p, n);
	*len += n;
	(*s)[*len] = '\0';
}

char *policy_pack_canonical(const struct policy_pack *pack, size_t *len)
{
	char *s = NULL;
	size_t n = 0, alloc = 0;
	char num[64];

	append(&s, &n, &alloc, CANONICAL_HEADER, strlen(CANONICAL_HEADER));
	for (size_t l = 0; l < POLICY_LIST_COUNT; l++) {
		const struct strlist *list = &pack->lists[l];
		const char *name = policy_list_name((enum policy_list)l);

		append(&s, &n, &alloc, name, strlen(name));
		snprintf(num, sizeof(num), " %zu\n", list->n);
		append(&s, &n, &alloc, num, strlen(num));
		for (size_t k = 0; k < list->n; k++) {
			size_t elen = strlen(list->v[k]);

			snprintf(num, sizeof(num), "%zu ", elen);
			append(&s, &n, &alloc, num, strlen(num));
			append(&s, &n, &alloc, list->v[k], elen);
			append(&s, &n, &alloc, "\n", 1);
		}
	}
	if (len)
		*len = n;
	return s;
}

enum status policy_set_merge(struct policy_set *set, struct err *e)
{
	bool progress = true;
	enum status st = check_parents(set, e);

	if (st != ST_OK)
		return st;
	while (progress) {
		progress = false;
		for (size_t i = 0; i < set->n; i++) {
			struct policy_pack *p = set->packs[i];

			if (!p->merged && parents_merged(set, p)) {
				merge_one(set, p);
				progress = true;
			}
		}
	}
	for (size_t i = 0; i < set->n; i++)
		if (!set->packs[i]->merged)
			return report_cycle(set, set->packs[i], e);
	for (size_t i = 0; i < set->n; i++) {
		size_t len;
		char *canon = policy_pack_canonical(set->packs[i], &len);

		sha256_hex(canon, len, set->packs[i]->sha256);
		free(canon);
	}
	return ST_OK;
}
