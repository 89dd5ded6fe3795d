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

/* ST_CONFLICT when c holds the original CAVRA's tables (adoption not done yet). */
ATTR_NODISCARD enum status migrate_refuse_original(struct store_conn *c, struct err *e);

#endif
