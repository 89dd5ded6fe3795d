/*
 * audit_checkpoint.c - signed checkpoints of the chain's head: the JSON file,
 * the bytes its Ed25519 signature covers, and reading one back.  Pure: no
 * database, no clock (the caller fills the time).
 */
#include "base/base.h"
#include "audit/audit.h"
#include "json/jx.h"
#include "base/files.h"
#include "base/timeutil.h"

#include <json-c/json.h>
#include <string.h>

enum status audit_checkpoint_message(const struct audit_checkpoint *cp, struct buf *out,
				     struct err *e)
{
	return buf_addf(out, e, AUDIT_CHECKPOINT_FORMAT "\n%lld\n%s\n%s\n%lld\n%s\n",
			(long long)cp->seq, cp->hash, cp->time, (long long)cp->count, cp->key_id);
}

enum status audit_checkpoint_write(struct audit_checkpoint *cp, const struct ed25519_key *k,
				   struct buf *out, struct err *e)
{
	unsigned char sig[ED25519_SIG_LEN];
	char hex[ED25519_SIG_HEX_LEN];
	struct buf msg;
	enum status st;

	ed25519_key_id(k, cp->key_id);
	buf_init(&msg, AUDIT_CHECKPOINT_MAX);
	st = audit_checkpoint_message(cp, &msg, e);
	if (st == ST_OK)
		st = ed25519_sign(k, msg.data, msg.len, sig, e);
	buf_release(&msg);
	if (st != ST_OK)
		return st;
	hex_encode(sig, sizeof(sig), hex);
	/* keys in byte order, like every other document cavra signs or hashes */
	return buf_addf(
		out, e,
		"{\"count\":%lld,\"format\":\"" AUDIT_CHECKPOINT_FORMAT "\",\"hash\":\"%s\","
		"\"key_id\":\"%s\",\"seq\":%lld,\"signature\":\"%s\",\"time\":\"%s\"}\n",
		(long long)cp->count, cp->hash, cp->key_id, (long long)cp->seq, hex, cp->time);
}

/* A required string member of exactly len - 1 lowercase hex digits. */
static enum status hex_field(json_object *o, const char *key, char *out, size_t len, struct err *e)
{
	const char *s = NULL;
	enum status st = jx_str(o, key, true, &s, e);

	if (st != ST_OK)
		return st;
	if (strlen(s) != len - 1 || !hex_is_lower(s, len - 1))
		return err_set(e, ST_INVALID, "'%s' is not %zu lowercase hex digits", key, len - 1);
	memcpy(out, s, len);
	return ST_OK;
}

static enum status parse_fields(json_object *o, struct audit_checkpoint *cp, char *sig,
				struct err *e)
{
	const char *fmt = NULL, *t = NULL;
	int64_t us;
	bool seen;
	enum status st = jx_str(o, "format", true, &fmt, e);

	if (st == ST_OK && strcmp(fmt, AUDIT_CHECKPOINT_FORMAT) != 0)
		st = err_set(e, ST_INVALID, "format '%.40s' is not " AUDIT_CHECKPOINT_FORMAT, fmt);
	if (st == ST_OK)
		st = jx_int(o, "seq", 0, INT64_MAX, &cp->seq, &seen, e);
	if (st == ST_OK && !seen)
		st = err_set(e, ST_INVALID, "'seq' is missing");
	if (st == ST_OK)
		st = jx_int(o, "count", 0, INT64_MAX, &cp->count, &seen, e);
	if (st == ST_OK && !seen)
		st = err_set(e, ST_INVALID, "'count' is missing");
	if (st == ST_OK)
		st = hex_field(o, "hash", cp->hash, SHA256_HEX_LEN, e);
	if (st == ST_OK)
		st = hex_field(o, "key_id", cp->key_id, SHA256_HEX_LEN, e);
	if (st == ST_OK)
		st = hex_field(o, "signature", sig, ED25519_SIG_HEX_LEN, e);
	if (st == ST_OK)
		st = jx_str(o, "time", true, &t, e);
	if (st == ST_OK && (strlen(t) >= sizeof(cp->time) || !time_parse(t, &us)))
		st = err_set(e, ST_INVALID, "'time' is not a time");
	if (st == ST_OK)
		memcpy(cp->time, t, strlen(t) + 1);
	return st;
}

enum status audit_checkpoint_read(const char *text, size_t n, const struct ed25519_key *pub,
				  struct audit_checkpoint *out, struct err *e)
{
	struct audit_checkpoint cp = {0};
	char sighex[ED25519_SIG_HEX_LEN], kid[SHA256_HEX_LEN];
	unsigned char sig[ED25519_SIG_LEN];
	json_object *o = NULL;
	struct buf msg;
	enum status st = n > AUDIT_CHECKPOINT_MAX ? err_set(e, ST_INVALID, "more than %d bytes",
							    AUDIT_CHECKPOINT_MAX)
						  : jx_parse_object(text, n, &o, e);

	if (st == ST_OK)
		st = parse_fields(o, &cp, sighex, e);
	json_object_put(o);
	if (st != ST_OK)
		return err_ctx(st, e, "checkpoint");
	ed25519_key_id(pub, kid);
	if (strcmp(kid, cp.key_id) != 0)
		return err_set(e, ST_INVALID, "checkpoint: signed by key %.16s..., not by %.16s...",
			       cp.key_id, kid);
	(void)hex_decode(sighex, sizeof(sig), sig); /* checked to be lowercase hex */
	buf_init(&msg, AUDIT_CHECKPOINT_MAX);
	st = audit_checkpoint_message(&cp, &msg, e);
	if (st == ST_OK)
		st = ed25519_verify(pub, msg.data, msg.len, sig, sizeof(sig))
			     ? ST_OK
			     : err_set(e, ST_INVALID, "signature does not match the key");
	buf_release(&msg);
	if (st != ST_OK)
		return err_ctx(st, e, "checkpoint");
	*out = cp;
	return ST_OK;
}

enum status audit_checkpoint_load(const char *path, const struct ed25519_key *pub,
				  struct audit_checkpoint *out, struct err *e)
{
	struct buf text;
	enum status st;

	buf_init(&text, AUDIT_CHECKPOINT_MAX);
	st = file_read(path, AUDIT_CHECKPOINT_MAX, &text, e);
	if (st == ST_OK)
		st = audit_checkpoint_read(text.data, text.len, pub, out, e);
	buf_release(&text);
	return st;
}
