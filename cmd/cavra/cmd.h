/*
 * cmd.h - the subcommands of the cavra binary.  Only cmd/ chooses exit
 * codes: 0 ok, 1 failure or drift, 2 usage or a bad setting.
 */
#ifndef CAVRA_CMD_H
#define CAVRA_CMD_H

#include "base/base.h"
#include "base/err.h"
#include "config/config.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Prints "cavra: <msg>" on stderr and returns the exit code for e->code. */
int cmd_fail(const struct err *e);
/* Prints "cavra: <msg>" and returns EXIT_USAGE. */
int cmd_usage_error(const char *fmt, ...) ATTR_PRINTF(1, 2);

struct json_object;
/*
 * cmd_print.c: prints o (borrowed) as indented JSON on stdout, '/' not
 * escaped.  spaced puts a space after each ':' (the ops documents);
 * `migrate status --json` has always printed without it.
 */
void cmd_print_json(struct json_object *o, bool spaced);

/*
 * cmd_usage.c: help and bad arguments, the same for every subcommand.
 * cmd_help_wanted: argv (up to a "--") holds --help or -h.  cmd_help
 * prints the lines of usage (the top-level text) for the command argv[0]
 * (only those of its action argv[1] when it has its own) on stdout and
 * returns EXIT_OK; an unknown command is EXIT_USAGE.  cmd_bad_arg refuses
 * arg in one line naming it ("<where>: unknown option '--x'"); switches
 * (NULL-terminated, may be NULL) are where's options that take no value,
 * so that "--json=yes" is refused as such.  Returns EXIT_USAGE.
 */
bool cmd_help_wanted(int argc, char **argv);
int cmd_help(const char *usage, int argc, char **argv);
int cmd_bad_arg(const char *where, const char *arg, const char *const *switches);

/* argv[0] is the subcommand's own name; settings flags are already removed. */
int cmd_migrate(struct config *cfg, int argc, char **argv);
int cmd_serve(struct config *cfg, int argc, char **argv);
int cmd_ops(struct config *cfg, int argc, char **argv);

struct store;
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
int cmd_auth(struct config *cfg, int argc, char **argv);
/*
 * Opens the configured database with pool_size connections and checks its
 * schema ("refusing to <verb>: ..." on drift or pending migrations, unless
 * auto-migrate applies them).  *st and *set are the caller's to release
 * even on failure.
 */
ATTR_NODISCARD enum status cmd_open_database(const struct config *cfg, const char *verb,
					     int pool_size, struct store **st,
					     struct migration_set *set, struct err *e);
/*
 * Opens the configured database as it is, for `cavra ops`: no migrations
 * are applied, and a SQLite file that does not exist is ST_NOT_FOUND
 * instead of being created.  *st and *set are the caller's to release.
 */
ATTR_NODISCARD enum status cmd_open_existing(const struct config *cfg, struct store **st,
					     struct migration_set *set, struct err *e);
/* cmd_ops_backup.c and cmd_ops_status.c: the ops actions; -1 when argv[0] is not theirs. */
int cmd_ops_data(struct config *cfg, int argc, char **argv);
int cmd_ops_status(struct config *cfg, int argc, char **argv);

#endif
