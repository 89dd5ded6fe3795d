/*
 * audit_watch.c - what `cavra serve` checks before it signs a checkpoint (docs/audit.md,
 * "Signed checkpoints"): the entries appended since the last head it trusted, read in one
 * snapshot from that head's entry (which must still be there, unchanged) to the head row,
 * as links and, with the seal key, as seals and writers' numbers (audit_seals.c).  The
 * records are not read: `cavra audit verify` does that.  Memory holds one record per writer.
 */
#include "base/base.h"
#include "audit/audit.h"
#include "audit/audit_int.h"
#include "store/store_bulk.h"
#include "store/store_chain.h"
#include "base/num.h"
#include "base/timeutil.h"
#include "base/str.h"
#include "base/xalloc.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The entries from a seq on (%lld), in seq order; the seal column only with a key. */
#define WATCH_SQL(seal)                                                                           \
	"SELECT seq, kind, record_id, record_sha256, " seal ", prev_hash, hash FROM audit_chain " \
	"WHERE seq >= %lld ORDER BY seq"
static const char sealed_sql[] = WATCH_SQL("seal");
static const char links_sql[] = WATCH_SQL("NULL");
#define WATCH_NCOLS 7
/* A writer not read for this long is forgotten (audit_seals_forget): a week, in microseconds. */
#define WRITER_KEEP_US ((int64_t)7 * 24 * 3600 * 1000000)

struct audit_watch {
	const struct seal_keys *keys; /* borrowed; NULL: links only */
	struct audit_seals *seals; /* the writers' numbers so far (NULL without keys) */
	int64_t seq; /* the trusted head (0: the genesis) */
	char hash[SHA256_HEX_LEN];
	bool sealing; /* a sealed entry was met: every later entry must be sealed */
	atomic_bool cancelled; /* audit_watch_cancel: checks stop at the next entry */
};

/* One check's walk. */
struct pass {
	struct audit_watch *w;
	struct audit_seals_walk sw;
	int64_t *breaks;
	int64_t last_seq;
	char last_hash[SHA256_HEX_LEN];
	bool sealing;
};

struct audit_watch *audit_watch_new(const struct seal_keys *keys)
{
	struct audit_watch *w = xcalloc(1, sizeof(*w));

	w->keys = keys;
	atomic_init(&w->cancelled, false);
	memcpy(w->hash, store_chain_genesis, SHA256_HEX_LEN);
	if (keys && !(w->seals = audit_seals_new(keys))) {
		free(w);
		return NULL;
	}
	return w;
}

void audit_watch_free(struct audit_watch *w)
{
	if (!w)
		return;
	audit_seals_free(w->seals);
	free(w);
}

void audit_watch_trust(struct audit_watch *w, int64_t seq, const char *hash)
{
	w->seq = seq;
	memcpy(w->hash, seq > 0 ? hash : store_chain_genesis, SHA256_HEX_LEN);
	if (w->seals)
		audit_seals_reset(w->seals);
}

void audit_watch_cancel(struct audit_watch *w)
{
	if (w)
		atomic_store(&w->cancelled, true);
}

int64_t audit_watch_seq(const struct audit_watch *w)
{
	return w->seq;
}

static void report(struct pass *p, const char *what, int64_t seq, int64_t seq_to, const char *id,
		   const char *why)
{
	struct audit_break b = {what, seq, seq_to, id, NULL, NULL, why};

	(*p->breaks)++;
	p->sw.fn(p->sw.ctx, &b);
}

/* The trusted head's entry, the first row read: still there with its hash. */
static void check_trusted(struct pass *p, int64_t seq, const char *const *v)
{
	if (seq != p->w->seq)
		report(p, "rewritten", p->w->seq, 0, NULL,
		       "the entry the last checkpoint signed is gone");
	else if (strcmp(v[6], p->w->hash) != 0)
		report(p, "rewritten", seq, 0, v[2], "entry differs from the last checkpoint's");
}

/* An entry after it: the next seq, linked to the one before. */
static void check_link(struct pass *p, int64_t seq, const char *const *v)
{
	const char *why;
	const char *what = audit_link_fault(p->last_seq, p->last_hash, seq, v[1], v[2], v[3], v[5],
					    v[6], &why);

	if (what && str_eq(what, "deleted"))
		report(p, what, p->last_seq + 1, seq - 1, NULL, why);
	else if (what)
		report(p, what, seq, 0, v[2], why);
}

static enum status on_entry(void *ctx, const char *const *v, const size_t *lens, struct err *e)
{
	struct pass *p = ctx;
	int64_t seq;
	enum status st = ST_OK;

	UNUSED(lens);
	if (atomic_load_explicit(&p->w->cancelled, memory_order_relaxed))
		return err_set(e, ST_INTERRUPTED, "the check was stopped");
	if (!v[0] || !str_to_i64(v[0], 1, INT64_MAX, &seq) || !v[1] || !v[2] || !v[3] || !v[5] ||
	    !v[6])
		return err_set(e, ST_INTERNAL, "audit_chain: entry after seq %lld is malformed",
			       (long long)p->last_seq);
	if (p->last_seq < 0)
		check_trusted(p, seq, v);
	else
		check_link(p, seq, v);
	/* the trusted entry's seal was checked with it; one before any sealed entry may lack one */
	p->sealing = p->sealing || v[4];
	if (p->w->seals && seq > p->w->seq && p->sealing)
		st = audit_seals_entry(p->w->seals, &p->sw, v, p->breaks, e);
	p->last_seq = seq;
	audit_keep_hash(p->last_hash, v[6]);
	return st;
}

/* The head row names the last entry read, and the chain reaches the trusted head. */
static void check_end(struct pass *p, const struct chain_head *h)
{
	if (p->last_seq < 0) /* no entry from the trusted head's seq on */
		report(p, "truncated", p->w->seq, 0, NULL,
		       "the chain ends before the last checkpoint's entry");
	else if (h->seq > p->last_seq)
		report(p, "truncated", p->last_seq + 1, h->seq, NULL,
		       "the chain ends before its head");
	else if (h->seq < p->last_seq || (h->seq > 0 && strcmp(h->hash, p->last_hash) != 0))
		report(p, "edited", h->seq, 0, NULL, "the head does not name the last entry");
}

static enum status walk(struct store_conn *c, struct pass *p, struct audit_checkpoint *out,
			struct err *e)
{
	char sql[sizeof(sealed_sql) + 24];
	struct chain_head h;
	bool has = true;
	enum status st =
		p->w->seals ? store_column_exists(c, "audit_chain", "seal", &has, e) : ST_OK;

	if (st == ST_OK && !has)
		return err_set(e, ST_CONFLICT,
			       "the database has no sealed entries (its schema is before migration "
			       "024): run 'cavra migrate up' first");
	snprintf(sql, sizeof(sql), p->w->seals ? sealed_sql : links_sql,
		 (long long)(p->w->seq > 0 ? p->w->seq : 1));
	if (st == ST_OK)
		st = store_chain_head(c, &h, e);
	if (st == ST_OK)
		st = store_stream(c, sql, WATCH_NCOLS, on_entry, p, e);
	if (st != ST_OK)
		return st;
	check_end(p, &h);
	if (p->w->seals)
		audit_seals_gaps(p->w->seals, &p->sw, p->breaks);
	out->seq = h.seq;
	memcpy(out->hash, h.hash, SHA256_HEX_LEN);
	return store_chain_count(c, &out->count, e);
}

/*
 * After a check that found breaks, or failed, the writers' numbers start afresh: the next check
 * reads the same entries again from the same trusted head.
 */
static void settle(struct audit_watch *w, const struct pass *p, bool clean)
{
	if (clean) {
		w->seq = p->last_seq;
		memcpy(w->hash, p->last_hash, SHA256_HEX_LEN);
		w->sealing = p->sealing;
		if (w->seals)
			audit_seals_forget(w->seals, time_now_us() - WRITER_KEEP_US);
	} else if (w->seals) {
		audit_seals_reset(w->seals);
	}
}

enum status audit_watch_check(struct store *st, struct audit_watch *w, audit_break_fn fn, void *ctx,
			      struct audit_checkpoint *out, int64_t *breaks, struct err *e)
{
	struct pass p = {.w = w, .breaks = breaks, .last_seq = -1, .sealing = w->sealing};
	struct store_conn *c = NULL;
	enum status rc;

	p.sw = (struct audit_seals_walk){w->keys, w->seq + 1, 0, NULL, fn, ctx, false};
	*breaks = 0;
	memset(out, 0, sizeof(*out));
	if (w->seals)
		audit_seals_clock(w->seals, time_now_us());
	if (w->seq == 0) { /* from the genesis: no trusted entry to read first */
		p.last_seq = 0;
		memcpy(p.last_hash, store_chain_genesis, SHA256_HEX_LEN);
	}
	rc = atomic_load(&w->cancelled) ? err_set(e, ST_INTERRUPTED, "the check was stopped")
					: store_conn_get(st, &c, e);
	if (rc == ST_OK)
		rc = store_tx_begin(c, STORE_TX_SNAPSHOT, e);
	if (rc == ST_OK)
		rc = walk(c, &p, out, e);
	if (c)
		store_conn_put(st, c); /* ends the read-only snapshot */
	settle(w, &p, rc == ST_OK && *breaks == 0);
	return rc;
}
