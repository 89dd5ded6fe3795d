/*
 * handlers_health.c - /healthz (also /health), /readyz, /version, and
 * /console/config: what a client may learn about the service before it
 * has credentials.
 */
#include "base/base.h"
#include "http/http_int.h"

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

/* Ready when the database answers and its schema is exactly the binary's. */
/*
 * A replica whose schema is behind or drifted, or that cannot yet verify tokens, is kept out of
 * rotation rather than answering with errors; the reason says what an operator must do.
 */
enum MHD_Result http_handle_readyz(struct req *r)
{
	struct ledger l = {0};
	struct migrate_report rep = {0};
	struct err e = {0};
	enum MHD_Result ret;
	char reason[480];

	if (migrate_status(r->app->store, r->app->migrations, &l, &rep, &e) != ST_OK) {
		migrate_ledger_release(&l);
		return reply_status(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
				    "database unreachable");
	}
	if (rep.nproblems)
		snprintf(reason, sizeof(reason), "schema problem: %s", rep.problems[0].msg);
	else if (rep.pending)
		snprintf(reason, sizeof(reason), "%zu pending migrations: run 'cavra migrate up'",
			 rep.pending);
	if (rep.nproblems || rep.pending || !auth_ready(r->app, reason, sizeof(reason)))
		ret = reply_status(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", reason);
	else
		ret = reply_status(r, MHD_HTTP_OK, "ready", NULL);
	migrate_report_release(&rep);
	migrate_ledger_release(&l);
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
