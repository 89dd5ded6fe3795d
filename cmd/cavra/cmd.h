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

/* argv[0] is the subcommand's own name; settings flags are already removed. */
int cmd_migrate(struct config *cfg, int argc, char **argv);
int cmd_serve(struct config *cfg, int argc, char **argv);
int cmd_ops(struct config *cfg, int argc, char **argv);

struct store;
struct migration_set;
/*
 * Opens the configured database with pool_size connections and checks its
 * schema ("refusing to <verb>: ..." on drift or pending migrations, unless
 * auto-migrate applies them).  *st and *set are the caller's to release
 * even on failure.
 */
ATTR_NODISCARD enum status cmd_open_database(const struct config *cfg, const char *verb,
					     int pool_size, struct store **st,
					     struct migration_set *set, struct err *e);

#endif
