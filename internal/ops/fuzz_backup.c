/*
 * fuzz_backup.c - libFuzzer target for what `cavra ops verify` and
 * `restore` read from a backup directory someone else may have written:
 * the manifest parsers (cavra's v3 and v2, and the original's v1), the zstd reader of compressed
 * table files, the dump line parser (with string decoding) and the canonical JSON form.  Built with
 * -DCAVRA_FUZZ=ON and clang; the test command runs it briefly on the seeds in fuzz/backup/
 * (scripts/test.sh).  A value the API would accept must get the same canonical form from
 * its text, from its json-c tree and from json-c's text of that tree.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "json/jx.h"
#include "json/jx_canon.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FRAME_OUT_MAX ((size_t)4 << 20) /* a decompression bomb stops here, as at bytes */

static const char *const cols[] = {"decision_id", "payload", "decided_at", "decision_count"};

static void lines(const char *text, size_t size)
{
	struct ops_line_keys k;
	struct ops_span out[OPS_LINE_KEYS_MAX];
	const char *why = NULL;
	struct buf b;

	ops_line_keys_init(&k, cols, ARRAY_SIZE(cols));
	if (!ops_line_split(text, size, &k, out, &why))
		return;
	buf_init(&b, (size_t)1 << 20);
	for (size_t i = 0; i < k.n; i++) {
		buf_reset(&b);
		if (out[i].kind == OPS_SPAN_STRING && ops_span_text(&out[i], &b, NULL) == ST_OK &&
		    b.len > out[i].n)
			abort(); /* decoding never grows a string */
	}
	buf_release(&b);
}

/* ops_bytes_fn: counts what a frame decompresses to, up to FRAME_OUT_MAX. */
static enum status frame_out(void *ctx, const char *p, size_t n, struct err *e)
{
	size_t *total = ctx;

	(void)p;
	*total += n;
	return *total > FRAME_OUT_MAX ? err_set(e, ST_TOO_LARGE, "too large") : ST_OK;
}

/* The input as a compressed table file: any bytes, fed in two pieces. */
static void frames(const char *data, size_t size)
{
	struct ops_zreader *z = ops_zreader_new(NULL);
	size_t total = 0, half = size / 2;
	enum status st;

	if (!z)
		return;
	st = ops_zreader_add(z, data, half, frame_out, &total, NULL);
	if (st == ST_OK)
		st = ops_zreader_add(z, data + half, size - half, frame_out, &total, NULL);
	if (st == ST_OK)
		st = ops_zreader_end(z, NULL);
	(void)st;
	ops_zreader_free(z);
}

/*
 * A value the API accepts (jx_parse, jx_check_numbers) has one canonical form whichever code
 * computes it: the service's, over the json-c tree, when it hashes a record into the chain or
 * an Idempotency-Key's request; the backup's, over the stored text (PostgreSQL's, or json-c's
 * on SQLite), when it checksums the line a restore proves that link against.  Any difference
 * would be a break in the chain that no one made.
 */
static bool same_text(const char *canon, const struct buf *b)
{
	return canon && strlen(canon) == b->len && memcmp(canon, b->data, b->len) == 0;
}

static void same_canon(const char *text, size_t size, const char *canon)
{
	json_object *v = NULL;
	struct buf b;
	char *stored, *again;

	if (jx_parse(text, size, JX_MAX_DEPTH, &v, NULL) != ST_OK)
		return;
	if (jx_check_numbers(text, size, NULL) != ST_OK) {
		json_object_put(v);
		return;
	}
	buf_init(&b, (size_t)1 << 20);
	if (jx_canon_append(&b, v, NULL) != ST_OK || !same_text(canon, &b))
		abort(); /* the tree's canonical form and the text's differ */
	/* what SQLite stores is json-c's text of the parsed value: it must read the same */
	stored = jx_take_text(v);
	again = ops_canon_text(stored, strlen(stored));
	if (!same_text(again, &b))
		abort();
	free(again);
	free(stored);
	buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct ops_manifest *m = NULL;
	struct ops_v1_manifest *v1 = NULL;
	struct ops_report rep = {0};
	char *canon;

	ops_manifest_parse(text, size, &m, &rep);
	ops_manifest_free(m);
	ops_report_release(&rep);
	ops_v1_parse(text, size, &v1, &rep);
	ops_v1_free(v1);
	ops_report_release(&rep);
	lines(text, size);
	frames(text, size);
	canon = ops_canon_text(text, size);
	if (canon) {
		char *again = ops_canon_text(canon, strlen(canon));

		if (!again || strcmp(again, canon) != 0)
			abort(); /* the canonical form is a fixed point */
		free(again);
	}
	same_canon(text, size, canon);
	free(canon);
	return 0;
}
