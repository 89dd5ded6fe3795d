/*
 * store_console.c - the web console's logins in flight and sessions
 * (console_sessions) on both backends, keyed by a SHA-256 of the cookie or
 * state: put, take a login once, read a live session, count pending
 * logins (the cap), purge the expired.
 */
#include "base/base.h"
#include "store/store_console.h"
#include "store/store_query.h"
#include "base/num.h"

#include <stdlib.h>
#include <string.h>

/* The columns subject, actor, issuer, expires_at, payload, in order. */
#define COL(member, kind) STORE_FIELD(struct console_row, member, kind)
static const struct store_field console_field[] = {COL(subject, TEXT), COL(actor, TEXT),
						   COL(issuer, TEXT), COL(expires_at, TIME),
						   COL(payload, TEXT)};
#undef COL
static const struct store_fields console_fields = {console_field, ARRAY_SIZE(console_field),
						   sizeof(struct console_row)};

void store_console_row_release(struct console_row *r)
{
	store_fields_release(r, &console_fields);
}

/*
 * Expired rows are deleted here and by the server's periodic purge; the session
 * lookup does not trust that they are gone and checks expires_at itself.
 */
enum status store_console_purge(struct store *st, const char *now, struct err *e)
{
	static const char purge[] = "DELETE FROM console_sessions WHERE expires_at <= $1";

	return store_run_exec(st, purge, 1, &now, NULL, e);
}

/*
 * Purging before each insert keeps the table bounded by the logins and sessions
 * still valid, also between two periodic purges (a burst of abandoned logins).
 */
enum status store_console_put(struct store *st, const char *hash, enum console_kind kind,
			      const struct console_row *r, const char *now, struct err *e)
{
	static const char insert[] =
		"INSERT INTO console_sessions (session_hash, kind, subject, actor, issuer, "
		"created_at, expires_at, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
	const char *p[8] = {hash,	   kind == CONSOLE_LOGIN ? "login" : "session",
			    r->subject,	   r->actor,
			    r->issuer,	   now,
			    r->expires_at, r->payload};
	enum status rc = store_console_purge(st, now, e);

	return rc == ST_OK ? store_run_exec(st, insert, 8, p, NULL, e) : rc;
}

/*
 * DELETE ... RETURNING (both backends have it) reads and removes the login state
 * in one statement, so one state can complete one login only: a replayed callback
 * finds nothing, also when two arrive at the same time.
 */
enum status store_console_take_login(struct store *st, const char *hash, struct console_row *out,
				     struct err *e)
{
	static const char sql[] = "DELETE FROM console_sessions WHERE session_hash = $1 AND "
				  "kind = 'login' RETURNING subject, actor, issuer, expires_at, "
				  "payload";
	enum status rc = store_run_row(st, sql, 1, &hash, &console_fields, out, e);

	return rc == ST_NOT_FOUND ? err_set(e, rc, "unknown or already used login state") : rc;
}

enum status store_console_session(struct store *st, const char *hash, const char *now,
				  struct console_row *out, struct err *e)
{
	static const char sql[] =
		"SELECT subject, actor, issuer, expires_at, payload FROM console_sessions "
		"WHERE session_hash = $1 AND kind = 'session' AND expires_at > $2";
	const char *p[2] = {hash, now};
	enum status rc = store_run_row(st, sql, 2, p, &console_fields, out, e);

	return rc == ST_NOT_FOUND ? err_set(e, rc, "no such session, or it expired") : rc;
}

enum status store_console_logins_pending(struct store *st, const char *now, int64_t *count,
					 struct err *e)
{
	static const char sql[] = "SELECT count(*) FROM console_sessions WHERE kind = 'login' AND "
				  "expires_at > $1";
	struct store_rows *r = NULL;
	enum status rc = store_run_query(st, sql, 1, &now, &r, e);

	if (rc == ST_OK &&
	    (store_rows_count(r) != 1 || !str_to_i64(store_rows_get(r, 0, 0), 0, INT64_MAX, count)))
		rc = err_set(e, ST_INTERNAL, "count of console logins: not a number");
	store_rows_free(r);
	return rc;
}

enum status store_console_delete(struct store *st, const char *hash, struct err *e)
{
	return store_run_exec(st, "DELETE FROM console_sessions WHERE session_hash = $1", 1, &hash,
			      NULL, e);
}
