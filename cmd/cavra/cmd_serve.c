/*
 * cmd_serve.c - cavra serve: schema check, HTTP service, graceful drain.
 */
#include "base/base.h"
#include "cmd.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "http/http.h"
#include "migrate/migrate.h"
#include "policy/policy.h"
#include "service/seals.h"
#include "service/service.h"
#include "store/store.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/*
 * config_original_check takes the environment as a function, so its unit tests
 * can hand it a fake one; this is the real one.
 */
static const char *env_get(const char *name)
{
	return getenv(name);
}

/*
 * --print-config shows the settings as resolved from every source, secrets
 * redacted, and exits before anything is opened: it is safe on a production host
 * and answers "which value won?".
 */
static int print_config(const struct config *cfg)
{
	struct buf out = BUF_INIT;
	struct err e = {0};
	enum status rc;

	if ((rc = config_print(cfg, &out, &e)) != ST_OK) {
		buf_release(&out);
		return cmd_fail(rc, &e);
	}
	fputs(out.data, stdout);
	buf_release(&out);
	return EXIT_OK;
}

/* serve's own options (the settings flags are gone already): --print-config. */
static int parse_serve(int argc, char **argv, bool *print)
{
	const struct cmd_opt opts[] = {CMD_FLAG("--print-config", print), {0}};

	*print = false;
	return cmd_opts_parse("serve", opts, argc - 1, argv + 1);
}

/*
 * Waits for SIGTERM or SIGINT; between signals, every console_purge_seconds, deletes
 * expired console logins and sessions, so rows written by unauthenticated requests
 * never outlive their expiry.  (The audit checkpoints have a thread of their own.)
 */
static int wait_for_signal(const sigset_t *set, const struct config *cfg, struct app *app)
{
	const struct timespec every = {.tv_sec = (time_t)cfg->console_purge_seconds};

	for (;;) {
		struct err e = {0};
		int sig = sigtimedwait(set, NULL, &every);

		if (sig > 0)
			return sig;
		if (errno != EAGAIN)
			continue; /* EINTR */
		if (service_console_purge(app->svc, &e) != ST_OK)
			log_warn("console purge: %s", e.msg);
	}
}

/*
 * The signals are blocked before the server starts any thread, so every thread
 * inherits the mask and only sigtimedwait() in this thread ever takes them: no
 * handler runs in the middle of a request.  SIGPIPE is ignored so that a client
 * that hangs up mid-reply is a failed write, not a dead process.  On a signal the
 * listener closes and requests in flight get shutdown_grace_seconds to finish; the
 * token listener (PostgreSQL) stops after them, since their token checks use its cache.
 */
static int serve_loop(const struct config *cfg, struct app *app, struct serve_checkpoints *cps)
{
	struct http_server *srv = NULL;
	struct token_watch *tokens = NULL;
	struct err e = {0};
	enum status rc;
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by the server threads */
	signal(SIGPIPE, SIG_IGN);
	if ((rc = service_token_watch_start(app->svc, cfg->auth_token_cache_seconds, &tokens,
					    &e)) != ST_OK ||
	    (rc = http_start(app, cfg->listen, &srv, &e)) != ST_OK ||
	    (rc = serve_checkpoints_run(cps, &e)) != ST_OK) {
		http_stop(srv, 0);
		service_token_watch_stop(app->svc, tokens);
		return cmd_fail(rc, &e);
	}
	log_info("listening on http://%s backend=%s database=%s", cfg->listen,
		 store_backend_name(app->store), store_display_url(app->store));
	sig = wait_for_signal(&set, cfg, app);
	log_info("received %s: draining in-flight requests", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	serve_checkpoints_halt(cps); /* a check in progress stops at its next entry */
	http_stop(srv, cfg->shutdown_grace_seconds * 1000);
	service_token_watch_stop(app->svc, tokens);
	log_info("stopped");
	return EXIT_OK;
}

/*
 * serve's pool: every wait on the database is bounded by the settings, so a locked
 * table or a slow statement answers 503 instead of holding its request for ever.
 */
static struct store_options serve_store_options(const struct config *cfg)
{
	return (struct store_options){.pool_size = (int)cfg->db_pool_size,
				      .prepare = config_db_prepare(cfg),
				      .statement_timeout_ms = cfg->db_statement_timeout_ms,
				      .lock_timeout_ms = cfg->db_lock_timeout_ms,
				      .pool_wait_ms = cfg->request_timeout_ms,
				      .count_cache_ms = cfg->list_count_cache_seconds * 1000,
				      .sqlite_checkpoint_pages = cfg->sqlite_checkpoint_pages};
}

/*
 * /readyz's own connection, outside the pool: a probe must not wait behind requests
 * for a connection, and it must answer within a load balancer's probe timeout, so
 * each of its waits is short.  store_open connects it now, so a database that takes
 * no further connection fails at start rather than at the first probe.
 */
static enum status open_probe(const struct config *cfg, struct store **out, struct err *e)
{
	const struct store_options opt = {.pool_size = 1,
					  .statement_timeout_ms = HTTP_READY_TIMEOUT_MS,
					  .lock_timeout_ms = HTTP_READY_TIMEOUT_MS / 2,
					  .pool_wait_ms = HTTP_READY_TIMEOUT_MS,
					  .connect_timeout_s = 2,
					  .sqlite_checkpoint_pages = cfg->sqlite_checkpoint_pages};

	return err_ctx(store_open(cfg->database_url, &opt, out, e), e, "readiness probe");
}

/*
 * A file that a setting names (policy_dir, approval_routing_file, the checkpoint key) and that
 * cannot be read is a bad setting, exit 2 like a bad value: the fix is in the configuration.
 * Exit 1 is left for the state of the system (docs/config.md, "Exit codes").
 */
static enum status as_setting(enum status rc, struct err *e)
{
	if (rc != ST_IO && rc != ST_NOT_FOUND)
		return rc;
	e->code = ST_INVALID;
	return ST_INVALID;
}

/*
 * Everything that can be wrong is checked before the port is opened, in order of
 * cost: the settings, the policy packs and routing file (files), then the database
 * and its schema, then the authentication settings (an identity provider that does
 * not answer yet is not fatal: cmd_authsetup.c).  A bad start exits with the
 * reason instead of listening and serving errors.
 */
int cmd_serve(struct config *cfg, int argc, char **argv)
{
	struct migration_set set = {0};
	struct policy_set *policies = NULL;
	struct routing *routing = NULL;
	struct serve_auth *auth = NULL;
	struct serve_checkpoints cps = {0};
	struct store *st = NULL, *probe = NULL;
	struct store_options opt;
	struct service svc;
	struct seal_keys token_keys;
	struct err e = {0};
	enum status rc;
	struct app app;
	bool print, keyed = false;
	int code;

	if ((code = parse_serve(argc, argv, &print)) != EXIT_OK)
		return code;
	if (print)
		return print_config(cfg);
	if ((rc = config_original_check(cfg, env_get, &e)) != ST_OK)
		return cmd_fail(rc, &e); /* exit 2: a setting serve would otherwise ignore */
	if ((rc = policy_set_load(cfg->policy_dir, &policies, &e)) != ST_OK ||
	    (rc = service_routing_load(cfg->approval_routing_file, &routing, &e)) != ST_OK ||
	    (rc = cmd_token_key(cfg, &token_keys, &keyed, &e)) != ST_OK ||
	    (rc = serve_checkpoints_start(cfg, &cps, &e)) != ST_OK) {
		code = cmd_fail(as_setting(rc, &e), &e);
		goto out;
	}
	opt = serve_store_options(cfg);
	if ((rc = cmd_open_database(cfg, "start", &opt, &st, &set, &e)) != ST_OK ||
	    (rc = open_probe(cfg, &probe, &e)) != ST_OK ||
	    (rc = serve_checkpoints_open(cfg, &cps, &e)) != ST_OK ||
	    (rc = serve_auth_start(cfg, &auth, &e)) != ST_OK) {
		code = cmd_fail(rc, &e);
		goto out;
	}
	log_info("approval routing: %zu rules from %s", service_routing_count(routing),
		 service_routing_source(routing));
	if (keyed)
		log_info(
			"api tokens: sealed with api_token_key_file; an unsealed token is refused");
	svc = (struct service){.store = st,
			       .policies = policies,
			       .routing = routing,
			       .rollout_change_pct_max = cfg->rollout_change_share_max_percent,
			       .token_keys = keyed ? &token_keys : NULL};
	app = (struct app){.store = st,
			   .probe = probe,
			   .request_timeout_ms = cfg->request_timeout_ms,
			   .migrations = &set,
			   .svc = &svc,
			   .auth = serve_auth_http(auth),
			   .max_body_bytes = (size_t)cfg->max_body_bytes,
			   .max_connections = (unsigned int)cfg->max_connections,
			   .max_connections_per_ip = (unsigned int)cfg->max_connections_per_ip,
			   .header_timeout_seconds = cfg->header_timeout_seconds,
			   .body_timeout_seconds = cfg->body_timeout_seconds};
	code = serve_loop(cfg, &app, &cps);
out:
	serve_checkpoints_stop(&cps);
	migrate_set_release(&set);
	store_close(st);
	store_close(probe);
	policy_set_free(policies);
	service_routing_free(routing);
	serve_auth_stop(auth);
	memset(&token_keys, 0, sizeof(token_keys));
	return code;
}
