/*
 * store_tokens.c - API tokens for service accounts (api_tokens) on both
 * backends: create (one unrevoked token a name), find by SHA-256, list, record
 * a use and revoke.  Only the token's digest is stored, never the token.
 */
#include "base/base.h"
#include "store/store_tokens.h"
#include "store/store_chain.h"
#include "store/store_query.h"

#include <stdlib.h>
#include <string.h>

/*
 * token_sha256 has a unique index (ux_api_tokens_token_sha256): a request's token
 * is found by its digest in one index probe, and two tokens can never share one.
 * The list order (created_at DESC, token_id) is that of ix_api_tokens_created_at_token_id.
 */
#define TOKEN_COLS                                                                    \
	"token_id, name, subject, created_by, expires_at, revoked_at, last_used_at, " \
	"created_at, payload, token_sha256"

/* The columns of TOKEN_COLS, in order. */
#define COL(member, kind) STORE_FIELD(struct token_row, member, kind)
static const struct store_field token_field[] = {COL(token_id, TEXT),	  COL(name, TEXT),
						 COL(subject, TEXT),	  COL(created_by, TEXT),
						 COL(expires_at, TIME),	  COL(revoked_at, TIME),
						 COL(last_used_at, TIME), COL(created_at, TIME),
						 COL(payload, TEXT),	  COL(sha256, TEXT)};
#undef COL
static const struct store_fields token_fields = {token_field, ARRAY_SIZE(token_field),
						 sizeof(struct token_row)};

void store_token_row_release(struct token_row *t)
{
	store_fields_release(t, &token_fields);
}

void store_token_rows_free(struct token_row *rows, size_t n)
{
	store_fields_free_all(rows, n, &token_fields);
}

/*
 * Inserts t unless a token has ever had its name, in the caller's transaction.  A revoked
 * token's name is not given again: records carry the name (recorded_by) and Idempotency-Keys
 * are scoped by it, so a second token of that name would be served the first one's stored
 * decisions and be indistinguishable from it in every record.
 *
 * The partial unique index ux_api_tokens_name_unrevoked (migration 013) is what keeps names
 * unique among unrevoked tokens: on PostgreSQL two creates of one name can both pass the
 * SELECT under READ COMMITTED, and the index then refuses the second INSERT.  The SELECT stays
 * for its message, and on SQLite, whose BEGIN IMMEDIATE already lets no other create run
 * between the two, it is the only check that fires.
 */
static enum status create_tx(struct store_conn *c, void *ctx, struct err *e)
{
	static const char exists_sql[] =
		"SELECT 1 FROM api_tokens WHERE name = $1 AND revoked_at IS NULL";
	/* revoked ones only: a create of the same name that commits between the two SELECTs is
	 * the index's to refuse ("exists"), not a revoked token (PostgreSQL, READ COMMITTED) */
	static const char revoked_sql[] =
		"SELECT 1 FROM api_tokens WHERE name = $1 AND revoked_at IS NOT NULL";
	static const char insert[] =
		"INSERT INTO api_tokens (token_id, token_sha256, name, subject, created_by, "
		"expires_at, created_at, updated_at, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, "
		"$7, $8)";
	const struct token_new *t = ctx;
	const char *p[8] = {t->token_id,   t->sha256,	  t->name, t->subject,
			    t->created_by, t->expires_at, t->now,  t->payload};
	struct err why = {0};
	bool exists = false, revoked = false;
	enum status rc = store_row_exists(c, exists_sql, 1, &t->name, &exists, e);

	if (rc == ST_OK && !exists)
		rc = store_row_exists(c, revoked_sql, 1, &t->name, &revoked, e);
	if (revoked)
		return err_set(e, ST_CONFLICT,
			       "a token called '%s' was revoked, and names are never given again "
			       "(records and Idempotency-Keys carry them): choose another name",
			       t->name);
	if (rc == ST_OK && !exists) {
		rc = store_exec(c, insert, 8, p, NULL, &why);
		/* the index names itself on PostgreSQL; SQLite names the column */
		exists = rc == ST_CONFLICT && (strstr(why.msg, "ux_api_tokens_name_unrevoked") ||
					       strstr(why.msg, "api_tokens.name"));
		if (rc != ST_OK && !exists)
			return err_set(e, rc, "%s", why.msg);
		if (rc == ST_OK)
			rc = store_chain_append_record(c, "api_tokens", t->token_id, e);
	}
	if (exists)
		rc = err_set(e, ST_CONFLICT,
			     "a token called '%s' exists; revoke it first or choose another name",
			     t->name);
	return rc;
}

enum status store_token_create(struct store *st, const struct token_new *t, struct err *e)
{
	struct token_new copy = *t; /* the callback's context is not const */

	return store_run_write(st, create_tx, &copy, e);
}

enum status store_token_find(struct store *st, const char *sha256, struct token_row *out,
			     struct err *e)
{
	static const char sql[] = "SELECT " TOKEN_COLS " FROM api_tokens WHERE token_sha256 = $1";
	enum status rc = store_run_row(st, sql, 1, &sha256, &token_fields, out, e);

	return rc == ST_NOT_FOUND ? err_set(e, rc, "unknown token") : rc;
}

enum status store_token_list(struct store *st, struct token_row **rows, size_t *n, struct err *e)
{
	static const char sql[] =
		"SELECT " TOKEN_COLS " FROM api_tokens ORDER BY created_at DESC, token_id";
	struct store_rows *r = NULL;
	enum status rc = store_run_query(st, sql, 0, NULL, &r, e);

	*rows = NULL;
	*n = 0;
	if (rc == ST_OK) {
		*n = store_rows_count(r);
		*rows = store_fields_collect(&token_fields, r, *n);
	}
	store_rows_free(r);
	return rc;
}

struct revoke {
	const char *name, *now;
	int64_t *count;
};

/* The unrevoked token of the name (one at most: ux_api_tokens_name_unrevoked), revoked. */
static enum status revoke_tx(struct store_conn *c, void *ctx, struct err *e)
{
	static const char find[] = "SELECT token_id FROM api_tokens WHERE name = $1 AND "
				   "revoked_at IS NULL";
	static const char sql[] = "UPDATE api_tokens SET revoked_at = $2, updated_at = $2 "
				  "WHERE token_id = $1 AND revoked_at IS NULL";
	struct revoke *r = ctx;
	struct store_rows *rows = NULL;
	enum status st = store_query(c, find, 1, &r->name, &rows, e);

	for (size_t i = 0; st == ST_OK && i < store_rows_count(rows); i++) {
		const char *p[2] = {store_rows_get(rows, i, 0), r->now};
		int64_t n = 0;

		st = store_exec(c, sql, 2, p, &n, e);
		if (st == ST_OK && n > 0)
			st = store_chain_append_record(c, "api_tokens", p[0], e);
		*r->count += n;
	}
	store_rows_free(rows);
	return st;
}

/*
 * Revoking sets revoked_at and keeps the row, so an audit can still tell which
 * token made a decision; "revoked_at IS NULL" makes a second revoke change nothing
 * (count 0) instead of moving the revocation time.  The revocation is chained in its
 * transaction.
 */
enum status store_token_revoke(struct store *st, const char *name, const char *now, int64_t *count,
			       struct err *e)
{
	struct revoke r = {name, now, count};

	*count = 0;
	return store_run_write(st, revoke_tx, &r, e);
}

struct set_payload {
	const char *token_id, *payload, *now;
};

static enum status set_payload_tx(struct store_conn *c, void *ctx, struct err *e)
{
	static const char sql[] = "UPDATE api_tokens SET payload = $2, updated_at = $3 "
				  "WHERE token_id = $1";
	struct set_payload *sp = ctx;
	const char *p[3] = {sp->token_id, sp->payload, sp->now};
	int64_t n = 0;
	bool chained = false;
	enum status st = store_chain_record_matches(c, "api_tokens", sp->token_id, &chained, e);

	if (st == ST_OK && !chained)
		return err_set(e, ST_CONFLICT,
			       "it is not what the audit chain last recorded for it (inserted or "
			       "edited in the database?); see cavra audit verify");
	if (st == ST_OK)
		st = store_exec(c, sql, 3, p, &n, e);

	if (st == ST_OK && n == 0)
		return err_set(e, ST_NOT_FOUND, "no token '%s'", sp->token_id);
	return st == ST_OK ? store_chain_append_record(c, "api_tokens", sp->token_id, e) : st;
}

enum status store_token_set_payload(struct store *st, const char *token_id, const char *payload,
				    const char *now, struct err *e)
{
	struct set_payload sp = {token_id, payload, now};

	return store_run_write(st, set_payload_tx, &sp, e);
}

/*
 * A use is not a change of the token, so updated_at stays.  The condition makes the update a
 * no-op for every request after the first in an interval, on any replica.
 */
enum status store_token_touch(struct store *st, const char *token_id, const char *now,
			      const char *since, struct err *e)
{
	static const char sql[] = "UPDATE api_tokens SET last_used_at = $2 WHERE token_id = $1 "
				  "AND (last_used_at IS NULL OR last_used_at < $3)";
	const char *p[3] = {token_id, now, since};
	int64_t count = 0;

	return store_run_exec(st, sql, 3, p, &count, e);
}
