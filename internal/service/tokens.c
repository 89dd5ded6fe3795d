/*
 * tokens.c - API tokens for agents and CI (cavra tokens ..., and the bearer
 * check of the auth layer).  The caller makes the token and its hash (the
 * auth module); this file stores, lists, revokes and looks up hashes, and on
 * PostgreSQL remembers the tokens it verified (token_cache.h) for as long as
 * a listener hears of every change to them.
 */
#include "base/base.h"
#include "service/service.h"
#include "base/timeutil.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "service/records.h"
#include "service/seals.h"
#include "service/token_cache.h"
#include "store/store_chain.h"
#include "store/store_listen.h"
#include "store/store_tokens.h"

#include <stdlib.h>
#include <string.h>

/* How often, at most, a token's last use is written (microseconds: a minute). */
#define TOKEN_USE_INTERVAL_US INT64_C(60000000)

/* The channel of migration 019's notifications: a token_id, or '*' for every token. */
#define TOKEN_CHANNEL "cavra_api_tokens"

/*
 * Roles live in the payload, not in columns, so adding a role needs no migration.  seal
 * (NULL: none) is the token's seal under api_token_key_file.
 */
static char *roles_payload(const char *const *roles, size_t n, const char *seal)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(roles[i]));
	json_object_object_add(o, "roles", arr);
	if (seal)
		jx_add_str(o, "seal", seal);
	return jx_take_text(o);
}

/* The seal of a token as the row holds it (or will), with its roles. */
static bool token_seal(const struct seal_key *key, const struct token_new *t,
		       const char *const *roles, size_t nroles, char out[SHA256_HEX_LEN])
{
	return seal_of_token(key,
			     &(struct seal_token){t->token_id, t->sha256, t->name, t->subject,
						  t->created_by, t->now, t->expires_at, roles,
						  nroles},
			     out);
}

/*
 * The name is the handle operators revoke by, so it may not contain spaces or '/'.  The token
 * id is separate from the name and random; neither reveals anything about the secret.  The
 * subject "token:<name>" is what audit records name as the actor.
 */
enum status service_token_create(struct service *s, const struct token_spec *t, char **id,
				 struct err *e)
{
	char now[TIME_FMT_LEN], exp[TIME_FMT_LEN], hex[13], seal[SHA256_HEX_LEN];
	struct token_new row;
	char *subject, *payload = NULL;
	enum status st;

	*id = NULL;
	if (jx_check_id("name", t->name, e) != ST_OK)
		return ST_INVALID;
	if (strchr(t->name, ' ') || strchr(t->name, '/'))
		return err_set(e, ST_INVALID, "name '%s': use letters, digits, '-', '_' or '.'",
			       t->name);
	st = random_hex(hex, 6, e);
	if (st != ST_OK)
		return st;
	time_format_utc(time_now_us(), now, sizeof(now));
	if (t->expires_in_s > 0)
		time_format_utc(time_now_us() + t->expires_in_s * 1000000, exp, sizeof(exp));
	*id = xasprintf("tok_%s", hex);
	subject = xasprintf("token:%s", t->name);
	row = (struct token_new){*id,	  t->sha256,	 t->name,
				 subject, t->created_by, t->expires_in_s > 0 ? exp : NULL,
				 now,	  NULL};
	if (s->token_keys && !token_seal(&s->token_keys->now, &row, t->roles, t->nroles, seal))
		st = err_set(e, ST_INTERNAL, "could not compute the token's seal (OpenSSL)");
	else
		row.payload = payload =
			roles_payload(t->roles, t->nroles, s->token_keys ? seal : NULL);
	if (st == ST_OK)
		st = store_token_create(s->store, &row, e);
	free(payload);
	free(subject);
	if (st != ST_OK) {
		free(*id);
		*id = NULL;
	}
	return st;
}

/*
 * The roles of a stored payload, as a NULL-terminated array of owned strings; none when the
 * payload does not parse (a token with no role may do nothing).  *seal (owned, NULL: none)
 * is the payload's seal.
 */
static char **payload_roles(const char *token_id, const char *payload, size_t *n, char **seal)
{
	json_object *o = service_stored_object("api_tokens", token_id, payload), *arr = NULL;
	char **out;

	*n = 0;
	*seal = NULL;
	if (!o)
		return xcalloc(1, sizeof(char *));
	if (jx_get_str(o, "seal"))
		*seal = xstrdup(jx_get_str(o, "seal"));
	json_object_object_get_ex(o, "roles", &arr);
	out = xcalloc(json_object_array_length(arr) + 1, sizeof(char *));
	for (size_t i = 0;
	     json_object_is_type(arr, json_type_array) && i < json_object_array_length(arr); i++) {
		const char *r = json_object_get_string(json_object_array_get_idx(arr, i));

		if (r)
			out[(*n)++] = xstrdup(r);
	}
	json_object_put(o);
	return out;
}

/*
 * A failed write of a use (a full disk, a read-only database) is logged and the request goes
 * on: the use is a hint for finding unused tokens, not a record the request depends on.  On a
 * database that refuses every such write the warning comes once a minute, not once a request.
 */
static void touch(struct service *s, const char *token_id, const char *name, int64_t now_us)
{
	static _Atomic int64_t last_warn_us;
	char now[TIME_FMT_LEN], since[TIME_FMT_LEN];
	struct err e = {0};

	time_format_utc(now_us, now, sizeof(now));
	time_format_utc(now_us - TOKEN_USE_INTERVAL_US, since, sizeof(since));
	if (store_token_touch(s->store, token_id, now, since, &e) != ST_OK &&
	    log_due(&last_warn_us, now_us, TOKEN_USE_INTERVAL_US))
		log_warn("tokens: could not record a use of API token '%s' (said once a minute at "
			 "most): %s",
			 name, e.msg);
}

/*
 * last_used_at is written at most once a TOKEN_USE_INTERVAL_US per token: the row the check
 * just read says whether the last recorded use is older, so most requests write nothing.
 * Returns the last use this process knows of: the row's, or now when it wrote one.
 */
static int64_t note_use(struct service *s, const struct token_row *row)
{
	int64_t now_us = time_now_us(), last_us = 0;

	if (row->last_used_at && time_parse(row->last_used_at, &last_us) &&
	    last_us > now_us - TOKEN_USE_INTERVAL_US)
		return last_us; /* recent, or ahead of this replica's clock */
	touch(s, row->token_id, row->name, now_us);
	return now_us;
}

/*
 * A remembered token's use: the last use this process recorded (or read with the token) says
 * whether one is due, so a remembered token costs neither a write nor a read per request.  A
 * use another replica recorded meanwhile is not seen; the write's condition then makes it a
 * no-op.
 */
static void note_kept_use(struct service *s, const struct token_info *t)
{
	int64_t now_us = time_now_us();

	if (token_cache_note_use(s->tokens, t->sha256, now_us, now_us - TOKEN_USE_INTERVAL_US))
		touch(s, t->token_id, t->name, now_us);
}

/*
 * Keeps a token just read (usable) in the cache, unless the generation moved since gen was
 * read: see token_cache.h.  An expiry that does not parse is not kept: the row is then read
 * on every request, as without the cache.
 */
static void keep(struct service *s, const struct token_row *row, const struct token_info *t,
		 int64_t last_use_us, uint64_t gen)
{
	struct token_fact f = {.sha256 = row->sha256,
			       .token_id = row->token_id,
			       .name = row->name,
			       .roles = (const char *const *)t->roles,
			       .nroles = t->nroles,
			       .last_use_us = last_use_us};

	if (row->expires_at && !time_parse(row->expires_at, &f.expires_us))
		return;
	(void)token_cache_put(s->tokens, &f, gen, time_mono_us());
}

/* The seal under key of row as stored, roles those of its payload. */
static bool row_seal(const struct seal_key *key, const struct token_row *row, char *const *roles,
		     size_t nroles, char out[SHA256_HEX_LEN])
{
	struct token_new t = {row->token_id,   row->sha256,	row->name,	 row->subject,
			      row->created_by, row->expires_at, row->created_at, NULL};

	return token_seal(key, &t, (const char *const *)roles, nroles, out);
}

/* Whether key sealed row, whose payload holds roles and stored (NULL: no seal). */
static bool row_sealed(const struct seal_key *key, const struct token_row *row, char *const *roles,
		       size_t nroles, const char *stored)
{
	char want[SHA256_HEX_LEN];

	return row_seal(key, row, roles, nroles, want) && seal_matches(stored, want);
}

/* Which of the keys sealed row: the current one, the one being rotated out, or neither. */
enum seal_state { SEAL_NONE, SEAL_CURRENT, SEAL_PREVIOUS };

static enum seal_state seal_state(const struct seal_keys *k, const struct token_row *row,
				  char *const *roles, size_t nroles, const char *stored)
{
	if (row_sealed(&k->now, row, roles, nroles, stored))
		return SEAL_CURRENT;
	if (k->before_set && row_sealed(&k->before, row, roles, nroles, stored))
		return SEAL_PREVIOUS;
	return SEAL_NONE;
}

static void roles_free(char **roles, size_t n)
{
	for (size_t i = 0; roles && i < n; i++)
		free(roles[i]);
	free(roles);
}

/* seal_state of a listed row, its roles and seal read from its payload. */
static enum seal_state stored_seal_state(const struct seal_keys *k, const struct token_row *r)
{
	size_t n = 0;
	char *seal = NULL, **roles = payload_roles(r->token_id, r->payload, &n, &seal);
	enum seal_state state = seal_state(k, r, roles, n, seal);

	roles_free(roles, n);
	free(seal);
	return state;
}

/*
 * A token is used only as the audit chain last recorded it: a row planted in the database (or
 * in an unsigned backup restored), or one whose roles, expiry or revocation were changed
 * there, is refused, with or without api_token_key_file.  The chain's links are not secret,
 * so whoever can also rewrite the chain can pass this; the seal cannot be forged without the
 * key (docs/security.md).
 */
static enum status vouched(struct service *s, const struct token_row *row, struct err *e)
{
	bool ok = false;
	enum status st = store_record_vouched(s->store, "api_tokens", row->token_id, &ok, e);

	if (st != ST_OK)
		return err_ctx(st, e, "API token '%s': its audit chain entry", row->name);
	if (!ok)
		return err_set(e, ST_UNAUTHENTICATED, "API token '%s' " STORE_CHAIN_UNVOUCHED,
			       row->name);
	return ST_OK;
}

/*
 * Every failure is ST_UNAUTHENTICATED (401).  The message names the token only once the hash
 * matched, i.e. only to whoever holds the token; authn also logs it, so that an operator can
 * see why a CI job is locked out.  gen: the cache's generation, read before the row is.
 */
static enum status token_read(struct service *s, const char *sha256, uint64_t gen,
			      struct token_info *out, struct err *e)
{
	struct token_row row;
	int64_t exp_us;
	char *seal = NULL;
	enum status st = store_token_find(s->store, sha256, &row, e);

	memset(out, 0, sizeof(*out));
	if (st == ST_NOT_FOUND)
		return err_set(e, ST_UNAUTHENTICATED, "unknown API token");
	if (st == ST_OK && row.revoked_at)
		st = err_set(e, ST_UNAUTHENTICATED, "API token '%s' was revoked", row.name);
	else if (st == ST_OK && row.expires_at && time_parse(row.expires_at, &exp_us) &&
		 exp_us <= time_now_us())
		st = err_set(e, ST_UNAUTHENTICATED, "API token '%s' expired at %s", row.name,
			     row.expires_at);
	if (st == ST_OK)
		out->roles = payload_roles(row.token_id, row.payload, &out->nroles, &seal);
	if (st == ST_OK && s->token_keys &&
	    seal_state(s->token_keys, &row, out->roles, out->nroles, seal) == SEAL_NONE)
		st = err_set(
			e, ST_UNAUTHENTICATED,
			"API token '%s' does not match its seal: made without "
			"api_token_key_file (then run cavra tokens seal), sealed under another "
			"key, or written in the database",
			row.name);
	if (st == ST_OK)
		st = vouched(s, &row, e);
	if (st == ST_OK) {
		int64_t last_use_us = note_use(s, &row);

		out->token_id = xstrdup(row.token_id);
		out->name = xstrdup(row.name);
		out->sha256 = xstrdup(row.sha256 ? row.sha256 : "");
		if (s->tokens)
			keep(s, &row, out, last_use_us, gen);
	} else {
		roles_free(out->roles, out->nroles);
		out->roles = NULL;
		out->nroles = 0;
	}
	free(seal);
	store_token_row_release(&row);
	return st;
}

/*
 * A token this process remembers is answered without the database; any other is read, and
 * remembered when usable.  A refusal is never remembered: it is read again each time, and its
 * messages come from the row alone.
 */
enum status service_token_check(struct service *s, const char *sha256, struct token_info *out,
				struct err *e)
{
	uint64_t gen = 0;

	if (s->tokens) {
		if (token_cache_get(s->tokens, sha256, time_now_us(), time_mono_us(), out)) {
			note_kept_use(s, out);
			return ST_OK;
		}
		gen = token_cache_generation(s->tokens);
	}
	return token_read(s, sha256, gen, out, e);
}

void service_token_info_release(struct token_info *t)
{
	if (!t)
		return;
	roles_free(t->roles, t->nroles);
	free(t->token_id);
	free(t->name);
	free(t->sha256);
	memset(t, 0, sizeof(*t));
}

/* With api_token_key_file set: which of its keys sealed the token ("none": neither). */
static void add_sealed(json_object *o, const struct seal_keys *keys, const struct token_row *r)
{
	static const char *const names[] = {
		[SEAL_NONE] = "none", [SEAL_CURRENT] = "current", [SEAL_PREVIOUS] = "previous"};

	if (keys)
		jx_add_str(o, "seal", names[stored_seal_state(keys, r)]);
}

/* The listing never includes the hash: it is of no use to an operator and is one less secret. */
static json_object *token_json(const struct token_row *r, const struct seal_keys *keys)
{
	json_object *o = json_object_new_object(),
		    *p = service_stored_object("api_tokens", r->token_id, r->payload),
		    *roles = NULL;

	jx_add_str(o, "token_id", r->token_id);
	jx_add_str(o, "name", r->name);
	jx_add_str(o, "subject", r->subject);
	if (p && json_object_object_get_ex(p, "roles", &roles))
		json_object_object_add(o, "roles", json_object_get(roles));
	json_object_put(p);
	jx_add_str(o, "created_by", r->created_by);
	jx_add_str(o, "created_at", r->created_at);
	jx_add_str(o, "expires_at", r->expires_at);
	jx_add_str(o, "revoked_at", r->revoked_at);
	jx_add_str(o, "last_used_at", r->last_used_at);
	add_sealed(o, keys, r);
	return o;
}

enum status service_token_list(struct service *s, json_object **out, struct err *e)
{
	struct token_row *rows = NULL;
	size_t n = 0;
	enum status st = store_token_list(s->store, &rows, &n, e);

	*out = NULL;
	if (st != ST_OK)
		return st;
	*out = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(*out, token_json(&rows[i], s->token_keys));
	store_token_rows_free(rows, n);
	return ST_OK;
}

/*
 * Revocation stamps revoked_at instead of deleting the row, so that records naming the token
 * as their author still resolve to who it was.
 */
enum status service_token_revoke(struct service *s, const char *name, int64_t *count, struct err *e)
{
	char now[TIME_FMT_LEN];
	enum status st;

	time_format_utc(time_now_us(), now, sizeof(now));
	st = store_token_revoke(s->store, name, now, count, e);
	if (st == ST_OK && *count == 0)
		st = err_set(e, ST_NOT_FOUND, "no active token called '%s'", name);
	return st;
}

/* r's payload with the seal of key in it (the caller's), or NULL when it does not parse. */
static char *sealed_payload(const struct seal_key *key, const struct token_row *r)
{
	json_object *o = service_stored_object("api_tokens", r->token_id, r->payload);
	char want[SHA256_HEX_LEN], *seal = NULL, **roles;
	size_t n = 0;
	bool ok;

	if (!o)
		return NULL;
	roles = payload_roles(r->token_id, r->payload, &n, &seal);
	ok = row_seal(key, r, roles, n, want);
	roles_free(roles, n);
	free(seal);
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	json_object_object_add(o, "seal", json_object_new_string(want));
	return jx_take_text(o);
}

/* Seals r; a token the chain does not vouch for is counted and logged, not an error. */
static enum status seal_one(struct service *s, const struct token_row *r, const char *now,
			    struct token_seal_count *n, struct err *e)
{
	char *payload = sealed_payload(&s->token_keys->now, r);
	struct err why = {0};
	enum status st =
		payload ? store_token_set_payload(s->store, r->token_id, payload, now, &why)
			: err_set(&why, ST_INVALID, "its payload does not parse");

	free(payload);
	if (st == ST_OK) {
		n->sealed++;
		return ST_OK;
	}
	if (st != ST_CONFLICT && st != ST_INVALID)
		return err_set(e, st, "token '%s': %s", r->name, why.msg);
	log_warn("tokens: API token '%s' (%s) not sealed: %s", r->name, r->token_id, why.msg);
	n->refused++;
	return ST_OK;
}

/*
 * Sealing trusts the audit chain, not the table: a token row that is not what the chain's
 * newest entry for it hashed (planted, or widened, by SQL) is left unsealed, so serve goes on
 * refusing it.  Revoked tokens are left as they are: they let nobody in, sealed or not.
 */
enum status service_token_seal(struct service *s, struct token_seal_count *cnt, struct err *e)
{
	char now[TIME_FMT_LEN];
	struct token_row *rows = NULL;
	size_t n = 0;
	enum status st = store_token_list(s->store, &rows, &n, e);

	memset(cnt, 0, sizeof(*cnt));
	time_format_utc(time_now_us(), now, sizeof(now));
	for (size_t i = 0; st == ST_OK && i < n; i++) {
		if (rows[i].revoked_at)
			continue;
		if (stored_seal_state(s->token_keys, &rows[i]) == SEAL_CURRENT)
			cnt->kept++;
		else
			st = seal_one(s, &rows[i], now, cnt, e);
	}
	store_token_rows_free(rows, n);
	return st;
}

/* The cache of service_token_check and the listener that keeps it true. */
struct token_watch {
	struct token_cache *cache;
	struct store_listener *listener;
};

static void watch_state(void *ctx, bool listening)
{
	token_cache_set_live(ctx, listening);
}

/* A NOTIFY without a payload (a DBA's) says that something changed: every token is forgotten. */
static void watch_notify(void *ctx, const char *payload)
{
	token_cache_invalidate(ctx, payload && payload[0] ? payload : "*");
}

enum status service_token_watch_start(struct service *s, int64_t ttl_s, struct token_watch **out,
				      struct err *e)
{
	static const struct store_listen_ops ops = {watch_state, watch_notify};
	struct token_watch *w;
	enum status st;

	*out = NULL;
	if (ttl_s <= 0 || store_kind(s->store) != STORE_POSTGRES)
		return ST_OK; /* SQLite reads a token in-process: nothing to save */
	w = xcalloc(1, sizeof(*w));
	w->cache = token_cache_new(ttl_s * 1000000);
	st = store_listen_start(s->store,
				&(struct store_listen_spec){.channel = TOKEN_CHANNEL,
							    .app_name = "cavra token listener",
							    .what = "token listener",
							    .ops = &ops,
							    .ctx = w->cache},
				&w->listener, e);
	if (st != ST_OK) {
		token_cache_free(w->cache);
		free(w);
		return st;
	}
	s->tokens = w->cache;
	*out = w;
	return ST_OK;
}

void service_token_watch_stop(struct service *s, struct token_watch *w)
{
	if (!w)
		return;
	store_listen_stop(w->listener);
	if (s->tokens == w->cache)
		s->tokens = NULL;
	token_cache_free(w->cache);
	free(w);
}

bool service_token_cache_stats(struct service *s, bool *listening, uint64_t *hits, uint64_t *misses)
{
	struct token_cache_stats t;

	if (!s || !s->tokens)
		return false;
	token_cache_stats(s->tokens, &t);
	*listening = t.live;
	*hits = t.hits;
	*misses = t.misses;
	return true;
}
