/*
 * store_tokens.c - API tokens on both backends.
 */
#include "base/base.h"
#include "store/store_tokens.h"
#include "store/store_query.h"
#include "base/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define TOKEN_COLS                                                                    \
	"token_id, name, subject, created_by, expires_at, revoked_at, last_used_at, " \
	"created_at, payload, token_sha256"

void token_row_release(struct token_row *t)
{
	if (!t)
		return;
	free(t->token_id);
	free(t->name);
	free(t->subject);
	free(t->created_by);
	free(t->expires_at);
	free(t->revoked_at);
	free(t->last_used_at);
	free(t->created_at);
	free(t->payload);
	free(t->sha256);
	memset(t, 0, sizeof(*t));
}

void token_rows_free(struct token_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		token_row_release(&rows[i]);
	free(rows);
}

static void fill(struct token_row *t, const struct store_rows *r, size_t i)
{
	t->token_id = store_dup(store_rows_get(r, i, 0));
	t->name = store_dup(store_rows_get(r, i, 1));
	t->subject = store_dup(store_rows_get(r, i, 2));
	t->created_by = store_dup(store_rows_get(r, i, 3));
	t->expires_at = store_time_dup(store_rows_get(r, i, 4));
	t->revoked_at = store_time_dup(store_rows_get(r, i, 5));
	t->last_used_at = store_time_dup(store_rows_get(r, i, 6));
	t->created_at = store_time_dup(store_rows_get(r, i, 7));
	t->payload = store_dup(store_rows_get(r, i, 8));
	t->sha256 = store_dup(store_rows_get(r, i, 9));
}

enum status store_token_create(struct store *st, const struct token_new *t, struct err *e)
{
	static const char exists[] =
		"SELECT 1 FROM api_tokens WHERE name = $1 AND revoked_at IS NULL";
	static const char insert[] =
		"INSERT INTO api_tokens (token_id, token_sha256, name, subject, created_by, "
		"expires_at, created_at, updated_at, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, "
		"$7, $8)";
	const char *p[8] = {t->token_id,   t->sha256,	  t->name, t->subject,
			    t->created_by, t->expires_at, t->now,  t->payload};
	struct store_rows *r = NULL;
	struct store_conn *c;
	enum status rc = store_conn_get(st, &c, e);

	if (rc != ST_OK)
		return rc;
	rc = store_tx_begin(c, STORE_TX_WRITE, e);
	if (rc == ST_OK)
		rc = store_query(c, exists, 1, &t->name, &r, e);
	if (rc == ST_OK && store_rows_count(r) > 0)
		rc = err_set(e, ST_CONFLICT,
			     "a token called '%s' exists; revoke it first or choose another name",
			     t->name);
	if (rc == ST_OK)
		rc = store_exec(c, insert, 8, p, NULL, e);
	if (rc == ST_OK)
		rc = store_tx_commit(c, e);
	store_rows_free(r);
	store_conn_put(st, c);
	return rc;
}

enum status store_token_find(struct store *st, const char *sha256, struct token_row *out,
			     struct err *e)
{
	static const char sql[] = "SELECT " TOKEN_COLS " FROM api_tokens WHERE token_sha256 = $1";
	struct store_rows *r = NULL;
	enum status rc = store_run_query(st, sql, 1, &sha256, &r, e);

	memset(out, 0, sizeof(*out));
	if (rc == ST_OK && store_rows_count(r) == 0)
		rc = err_set(e, ST_NOT_FOUND, "unknown token");
	if (rc == ST_OK)
		fill(out, r, 0);
	store_rows_free(r);
	return rc;
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
		*rows = xcalloc(*n + 1, sizeof(**rows));
		for (size_t i = 0; i < *n; i++)
			fill(&(*rows)[i], r, i);
	}
	store_rows_free(r);
	return rc;
}

enum status store_token_revoke(struct store *st, const char *name, const char *now, int64_t *count,
			       struct err *e)
{
	static const char sql[] = "UPDATE api_tokens SET revoked_at = $2, updated_at = $2 "
				  "WHERE name = $1 AND revoked_at IS NULL";
	const char *p[2] = {name, now};

	*count = 0;
	return store_run_exec(st, sql, 2, p, count, e);
}
