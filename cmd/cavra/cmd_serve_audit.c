/*
 * cmd_serve_audit.c - the signed checkpoints `cavra serve` writes of the audit
 * chain's head: one at start, then every audit_checkpoint_seconds, into
 * audit_checkpoint_dir (docs/audit.md).  The key is read once and kept in memory.
 */
#include "base/base.h"
#include "cmd.h"
#include "audit/audit.h"
#include "base/files.h"
#include "base/log.h"
#include "base/timeutil.h"

#include <stdio.h>
#include <string.h>

enum status serve_checkpoints_start(const struct config *cfg, struct serve_checkpoints *sc,
				    struct err *e)
{
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
	return ed25519_private_load(cfg->audit_signing_key_file, &sc->key, e);
}

/* Writes one checkpoint file: the name says its seq and time, the content is signed. */
static enum status write_one(struct serve_checkpoints *sc, struct store *st, struct err *e)
{
	struct audit_checkpoint cp;
	struct buf out = BUF_INIT;
	char path[4096], stamp[sizeof(cp.time)];
	enum status rc = audit_head_checkpoint(st, &cp, e);

	if (rc != ST_OK || cp.seq == sc->last_seq)
		return rc; /* the head has not moved: the last file still says it */
	time_format_utc(time_now_us(), cp.time, sizeof(cp.time));
	snprintf(stamp, sizeof(stamp), "%s", cp.time);
	for (char *p = stamp; *p; p++)
		if (*p == ':' || *p == '.')
			*p = '-';
	snprintf(path, sizeof(path), "%s/checkpoint-%lld-%s.json", sc->dir, (long long)cp.seq,
		 stamp);
	rc = audit_checkpoint_write(&cp, sc->key, &out, e);
	if (rc == ST_OK)
		rc = file_write_atomic(path, out.data, out.len, e);
	buf_release(&out);
	if (rc == ST_OK) {
		sc->last_seq = cp.seq;
		log_info("audit checkpoint: seq %lld written to %s", (long long)cp.seq, path);
	}
	return rc;
}

void serve_checkpoints_tick(struct serve_checkpoints *sc, struct store *st)
{
	struct err e = {0};
	int64_t now = time_now_us();

	if (!sc->key || now < sc->next_us)
		return;
	sc->next_us = now + sc->every_us;
	if (write_one(sc, st, &e) != ST_OK)
		log_warn("audit checkpoint: %s", e.msg);
}

void serve_checkpoints_stop(struct serve_checkpoints *sc)
{
	ed25519_key_free(sc->key);
	sc->key = NULL;
}
