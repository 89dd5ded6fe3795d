/*
 * cmd_audit.c - `cavra audit verify|checkpoint|adopt`: check the hash chain
 * over decisions, write a signed checkpoint of its head, chain the decisions
 * a database held before the chain existed (docs/audit.md).
 */
#include "base/base.h"
#include "cmd.h"
#include "audit/audit.h"
#include "base/files.h"
#include "base/num.h"
#include "base/seal.h"
#include "base/str.h"
#include "base/timeutil.h"
#include "migrate/migrate.h"
#include "service/seals.h"
#include "store/store.h"
#include "store/store_chain.h"
#include "base/progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct audit_args {
	const char *checkpoint, *public_key, *signing_key, *output, *after;
	const char *seal_key_file, *sealed_from; /* verify; seal_key_file also checkpoint */
	struct seal_keys seal_keys; /* of seal_key_file */
	int64_t from; /* of sealed_from */
	struct cmd_progress pf; /* verify and adopt: --progress, --quiet */
};

/* One line a break: what, where, and the records around it. */
void cmd_audit_print_break(void *ctx, const struct audit_break *b)
{
	FILE *f = ctx ? ctx : stdout;

	fprintf(f, "%s", b->what);
	if (b->seq && b->seq_to && b->seq_to != b->seq)
		fprintf(f, " seq=%lld..%lld", (long long)b->seq, (long long)b->seq_to);
	else if (b->seq)
		fprintf(f, " seq=%lld", (long long)b->seq);
	/* ids and the reason come from the database: a terminal must not act on them */
	if (b->id) {
		fputs(" id=", f);
		str_fput_printable(f, b->id);
	}
	fputs(" after=", f);
	str_fput_printable(f, b->prev_id ? b->prev_id : "-");
	if (b->next_id) {
		fputs(" before=", f);
		str_fput_printable(f, b->next_id);
	}
	fputs(": ", f);
	str_fput_printable(f, b->why);
	fputc('\n', f);
}

/* A break on stdout, the progress line (ctx, or NULL) erased first when on the same terminal. */
static void print_break(void *ctx, const struct audit_break *b)
{
	progress_clear(ctx);
	cmd_audit_print_break(NULL, b);
}

/* The schema must have the chain: a database before migration 015 has nothing to check. */
static enum status open_chained(const struct config *cfg, struct store **st,
				struct migration_set *set, struct err *e)
{
	struct store_conn *c = NULL;
	bool has = false;
	enum status rc = cmd_open_existing(cfg, st, set, e);

	if (rc == ST_OK)
		rc = store_conn_get(*st, &c, e);
	if (rc == ST_OK)
		rc = store_table_exists(c, "audit_chain_head", &has, e);
	if (c)
		store_conn_put(*st, c);
	if (rc == ST_OK && !has)
		rc = err_set(e, ST_CONFLICT,
			     "the database has no audit chain yet: run 'cavra migrate up' first");
	return rc;
}

static enum status read_checkpoint(const struct audit_args *a, struct audit_checkpoint *cp,
				   struct err *e)
{
	struct ed25519_key *pub = NULL;
	enum status st = ed25519_public_load(a->public_key, &pub, e);

	if (st == ST_OK)
		st = audit_checkpoint_load(a->checkpoint, pub, cp, e);
	if (st != ST_OK)
		err_wrap(e, "'%s'", a->checkpoint);
	ed25519_key_free(pub);
	return st;
}

static int verify(struct store *st, const struct audit_args *a)
{
	struct audit_checkpoint cp;
	struct audit_verify_opts o = {.fn = print_break, .sessions = true};
	struct audit_verify_result r;
	struct err e = {0};
	enum status rc;

	if (a->checkpoint && read_checkpoint(a, &cp, &e) != ST_OK) {
		fprintf(stderr, "cavra: %s\n", e.msg);
		return EXIT_FAIL; /* a checkpoint that does not verify is a failed audit */
	}
	o.cp = a->checkpoint ? &cp : NULL;
	o.seal_keys = a->seal_key_file ? &a->seal_keys : NULL;
	o.sealed_from = a->from;
	o.progress = o.ctx = cmd_progress_new(&a->pf, "audit verify");
	rc = audit_verify_with(st, &o, &r, &e);
	progress_finish(o.progress, rc == ST_OK && r.breaks == 0);
	progress_free(o.progress);
	if (rc != ST_OK)
		return cmd_fail(rc, &e);
	if (r.summed)
		cmd_info("audit chain: the links and every decision checked in one pass over the "
			 "chain and one over the decisions");
	printf("audit chain: %lld entries, head seq %lld, %lld breaks%s", (long long)r.entries,
	       (long long)r.head_seq, (long long)r.breaks,
	       a->checkpoint ? ", checked against the checkpoint" : "");
	if (a->seal_key_file)
		printf(", %lld seals checked", (long long)r.sealed);
	printf("\n");
	return r.breaks ? EXIT_FAIL : EXIT_OK;
}

/* --after's checkpoint, which the signing key k signed, is where the check starts. */
static enum status trust_after(const struct audit_args *a, const struct ed25519_key *k,
			       struct audit_watch *w, struct err *e)
{
	struct audit_checkpoint prev;
	enum status st = audit_checkpoint_load(a->after, k, &prev, e);

	if (st == ST_OK)
		audit_watch_trust(w, prev.seq, prev.hash);
	else
		err_wrap(e, "--after '%s'", a->after);
	return st;
}

/*
 * The chain from --after's checkpoint (or its start) to the head is checked (audit_watch_check)
 * before the head is signed: breaks go to stdout as verify's, and nothing is written (exit 1).
 * An --after that does not verify is a failed audit too (*bad_after), as verify's --checkpoint.
 */
static enum status checked_head(struct store *st, const struct audit_args *a,
				const struct ed25519_key *k, struct audit_checkpoint *cp,
				int64_t *breaks, bool *bad_after, struct err *e)
{
	struct audit_watch *w = audit_watch_new(a->seal_key_file ? &a->seal_keys : NULL);
	enum status rc =
		w ? ST_OK
		  : err_set(e, ST_INTERNAL, "could not set up the seal key's HMAC (OpenSSL)");

	if (rc == ST_OK && a->after)
		*bad_after = (rc = trust_after(a, k, w, e)) != ST_OK;
	if (rc == ST_OK)
		rc = audit_watch_check(st, w, print_break, NULL, cp, breaks, e);
	audit_watch_free(w);
	return rc;
}

/*
 * A checkpoint is evidence an auditor keeps: writing one over an earlier file (a name used
 * twice in a script) would destroy the head it proved, the one that shows a cut tail.  The
 * check before the write leaves a race with another writer of the same name, which a
 * scheduler that names files by time does not have.
 */
static int checkpoint(struct store *st, const struct audit_args *a)
{
	struct ed25519_key *k = NULL;
	struct audit_checkpoint cp;
	struct buf out = BUF_INIT;
	struct err e = {0};
	struct stat sb;
	int64_t breaks = 0;
	bool bad_after = false;
	enum status rc;

	if (lstat(a->output, &sb) == 0)
		return cmd_usage_error("audit checkpoint: '%s' exists; a checkpoint is never "
				       "written over: give a new file (e.g. one named by the time)",
				       a->output);
	rc = ed25519_private_load(a->signing_key, &k, &e);
	if (rc == ST_OK)
		rc = checked_head(st, a, k, &cp, &breaks, &bad_after, &e);
	if (rc == ST_OK && breaks == 0) {
		time_format_utc(time_now_us(), cp.time, sizeof(cp.time));
		rc = audit_checkpoint_write(&cp, k, &out, &e);
	}
	if (rc == ST_OK && breaks == 0)
		rc = file_write_atomic(a->output, out.data, out.len, &e);
	ed25519_key_free(k);
	buf_release(&out);
	if (bad_after) {
		fprintf(stderr, "cavra: audit checkpoint: %s\n", e.msg);
		return EXIT_FAIL;
	}
	if (rc != ST_OK)
		return cmd_fail(rc, &e);
	if (breaks) {
		fprintf(stderr,
			"cavra: audit checkpoint: not written: %lld breaks in the chain%s\n",
			(long long)breaks, a->after ? " since --after's checkpoint" : "");
		return EXIT_FAIL;
	}
	printf("checkpoint: seq %lld, hash %s, written to %s\n", (long long)cp.seq, cp.hash,
	       a->output);
	return EXIT_OK;
}

static int adopt(struct store *st, const struct audit_args *a)
{
	struct progress *p = cmd_progress_new(&a->pf, "audit adopt");
	struct err e = {0};
	int64_t n = 0;
	enum status rc = store_chain_adopt(st, p, &n, &e);

	progress_finish(p, rc == ST_OK);
	progress_free(p);
	if (rc != ST_OK)
		return cmd_fail(rc, &e);
	printf("audit chain: chained %lld records (decisions, approvals, evidence, registry, "
	       "inventory, integrations, sessions) written before their entries existed\n",
	       (long long)n);
	return EXIT_OK;
}

/* --seal-key-file's keys: audit_seal_key_file's form (both lines verify). */
static int seal_keys_read(struct audit_args *a, const char *where)
{
	struct err e = {0};

	if (cmd_key_file("--seal-key-file", a->seal_key_file, seal_audit_key, &a->seal_keys, &e) !=
	    ST_OK)
		return cmd_usage_error("%s: %s", where, e.msg);
	return EXIT_OK;
}

/* Each action takes only its own options, so that --help and the parser agree. */
static int parse(int argc, char **argv, struct audit_args *a)
{
	const struct cmd_opt verify_opts[] = {CMD_VALUE("--checkpoint", &a->checkpoint),
					      CMD_VALUE("--public-key", &a->public_key),
					      CMD_VALUE("--seal-key-file", &a->seal_key_file),
					      CMD_VALUE("--sealed-from", &a->sealed_from),
					      CMD_PROGRESS_OPTS(&a->pf),
					      {0}};
	const struct cmd_opt checkpoint_opts[] = {CMD_VALUE("--signing-key", &a->signing_key),
						  CMD_VALUE("--output", &a->output),
						  CMD_VALUE("--after", &a->after),
						  CMD_VALUE("--seal-key-file", &a->seal_key_file),
						  {0}};
	const struct cmd_opt adopt_opts[] = {CMD_PROGRESS_OPTS(&a->pf), {0}};
	const char *act = argc > 1 ? argv[1] : "";
	bool is_verify = strcmp(act, "verify") == 0, is_cp = strcmp(act, "checkpoint") == 0;
	char where[32];
	int code;

	if (!is_verify && !is_cp && strcmp(act, "adopt") != 0)
		return cmd_usage_error("audit: missing or unknown action (known: verify, "
				       "checkpoint, adopt)");
	snprintf(where, sizeof(where), "audit %s", act);
	code = cmd_opts_parse(where,
			      is_verify ? verify_opts
			      : is_cp	? checkpoint_opts
					: adopt_opts,
			      argc - 2, argv + 2);
	if (code != EXIT_OK || (code = cmd_progress_check(&a->pf, where)) != EXIT_OK)
		return code;
	if (is_verify && !a->checkpoint != !a->public_key)
		return cmd_usage_error("audit verify: --checkpoint and --public-key go together");
	if (is_verify && a->sealed_from && !a->seal_key_file)
		return cmd_usage_error("audit verify: --sealed-from goes with --seal-key-file");
	if (is_verify && a->sealed_from && !str_to_i64(a->sealed_from, 1, INT64_MAX, &a->from))
		return cmd_usage_error("audit verify: --sealed-from takes a seq (1 or more), not "
				       "'%s'",
				       a->sealed_from);
	if (is_cp && (!a->signing_key || !a->output))
		return cmd_usage_error("audit checkpoint: --signing-key PEM and --output FILE "
				       "are required");
	if (a->seal_key_file)
		return seal_keys_read(a, where);
	return EXIT_OK;
}

int cmd_audit(struct config *cfg, int argc, char **argv)
{
	struct audit_args a = {0};
	struct migration_set set = {0};
	struct store *st = NULL;
	struct err e = {0};
	enum status rc;
	int code = parse(argc, argv, &a);

	if (code != EXIT_OK)
		return code;
	if ((rc = open_chained(cfg, &st, &set, &e)) != ST_OK)
		code = cmd_fail(rc, &e);
	else if (strcmp(argv[1], "verify") == 0)
		code = verify(st, &a);
	else if (strcmp(argv[1], "checkpoint") == 0)
		code = checkpoint(st, &a);
	else
		code = adopt(st, &a);
	migrate_set_release(&set);
	store_close(st);
	memset(&a.seal_keys, 0, sizeof(a.seal_keys));
	return code;
}
