/*
 * cmd_ops_chain.c - the restored audit chain's check: after `cavra ops restore`, which says
 * on stderr whether the chain was carried or is to be rebuilt, and as `cavra ops
 * restore-test`'s audit_chain check of its scratch database.  The restored chain must end
 * at the backup's audit_head and verify whole, with its seals where audit_seal_key_file is
 * set (docs/audit.md).
 */
#include "base/base.h"
#include "cmd.h"
#include "audit/audit.h"
#include "base/progress.h"
#include "base/seal.h"
#include "base/str.h"
#include "ops/ops.h"
#include "store/store_chain.h"

#include <stdio.h>
#include <string.h>

/*
 * What the check of the restored chain counts, the progress line it clears to print, and
 * audit_seal_key_file's keys (NULL: unset, or the restored schema is before 024).
 */
struct restored {
	int64_t unchained;
	struct progress *progress;
	const struct seal_keys *keys;
	bool sealed_checked; /* keys were set: kept once they are gone */
};

/*
 * Records without an entry are reported but do not fail the restore: rows written behind
 * cavra's back in the source (seeded, adopted from the original) come back the same way, and
 * only `cavra audit verify` on the source tells them from lines added to the backup.  Every
 * other break means the chain the backup carried did not arrive intact.
 */
static void restored_break(void *ctx, const struct audit_break *b)
{
	struct restored *rs = ctx;

	if (str_eq(b->what, "inserted"))
		rs->unchained++;
	progress_clear(rs->progress);
	cmd_audit_print_break(stderr, b);
}

static enum status chain_check(struct store *st, const struct ops_restore_result *r,
			       struct audit_verify_result *v, struct restored *rs, struct err *e)
{
	const struct audit_verify_opts o = {.fn = restored_break,
					    .ctx = rs,
					    .progress = rs->progress,
					    .known = r->decision_hashes,
					    .lines = r->chain_lines,
					    .late_pending_ok = true,
					    .seal_keys = rs->keys,
					    .sealed_from_first = true};
	int64_t *unchained = &rs->unchained;
	struct chain_head h;
	enum status rc = store_chain_head_get(st, &h, e);

	if (rc == ST_OK && r->has_audit_head &&
	    (h.seq != r->audit_head_seq || strcmp(h.hash, r->audit_head_hash) != 0))
		return err_set(e, ST_CONFLICT,
			       "the restored chain's head (seq %lld) is not the backup's "
			       "audit_head (seq %lld)",
			       (long long)h.seq, (long long)r->audit_head_seq);
	if (rc == ST_OK)
		rc = audit_verify_with(st, &o, v, e);
	if (rc == ST_OK && v->breaks > *unchained)
		rc = err_set(e, ST_CONFLICT, "the restored chain has %lld breaks",
			     (long long)(v->breaks - *unchained));
	return rc;
}

/*
 * With audit_seal_key_file set, the restored entries' seals are checked too (from the first
 * sealed one: those before it were written before the key), where the schema has them (024).
 */
static enum status restored_keys(const struct config *cfg, struct store_conn *c,
				 struct seal_keys *keys, struct restored *rs, struct err *e)
{
	bool has = false, set = false;
	enum status rc;

	if (!cfg->audit_seal_key_file)
		return ST_OK;
	rc = store_column_exists(c, "audit_chain", "seal", &has, e);
	if (rc == ST_OK && has)
		rc = cmd_seal_key(cfg, keys, &set, e);
	if (set)
		rs->keys = keys;
	return rc;
}

/* What the check found. */
struct chain_outcome {
	bool has; /* the restored schema has the chain (migration 015 on) */
	struct audit_verify_result v;
	struct restored rs;
};

/*
 * Opens the restored database, reads audit_seal_key_file where its schema has seals, and
 * checks the chain unless the backup predates it (!o->has, or r->chain_restarted).
 */
static enum status check_restored(const struct config *cfg, const struct ops_restore_result *r,
				  struct progress *p, struct chain_outcome *o, struct err *e)
{
	const struct store_options opt = {.pool_size = 1};
	struct store *st = NULL;
	struct store_conn *c = NULL;
	struct seal_keys keys;
	enum status rc = store_open(r->url, &opt, &st, e);

	memset(o, 0, sizeof(*o));
	o->rs.progress = p;
	if (rc == ST_OK && (rc = store_conn_get(st, &c, e)) == ST_OK)
		rc = store_table_exists(c, "audit_chain_head", &o->has, e);
	if (rc == ST_OK && o->has)
		rc = restored_keys(cfg, c, &keys, &o->rs, e);
	if (c)
		store_conn_put(st, c);
	o->rs.sealed_checked = o->rs.keys != NULL;
	if (rc == ST_OK && o->has && !r->chain_restarted)
		rc = chain_check(st, r, &o->v, &o->rs, e);
	progress_clear(p);
	store_close(st);
	o->rs.keys = NULL;
	memset(&keys, 0, sizeof(keys));
	return rc;
}

/* A carried chain none of whose entries is sealed, though the key is set. */
static bool none_sealed(const struct chain_outcome *o)
{
	return o->rs.sealed_checked && o->v.entries > 0 && o->v.sealed == 0;
}

/*
 * What a carried chain's check found, for the restore's line and the restore test's detail:
 * "carried: N entries, head seq S, <against what>[ as its lines loaded][, K seals checked]";
 * how: say whether it was proved from the loaded lines.
 */
static void carried(const struct ops_restore_result *r, const struct chain_outcome *o, bool how,
		    char *out, size_t size)
{
	char seals[64] = "";

	if (o->rs.sealed_checked)
		snprintf(seals, sizeof(seals), ", %lld seals checked", (long long)o->v.sealed);
	snprintf(out, size, "carried: %lld entries, head seq %lld%s%s%s", (long long)o->v.entries,
		 (long long)o->v.head_seq,
		 r->has_audit_head ? ", the backup's audit_head, verified"
				   : ", verified (the backup records no audit_head)",
		 how && o->v.from_lines ? " as its lines loaded" : "", seals);
}

/* The lines on stderr of a restore whose chain checked out. */
static void print_outcome(const struct ops_restore_result *r, const struct chain_outcome *o)
{
	const struct audit_verify_result *v = &o->v;
	char line[256];

	if (r->chain_restarted)
		cmd_info("audit chain: rebuilt: the backup predates the chain, so the target's "
			 "entries (the replaced data's) were removed; 'cavra migrate up', the next "
			 "'cavra serve' or 'cavra audit adopt' chains the restored decisions and "
			 "approvals");
	else if (!o->has)
		cmd_info("audit chain: rebuilt: the backup predates the chain; 'cavra migrate "
			 "up' chains the restored decisions and approvals");
	else {
		carried(r, o, true, line, sizeof(line));
		cmd_info("audit chain: %s%s", line,
			 o->rs.unchained ? "; records without an entry are listed above, check the "
					   "source with 'cavra audit verify'"
					 : "");
	}
	if (o->has && !r->chain_restarted && v->late_pending)
		cmd_info("audit chain: the backup predates the entries of some of its records (the "
			 "evidence's from migration 021, the registry's, inventory's and "
			 "integrations' from 022, the sessions' from 023): 'cavra migrate up', the "
			 "next 'cavra serve' or "
			 "'cavra audit adopt' chains them");
	if (none_sealed(o))
		fprintf(stderr,
			"cavra: warning: audit_seal_key_file is set but no restored chain "
			"entry is sealed: the backup's chain predates the key, or its seals "
			"were removed (a backup signed with --signing-key and restored with "
			"--public-key rules that out)\n");
}

/*
 * Sessions whose counters or (only decisions made) description the loaded decision lines do
 * not bear out (ops_vcount.c): committed like the rest, each named on stderr, and the restore
 * is not a success, as with a chain break.
 */
static int restored_counters(const struct ops_restore_result *r, struct err *out)
{
	const struct ops_report *p = &r->counter_problems;
	int64_t n = r->counters.differ + r->counters.undescribed;

	if (!n)
		return EXIT_OK;
	for (size_t i = 0; i < p->n; i++) {
		fputs("session counters: ", stderr);
		str_fput_printable(stderr, p->items[i].msg);
		fputc('\n', stderr);
	}
	err_set(out, ST_CONFLICT,
		"session counters: %lld restored session%s do not agree with %s decision lines "
		"(the restore is committed: the backup's sessions were edited, or the source's; "
		"'cavra audit verify' on the source tells which)",
		(long long)n, n == 1 ? "" : "s", n == 1 ? "its" : "their");
	fprintf(stderr, "cavra: %s\n", out->msg);
	return EXIT_FAIL;
}

int cmd_restored_chain(const struct config *cfg, const struct ops_restore_result *r,
		       struct progress *p, struct err *out)
{
	struct chain_outcome o;
	struct err e = {0};
	enum status rc = check_restored(cfg, r, p, &o, &e);

	if (rc == ST_OK) {
		print_outcome(r, &o);
		return restored_counters(r, out);
	}
	if (rc == ST_INTERRUPTED)
		err_set(out, rc,
			"audit chain: not checked: %s (the restore is committed: check the chain "
			"with 'cavra audit verify')",
			e.msg);
	else
		err_set(out, rc, "audit chain: the restored chain does not verify: %s", e.msg);
	fprintf(stderr, "cavra: %s\n", out->msg);
	return EXIT_FAIL;
}

bool cmd_restored_chain_test(void *ctx, const struct ops_restore_result *r, char *detail,
			     size_t size)
{
	const struct cmd_chain_test *t = ctx;
	struct chain_outcome o;
	struct err e = {0};
	enum status rc = check_restored(t->cfg, r, t->progress, &o, &e);
	char line[256];

	if (rc != ST_OK)
		snprintf(detail, size, "%s", e.msg);
	else if (!o.has || r->chain_restarted)
		snprintf(detail, size, "none: the backup predates the chain");
	else {
		carried(r, &o, false, line, sizeof(line));
		snprintf(detail, size, "%s%s%s", line,
			 none_sealed(&o) ? "; no entry is sealed though audit_seal_key_file is "
					   "set: the chain predates the key, or its seals were "
					   "removed"
					 : "",
			 o.rs.unchained ? "; records without an entry are listed on stderr" : "");
	}
	return rc == ST_OK;
}
