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

#endif
