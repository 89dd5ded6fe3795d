/*
 * adopt.h - the records of an original CAVRA SQLite database moved into
 * cavra's tables, the data half of migrate_adopt_sqlite
 * (docs/migrations.md, "Adopting an original CAVRA pilot database").
 */
#ifndef CAVRA_SERVICE_ADOPT_H
#define CAVRA_SERVICE_ADOPT_H

#include "store/store.h"

#define ADOPT_TABLES 9

/* What the adoption moved: records per original table, in its order. */
struct progress;

struct adopt_result {
	const char *tables[ADOPT_TABLES];
	int64_t records[ADOPT_TABLES];
	int64_t sessions; /* sessions recounted from their decisions */
	/*
	 * In: set by the caller (borrowed; NULL: none), kept by service_adopt_records.  The
	 * phase "adopt" of every original record (counted first), one item per table, then
	 * "recount sessions".
	 */
	struct progress *progress;
};

/*
 * A migrate_records_fn (ctx: struct adopt_result *): reads every record of
 * the original's tables (renamed "original_<name>"), fills what its payload
 * lacks from the table's columns and the original's defaults, checks it as
 * an import would and stores it; then recounts every session from its
 * decisions.  The first bad record stops it: ST_INVALID or the store's
 * error, naming the table, the record id and the reason.
 */
ATTR_NODISCARD enum status service_adopt_records(void *ctx, struct store_conn *c, struct err *e);

#endif
