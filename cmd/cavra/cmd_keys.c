/*
 * cmd_keys.c - key files of HMAC seals (base/seal.h): api_token_key_file's for API tokens
 * and audit_seal_key_file's for the audit chain's entries.  A file holds the key on its first
 * line and, while a key is rotated out, the previous one on a second; the text never reaches
 * a message.
 */
#include "base/base.h"
#include "cmd.h"
#include "base/buf.h"
#include "base/files.h"
#include "base/seal.h"
#include "service/seals.h"

#include <stdio.h>
#include <string.h>

/* The file being read, for messages and for deriving its keys. */
struct key_file {
	const char *setting, *path;
	bool (*derive)(const char *secret, struct seal_key *key);
};

/*
 * One key of the file: the line at *p (its end cut at \r or \n), derived into key; *p moves to
 * the next line.  which names it in messages.
 */
static enum status key_line(const struct key_file *f, const char *which, char **p,
			    struct seal_key *key, struct err *e)
{
	char *line = *p;
	size_t n = strcspn(line, "\r\n");

	*p = line + n + strspn(line + n, "\r\n");
	line[n] = '\0';
	if (n < CMD_KEY_MIN)
		return err_set(e, ST_INVALID,
			       "%s '%s': its %s line holds %zu characters; a key needs at least "
			       "%d (e.g. openssl rand -hex 32)",
			       f->setting, f->path, which, n, CMD_KEY_MIN);
	if (!f->derive(line, key))
		return err_set(e, ST_INTERNAL, "%s: could not derive the key (OpenSSL)",
			       f->setting);
	return ST_OK;
}

/* Line ends are not part of a key, so the newline of `echo key > file` does not count. */
static enum status parse_keys(const struct key_file *f, char *text, struct seal_keys *keys,
			      struct err *e)
{
	char *p = text;
	enum status st = key_line(f, "first", &p, &keys->now, e);

	if (st == ST_OK && *p) {
		st = key_line(f, "second", &p, &keys->before, e);
		keys->before_set = st == ST_OK;
	}
	if (st == ST_OK && *p)
		st = err_set(e, ST_INVALID,
			     "%s '%s': more than two lines (the key, and the previous one while it "
			     "is rotated out)",
			     f->setting, f->path);
	return st;
}

enum status cmd_key_file(const char *setting, const char *path,
			 bool (*derive)(const char *secret, struct seal_key *key),
			 struct seal_keys *keys, struct err *e)
{
	const struct key_file f = {setting, path, derive};
	struct buf b;
	enum status st;

	memset(keys, 0, sizeof(*keys));
	buf_init(&b, 4096);
	st = file_read(path, 4096, &b, e);
	if (st != ST_OK) {
		char why[sizeof(e->msg)];

		buf_release(&b);
		snprintf(why, sizeof(why), "%s", e->msg);
		return err_set(e, ST_INVALID, "%s '%s': %s", setting, path, why);
	}
	st = parse_keys(&f, b.data, keys, e);
	memset(b.data, 0, b.len);
	buf_release(&b);
	return st;
}

/* A key file setting's keys (cmd_key_file), *set true; *set false when path is unset. */
static enum status key_setting(const char *setting, const char *path,
			       bool (*derive)(const char *secret, struct seal_key *key),
			       struct seal_keys *keys, bool *set, struct err *e)
{
	enum status st;

	*set = false;
	memset(keys, 0, sizeof(*keys));
	if (!path)
		return ST_OK;
	st = cmd_key_file(setting, path, derive, keys, e);
	*set = st == ST_OK;
	return st;
}

enum status cmd_token_key(const struct config *cfg, struct seal_keys *keys, bool *set,
			  struct err *e)
{
	return key_setting("api_token_key_file", cfg->api_token_key_file, seal_token_key, keys, set,
			   e);
}

enum status cmd_seal_key(const struct config *cfg, struct seal_keys *keys, bool *set, struct err *e)
{
	return key_setting("audit_seal_key_file", cfg->audit_seal_key_file, seal_audit_key, keys,
			   set, e);
}
