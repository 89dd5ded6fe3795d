/*
 * migrate_int.h - private to internal/migrate: what the adoption of an
 * original database shares with the runner.
 */
#ifndef CAVRA_MIGRATE_INT_H
#define CAVRA_MIGRATE_INT_H

#include "migrate/migrate.h"

/* Every table that a recorded legacy migration creates must exist. */
ATTR_NODISCARD enum status migrate_check_legacy_row(struct store_conn *c,
						    const struct migration_set *set,
						    const struct ledger_row *row, struct err *e);

/* ST_INVALID when c holds the original CAVRA's tables (adoption not done yet). */
ATTR_NODISCARD enum status migrate_refuse_original(struct store_conn *c, struct err *e);

/* The runner's own DDL of the ledger, which `migrate sql` prints for a DBA. */
enum migrate_ledger_part {
	MIGRATE_LEDGER_TABLE, /* CREATE TABLE IF NOT EXISTS, in kind's dialect */
	MIGRATE_LEDGER_INDEX, /* its unique index on version */
	MIGRATE_LEDGER_COMPAT /* ALTER TABLE adding compatibility to an older ledger */
};
const char *migrate_ledger_sql(enum store_kind kind, enum migrate_ledger_part part);

#endif
