/*
 * audit_seals.c - the seals' pass of `cavra audit verify --seal-key-file` (docs/audit.md,
 * "Sealed entries"): every entry's seal against the key, then each writer's numbers, from one
 * streamed read of the chain sorted by writer and number.
 *
 * A writer numbers the entries it commits 1, 2, 3 ... (store/store_chain.h), so in that order
 * each entry must be the one before it plus one, at a higher seq: a gap is entries deleted from
 * among the writer's (the links rebuilt over them), a lower seq is entries moved, and a number
 * met twice is a copy of an entry appended again.  Entries deleted from the end of a writer's
 * numbers leave nothing to see, as a cut tail leaves nothing without a checkpoint.
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

/*
 * The entries from a seq on (%lld): the unsealed first, in seq order, then by writer and number
 * (the seal's first 49 characters, in byte order), and seq.  %s: PostgreSQL's collation.
 */
#define SEALS_SQL                                                                              \
	"SELECT seq, kind, record_id, record_sha256, seal FROM audit_chain WHERE seq >= %lld " \
	"ORDER BY CASE WHEN seal IS NULL THEN 0 ELSE 1 END, substr(seal, 1, %d)%s, seq"

/* The pass's state: the last well sealed entry of the writer being read. */
struct seals {
	const struct audit_seals_walk *sw;
	struct store_chain_seals *check;
	int64_t *breaks, *checked;
	char writer[STORE_CHAIN_WRITER_HEX + 1]; /* "": none yet */
	uint64_t number;
	int64_t seq;
	char *id; /* owned */
};

static void report(struct seals *s, const struct audit_break *b)
{
	(*s->breaks)++;
	s->sw->fn(s->sw->ctx, b);
}

/*
 * What an entry's number says against the writer's entry before it (none: the writer's first).
 * forged: the entry was named already; a seal copied onto it is not named again as a copy.
 */
static void check_number(struct seals *s, int64_t seq, const char *kind, const char *id,
			 const char *writer, uint64_t number, bool forged)
{
	char why[200];
	struct audit_break b = {NULL, seq, 0, id, s->id, NULL, why};
	bool first = !str_eq(writer, s->writer);

	if (first && number > 1 && s->sw->sealed_from <= 1) {
		b.what = "deleted";
		snprintf(why, sizeof(why),
			 "entries 1..%llu of its writer are missing: it is number %llu of a writer "
			 "whose entries are numbered from 1",
			 (unsigned long long)number - 1, (unsigned long long)number);
		b.prev_id = NULL;
	} else if (!first && number == s->number) {
		/* a decision's copy is named duplicated by the walk */
		b.what = forged || str_eq(kind, "decision") ? NULL : "replayed";
		snprintf(why, sizeof(why),
			 "entry carries the seal of seq=%lld: a copy of an earlier entry, appended "
			 "again",
			 (long long)s->seq);
	} else if (!first && number > s->number + 1) {
		b.what = "deleted";
		b.seq = 0;
		b.next_id = id;
		b.id = NULL;
		snprintf(why, sizeof(why),
			 "entries %llu..%llu of one writer, between seq=%lld and seq=%lld, are "
			 "missing",
			 (unsigned long long)s->number + 1, (unsigned long long)number - 1,
			 (long long)s->seq, (long long)seq);
	} else if (!first && seq < s->seq) {
		b.what = "reordered";
		snprintf(why, sizeof(why),
			 "entry is number %llu of its writer but comes before number %llu "
			 "(seq=%lld)",
			 (unsigned long long)number, (unsigned long long)s->number,
			 (long long)s->seq);
	}
	if (b.what)
		report(s, &b);
	if (!first && number == s->number)
		return; /* the copy: the writer goes on from the original */
	memcpy(s->writer, writer, sizeof(s->writer));
	s->number = number;
	s->seq = seq;
	free(s->id);
	s->id = xstrdup(id);
}

/* One entry (SEALS_SQL's row): unsealed, forged, or its writer's numbers checked. */
static enum status on_entry(void *ctx, const char *const *v, const size_t *lens, struct err *e)
{
	struct seals *s = ctx;
	struct audit_break b = {NULL, 0, 0, v[2], NULL, NULL, NULL};
	char writer[STORE_CHAIN_WRITER_HEX + 1];
	uint64_t number = 0;
	bool parsed;

	UNUSED(lens);
	if (!v[0] || !str_to_i64(v[0], 1, INT64_MAX, &b.seq) || !v[1] || !v[2] || !v[3])
		return err_set(e, ST_INTERNAL, "audit_chain: an entry is malformed");
	(*s->checked)++;
	progress_add(s->sw->progress, 1);
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

enum status audit_verify_seals(struct store_conn *c, const struct audit_seals_walk *sw,
			       int64_t *breaks, int64_t *checked, struct err *e)
{
	char sql[sizeof(SEALS_SQL) + 48];
	struct seals s = {.sw = sw, .breaks = breaks, .checked = checked};
	bool has = false;
	enum status st = store_column_exists(c, "audit_chain", "seal", &has, e);

	if (st == ST_OK && !has)
		return err_set(e, ST_CONFLICT,
			       "the database has no sealed entries (its schema is before migration "
			       "024): run 'cavra migrate up' first");
	snprintf(sql, sizeof(sql), SEALS_SQL,
		 (long long)(sw->sealed_from > 1 ? sw->sealed_from : 1), STORE_CHAIN_MAC_AT - 1,
		 sw->sqlite ? "" : " COLLATE \"C\"");
	progress_phase(sw->progress, "seals", sw->head_seq);
	s.check = st == ST_OK ? store_chain_seals_new(sw->keys) : NULL;
	if (st == ST_OK && !s.check)
		st = err_set(e, ST_INTERNAL, "could not set up the seal key's HMAC (OpenSSL)");
	if (st == ST_OK)
		st = store_stream(c, sql, 5, on_entry, &s, e);
	store_chain_seals_free(s.check);
	free(s.id);
	return st;
}
