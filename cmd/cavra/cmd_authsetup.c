/*
 * cmd_authsetup.c - builds the HTTP auth settings of `cavra serve`: the
 * mode, the trusted OIDC issuers (the CAVRA_OIDC_* settings and an optional
 * issuers file), the group -> role mapping, and the thread that refetches
 * discovery documents and keys on a schedule.
 */
#include "base/base.h"
#include "cmd.h"
#include "auth/auth.h"
#include "base/log.h"
#include "base/files.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "http/http.h"
#include "json/jx.h"
#include "json/jx_yaml.h"
#include "service/seals.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * The rbac and issuers files are a few kilobytes; the cap keeps a wrong path (a log
 * file, a device) from being read whole into memory at start-up.
 */
#define SETTINGS_FILE_MAX (1 << 20)

struct serve_auth {
	struct http_auth http;
	struct http_console console;
	char *client_secret, *redirect_uri, *home_uri, *home_uri_encoded, *public_url;
	struct auth_mapping *mapping;
	pthread_t refresher;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	int64_t every_s;
};

/* "127.0.0.1:8080", "[::1]:80", "localhost:1": only this machine can connect. */
static bool listen_is_loopback(const char *listen)
{
	return strncmp(listen, "127.", 4) == 0 || strncmp(listen, "[::1]:", 6) == 0 ||
	       strncmp(listen, "localhost:", 10) == 0;
}

/*
 * Without authentication every caller may read and write every record, which is
 * safe only when nothing but this machine can connect.  Anywhere else it must be
 * asked for by name (--allow-unauthenticated), and it is logged at every start so
 * that it cannot go unnoticed.
 */
static enum status check_mode(const struct config *cfg, struct err *e)
{
	if (strcmp(cfg->auth_mode, "none") != 0 || listen_is_loopback(cfg->listen))
		return ST_OK;
	if (!config_flag(cfg->allow_unauthenticated))
		return err_set(e, ST_INVALID,
			       "refusing to start: auth_mode none on '%s', which is not loopback; "
			       "set auth_mode oidc, or pass --allow-unauthenticated",
			       cfg->listen);
	log_warn("auth_mode none on a non-loopback listener '%s' (--allow-unauthenticated): "
		 "anyone who can reach it may read and write every record",
		 cfg->listen);
	return ST_OK;
}

/*
 * Read through the same YAML reader as the settings and the policy packs, so its
 * errors read the same way; a bad file stops the start instead of leaving
 * callers without the roles they expect.
 */
static enum status load_mapping(const struct config *cfg, struct auth_mapping **out, struct err *e)
{
	json_object *doc = NULL;
	enum status st;

	if (!cfg->rbac_file) {
		*out = auth_mapping_new_default();
		return ST_OK;
	}
	st = jx_yaml_load(cfg->rbac_file, SETTINGS_FILE_MAX, &doc, e);
	if (st == ST_OK)
		st = auth_mapping_from_json(doc, cfg->rbac_file, out, e);
	json_object_put(doc);
	if (st != ST_OK)
		err_wrap(e, "rbac file");
	return st;
}

/* One issuer from settings (or an issuers-file entry that overrides some). */
struct issuer_spec {
	const char *issuer, *audience, *groups_claim, *algorithms, *ca_file;
	int64_t leeway_s;
	bool require_at_jwt;
};

/* The CAVRA_OIDC_* settings every issuer starts from (issuer and audience unset). */
static struct issuer_spec settings_spec(const struct config *cfg)
{
	return (struct issuer_spec){.groups_claim = cfg->oidc_groups_claim,
				    .algorithms = cfg->oidc_algorithms,
				    .ca_file = cfg->oidc_ca_file,
				    .leeway_s = cfg->oidc_leeway_seconds,
				    .require_at_jwt = config_flag(cfg->oidc_require_at_jwt)};
}

/*
 * A bad issuer setting stops the start.  An identity provider that does not
 * answer yet does not: the server starts, its tokens get 503 (retry later), and
 * the refresher thread tries again, so cavra and its identity provider can start
 * in either order.
 */
static enum status add_issuer(const struct config *cfg, struct auth_issuers *set,
			      const struct issuer_spec *is, struct err *e)
{
	struct auth_oidc_opts o = {.issuer = is->issuer,
				   .audience = is->audience,
				   .groups_claim = is->groups_claim,
				   .leeway_s = is->leeway_s,
				   .require_at_jwt = is->require_at_jwt,
				   .refresh_min_interval_s = cfg->oidc_refetch_interval_seconds,
				   .fetch = {.ca_file = is->ca_file}};
	struct auth_oidc *p = NULL;
	struct err fe = {0};
	enum status st = auth_algs_parse(is->algorithms, &o.algs, e);

	if (st == ST_OK)
		st = auth_oidc_new(&o, NULL, &p, e);
	if (st == ST_OK)
		st = auth_issuers_add(set, p, e);
	if (st != ST_OK) {
		err_wrap(e, "oidc issuer '%s'", is->issuer ? is->issuer : "(unset)");
		return st;
	}
	if (auth_oidc_refresh(p, true, &fe) != ST_OK) /* not fatal: requests get 503 */
		log_warn("oidc issuer '%s': %s; requests with its tokens get 503 until it answers",
			 is->issuer, fe.msg);
	else
		log_info("oidc issuer '%s': keys loaded", is->issuer);
	return ST_OK;
}

/*
 * A misspelt key ("grups_claim") would otherwise be ignored, and the issuer would
 * run on the CAVRA_OIDC_* value instead without anyone noticing.
 */
static enum status check_keys(json_object *o, const char *where, struct err *e)
{
	static const char *const known[] = {"issuer",	      "audience",   "groups_claim",
					    "leeway_seconds", "algorithms", "ca_file",
					    "require_at_jwt"};

	json_object_object_foreach(o, key, val)
	{
		size_t i = 0;

		(void)val;
		while (i < ARRAY_SIZE(known) && strcmp(known[i], key) != 0)
			i++;
		if (i == ARRAY_SIZE(known))
			return err_set(
				e, ST_INVALID,
				"%s: unknown key '%s' (known: issuer, audience, groups_claim, "
				"leeway_seconds, algorithms, ca_file, require_at_jwt)",
				where, key);
	}
	return ST_OK;
}

/* An issuers-file entry; unset keys take the CAVRA_OIDC_* settings. */
static enum status file_issuer(const struct config *cfg, struct auth_issuers *set, json_object *o,
			       const char *where, struct err *e)
{
	struct issuer_spec is = settings_spec(cfg);
	json_object *v = NULL;
	bool present;

	if (!json_object_is_type(o, json_type_object))
		return err_set(e, ST_INVALID, "%s: expected a mapping", where);
	if (check_keys(o, where, e) != ST_OK)
		return ST_INVALID;
	if (jx_str(o, "issuer", true, &is.issuer, e) != ST_OK ||
	    jx_str(o, "audience", true, &is.audience, e) != ST_OK ||
	    jx_int(o, "leeway_seconds", 0, AUTH_LEEWAY_MAX, &is.leeway_s, &present, e) != ST_OK) {
		err_wrap(e, "%s", where);
		return ST_INVALID;
	}
	if (jx_get_str(o, "groups_claim"))
		is.groups_claim = jx_get_str(o, "groups_claim");
	if (jx_get_str(o, "algorithms"))
		is.algorithms = jx_get_str(o, "algorithms");
	if (jx_get_str(o, "ca_file"))
		is.ca_file = jx_get_str(o, "ca_file");
	if (json_object_object_get_ex(o, "require_at_jwt", &v))
		is.require_at_jwt = json_object_get_boolean(v);
	return add_issuer(cfg, set, &is, e);
}

/* oidc_issuers_file: a list of {issuer, audience, groups_claim?, ...}. */
static enum status load_issuers_file(const struct config *cfg, struct auth_issuers *set,
				     struct err *e)
{
	json_object *doc = NULL, *list;
	enum status st = jx_yaml_load(cfg->oidc_issuers_file, SETTINGS_FILE_MAX, &doc, e);

	list = doc;
	if (st == ST_OK && json_object_is_type(doc, json_type_object))
		json_object_object_get_ex(doc, "issuers", &list);
	if (st == ST_OK && !json_object_is_type(list, json_type_array))
		st = err_set(e, ST_INVALID, "%s: expected a list of issuers (or 'issuers: [...]')",
			     cfg->oidc_issuers_file);
	for (size_t i = 0; st == ST_OK && i < json_object_array_length(list); i++) {
		char *where = xasprintf("%s: issuers[%zu]", cfg->oidc_issuers_file, i);

		st = file_issuer(cfg, set, json_object_array_get_idx(list, i), where, e);
		free(where);
	}
	json_object_put(doc);
	return st;
}

static enum status load_issuers(const struct config *cfg, struct auth_issuers *set, struct err *e)
{
	struct issuer_spec is = settings_spec(cfg);
	enum status st = ST_OK;

	is.issuer = cfg->oidc_issuer;
	is.audience = cfg->oidc_audience;
	if (cfg->oidc_issuer || cfg->oidc_audience) {
		if (!cfg->oidc_issuer || !cfg->oidc_audience)
			return err_set(e, ST_INVALID,
				       "oidc_issuer and oidc_audience go together: set both");
		st = add_issuer(cfg, set, &is, e);
	}
	if (st == ST_OK && cfg->oidc_issuers_file)
		st = load_issuers_file(cfg, set, e);
	if (st == ST_OK && auth_issuers_count(set) == 0)
		st = err_set(e, ST_INVALID,
			     "auth_mode oidc needs oidc_issuer and oidc_audience (or "
			     "oidc_issuers_file)");
	return st;
}

/*
 * Waits on a condition variable rather than sleeping, so serve_auth_stop() ends it
 * at once.  The lock is not held while fetching: a refresh can take the fetch
 * timeout, and auth_oidc_refresh() does its own locking (a failed refresh keeps the
 * keys it had).  CLOCK_REALTIME is the clock of a default condition variable.
 */
static void *refresh_loop(void *arg)
{
	struct serve_auth *sa = arg;

	pthread_mutex_lock(&sa->mu);
	while (!sa->stop) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += sa->every_s;
		pthread_cond_timedwait(&sa->cv, &sa->mu, &until);
		if (sa->stop)
			break;
		pthread_mutex_unlock(&sa->mu);
		for (size_t i = 0; i < auth_issuers_count(sa->http.issuers); i++) {
			struct auth_oidc *p = auth_issuers_at(sa->http.issuers, i);
			struct err e = {0};

			if (auth_oidc_refresh(p, true, &e) != ST_OK)
				log_warn(
					"oidc issuer '%s': refresh failed (keeping the last keys): "
					"%s",
					auth_oidc_issuer(p), e.msg);
		}
		pthread_mutex_lock(&sa->mu);
	}
	pthread_mutex_unlock(&sa->mu);
	return NULL;
}

/*
 * The client secret: the setting, else the first line of the secret file.
 *
 * The file form exists for Kubernetes secrets and Docker secrets, which are files;
 * only the first line counts, so the trailing newline of `echo secret > file` is
 * not part of the secret.
 */
static enum status read_secret(const struct config *cfg, char **out, struct err *e)
{
	struct buf b;
	enum status st;

	if (cfg->console_client_secret) {
		*out = xstrdup(cfg->console_client_secret);
		return ST_OK;
	}
	if (!cfg->console_client_secret_file)
		return err_set(e, ST_INVALID,
			       "console_client_id needs console_client_secret or "
			       "console_client_secret_file");
	buf_init(&b, 4096);
	st = file_read(cfg->console_client_secret_file, 4096, &b, e);
	if (st == ST_OK)
		*out = xstrndup(b.data, strcspn(b.data, "\r\n"));
	buf_release(&b);
	if (st == ST_OK && !**out)
		st = err_set(e, ST_INVALID, "console_client_secret_file '%s' is empty",
			     cfg->console_client_secret_file);
	return st;
}

/*
 * Over plain http to another machine the pre-login cookie's login-CSRF defence does not hold
 * (any port of the host can toss it) and the session cookie, without Secure, travels in clear:
 * said once at startup.  Only the host is named; the URL cannot carry credentials
 * (http_origin_parse refuses them).
 */
static void warn_plain_http(const struct http_origin *o)
{
	if (o->https || http_origin_loopback(o))
		return;
	log_warn(
		"console_public_url is http:// on host '%s', not loopback: the console's "
		"session cookie travels in clear and its login-CSRF defence (the pre-login cookie) "
		"holds over https only; serve the console over https (docs/security.md)",
		o->host);
}

/*
 * The console login: the first issuer, the client and where the callback is.
 *
 * The callback address must be the one browsers use (behind a proxy, not the
 * listen address) and must match what the identity provider has registered, so it
 * is built from console_public_url and never guessed from the request.  Cookies
 * are Secure exactly when that address is https.
 */
static enum status setup_console(const struct config *cfg, struct serve_auth *sa, struct err *e)
{
	const char *url = cfg->console_public_url;
	size_t n;
	enum status st;

	if (!cfg->console_client_id)
		return ST_OK;
	if (!url || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0))
		return err_set(e, ST_INVALID,
			       "console_client_id needs console_public_url "
			       "(https://host, the address browsers use)");
	st = http_origin_parse(url, &sa->console.origin, e);
	if (st != ST_OK) /* not the URL itself: it may hold a password */
		return err_ctx(st, e, "console_public_url");
	st = read_secret(cfg, &sa->client_secret, e);
	if (st != ST_OK)
		return st;
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	sa->public_url = xstrndup(url, n);
	sa->redirect_uri = xasprintf("%.*s/console/callback", (int)n, url);
	sa->home_uri = xasprintf("%.*s/console/", (int)n, url);
	sa->home_uri_encoded = str_url_encode(sa->home_uri);
	sa->console = (struct http_console){
		.origin = sa->console.origin,
		.public_url = sa->public_url,
		.provider = auth_issuers_at(sa->http.issuers, 0),
		.client_id = cfg->console_client_id,
		.client_secret = sa->client_secret,
		.redirect_uri = sa->redirect_uri,
		.home_uri = sa->home_uri,
		.home_uri_encoded = sa->home_uri_encoded,
		.scopes = cfg->console_scopes,
		.session_seconds = cfg->console_session_seconds,
		.max_pending_logins = cfg->console_max_pending_logins,
		.secure_cookie = strncmp(url, "https://", 8) == 0,
		.trust_forwarded_proto = config_flag(cfg->trust_forwarded_proto),
	};
	if (!seal_console_key(sa->client_secret, &sa->console.seal_key))
		return err_set(e, ST_INTERNAL, "could not derive the console's seal key (OpenSSL)");
	sa->http.console = &sa->console;
	log_info("console login: client '%s', callback %s", cfg->console_client_id,
		 sa->redirect_uri);
	warn_plain_http(&sa->console.origin);
	return ST_OK;
}

enum status serve_auth_start(const struct config *cfg, struct serve_auth **out, struct err *e)
{
	struct serve_auth *sa = xcalloc(1, sizeof(*sa));
	enum status st = check_mode(cfg, e);

	*out = sa;
	pthread_mutex_init(&sa->mu, NULL);
	pthread_cond_init(&sa->cv, NULL);
	sa->every_s = cfg->oidc_refresh_seconds;
	sa->http.metrics_public = config_flag(cfg->metrics_public);
	if (st == ST_OK)
		st = load_mapping(cfg, &sa->mapping, e);
	sa->http.mapping = sa->mapping;
	if (st != ST_OK || strcmp(cfg->auth_mode, "oidc") != 0)
		return st;
	sa->http.mode = HTTP_AUTH_OIDC;
	sa->http.issuers = auth_issuers_new();
	st = load_issuers(cfg, sa->http.issuers, e);
	if (st == ST_OK)
		st = setup_console(cfg, sa, e);
	if (st == ST_OK && pthread_create(&sa->refresher, NULL, refresh_loop, sa) == 0)
		sa->running = true;
	return st;
}

const struct http_auth *serve_auth_http(const struct serve_auth *sa)
{
	return &sa->http;
}

void serve_auth_stop(struct serve_auth *sa)
{
	if (!sa)
		return;
	if (sa->running) {
		pthread_mutex_lock(&sa->mu);
		sa->stop = true;
		pthread_cond_signal(&sa->cv);
		pthread_mutex_unlock(&sa->mu);
		pthread_join(sa->refresher, NULL);
	}
	auth_issuers_free(sa->http.issuers);
	if (sa->client_secret)
		memset(sa->client_secret, 0, strlen(sa->client_secret));
	memset(&sa->console.seal_key, 0, sizeof(sa->console.seal_key));
	free(sa->client_secret);
	free(sa->redirect_uri);
	free(sa->public_url);
	free(sa->home_uri);
	free(sa->home_uri_encoded);
	auth_mapping_free(sa->mapping);
	pthread_mutex_destroy(&sa->mu);
	pthread_cond_destroy(&sa->cv);
	free(sa);
}
