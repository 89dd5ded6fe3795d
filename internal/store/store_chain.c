/*
 * store_chain.c - the audit hash chain on both backends: the link's byte
 * form, the append inside a write transaction (decisions, approvals), the
 * head, and chaining the rows a database held before the chain existed
 * (adopt, rebuild).
 */
#include "base/base.h"
#include "base/interrupt.h"
#include "base/log.h"
#include "store/store_chain.h"
#include "store/store_vouch_memo.h"
#include "store/store_backend.h"
#include "store/store_decisions.h"
#include "store/store_pg_batch.h"
#include "store/store_query.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/num.h"
#include "base/seal.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "base/progress.h"
#include "base/str.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DECISION_NCOLS STORE_DECISION_NCOLS
#define DECISION_COLS  STORE_DECISION_COLS("")
#define ADOPT_PAGE     "1000" /* decisions chained per query while adopting */
#define ADOPT_INSERT   250 /* links per INSERT while adopting (7 parameters each) */

const char store_chain_genesis[SHA256_HEX_LEN] =
	"0000000000000000000000000000000000000000000000000000000000000000";

_Static_assert(sizeof(((struct store_conn *)0)->seal_writer) == STORE_CHAIN_WRITER_HEX + 1,
	       "a connection holds its writer's id");

static store_chain_canon_fn canon_fn;
static struct seal_key seal_key; /* with seal_on: every entry appended is sealed */
static bool seal_on;

void store_chain_canon_set(store_chain_canon_fn fn)
{
	canon_fn = fn;
}

void store_chain_seal_set(const struct seal_key *key)
{
	memset(&seal_key, 0, sizeof(seal_key));
	seal_on = key != NULL;
	if (key)
		seal_key = *key;
}

/*
 * The seal of c's next entry under the installed key into out, as c's writer (drawn at its
 * first seal) with its next number; c NULL: none ("").
 */
static enum status seal_entry(struct store_conn *c, const char *kind, const char *record_id,
			      const char *record_sha256, char out[STORE_CHAIN_SEAL_LEN],
			      struct err *e)
{
	enum status st = ST_OK;

	out[0] = '\0';
	if (!c)
		return ST_OK;
	if (!c->seal_writer[0]) {
		st = random_hex(c->seal_writer, STORE_CHAIN_WRITER_HEX / 2, e);
		c->seal_next = c->seal_base = 1;
	}
	if (st == ST_OK && !c->seal_mac)
		c->seal_mac = seal_mac_new(&seal_key);
	if (st == ST_OK &&
	    (!c->seal_mac || !store_chain_seal_with(c->seal_mac, c->seal_writer, c->seal_next, kind,
						    record_id, record_sha256, out)))
		st = err_set(e, ST_INTERNAL, "audit chain: could not seal an entry (OpenSSL)");
	if (st == ST_OK)
		c->seal_next++;
	else
		c->seal_writer[0] = '\0';
	return st;
}

/*
 * Whether c's entries carry their seal: a key is installed and audit_chain has the column
 * (from 024).  Its presence is remembered on c; its absence is looked up again, as a migration
 * may add it.
 */
static enum status sealing(struct store_conn *c, bool *on, struct err *e)
{
	enum status st = ST_OK;

	if (seal_on && !c->chain_sealed)
		st = store_column_exists(c, "audit_chain", "seal", &c->chain_sealed, e);
	*on = st == ST_OK && seal_on && c->chain_sealed;
	return st;
}

/* n in decimal, a '-' first when negative, into out (21 bytes, no NUL); its length. */
static size_t decimal(int64_t n, char out[21])
{
	uint64_t u = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
	char tmp[21];
	size_t len = 0, k = 0;

	do {
		tmp[len++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (n < 0)
		out[k++] = '-';
	while (len)
		out[k++] = tmp[--len];
	return k;
}

/*
 * Built piece by piece rather than with buf_addf: a restore proves a million links as they
 * load (ops_chainsum.c), and formatting them through vsnprintf was most of the cost.
 */
enum status store_chain_link_bytes(struct buf *b, int64_t seq, const char *kind,
				   const char *record_id, const char *record_sha256,
				   const char *prev_hash, struct err *e)
{
	static const char magic[] = "cavra.audit.chain.v1\n";
	char num[21], len[21];
	size_t id_len = strlen(record_id);
	/* the id is the one field of free text: its length keeps "a\nb" from reading as two */
	const struct {
		const char *p;
		size_t n;
	} piece[] = {
		{magic, sizeof(magic) - 1},
		{num, decimal(seq, num)},
		{"\n", 1},
		{kind, strlen(kind)},
		{"\n", 1},
		{len, decimal((int64_t)id_len, len)},
		{":", 1},
		{record_id, id_len},
		{"\n", 1},
		{record_sha256, strlen(record_sha256)},
		{"\n", 1},
		{prev_hash, strlen(prev_hash)},
		{"\n", 1},
	};
	enum status st = ST_OK;

	for (size_t i = 0; st == ST_OK && i < ARRAY_SIZE(piece); i++)
		st = buf_add(b, piece[i].p, piece[i].n, e);
	return st;
}

enum status store_chain_link_hash(int64_t seq, const char *kind, const char *record_id,
				  const char *record_sha256, const char *prev_hash,
				  char out[SHA256_HEX_LEN], struct err *e)
{
	struct buf b;
	enum status st;

	buf_init(&b, BUF_CAP_DEFAULT);
	st = store_chain_link_bytes(&b, seq, kind, record_id, record_sha256, prev_hash, e);
	if (st == ST_OK)
		sha256_hex(b.data, b.len, out);
	buf_release(&b);
	return st;
}

/* Where an append stands: the last entry written, in the open transaction. */
struct cursor {
	int64_t seq;
	char hash[SHA256_HEX_LEN];
	char now[TIME_FMT_LEN];
};

/* The head as read by head_lock's SELECT (r: its rows) into cur, stamped now. */
static enum status head_parse(const struct store_rows *r, struct cursor *cur, struct err *e)
{
	const char *seq = store_rows_count(r) == 1 ? store_rows_get(r, 0, 0) : NULL;
	const char *hash = seq ? store_rows_get(r, 0, 1) : NULL;

	time_format_utc(time_now_us(), cur->now, sizeof(cur->now));
	if (!seq || !hash || strlen(hash) != SHA256_HEX_LEN - 1 ||
	    !str_to_i64(seq, 0, INT64_MAX - 1, &cur->seq))
		return err_set(e, ST_INTERNAL, "audit_chain_head: no valid head row");
	memcpy(cur->hash, hash, SHA256_HEX_LEN);
	return ST_OK;
}

/*
 * Reads the head, locking it on PostgreSQL until the transaction ends: a second
 * replica's append waits here, and then reads the head this one left.
 */
static enum status head_lock(struct store_conn *c, struct cursor *cur, struct err *e)
{
	const char *sql = c->ops->kind == STORE_POSTGRES
				  ? "SELECT seq, hash FROM audit_chain_head WHERE id = 1 FOR UPDATE"
				  : "SELECT seq, hash FROM audit_chain_head WHERE id = 1";
	struct store_rows *r = NULL;
	enum status st = store_query(c, sql, 0, NULL, &r, e);

	if (st == ST_OK)
		st = head_parse(r, cur, e);
	else
		time_format_utc(time_now_us(), cur->now, sizeof(cur->now));
	store_rows_free(r);
	return st;
}

/* One link as text: the parameters of its row of audit_chain. */
struct link_text {
	char seq[24], rsha[SHA256_HEX_LEN], hash[SHA256_HEX_LEN], seal[STORE_CHAIN_SEAL_LEN];
};

#define LINK_NPARAMS 8 /* the last, seal, only where audit_chain has the column */

/* A record to link: its table, kind, id and values in catalogue order. */
struct chain_rec {
	const char *table, *kind, *id;
	const char *const *vals;
	size_t n;
	const char *rsha; /* the values' canonical SHA-256 when known already; NULL: computed */
};

/*
 * Computes the link of rec after cur into l and its audit_chain row into p (LINK_NPARAMS
 * values; prev is the hash before it, which must outlive p), and moves cur past it.
 */
static enum status link_one(struct cursor *cur, struct store_conn *sc, const struct chain_rec *rec,
			    struct link_text *l, const char *prev, const char **p, struct err *e)
{
	enum status st = ST_OK;

	if (rec->rsha)
		memcpy(l->rsha, rec->rsha, SHA256_HEX_LEN);
	else
		st = canon_fn(rec->table, rec->vals, rec->n, l->rsha, e);
	if (st == ST_OK)
		st = store_chain_link_hash(cur->seq + 1, rec->kind, rec->id, l->rsha, cur->hash,
					   l->hash, e);
	if (st == ST_OK)
		st = seal_entry(sc, rec->kind, rec->id, l->rsha, l->seal, e);
	if (st != ST_OK)
		return err_ctx(st, e, "chain %s '%s'", rec->kind, rec->id);
	snprintf(l->seq, sizeof(l->seq), "%lld", (long long)cur->seq + 1);
	p[0] = l->seq;
	p[1] = rec->kind;
	p[2] = rec->id;
	p[3] = l->rsha;
	p[4] = prev;
	p[5] = l->hash;
	p[6] = cur->now;
	p[7] = l->seal[0] ? l->seal : NULL;
	cur->seq++;
	memcpy(cur->hash, l->hash, SHA256_HEX_LEN);
	return ST_OK;
}

/* Links one record after cur and moves cur, only once its entry is written. */
static enum status link_record(struct store_conn *c, struct cursor *cur,
			       const struct chain_rec *rec, struct err *e)
{
	static const char sql[] =
		"INSERT INTO audit_chain (seq, kind, record_id, record_sha256, prev_hash, hash, "
		"chained_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
	static const char sealed_sql[] =
		"INSERT INTO audit_chain (seq, kind, record_id, record_sha256, prev_hash, hash, "
		"chained_at, seal) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
	struct cursor next = *cur;
	struct link_text l;
	const char *p[LINK_NPARAMS];
	bool sealed = false;
	enum status st = sealing(c, &sealed, e);

	if (st == ST_OK)
		st = link_one(&next, sealed ? c : NULL, rec, &l, cur->hash, p, e);
	if (st != ST_OK)
		return st;
	st = store_exec(c, sealed ? sealed_sql : sql, sealed ? LINK_NPARAMS : LINK_NPARAMS - 1, p,
			NULL, e);
	if (st != ST_OK)
		return err_ctx(st, e, "chain %s '%s'", rec->kind, rec->id);
	*cur = next;
	return ST_OK;
}

static enum status head_move(struct store_conn *c, const struct cursor *cur, const char *pending,
			     struct err *e)
{
	static const char sql[] = "UPDATE audit_chain_head SET seq = $1, hash = $2, "
				  "updated_at = $3, adopt_pending = $4 WHERE id = 1";
	char seq[24];
	const char *p[4] = {seq, cur->hash, cur->now, pending};

	snprintf(seq, sizeof(seq), "%lld", (long long)cur->seq);
	return store_exec(c,
			  pending ? sql
				  : "UPDATE audit_chain_head SET seq = $1, hash = $2, "
				    "updated_at = $3 WHERE id = 1",
			  pending ? 4 : 3, p, NULL, e);
}

/* A decision as it is stored: created_at and updated_at are its decided_at. */
static void decision_vals(const struct decision_rec *d, const char *v[DECISION_NCOLS])
{
	const char *x[DECISION_NCOLS] = {
		d->decision_id,	       d->session_id,	   d->agent_id,	      d->actor,
		d->repository,	       d->action_type,	   d->policy_pack,    d->rule_id,
		d->decision,	       d->severity,	   d->approver_group, d->correlation_id,
		d->decided_at,	       d->decided_at,	   d->decided_at,     d->payload,
		d->idempotency_caller, d->idempotency_key, d->request_sha256};

	memcpy(v, x, sizeof(x));
}

/*
 * Computes the links of rows after cur (each hash covers the one before it) into l and
 * their audit_chain rows into p, LINK_NPARAMS per row, and moves cur past them.  prev0
 * keeps the hash before the first, which cur no longer holds.
 */
static enum status decision_links(struct cursor *cur, struct store_conn *sc,
				  const struct decision_rec *const *rows, size_t n,
				  struct link_text *l, const char **p, char prev0[SHA256_HEX_LEN],
				  struct err *e)
{
	memcpy(prev0, cur->hash, SHA256_HEX_LEN);
	for (size_t i = 0; i < n; i++, p += LINK_NPARAMS) {
		const char *v[DECISION_NCOLS];
		const struct chain_rec rec = {"activity_decisions", "decision",
					      rows[i]->decision_id, v, DECISION_NCOLS};
		enum status st;

		decision_vals(rows[i], v);
		st = link_one(cur, sc, &rec, &l[i], i ? l[i - 1].hash : prev0, p, e);
		if (st != ST_OK)
			return st;
	}
	return ST_OK;
}

/*
 * Inserts n links' rows.  On PostgreSQL as one multi-row INSERT, one round trip for the
 * batch instead of one per decision, run unprepared (one_shot) because its text changes
 * with the batch's size; SQLite has no round trips, and runs the one-row text, compiled
 * once per connection, for each row.
 */
static enum status insert_links(struct store_conn *c, bool sealed, size_t n, const char *const *p,
				struct err *e)
{
	size_t per = c->ops->kind == STORE_SQLITE ? 1 : n, np;
	struct buf q = BUF_INIT;
	const char **v = NULL;
	const char *const *params = p;
	size_t stride = LINK_NPARAMS;
	enum status st = ST_OK;

	np = sealed ? LINK_NPARAMS : LINK_NPARAMS - 1;
	buf_xadds(&q, "INSERT INTO audit_chain (seq, kind, record_id, record_sha256, prev_hash, "
		      "hash, chained_at");
	buf_xadds(&q, sealed ? ", seal) VALUES " : ") VALUES ");
	for (size_t i = 0, k = 1; i < per; i++, k += np) {
		buf_xaddf(&q, "%s($%zu, $%zu, $%zu, $%zu, $%zu, $%zu, $%zu", i ? ", " : "", k,
			  k + 1, k + 2, k + 3, k + 4, k + 5, k + 6);
		if (sealed)
			buf_xaddf(&q, ", $%zu", k + 7);
		buf_xadds(&q, ")");
	}
	/* several rows leaving out the seal: np of each link's LINK_NPARAMS, side by side */
	if (per > 1 && np < LINK_NPARAMS) {
		v = xcalloc(n * np, sizeof(*v));
		for (size_t i = 0; i < n; i++)
			memcpy(v + i * np, p + i * LINK_NPARAMS, np * sizeof(*v));
		params = v;
		stride = np;
	}
	c->one_shot = per > 1;
	for (size_t i = 0; st == ST_OK && i < n; i += per)
		st = store_exec(c, q.data, (int)(per * np), params + i * stride, NULL, e);
	c->one_shot = false;
	free(v);
	buf_release(&q);
	return st == ST_OK ? ST_OK : err_ctx(st, e, "chain %zu decisions", n);
}

enum status store_chain_append_decisions(struct store_conn *c,
					 const struct decision_rec *const *rows, size_t n,
					 struct err *e)
{
	struct link_text *l;
	const char **p;
	char prev0[SHA256_HEX_LEN];
	struct cursor cur;
	bool sealed = false;
	enum status st;

	if (n == 0)
		return ST_OK;
	if (!canon_fn)
		return err_set(e, ST_INTERNAL, "audit chain: no canonical form installed");
	st = head_lock(c, &cur, e);
	if (st != ST_OK)
		return st;
	st = sealing(c, &sealed, e);
	if (st != ST_OK)
		return st;
	l = xcalloc(n, sizeof(*l));
	p = xcalloc(n * LINK_NPARAMS, sizeof(*p));
	st = decision_links(&cur, sealed ? c : NULL, rows, n, l, p, prev0, e);
	if (st == ST_OK)
		st = insert_links(c, sealed, n, p, e);
	if (st == ST_OK)
		st = head_move(c, &cur, NULL, e);
	free(p);
	free(l);
	return st;
}

/*
 * PostgreSQL's batch links its decisions in the statement that takes the head: the server
 * locks the head, computes each link from the one before it (the same bytes as
 * store_chain_link_bytes: sha256() over the text in UTF-8, the id's length in UTF-8 bytes),
 * inserts the links and moves the head.  cavra sends only what does not depend on the head,
 * the ids and their records' SHA-256, so the whole batch travels in one round trip and no
 * client work sits between taking the head and the COMMIT that frees it (the entries' seals
 * too, $4, in the sealed form: PG_SEALED).  Without a head row
 * the first link's seq is NULL, which audit_chain refuses: the batch fails instead of
 * committing decisions without links.
 */
#define PG_CHAIN_SQL(kind, scol, sval)                                                            \
	"WITH RECURSIVE h AS (SELECT seq, hash FROM audit_chain_head WHERE id = 1 FOR UPDATE), "  \
	"c (i, seq, prev, hash) AS (SELECT 0, h.seq, NULL::text COLLATE \"C\", h.hash FROM "      \
	"(SELECT) AS one LEFT JOIN h ON true "                                                    \
	"UNION ALL SELECT c.i + 1, c.seq + 1, c.hash, encode(sha256(convert_to("                  \
	"E'cavra.audit.chain.v1\\n' || (c.seq + 1) || E'\\n" kind "\\n' || "                      \
	"octet_length(convert_to(($1::text[])[c.i + 1], 'UTF8')) || ':' || ($1::text[])[c.i + "   \
	"1] || E'\\n' || ($2::text[])[c.i + 1] || E'\\n' || c.hash || E'\\n', 'UTF8')), 'hex') "  \
	"FROM c WHERE c.i < cardinality($1::text[])), "                                           \
	"ins AS (INSERT INTO audit_chain (seq, kind, record_id, record_sha256, prev_hash, hash, " \
	"chained_at" scol ") SELECT seq, '" kind "', ($1::text[])[i], ($2::text[])[i], prev, "    \
	"hash, $3::timestamptz" sval " FROM c WHERE i > 0) "                                      \
	"UPDATE audit_chain_head SET seq = t.seq, hash = t.hash, updated_at = $3::timestamptz "   \
	"FROM (SELECT seq, hash FROM c ORDER BY i DESC LIMIT 1) t WHERE id = 1"

#define PG_UNSEALED(kind) PG_CHAIN_SQL(kind, "", "")
#define PG_SEALED(kind)	  PG_CHAIN_SQL(kind, ", seal", ", ($4::text[])[i]")

/*
 * A table whose rows the chain covers: for adopting the rows that have no entry yet, and, for
 * the tables chained at every write, for reading a row back by id (select) and linking it on
 * PostgreSQL (pg_sql[sealed]).  late: the group chained from a later migration (enum
 * store_chain_late), or STORE_NOT_LATE.
 */
struct chained {
	/*
	 * vouch: the row, the record_sha256 of its newest entry and lacks_ok, in one statement;
	 * lacks_ok: 1 for a row that may have no entry (a session only decisions made), else 0
	 */
	const char *table, *kind, *cols, *id_col, *order_col, *select, *vouch, *lacks_ok,
		*pg_sql[2];
	size_t ncols, order_idx; /* order_idx: order_col's place in cols */
	int late;
};

/* ok: STORE_CHAIN_REWRITTEN's condition under which a row must have an entry */
#define LACKS_OK(ok) "CASE WHEN 1 = 1" ok("") " THEN 0 ELSE 1 END"
#define CHAINED(table, kind, cols, id_col, order_col, ncols, order_idx, late, ok)                  \
	{                                                                                          \
		table, kind, cols, id_col, order_col,                                              \
			"SELECT " cols " FROM " table " WHERE " id_col " = $1",                    \
			"SELECT " cols ", (SELECT record_sha256 FROM audit_chain "                 \
			"WHERE kind = '" kind "' AND record_id = $1 ORDER BY seq "                 \
			"DESC LIMIT 1), " LACKS_OK(ok) " FROM " table " WHERE " id_col " = $1",    \
			LACKS_OK(ok), {PG_UNSEALED(kind), PG_SEALED(kind)}, ncols, order_idx, late \
	}
/* an adoption chains every row without an entry, whatever ok says */
#define REWRITTEN_ROW(kind, table, id, COLS, ncols, order_idx, late, ok) \
	CHAINED(table, kind, COLS(""), id, "created_at", ncols, order_idx, late, ok),

/* The decisions, then STORE_CHAIN_REWRITTEN's kinds in its order (the approvals first). */
enum { CHAINED_DECISIONS, CHAINED_APPROVALS };

static const struct chained chained_tables[] = {
	[CHAINED_DECISIONS] =
		CHAINED("activity_decisions", "decision", DECISION_COLS, "decision_id",
			"decided_at", DECISION_NCOLS, 12, STORE_NOT_LATE, STORE_CHAIN_ALWAYS),
	STORE_CHAIN_REWRITTEN(REWRITTEN_ROW)};

/* A late group: its head flag, its kinds as an SQL list, its migration, what it holds. */
static const struct late_group {
	const char *flag, *kinds, *what;
	int since;
} late_groups[STORE_LATE_N] = {
	[STORE_LATE_EVIDENCE] = {"evidence_pending", "'evidence'", "evidence",
				 STORE_CHAIN_EVIDENCE_SINCE},
	[STORE_LATE_RECORDS] =
		{"records_pending",
		 "'agent', 'mcp_server', 'repository', 'rollout', 'integration', 'token'",
		 "agents, MCP servers, repositories, policy rollouts, integrations and API tokens",
		 STORE_CHAIN_RECORDS_SINCE},
	[STORE_LATE_SESSIONS] = {"sessions_pending", "'session'", "sessions",
				 STORE_CHAIN_SESSIONS_SINCE},
};

int store_chain_late_since(enum store_chain_late g)
{
	return late_groups[g].since;
}

const char *store_chain_late_what(enum store_chain_late g)
{
	return late_groups[g].what;
}

const char *store_chain_late_flag(enum store_chain_late g)
{
	return late_groups[g].flag;
}

int store_chain_late_of_kind(const char *kind)
{
#define LATE_OF(k, table, id, cols, ncols, created, late, unchained_ok) \
	if (strcmp(kind, k) == 0)                                       \
		return late;
	STORE_CHAIN_REWRITTEN(LATE_OF)
#undef LATE_OF
	return STORE_NOT_LATE;
}

const char *store_chain_late_flag_why(enum store_chain_late g)
{
	if (g == STORE_LATE_EVIDENCE)
		return "the head asks for the evidence's adoption, which cavra only sets where no "
		       "evidence is chained: evidence without an entry would be chained as if "
		       "written before 021";
	if (g == STORE_LATE_SESSIONS)
		return "the head asks for the sessions' adoption, which cavra only sets where no "
		       "session is chained: sessions without an entry would be chained as if "
		       "written before 023";
	return "the head asks for the adoption of the registry, inventory and integrations, "
	       "which cavra only sets where none of them is chained: records without an entry "
	       "would be chained as if written before 022";
}

const char store_chain_adopt_flag_why[] =
	"the head asks for adoption, which cavra only sets on an empty chain: records without an "
	"entry would be chained as if written before it";

bool store_chain_late_waits(const struct chain_late *g)
{
	return g->covered && g->pending && !g->entries;
}

/*
 * Fills out's arrays and step for n records of t: their ids, their records' SHA-256 and, where
 * c's entries are sealed, a fresh seal of each.
 */
static enum status pg_step_fill(struct store_conn *c, const struct chained *t,
				const char *const *ids, const char *const *shas, size_t n,
				struct chain_pg_step *out, struct err *e)
{
	char(*seal)[STORE_CHAIN_SEAL_LEN] = NULL;
	const char **seals = NULL;
	bool sealed = false;
	enum status st = sealing(c, &sealed, e);

	if (st == ST_OK && sealed) {
		seal = xcalloc(n, sizeof(*seal));
		seals = xcalloc(n, sizeof(*seals));
	}
	for (size_t i = 0; st == ST_OK && sealed && i < n; i++) {
		st = seal_entry(c, t->kind, ids[i], shas[i], seal[i], e);
		seals[i] = seal[i];
	}
	if (st == ST_OK)
		st = store_pg_array(&out->ids, ids, n, 1, e);
	if (st == ST_OK)
		st = store_pg_array(&out->shas, shas, n, 1, e);
	if (st == ST_OK && sealed)
		st = store_pg_array(&out->seals, seals, n, 1, e);
	out->params[0] = out->ids.data;
	out->params[1] = out->shas.data;
	out->params[2] = out->now;
	out->params[3] = out->seals.data;
	out->step = (struct pg_step){t->pg_sql[sealed], sealed ? 4 : 3, out->params};
	free(seals);
	free(seal);
	return st;
}

static void pg_step_init(struct chain_pg_step *out)
{
	memset(out, 0, sizeof(*out));
	buf_init(&out->ids, BUF_CAP_DEFAULT);
	buf_init(&out->shas, BUF_CAP_DEFAULT);
	buf_init(&out->seals, BUF_CAP_DEFAULT);
	time_format_utc(time_now_us(), out->now, sizeof(out->now));
}

enum status store_chain_pg_step(struct store_conn *c, const struct decision_rec *const *rows,
				size_t n, struct chain_pg_step *out, struct err *e)
{
	char(*rsha)[SHA256_HEX_LEN] = xcalloc(n, sizeof(*rsha));
	const char **ids = xcalloc(n, sizeof(*ids)), **shas = xcalloc(n, sizeof(*shas));
	enum status st =
		canon_fn ? ST_OK
			 : err_set(e, ST_INTERNAL, "audit chain: no canonical form installed");

	pg_step_init(out);
	for (size_t i = 0; st == ST_OK && i < n; i++) {
		const char *v[DECISION_NCOLS];

		decision_vals(rows[i], v);
		st = canon_fn("activity_decisions", v, DECISION_NCOLS, rsha[i], e);
		if (st != ST_OK)
			st = err_ctx(st, e, "chain decision '%s'", rows[i]->decision_id);
		ids[i] = rows[i]->decision_id;
		shas[i] = rsha[i];
	}
	if (st == ST_OK)
		st = pg_step_fill(c, &chained_tables[CHAINED_DECISIONS], ids, shas, n, out, e);
	free(shas);
	free(ids);
	free(rsha);
	return st;
}

void store_chain_pg_step_release(struct chain_pg_step *s)
{
	if (!s)
		return;
	buf_release(&s->ids);
	buf_release(&s->shas);
	buf_release(&s->seals);
	memset(s, 0, sizeof(*s));
}

/*
 * On PostgreSQL the row is hashed before the head is taken, and one statement takes the head,
 * links the row and moves the head (a batch of one, as a decision batch's step): the head's
 * lock is held for that statement and the COMMIT, not for four round trips, so that writers
 * of approvals and evidence, and decision batches, wait less for one another.
 */
static enum status append_pg(struct store_conn *c, const struct chained *t, const char *id,
			     const char *rsha, struct err *e)
{
	struct chain_pg_step s;
	enum status st;

	pg_step_init(&s);
	st = pg_step_fill(c, t, &id, &rsha, 1, &s, e);
	if (st == ST_OK)
		st = store_exec(c, s.step.sql, s.step.nparams, s.step.params, NULL, e);
	store_chain_pg_step_release(&s);
	return st == ST_OK ? ST_OK : err_ctx(st, e, "chain %s '%s'", t->kind, id);
}

/*
 * The row of t with id as c sees it: its values into v (borrowed from *r, which the caller
 * frees) and their canonical SHA-256 into rsha.  *found false (ST_OK) when there is no row.
 */
static enum status row_hash(struct store_conn *c, const struct chained *t, const char *id,
			    struct store_rows **r, const char **v, char rsha[SHA256_HEX_LEN],
			    bool *found, struct err *e)
{
	enum status st =
		canon_fn ? store_query(c, t->select, 1, &id, r, e)
			 : err_set(e, ST_INTERNAL, "audit chain: no canonical form installed");

	*found = st == ST_OK && store_rows_count(*r) == 1;
	for (size_t k = 0; *found && k < t->ncols && k < DECISION_NCOLS; k++)
		v[k] = store_rows_get(*r, 0, k);
	if (*found)
		st = canon_fn(t->table, v, t->ncols, rsha, e);
	return st;
}

/* Whether the newest entry of t's record id hashed rsha (false when it has none). */
static enum status last_hashed(struct store_conn *c, const struct chained *t, const char *id,
			       const char *rsha, bool *same, struct err *e)
{
	static const char sql[] = "SELECT record_sha256 FROM audit_chain WHERE kind = $1 AND "
				  "record_id = $2 ORDER BY seq DESC LIMIT 1";
	const char *p[2] = {t->kind, id};
	struct store_rows *r = NULL;
	enum status st = store_query(c, sql, 2, p, &r, e);

	*same = st == ST_OK && store_rows_count(r) == 1 && str_eq(store_rows_get(r, 0, 0), rsha);
	store_rows_free(r);
	return st;
}

/*
 * Links the row of t with id as it stands now in c's write transaction, and moves the head;
 * with only_changed, not when the newest entry of its record hashed it already (*appended says
 * which; may be NULL without only_changed).
 */
static enum status append_row(struct store_conn *c, const struct chained *t, const char *id,
			      bool only_changed, bool *appended, struct err *e)
{
	const char *v[DECISION_NCOLS];
	char rsha[SHA256_HEX_LEN];
	struct store_rows *r = NULL;
	struct cursor cur;
	bool found = false, same = false;
	enum status st = row_hash(c, t, id, &r, v, rsha, &found, e);

	if (st == ST_OK && !found)
		st = err_set(e, ST_NOT_FOUND, "chain %s '%s': not found", t->kind, id);
	if (st == ST_OK && only_changed)
		st = last_hashed(c, t, id, rsha, &same, e);
	if (appended)
		*appended = st == ST_OK && !same;
	if (st != ST_OK || same) {
		store_rows_free(r);
		return st;
	}
	if (c->ops->kind == STORE_POSTGRES) {
		st = append_pg(c, t, id, rsha, e);
	} else {
		const struct chain_rec rec = {t->table, t->kind, id, v, t->ncols, rsha};

		st = head_lock(c, &cur, e);
		if (st == ST_OK)
			st = link_record(c, &cur, &rec, e);
		if (st == ST_OK)
			st = head_move(c, &cur, NULL, e);
	}
	store_rows_free(r);
	return st;
}

enum status store_chain_append_approval(struct store_conn *c, const char *approval_id,
					struct err *e)
{
	return append_row(c, &chained_tables[CHAINED_APPROVALS], approval_id, false, NULL, e);
}

/* The entry of table among the kinds chained at every write (not decisions); NULL if none. */
static const struct chained *rewritten(const char *table)
{
	for (size_t i = CHAINED_APPROVALS; i < ARRAY_SIZE(chained_tables); i++)
		if (str_eq(chained_tables[i].table, table))
			return &chained_tables[i];
	return NULL;
}

/* The entry of table among every chained kind, the decisions too (for reads); NULL if none. */
static const struct chained *chained_of(const char *table)
{
	for (size_t i = 0; i < ARRAY_SIZE(chained_tables); i++)
		if (str_eq(chained_tables[i].table, table))
			return &chained_tables[i];
	return NULL;
}

/* append_row for table, one of the kinds chained at every write (never the decisions). */
static enum status append_table(struct store_conn *c, const char *table, const char *id,
				bool only_changed, bool *appended, struct err *e)
{
	/* the decisions are chained by their batch (store_chain_append_decisions), never here */
	const struct chained *t = rewritten(table);

	if (t)
		return append_row(c, t, id, only_changed, appended, e);
	return err_set(e, ST_INTERNAL, "audit chain: table '%s' is not chained at every write",
		       table);
}

enum status store_chain_append_record(struct store_conn *c, const char *table, const char *id,
				      struct err *e)
{
	return append_table(c, table, id, false, NULL, e);
}

enum status store_chain_append_changed(struct store_conn *c, const char *table, const char *id,
				       bool *appended, struct err *e)
{
	*appended = false;
	return append_table(c, table, id, true, appended, e);
}

enum status store_chain_record_matches(struct store_conn *c, const char *table, const char *id,
				       bool *matches, struct err *e)
{
	const struct chained *t = rewritten(table);
	const char *v[DECISION_NCOLS];
	char rsha[SHA256_HEX_LEN];
	struct store_rows *r = NULL;
	bool found = false;
	enum status st = t ? row_hash(c, t, id, &r, v, rsha, &found, e)
			   : err_set(e, ST_INTERNAL, "audit chain: '%s' is not chained", table);

	*matches = false;
	if (st == ST_OK && found)
		st = last_hashed(c, t, id, rsha, matches, e);
	store_rows_free(r);
	return st;
}

/*
 * Whether the chain covers t's records with none waiting for an adoption: from 015 for the
 * approvals (adopt_pending clear), from its migration for a late group's.
 */
static enum status chain_covers(struct store_conn *c, const struct chained *t, bool *covers,
				struct err *e)
{
	struct chain_late late = {0};
	struct chain_head h = {0};
	bool has = false;
	enum status rc;

	*covers = false;
	if (t->late != STORE_NOT_LATE) {
		rc = store_chain_late(c, (enum store_chain_late)t->late, &late, e);
		*covers = rc == ST_OK && late.covered && !store_chain_late_waits(&late);
		return rc;
	}
	rc = store_table_exists(c, "audit_chain_head", &has, e);
	if (rc == ST_OK && has)
		rc = store_chain_head(c, &h, e);
	*covers = rc == ST_OK && has && !h.adopt_pending;
	return rc;
}

/*
 * chain_covers, remembered in st once true (an adoption is never undone); without st (a
 * write given only its connection) read each time.
 */
static enum status covered(struct store *st, struct store_conn *c, const struct chained *t,
			   bool *covers, struct err *e)
{
	atomic_bool *known = st ? &st->chain_covers[1 + t->late] : NULL;
	enum status rc = ST_OK;

	*covers = known && atomic_load(known);
	if (!*covers)
		rc = chain_covers(c, t, covers, e);
	if (rc == ST_OK && *covers && known)
		atomic_store(known, true);
	return rc;
}

/* Column name's place in t's columns, or SIZE_MAX. */
static size_t col_of(const struct chained *t, const char *name)
{
	const char *p = t->cols;
	size_t n = strlen(name);

	for (size_t k = 0; k < t->ncols; k++) {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return k;
		p = strchr(p, ',');
		if (!p)
			break;
		p += strspn(p, ", ");
	}
	return SIZE_MAX;
}

/*
 * The memory's key of a row of t with values v, whose newest entry has record_sha256 sha.  A
 * decision's row is never changed, so its values alone say it is the one vouched for before;
 * a changing record's row must be its newest entry's, not one cavra wrote earlier and the
 * database put back (an approval pending again), so the key holds that entry's hash too.
 */
static void memo_key(const struct chained *t, const char *const *v, const char *sha,
		     unsigned char key[STORE_VOUCH_MEMO_KEY])
{
	bool decision = t == &chained_tables[CHAINED_DECISIONS];

	store_vouch_memo_key(t->table, v, t->ncols, decision ? NULL : sha, key);
}

/* Row i of r's first t->ncols values into v. */
static void row_values(const struct chained *t, const struct store_rows *r, size_t i,
		       const char *v[DECISION_NCOLS])
{
	for (size_t k = 0; k < t->ncols && k < DECISION_NCOLS; k++)
		v[k] = store_rows_get(r, i, k);
}

/*
 * A row's values v against sha, the record_sha256 of its newest entry, key their memo_key:
 * a row the memory knows, else its canonical form's hash compared, and a match remembered.
 */
static enum status vouch_values(const struct chained *t, const char *const *v, const char *sha,
				const unsigned char key[STORE_VOUCH_MEMO_KEY], bool *vouched,
				struct err *e)
{
	char rsha[SHA256_HEX_LEN];
	enum status st;

	*vouched = store_vouch_memo_has(key);
	if (*vouched)
		return ST_OK;
	st = canon_fn ? canon_fn(t->table, v, t->ncols, rsha, e)
		      : err_set(e, ST_INTERNAL, "audit chain: no canonical form installed");
	*vouched = st == ST_OK && str_eq(sha, rsha);
	if (*vouched)
		store_vouch_memo_put(key);
	return st;
}

/*
 * Row j of r (t's columns, the record_sha256 of its newest entry, then t->lacks_ok) against
 * that entry: *vouched whether it hashed the row, or the row has none and may go without.
 */
static enum status vouch_one(const struct chained *t, struct store_rows *r, size_t j, bool *vouched,
			     struct err *e)
{
	const char *v[DECISION_NCOLS], *sha = store_rows_get(r, j, t->ncols);
	unsigned char key[STORE_VOUCH_MEMO_KEY];

	if (!sha) {
		*vouched = str_eq(store_rows_get(r, j, t->ncols + 1), "1");
		return ST_OK;
	}
	row_values(t, r, j, v);
	memo_key(t, v, sha, key);
	return vouch_values(t, v, sha, key, vouched, e);
}

/*
 * The row of id and, with check, the record_sha256 of its newest entry, in one statement
 * (t->vouch): *vouched whether that entry hashed the row (true without a row, the caller's not
 * found, or without check), and column col's value unless col is SIZE_MAX (NULL without a row).
 */
static enum status vouch_row(struct store_conn *c, const struct chained *t, const char *id,
			     bool check, size_t col, char **value, bool *vouched, struct err *e)
{
	struct store_rows *r = NULL;
	enum status st = store_query(c, check ? t->vouch : t->select, 1, &id, &r, e);
	bool found = st == ST_OK && store_rows_count(r) == 1;

	*vouched = true;
	if (found && check)
		st = vouch_one(t, r, 0, vouched, e);
	if (found && col != SIZE_MAX && store_rows_get(r, 0, col))
		*value = xstrdup(store_rows_get(r, 0, col));
	store_rows_free(r);
	return st;
}

/* store_record_vouched_get on c (st NULL: covered's flag not remembered). */
static enum status vouched_get(struct store *st, struct store_conn *c, const char *table,
			       const char *id, const char *col, char **value, bool *vouched,
			       struct err *e)
{
	const struct chained *t = chained_of(table);
	size_t k = t && col ? col_of(t, col) : SIZE_MAX;
	bool covers = false;
	enum status rc;

	*vouched = true;
	if (value)
		*value = NULL;
	if (!t || (col && k == SIZE_MAX))
		return err_set(e, ST_INTERNAL, "audit chain: '%s' is not chained, or has no %s",
			       table, col ? col : "such column");
	rc = covered(st, c, t, &covers, e);
	if (rc == ST_OK && (covers || col))
		rc = vouch_row(c, t, id, covers, k, value, vouched, e);
	return rc;
}

enum status store_record_vouched_in(struct store *st, struct store_conn *c, const char *table,
				    const char *id, bool *vouched, struct err *e)
{
	return vouched_get(st, c, table, id, NULL, NULL, vouched, e);
}

enum status store_record_vouched_get(struct store *st, const char *table, const char *id,
				     const char *col, char **value, bool *vouched, struct err *e)
{
	struct store_conn *c = NULL;
	enum status rc = store_conn_get(st, &c, e);

	*vouched = true;
	if (value)
		*value = NULL;
	if (rc == ST_OK)
		rc = vouched_get(st, c, table, id, col, value, vouched, e);
	store_conn_put(st, c);
	return rc;
}

enum status store_record_vouched(struct store *st, const char *table, const char *id, bool *vouched,
				 struct err *e)
{
	return store_record_vouched_get(st, table, id, NULL, NULL, vouched, e);
}

enum status store_chain_refuse(const char *what, const char *id, const char *also, struct err *e)
{
	log_warn("%s '%s'%s is not what the audit chain last recorded for it: refused", what, id,
		 also);
	return err_set(e, ST_CONFLICT, "%s '%s'%s " STORE_CHAIN_UNVOUCHED, what, id, also);
}

enum status store_chain_write_check(struct store_conn *c, const char *table, const char *id,
				    const char *what, struct err *e)
{
	bool vouched = true;
	enum status rc = vouched_get(NULL, c, table, id, NULL, NULL, &vouched, e);

	return rc != ST_OK || vouched ? rc : store_chain_refuse(what, id, "", e);
}

enum status store_session_owner_vouched(struct store *st, struct store_conn *c, const char *id,
					const char *first_decision, bool *vouched, struct err *e)
{
	const struct chained *d = &chained_tables[CHAINED_DECISIONS];
	bool covers = false;
	enum status rc = vouched_get(st, c, "activity_sessions", id, NULL, NULL, vouched, e);

	if (rc == ST_OK && *vouched && first_decision)
		rc = covered(st, c, d, &covers, e);
	if (rc == ST_OK && covers)
		rc = vouch_row(c, d, first_decision, true, SIZE_MAX, NULL, vouched, e);
	return rc;
}

/* "$1, $2, ..., $n)": the parameters of an IN list, and its end. */
static void in_params(struct buf *q, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_xaddf(q, "%s$%zu", i ? ", " : "", i + 1);
	buf_xadds(q, ")");
}

/* The statement of vouch_many for n ids: t->vouch's, for each row whose id is among them. */
static char *vouch_many_sql(const struct chained *t, size_t n)
{
	struct buf q = BUF_INIT;

	buf_xaddf(&q,
		  "SELECT %s, (SELECT a.record_sha256 FROM audit_chain a WHERE a.kind = '%s' AND "
		  "a.record_id = %s.%s ORDER BY a.seq DESC LIMIT 1), %s FROM %s WHERE %s IN (",
		  t->cols, t->kind, t->table, t->id_col, t->lacks_ok, t->table, t->id_col);
	in_params(&q, n);
	return buf_detach(&q, NULL);
}

/* vouched[i] for each of n ids, in one statement on c (a row not there stays true). */
static enum status vouch_many(struct store_conn *c, const struct chained *t, const char *const *ids,
			      size_t n, bool *vouched, struct err *e)
{
	char *sql = vouch_many_sql(t, n);
	size_t id_col = col_of(t, t->id_col);
	struct store_rows *r = NULL;
	enum status st =
		id_col == SIZE_MAX || n > INT_MAX
			? err_set(e, ST_INTERNAL, "audit chain: no id column in '%s'", t->table)
			: store_query(c, sql, (int)n, ids, &r, e);

	for (size_t j = 0; st == ST_OK && j < store_rows_count(r); j++) {
		const char *id = store_rows_get(r, j, id_col);
		bool ok = true;

		st = vouch_one(t, r, j, &ok, e);
		for (size_t i = 0; st == ST_OK && id && i < n; i++)
			if (str_eq(ids[i], id))
				vouched[i] = ok;
	}
	store_rows_free(r);
	free(sql);
	return st;
}

enum status store_records_vouched(struct store *st, const char *table, const char *const *ids,
				  size_t n, bool *vouched, struct err *e)
{
	const struct chained *t = chained_of(table);
	struct store_conn *c = NULL;
	bool covers = false;
	enum status rc =
		t ? ST_OK : err_set(e, ST_INTERNAL, "audit chain: '%s' is not chained", table);

	for (size_t i = 0; i < n; i++)
		vouched[i] = true;
	if (rc != ST_OK || n == 0)
		return rc;
	rc = store_conn_get(st, &c, e);
	if (rc == ST_OK)
		rc = covered(st, c, t, &covers, e);
	if (rc == ST_OK && covers)
		rc = vouch_many(c, t, ids, n, vouched, e);
	store_conn_put(st, c);
	return rc;
}

/* The entries of the decisions of ids[0..m): record_id, seq, record_sha256, in one statement. */
static enum status decision_entries(struct store_conn *c, const char *const *ids, size_t m,
				    struct store_rows **out, struct err *e)
{
	struct buf q = BUF_INIT;
	enum status st;

	buf_xadds(&q, "SELECT record_id, seq, record_sha256 FROM audit_chain WHERE kind = "
		      "'decision' AND record_id IN (");
	in_params(&q, m);
	st = m > INT_MAX ? err_set(e, ST_INTERNAL, "audit chain: %zu ids in one statement", m)
			 : store_query(c, q.data, (int)m, ids, out, e);
	buf_release(&q);
	return st;
}

/* The record_sha256 of the newest of id's entries in en (NULL: none). */
static const char *newest_of(const struct store_rows *en, const char *id)
{
	const char *sha = NULL;
	int64_t best = -1, seq;

	for (size_t k = 0; k < store_rows_count(en); k++)
		if (str_eq(store_rows_get(en, k, 0), id) &&
		    str_to_i64(store_rows_get(en, k, 1), 0, INT64_MAX, &seq) && seq > best) {
			best = seq;
			sha = store_rows_get(en, k, 2);
		}
	return sha;
}

/*
 * vouched[i] for the rows of r the memory did not know (miss[0..m)), as read in the list,
 * keys[i] their memo_key.  A decision without an entry is not vouched for: every decision has
 * one once the chain covers them.
 */
static enum status vouch_misses(struct store_conn *c, const struct store_rows *r, size_t n,
				const char *const *miss, size_t m,
				unsigned char (*keys)[STORE_VOUCH_MEMO_KEY], bool *vouched,
				struct err *e)
{
	const struct chained *t = &chained_tables[CHAINED_DECISIONS];
	struct store_rows *en = NULL;
	enum status st = decision_entries(c, miss, m, &en, e);

	for (size_t i = 0; st == ST_OK && i < n; i++) {
		const char *v[DECISION_NCOLS], *sha;

		if (vouched[i])
			continue;
		row_values(t, r, i, v);
		sha = newest_of(en, v[0]);
		if (sha)
			st = vouch_values(t, v, sha, keys[i], &vouched[i], e);
	}
	store_rows_free(en);
	return st;
}

enum status store_decisions_vouched(struct store *st, const struct store_rows *r, size_t n,
				    bool *vouched, struct err *e)
{
	const struct chained *t = &chained_tables[CHAINED_DECISIONS];
	unsigned char(*keys)[STORE_VOUCH_MEMO_KEY] = xcalloc(n + 1, sizeof(*keys));
	const char **miss = xcalloc(n + 1, sizeof(*miss));
	struct store_conn *c = NULL;
	bool covers = false;
	size_t m = 0;
	enum status rc = ST_OK;

	for (size_t i = 0; i < n; i++) {
		const char *v[DECISION_NCOLS];

		row_values(t, r, i, v);
		memo_key(t, v, NULL, keys[i]);
		vouched[i] = store_vouch_memo_has(keys[i]);
		if (!vouched[i])
			miss[m++] = v[0];
	}
	if (m)
		rc = store_conn_get(st, &c, e);
	if (m && rc == ST_OK)
		rc = covered(st, c, t, &covers, e);
	for (size_t i = 0; m && rc == ST_OK && !covers && i < n; i++)
		vouched[i] = true; /* the chain cannot tell yet: an adoption is pending */
	if (m && rc == ST_OK && covers)
		rc = vouch_misses(c, r, n, miss, m, keys, vouched, e);
	store_conn_put(st, c);
	free(miss);
	free(keys);
	return rc;
}

/* One approval write and its entry: exactly one of put and cas is set. */
struct approval_tx {
	struct store *st;
	const struct rec_table *t;
	const struct rec_write *put;
	const struct rec_cas *cas;
	enum rec_outcome *out;
	bool *won;
	const struct approval_guard *guard; /* put only: insert unless one is open; may be NULL */
};

/*
 * The guard's check, under the chain head's lock (every chained write takes it first, so two
 * creations for one decision run one after the other, and the second sees the first's row).
 */
static enum status open_approval(struct store_conn *c, const struct approval_guard *g,
				 struct err *e)
{
	static const char sql[] = "SELECT approval_id FROM approvals WHERE decision_id = $1 AND "
				  "state = 'pending' AND expires_at > $2 ORDER BY created_at, "
				  "approval_id LIMIT 1";
	const char *p[2] = {g->decision_id, g->now};
	struct store_rows *r = NULL;
	struct cursor cur;
	enum status st = head_lock(c, &cur, e);

	if (st == ST_OK)
		st = store_query(c, sql, 2, p, &r, e);
	if (st == ST_OK && store_rows_count(r) == 1)
		*g->open_id = xstrdup(store_rows_get(r, 0, 0));
	store_rows_free(r);
	return st;
}

/*
 * A change only of an approval as its newest entry hashed it: one edited in the database (its
 * group, its decision, or a state put back to pending) would otherwise be changed and chained
 * again, and its new entry would vouch for what the edit put there.
 */
static enum status vouched_cas(struct approval_tx *a, struct store_conn *c, struct err *e)
{
	bool vouched = true;
	enum status st = store_record_vouched_in(a->st, c, a->t->name, a->cas->id, &vouched, e);

	if (st == ST_OK && !vouched)
		return err_set(e, ST_CONFLICT,
			       "approval '%s' " STORE_CHAIN_UNVOUCHED "; nothing was written",
			       a->cas->id);
	return st == ST_OK ? store_rec_cas_conn(c, a->t, a->cas, a->won, e) : st;
}

static enum status approval_tx(struct store_conn *c, void *ctx, struct err *e)
{
	struct approval_tx *a = ctx;
	enum status st;
	bool chain;

	if (a->guard) {
		*a->guard->open_id = NULL;
		st = open_approval(c, a->guard, e);
		if (st != ST_OK || *a->guard->open_id) {
			*a->out = REC_UNCHANGED;
			return st;
		}
	}
	if (a->put) {
		st = store_rec_put(c, a->t, a->put, a->out, e);
		chain = st == ST_OK && *a->out != REC_UNCHANGED;
	} else {
		st = vouched_cas(a, c, e);
		chain = st == ST_OK && *a->won;
	}
	if (chain)
		st = store_chain_append_approval(c, a->put ? a->put->id : a->cas->id, e);
	return st;
}

enum status store_chain_approval_put(struct store *st, const struct rec_table *t,
				     const struct rec_write *w, enum rec_outcome *out,
				     struct err *e)
{
	struct approval_tx a = {st, t, w, NULL, out, NULL, NULL};

	return store_run_write(st, approval_tx, &a, e);
}

enum status store_chain_approval_create(struct store *st, const struct rec_table *t,
					const struct rec_write *w, const struct approval_guard *g,
					enum rec_outcome *out, struct err *e)
{
	struct approval_tx a = {st, t, w, NULL, out, NULL, g};
	enum status rc = store_run_write(st, approval_tx, &a, e);

	if (rc != ST_OK) {
		free(*g->open_id);
		*g->open_id = NULL;
	}
	return rc;
}

enum status store_chain_approval_cas(struct store *st, const struct rec_table *t,
				     const struct rec_cas *w, bool *won, struct err *e)
{
	struct approval_tx a = {st, t, NULL, w, NULL, won, NULL};

	*won = false;
	return store_run_write(st, approval_tx, &a, e);
}

enum status store_chain_head(struct store_conn *c, struct chain_head *out, struct err *e)
{
	static const char sql[] =
		"SELECT seq, hash, updated_at, adopt_pending FROM audit_chain_head WHERE id = 1";
	struct store_rows *r = NULL;
	enum status st = store_query(c, sql, 0, NULL, &r, e);
	const char *seq = st == ST_OK && store_rows_count(r) == 1 ? store_rows_get(r, 0, 0) : NULL;
	const char *hash = seq ? store_rows_get(r, 0, 1) : NULL;
	char *at = seq ? store_time_dup(store_rows_get(r, 0, 2)) : NULL;
	const char *pending = seq ? store_rows_get(r, 0, 3) : NULL;

	memset(out, 0, sizeof(*out));
	if (st == ST_OK && (!hash || strlen(hash) != SHA256_HEX_LEN - 1 || !at ||
			    strlen(at) >= sizeof(out->updated_at) || !pending ||
			    !str_to_i64(seq, 0, INT64_MAX, &out->seq)))
		st = err_set(e, ST_INTERNAL, "audit_chain_head: no valid head row");
	if (st == ST_OK) {
		memcpy(out->hash, hash, SHA256_HEX_LEN);
		memcpy(out->updated_at, at, strlen(at) + 1);
		out->adopt_pending = strcmp(pending, "0") != 0;
	}
	free(at);
	store_rows_free(r);
	return st;
}

enum status store_chain_head_get(struct store *st, struct chain_head *out, struct err *e)
{
	struct store_conn *c = NULL;
	enum status rc = store_conn_get(st, &c, e);

	if (rc == ST_OK)
		rc = store_chain_head(c, out, e);
	if (c)
		store_conn_put(st, c);
	return rc;
}

static enum status late_read(struct store_conn *c, const struct late_group *g,
			     struct chain_late *out, struct err *e)
{
	char sql[512];
	struct store_rows *r = NULL;
	enum status st = store_column_exists(c, "audit_chain_head", g->flag, &out->covered, e);

	out->pending = out->entries = false;
	if (st != ST_OK || !out->covered)
		return st;
	snprintf(sql, sizeof(sql),
		 "SELECT h.%s, CASE WHEN EXISTS (SELECT 1 FROM audit_chain a WHERE a.kind IN (%s)) "
		 "THEN 1 ELSE 0 END FROM audit_chain_head h WHERE h.id = 1",
		 g->flag, g->kinds);
	st = store_query(c, sql, 0, NULL, &r, e);
	if (st == ST_OK && store_rows_count(r) != 1)
		st = err_set(e, ST_INTERNAL, "audit_chain_head: no valid head row");
	if (st == ST_OK) {
		out->pending = !str_eq(store_rows_get(r, 0, 0), "0");
		out->entries = !str_eq(store_rows_get(r, 0, 1), "0");
	}
	store_rows_free(r);
	return st;
}

enum status store_chain_late(struct store_conn *c, enum store_chain_late g, struct chain_late *out,
			     struct err *e)
{
	return late_read(c, &late_groups[g], out, e);
}

enum status store_chain_lates(struct store_conn *c, struct chain_late out[STORE_LATE_N],
			      struct err *e)
{
	enum status st = ST_OK;

	for (size_t g = 0; st == ST_OK && g < STORE_LATE_N; g++)
		st = late_read(c, &late_groups[g], &out[g], e);
	return st;
}

/* " OR EXISTS (SELECT 1 FROM t)" for each table of group g, appended to b. */
static void late_tables_exist(struct buf *b, int g)
{
	for (size_t i = 0; i < ARRAY_SIZE(chained_tables); i++)
		if (chained_tables[i].late == g)
			buf_xaddf(b, " OR EXISTS (SELECT 1 FROM %s)", chained_tables[i].table);
}

/*
 * " OR EXISTS (SELECT 1 FROM t)" for each chained table, appended to b: every one when late is
 * NULL, else those chained from 015 and those of the late groups the database is at.
 */
static void tables_exist(struct buf *b, const struct chain_late *late)
{
	for (size_t i = 0; i < ARRAY_SIZE(chained_tables); i++) {
		int g = chained_tables[i].late;

		if (!late || g == STORE_NOT_LATE || late[g].covered)
			buf_xaddf(b, " OR EXISTS (SELECT 1 FROM %s)", chained_tables[i].table);
	}
}

enum status store_chain_ask_adoption(struct store_conn *c, struct err *e)
{
	struct buf b = BUF_INIT;
	enum status st;

	buf_xadds(&b, "UPDATE audit_chain_head SET adopt_pending = 1 WHERE seq = 0 AND (0 = 1");
	tables_exist(&b, NULL);
	buf_xadds(&b, ")");
	st = store_exec(c, b.data, 0, NULL, NULL, e);
	buf_release(&b);
	return st;
}

enum status store_chain_late_restart(struct store_conn *c, int from_version, struct err *e)
{
	enum status st = ST_OK;

	for (int g = 0; st == ST_OK && g < STORE_LATE_N; g++) {
		struct buf b = BUF_INIT;
		bool covered = false;

		if (late_groups[g].since <= from_version)
			continue;
		st = store_column_exists(c, "audit_chain_head", late_groups[g].flag, &covered, e);
		if (st != ST_OK || !covered)
			continue;
		buf_xaddf(&b,
			  "UPDATE audit_chain_head SET %s = CASE WHEN adopt_pending = 0 AND (0 = 1",
			  late_groups[g].flag);
		late_tables_exist(&b, g);
		buf_xadds(&b, ") THEN 1 ELSE 0 END WHERE id = 1");
		st = store_exec(c, b.data, 0, NULL, NULL, e);
		buf_release(&b);
	}
	return st;
}

enum status store_chain_count(struct store_conn *c, int64_t *out, struct err *e)
{
	return store_query_count(c, "SELECT count(*) FROM audit_chain", 0, NULL, "audit_chain", out,
				 e);
}

/*
 * Computes the links of r's rows (columns in catalogue order, the id first) after cur into l
 * and their audit_chain rows into p, as decision_links does for a batch.
 */
static enum status row_links(struct cursor *cur, struct store_conn *sc, const struct chained *t,
			     const struct store_rows *r, struct link_text *l, const char **p,
			     char prev0[SHA256_HEX_LEN], struct err *e)
{
	_Static_assert(STORE_APPROVAL_NCOLS <= DECISION_NCOLS, "v holds the widest chained row");
	memcpy(prev0, cur->hash, SHA256_HEX_LEN);
	for (size_t i = 0; i < store_rows_count(r); i++, p += LINK_NPARAMS) {
		const char *v[DECISION_NCOLS] = {0};
		struct chain_rec rec;
		enum status st;

		for (size_t k = 0; k < t->ncols; k++)
			v[k] = store_rows_get(r, i, k);
		if (!v[0]) /* the id column is NOT NULL: only a damaged catalogue gets here */
			return err_set(e, ST_INTERNAL, "%s: a row without an id", t->table);
		rec = (struct chain_rec){t->table, t->kind, v[0], v, t->ncols};
		st = link_one(cur, sc, &rec, &l[i], i ? l[i - 1].hash : prev0, p, e);
		if (st != ST_OK)
			return st;
	}
	return ST_OK;
}

/*
 * Links every row of r after cur: the hashes one after another, then the rows of
 * audit_chain together (on PostgreSQL a few statements per page, not one per row).
 */
static enum status link_rows(struct store_conn *c, struct cursor *cur, const struct chained *t,
			     const struct store_rows *r, struct err *e)
{
	size_t n = store_rows_count(r);
	struct link_text *l = xcalloc(n, sizeof(*l));
	const char **p = xcalloc(n * LINK_NPARAMS, sizeof(*p));
	char prev0[SHA256_HEX_LEN];
	bool sealed = false;
	enum status st =
		canon_fn ? sealing(c, &sealed, e)
			 : err_set(e, ST_INTERNAL, "audit chain: no canonical form installed");

	if (st == ST_OK)
		st = row_links(cur, sealed ? c : NULL, t, r, l, p, prev0, e);
	for (size_t i = 0; st == ST_OK && i < n; i += ADOPT_INSERT)
		st = insert_links(c, sealed, n - i < ADOPT_INSERT ? n - i : ADOPT_INSERT,
				  p + i * LINK_NPARAMS, e);
	free(p);
	free(l);
	return st;
}

/*
 * The two queries of chain_unchained for t: the first page and the next after $1, $2.  The
 * next page's bound on the order column alone (>= $1) is what lets an index scan start at
 * the page instead of filtering every row before it (a quadratic adoption).
 */
static void unchained_sql(const struct chained *t, char *first, char *next, size_t size)
{
	char base[2048];

	snprintf(base, sizeof(base),
		 "SELECT %s FROM %s d WHERE NOT EXISTS (SELECT 1 FROM audit_chain a WHERE "
		 "a.kind = '%s' AND a.record_id = d.%s)",
		 t->cols, t->table, t->kind, t->id_col);
	snprintf(first, size, "%s ORDER BY %s, %s LIMIT " ADOPT_PAGE, base, t->order_col,
		 t->id_col);
	snprintf(next, size,
		 "%s AND %s >= $1 AND (%s > $1 OR %s > $2) ORDER BY %s, %s LIMIT " ADOPT_PAGE, base,
		 t->order_col, t->order_col, t->id_col, t->order_col, t->id_col);
}

/*
 * Chains the rows of t that have no entry yet, oldest first, a page at a time: a keyset on
 * (order column, id) so each page starts where the last ended rather than skipping the rows
 * already chained.
 */
static enum status chain_unchained(struct store_conn *c, const struct chained *t,
				   struct cursor *cur, int64_t *chained, struct progress *progress,
				   struct err *e)
{
	char sql_first[3072], sql_next[3072], *last_at = NULL, *last_id = NULL;
	enum status st = ST_OK;
	size_t n = 1;

	unchained_sql(t, sql_first, sql_next, sizeof(sql_first));
	while (st == ST_OK && n > 0) {
		struct store_rows *r = NULL;
		const char *p[2] = {last_at, last_id};

		st = interrupt_check(e); /* the adoption is one transaction: rolled back whole */
		if (st == ST_OK)
			st = store_query(c, last_id ? sql_next : sql_first, last_id ? 2 : 0, p, &r,
					 e);
		n = st == ST_OK ? store_rows_count(r) : 0;
		if (n > 0)
			st = link_rows(c, cur, t, r, e);
		if (st == ST_OK && n > 0) {
			free(last_at);
			free(last_id);
			last_at = store_dup(store_rows_get(r, n - 1, t->order_idx));
			last_id = store_dup(store_rows_get(r, n - 1, 0));
			*chained += (int64_t)n;
			progress_add(progress, (int64_t)n);
		}
		store_rows_free(r);
	}
	free(last_at);
	free(last_id);
	return st;
}

struct adopt {
	bool always; /* an import's: chain what has no entry whatever the flag says */
	const char *const *only; /* an import's: the tables it wrote, NULL-terminated */
	int64_t chained;
	struct progress *progress;
};

/*
 * The page query's plan, held for the adoption's transaction on PostgreSQL. audit_chain grows
 * inside that transaction, where neither ANALYZE nor autovacuum sees it. With the statistics
 * of an empty chain (a VACUUM (ANALYZE) before the adoption) the planner materializes every
 * 'decision' entry once per page and filters each row against them: 1.4 s a page at 49,000
 * entries, and more with each page. With a never-analyzed chain it starts parallel workers
 * for every page once the chain holds millions (0.2 s a page against 3 ms). An index probe
 * per row is always the right plan for a page of 1,000 rows.
 */
static enum status adopt_plan(struct store_conn *c, struct err *e)
{
	static const char *const set[] = {
		"SET LOCAL max_parallel_workers_per_gather = 0", "SET LOCAL enable_hashjoin = off",
		"SET LOCAL enable_mergejoin = off", "SET LOCAL enable_material = off",
		"SET LOCAL enable_seqscan = off"};
	enum status st = ST_OK;

	for (size_t i = 0; c->ops->kind == STORE_POSTGRES && st == ST_OK && i < ARRAY_SIZE(set);
	     i++)
		st = store_exec(c, set[i], 0, NULL, NULL, e);
	return st;
}

/*
 * Back to the genesis with adoption pending for what the tables hold: from 021 the evidence
 * counts too, from 022 the registry, inventory and integrations, from 023 the sessions, and
 * adopt_pending then covers
 * them (their groups' flags cleared).
 */
enum status store_chain_restart(struct store_conn *c, struct err *e)
{
	const char *p[1] = {store_chain_genesis};
	struct chain_late late[STORE_LATE_N];
	struct buf b = BUF_INIT;
	enum status st = store_chain_lates(c, late, e);

	buf_xadds(&b, "UPDATE audit_chain_head SET seq = 0, hash = $1, updated_at = "
		      "'1970-01-01T00:00:00.000000Z', adopt_pending = CASE WHEN (0 = 1");
	tables_exist(&b, late);
	buf_xadds(&b, ") THEN 1 ELSE 0 END");
	for (int g = 0; g < STORE_LATE_N; g++)
		if (late[g].covered)
			buf_xaddf(&b, ", %s = 0", late_groups[g].flag);
	buf_xadds(&b, " WHERE id = 1");
	if (st == ST_OK)
		st = store_exec(c, "DELETE FROM audit_chain", 0, NULL, NULL, e);
	if (st == ST_OK)
		st = store_exec(c, b.data, 1, p, NULL, e);
	buf_release(&b);
	return st;
}

/* What an adoption chains: everything (all), or only the late groups that wait. */
struct scope {
	bool run, all, group[STORE_LATE_N];
};

/*
 * What an adoption must do, or ST_CONFLICT for a flag that only someone with SQL access can
 * have set: adopt_pending on a chain with entries, a late group's flag on a chain that holds
 * entries of its kinds.
 */
static enum status adopt_scope(const struct adopt *a, const struct chain_head *h,
			       const struct chain_late *late, struct scope *sc, struct err *e)
{
	memset(sc, 0, sizeof(*sc));
	sc->all = a->always || h->adopt_pending;
	sc->run = sc->all;
	if (!a->always && h->adopt_pending && h->seq > 0)
		return err_set(
			e, ST_CONFLICT,
			"audit chain: adopt_pending is set, but the chain already holds %lld "
			"entries; cavra sets it only on an empty chain, so it was set behind "
			"cavra's back: nothing adopted ('cavra audit verify' lists what has no "
			"entry)",
			(long long)h->seq);
	for (int g = 0; !sc->all && g < STORE_LATE_N; g++) {
		if (late[g].covered && late[g].pending && late[g].entries)
			return err_set(
				e, ST_CONFLICT,
				"audit chain: %s is set, but the chain already holds entries "
				"of its %s; cavra sets it only where none is chained yet, so "
				"it was set behind cavra's back: nothing adopted ('cavra audit "
				"verify' lists what has no entry)",
				late_groups[g].flag, late_groups[g].what);
		sc->group[g] = store_chain_late_waits(&late[g]);
		sc->run = sc->run || sc->group[g];
	}
	return ST_OK;
}

static bool listed(const char *const *tables, const char *table)
{
	for (; *tables; tables++)
		if (str_eq(*tables, table))
			return true;
	return false;
}

/*
 * The tables an import chains: those it wrote, unless records wait for an adoption, which it
 * then does whole (else the flags it clears would leave them unchained for good).
 */
static const char *const *import_only(const struct adopt *a, const struct chain_head *h,
				      const struct chain_late *late)
{
	for (int g = 0; g < STORE_LATE_N; g++)
		if (store_chain_late_waits(&late[g]))
			return NULL;
	return h->adopt_pending ? NULL : a->only;
}

/* Whether the adoption chains t's rows; only: NULL, or the tables it is limited to. */
static bool adopts(const char *const *only, const struct chained *t, const struct chain_late *late,
		   const struct scope *sc)
{
	if (only && !listed(only, t->table))
		return false;
	if (t->late == STORE_NOT_LATE)
		return sc->all;
	return late[t->late].covered && (sc->all || sc->group[t->late]);
}

/* Every covered group's flag back to 0 once its records are chained. */
static enum status late_clear(struct store_conn *c, const struct chain_late *late, struct err *e)
{
	enum status st = ST_OK;

	for (int g = 0; st == ST_OK && g < STORE_LATE_N; g++) {
		char sql[128];

		if (!late[g].covered)
			continue;
		snprintf(sql, sizeof(sql), "UPDATE audit_chain_head SET %s = 0 WHERE id = 1",
			 late_groups[g].flag);
		st = store_exec(c, sql, 0, NULL, NULL, e);
	}
	return st;
}

static enum status adopt_tx(struct store_conn *c, void *ctx, struct err *e)
{
	struct adopt *a = ctx;
	struct chain_head h;
	struct chain_late late[STORE_LATE_N];
	struct scope sc;
	struct cursor cur;
	const char *const *only = NULL;
	enum status st = head_lock(c, &cur, e);

	if (st == ST_OK)
		st = store_chain_head(c, &h, e);
	if (st == ST_OK)
		st = store_chain_lates(c, late, e);
	if (st == ST_OK)
		st = adopt_scope(a, &h, late, &sc, e);
	if (st != ST_OK || !sc.run)
		return st;
	st = adopt_plan(c, e);
	if (st != ST_OK)
		return st;
	only = import_only(a, &h, late);
	/* decisions, approvals, then the late groups': each table oldest first, one entry a row */
	progress_phase(a->progress, "audit chain", -1);
	for (size_t i = 0; i < ARRAY_SIZE(chained_tables) && st == ST_OK; i++) {
		if (!adopts(only, &chained_tables[i], late, &sc))
			continue;
		progress_item(a->progress, chained_tables[i].table);
		st = chain_unchained(c, &chained_tables[i], &cur, &a->chained, a->progress, e);
	}
	if (st == ST_OK)
		st = head_move(c, &cur, "0", e);
	if (st == ST_OK)
		st = late_clear(c, late, e);
	return st;
}

enum status store_chain_import_tx(struct store_conn *c, const char *const *tables,
				  struct progress *progress, int64_t *chained, struct err *e)
{
	struct adopt a = {true, tables, 0, progress};
	enum status rc = adopt_tx(c, &a, e);

	*chained = a.chained;
	return rc;
}

enum status store_chain_adopt(struct store *st, struct progress *progress, int64_t *chained,
			      struct err *e)
{
	struct adopt a = {false, NULL, 0, progress};
	enum status rc = store_run_write(st, adopt_tx, &a, e);

	*chained = a.chained;
	return rc;
}
