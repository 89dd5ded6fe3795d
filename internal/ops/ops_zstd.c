/*
 * ops_zstd.c - the zstd streams of backup table files: a compressor the
 * writer feeds chunk by chunk, and a decompressor the scanner feeds as it
 * reads, with a bounded window so that a hostile file cannot make a reader
 * allocate more than a backup writer ever needs (docs/backup-format.md).
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/num.h"
#include "base/str.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

/*
 * Levels 1..19 use windows of at most 2^23 bytes (8 MiB); 20..22 need up to
 * 2^27.  The reader refuses frames that ask for more than the writer's
 * largest, so memory stays bounded whatever the file says.
 */
#define WINDOW_LOG_MAX 23

/* ---- options ---- */

enum status ops_compress_parse(const char *text, struct ops_compress *out, struct err *e)
{
	int64_t level = OPS_ZSTD_LEVEL_DEFAULT;

	if (str_eq(text, "none")) {
		*out = (struct ops_compress){OPS_COMPRESS_NONE, 0};
		return ST_OK;
	}
	if (strncmp(text, "zstd", 4) == 0 &&
	    (text[4] == '\0' ||
	     (text[4] == ':' && str_to_i64(text + 5, 1, OPS_ZSTD_LEVEL_MAX, &level)))) {
		*out = (struct ops_compress){OPS_COMPRESS_ZSTD, (int)level};
		return ST_OK;
	}
	return err_set(e, ST_INVALID, "compression '%.40s': use none, zstd or zstd:LEVEL (1..%d)",
		       text, OPS_ZSTD_LEVEL_MAX);
}

const char *ops_compression_name(enum ops_compression kind)
{
	return kind == OPS_COMPRESS_ZSTD ? "zstd" : "none";
}

/* ---- compressing ---- */

struct ops_zwriter {
	ZSTD_CCtx *cc;
	char *out;
	size_t out_cap;
};

static enum status zstd_status(size_t r, const char *what, struct err *e)
{
	if (!ZSTD_isError(r))
		return ST_OK;
	return err_set(e, ST_INTERNAL, "%s: %s", what, ZSTD_getErrorName(r));
}

/*
 * One worker thread when the library has them: the caller (the writer's
 * thread, which also hashes and checks every line) only hands input over,
 * and the compression itself runs beside it, so a backup keeps both cores
 * busy.  A content checksum in the frame is a second, independent check of
 * the decompressed bytes.
 */
struct ops_zwriter *ops_zwriter_new(int level, struct err *e)
{
	struct ops_zwriter *z = xcalloc(1, sizeof(*z));
	ZSTD_bounds workers = ZSTD_cParam_getBounds(ZSTD_c_nbWorkers);
	size_t r;

	z->cc = ZSTD_createCCtx();
	if (!z->cc) {
		free(z);
		err_set(e, ST_INTERNAL, "zstd: cannot create a compression context");
		return NULL;
	}
	r = ZSTD_CCtx_setParameter(z->cc, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(z->cc, ZSTD_c_checksumFlag, 1);
	if (!ZSTD_isError(r) && !ZSTD_isError(workers.error) && workers.upperBound >= 1)
		r = ZSTD_CCtx_setParameter(z->cc, ZSTD_c_nbWorkers, 1);
	if (zstd_status(r, "zstd parameters", e) != ST_OK) {
		ops_zwriter_free(z);
		return NULL;
	}
	z->out_cap = ZSTD_CStreamOutSize();
	z->out = xmalloc(z->out_cap);
	return z;
}

enum status ops_zwriter_add(struct ops_zwriter *z, const char *p, size_t n, bool end,
			    ops_bytes_fn out, void *ctx, struct err *e)
{
	ZSTD_inBuffer in = {p, n, 0};
	size_t left;

	do {
		ZSTD_outBuffer o = {z->out, z->out_cap, 0};
		enum status st;

		left = ZSTD_compressStream2(z->cc, &o, &in, end ? ZSTD_e_end : ZSTD_e_continue);
		if (zstd_status(left, "zstd compress", e) != ST_OK)
			return ST_INTERNAL;
		st = o.pos ? out(ctx, z->out, o.pos, e) : ST_OK;
		if (st != ST_OK)
			return st;
	} while (end ? left != 0 : in.pos < in.size);
	return ST_OK;
}

void ops_zwriter_free(struct ops_zwriter *z)
{
	if (!z)
		return;
	ZSTD_freeCCtx(z->cc);
	free(z->out);
	free(z);
}

/* ---- decompressing ---- */

struct ops_zreader {
	ZSTD_DCtx *dc;
	char *out;
	size_t out_cap;
	bool done; /* a frame ended: nothing may follow */
	bool started; /* some input was read */
};

struct ops_zreader *ops_zreader_new(struct err *e)
{
	struct ops_zreader *z = xcalloc(1, sizeof(*z));
	size_t r;

	z->dc = ZSTD_createDCtx();
	if (!z->dc) {
		free(z);
		err_set(e, ST_INTERNAL, "zstd: cannot create a decompression context");
		return NULL;
	}
	r = ZSTD_DCtx_setParameter(z->dc, ZSTD_d_windowLogMax, WINDOW_LOG_MAX);
	if (zstd_status(r, "zstd parameters", e) != ST_OK) {
		ops_zreader_free(z);
		return NULL;
	}
	z->out_cap = ZSTD_DStreamOutSize();
	z->out = xmalloc(z->out_cap);
	return z;
}

/*
 * A full output buffer may hold back more output: the stream is drained
 * before the next input, so every byte reaches out in order.
 */
enum status ops_zreader_add(struct ops_zreader *z, const char *p, size_t n, ops_bytes_fn out,
			    void *ctx, struct err *e)
{
	ZSTD_inBuffer in = {p, n, 0};
	bool pending = false;

	if (n > 0)
		z->started = true;
	while (in.pos < in.size || pending) {
		ZSTD_outBuffer o = {z->out, z->out_cap, 0};
		size_t r;
		enum status st;

		if (z->done)
			return err_set(
				e, ST_INVALID,
				"%zu bytes after the end of the zstd frame (one frame per file)",
				in.size - in.pos);
		r = ZSTD_decompressStream(z->dc, &o, &in);
		if (ZSTD_isError(r))
			return err_set(e, ST_INVALID, "not a valid zstd file: %s",
				       ZSTD_getErrorName(r));
		z->done = r == 0;
		st = o.pos ? out(ctx, z->out, o.pos, e) : ST_OK;
		if (st != ST_OK)
			return st;
		pending = !z->done && o.pos == o.size;
	}
	return ST_OK;
}

enum status ops_zreader_end(const struct ops_zreader *z, struct err *e)
{
	if (!z->started)
		return err_set(e, ST_INVALID, "empty file where a zstd frame was expected");
	if (!z->done)
		return err_set(e, ST_INVALID, "the zstd frame is cut short");
	return ST_OK;
}

void ops_zreader_free(struct ops_zreader *z)
{
	if (!z)
		return;
	ZSTD_freeDCtx(z->dc);
	free(z->out);
	free(z);
}
