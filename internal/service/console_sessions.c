/*
 * console_sessions.c - the web console's logins in flight and sessions, stored by
 * hash so that any replica can serve them (docs/console.md).
 */
#include "base/base.h"
#include "service/service.h"
#include "base/timeutil.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "service/seals.h"
#include "store/store_console.h"

#include <stdlib.h>
#include <string.h>

static void stamp(int64_t ttl_s, char *now, char *until)
{
	int64_t us = time_now_us();

	time_format_utc(us, now, TIME_FMT_LEN);
	time_format_utc(us + ttl_s * 1000000, until, TIME_FMT_LEN);
}

/*
 * A row whose seal does not match was written by someone without the client secret, or
 * sealed under another one (the secret was changed): refused, said in the log, and left in
 * place for whoever looks into it.  The hash's head names the row; it is not the cookie.
 */
static enum status unsealed(const char *what, const char *hash, struct err *e)
{
	log_warn("console: a %s row (session_hash %.12s...) does not match its seal: edited in "
		 "the database, or console_client_secret changed; refused",
		 what, hash);
	return err_set(e, ST_UNAUTHENTICATED, "this console %s is not valid; log in again", what);
}

static enum status seal_failed(struct err *e)
{
	return err_set(e, ST_INTERNAL, "console: could not compute a seal (OpenSSL)");
}

enum status service_console_login_put(struct service *s, const struct seal_key *key,
				      const char *hash, const struct console_login *l,
				      int64_t ttl_s, struct err *e)
{
	char now[TIME_FMT_LEN], until[TIME_FMT_LEN], mac[SHA256_HEX_LEN];
	json_object *o = json_object_new_object();
	struct console_row row = {0};
	enum status st;

	stamp(ttl_s, now, until);
	if (!seal_of_login(key,
			   &(struct seal_login){hash, until, l->nonce, l->verifier, l->return_to,
						l->binding},
			   mac)) {
		json_object_put(o);
		return seal_failed(e);
	}
	jx_add_str(o, "nonce", l->nonce);
	jx_add_str(o, "verifier", l->verifier);
	jx_add_str(o, "return_to", l->return_to);
	jx_add_str(o, "binding", l->binding);
	jx_add_str(o, "seal", mac);
	row.expires_at = until;
	row.payload = jx_take_text(o);
	st = store_console_put(s->store, hash, CONSOLE_LOGIN, &row, now, e);
	free(row.payload);
	return st;
}

void service_console_login_release(struct console_login *l)
{
	if (!l)
		return;
	free(l->nonce);
	free(l->verifier);
	free(l->return_to);
	free(l->binding);
	memset(l, 0, sizeof(*l));
}

enum status service_console_purge(struct service *s, struct err *e)
{
	char now[TIME_FMT_LEN];

	time_format_utc(time_now_us(), now, sizeof(now));
	return store_console_purge(s->store, now, e);
}

enum status service_console_logins_pending(struct service *s, int64_t *count, struct err *e)
{
	char now[TIME_FMT_LEN];

	time_format_utc(time_now_us(), now, sizeof(now));
	return store_console_logins_pending(s->store, now, count, e);
}

/* Whether the login row's payload o is sealed by key. */
static enum status login_sealed(const struct seal_key *key, const char *hash,
				const struct console_row *row, json_object *o, struct err *e)
{
	char mac[SHA256_HEX_LEN];

	if (!seal_of_login(key,
			   &(struct seal_login){hash, row->expires_at, jx_get_str(o, "nonce"),
						jx_get_str(o, "verifier"),
						jx_get_str(o, "return_to"),
						jx_get_str(o, "binding")},
			   mac))
		return seal_failed(e);
	if (!seal_matches(jx_get_str(o, "seal"), mac))
		return unsealed("login", hash, e);
	return ST_OK;
}

enum status service_console_login_take(struct service *s, const struct seal_key *key,
				       const char *hash, struct console_login *out, struct err *e)
{
	struct console_row row;
	json_object *o = NULL;
	int64_t until = 0;
	enum status st = store_console_take_login(s->store, hash, &row, e);

	memset(out, 0, sizeof(*out));
	if (st == ST_OK && (!time_parse(row.expires_at, &until) || until <= time_now_us()))
		st = err_set(e, ST_NOT_FOUND, "the login took too long; start again");
	if (st == ST_OK)
		st = jx_parse_object(row.payload, strlen(row.payload), &o, e);
	if (st == ST_OK)
		st = login_sealed(key, hash, &row, o, e);
	if (st == ST_OK) {
		out->nonce = xstrdup(jx_get_str(o, "nonce") ? jx_get_str(o, "nonce") : "");
		out->verifier = xstrdup(jx_get_str(o, "verifier") ? jx_get_str(o, "verifier") : "");
		out->return_to = xstrdup(jx_get_str(o, "return_to") ? jx_get_str(o, "return_to")
								    : "/console/");
		/* "": no binding, which no cookie matches */
		out->binding = xstrdup(jx_get_str(o, "binding") ? jx_get_str(o, "binding") : "");
	}
	json_object_put(o);
	store_console_row_release(&row);
	return st;
}

/* c's seal as a session row with hash that expires at until. */
static bool session_seal(const struct seal_key *key, const char *hash, const char *until,
			 const struct console_session *c, char mac[SHA256_HEX_LEN])
{
	return seal_of_session(key,
			       &(struct seal_session){hash, until, c->subject, c->actor, c->issuer,
						      c->csrf_token, (const char *const *)c->groups,
						      c->ngroups},
			       mac);
}

enum status service_console_session_put(struct service *s, const struct seal_key *key,
					const char *hash, const struct console_session *c,
					int64_t ttl_s, struct err *e)
{
	char now[TIME_FMT_LEN], until[TIME_FMT_LEN], mac[SHA256_HEX_LEN];
	json_object *o, *groups;
	struct console_row row = {0};
	enum status st;

	stamp(ttl_s, now, until);
	if (!session_seal(key, hash, until, c, mac))
		return seal_failed(e);
	o = json_object_new_object();
	groups = json_object_new_array();
	for (size_t i = 0; i < c->ngroups; i++)
		json_object_array_add(groups, json_object_new_string(c->groups[i]));
	json_object_object_add(o, "groups", groups);
	jx_add_str(o, "csrf_token", c->csrf_token);
	jx_add_str(o, "seal", mac);
	row = (struct console_row){(char *)c->subject, (char *)c->actor, (char *)c->issuer, until,
				   jx_take_text(o)};
	st = store_console_put(s->store, hash, CONSOLE_SESSION, &row, now, e);
	free(row.payload);
	return st;
}

void service_console_session_release(struct console_session *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ngroups; i++)
		free(c->groups[i]);
	free(c->groups);
	free(c->subject);
	free(c->actor);
	free(c->issuer);
	free(c->csrf_token);
	memset(c, 0, sizeof(*c));
}

static void read_groups(json_object *o, struct console_session *out)
{
	json_object *g = NULL;
	size_t n;

	json_object_object_get_ex(o, "groups", &g);
	n = json_object_is_type(g, json_type_array) ? json_object_array_length(g) : 0;
	out->groups = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const char *v = json_object_get_string(json_object_array_get_idx(g, i));

		if (v)
			out->groups[out->ngroups++] = xstrdup(v);
	}
}

/* The session read from row and its payload o, when key sealed them. */
static enum status session_read(const struct seal_key *key, const char *hash,
				const struct console_row *row, json_object *o,
				struct console_session *out, struct err *e)
{
	const char *csrf = jx_get_str(o, "csrf_token");
	char mac[SHA256_HEX_LEN];

	out->subject = row->subject ? xstrdup(row->subject) : NULL;
	out->actor = row->actor ? xstrdup(row->actor) : NULL;
	out->issuer = row->issuer ? xstrdup(row->issuer) : NULL;
	out->csrf_token = csrf ? xstrdup(csrf) : NULL;
	read_groups(o, out);
	if (!session_seal(key, hash, row->expires_at, out, mac))
		return seal_failed(e);
	if (!seal_matches(jx_get_str(o, "seal"), mac))
		return unsealed("session", hash, e);
	if (!out->csrf_token)
		out->csrf_token = xstrdup(""); /* sealed without one: no CSRF token matches */
	return ST_OK;
}

enum status service_console_session_get(struct service *s, const struct seal_key *key,
					const char *hash, struct console_session *out,
					struct err *e)
{
	char now[TIME_FMT_LEN];
	struct console_row row;
	json_object *o = NULL;
	enum status st;

	memset(out, 0, sizeof(*out));
	time_format_utc(time_now_us(), now, sizeof(now));
	st = store_console_session(s->store, hash, now, &row, e);
	if (st == ST_OK)
		st = jx_parse_object(row.payload, strlen(row.payload), &o, e);
	if (st == ST_OK)
		st = session_read(key, hash, &row, o, out, e);
	if (st != ST_OK)
		service_console_session_release(out);
	json_object_put(o);
	store_console_row_release(&row);
	return st;
}

enum status service_console_session_delete(struct service *s, const char *hash, struct err *e)
{
	return store_console_delete(s->store, hash, e);
}
