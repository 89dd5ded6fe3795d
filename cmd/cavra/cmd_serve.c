/*
 * cmd_serve.c - cavra serve: schema check, HTTP service, graceful drain.
 */
#include "base/base.h"
#include "cmd.h"
#include "base/buf.h"
#include "base/log.h"
#include "http/http.h"
#include "migrate/migrate.h"
#include "policy/policy.h"
#include "service/service.h"
#include "store/store.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static int print_config(const struct config *cfg)
{
	struct buf out = BUF_INIT;
	struct err e = {0};

	if (config_print(cfg, &out, &e) != ST_OK)
		return cmd_fail(&e);
	fputs(out.data, stdout);
	buf_release(&out);
	return EXIT_OK;
}

static void on_applied(void *ctx, const char *what, const struct migration *m, int64_t ms)
{
	UNUSED(ctx);
	if (m)
		log_info("auto-migrate: %s %s (%lld ms)", what, m->file, (long long)ms);
	else
		log_info("auto-migrate: %s the legacy migration ledger", what);
}

/* Applies pending migrations through the migration URL (its own pool of one). */
static enum status auto_migrate(const struct config *cfg, const struct migration_set *set,
				struct err *e)
{
	struct store *mst = NULL;
	const struct store_options opt = {.pool_size = 1, .prepare = false};
	enum status st = store_open(config_migration_url(cfg), &opt, &mst, e);

	if (st == ST_OK)
		st = migrate_up(mst, set, 0, on_applied, NULL, e);
	store_close(mst);
	return st;
}

/* Refuses drift and, unless auto-migrate is on, pending migrations. */
static enum status check_schema(const struct config *cfg, struct store *st,
				const struct migration_set *set, struct err *e)
{
	struct ledger l = {0};
	struct migrate_report r = {0};
	enum status rc = migrate_status(st, set, &l, &r, e);
	bool behind = r.pending > 0 || r.ledger == LEDGER_LEGACY;

	if (rc == ST_OK && r.nproblems)
		rc = err_set(e, ST_CONFLICT,
			     "refusing to start: %s; run 'cavra migrate verify' to see every "
			     "problem",
			     r.problems[0].msg);
	else if (rc == ST_OK && behind && !config_auto_migrate(cfg))
		rc = err_set(e, ST_CONFLICT,
			     "refusing to start: %zu pending migrations; run 'cavra migrate up' "
			     "(or start with --auto-migrate)",
			     r.pending);
	else if (rc == ST_OK && behind)
		rc = auto_migrate(cfg, set, e);
	migrate_report_release(&r);
	ledger_release(&l);
	return rc;
}

static int serve_loop(const struct config *cfg, struct app *app)
{
	struct http_server *srv = NULL;
	struct err e = {0};
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by the server threads */
	signal(SIGPIPE, SIG_IGN);
	if (http_start(app, cfg->listen, &srv, &e) != ST_OK)
		return cmd_fail(&e);
	log_info("listening on http://%s backend=%s database=%s", cfg->listen,
		 store_backend_name(app->store), store_display_url(app->store));
	sigwait(&set, &sig);
	log_info("received %s: draining in-flight requests", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	http_stop(srv, cfg->shutdown_grace_seconds * 1000);
	log_info("stopped");
	return EXIT_OK;
}

int cmd_serve(struct config *cfg, int argc, char **argv)
{
	struct migration_set set = {0};
	struct policy_set *policies = NULL;
	struct store_options opt;
	struct store *st = NULL;
	struct service svc;
	struct err e = {0};
	struct app app;
	int code;

	if (argc == 2 && strcmp(argv[1], "--print-config") == 0)
		return print_config(cfg);
	if (argc > 1)
		return cmd_usage_error("serve: unknown option '%s'", argv[1]);
	if (policy_set_load(cfg->policy_dir, &policies, &e) != ST_OK) {
		code = cmd_fail(&e);
		goto out;
	}
	opt = (struct store_options){.pool_size = (int)cfg->db_pool_size,
				     .prepare = config_db_prepare(cfg)};
	if (store_open(cfg->database_url, &opt, &st, &e) != ST_OK ||
	    migration_set_load(cfg->migrations_dir, store_backend_name(st), &set, &e) != ST_OK ||
	    check_schema(cfg, st, &set, &e) != ST_OK) {
		code = cmd_fail(&e);
		goto out;
	}
	svc = (struct service){.store = st, .policies = policies};
	app = (struct app){.store = st,
			   .migrations = &set,
			   .svc = &svc,
			   .max_body_bytes = (size_t)cfg->max_body_bytes};
	code = serve_loop(cfg, &app);
out:
	migration_set_release(&set);
	store_close(st);
	policy_set_free(policies);
	return code;
}
