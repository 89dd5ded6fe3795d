/*
 * store_console.h - the web console's sessions and logins in flight
 * (table console_sessions), keyed by a SHA-256 hex digest.
 */
#ifndef CAVRA_STORE_CONSOLE_H
#define CAVRA_STORE_CONSOLE_H

#include "store/store.h"

enum console_kind { CONSOLE_LOGIN, CONSOLE_SESSION };

/* A row; strings owned (store_console_row_release). */
struct console_row {
	char *subject, *actor, *issuer, *expires_at, *payload;
};
void store_console_row_release(struct console_row *r);

/*
 * Deletes every row (logins in flight and sessions) that expired at or before now.
 * serve runs it on a timer (console_purge_seconds) so that unauthenticated logins never
 * outlive their expiry, even when nobody logs in again.
 */
ATTR_NODISCARD enum status store_console_purge(struct store *st, const char *now, struct err *e);
/* Writes a row; also deletes rows that expired before now (housekeeping). */
ATTR_NODISCARD enum status store_console_put(struct store *st, const char *hash,
					     enum console_kind kind, const struct console_row *r,
					     const char *now, struct err *e);
/*
 * Deletes and returns the login row with hash, in one statement, so a state
 * is used once however many callbacks race.  ST_NOT_FOUND when none.
 */
ATTR_NODISCARD enum status store_console_take_login(struct store *st, const char *hash,
						    struct console_row *out, struct err *e);
/* The session with hash that has not expired at now; ST_NOT_FOUND otherwise. */
ATTR_NODISCARD enum status store_console_session(struct store *st, const char *hash,
						 const char *now, struct console_row *out,
						 struct err *e);
/* How many logins are in flight (not expired at now): the cap's measure. */
ATTR_NODISCARD enum status store_console_logins_pending(struct store *st, const char *now,
							int64_t *count, struct err *e);
ATTR_NODISCARD enum status store_console_delete(struct store *st, const char *hash, struct err *e);

#endif
