/*
 * handlers_health.c - /healthz (also /health), /readyz, /version, and
 * /console/config: what a client may learn about the service before it
 * has credentials.
 */
#include "base/base.h"
#include "http/http_int.h"
#include "base/log.h"
#include "base/timeutil.h"

#include <pthread.h>
#include <stdio.h>

static enum MHD_Result reply_status(struct req *r, unsigned int http, const char *status,
				    const char *reason)
{
	json_object *body = json_object_new_object();
	enum MHD_Result ret;

	json_object_object_add(body, "status", json_object_new_string(status));
	if (reason)
		json_object_object_add(body, "reason", json_object_new_string(reason));
	ret = http_reply_json(r, http, body);
	json_object_put(body);
	return ret;
}

/*
 * Liveness touches nothing, the database included: a database outage must take replicas out
 * of the load balancer (readyz), not make Kubernetes restart every pod at once.
 */
enum MHD_Result http_handle_healthz(struct req *r)
{
	return reply_status(r, MHD_HTTP_OK, "ok", NULL);
}

/* In oidc mode: false (with why) when an issuer has no signing keys yet. */
static bool auth_ready(const struct app *app, char *why, size_t size)
{
	const struct http_auth *a = app->auth;

	if (!a || a->mode != HTTP_AUTH_OIDC)
		return true;
	for (size_t i = 0; i < auth_issuers_count(a->issuers); i++) {
		struct auth_oidc *p = auth_issuers_at(a->issuers, i);
		struct auth_oidc_status st;

		auth_oidc_status_get(p, &st);
		if (!st.have_keys) {
			snprintf(why, size, "oidc issuer '%.150s' has no signing keys: %.250s",
				 auth_oidc_issuer(p),
				 st.last_error[0] ? st.last_error : "not fetched yet");
			return false;
		}
	}
	return true;
}

/*
 * How long a pool timeout or a write that failed on a full disk keeps /readyz at 503.  Not
 * for ever: a replica out of rotation gets no writes that could show it recovered, so it
 * comes back after this and a failing write takes it out again.
 */
#define READY_WINDOW_US (30 * 1000000LL)
/* The same problem is logged again at most this often; a changed one at once. */
#define READY_LOG_EVERY_US (60 * 1000000LL)

/* What /readyz found wrong: problem is the machine code, reason the sentence. */
struct not_ready {
	const char *problem;
	char reason[ERR_MSG_MAX];
	char cause[ERR_MSG_MAX]; /* the real error, for the log only */
};

/*
 * Load balancers probe every few seconds: one line when a problem starts, changes or has
 * lasted another minute, and one when the replica is ready again, instead of a line a probe.
 */
static void log_readiness(const struct not_ready *n)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static const char *last; /* the problem last logged, NULL: ready */
	static int64_t last_us;
	int64_t now = time_mono_us();

	pthread_mutex_lock(&mu);
	if (!n && last) {
		log_info("readyz: ready again after %s", last);
		last = NULL;
	} else if (n && (n->problem != last || now - last_us >= READY_LOG_EVERY_US)) {
		log_warn("readyz: not ready: %s: %s", n->problem,
			 n->cause[0] ? n->cause : n->reason);
		last = n->problem;
		last_us = now;
	}
	pthread_mutex_unlock(&mu);
}

/* The database and its schema, read over the probe's own connection (app->probe). */
static bool schema_ready(struct req *r, struct not_ready *n)
{
	struct store *st = r->app->probe ? r->app->probe : r->app->store;
	struct ledger l = {0};
	struct migrate_report rep = {0};
	struct err e = {0};
	enum status rc = migrate_status(st, r->app->migrations, &l, &rep, &e);

	if (rc == ST_FORBIDDEN) {
		/* a missing GRANT: the message names the role, the table and the GRANT */
		n->problem = "permission";
		snprintf(n->reason, sizeof(n->reason), "%s", e.msg);
	} else if (rc != ST_OK) {
		n->problem = "database_unreachable";
		snprintf(n->reason, sizeof(n->reason), "database unreachable");
		snprintf(n->cause, sizeof(n->cause), "%s", e.msg);
	} else if (rep.nproblems || rep.pending) {
		n->problem = "schema";
		if (rep.nproblems)
			snprintf(n->reason, sizeof(n->reason), "schema problem: %s",
				 rep.problems[0].msg);
		else
			snprintf(n->reason, sizeof(n->reason),
				 "%zu pending migrations: run 'cavra migrate up'", rep.pending);
	}
	migrate_report_release(&rep);
	migrate_ledger_release(&l);
	return n->problem == NULL;
}

/* What the request pool saw lately: writes failing on a full disk, requests starved. */
static bool pool_ready(struct req *r, struct not_ready *n)
{
	struct store_health h;

	store_health_get(r->app->store, READY_WINDOW_US, &h);
	if (h.storage_full) {
		n->problem = "storage_full";
		snprintf(n->reason, sizeof(n->reason),
			 "the database's storage is full: a write failed for lack of space");
	} else if (h.pool_exhausted) {
		n->problem = "pool_exhausted";
		snprintf(n->reason, sizeof(n->reason),
			 "every database connection is busy and requests wait for one "
			 "(db_pool_size)");
	}
	return n->problem == NULL;
}

/*
 * Ready when the database answers over the probe's own connection, its schema is exactly
 * the binary's or newer by migrations that each declare binaries of earlier schemas welcome
 * (expand/contract, docs/migrations.md), the request pool neither starves nor fails writes on a
 * full disk, and tokens can be verified.  The probe never waits behind requests for a connection,
 * and every wait of it is short (HTTP_READY_TIMEOUT_MS), so a load balancer's probe gets an answer
 * in time.  problem is a stable code; reason says what an operator must do.
 */
enum MHD_Result http_handle_readyz(struct req *r)
{
	struct not_ready n = {0};
	json_object *body;
	enum MHD_Result ret;

	if (schema_ready(r, &n) && pool_ready(r, &n) &&
	    !auth_ready(r->app, n.reason, sizeof(n.reason)))
		n.problem = "auth";
	log_readiness(n.problem ? &n : NULL);
	if (!n.problem)
		return reply_status(r, MHD_HTTP_OK, "ready", NULL);
	body = json_object_new_object();
	json_object_object_add(body, "status", json_object_new_string("unavailable"));
	json_object_object_add(body, "problem", json_object_new_string(n.problem));
	json_object_object_add(body, "reason", json_object_new_string(n.reason));
	ret = http_reply_json(r, MHD_HTTP_SERVICE_UNAVAILABLE, body);
	json_object_put(body);
	return ret;
}

enum MHD_Result http_handle_version(struct req *r)
{
	json_object *body = json_object_new_object();
	enum MHD_Result ret;

	json_object_object_add(body, "name", json_object_new_string("cavra"));
	json_object_object_add(body, "version", json_object_new_string(CAVRA_VERSION));
	json_object_object_add(body, "backend",
			       json_object_new_string(store_backend_name(r->app->store)));
	json_object_object_add(
		body, "schema_version",
		json_object_new_int(r->app->migrations->items[r->app->migrations->n - 1].version));
	ret = http_reply_json(r, MHD_HTTP_OK, body);
	json_object_put(body);
	return ret;
}

/*
 * The backend of each store, under the names the original's console reads.
 * cavra keeps every store in its one database, so all six name that
 * database's backend: "sqlite" or "postgres" (the original's were "sqlite"
 * or "json").  Public, as /version already names the backend: the console
 * reads it before anyone has signed in.
 */
enum MHD_Result http_handle_console_config(struct req *r)
{
	static const char *const modes[] = {"metadata_mode", "approval_mode",  "registry_mode",
					    "activity_mode", "inventory_mode", "integration_mode"};
	const struct http_auth *a = r->app->auth;
	const char *backend = store_backend_name(r->app->store);
	json_object *body = json_object_new_object();
	enum MHD_Result ret;

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		json_object_object_add(body, modes[i], json_object_new_string(backend));
	json_object_object_add(body, "backend", json_object_new_string(backend));
	json_object_object_add(
		body, "auth_mode",
		json_object_new_string(a && a->mode == HTTP_AUTH_OIDC ? "oidc" : "none"));
	ret = http_reply_json(r, MHD_HTTP_OK, body);
	json_object_put(body);
	return ret;
}
