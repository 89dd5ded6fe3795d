/*
 * cmd_ops_backup.c - `cavra ops backup | verify | restore | restore-test`
 * (docs/operations.md).  Exit codes: 0 ok, 1 failure or a problem found,
 * 2 usage.  These commands exist only here: no HTTP route reaches them.
 *
 *   ops backup [--output DIR] [--json] [--[no-]include-missing] [--signing-key PEM]
 *              [--compression none|zstd[:LEVEL]]
 *   ops verify MANIFEST [--json] [--public-key PEM] [--checkpoint FILE --checkpoint-key PEM]
 *              [--seal-key-file FILE]
 *   ops restore MANIFEST [--target-dir DIR | --target-url URL] [--[no-]overwrite]
 *               [--public-key PEM]
 *   ops restore-test MANIFEST [--scratch-dir DIR] [--public-key PEM]
 *   ops doctor [--fix] [--json]
 *
 * All but doctor also take --progress | --quiet (cmd_progress.c).
 */
#include "base/base.h"
#include "cmd.h"
#include "audit/audit.h"
#include "base/seal.h"
#include "base/timeutil.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "ops/ops.h"
#include "service/seals.h"
#include "base/progress.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The original's default backup directory.  A backup is never written into
 * a non-empty directory, so the second backup without --output is refused
 * (naming --output) instead of replacing the first as the original did.
 */
#define BACKUP_DEFAULT_DIR ".cavra/backups/latest"

struct ops_args {
	const char *manifest, *output, *target_dir, *target_url, *scratch_dir;
	const char *signing_key, *public_key; /* PEM files given on the command line */
	const char *checkpoint, *checkpoint_key; /* verify: a signed checkpoint and its key */
	const char *seal_key_file; /* verify: the chain's seal keys, over audit_seal_key_file */
	const char *compression; /* --compression; NULL: the setting backup_compression */
	struct ops_compress compress; /* what backup stores table files as */
	struct ed25519_key *key; /* the one loaded (load_key); owned */
	bool json, overwrite, default_output, fix;
	struct cmd_progress pf; /* --progress, --quiet */
};

/* Options of every action; each action says which ones it takes. */
enum {
	A_OUTPUT = 1,
	A_JSON = 2,
	A_TARGETS = 4,
	A_SCRATCH = 8,
	A_MANIFEST = 16,
	A_MISSING = 32,
	A_FIX = 64,
	A_SIGN = 128,
	A_PUBKEY = 256,
	A_PROGRESS = 512,
	A_COMPRESS = 1024,
	A_CHECKPOINT = 2048 /* and --seal-key-file */
};

/* Fills opts (ended by {0}) with the options of the groups in allowed. */
static void opts_of(unsigned allowed, struct ops_args *a, struct cmd_opt *opts)
{
	const struct {
		unsigned group;
		struct cmd_opt opt;
	} all[] = {
		{A_JSON, CMD_FLAG("--json", &a->json)},
		{A_OUTPUT, CMD_VALUE("--output", &a->output)},
		{A_TARGETS, CMD_VALUE("--target-dir", &a->target_dir)},
		{A_TARGETS, CMD_VALUE("--target-url", &a->target_url)},
		{A_TARGETS, CMD_FLAG("--overwrite", &a->overwrite)},
		{A_TARGETS, CMD_NOFLAG("--no-overwrite", &a->overwrite)},
		/* every table is always in a backup: no store can be missing */
		{A_MISSING, CMD_FLAG("--include-missing", NULL)},
		{A_MISSING, CMD_NOFLAG("--no-include-missing", NULL)},
		{A_FIX, CMD_FLAG("--fix", &a->fix)},
		{A_SCRATCH, CMD_VALUE("--scratch-dir", &a->scratch_dir)},
		{A_SIGN, CMD_VALUE("--signing-key", &a->signing_key)},
		{A_PUBKEY, CMD_VALUE("--public-key", &a->public_key)},
		{A_COMPRESS, CMD_VALUE("--compression", &a->compression)},
		{A_CHECKPOINT, CMD_VALUE("--checkpoint", &a->checkpoint)},
		{A_CHECKPOINT, CMD_VALUE("--checkpoint-key", &a->checkpoint_key)},
		{A_CHECKPOINT, CMD_VALUE("--seal-key-file", &a->seal_key_file)},
		{A_MANIFEST, CMD_ARG("MANIFEST", &a->manifest)},
		{A_PROGRESS, CMD_FLAG("--progress", &a->pf.progress)},
		{A_PROGRESS, CMD_FLAG("--quiet", &a->pf.quiet)},
	};
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		if (allowed & all[i].group)
			opts[n++] = all[i].opt;
	opts[n] = (struct cmd_opt){0};
}

static int parse_args(int argc, char **argv, unsigned allowed, struct ops_args *a)
{
	struct cmd_opt opts[16];
	struct err e = {0};
	char where[40];
	int code;

	memset(a, 0, sizeof(*a));
	opts_of(allowed, a, opts);
	snprintf(where, sizeof(where), "ops %s", argv[0]);
	if ((code = cmd_opts_parse(where, opts, argc - 1, argv + 1)) != EXIT_OK)
		return code;
	if ((allowed & A_MANIFEST) && !a->manifest)
		return cmd_usage_error("ops %s: give the backup's manifest.json (or its directory)",
				       argv[0]);
	if ((allowed & A_OUTPUT) && !a->output) {
		a->output = BACKUP_DEFAULT_DIR;
		a->default_output = true;
	}
	if (a->target_dir && a->target_url)
		return cmd_usage_error("ops %s: give --target-dir or --target-url, not both",
				       argv[0]);
	if (a->target_url && config_check_database_url(a->target_url, &e) != ST_OK)
		return cmd_usage_error("ops %s: --target-url %s", argv[0], e.msg);
	return cmd_progress_check(&a->pf, where);
}

/*
 * The key of the option, else of the setting, into a->key (NULL when neither is set).  A key
 * that cannot be used is exit 2 before anything runs: a backup meant to be signed must not be
 * written unsigned, and a required signature must not go unchecked.  e's message names the
 * file, never its content.
 */
static int load_key(const struct config *cfg, const char *action, struct ops_args *a)
{
	bool private_key = a->signing_key || (!a->public_key && str_eq(action, "backup"));
	const char *opt = private_key ? a->signing_key : a->public_key;
	const char *setting =
		private_key ? cfg->backup_signing_key_file : cfg->backup_public_key_file;
	struct err e = {0};
	enum status st;

	a->key = NULL;
	if (!opt && !setting)
		return EXIT_OK;
	st = private_key ? ed25519_private_load(opt ? opt : setting, &a->key, &e)
			 : ed25519_public_load(opt ? opt : setting, &a->key, &e);
	if (st != ST_OK)
		return cmd_usage_error("ops %s: %s: %s", action,
				       opt ? (private_key ? "--signing-key" : "--public-key")
				       : private_key ? "setting backup_signing_key_file"
						     : "setting backup_public_key_file",
				       e.msg);
	return EXIT_OK;
}

/* parse_args, then the key of A_SIGN or A_PUBKEY (load_key); a->key is the caller's. */
static int parse_with_key(const struct config *cfg, int argc, char **argv, unsigned allowed,
			  struct ops_args *a)
{
	int code = parse_args(argc, argv, allowed, a);

	return code != EXIT_OK ? code : load_key(cfg, argv[0], a);
}

/*
 * Backups and restores allocate and free a few megabytes per batch, over
 * and over.  glibc would hand that memory back to the kernel after every
 * batch and fault it in again (a tenth of a backup's time): keep it.
 */
static void keep_heap(void)
{
	/* called before the backup starts any thread */
	mallopt(M_TRIM_THRESHOLD, 256 << 20); /* NOLINT(concurrency-mt-unsafe) */
	mallopt(M_MMAP_THRESHOLD, 32 << 20); /* NOLINT(concurrency-mt-unsafe) */
}

/* ---- backup ---- */

static json_object *backup_json(const struct ops_backup_result *r, struct store *st)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(true));
	jx_add_str(o, "backup_id", r->backup_id);
	jx_add_str(o, "manifest", r->manifest_path);
	jx_add_str(o, "manifest_sha256", r->manifest_sha256);
	jx_add_str(o, "backend", store_backend_name(st));
	jx_add_int(o, "database_schema_version", r->schema_version);
	jx_add_int(o, "files", (int64_t)r->files);
	jx_add_int(o, "rows", r->rows);
	jx_add_int(o, "bytes", r->bytes);
	jx_add_str(o, "compression", ops_compression_name(r->compression));
	jx_add_int(o, "stored_bytes", r->stored_bytes);
	jx_add_int(o, "duration_ms", r->duration_ms);
	jx_add_str(o, "record_id", r->record_id[0] ? r->record_id : NULL);
	jx_add_str(o, "record_warning", r->record_warning[0] ? r->record_warning : NULL);
	jx_add_str(o, "signing_key_id", r->signing_key_id[0] ? r->signing_key_id : NULL);
	return o;
}

/*
 * What backup and doctor do on the configured database, opened as it is:
 * print the outcome and set *code, or fail with e (nothing printed).
 */
typedef enum status (*on_database_fn)(struct store *st, const struct migration_set *set,
				      const struct ops_args *a, int *code, struct err *e);

static int on_database(const struct config *cfg, const struct ops_args *a, on_database_fn fn)
{
	struct migration_set set = {0};
	struct store *st = NULL;
	struct err e = {0};
	enum status rc;
	int code = EXIT_OK;

	if ((rc = cmd_open_existing(cfg, &st, &set, &e)) != ST_OK ||
	    (rc = fn(st, &set, a, &code, &e)) != ST_OK) {
		if (rc == ST_CONFLICT && a->default_output)
			err_wrap(&e, "pass --output DIR for a new backup");
		code = cmd_fail(rc, &e);
	}
	migrate_set_release(&set);
	store_close(st);
	return code;
}

/*
 * What backup and doctor print when they are done: that their operations
 * record could not be written, then the result as JSON (json, which this
 * frees) or the record's id after the text the caller printed.
 */
static void print_done(const char *what, const char *warning, const char *record_id,
		       json_object *json)
{
	if (warning[0])
		fprintf(stderr, "cavra: warning: the %s was not recorded: %s\n", what, warning);
	if (json)
		cmd_print_json(json, true);
	else if (record_id[0])
		printf("recorded as %s\n", record_id);
	json_object_put(json);
}

static enum status run_backup(struct store *st, const struct migration_set *set,
			      const struct ops_args *a, int *code, struct err *e)
{
	struct ops_backup_result r = {0};
	struct ops_backup_opts o = {
		.dir = a->output, .signing_key = a->key, .compress = a->compress};
	enum status rc;

	o.progress = cmd_progress_new(&a->pf, "backup");
	rc = ops_backup(st, set, &o, &r, e);
	progress_finish(o.progress, rc == ST_OK);
	progress_free(o.progress);
	*code = EXIT_OK;
	if (rc == ST_OK && !a->json)
		printf("backup %s of %s at schema version %d: %zu files, %lld rows, %lld bytes "
		       "(%lld stored, %s) in %lld ms\nmanifest %s\nsha256 %s\n%s%s\n",
		       r.backup_id, store_display_url(st), r.schema_version, r.files,
		       (long long)r.rows, (long long)r.bytes, (long long)r.stored_bytes,
		       ops_compression_name(a->compress.kind), (long long)r.duration_ms,
		       r.manifest_path, r.manifest_sha256,
		       r.signing_key_id[0] ? "signed by key " : "unsigned", r.signing_key_id);
	if (rc == ST_OK)
		print_done("backup", r.record_warning, r.record_id,
			   a->json ? backup_json(&r, st) : NULL);
	ops_backup_result_release(&r);
	return rc;
}

/* --compression, else the setting backup_compression: exit 2 when it is not one we write. */
static int parse_compression(const struct config *cfg, struct ops_args *a)
{
	const char *text = a->compression	     ? a->compression
			   : cfg->backup_compression ? cfg->backup_compression
						     : OPS_COMPRESS_DEFAULT;
	struct err e = {0};

	if (ops_compress_parse(text, &a->compress, &e) != ST_OK)
		return cmd_usage_error(
			"ops backup: %s: %s",
			a->compression ? "--compression" : "setting backup_compression", e.msg);
	return EXIT_OK;
}

static int ops_backup_cmd(struct config *cfg, int argc, char **argv)
{
	struct ops_args a;
	int code = parse_with_key(cfg, argc, argv,
				  A_OUTPUT | A_JSON | A_MISSING | A_SIGN | A_PROGRESS | A_COMPRESS,
				  &a);

	if (code == EXIT_OK)
		code = parse_compression(cfg, &a);
	if (code == EXIT_OK)
		code = on_database(cfg, &a, run_backup);
	ed25519_key_free(a.key);
	return code;
}

/* ---- verify ---- */

/*
 * Whether the backup is signed and by which key (into buf), and whether that key was the one
 * required: without a configured key a signature only shows that the manifest is undamaged.
 */
static const char *signature_note(const struct ops_signature *s, char *buf, size_t size)
{
	if (!s->present)
		return "unsigned (configure backup_public_key_file to require signatures)";
	snprintf(buf, size, "signed by key %s%s", s->key_id,
		 s->pinned ? ", the configured key"
			   : " (no public key configured: signatures are not required)");
	return buf;
}

/* ", K seals checked", or that none is sealed though keys were given; "" without keys. */
static const char *seals_note(const struct ops_verify_chain *c, char *buf, size_t size)
{
	if (!c->seals_checked)
		return "";
	if (c->sealed == 0 && c->entries > 0)
		return "; no entry is sealed though a seal key is set: "
		       "the chain predates the key, or its seals were removed";
	snprintf(buf, size, ", %lld seals checked", (long long)c->sealed);
	return buf;
}

/* "; audit chain: ..." for the ok line, or "" when the backup carries no chain. */
static const char *chain_note(const struct ops_verify_chain *c, char *buf, size_t size)
{
	char unchained[160] = "", seals[64];

	if (!c->present)
		return "";
	if (!c->checked) {
		snprintf(buf, size, "; audit chain: not checked: %s", c->why_not);
		return buf;
	}
	if (c->unchained)
		snprintf(unchained, sizeof(unchained),
			 "; %lld record%s without an entry (rows written behind cavra's back, or "
			 "added to the backup: check the source with 'cavra audit verify')",
			 (long long)c->unchained, c->unchained == 1 ? "" : "s");
	snprintf(buf, size,
		 "; audit chain: %lld entries verified against the backup's lines%s%s%s%s",
		 (long long)c->entries, c->checkpoint_seq ? " and the checkpoint's entry" : "",
		 c->in_order ? "" : " (proved whole: the file is in hash order)",
		 seals_note(c, seals, sizeof(seals)), unchained);
	return buf;
}

/* "; session counters: ..." for the ok line, or "" when the backup has no sessions to check. */
static const char *counters_note(const struct ops_verify_counters *c, char *buf, size_t size)
{
	if (!c->present)
		return "";
	if (!c->checked)
		snprintf(buf, size, "; session counters: not checked: %s", c->why_not);
	else if (!c->described)
		snprintf(buf, size,
			 "; session counters: %lld session%s checked against %s "
			 "decision lines (descriptions not checked: %s)",
			 (long long)c->sessions, c->sessions == 1 ? "" : "s",
			 c->sessions == 1 ? "its" : "their", c->describe_why_not);
	else
		snprintf(buf, size,
			 "; session counters: %lld session%s checked against %s "
			 "decision lines, and the descriptions of %lld that their decisions gave",
			 (long long)c->sessions, c->sessions == 1 ? "" : "s",
			 c->sessions == 1 ? "its" : "their", (long long)c->decision_made);
	return buf;
}

/*
 * --checkpoint with --checkpoint-key: the signed checkpoint whose entry the backup's chain must
 * hold (docs/backup-format.md).  One without the other, or a key that cannot be used, is exit
 * 2; a checkpoint that does not verify is exit 1, as with `audit verify --checkpoint`.
 */
static int load_checkpoint(const struct ops_args *a, struct audit_checkpoint *cp)
{
	struct ed25519_key *pub = NULL;
	struct err e = {0};
	enum status st;

	memset(cp, 0, sizeof(*cp));
	if (!a->checkpoint && !a->checkpoint_key)
		return EXIT_OK;
	if (!a->checkpoint || !a->checkpoint_key)
		return cmd_usage_error("ops verify: --checkpoint and --checkpoint-key go together");
	if (ed25519_public_load(a->checkpoint_key, &pub, &e) != ST_OK)
		return cmd_usage_error("ops verify: --checkpoint-key: %s", e.msg);
	st = audit_checkpoint_load(a->checkpoint, pub, cp, &e);
	ed25519_key_free(pub);
	if (st == ST_OK)
		return EXIT_OK;
	fprintf(stderr, "cavra: ops verify: the checkpoint '%s' does not verify: %s\n",
		a->checkpoint, e.msg);
	return EXIT_FAIL;
}

/* A checkpoint given whose entry could not be looked for is no proof: a problem. */
static bool checkpoint_checked(const struct audit_checkpoint *cp, struct ops_verify_result *r)
{
	/* refused, or no manifest to read: that is the finding */
	if (cp->seq == 0 || r->refused || !r->manifest || r->chain.checkpoint_seq)
		return true;
	ops_report_add(&r->problems, "chain", OPS_MANIFEST_NAME,
		       "the checkpoint (seq %lld) could not be checked: %s", (long long)cp->seq,
		       r->chain.present ? r->chain.why_not : "the backup carries no audit chain");
	return false;
}

/*
 * The keys the chain's seals are checked under: --seal-key-file's, else audit_seal_key_file's
 * (*set false when neither is given).  A key file that cannot be used is exit 2.
 */
static int load_seal_keys(const struct config *cfg, const struct ops_args *a,
			  struct seal_keys *keys, bool *set)
{
	struct err e = {0};
	enum status st;

	*set = false;
	if (a->seal_key_file) {
		st = cmd_key_file("--seal-key-file", a->seal_key_file, seal_audit_key, keys, &e);
		*set = st == ST_OK;
	} else {
		st = cmd_seal_key(cfg, keys, set, &e);
	}
	return st == ST_OK ? EXIT_OK : cmd_usage_error("ops verify: %s", e.msg);
}

/* What verify checks the backup against besides itself: a checkpoint, the seal keys. */
struct verify_against {
	struct audit_checkpoint cp;
	struct seal_keys keys;
	bool sealed; /* keys were given */
};

static int verify_against(const struct config *cfg, struct ops_args *a, struct verify_against *va,
			  struct ops_verify_opts *vo)
{
	int code = load_checkpoint(a, &va->cp);

	if (code == EXIT_OK)
		code = load_seal_keys(cfg, a, &va->keys, &va->sealed);
	if (code != EXIT_OK) {
		ed25519_key_free(a->key);
		return code;
	}
	vo->public_key = a->key;
	vo->catalogue = true;
	vo->chain = true;
	vo->checkpoint_seq = va->cp.seq;
	vo->checkpoint_hash = va->cp.hash;
	vo->seal_keys = va->sealed ? &va->keys : NULL;
	return EXIT_OK;
}

static int ops_verify_cmd(struct config *cfg, int argc, char **argv)
{
	struct ops_verify_result r;
	struct ops_verify_opts vo = {0};
	struct verify_against va;
	struct ops_args a;
	int code = parse_with_key(cfg, argc, argv,
				  A_MANIFEST | A_JSON | A_PUBKEY | A_PROGRESS | A_CHECKPOINT, &a);
	char note[200], chain[600], counters[240];
	bool ok;

	if (code == EXIT_OK)
		code = verify_against(cfg, &a, &va, &vo);
	if (code != EXIT_OK)
		return code;
	vo.progress = cmd_progress_new(&a.pf, "verify");
	ok = ops_verify_with(a.manifest, &vo, &r);
	progress_finish(vo.progress, ok);
	progress_free(vo.progress);
	ed25519_key_free(a.key);
	memset(&va.keys, 0, sizeof(va.keys));
	/* a file not read to its end is no finding about the backup: only the stop is told */
	if (!ok && cmd_interrupted("ops verify")) {
		ops_verify_result_release(&r);
		return EXIT_FAIL;
	}
	ok = checkpoint_checked(&va.cp, &r) && ok;
	if (a.json) {
		json_object *o = ops_verify_json(&r);

		cmd_print_json(o, true);
		json_object_put(o);
	} else if (ok) {
		printf("ok: %s: %zu files, %lld rows, %lld bytes; manifest sha256 %s; %s%s%s\n",
		       r.manifest_path, r.files, (long long)r.rows, (long long)r.bytes,
		       r.manifest_sha256, signature_note(&r.signature, note, sizeof(note)),
		       counters_note(&r.counters, counters, sizeof(counters)),
		       chain_note(&r.chain, chain, sizeof(chain)));
	} else if (r.refused) {
		printf("FAILED: %s: ", r.manifest_path);
		str_fput_printable(stdout, r.problems.items[0].msg);
		putchar('\n');
	} else {
		printf("FAILED: %s: %zu problem%s\n", r.manifest_path, r.problems.n,
		       r.problems.n == 1 ? "" : "s");
		cmd_print_problems(&r.problems, stdout);
	}
	ops_verify_result_release(&r);
	return ok ? EXIT_OK : EXIT_FAIL;
}

/* ---- recording restores ---- */

/*
 * Records a restore or restore test in the configured database and adds
 * record_id (or record_warning) to doc.  False when it could not.
 */
static bool record_in_config_db(const struct config *cfg, struct ops_record *rec, json_object *doc)
{
	struct migration_set set = {0};
	struct store *st = NULL;
	char id[OPS_ID_LEN] = "";
	struct err e = {0};
	enum status rc = cmd_open_existing(cfg, &st, &set, &e);

	if (rc == ST_OK)
		rc = ops_record_add(st, rec, id, &e);
	store_close(st);
	migrate_set_release(&set);
	jx_add_str(doc, "record_id", rc == ST_OK ? id : NULL);
	jx_add_str(doc, "record_warning", rc == ST_OK ? NULL : e.msg);
	return rc == ST_OK;
}

static json_object *restore_details(const struct ops_restore_result *r, json_object *doc,
				    const char *command)
{
	json_object *d = json_object_new_object();

	jx_add_str(d, "command", command);
	jx_add_str(d, "backup_id", jx_get_str(doc, "backup_id"));
	jx_add_str(d, "target", r->target);
	jx_add_str(d, "target_backend", r->target_backend);
	jx_add_int(d, "rows", r->rows);
	jx_add_int(d, "duration_ms", r->duration_ms);
	return d;
}

/* ---- restore ---- */

static void restore_opts(const struct config *cfg, const struct ops_args *a,
			 struct ops_restore_opts *o, bool *configured)
{
	memset(o, 0, sizeof(*o));
	o->manifest = a->manifest;
	o->target_dir = a->target_dir;
	o->target_url = a->target_url;
	o->migrations_dir = cfg->migrations_dir;
	o->public_key = a->key;
	o->overwrite = a->overwrite;
	o->maintenance_work_mem_mb = cfg->restore_maintenance_work_mem_mb;
	*configured =
		!a->target_dir && (!a->target_url || str_eq(a->target_url, cfg->database_url) ||
				   str_eq(a->target_url, config_migration_url(cfg)));
	if (*configured) {
		/*
		 * The configured database, restored wholly through the migration (owner) URL
		 * when one is set: replacing tables drops and rebuilds their indexes and empties
		 * them, which the least-privilege data role of docs/migrations.md may not do.
		 */
		o->target_url = config_migration_url(cfg);
		o->migration_url = o->target_url;
	}
}

static int run_restore(const struct config *cfg, const struct ops_args *a)
{
	struct ops_restore_result r;
	struct ops_restore_opts o;
	struct err e = {0}, chain = {0};
	int64_t started = time_now_us();
	bool configured;
	json_object *doc, *details;
	enum status st;
	int code;

	if (ops_backup_is_v1(a->manifest))
		return cmd_usage_error("ops restore: '%s' is an original CAVRA backup (%s); "
				       "use 'cavra ops import --backup %s'",
				       a->manifest, OPS_V1_FORMAT, a->manifest);
	restore_opts(cfg, a, &o, &configured);
	o.progress = cmd_progress_new(&a->pf, "restore");
	st = ops_restore(&o, &r, &e);
	/* the restored chain is checked before anything is printed: progress ends after it */
	if (st == ST_OK)
		code = cmd_restored_chain(cfg, &r, o.progress, &chain);
	else /* a target that is not cavra's is bad input, as it is to every command */
		code = st == ST_INVALID && r.foreign_target ? EXIT_USAGE : EXIT_FAIL;
	progress_finish(o.progress, code == EXIT_OK);
	progress_free(o.progress);
	/* a restore whose chain does not verify is committed, and still not a success */
	doc = ops_restore_json(&r, st == ST_OK ? &chain : &e);
	jx_add_str(doc, "kind", configured ? "restore" : "restore_test");
	if (st == ST_OK) {
		struct ops_record rec = {.kind = configured ? "restore" : "restore_test",
					 .succeeded = code == EXIT_OK,
					 .manifest_sha256 = r.verify.manifest_sha256,
					 .location = r.target,
					 .started_us = started,
					 .finished_us = time_now_us()};

		details = restore_details(&r, doc, "restore");
		rec.details = details;
		if (!record_in_config_db(cfg, &rec, doc))
			fprintf(stderr, "cavra: warning: the restore was not recorded: %s\n",
				jx_get_str(doc, "record_warning"));
		json_object_put(details);
	}
	cmd_print_json(doc, true);
	if (st != ST_OK)
		fprintf(stderr, "cavra: %s\n", e.msg);
	if (st != ST_OK && st != ST_INTERRUPTED && r.verify.problems.n && !r.verify.refused)
		cmd_print_problems(&r.verify.problems, stderr);
	json_object_put(doc);
	ops_restore_result_release(&r);
	return code;
}

static int ops_restore_cmd(struct config *cfg, int argc, char **argv)
{
	struct ops_args a;
	int code =
		parse_with_key(cfg, argc, argv, A_MANIFEST | A_TARGETS | A_PUBKEY | A_PROGRESS, &a);

	if (code == EXIT_OK)
		code = run_restore(cfg, &a);
	ed25519_key_free(a.key);
	return code;
}

/* ---- restore test ---- */

static json_object *test_details(const struct ops_restore_test_result *r, json_object *doc)
{
	json_object *d = restore_details(&r->restore, doc, "restore-test");

	json_object_object_add(d, "checks", ops_restore_test_checks_json(r));
	jx_add_int(d, "problems", (int64_t)r->restore.verify.problems.n);
	return d;
}

/*
 * A backup refused for its signature is a failed restore test like any other (recorded as
 * evidence), with the reason on stderr as well.
 */
static int run_restore_test(const struct config *cfg, const struct ops_args *a)
{
	struct ops_restore_test_result r;
	struct err e = {0};
	enum status rc;
	int64_t started = time_now_us();
	const char *tmp = getenv("TMPDIR");
	char *where;
	json_object *doc, *details;
	struct ops_record rec = {.kind = "restore_test", .started_us = started};
	struct progress *p = cmd_progress_new(&a->pf, "restore-test");
	bool recorded;
	int code;

	struct cmd_chain_test chain = {cfg, p};
	const struct ops_restore_test_opts o = {.manifest = a->manifest,
						.public_key = a->key,
						.scratch_parent = a->scratch_dir ? a->scratch_dir
								  : tmp && *tmp	 ? tmp
										 : "/tmp",
						.progress = p,
						.extra_name = "audit_chain",
						.extra_check = cmd_restored_chain_test,
						.extra_ctx = &chain};

	rc = ops_restore_test(&o, &r, &e);
	progress_finish(p, rc == ST_OK && r.ok);
	progress_free(p);
	if (rc != ST_OK) {
		ops_restore_test_result_release(&r);
		return cmd_fail(rc, &e);
	}
	doc = ops_restore_test_json(&r, r.ok ? NULL : &e);
	where = realpath(r.restore.verify.manifest_path, NULL);
	details = test_details(&r, doc);
	rec.succeeded = r.ok;
	rec.manifest_sha256 = ops_is_sha256(r.restore.verify.manifest_sha256)
				      ? r.restore.verify.manifest_sha256
				      : NULL;
	rec.location = where ? where : r.restore.verify.manifest_path;
	rec.finished_us = time_now_us();
	rec.details = details;
	recorded = record_in_config_db(cfg, &rec, doc);
	cmd_print_json(doc, true);
	if (r.restore.verify.refused)
		fprintf(stderr, "cavra: %s\n", e.msg);
	if (!recorded)
		fprintf(stderr, "cavra: the restore test could not be recorded as evidence: %s\n",
			jx_get_str(doc, "record_warning"));
	json_object_put(details);
	json_object_put(doc);
	free(where);
	code = r.ok && recorded ? EXIT_OK : EXIT_FAIL;
	ops_restore_test_result_release(&r);
	return code;
}

static int ops_restore_test_cmd(struct config *cfg, int argc, char **argv)
{
	struct ops_args a;
	int code =
		parse_with_key(cfg, argc, argv, A_MANIFEST | A_SCRATCH | A_PUBKEY | A_PROGRESS, &a);

	if (code == EXIT_OK)
		code = run_restore_test(cfg, &a);
	ed25519_key_free(a.key);
	return code;
}

/* ---- doctor ---- */

/* "TABLE ID COLUMN: PROBLEMTAIL": the id, read from the database, with controls escaped. */
static void doctor_line(const char *table, const char *id, const char *column, const char *problem,
			const char *tail)
{
	printf("%s ", table);
	str_fput_printable(stdout, id);
	printf(" %s: %s%s\n", column, problem, tail);
}

static void print_doctor(const struct ops_doctor_result *r, bool fix)
{
	for (size_t i = 0; i < r->n; i++)
		doctor_line(r->items[i].table, r->items[i].id, r->items[i].column,
			    "not valid UTF-8", fix ? ", rewritten with U+FFFD" : "");
	for (size_t i = 0; i < r->ndamaged; i++)
		doctor_line(r->damaged[i].table, r->damaged[i].id, r->damaged[i].column,
			    r->damaged[i].problem,
			    " (edited in the database?); --fix leaves it as it is");
	if (r->ndamaged)
		printf("%zu stored JSON value%s that do%s not parse: restore the record%s from a "
		       "backup, or correct %s by hand\n",
		       r->ndamaged, r->ndamaged == 1 ? "" : "s", r->ndamaged == 1 ? "es" : "",
		       r->ndamaged == 1 ? "" : "s", r->ndamaged == 1 ? "it" : "them");
	if (fix)
		printf("%lld rows scanned, %zu values not valid UTF-8, %lld rewritten\n",
		       (long long)r->rows_scanned, r->n, (long long)r->fixed);
	else
		printf("%lld rows scanned, %zu values not valid UTF-8%s\n",
		       (long long)r->rows_scanned, r->n,
		       r->n ? " (run 'cavra ops doctor --fix' to rewrite them)" : "");
}

static enum status run_doctor(struct store *st, const struct migration_set *set,
			      const struct ops_args *a, int *code, struct err *e)
{
	struct ops_doctor_result r = {0};
	enum status rc = ops_doctor(st, a->fix, &r, e);

	UNUSED(set);
	if (rc == ST_OK && !a->json)
		print_doctor(&r, a->fix);
	if (rc == ST_OK)
		print_done("fix", r.record_warning, r.record_id,
			   a->json ? ops_doctor_json(&r, a->fix) : NULL);
	/* like verify: something found and left as it is is exit 1 */
	*code = (r.n && !a->fix) || r.ndamaged ? EXIT_FAIL : EXIT_OK;
	ops_doctor_result_release(&r);
	return rc;
}

static int ops_doctor_cmd(struct config *cfg, int argc, char **argv)
{
	struct ops_args a;
	int code = parse_args(argc, argv, A_FIX | A_JSON, &a);

	return code != EXIT_OK ? code : on_database(cfg, &a, run_doctor);
}

int cmd_ops_data(struct config *cfg, int argc, char **argv)
{
	keep_heap();
	if (strcmp(argv[0], "backup") == 0)
		return ops_backup_cmd(cfg, argc, argv);
	if (strcmp(argv[0], "verify") == 0)
		return ops_verify_cmd(cfg, argc, argv);
	if (strcmp(argv[0], "restore") == 0)
		return ops_restore_cmd(cfg, argc, argv);
	if (strcmp(argv[0], "restore-test") == 0)
		return ops_restore_test_cmd(cfg, argc, argv);
	if (strcmp(argv[0], "doctor") == 0)
		return ops_doctor_cmd(cfg, argc, argv);
	return -1;
}
