/*
 * cmd_serve_audit.c - the signed checkpoints `cavra serve` writes of the audit
 * chain's head: one at start, then every audit_checkpoint_seconds, into
 * audit_checkpoint_dir (docs/audit.md).  Before signing it checks the chain from
 * the last head it trusted (at start: the newest checkpoint in the directory that
 * its key signed) and signs nothing while that finds a break.  The keys are read
 * once and kept in memory.  The checks run on a thread and a connection of their own, so that
 * a long first walk holds up neither a signal nor a request.
 */
#include "base/base.h"
#include "cmd.h"
#include "audit/audit.h"
#include "base/files.h"
#include "base/log.h"
#include "base/seal.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "http/http.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BREAKS_LOGGED 20 /* per check; the rest are counted */

/* One checkpoint file of the directory, when the key signed it and it is newer than *best. */
static void consider(const struct serve_checkpoints *sc, const char *name,
		     struct audit_checkpoint *best, bool *found)
{
	char path[4096];
	struct audit_checkpoint cp;
	struct err e = {0};

	snprintf(path, sizeof(path), "%s/%s", sc->dir, name);
	if (audit_checkpoint_load(path, sc->key, &cp, &e) != ST_OK)
		log_warn("audit checkpoint: %s is not trusted: %s", path, e.msg);
	else if (!*found || cp.seq > best->seq ||
		 (cp.seq == best->seq && strcmp(cp.time, best->time) > 0)) {
		*best = cp;
		*found = true;
	}
}

/*
 * Whether name is a checkpoint file that came into the directory since the scan that began at
 * since_us (0: every one).  Its ctime changes when it is written, copied or moved in, and no
 * one can set it; two seconds of slack cover a file's clock granularity.
 */
static bool arrived(const struct serve_checkpoints *sc, const char *name, int64_t since_us)
{
	size_t n = strlen(name);
	char path[4096];
	struct stat sb;

	if (n <= 16 || strncmp(name, "checkpoint-", 11) != 0 || strcmp(name + n - 5, ".json") != 0)
		return false;
	snprintf(path, sizeof(path), "%s/%s", sc->dir, name);
	return since_us == 0 || (stat(path, &sb) == 0 &&
				 (int64_t)sb.st_ctim.tv_sec * 1000000 + sb.st_ctim.tv_nsec / 1000 >=
					 since_us - 2000000);
}

/*
 * The watch trusts the newest checkpoint in the directory that the key signed when it is newer
 * than the head it trusts: at start every file, then those that came in since the last scan
 * (another replica's, or one an operator wrote with `cavra audit checkpoint` to go on past
 * breaks they have looked into: docs/audit.md).
 */
static enum status trust_newest(struct serve_checkpoints *sc, struct err *e)
{
	struct audit_checkpoint best = {0};
	bool found = false;
	struct dirent *de;
	int64_t since = sc->scanned_us;
	DIR *d = opendir(sc->dir);

	if (!d)
		return err_set(e, ST_IO, "audit_checkpoint_dir '%s': %s", sc->dir,
			       BASE_ERRSTR(errno));
	sc->scanned_us = time_now_us();
	while ((de = readdir(d)) != NULL)
		if (arrived(sc, de->d_name, since))
			consider(sc, de->d_name, &best, &found);
	closedir(d);
	if (found && (since == 0 || best.seq > audit_watch_seq(sc->watch))) {
		audit_watch_trust(sc->watch, best.seq, best.hash);
		log_info("audit checkpoint: the chain is checked from seq %lld, signed at %s",
			 (long long)best.seq, best.time);
	}
	return ST_OK;
}

static enum status load_seal_keys(const struct config *cfg, struct serve_checkpoints *sc,
				  struct err *e)
{
	bool set;

	if (!cfg->audit_seal_key_file)
		return ST_OK;
	sc->seal_keys = xcalloc(1, sizeof(*sc->seal_keys));
	return cmd_seal_key(cfg, sc->seal_keys, &set, e);
}

enum status serve_checkpoints_start(const struct config *cfg, struct serve_checkpoints *sc,
				    struct err *e)
{
	enum status st;

	memset(sc, 0, sizeof(*sc));
	if (!cfg->audit_checkpoint_dir && !cfg->audit_signing_key_file)
		return ST_OK;
	if (!cfg->audit_checkpoint_dir || !cfg->audit_signing_key_file)
		return err_set(e, ST_INVALID,
			       "audit_checkpoint_dir and audit_signing_key_file go together");
	sc->dir = cfg->audit_checkpoint_dir;
	sc->every_us = cfg->audit_checkpoint_seconds * 1000000;
	sc->last_seq = -1;
	if (mkdir_p(sc->dir, e) != ST_OK)
		return err_ctx(ST_IO, e, "audit_checkpoint_dir");
	st = ed25519_private_load(cfg->audit_signing_key_file, &sc->key, e);
	if (st == ST_OK)
		st = load_seal_keys(cfg, sc, e);
	if (st == ST_OK && !(sc->watch = audit_watch_new(sc->seal_keys)))
		st = err_set(e, ST_INTERNAL, "could not set up the seal key's HMAC (OpenSSL)");
	if (st == ST_OK)
		st = trust_newest(sc, e);
	return st;
}

/* One break the check found, logged while few enough. */
static void log_break(void *ctx, const struct audit_break *b)
{
	int64_t *n = ctx;
	char seq[64] = "", to[32] = "";

	if ((*n)++ >= BREAKS_LOGGED)
		return;
	if (b->seq_to)
		snprintf(to, sizeof(to), "..%lld", (long long)b->seq_to);
	if (b->seq)
		snprintf(seq, sizeof(seq), " seq=%lld%s", (long long)b->seq, to);
	log_error("audit checkpoint: %s%s%s%.80s: %s", b->what, seq, b->id ? " id=" : "",
		  b->id ? b->id : "", b->why);
}

/* Writes cp as one file: the name says its seq and time, the content is signed. */
static enum status write_file(struct serve_checkpoints *sc, struct audit_checkpoint *cp,
			      struct err *e)
{
	struct buf out = BUF_INIT;
	char path[4096], stamp[sizeof(cp->time)];
	enum status rc;

	time_format_utc(time_now_us(), cp->time, sizeof(cp->time));
	snprintf(stamp, sizeof(stamp), "%s", cp->time);
	for (char *p = stamp; *p; p++)
		if (*p == ':' || *p == '.')
			*p = '-';
	snprintf(path, sizeof(path), "%s/checkpoint-%lld-%s.json", sc->dir, (long long)cp->seq,
		 stamp);
	rc = audit_checkpoint_write(cp, sc->key, &out, e);
	if (rc == ST_OK)
		rc = file_write_atomic(path, out.data, out.len, e);
	buf_release(&out);
	if (rc == ST_OK) {
		sc->last_seq = cp->seq;
		http_metrics_checkpoint(0, cp->seq, time_now_us() / 1000000);
		log_info("audit checkpoint: seq %lld written to %s", (long long)cp->seq, path);
	}
	return rc;
}

/* Checks the chain since the last trusted head, then signs the new head when it moved. */
static enum status write_one(struct serve_checkpoints *sc, struct store *st, struct err *e)
{
	struct audit_checkpoint cp;
	int64_t breaks = 0, logged = 0;
	enum status rc = trust_newest(sc, e);

	if (rc == ST_OK)
		rc = audit_watch_check(st, sc->watch, log_break, &logged, &cp, &breaks, e);
	if (rc != ST_OK)
		return rc;
	http_metrics_checkpoint(breaks, -1, time_now_us() / 1000000);
	if (breaks > 0) {
		log_error("audit checkpoint: not written: %lld breaks in the chain since the last "
			  "checkpoint (%lld logged); run 'cavra audit verify'",
			  (long long)breaks,
			  (long long)(logged < BREAKS_LOGGED ? logged : BREAKS_LOGGED));
		return ST_OK;
	}
	if (cp.seq == sc->last_seq)
		return ST_OK; /* the head has not moved: the last file still says it */
	return write_file(sc, &cp, e);
}

/*
 * No statement timeout: the walk from a start without a checkpoint reads the whole chain in one
 * statement.  The lock timeout stays: only a schema change (a migration) locks the chain.
 */
enum status serve_checkpoints_open(const struct config *cfg, struct serve_checkpoints *sc,
				   struct err *e)
{
	const struct store_options opt = {.pool_size = 1,
					  .lock_timeout_ms = cfg->db_lock_timeout_ms,
					  .sqlite_checkpoint_pages = cfg->sqlite_checkpoint_pages};

	if (!sc->key)
		return ST_OK;
	return err_ctx(store_open(cfg->database_url, &opt, &sc->store, e), e, "audit checkpoints");
}

/* Waits until the monotonic clock reaches until_us or the thread is told to stop; true: stop. */
static bool wait_until(struct serve_checkpoints *sc, int64_t until_us)
{
	struct timespec ts = time_mono_abs(until_us);
	bool stop;

	pthread_mutex_lock(&sc->mu);
	while (!sc->stop && time_mono_us() < until_us)
		pthread_cond_timedwait(&sc->cv, &sc->mu, &ts);
	stop = sc->stop;
	pthread_mutex_unlock(&sc->mu);
	return stop;
}

/* One check and checkpoint at once, then one every_us from the start of the last. */
static void *checkpoint_thread(void *arg)
{
	struct serve_checkpoints *sc = arg;

	for (;;) {
		int64_t next = time_mono_us() + sc->every_us;
		struct err e = {0};
		enum status rc = write_one(sc, sc->store, &e);

		if (rc != ST_OK && rc != ST_INTERRUPTED) /* interrupted: halted, the server stops */
			log_warn("audit checkpoint: %s", e.msg);
		if (wait_until(sc, next))
			return NULL;
	}
}

enum status serve_checkpoints_run(struct serve_checkpoints *sc, struct err *e)
{
	int rc;

	if (!sc->key)
		return ST_OK;
	pthread_mutex_init(&sc->mu, NULL);
	time_mono_cond_init(&sc->cv);
	rc = pthread_create(&sc->thread, NULL, checkpoint_thread, sc);
	if (rc != 0) {
		pthread_cond_destroy(&sc->cv);
		pthread_mutex_destroy(&sc->mu);
		return err_set(e, ST_INTERNAL, "audit checkpoints: start a thread: %s",
			       BASE_ERRSTR(rc));
	}
	sc->running = true;
	return ST_OK;
}

void serve_checkpoints_halt(struct serve_checkpoints *sc)
{
	if (!sc->running)
		return;
	pthread_mutex_lock(&sc->mu);
	sc->stop = true;
	pthread_cond_signal(&sc->cv);
	pthread_mutex_unlock(&sc->mu);
	audit_watch_cancel(sc->watch);
	pthread_join(sc->thread, NULL);
	pthread_cond_destroy(&sc->cv);
	pthread_mutex_destroy(&sc->mu);
	sc->running = false;
}

void serve_checkpoints_stop(struct serve_checkpoints *sc)
{
	serve_checkpoints_halt(sc);
	store_close(sc->store);
	sc->store = NULL;
	ed25519_key_free(sc->key);
	sc->key = NULL;
	audit_watch_free(sc->watch);
	sc->watch = NULL;
	if (sc->seal_keys) {
		memset(sc->seal_keys, 0, sizeof(*sc->seal_keys));
		free(sc->seal_keys);
		sc->seal_keys = NULL;
	}
}
