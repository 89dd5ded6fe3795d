/*
 * audit_seals.c - the seals' pass of `cavra audit verify --seal-key-file` (docs/audit.md,
 * "Sealed entries"): every entry's seal against the key, and each writer's numbers, in one
 * streamed read of the chain in seq order (its key's order: nothing to sort).
 *
 * A writer numbers the entries it commits 1, 2, 3 ... (store/store_chain.h), so in seq order
 * each of its entries must be the one before plus one.  A number skipped is held as a gap; a
 * number of a gap met later is an entry moved ("reordered"); any other number met again is a
 * copy of an entry appended again ("replayed"); the gaps left at the end are entries deleted
 * (the links rebuilt over them).  Memory holds one record per writer (one per database
 * connection that ever sealed) and the gaps, none on an untouched chain.  Entries deleted from
 * the end of a writer's numbers leave nothing to see, as a cut tail leaves nothing without a
 * checkpoint.
 */
#include "base/base.h"
#include "audit/audit_int.h"
#include "store/store_bulk.h"
#include "store/store_chain.h"
#include "base/num.h"
#include "base/progress.h"
#include "base/str.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The entries from a seq on (%lld), in seq order. */
#define SEALS_SQL                                                                              \
	"SELECT seq, kind, record_id, record_sha256, seal FROM audit_chain WHERE seq >= %lld " \
	"ORDER BY seq"

/* Numbers from..to of a writer not met (yet), after the entry at seq after, before the one at
 * before. */
struct gap {
	uint64_t from, to;
	int64_t after, before;
	char *before_id; /* owned */
};

/* One writer: its id, its highest number so far and that entry's seq, its open gaps. */
struct writer {
	char id[STORE_CHAIN_WRITER_HEX + 1]; /* "": a free slot */
	uint64_t last;
	int64_t seq;
	int64_t seen; /* the clock (audit_seals_clock) when its last entry was read */
	struct gap *gaps;
	size_t ngaps, cap;
};

/*
 * The seals' state: the key's HMAC and the writers met, in an open-addressing table (a power
 * of two); sw and breaks are the call's.
 */
struct audit_seals {
	struct store_chain_seals *check;
	struct writer *w;
	size_t n, cap;
	int64_t now; /* audit_seals_clock's */
	const struct audit_seals_walk *sw;
	int64_t *breaks;
};

static void report(struct audit_seals *s, const struct audit_break *b)
{
	(*s->breaks)++;
	s->sw->fn(s->sw->ctx, b);
}

/* The slot of writer id in a table of cap slots: its own, or the free one where it goes. */
static struct writer *slot(struct writer *w, size_t cap, const char *id)
{
	uint64_t h = 0;

	for (size_t i = 0; i < 16; i++) /* the id is random: its first 8 bytes spread well */
		h = h << 4 | (uint64_t)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
	for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!w[i].id[0] || str_eq(w[i].id, id))
			return &w[i];
}

/* The table rebuilt with cap slots, keeping the writers keep says (all: NULL). */
static void rebuild(struct audit_seals *s, size_t cap, bool (*keep)(const struct writer *, int64_t),
		    int64_t arg)
{
	struct writer *w = xcalloc(cap, sizeof(*w));

	s->n = 0;
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->w[i].id[0])
			continue;
		if (keep && !keep(&s->w[i], arg)) {
			free(s->w[i].gaps);
			continue;
		}
		*slot(w, cap, s->w[i].id) = s->w[i];
		s->n++;
	}
	free(s->w);
	s->w = w;
	s->cap = cap;
}

static void grow(struct audit_seals *s)
{
	rebuild(s, s->cap ? s->cap * 2 : 64, NULL, 0);
}

/* The record of writer id, made (last 0) when it is new, stamped as read now. */
static struct writer *writer_of(struct audit_seals *s, const char *id)
{
	struct writer *w;

	if ((s->n + 1) * 10 > s->cap * 7)
		grow(s);
	w = slot(s->w, s->cap, id);
	if (!w->id[0]) {
		memcpy(w->id, id, sizeof(w->id));
		s->n++;
	}
	w->seen = s->now;
	return w;
}

static void gap_add(struct writer *w, uint64_t from, uint64_t to, int64_t after, int64_t before,
		    const char *before_id)
{
	if (w->ngaps == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 4;
		w->gaps = xrealloc(w->gaps, w->cap * sizeof(*w->gaps));
	}
	w->gaps[w->ngaps++] = (struct gap){from, to, after, before, xstrdup(before_id)};
}

/* Number n taken out of w's gaps (split when inside one); false when no gap holds it. */
static bool gap_take(struct writer *w, uint64_t n)
{
	for (size_t i = 0; i < w->ngaps; i++) {
		struct gap *g = &w->gaps[i];

		if (n < g->from || n > g->to)
			continue;
		if (g->from == g->to) {
			free(g->before_id);
			w->gaps[i] = w->gaps[--w->ngaps];
		} else if (n == g->from) {
			g->from++;
		} else if (n == g->to) {
			g->to--;
		} else {
			struct gap rest = *g;

			g->to = n - 1;
			gap_add(w, n + 1, rest.to, rest.after, rest.before, rest.before_id);
		}
		return true;
	}
	return false;
}

/* An entry's number against its writer's numbers so far. */
static void check_number(struct audit_seals *s, int64_t seq, const char *kind, const char *id,
			 const char *writer, uint64_t number, bool forged)
{
	struct writer *w = writer_of(s, writer);
	char why[200];
	struct audit_break b = {NULL, seq, 0, id, NULL, NULL, why};

	if (number > w->last) {
		if (number > w->last + 1 && (w->last > 0 || s->sw->sealed_from <= 1))
			gap_add(w, w->last + 1, number - 1, w->seq, seq, id);
		w->last = number;
		w->seq = seq;
		return;
	}
	if (gap_take(w, number)) {
		b.what = "reordered";
		snprintf(why, sizeof(why),
			 "entry is number %llu of its writer, which had reached number %llu at "
			 "seq=%lld: it was moved",
			 (unsigned long long)number, (unsigned long long)w->last,
			 (long long)w->seq);
	} else if (!forged && !str_eq(kind, "decision")) { /* a decision's copy: duplicated */
		b.what = "replayed";
		snprintf(why, sizeof(why),
			 "entry repeats number %llu of its writer: a copy of an earlier entry, "
			 "appended again",
			 (unsigned long long)number);
	}
	if (b.what)
		report(s, &b);
}

/* The gaps of every writer dropped: reported as entries deleted when name. */
static void gaps_end(struct audit_seals *s, bool name)
{
	for (size_t i = 0; i < s->cap; i++) {
		struct writer *w = &s->w[i];

		for (size_t k = 0; k < w->ngaps; k++) {
			const struct gap *g = &w->gaps[k];
			char why[200];
			struct audit_break b = {"deleted", 0, 0, NULL, NULL, g->before_id, why};

			if (!name)
				b.what = NULL;
			else if (g->after)
				snprintf(why, sizeof(why),
					 "entries %llu..%llu of one writer, between seq=%lld and "
					 "seq=%lld, are missing",
					 (unsigned long long)g->from, (unsigned long long)g->to,
					 (long long)g->after, (long long)g->before);
			else
				snprintf(why, sizeof(why),
					 "entries %llu..%llu of one writer, before seq=%lld (its "
					 "first "
					 "entry met), are missing",
					 (unsigned long long)g->from, (unsigned long long)g->to,
					 (long long)g->before);
			if (b.what)
				report(s, &b);
			free(g->before_id);
		}
		w->ngaps = 0;
	}
}

struct audit_seals *audit_seals_new(const struct seal_keys *keys)
{
	struct store_chain_seals *check = store_chain_seals_new(keys);
	struct audit_seals *s;

	if (!check)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->check = check;
	return s;
}

void audit_seals_gaps(struct audit_seals *s, const struct audit_seals_walk *sw, int64_t *breaks)
{
	s->sw = sw;
	s->breaks = breaks;
	gaps_end(s, true);
}

void audit_seals_clock(struct audit_seals *s, int64_t now)
{
	s->now = now;
}

/* A writer with no gap held, read at or after before. */
static bool recent(const struct writer *w, int64_t before)
{
	return w->ngaps > 0 || w->seen >= before;
}

void audit_seals_forget(struct audit_seals *s, int64_t before)
{
	if (s->cap)
		rebuild(s, s->cap, recent, before);
}

static bool none(const struct writer *w, int64_t unused)
{
	UNUSED(w);
	UNUSED(unused);
	return false;
}

void audit_seals_reset(struct audit_seals *s)
{
	gaps_end(s, false);
	if (s->cap)
		rebuild(s, s->cap, none, 0);
}

void audit_seals_free(struct audit_seals *s)
{
	if (!s)
		return;
	gaps_end(s, false);
	for (size_t i = 0; i < s->cap; i++)
		free(s->w[i].gaps);
	free(s->w);
	store_chain_seals_free(s->check);
	free(s);
}

enum status audit_seals_entry(struct audit_seals *s, const struct audit_seals_walk *sw,
			      const char *const *v, int64_t *breaks, struct err *e)
{
	struct audit_break b = {NULL, 0, 0, v[2], NULL, NULL, NULL};
	char writer[STORE_CHAIN_WRITER_HEX + 1];
	uint64_t number = 0;
	bool parsed;

	if (!v[0] || !str_to_i64(v[0], 1, INT64_MAX, &b.seq) || !v[1] || !v[2] || !v[3])
		return err_set(e, ST_INTERNAL, "audit_chain: an entry is malformed");
	s->sw = sw;
	s->breaks = breaks;
	parsed = store_chain_seal_parse(v[4], writer, &number);
	if (!v[4]) {
		b.what = "unsealed";
		b.why = "entry carries no seal: not appended by a holder of the seal key";
	} else if (!parsed || !store_chain_seals_ok(s->check, v[1], v[2], v[3], v[4])) {
		b.what = "forged";
		b.why = "entry's seal is not the seal key's for its kind, record and record hash: "
			"written or changed without the key";
	}
	if (b.what)
		report(s, &b);
	/* a record edited under its seal keeps the writer's numbers whole */
	if (parsed)
		check_number(s, b.seq, v[1], v[2], writer, number, b.what != NULL);
	return ST_OK;
}

/* The pass's own state around the shared one. */
struct pass {
	struct audit_seals *s;
	const struct audit_seals_walk *sw;
	int64_t *breaks, *checked;
	bool met; /* a sealed entry was read */
};

/* One entry (SEALS_SQL's row). */
static enum status on_entry(void *ctx, const char *const *v, const size_t *lens, struct err *e)
{
	struct pass *p = ctx;

	UNUSED(lens);
	progress_add(p->sw->progress, 1);
	p->met = p->met || v[4];
	if (p->sw->from_first && !p->met)
		return ST_OK;
	(*p->checked)++;
	return audit_seals_entry(p->s, p->sw, v, p->breaks, e);
}

enum status audit_verify_seals(struct store_conn *c, const struct audit_seals_walk *sw,
			       int64_t *breaks, int64_t *checked, struct err *e)
{
	char sql[sizeof(SEALS_SQL) + 24];
	struct pass p = {NULL, sw, breaks, checked, false};
	bool has = false;
	enum status st = store_column_exists(c, "audit_chain", "seal", &has, e);

	if (st == ST_OK && !has)
		return err_set(e, ST_CONFLICT,
			       "the database has no sealed entries (its schema is before migration "
			       "024): run 'cavra migrate up' first");
	snprintf(sql, sizeof(sql), SEALS_SQL,
		 (long long)(sw->sealed_from > 1 ? sw->sealed_from : 1));
	progress_phase(sw->progress, "seals", sw->head_seq);
	p.s = st == ST_OK ? audit_seals_new(sw->keys) : NULL;
	if (st == ST_OK && !p.s)
		st = err_set(e, ST_INTERNAL, "could not set up the seal key's HMAC (OpenSSL)");
	if (st == ST_OK)
		st = store_stream(c, sql, 5, on_entry, &p, e);
	if (st == ST_OK)
		audit_seals_gaps(p.s, sw, breaks);
	audit_seals_free(p.s);
	return st;
}
