/*
 * policy_merge.c - resolves metadata.inherits, merges every pack with its ancestors and hashes
 * the result.
 *
 * Resolution is iterative (repeated passes that merge every pack whose parents are done), so a
 * deep or cyclic chain costs no stack; what is left unmerged after the last pass is a cycle.
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/xalloc.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CANONICAL_HEADER "cavra.policy.canonical.v1\n"

/* What git.protected_branches means when a pack leaves it out: both common default branches. */
const char *const policy_default_protected[2] = {"main", "master"};

static struct policy_pack *find(struct policy_set *set, const char *id)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->packs[i]->id, id) == 0)
			return set->packs[i];
	return NULL;
}

/*
 * Checked before any merging so that a misspelt parent is reported as such, with its file and
 * line, rather than later as a pack that never got merged (which would look like a cycle).
 */
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

/* True anywhere wins over false, false over unset: a child cannot switch a parent's rule off. */
static enum policy_flag_value flag_or(enum policy_flag_value a, enum policy_flag_value b)
{
	return a > b ? a : b;
}

static void map_merge(struct listmap *dst, const struct listmap *src)
{
	for (size_t k = 0; k < src->keys.n; k++)
		policy_listmap_set(dst, src->keys.v[k], &src->vals[k]);
}

/*
 * Flags, audit lists, risk_scoring and approvals, parents first then the pack's own.  In the
 * maps and for evidence.require_branch_pattern the nearest pack naming a key decides: they
 * route and grade decisions, they do not allow anything.
 */
static void merge_settings(struct policy_set *set, struct policy_pack *p)
{
	for (size_t j = 0; j <= p->inherits.n; j++) {
		const struct policy_pack *q =
			j < p->inherits.n ? find(set, p->inherits.v[j]) : NULL;

		for (size_t f = 0; f < POLICY_FLAG_COUNT; f++)
			p->flags[f] = flag_or(p->flags[f], q ? q->flags[f] : p->own_flags[f]);
		for (size_t a = 0; a < POLICY_AUDIT_COUNT; a++) {
			const struct strlist *src = q ? &q->audit[a] : &p->own_audit[a];

			for (size_t k = 0; k < src->n; k++)
				policy_strlist_add_unique(&p->audit[a], src->v[k]);
		}
		if (q ? q->branch_pattern != NULL : p->own_branch_pattern != NULL)
			p->branch_pattern = q ? q->branch_pattern : p->own_branch_pattern;
		map_merge(&p->risk, q ? &q->risk : &p->own_risk);
		map_merge(&p->approvals, q ? &q->approvals : &p->own_approvals);
	}
	p->risk_levels = xcalloc(p->risk.keys.n + 1, sizeof(*p->risk_levels));
	for (size_t k = 0; k < p->risk.keys.n; k++)
		if (!policy_severity_parse(p->risk.vals[k].v[0], &p->risk_levels[k]))
			p->risk_levels[k] = POLICY_SEV_CRITICAL; /* unreachable: checked at parse */
}

/* Parents first, in the order written, then the pack's own entries; first occurrence wins. */
static void merge_one(struct policy_set *set, struct policy_pack *p)
{
	for (size_t l = 0; l < POLICY_LIST_COUNT; l++) {
		struct strlist *dst = &p->lists[l];

		for (size_t j = 0; j < p->inherits.n; j++) {
			const struct strlist *src = &find(set, p->inherits.v[j])->lists[l];

			for (size_t k = 0; k < src->n; k++)
				policy_strlist_add_unique(dst, src->v[k]);
		}
		for (size_t k = 0; k < p->own[l].n; k++)
			policy_strlist_add_unique(dst, p->own[l].v[k]);
	}
	if (p->lists[POLICY_LIST_GIT_PROTECTED_BRANCHES].n == 0)
		for (size_t k = 0; k < ARRAY_SIZE(policy_default_protected); k++)
			policy_strlist_add_unique(&p->lists[POLICY_LIST_GIT_PROTECTED_BRANCHES],
						  policy_default_protected[k]);
	merge_settings(set, p);
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

/* "<name> <count>\n" then "<byte length> <entry>\n" per entry. */
/*
 * Counts and byte lengths make the encoding unambiguous: no entry, however it is spelt (spaces,
 * newlines), can make two different packs produce the same text and so the same hash.
 */
static void append_list(struct buf *c, const char *name, const struct strlist *list)
{
	buf_xaddf(c, "%s %zu\n", name, list->n);
	for (size_t k = 0; k < list->n; k++)
		buf_xaddf(c, "%zu %s\n", strlen(list->v[k]), list->v[k]);
}

static void append_line(struct buf *c, const char *a, const char *b)
{
	buf_xaddf(c, "%s %s\n", a, b);
}

/* A map as "<name> <keys>\n", then per key its entry line and its list ("<key> <count>"). */
static void append_map(struct buf *c, const char *name, const struct listmap *m)
{
	buf_xaddf(c, "%s %zu\n", name, m->keys.n);
	for (size_t k = 0; k < m->keys.n; k++) {
		struct strlist key = {&m->keys.v[k], 1, 1};

		append_list(c, "key", &key);
		append_list(c, "values", &m->vals[k]);
	}
}

/*
 * The ten original lists always; everything added later only when a pack uses it, so that the
 * hash of a pack written before those keys existed does not change.
 */
/*
 * The text hashed into a pack's sha256, which every decision records in its policy_version:
 * an auditor can tell exactly which rules judged a decision, and two packs with the same
 * effective rules hash alike however their YAML is laid out.
 */
char *policy_pack_canonical(const struct policy_pack *pack, size_t *len)
{
	struct buf c = BUF_INIT;

	buf_xaddf(&c, "%s", CANONICAL_HEADER);
	for (size_t l = 0; l < POLICY_LIST_COUNT; l++)
		if (l < POLICY_LIST_CMD_REQUIRE_APPROVAL || pack->lists[l].n)
			append_list(&c, policy_list_name((enum policy_list)l), &pack->lists[l]);
	for (size_t f = 0; f < POLICY_FLAG_COUNT; f++)
		if (policy_flag_decides((enum policy_flag)f) && pack->flags[f] != POLICY_FLAG_UNSET)
			append_line(&c, policy_flag_name((enum policy_flag)f),
				    pack->flags[f] == POLICY_FLAG_TRUE ? "true" : "false");
	if (pack->mode == POLICY_MODE_AUDIT_ONLY) /* strict and break_glass evaluate as enforce */
		append_line(&c, "metadata.mode", policy_mode_name(pack->mode));
	if (pack->risk.keys.n)
		append_map(&c, "mcp.risk_scoring", &pack->risk);
	if (pack->approvals.keys.n)
		append_map(&c, "approvals", &pack->approvals);
	return buf_detach(&c, len);
}

/*
 * Hashes are taken after merging, over the effective rules: a change to a parent pack changes
 * the hash of every pack that inherits it, as it changes their decisions.
 */
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
