/*
 * ops_sign.c - manifest.sig, the detached Ed25519 signature of a backup's
 * manifest.json bytes: written beside the manifest by a signed backup, and
 * checked before anything in the manifest is trusted (docs/backup-format.md).
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/files.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "json/jx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SIG_FILE_MAX ((size_t)4 << 10) /* the file is about 400 bytes */

/* What manifest.sig holds once its fields have been checked. */
struct sig_file {
	char key_id[ED25519_KEY_ID_LEN];
	unsigned char pub[ED25519_PUB_LEN];
	unsigned char sig[ED25519_SIG_LEN];
};

static char *sig_text(const struct ed25519_key *k, const unsigned char sig[ED25519_SIG_LEN],
		      char key_id[ED25519_KEY_ID_LEN])
{
	json_object *o = json_object_new_object();
	unsigned char pub[ED25519_PUB_LEN];
	char *pub64, *sig64, *text;

	ed25519_key_public(k, pub);
	ed25519_key_id(k, key_id);
	pub64 = ed25519_b64_encode(pub, sizeof(pub));
	sig64 = ed25519_b64_encode(sig, ED25519_SIG_LEN);
	jx_add_str(o, "schema_version", OPS_SIGNATURE_FORMAT);
	jx_add_str(o, "algorithm", "ed25519");
	jx_add_str(o, "key_id", key_id);
	jx_add_str(o, "public_key", pub64);
	jx_add_str(o, "signed_file", OPS_MANIFEST_NAME);
	jx_add_str(o, "signature", sig64);
	text = xasprintf("%s\n", json_object_to_json_string_ext(
					 o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	free(pub64);
	free(sig64);
	return text;
}

enum status ops_signature_write(const char *dir, const char *manifest, size_t len,
				const struct ed25519_key *k, char key_id[ED25519_KEY_ID_LEN],
				struct err *e)
{
	unsigned char sig[ED25519_SIG_LEN];
	char *text;
	enum status st = ed25519_sign(k, manifest, len, sig, e);

	if (st != ST_OK)
		return st;
	text = sig_text(k, sig, key_id);
	st = ops_writer_text(dir, OPS_SIGNATURE_NAME, text, e);
	free(text);
	return st;
}

/* ---- reading ---- */

/*
 * ENOENT is "unsigned" (*missing); anything else that is not a small regular
 * file is a bad signature.  lstat: a symbolic link would let the directory
 * borrow a signature from elsewhere.
 */
static bool sig_read(const char *path, struct buf *text, bool *missing, char *why, size_t size)
{
	struct err e = {0};
	struct stat sb;

	*missing = false;
	if (lstat(path, &sb) != 0) {
		*missing = errno == ENOENT;
		snprintf(why, size, "%s", BASE_ERRSTR(errno));
		return false;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(why, size, "not a regular file");
		return false;
	}
	if (file_read(path, SIG_FILE_MAX, text, &e) != ST_OK) {
		snprintf(why, size, "%s", e.msg);
		return false;
	}
	return true;
}

static bool sig_fields(json_object *o, struct sig_file *f, char *why, size_t size)
{
	const char *id = jx_get_str(o, "key_id"), *pub = jx_get_str(o, "public_key");
	const char *sig = jx_get_str(o, "signature");
	char computed[ED25519_KEY_ID_LEN];

	if (!str_eq(jx_get_str(o, "schema_version"), OPS_SIGNATURE_FORMAT))
		snprintf(why, size, "schema_version is not %s", OPS_SIGNATURE_FORMAT);
	else if (!str_eq(jx_get_str(o, "algorithm"), "ed25519"))
		snprintf(why, size, "algorithm is not ed25519");
	else if (!ops_is_sha256(id))
		snprintf(why, size, "key_id is not 64 lowercase hex digits");
	else if (!pub || !ed25519_b64_decode(pub, f->pub, sizeof(f->pub)))
		snprintf(why, size, "public_key is not %d bytes in base64", ED25519_PUB_LEN);
	else if (!sig || !ed25519_b64_decode(sig, f->sig, sizeof(f->sig)))
		snprintf(why, size, "signature is not %d bytes in base64", ED25519_SIG_LEN);
	else
		why[0] = '\0';
	if (why[0])
		return false;
	snprintf(f->key_id, sizeof(f->key_id), "%s", id);
	sha256_hex(f->pub, sizeof(f->pub), computed);
	if (!str_eq(computed, f->key_id)) {
		snprintf(why, size, "key_id is not the SHA-256 of public_key");
		return false;
	}
	return true;
}

/* The request bodies' parser (jx_parse): RFC 8259, no trailing bytes, no key twice. */
static bool sig_parse(const struct buf *text, struct sig_file *f, char *why, size_t size)
{
	json_object *o = NULL;
	struct err je = {0};
	bool ok;

	why[0] = '\0';
	if (jx_parse(text->data, text->len, 4, &o, &je) != ST_OK)
		snprintf(why, size, "the file %s", jx_fault(je.msg));
	else if (!json_object_is_type(o, json_type_object))
		snprintf(why, size, "not a JSON object");
	ok = !why[0] && sig_fields(o, f, why, size);
	json_object_put(o);
	return ok;
}

/* Reads and parses dir/manifest.sig; false with *missing or why when there is none to use. */
static bool sig_load(const char *dir, struct sig_file *f, bool *missing, char *why, size_t size)
{
	char *path = ops_path_join(dir, OPS_SIGNATURE_NAME);
	struct buf text = BUF_INIT;
	bool ok = sig_read(path, &text, missing, why, size) && sig_parse(&text, f, why, size);

	buf_release(&text);
	free(path);
	return ok;
}

/*
 * A required key: the file must exist, name that key, and its signature must
 * verify under the configured key (never the one the file carries).
 */
static bool check_pinned(const struct sig_file *f, const char *manifest, size_t len,
			 const struct ed25519_key *pub, struct ops_signature *out,
			 struct ops_report *rep)
{
	char want[ED25519_KEY_ID_LEN];

	ed25519_key_id(pub, want);
	if (!str_eq(f->key_id, want)) {
		ops_report_add(rep, "signature_key", OPS_SIGNATURE_NAME,
			       "signed by another key %s, not the configured key %s", f->key_id,
			       want);
		return false;
	}
	if (!ed25519_verify(pub, manifest, len, f->sig, sizeof(f->sig))) {
		ops_report_add(rep, "signature", OPS_SIGNATURE_NAME,
			       "bad signature: it does not sign this manifest.json under key %s "
			       "(the manifest was changed after it was signed)",
			       want);
		return false;
	}
	out->valid = true;
	return true;
}

/* No required key: the signature is checked against the key it names, which only shows damage. */
static void check_unpinned(const struct sig_file *f, const char *manifest, size_t len,
			   struct ops_signature *out, struct ops_report *rep)
{
	struct ed25519_key *k = NULL;

	if (ed25519_public_from_raw(f->pub, &k, NULL) == ST_OK &&
	    ed25519_verify(k, manifest, len, f->sig, sizeof(f->sig)))
		out->valid = true;
	else
		ops_report_add(rep, "signature", OPS_SIGNATURE_NAME,
			       "bad signature: it does not sign this manifest.json under key %s "
			       "(the manifest was changed after it was signed)",
			       f->key_id);
	ed25519_key_free(k);
}

bool ops_signature_check(const char *dir, const char *manifest, size_t len,
			 const struct ed25519_key *pub, struct ops_signature *out,
			 struct ops_report *rep)
{
	struct sig_file f;
	bool missing = false;
	char why[ERR_MSG_MAX];

	memset(out, 0, sizeof(*out));
	out->pinned = pub != NULL;
	if (!sig_load(dir, &f, &missing, why, sizeof(why))) {
		out->present = !missing;
		if (missing && pub)
			ops_report_add(rep, "unsigned", OPS_SIGNATURE_NAME,
				       "unsigned: the backup has no %s and a public key is "
				       "configured",
				       OPS_SIGNATURE_NAME);
		else if (!missing)
			ops_report_add(rep, "signature", OPS_SIGNATURE_NAME, "bad signature: %s",
				       why);
		return !pub;
	}
	out->present = true;
	snprintf(out->key_id, sizeof(out->key_id), "%s", f.key_id);
	if (pub)
		return check_pinned(&f, manifest, len, pub, out, rep);
	check_unpinned(&f, manifest, len, out, rep);
	return true;
}
