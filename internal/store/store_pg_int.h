/*
 * store_pg_int.h - private to internal/store: what store_pg_bulk.c needs of
 * the PostgreSQL connection.
 */
#ifndef CAVRA_STORE_PG_INT_H
#define CAVRA_STORE_PG_INT_H

#include "store/store_backend.h"

#include <libpq-fe.h>

PGconn *store_pg_handle(struct store_conn *c);
/* The connect timeout of every connection cavra opens (seconds): the setting, else 5. */
int64_t store_pg_connect_timeout_s(const struct store_options *opt);
/*
 * Starts a connection to url with the pool's settings (timeouts, TCP keepalives) but named
 * app_name whatever the URL says, for the caller to finish with PQconnectPoll (libpq does not
 * apply connect_timeout there: the caller bounds the wait).  Caller owns, PQfinish; NULL only
 * when out of memory.
 */
PGconn *store_pg_connect_start(const char *url, const struct store_options *opt,
			       const char *app_name);
/* Maps a failed result to a status by SQLSTATE class; copies the message. */
enum status store_pg_error(struct store_conn *c, PGresult *res, struct err *e, const char *what);

/*
 * The name of sql's statement prepared on c, prepared now when it is new (a round trip,
 * once per connection); "" when it is to run unprepared (see run() in store_pg.c).  name
 * holds 24 bytes.
 */
enum status store_pg_prepared(struct store_conn *c, const char *sql, int nparams, char name[24],
			      struct err *e);

#endif
