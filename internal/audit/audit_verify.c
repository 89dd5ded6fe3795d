/*
 * audit_verify.c - `cavra audit verify`: first the chain alone in seq order
 * and the decisions in the table's own order, their (id, record hash) pairs
 * compared as two keyed multiset sums (base/msum.h); when that finds any
 * break, the walk that names them: the chain in seq order joined to the
 * records, then the records without an entry.  All streamed from one
 * snapshot, so memory does not grow with the chain.  After a restore, the
 * decision lines' record hashes kept while they loaded stand in for the
 * decisions, so the walk reads the chain alone; and when the chain's own lines
 * proved the whole chain as they loaded (ops_chainsum.c), it is not read back
 * at all.
 */
#include "base/base.h"
#include "audit/audit.h"
#include "audit/audit_int.h"
#include "ops/ops.h"
#include "store/store_bulk.h"
#include "store/store_chain.h"
#include "store/store_decisions.h"
#include "base/msum.h"
#include "base/num.h"
#include "base/xalloc.h"
#include "base/progress.h"
#include "base/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAIN_COLS     6 /* seq, kind, record_id, record_sha256, prev_hash, hash */
#define DECISION_NCOLS STORE_DECISION_NCOLS
#define DECISION_COLS  STORE_DECISION_COLS("d.")
#define ROW_AT	       4 /* last entries: seq, record_id, record_sha256, entries, then the row */

/* Each of these three is two parts, the row's BLOB test (blob_test below) between them. */
static const char *const walk_sql[] = {
	"SELECT a.seq, a.kind, a.record_id, a.record_sha256, a.prev_hash, a.hash, " DECISION_COLS
	", ",
	" FROM audit_chain a LEFT JOIN activity_decisions d ON a.kind = 'decision' AND "
	"d.decision_id = a.record_id ORDER BY a.seq"};
/*
 * Approvals, evidence (from 021), the registry, inventory and integrations (from 022) and
 * sessions (from 023, but for a decision's write) are chained at every write, and only a record's
 * last entry can match the row as it stands: the earlier ones hashed states since overwritten, so
 * the walk checks them as links only, and this second pass checks each record's last entry (the
 * highest seq of its record_id) against its row, with its number of entries (checked against an
 * approval's state).
 */
#define LAST_ENTRY_SQL(kind, table, id, cols)                                                    \
	"SELECT a.seq, a.record_id, a.record_sha256, (SELECT count(*) FROM audit_chain c WHERE " \
	"c.kind = '" kind "' AND c.record_id = a.record_id), " cols ", ",                        \
		" FROM audit_chain a LEFT JOIN " table " p ON p." id " = a.record_id WHERE "     \
		"a.kind = '" kind "' AND a.seq = (SELECT max(b.seq) FROM audit_chain b WHERE "   \
		"b.kind = '" kind "' AND b.record_id = a.record_id) ORDER BY a.seq"
/* The decisions in the table's own order (no index, no join), for the sums. */
static const char *const records_sql[] = {"SELECT " STORE_DECISION_COLS("") ", ",
					  " FROM activity_decisions"};
/* The walk when the records' hashes are known: links and record hashes only, no payloads. */
static const char links_sql[] = "SELECT seq, kind, record_id, record_sha256, prev_hash, hash FROM "
				"audit_chain ORDER BY seq";
/* A decision is chained once: every entry after its first (a tampered chain only). */
static const char again_sql[] =
	"SELECT a.seq, a.record_id FROM audit_chain a WHERE a.kind = 'decision' AND EXISTS "
	"(SELECT 1 FROM audit_chain b WHERE b.kind = 'decision' AND b.record_id = a.record_id AND "
	"b.seq < a.seq) ORDER BY a.seq";
static const char unchained_sql[] =
	"SELECT d.decision_id, d.decided_at FROM activity_decisions d WHERE NOT EXISTS (SELECT 1 "
	"FROM audit_chain a WHERE a.kind = 'decision' AND a.record_id = d.decision_id) "
	"ORDER BY d.decided_at, d.decision_id";
/* The records of a kind chained at every write without an entry: their id and created_at. */
#define UNCHAINED_SQL(kind, table, id, ok)                                                \
	"SELECT p." id ", p.created_at FROM " table " p WHERE NOT EXISTS (SELECT 1 FROM " \
	"audit_chain a WHERE a.kind = '" kind "' AND a.record_id = p." id ")" ok          \
	" ORDER BY p.created_at, p." id

/*
 * A kind chained at every write: its last entries' query (two parts, as walk_sql's), its
 * unchained records' query, its columns as that query names them (for the BLOB test), and the
 * late group it belongs to (STORE_NOT_LATE: approvals, chained from 015).
 */
struct rewritten {
	const char *kind, *table, *last_sql[2], *unchained_sql, *cols;
	size_t ncols;
	int late;
};

#define REWRITTEN_ROW(kind, table, id, COLS, ncols, order_idx, late, ok) \
	{kind,                                                           \
	 table,                                                          \
	 {LAST_ENTRY_SQL(kind, table, id, COLS("p."))},                  \
	 UNCHAINED_SQL(kind, table, id, ok("p.")),                       \
	 COLS("p."),                                                     \
	 ncols,                                                          \
	 late},

static const struct rewritten rewritten[] = {STORE_CHAIN_REWRITTEN(REWRITTEN_ROW)};
#define REWRITTEN_N	    ARRAY_SIZE(rewritten)
#define REWRITTEN_APPROVALS 0 /* the list's first */

/*
 * Each session that its decisions disagree with: its counters, or no row at all.  The
 * sessions' id is COLLATE "C" on PostgreSQL and the decisions' is not: the join says which.
 */
#define SESSION_COUNTS_SQL(collate)                                                            \
	"SELECT d.session_id, s.session_id IS NULL, s.decision_count, s.blocked_count, "       \
	"s.approval_required_count, d.n, d.b, d.a FROM (SELECT session_id, count(*) AS n, "    \
	"sum(CASE WHEN decision = 'block' THEN 1 ELSE 0 END) AS b, sum(CASE WHEN decision = "  \
	"'require_approval' THEN 1 ELSE 0 END) AS a FROM activity_decisions GROUP BY "         \
	"session_id) d LEFT JOIN activity_sessions s ON s.session_id = d.session_id" collate   \
	" WHERE s.session_id IS NULL OR s.decision_count <> d.n OR s.blocked_count <> d.b OR " \
	"s.approval_required_count <> d.a ORDER BY d.session_id"
static const char pg_sessions_sql[] = SESSION_COUNTS_SQL(" COLLATE \"C\"");
static const char sqlite_sessions_sql[] = SESSION_COUNTS_SQL("");
#define SESSION_COUNTS_NCOLS 8

/*
 * Each session whose description its decisions gave, whose agent, actor, repository or pack is
 * none of its decisions': a decision fills in only what the session lacks, with its own value.
 * Those are a session only decisions made (no entry, as they leave it:
 * STORE_SESSION_DECISION_MADE; from 023 the rest of such a row is checked as the "inserted"
 * pass's condition) and one its evidence started (an entry, its payload's started_by and no
 * recorded_by: the entry hashes its description as NULL).  A session an import or an adoption
 * chained without either keeps its file's description, which no decision need name.  collate
 * makes PostgreSQL compare the session's id as the decisions' index does.
 */
/* clang-format off */
#define DESCRIBED_BY(col, collate)                                                         \
	"(s." col " IS NOT NULL AND NOT EXISTS (SELECT 1 FROM activity_decisions d WHERE " \
	"d.session_id = s.session_id" collate " AND d." col " = s." col "))"
#define SESSION_FILLS_SQL(collate)                                                         \
	"SELECT s.session_id FROM activity_sessions s WHERE (CASE WHEN EXISTS (SELECT 1 "  \
	"FROM audit_chain a WHERE a.kind = 'session' AND a.record_id = s.session_id) THEN " \
	"s.payload ->> 'recorded_by' IS NULL AND s.payload ->> 'started_by' IS NOT NULL "  \
	"ELSE " STORE_SESSION_DECISION_MADE("s.") " END) AND ("                            \
	DESCRIBED_BY("agent_id", collate) " OR " DESCRIBED_BY("actor", collate) " OR "     \
	DESCRIBED_BY("repository", collate) " OR " DESCRIBED_BY("policy_pack", collate)    \
	") ORDER BY s.session_id"
/* clang-format on */
static const char pg_fills_sql[] = SESSION_FILLS_SQL(" COLLATE \"default\"");
static const char sqlite_fills_sql[] = SESSION_FILLS_SQL("");

/*
 * The first pass's sums: each decision entry's (record_id, record_sha256) and each decision's
 * (decision_id, SHA-256 of its line), as the id's length (4 bytes), the id, then the hash.
 */
struct sums {
	struct msum_key key;
	struct msum entries, records;
	int64_t silent; /* breaks the pass found: not reported, the walk after it names them */
};

/* The walk's state: what the entry before this one said. */
struct walk {
	char *walk_sql, *records_sql; /* owned: for this backend */
	char *last_sql[REWRITTEN_N]; /* owned: rewritten[i]'s last entries, for this backend */
	struct sums *sums; /* the first pass: breaks counted there, not reported */
	struct ops_row_hasher *rows, *hashers[REWRITTEN_N];
	size_t cur; /* the rewritten kind whose last entries are streamed */
	const struct audit_checkpoint *cp;
	struct ops_decision_hashes *known; /* NULL: records are read back */
	struct ops_chain_lines *lines; /* NULL: the links are read back */
	audit_break_fn fn;
	void *ctx;
	struct progress *progress;
	struct audit_verify_result *out;
	bool sessions, sqlite; /* audit_verify_opts' sessions; the backend */
	bool pending_ok; /* audit_verify_opts' late_pending_ok */
	const struct seal_keys *seal_keys; /* audit_verify_opts' */
	int64_t sealed_from;
	bool sealed_from_first;
	int64_t last_seq;
	char last_hash[SHA256_HEX_LEN];
	char *last_id; /* owned: the record id of the entry before */
};

static void report(struct walk *w, const char *what, int64_t seq, int64_t seq_to, const char *id,
		   const char *next_id, const char *why)
{
	struct audit_break b = {what, seq, seq_to, id, w->last_id, next_id, why};

	if (w->sums) {
		w->sums->silent++;
		return;
	}
	w->out->breaks++;
	w->fn(w->ctx, &b);
}

const char *audit_link_fault(int64_t last_seq, const char *last_hash, int64_t seq, const char *kind,
			     const char *id, const char *record_sha256, const char *prev_hash,
			     const char *hash, const char **why)
{
	char want[SHA256_HEX_LEN];

	if (seq != last_seq + 1)
		return *why = "chain entries are missing", "deleted";
	if (strcmp(prev_hash, last_hash) != 0)
		return *why = "entry does not follow the one before it", "reordered";
	if (store_chain_link_hash(seq, kind, id, record_sha256, prev_hash, want, NULL) != ST_OK ||
	    strcmp(want, hash) != 0)
		return *why = "chain entry was changed", "edited";
	return NULL;
}

void audit_keep_hash(char out[SHA256_HEX_LEN], const char *hash)
{
	size_t n = strnlen(hash, SHA256_HEX_LEN - 1);

	memcpy(out, hash, n);
	out[n] = '\0';
}

/* A break between entries: missing seqs (named before the entry), or a link that fails. */
static void check_link(struct walk *w, int64_t seq, const char *const *v)
{
	const char *why;
	const char *what = audit_link_fault(w->last_seq, w->last_hash, seq, v[1], v[2], v[3], v[4],
					    v[5], &why);

	if (what && str_eq(what, "deleted"))
		report(w, what, w->last_seq + 1, seq - 1, NULL, v[2], why);
	else if (what)
		report(w, what, seq, 0, v[2], NULL, why);
}

/*
 * SQLite stores a BLOB in a TEXT column as it was given (CAST(x AS BLOB)), and reads it back
 * as the same bytes, so its canonical line and record hash do not change; but no lookup by
 * that column (= with a text value) finds the record any more.  cavra never writes one.  The
 * test, over the columns cols ("d.a, d.b, ..."), is 1 when any value is a BLOB; on PostgreSQL,
 * whose columns are typed, it is the constant 0.
 */
static char *blob_test(bool sqlite, const char *cols)
{
	struct buf b = BUF_INIT;
	const char *p = cols;

	if (!sqlite)
		return xstrdup("0");
	buf_xadds(&b, "(0");
	while (*p) {
		size_t n = strcspn(p, ",");

		buf_xaddf(&b, " OR typeof(%.*s) = 'blob'", (int)n, p);
		p += n;
		p += strspn(p, ", ");
	}
	buf_xadds(&b, ")");
	return buf_detach(&b, NULL);
}

static char *sql_with(const char *const parts[2], bool sqlite, const char *cols)
{
	char *test = blob_test(sqlite, cols);
	char *sql = xasprintf("%s%s%s", parts[0], test, parts[1]);

	free(test);
	return sql;
}

/*
 * Why a record does not match the record hash its entry chained (v: its columns, then the
 * BLOB test), or NULL when it does.  *re holds a hasher's message.
 */
static const char *record_fault(struct ops_row_hasher *h, const char *const *v, const size_t *lens,
				size_t ncols, const char *want, struct err *re)
{
	char rsha[SHA256_HEX_LEN];

	if (ops_row_sha256(h, v, lens, rsha, re) != ST_OK)
		return re->msg;
	if (strcmp(rsha, want) != 0)
		return "record differs from what was chained";
	if (v[ncols] && strcmp(v[ncols], "1") == 0)
		return "record holds a value stored as a BLOB where cavra writes text (lookups by "
		       "that column miss it)";
	return NULL;
}

/* A decision entry against the record hashes of the lines loaded. */
static enum status check_known(struct walk *w, int64_t seq, const char *const *v)
{
	switch (ops_decision_hashes_match(w->known, v[2], v[3])) {
	case OPS_DECHASH_MISSING:
		report(w, "deleted", seq, 0, v[2], NULL, "record is missing");
		break;
	case OPS_DECHASH_DIFFERS:
		report(w, "edited", seq, 0, v[2], NULL, "record differs from what was chained");
		break;
	case OPS_DECHASH_MATCHES:
	default:
		break;
	}
	return ST_OK;
}

/* (id, hash) into one of the first pass's sums. */
static void sum_pair(struct walk *w, struct msum *s, const char *id, size_t id_len,
		     const char *hash, size_t hash_len)
{
	unsigned char be[4];
	const void *p[3] = {be, id, hash};
	const size_t len[3] = {sizeof(be), id_len, hash_len};

	if (id_len > UINT32_MAX) {
		w->sums->silent++;
		return;
	}
	for (int i = 0; i < 4; i++)
		be[i] = (unsigned char)(id_len >> (8 * (3 - i)));
	msum_add(&w->sums->key, s, p, len, 3);
}

/* A break in the decision an entry names: gone, or not what was chained. */
static enum status check_record(struct walk *w, int64_t seq, const char *const *v,
				const size_t *lens, struct err *e)
{
	struct err re = {0};
	const char *why;

	UNUSED(e);
	if (strcmp(v[1], "decision") != 0)
		return ST_OK; /* approvals: approvals_sql */
	if (w->sums) {
		sum_pair(w, &w->sums->entries, v[2], lens[2], v[3], lens[3]);
		return ST_OK;
	}
	if (w->known)
		return check_known(w, seq, v);
	if (!v[CHAIN_COLS]) {
		report(w, "deleted", seq, 0, v[2], NULL, "record is missing");
		return ST_OK;
	}
	why = record_fault(w->rows, v + CHAIN_COLS, lens + CHAIN_COLS, DECISION_NCOLS, v[3], &re);
	if (why)
		report(w, "edited", seq, 0, v[2], NULL, why);
	return ST_OK;
}

/*
 * How many entries an approval in state can have: its request (or its break-glass, or its row
 * as adopted or imported), then at most one change out of pending (approve, deny, expire), the
 * only change there is.  More, or a second entry for one still pending or made by break-glass,
 * is an entry added behind cavra's back: a decided approval rewritten, then chained again.
 */
static const char *entries_fault(const char *state, int64_t n)
{
	bool once = str_eq(state, "pending") || str_eq(state, "break_glass");

	if (n > 2)
		return "approval has more chain entries than its request and one decision: it "
		       "was changed after it was decided";
	if (n == 2 && once)
		return "approval has a second chain entry, but a pending or break-glass approval "
		       "has one";
	return NULL;
}

/*
 * A record chained at every write: its last entry (v: seq, id, record_sha256, its number of
 * entries, then the row's ncols columns and the BLOB test) against the row as it stands now.
 */
static enum status on_last_entry(void *ctx, const char *const *v, const size_t *lens, struct err *e)
{
	struct walk *w = ctx;
	const struct rewritten *k = &rewritten[w->cur];
	bool approval = w->cur == REWRITTEN_APPROVALS;
	size_t ncols = k->ncols;
	struct ops_row_hasher *h = w->hashers[w->cur];
	struct err re = {0};
	struct audit_break b = {NULL, 0, 0, v[1], NULL, NULL, NULL};
	int64_t n = 0;

	if (!v[0] || !str_to_i64(v[0], 1, INT64_MAX, &b.seq) || !v[1] || !v[2] || !v[3] ||
	    !str_to_i64(v[3], 1, INT64_MAX, &n))
		return err_set(e, ST_INTERNAL, "audit_chain: a '%s' entry is malformed", k->kind);
	if (!v[ROW_AT]) {
		b.what = "deleted";
		b.why = "record is missing";
	} else if ((b.why = record_fault(h, v + ROW_AT, lens + ROW_AT, ncols, v[2], &re)) != NULL ||
		   (approval && (b.why = entries_fault(v[ROW_AT + 3], n)) != NULL)) {
		b.what = "edited";
	}
	if (b.what) {
		w->out->breaks++;
		w->fn(w->ctx, &b);
	}
	return ST_OK;
}

static enum status on_entry(void *ctx, const char *const *v, const size_t *lens, struct err *e)
{
	struct walk *w = ctx;
	int64_t seq;

	if (!v[0] || !str_to_i64(v[0], 1, INT64_MAX, &seq) || !v[1] || !v[2] || !v[3] || !v[4] ||
	    !v[5])
		return err_set(e, ST_INTERNAL, "audit_chain: entry after seq %lld is malformed",
			       (long long)w->last_seq);
	check_link(w, seq, v);
	check_record(w, seq, v, lens, e);
	progress_add(w->progress, 1);
	if (w->cp && seq == w->cp->seq && strcmp(v[5], w->cp->hash) != 0)
		report(w, "rewritten", seq, 0, v[2], NULL, "entry differs from the checkpoint's");
	w->out->entries++;
	w->last_seq = seq;
	audit_keep_hash(w->last_hash, v[5]);
	free(w->last_id);
	w->last_id = xstrdup(v[2]);
	return ST_OK;
}

/* One decision in the first pass: its line's hash into the records' sum. */
static enum status on_record(void *ctx, const char *const *v, const size_t *lens, struct err *e)
{
	struct walk *w = ctx;
	char rsha[SHA256_HEX_LEN];

	UNUSED(e);
	if (!v[0] || ops_row_sha256(w->rows, v, lens, rsha, NULL) != ST_OK ||
	    (v[DECISION_NCOLS] && strcmp(v[DECISION_NCOLS], "1") == 0))
		w->sums->silent++;
	else
		sum_pair(w, &w->sums->records, v[0], lens[0], rsha, SHA256_HEX_LEN - 1);
	progress_add(w->progress, 1);
	return ST_OK;
}

/* A record with no entry: no neighbours in the chain, its time says where it claims to belong. */
static void unchained(struct walk *w, const char *id, const char *time_col, const char *time)
{
	char *at = store_time_dup(time), why[112];
	struct audit_break b = {"inserted", 0, 0, id, NULL, NULL, why};

	snprintf(why, sizeof(why), "record has no chain entry (%s %.40s)", time_col, at ? at : "-");
	free(at);
	w->out->breaks++;
	w->fn(w->ctx, &b);
}

static enum status on_unchained(void *ctx, const char *const *v, const size_t *lens, struct err *e)
{
	UNUSED(lens);
	UNUSED(e);
	unchained(ctx, v[0], "decided_at", v[1]);
	return ST_OK;
}

/* A record of a kind chained at every write with no entry, named with its created_at. */
static enum status on_unchained_created(void *ctx, const char *const *v, const size_t *lens,
					struct err *e)
{
	UNUSED(lens);
	UNUSED(e);
	unchained(ctx, v[0], "created_at", v[1]);
	return ST_OK;
}

/*
 * A session its decisions disagree with (SESSION_COUNTS_SQL): its counters were changed, or
 * its row deleted, behind cavra's back; the decisions themselves are the chain's.
 */
static enum status on_session(void *ctx, const char *const *v, const size_t *lens, struct err *e)
{
	struct walk *w = ctx;
	char why[256];
	struct audit_break b = {"edited", 0, 0, v[0], NULL, NULL, why};

	UNUSED(lens);
	UNUSED(e);
	if (strcmp(v[1], "t") == 0 || strcmp(v[1], "1") == 0) {
		b.what = "deleted";
		snprintf(why, sizeof(why), "session row is missing for its %.20s decisions", v[5]);
	} else {
		snprintf(
			why, sizeof(why),
			"session counters %.20s/%.20s/%.20s (decisions/blocked/approvals required) "
			"differ from its decisions' %.20s/%.20s/%.20s",
			v[2], v[3], v[4], v[5], v[6], v[7]);
	}
	w->out->breaks++;
	w->fn(w->ctx, &b);
	return ST_OK;
}

/* A session its decisions described whose description is none of theirs (SESSION_FILLS_SQL). */
static enum status on_fill(void *ctx, const char *const *v, const size_t *lens, struct err *e)
{
	struct walk *w = ctx;
	struct audit_break b = {
		"edited",
		0,
		0,
		v[0],
		NULL,
		NULL,
		"session whose decisions or evidence started it names an agent, actor, "
		"repository or policy pack that none of its decisions names"};

	UNUSED(lens);
	UNUSED(e);
	w->out->breaks++;
	w->fn(w->ctx, &b);
	return ST_OK;
}

/* What only the end of the walk can tell: a cut tail, against the head and the checkpoint. */
static void check_tail(struct walk *w)
{
	struct audit_verify_result *o = w->out;

	if (o->head_seq > w->last_seq)
		report(w, "truncated", w->last_seq + 1, o->head_seq, NULL, NULL,
		       "the chain ends before its head");
	else if (o->head_seq < w->last_seq ||
		 (o->head_seq > 0 && strcmp(o->head_hash, w->last_hash) != 0))
		report(w, "edited", o->head_seq, 0, NULL, NULL,
		       "the head does not name the last entry");
	if (w->cp && w->cp->seq > w->last_seq)
		report(w, "truncated", w->last_seq + 1, w->cp->seq, NULL, NULL,
		       "the chain ends before the checkpoint");
}

/* A second entry for one decision: the walk matched it to its record like the first. */
static enum status on_again(void *ctx, const char *const *v, const size_t *lens, struct err *e)
{
	struct walk *w = ctx;
	struct audit_break b = {
		"duplicated",
		0,
		0,
		v[1],
		NULL,
		NULL,
		"decision already has an earlier chain entry: each is chained once"};

	UNUSED(lens);
	if (!v[0] || !str_to_i64(v[0], 1, INT64_MAX, &b.seq))
		return err_set(e, ST_INTERNAL, "audit_chain: a decision entry is malformed");
	w->out->breaks++;
	w->fn(w->ctx, &b);
	return ST_OK;
}

/* The restore's loaded lines are the chain up to the head: the walk has nothing to add. */
static bool proved(struct walk *w, const struct chain_head *h)
{
	if (!w->known || !w->lines || w->cp || !ops_chain_lines_prove(w->lines, h->seq, h->hash))
		return false;
	w->out->entries = h->seq;
	w->out->from_lines = true;
	w->last_seq = h->seq;
	memcpy(w->last_hash, h->hash, SHA256_HEX_LEN);
	progress_add(w->progress, h->seq);
	return true;
}

/* Back to the genesis, for the walk after a first pass that found a break. */
static void walk_restart(struct walk *w, int64_t head_seq)
{
	w->out->entries = 0;
	w->last_seq = 0;
	memcpy(w->last_hash, store_chain_genesis, SHA256_HEX_LEN);
	free(w->last_id);
	w->last_id = NULL;
	progress_phase(w->progress, "chain", head_seq);
}

/*
 * The first pass: the chain alone, then the decisions in the table's order.  *whole when it
 * found no break and every decision is the record its one entry chained (equal sums of as many
 * pairs): then nothing is left to walk for decisions.
 */
static enum status first_pass(struct store_conn *c, struct walk *w, bool *whole, struct err *e)
{
	struct sums s = {0};
	enum status st = ST_OK;

	*whole = false;
	if (!msum_key_init(&s.key)) {
		msum_key_release(&s.key);
		return ST_OK; /* no key: the walk checks everything */
	}
	w->sums = &s;
	st = store_stream(c, links_sql, CHAIN_COLS, on_entry, w, e);
	if (st == ST_OK)
		check_tail(w);
	if (st == ST_OK && s.silent == 0) {
		progress_phase(w->progress, "decisions", -1);
		st = store_stream(c, w->records_sql, DECISION_NCOLS + 1, on_record, w, e);
	}
	w->sums = NULL;
	*whole = st == ST_OK && s.silent == 0 && msum_equal(&s.key, &s.entries, &s.records);
	msum_key_release(&s.key);
	return st;
}

/* The chain and the decisions: every break named.  *whole as first_pass's. */
static enum status walk_decisions(struct store_conn *c, struct walk *w, const struct chain_head *h,
				  bool *whole, struct err *e)
{
	enum status st = ST_OK;

	*whole = false;
	if (proved(w, h)) {
		check_tail(w);
		return ST_OK;
	}
	if (!w->known) {
		st = first_pass(c, w, whole, e);
		if (st != ST_OK || *whole)
			return st;
		walk_restart(w, h->seq);
	}
	st = w->known ? store_stream(c, links_sql, CHAIN_COLS, on_entry, w, e)
		      : store_stream(c, w->walk_sql, CHAIN_COLS + DECISION_NCOLS + 1, on_entry, w,
				     e);
	if (st == ST_OK)
		check_tail(w);
	if (st == ST_OK)
		st = store_stream(c, again_sql, 2, on_again, w, e);
	return st;
}

/*
 * Which late groups are checked: each from its migration on, unless its records written before
 * it still wait to be chained (refused, or left out where the caller allows it: a restore,
 * whose next adoption chains them).  A group's flag on a chain that holds entries of its kinds
 * is a break.
 */
static enum status late_scope(struct store_conn *c, struct walk *w, bool checked[STORE_LATE_N],
			      struct err *e)
{
	struct chain_late late[STORE_LATE_N];
	enum status st = store_chain_lates(c, late, e);

	for (int g = 0; g < STORE_LATE_N; g++) {
		bool waits = st == ST_OK && store_chain_late_waits(&late[g]);

		checked[g] = false;
		if (st != ST_OK || !late[g].covered)
			continue;
		w->out->late_pending = w->out->late_pending || waits;
		if (waits && !w->pending_ok)
			return err_set(e, ST_CONFLICT,
				       "%s written before migration %03d %s not chained yet: run "
				       "'cavra audit adopt' first",
				       store_chain_late_what(g), store_chain_late_since(g),
				       g == STORE_LATE_EVIDENCE ? "is" : "are");
		if (late[g].pending && late[g].entries)
			report(w, "edited", w->out->head_seq, 0, NULL, NULL,
			       store_chain_late_flag_why(g));
		checked[g] = !waits;
	}
	return st;
}

/* Each record of a kind chained at every write: its last entry, then those without one. */
static enum status walk_rewritten(struct store_conn *c, struct walk *w,
				  const bool checked[STORE_LATE_N], bool unchained_pass,
				  struct err *e)
{
	enum status st = ST_OK;

	for (size_t i = 0; st == ST_OK && i < REWRITTEN_N; i++) {
		const struct rewritten *k = &rewritten[i];

		if (k->late != STORE_NOT_LATE && !checked[k->late])
			continue;
		w->cur = i;
		st = unchained_pass
			     ? store_stream(c, k->unchained_sql, 2, on_unchained_created, w, e)
			     : store_stream(c, w->last_sql[i], ROW_AT + k->ncols + 1, on_last_entry,
					    w, e);
	}
	return st;
}

static enum status walk_all(struct store_conn *c, struct walk *w, struct err *e)
{
	struct chain_head h;
	bool whole = false, checked[STORE_LATE_N] = {0};
	enum status st = store_chain_head(c, &h, e);

	if (st == ST_OK && h.adopt_pending && h.seq == 0)
		st = err_set(e, ST_CONFLICT,
			     "decisions written before the chain existed are not chained yet: "
			     "run 'cavra audit adopt' first");
	if (st != ST_OK)
		return st;
	w->out->head_seq = h.seq;
	memcpy(w->out->head_hash, h.hash, SHA256_HEX_LEN);
	if (h.adopt_pending)
		report(w, "edited", h.seq, 0, NULL, NULL, store_chain_adopt_flag_why);
	st = late_scope(c, w, checked, e);
	if (st != ST_OK)
		return st;
	progress_phase(w->progress, "chain", h.seq);
	st = walk_decisions(c, w, &h, &whole, e);
	w->out->summed = whole;
	if (st == ST_OK)
		st = walk_rewritten(c, w, checked, false, e);
	progress_phase(w->progress, "records without an entry", -1);
	if (st == ST_OK && !whole && !(w->known && ops_decision_hashes_all_named(w->known)))
		st = store_stream(c, unchained_sql, 2, on_unchained, w, e);
	if (st == ST_OK)
		st = walk_rewritten(c, w, checked, true, e);
	if (st == ST_OK && w->sessions) {
		progress_phase(w->progress, "session counters", -1);
		st = store_stream(c, w->sqlite ? sqlite_sessions_sql : pg_sessions_sql,
				  SESSION_COUNTS_NCOLS, on_session, w, e);
	}
	if (st == ST_OK && w->sessions && checked[STORE_LATE_SESSIONS])
		st = store_stream(c, w->sqlite ? sqlite_fills_sql : pg_fills_sql, 1, on_fill, w, e);
	if (st == ST_OK && w->seal_keys) {
		const struct audit_seals_walk sw = {
			w->seal_keys, w->sealed_from, w->out->head_seq,	   w->progress,
			w->fn,	      w->ctx,	      w->sealed_from_first};

		st = audit_verify_seals(c, &sw, &w->out->breaks, &w->out->sealed, e);
	}
	return st;
}

enum status audit_verify(struct store *st, const struct audit_checkpoint *cp, audit_break_fn fn,
			 void *ctx, struct audit_verify_result *out, struct err *e)
{
	const struct audit_verify_opts o = {.cp = cp, .fn = fn, .ctx = ctx};

	return audit_verify_with(st, &o, out, e);
}

enum status audit_verify_with(struct store *st, const struct audit_verify_opts *o,
			      struct audit_verify_result *out, struct err *e)
{
	struct walk w = {.cp = o->cp,
			 .known = ops_decision_hashes_usable(o->known) ? o->known : NULL,
			 .lines = o->lines,
			 .fn = o->fn,
			 .ctx = o->ctx,
			 .progress = o->progress,
			 .out = out,
			 .sessions = o->sessions,
			 .pending_ok = o->late_pending_ok,
			 .seal_keys = o->seal_keys,
			 .sealed_from = o->sealed_from,
			 .sealed_from_first = o->sealed_from_first,
			 .sqlite = store_kind(st) == STORE_SQLITE};
	struct store_conn *c = NULL;
	enum status rc = ops_row_hasher_new("activity_decisions", &w.rows, e);

	if (rc == ST_OK)
		ops_row_hasher_refuse_duplicates(w.rows);
	for (size_t i = 0; rc == ST_OK && i < REWRITTEN_N; i++) {
		rc = ops_row_hasher_new(rewritten[i].table, &w.hashers[i], e);
		if (rc == ST_OK)
			ops_row_hasher_refuse_duplicates(w.hashers[i]);
	}
	w.walk_sql = sql_with(walk_sql, w.sqlite, DECISION_COLS);
	w.records_sql = sql_with(records_sql, w.sqlite, STORE_DECISION_COLS(""));
	for (size_t i = 0; i < REWRITTEN_N; i++)
		w.last_sql[i] = sql_with(rewritten[i].last_sql, w.sqlite, rewritten[i].cols);
	memset(out, 0, sizeof(*out));
	memcpy(w.last_hash, store_chain_genesis, SHA256_HEX_LEN);
	if (rc == ST_OK)
		rc = store_conn_get(st, &c, e);
	if (rc == ST_OK)
		rc = store_tx_begin(c, STORE_TX_SNAPSHOT, e);
	if (rc == ST_OK)
		rc = walk_all(c, &w, e);
	if (c)
		store_conn_put(st, c); /* ends the read-only snapshot */
	ops_row_hasher_free(w.rows);
	for (size_t i = 0; i < REWRITTEN_N; i++) {
		ops_row_hasher_free(w.hashers[i]);
		free(w.last_sql[i]);
	}
	free(w.last_id);
	free(w.walk_sql);
	free(w.records_sql);
	return rc;
}
