/*
 * ops_vchain.c - `cavra ops verify`'s check of the audit chain a backup carries, from its
 * lines alone: no database.  The decision lines are hashed as they are read (ops_dechash.c);
 * the chain's lines, read after them, must each recompute to their hash, link to the line
 * before, and name a decision line whose hash is the entry's record_sha256; the last must be
 * the manifest's audit_head.  A chain file in seq order (format v4) is walked line by line and
 * each break is named; one in hash order (v2, v3) is proved whole by the keyed sums of
 * ops_chainsum.c, or found broken without a name.  The records written more than once are
 * matched by their newest entry (ops_vrecs.c, ops_vform.c).  With a signed checkpoint's entry,
 * the chain must hold it; with seal keys, each entry's seal is checked.  The head line's
 * flags that ask for an adoption must not stand beside entries that adoption would not make
 * (as `cavra audit verify` checks a database).  Lines that no entry names are counted, not
 * reported: a restore tolerates them too (rows written behind cavra's back).  Breaks are kept
 * until every file the check reads verified on its own.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/hash.h"
#include "base/num.h"
#include "base/xalloc.h"
#include "store/store_chain.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIND_MAX      16
#define FLAG_ADOPT    0 /* bit of adopt_pending, and of any entry; 1 + g: late group g's */
#define FLAG_N	      (1 + STORE_LATE_N)
#define REC_FILES_MAX 16 /* the tables of ops_vrecs_kind, with room */

static const char *const chain_names[OPS_CHAIN_LINE_COLS] = {
	"seq", "kind", "record_id", "record_sha256", "prev_hash", "hash"};

/* A table of records chained at every write, and the columns its check reads. */
struct rec_file {
	const struct ops_manifest_file *f; /* borrowed */
	const char *kind;
	size_t id_col;
	struct ops_entry_form form; /* what its entries hash of a line */
};

struct ops_vchain {
	const struct ops_manifest *m; /* borrowed */
	const struct ops_manifest_file *dec, *chain; /* borrowed */
	struct ops_report *rep; /* borrowed: the breaks go there once every file read verified */
	struct ops_report found; /* the breaks, until then */
	struct ops_verify_chain *out; /* borrowed */
	struct ops_decision_hashes *known;
	struct ops_chain_lines *proof; /* a chain file in hash order: proved whole */
	size_t id_col, cols[OPS_CHAIN_LINE_COLS];
	struct buf val[OPS_CHAIN_LINE_COLS];
	struct buf link, prev_id; /* an entry's link bytes; the entry before's record id */
	struct rec_file rec_files[REC_FILES_MAX];
	size_t nrec_files;
	struct ops_vrecs *recs;
	struct buf form; /* a record line's entry form; a seal's text */
	bool recs_failed; /* a digest failed: the records cannot be checked */
	bool dec_read; /* the decisions' file read to its end without a problem of its own */
	struct store_chain_seals *seals; /* with seal keys and a seal column: each seal checked */
	size_t seal_col;
	int64_t min_sealed, max_unsealed; /* seqs, for a file in hash order */
	int64_t cp_seq; /* a checkpoint's entry: seq and hash; 0: none */
	char cp_hash[SHA256_HEX_LEN];
	bool cp_seen, cp_differs; /* a line had cp_seq; with another hash */
	bool unproved; /* a chain file in hash order that its sums did not prove */
	const struct ops_manifest_file *head; /* borrowed; NULL: none */
	size_t flag_cols[FLAG_N]; /* SIZE_MAX: a flag from a later migration */
	unsigned flags_set, kinds_seen; /* FLAG_ bits: the head line's; the entries' */
	bool head_clean; /* the head's file read to its end without a problem of its own */
	size_t want, clean; /* files the check reads, and those read so */
	int64_t prev_seq, problems;
	char prev_hash[SHA256_HEX_LEN], prev_kind[KIND_MAX];
};

/* The record tables among the backup's files; false when one lacks its id column. */
static bool find_rec_files(struct ops_vchain *vc)
{
	for (size_t i = 0; i < vc->m->nfiles; i++) {
		const struct ops_manifest_file *f = &vc->m->files[i];
		struct rec_file *r = &vc->rec_files[vc->nrec_files];
		const char *id = NULL;

		if (!f->usable || !f->table || !(r->kind = ops_vrecs_kind(f->table, &id)))
			continue;
		if (vc->nrec_files == REC_FILES_MAX ||
		    (r->id_col = ops_manifest_col(f, id)) == SIZE_MAX)
			return false;
		/* a kind whose lines lack what its entries hash is checked as links only */
		if (!ops_entry_form_init(&r->form, r->kind, f))
			continue;
		r->f = f;
		vc->nrec_files++;
	}
	return true;
}

/* The columns the check reads; false when a file lacks one (a schema problem of its own). */
static bool find_cols(struct ops_vchain *vc)
{
	vc->id_col = ops_manifest_col(vc->dec, "decision_id");
	for (size_t i = 0; i < OPS_CHAIN_LINE_COLS; i++)
		if ((vc->cols[i] = ops_manifest_col(vc->chain, chain_names[i])) == SIZE_MAX)
			return false;
	return vc->id_col != SIZE_MAX && find_rec_files(vc);
}

static const struct rec_file *rec_file_of(const struct ops_vchain *vc,
					  const struct ops_manifest_file *f)
{
	for (size_t i = 0; i < vc->nrec_files; i++)
		if (vc->rec_files[i].f == f)
			return &vc->rec_files[i];
	return NULL;
}

/* An entry's kind is one whose records this backup holds a table of (not a decision). */
static bool rec_kind(const struct ops_vchain *vc, const char *kind)
{
	for (size_t i = 0; i < vc->nrec_files; i++)
		if (strcmp(vc->rec_files[i].kind, kind) == 0)
			return true;
	return false;
}

/* The head's column of FLAG_ bit b. */
static const char *flag_name(int b)
{
	return b == FLAG_ADOPT ? "adopt_pending" : store_chain_late_flag(b - 1);
}

/* The head's file and its flags' columns. */
static void find_flag_cols(struct ops_vchain *vc)
{
	vc->head = ops_manifest_usable_file_of(vc->m, "audit_chain_head");
	for (int b = 0; vc->head && b < FLAG_N; b++)
		vc->flag_cols[b] = ops_manifest_col(vc->head, flag_name(b));
}

struct ops_vchain *ops_vchain_new(const struct ops_manifest *m, const struct ops_verify_opts *o,
				  struct ops_report *rep, struct ops_verify_chain *out)
{
	struct ops_vchain *vc;

	memset(out, 0, sizeof(*out));
	out->present = ops_manifest_usable_file_of(m, "audit_chain") != NULL;
	if (!out->present)
		return NULL;
	vc = xcalloc(1, sizeof(*vc));
	vc->m = m;
	vc->rep = rep;
	vc->out = out;
	vc->dec = ops_manifest_usable_file_of(m, "activity_decisions");
	vc->chain = ops_manifest_usable_file_of(m, "audit_chain");
	if (!vc->dec || !find_cols(vc)) {
		out->why_not = "a file of the backup lacks a column the check reads";
		free(vc);
		return NULL;
	}
	vc->want = 2 + vc->nrec_files;
	find_flag_cols(vc);
	vc->seal_col = ops_manifest_col(vc->chain, "seal");
	if (o->seal_keys && vc->seal_col != SIZE_MAX) {
		vc->seals = store_chain_seals_new(o->seal_keys);
		out->seals_checked = true;
	}
	if (o->checkpoint_seq > 0 && o->checkpoint_hash) {
		vc->cp_seq = o->checkpoint_seq;
		snprintf(vc->cp_hash, sizeof(vc->cp_hash), "%s", o->checkpoint_hash);
	}
	vc->recs = ops_vrecs_new();
	vc->known = ops_decision_hashes_new(vc->dec->rows);
	out->in_order = vc->chain->key && strcmp(vc->chain->key, "seq") == 0;
	if (!out->in_order)
		vc->proof = ops_chain_lines_new(vc->known);
	for (size_t i = 0; i < OPS_CHAIN_LINE_COLS; i++)
		buf_init(&vc->val[i], BUF_CAP_DEFAULT);
	buf_init(&vc->link, BUF_CAP_DEFAULT);
	buf_init(&vc->form, BUF_CAP_DEFAULT);
	buf_init(&vc->prev_id, BUF_CAP_DEFAULT);
	snprintf(vc->prev_hash, sizeof(vc->prev_hash), "%s", store_chain_genesis);
	return vc;
}

void ops_vchain_free(struct ops_vchain *vc)
{
	if (!vc)
		return;
	ops_decision_hashes_free(vc->known);
	ops_chain_lines_free(vc->proof);
	ops_vrecs_free(vc->recs);
	store_chain_seals_free(vc->seals);
	ops_report_release(&vc->found);
	for (size_t i = 0; i < OPS_CHAIN_LINE_COLS; i++)
		buf_release(&vc->val[i]);
	buf_release(&vc->link);
	buf_release(&vc->form);
	buf_release(&vc->prev_id);
	free(vc);
}

const struct ops_manifest_file *ops_vchain_file(const struct ops_vchain *vc)
{
	return vc ? vc->chain : NULL;
}

bool ops_vchain_reads(const struct ops_vchain *vc, const struct ops_manifest_file *f)
{
	return vc && f && (f == vc->dec || f == vc->chain || f == vc->head || rec_file_of(vc, f));
}

static void problem(struct ops_vchain *vc, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void problem(struct ops_vchain *vc, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (vc->problems++ >= OPS_LINE_PROBLEMS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ops_report_add(&vc->found, "chain", vc->chain->path, "%s", msg);
}

/* Each value of the line as text with its NUL (NULL: not a string). */
static bool line_values(struct ops_vchain *vc, const struct ops_span *spans,
			const char *v[OPS_CHAIN_LINE_COLS], size_t n[OPS_CHAIN_LINE_COLS])
{
	for (size_t i = 0; i < OPS_CHAIN_LINE_COLS; i++) {
		const struct ops_span *s = &spans[vc->cols[i]];
		struct buf *b = &vc->val[i];

		buf_reset(b);
		if (s->kind == OPS_SPAN_STRING) {
			if (ops_span_text(s, b, NULL) != ST_OK)
				return false;
		} else if (s->kind != OPS_SPAN_NULL) {
			if (buf_add(b, s->p, s->n, NULL) != ST_OK)
				return false;
		} else {
			return false;
		}
		n[i] = b->len;
		if (buf_add(b, "", 1, NULL) != ST_OK)
			return false;
		v[i] = b->data;
	}
	return true;
}

/* What an entry names: "seq 12 (decision dec_1)". */
static void entry_name(char *out, size_t size, int64_t seq, const char *kind, const char *id)
{
	snprintf(out, size, "seq %lld (%.16s %.80s)", (long long)seq, kind, id);
}

/* The link to the entry before: seq one more, prev_hash its hash. */
static void check_link(struct ops_vchain *vc, int64_t seq, const char *const v[], const char *prev)
{
	char name[128];

	if (seq == vc->prev_seq + 1 && strcmp(prev, vc->prev_hash) == 0)
		return;
	entry_name(name, sizeof(name), seq, v[1], v[2]);
	if (vc->prev_seq == 0)
		problem(vc,
			"%s: the chain does not start at seq 1 from the genesis: entries before it "
			"were deleted, or it was inserted",
			name);
	else
		problem(vc,
			"%s does not follow seq %lld (%s %.80s): an entry was deleted, inserted "
			"or reordered between them",
			name, (long long)vc->prev_seq, vc->prev_kind, vc->prev_id.data);
}

static void check_record(struct ops_vchain *vc, int64_t seq, const char *const v[])
{
	enum ops_dechash_match mt;
	char name[128];

	if (strcmp(v[1], "decision") != 0 || !ops_decision_hashes_usable(vc->known))
		return;
	mt = ops_decision_hashes_match(vc->known, v[2], v[3]);
	if (mt != OPS_DECHASH_MATCHES)
		entry_name(name, sizeof(name), seq, v[1], v[2]);
	if (mt == OPS_DECHASH_DIFFERS)
		problem(vc, "%s: the decision's line differs from what was chained: edited", name);
	else if (mt == OPS_DECHASH_MISSING)
		problem(vc, "%s: no decision line has this id: deleted", name);
}

/*
 * The entry's seal, from the first sealed entry on (those before were written before the key
 * was set): each must be the entry's under the keys.  In seq order an unsealed one is named;
 * in hash order, whether one comes after a sealed one is known at the end (check_seals).
 */
static void check_seal(struct ops_vchain *vc, int64_t seq, const char *const v[],
		       const struct ops_span *spans)
{
	const struct ops_span *seal;
	struct buf *text = &vc->form;
	char name[128];

	if (!vc->seals)
		return;
	seal = &spans[vc->seal_col];
	buf_reset(text);
	if (seal->kind != OPS_SPAN_STRING) {
		if (vc->proof)
			vc->max_unsealed = seq > vc->max_unsealed ? seq : vc->max_unsealed;
		else if (vc->out->sealed) {
			entry_name(name, sizeof(name), seq, v[1], v[2]);
			problem(vc,
				"%s: unsealed after a sealed entry: "
				"written or rewritten in the database",
				name);
		}
		return;
	}
	vc->out->sealed++;
	if (!vc->min_sealed || seq < vc->min_sealed)
		vc->min_sealed = seq;
	if (ops_span_text(seal, text, NULL) == ST_OK && buf_add(text, "", 1, NULL) == ST_OK &&
	    store_chain_seals_ok(vc->seals, v[1], v[2], v[3], text->data))
		return;
	entry_name(name, sizeof(name), seq, v[1], v[2]);
	problem(vc, "%s: its seal is not one of the keys': forged", name);
}

/* An entry's seq and stored hash against the checkpoint's: true when it is its seq, another hash.
 */
static bool checkpoint_differs(struct ops_vchain *vc, int64_t seq, const char *hash)
{
	bool differs;

	if (!vc->cp_seq || seq != vc->cp_seq)
		return false;
	differs = strcmp(hash, vc->cp_hash) != 0;
	vc->cp_seen = true;
	vc->cp_differs = vc->cp_differs || differs;
	return differs;
}

/* Whether the entry's fields hash to its hash (v[5]), with no allocation per line. */
static bool hash_holds(struct ops_vchain *vc, int64_t seq, const char *const v[OPS_CHAIN_LINE_COLS])
{
	char hash[SHA256_HEX_LEN];

	buf_reset(&vc->link);
	if (store_chain_link_bytes(&vc->link, seq, v[1], v[2], v[3], v[4], NULL) != ST_OK)
		return false;
	sha256_hex(vc->link.data, vc->link.len, hash);
	return strcmp(hash, v[5]) == 0;
}

/* An entry of kind: what the head's flags are checked against. */
static void note_kind(struct ops_vchain *vc, const char *kind)
{
	int g = store_chain_late_of_kind(kind);

	vc->kinds_seen |= 1U << FLAG_ADOPT;
	if (g != STORE_NOT_LATE)
		vc->kinds_seen |= 1U << (1 + g);
}

/* One entry of a chain file in seq order. */
static void walk_line(struct ops_vchain *vc, const char *const v[OPS_CHAIN_LINE_COLS],
		      const struct ops_span *spans, int64_t lineno)
{
	char name[128];
	int64_t seq;

	if (!str_to_i64(v[0], 1, INT64_MAX - 1, &seq) || strlen(v[1]) >= KIND_MAX) {
		problem(vc, "line %lld: not a chain entry", (long long)lineno);
		return;
	}
	if (checkpoint_differs(vc, seq, v[5])) {
		entry_name(name, sizeof(name), seq, v[1], v[2]);
		problem(vc,
			"%s is not the checkpoint's entry: the chain was rewritten up to it, or "
			"the checkpoint is of another database",
			name);
	}
	/* an entry whose fields are not its hash's names no record that can be trusted */
	if (!hash_holds(vc, seq, v)) {
		entry_name(name, sizeof(name), seq, v[1], v[2]);
		problem(vc, "%s: its hash is not its link's: the entry was edited or moved", name);
	} else {
		check_link(vc, seq, v, v[4]);
		check_record(vc, seq, v);
		if (rec_kind(vc, v[1]))
			ops_vrecs_entry(vc->recs, v[1], v[2], seq, v[3]);
	}
	check_seal(vc, seq, v, spans);
	note_kind(vc, v[1]);
	vc->prev_seq = seq;
	snprintf(vc->prev_hash, sizeof(vc->prev_hash), "%s", v[5]);
	snprintf(vc->prev_kind, sizeof(vc->prev_kind), "%s", v[1]);
	buf_reset(&vc->prev_id);
	if (buf_add(&vc->prev_id, v[2], strlen(v[2]) + 1, NULL) != ST_OK)
		buf_reset(&vc->prev_id);
}

/* A line of the decisions' file or of a record table: its hash kept by its id. */
static void record_line(struct ops_vchain *vc, const struct ops_manifest_file *f,
			const struct ops_span *spans, const char *line, size_t len)
{
	const struct rec_file *r = f == vc->dec ? NULL : rec_file_of(vc, f);
	const struct ops_span *s = &spans[r ? r->id_col : vc->id_col];
	struct buf *id = &vc->val[0];
	struct ops_entry_text t;

	buf_reset(id);
	/* an id that is no string is a line problem of its own: the file is not clean */
	if (s->kind != OPS_SPAN_STRING || ops_span_text(s, id, NULL) != ST_OK)
		return;
	if (!r)
		ops_decision_hashes_add(vc->known, id->data, id->len, line, len);
	else if (!ops_entry_form_of(&r->form, spans, line, len, &vc->form, &t) ||
		 !ops_vrecs_line(vc->recs, r->kind, id->data, id->len, &t))
		vc->recs_failed = true;
}

/* A line of a chain file in hash order: its record kept, the line added to the proof. */
static void proof_line(struct ops_vchain *vc, const char *const v[OPS_CHAIN_LINE_COLS],
		       const size_t n[OPS_CHAIN_LINE_COLS], const struct ops_span *spans)
{
	int64_t seq;

	if (str_to_i64(v[0], 1, INT64_MAX - 1, &seq)) {
		(void)checkpoint_differs(vc, seq, v[5]);
		if (rec_kind(vc, v[1]))
			ops_vrecs_entry(vc->recs, v[1], v[2], seq, v[3]);
		check_seal(vc, seq, v, spans);
	}
	note_kind(vc, v[1]);
	ops_chain_lines_add(vc->proof, v, n);
}

/* The head line: each flag that is 1 (one from a later migration is not there). */
static void head_line(struct ops_vchain *vc, const struct ops_span *spans)
{
	for (int b = 0; b < FLAG_N; b++) {
		const struct ops_span *s =
			vc->flag_cols[b] == SIZE_MAX ? NULL : &spans[vc->flag_cols[b]];

		if (s && s->kind == OPS_SPAN_NUMBER && s->n == 1 && s->p[0] == '1')
			vc->flags_set |= 1U << b;
	}
}

void ops_vchain_line(struct ops_vchain *vc, const struct ops_manifest_file *f,
		     const struct ops_span *spans, const char *line, size_t len, int64_t lineno)
{
	const char *v[OPS_CHAIN_LINE_COLS];
	size_t n[OPS_CHAIN_LINE_COLS];

	if (f == vc->head) {
		head_line(vc, spans);
		return;
	}
	if (f != vc->chain) {
		record_line(vc, f, spans, line, len);
		return;
	}
	if (!vc->dec_read)
		return; /* the decision lines were not all read: nothing can be matched */
	vc->out->entries++;
	if (!line_values(vc, spans, v, n)) {
		if (vc->proof)
			ops_chain_lines_fail(vc->proof);
		else
			problem(vc, "line %lld: not a chain entry", (long long)lineno);
		return;
	}
	if (vc->proof)
		proof_line(vc, v, n, spans);
	else
		walk_line(vc, v, spans, lineno);
}

void ops_vchain_read(struct ops_vchain *vc, const struct ops_manifest_file *f, bool clean)
{
	if (f == vc->head) {
		vc->head_clean = clean;
		return;
	}
	if (f == vc->dec)
		vc->dec_read = clean;
	vc->clean += clean;
}

/* The walked chain's end against the manifest's audit_head. */
static void check_head(struct ops_vchain *vc)
{
	const struct ops_manifest *m = vc->m;

	if (!m->has_audit_head)
		return;
	if (vc->prev_seq != m->audit_head_seq)
		problem(vc,
			"the chain ends at seq %lld, not at the manifest's audit_head (seq %lld): "
			"entries were cut off or added at its end",
			(long long)vc->prev_seq, (long long)m->audit_head_seq);
	else if (strcmp(vc->prev_hash, m->audit_head_hash) != 0)
		problem(vc,
			"the chain's last entry (seq %lld) is not the manifest's audit_head: "
			"it was replaced",
			(long long)vc->prev_seq);
}

/* A chain file in hash order, proved whole or not at all. */
static void check_proof(struct ops_vchain *vc)
{
	const struct ops_manifest *m = vc->m;

	if (!m->has_audit_head) {
		vc->out->why_not = "the chain's file is in hash order and the manifest has no "
				   "audit_head to prove it against";
		vc->out->checked = false;
		return;
	}
	vc->unproved = !ops_chain_lines_prove(vc->proof, m->audit_head_seq, m->audit_head_hash);
	if (vc->unproved)
		problem(vc,
			"the chain's lines are not one chain from the genesis to the manifest's "
			"audit_head (seq %lld) whose decision entries are the decision lines: an "
			"entry or a decision line was edited, deleted, inserted or reordered; "
			"'cavra ops restore-test' names each break",
			(long long)m->audit_head_seq);
}

/*
 * The checkpoint's entry must have been met: a backup after the checkpoint whose chain lacks
 * it was cut below it (or rebuilt shorter); one before it cannot be checked against it.  In
 * hash order its hash was not named where it was met.
 */
static void check_checkpoint(struct ops_vchain *vc)
{
	const struct ops_manifest *m = vc->m;

	if (!vc->cp_seq)
		return;
	vc->out->checkpoint_seq = vc->cp_seq;
	if (m->has_audit_head && m->audit_head_seq < vc->cp_seq)
		problem(vc,
			"the checkpoint (seq %lld) is after the backup's audit_head (seq %lld): "
			"check a backup against a checkpoint taken before it",
			(long long)vc->cp_seq, (long long)m->audit_head_seq);
	else if (!vc->cp_seen)
		problem(vc,
			"the chain has no entry seq %lld, the checkpoint's: entries were cut "
			"or the chain was rebuilt",
			(long long)vc->cp_seq);
	else if (vc->cp_differs && vc->proof)
		problem(vc,
			"the entry seq %lld is not the checkpoint's: the chain was rewritten up to "
			"it, or the checkpoint is of another database",
			(long long)vc->cp_seq);
}

/* In hash order: an unsealed entry after the first sealed one, found by their seqs. */
static void check_seals(struct ops_vchain *vc)
{
	if (!vc->seals || !vc->proof || !vc->min_sealed || vc->max_unsealed <= vc->min_sealed)
		return;
	problem(vc,
		"an entry after the first sealed one (seq %lld) is unsealed "
		"(seq %lld among them): written or rewritten in the database; "
		"'cavra ops restore-test' names each",
		(long long)vc->min_sealed, (long long)vc->max_unsealed);
}

/*
 * A flag of the head line that asks for an adoption beside entries it would not make: the
 * head was edited so that records without an entry (planted or edited) would be chained as
 * if written before the chain, or before their kinds were chained.  Unchecked when the head's
 * file did not read clean (a problem of its own).
 */
static int64_t check_flags(struct ops_vchain *vc)
{
	int64_t n = 0;
	unsigned both = vc->head_clean ? vc->flags_set & vc->kinds_seen : 0;

	for (int b = 0; b < FLAG_N; b++) {
		if (!(both & (1U << b)))
			continue;
		n++;
		ops_report_add(vc->rep, "chain", vc->head->path, "its %s is 1: %s", flag_name(b),
			       b == FLAG_ADOPT ? store_chain_adopt_flag_why
					       : store_chain_late_flag_why(b - 1));
	}
	return n;
}

/* ops_vrecs_fn: a record whose line its newest entry is not. */
static void record_break(void *ctx, int64_t seq, const char *name, const char *what)
{
	problem(ctx, "seq %lld (%s): %s", (long long)seq, name, what);
}

void ops_vchain_end(struct ops_vchain *vc)
{
	struct ops_verify_chain *out;

	if (!vc)
		return;
	out = vc->out;
	/* a damaged file is its own problem: what its lines show of the chain is not added */
	if (vc->clean != vc->want || vc->recs_failed || !ops_decision_hashes_usable(vc->known)) {
		out->why_not = "a file the check reads did not verify";
		return;
	}
	out->checked = true;
	if (vc->proof)
		check_proof(vc);
	else
		check_head(vc);
	check_checkpoint(vc);
	check_seals(vc);
	/* a proof that failed stopped matching at its first bad line: no count to give */
	if (!vc->unproved)
		out->unchained = ops_decision_hashes_unnamed(vc->known);
	out->unchained += ops_vrecs_end(vc->recs, record_break, vc);
	for (size_t i = 0; i < vc->found.n; i++)
		ops_report_add(vc->rep, "chain", vc->chain->path, "%s", vc->found.items[i].msg);
	if (vc->problems > OPS_LINE_PROBLEMS_MAX)
		ops_report_add(vc->rep, "chain", vc->chain->path, "and %lld more chain problems",
			       (long long)(vc->problems - OPS_LINE_PROBLEMS_MAX));
	out->breaks = vc->problems + check_flags(vc);
}
