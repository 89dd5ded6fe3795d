/*
 * cmd.h - the subcommands of the cavra binary.  Only cmd/ chooses exit
 * codes: 0 ok, 1 failure or drift, 2 usage or a bad setting.
 */
#ifndef CAVRA_CMD_H
#define CAVRA_CMD_H

#include "base/base.h"
#include "base/err.h"
#include "config/config.h"

#include <pthread.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/*
 * Prints "cavra: <msg>" on stderr and returns the exit code for st, the status the failed
 * call returned (2 for ST_INVALID, else 1); e holds that call's message.
 */
int cmd_fail(enum status st, const struct err *e);
/*
 * Whether a signal stopped the command (base/interrupt.h); if so, prints "cavra: <where>:
 * interrupted by SIGINT" on stderr, the one line to show instead of the failures the stop
 * caused (files a verifier could not finish reading are not problems of the backup).
 */
bool cmd_interrupted(const char *where);
/* Prints "cavra: <msg>" on stderr and returns EXIT_USAGE: cmd_usage_error's worker. */
int cmd_usage_print(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* Returns EXIT_USAGE, where the analyzer can see it. */
static inline int cmd_usage_code_(int printed)
{
	(void)printed;
	return EXIT_USAGE;
}
/*
 * Prints "cavra: <msg>" and returns EXIT_USAGE.  A macro for the reason err_set is one: clang's
 * analyzer then sees the exit code in every caller's file.
 */
#define cmd_usage_error(...) cmd_usage_code_(cmd_usage_print(__VA_ARGS__))

struct json_object;
/*
 * cmd_print.c: prints o (borrowed) as indented JSON on stdout, '/' not
 * escaped.  spaced puts a space after each ':' (the ops documents);
 * `migrate status --json` has always printed without it.
 */
void cmd_print_json(struct json_object *o, bool spaced);
struct ops_report;
/*
 * cmd_print.c: each problem of rep as "  KIND: PATH: MESSAGE" on f, the path and message
 * (which carry names and ids read from a backup or a database) with what a terminal acts on
 * escaped (str_fput_printable).
 */
void cmd_print_problems(const struct ops_report *rep, FILE *f);
/*
 * cmd_print.c: escaped copies (str_printable) of the values one printed line shows from a
 * database or a backup, so that a field printed with a width cannot drive the terminal either;
 * kept until cmd_shown_release.  A NULL value shows as NULL.
 */
#define CMD_SHOWN_MAX 8
struct cmd_shown {
	char *s[CMD_SHOWN_MAX];
	size_t n;
};
const char *cmd_show(struct cmd_shown *sh, const char *s);
void cmd_shown_release(struct cmd_shown *sh);

/*
 * cmd_usage.c: help, the same for every subcommand.  cmd_help_wanted: argv
 * (up to a "--") holds --help or -h.  cmd_help prints the lines of usage
 * (the top-level text) for the command argv[0] (only those of its action
 * argv[1] when it has its own) on stdout and returns EXIT_OK; an unknown
 * command is EXIT_USAGE.
 */
bool cmd_help_wanted(int argc, char **argv);
int cmd_help(const char *usage, int argc, char **argv);

/* The original's default database of `evidence migrate`. */
#define CMD_EVIDENCE_DEFAULT_DB ".cavra/evidence/metadata.db"

/* `cavra --help`: every command, its synopsis and description. */
extern const char cmd_usage_text[];

/*
 * cmd_opts.c: a command's own options are a table, ended by {0}, that
 * cmd_opts_parse reads argv against.  A flag ("--json") takes no value and
 * stores `on` in its bool target (NULL: accepted and ignored), so "--x" and
 * "--no-x" are two entries; a value option takes "--name V" or "--name=V";
 * a positional argument (name is only its label) is a word that does not
 * start with '-', filling the first such entry whose target is still NULL.
 * A value goes through take when set (which checks or converts it, and
 * returns EXIT_USAGE after one line), else into its const char * target.
 * Values are borrowed from argv.
 */
enum cmd_opt_kind { CMD_KIND_FLAG, CMD_KIND_VALUE, CMD_KIND_ARG };

struct cmd_opt;
typedef int (*cmd_opt_fn)(const struct cmd_opt *o, const char *where, const char *value);

struct cmd_opt {
	const char *name;
	enum cmd_opt_kind kind;
	void *target;
	bool on; /* what a flag stores */
	const char *needs; /* "<where>: <name> needs <needs>" when the value is missing */
	cmd_opt_fn take;
};

#define CMD_FLAG(n, t)                                                        \
	{                                                                     \
		.name = (n), .kind = CMD_KIND_FLAG, .target = (t), .on = true \
	}
#define CMD_NOFLAG(n, t)                                                       \
	{                                                                      \
		.name = (n), .kind = CMD_KIND_FLAG, .target = (t), .on = false \
	}
#define CMD_VALUE(n, t)                                            \
	{                                                          \
		.name = (n), .kind = CMD_KIND_VALUE, .target = (t) \
	}
#define CMD_TAKE(n, t, fn)                                                       \
	{                                                                        \
		.name = (n), .kind = CMD_KIND_VALUE, .target = (t), .take = (fn) \
	}
#define CMD_ARG(n, t)                                            \
	{                                                        \
		.name = (n), .kind = CMD_KIND_ARG, .target = (t) \
	}

/*
 * Parses argv[0..argc) (the words after the command and its action) against
 * opts, left to right: the first bad one is refused in one line naming it
 * and where ("ops backup: unknown option '--x'"), and EXIT_USAGE returned.
 * Targets of options not given are left as they are (the defaults).
 */
int cmd_opts_parse(const char *where, const struct cmd_opt *opts, int argc, char **argv);

/*
 * Whether the help of where (usage's entries for that command and action,
 * else for the command) names every option of opts, "--x" and "--no-x"
 * also as "--[no-]x", so that what --help says and what the parser takes
 * cannot drift apart; cmd_opts_parse asserts it in Debug builds.  A where
 * without any entry in usage is not checked (true).
 */
bool cmd_opts_documented(const char *usage, const char *where, const struct cmd_opt *opts);

/* argv[0] is the subcommand's own name; settings flags are already removed. */
int cmd_migrate(struct config *cfg, int argc, char **argv);
int cmd_serve(struct config *cfg, int argc, char **argv);
int cmd_ops(struct config *cfg, int argc, char **argv);

struct store;
struct store_options;
struct migration_set;
struct serve_auth;
struct http_auth;

/*
 * cmd_authsetup.c: the auth settings of serve (mode, issuers with an
 * initial key fetch, group mapping) and a thread that refetches keys every
 * oidc_refresh_seconds.  *out is set even on failure; stop it with
 * serve_auth_stop (NULL-safe).
 */
ATTR_NODISCARD enum status serve_auth_start(const struct config *cfg, struct serve_auth **out,
					    struct err *e);
const struct http_auth *serve_auth_http(const struct serve_auth *sa);
void serve_auth_stop(struct serve_auth *sa);
int cmd_tokens(struct config *cfg, int argc, char **argv);
/*
 * The keys of a key file (cmd_keys.c) into keys: the first line's, and a second line's while a
 * key is rotated out, each derived with derive.  ST_INVALID naming setting and path when the
 * file cannot be read, a key is shorter than CMD_KEY_MIN characters, or it has more than two
 * lines.
 */
#define CMD_KEY_MIN 32
struct seal_key;
struct seal_keys;
ATTR_NODISCARD enum status cmd_key_file(const char *setting, const char *path,
					bool (*derive)(const char *secret, struct seal_key *key),
					struct seal_keys *keys, struct err *e);
/*
 * api_token_key_file's keys into keys (cmd_key_file), *set true; *set false when the setting
 * is unset.
 */
ATTR_NODISCARD enum status cmd_token_key(const struct config *cfg, struct seal_keys *keys,
					 bool *set, struct err *e);
/* audit_seal_key_file's keys (cmd_key_file), as cmd_token_key: *set false when it is unset. */
ATTR_NODISCARD enum status cmd_seal_key(const struct config *cfg, struct seal_keys *keys, bool *set,
					struct err *e);
int cmd_auth(struct config *cfg, int argc, char **argv);
/* cmd_audit.c: `cavra audit verify|checkpoint|adopt`. */
int cmd_audit(struct config *cfg, int argc, char **argv);
struct audit_break;
struct ops_restore_result;
struct progress;
/*
 * cmd_ops_chain.c: the restored chain of r (r->url) checked against the backup's audit_head,
 * with audit_seal_key_file's seals, and the sessions whose counters the loaded decision lines
 * do not bear out (r->counters).  One line on stderr says whether the chain was carried or is
 * to be rebuilt; EXIT_OK, or EXIT_FAIL with *out set and printed (the restore is committed).
 * p (borrowed, NULL: none) is cleared before anything is printed.
 */
int cmd_restored_chain(const struct config *cfg, const struct ops_restore_result *r,
		       struct progress *p, struct err *out);
/* What cmd_restored_chain_test reads: both borrowed. */
struct cmd_chain_test {
	const struct config *cfg;
	struct progress *progress;
};
/*
 * The same check as restore-test's audit_chain check (an ops_restore_test_check_fn; ctx: a
 * struct cmd_chain_test): the outcome in detail[size], breaks on stderr.
 */
bool cmd_restored_chain_test(void *ctx, const struct ops_restore_result *r, char *detail,
			     size_t size);
/* An audit_break_fn: one line per break on ctx (a FILE *; NULL: stdout). */
void cmd_audit_print_break(void *ctx, const struct audit_break *b);
/*
 * Opens the configured database with the pool of opt and checks its
 * schema ("refusing to <verb>: ..." on drift or pending migrations, unless
 * auto-migrate applies them).  *st and *set are the caller's to release
 * even on failure.
 */
ATTR_NODISCARD enum status cmd_open_database(const struct config *cfg, const char *verb,
					     const struct store_options *opt, struct store **st,
					     struct migration_set *set, struct err *e);
/*
 * Chains the decisions a database held before migration 015 when its chain
 * head says they wait (store_chain_adopt); nothing before 015 or after.  progress (borrowed,
 * NULL: none) gets the phase "audit chain".
 */
struct progress;
ATTR_NODISCARD enum status cmd_chain_adopt(struct store *st, struct progress *progress,
					   struct err *e);
/*
 * Opens the configured database as it is, for `cavra ops` and `cavra audit`: no migrations
 * are applied, and a SQLite file that does not exist is ST_NOT_FOUND instead of being
 * created.  A database that is not cavra's, or that no migration has touched, is refused
 * as migrate_require_cavra says.  *st and *set are the caller's to release.
 */
ATTR_NODISCARD enum status cmd_open_existing(const struct config *cfg, struct store **st,
					     struct migration_set *set, struct err *e);
/* cmd_serve_audit.c: the audit checkpoints serve writes (audit_checkpoint_dir). */
struct ed25519_key;
struct audit_watch;
struct serve_checkpoints {
	struct ed25519_key *key; /* NULL: none are written */
	const char *dir; /* borrowed from the config */
	int64_t every_us, last_seq;
	int64_t scanned_us; /* when the directory was last scanned for checkpoints (0: never) */
	struct seal_keys *seal_keys; /* audit_seal_key_file's (NULL: unset) */
	struct audit_watch *watch; /* what is checked before each is signed */
	struct store *store; /* the checks' own connection (serve_checkpoints_open) */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC; signalled by serve_checkpoints_halt */
	bool running, stop;
};
/*
 * Reads the keys, creates the directory and trusts the newest checkpoint in it that the key
 * signed; nothing to do when neither setting is set.
 */
ATTR_NODISCARD enum status serve_checkpoints_start(const struct config *cfg,
						   struct serve_checkpoints *sc, struct err *e);
/*
 * The checks' own connection to the configured database, once its schema was checked: a walk
 * of the whole chain is one statement, which db_statement_timeout_ms (a request's bound) would
 * cut, and it must not hold one of the requests' connections.
 */
ATTR_NODISCARD enum status serve_checkpoints_open(const struct config *cfg,
						  struct serve_checkpoints *sc, struct err *e);
/*
 * Starts the thread that checks and signs: at once, then every audit_checkpoint_seconds, a
 * checkpoint when the head moved and the chain since the last one checks out
 * (audit_watch_check); breaks and failures are logged, not fatal.
 */
ATTR_NODISCARD enum status serve_checkpoints_run(struct serve_checkpoints *sc, struct err *e);
/* Stops that thread, a check in progress at its next entry, and waits for it. */
void serve_checkpoints_halt(struct serve_checkpoints *sc);
void serve_checkpoints_stop(struct serve_checkpoints *sc);
/*
 * cmd_progress.c: --progress and --quiet of the long commands.  CMD_PROGRESS_OPTS(f) are the
 * two entries of a command's option table; cmd_progress_check refuses both at once (exit 2).
 * cmd_progress_new returns the command's reporter (progress_free; NULL when progress is off:
 * stderr not a terminal and no --progress, or --quiet), and with --quiet raises the log level
 * to warnings.  cmd_info prints one informational line on stderr unless --quiet was given.
 */
struct cmd_progress {
	bool progress, quiet;
};
#define CMD_PROGRESS_OPTS(f) \
	CMD_FLAG("--progress", &(f)->progress), CMD_FLAG("--quiet", &(f)->quiet)
int cmd_progress_check(const struct cmd_progress *f, const char *where);
struct progress;
struct progress *cmd_progress_new(const struct cmd_progress *f, const char *command);
void cmd_info(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* cmd_ops_backup.c and cmd_ops_status.c: the ops actions; -1 when argv[0] is not theirs. */
int cmd_ops_data(struct config *cfg, int argc, char **argv);
int cmd_ops_status(struct config *cfg, int argc, char **argv);

#endif
