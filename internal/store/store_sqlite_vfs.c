/*
 * store_sqlite_vfs.c - the "cavra-walbuf" SQLite VFS: the default VFS, except
 * that a connection's contiguous appends to its -wal file are gathered and
 * written out together (see store_sqlite_vfs.h for when, and why it is safe).
 */
#include "base/base.h"
#include "store/store_sqlite_vfs.h"
#include "base/xalloc.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define VFS_NAME "cavra-walbuf"

/* A -wal file: the default VFS's file lives in the memory right after this struct. */
struct wal_file {
	sqlite3_file base; /* first: SQLite's handle, pMethods = &wal_methods */
	sqlite3_file *real;
	unsigned char *buf; /* STORE_SQLITE_VFS_BUF bytes once a write was gathered */
	size_t len; /* bytes waiting in buf */
	sqlite3_int64 off; /* the file offset of buf[0] */
};

_Static_assert(STORE_SQLITE_VFS_BUF < (size_t)128 * 1024,
	       "the default VFS writes under 128 KiB a call");

/* Where the real file starts: after struct wal_file, 8-byte aligned as SQLite's own are. */
#define REAL_OFFSET ((sizeof(struct wal_file) + 7) & ~(size_t)7)

static struct wal_file *to_wal(sqlite3_file *f)
{
	return (struct wal_file *)f;
}

static const sqlite3_io_methods *real_io(const struct wal_file *w)
{
	return w->real->pMethods;
}

/* Writes out what waits in the buffer; the buffer is empty afterwards, written or not. */
static int flush(struct wal_file *w)
{
	size_t n = w->len;

	if (n == 0)
		return SQLITE_OK;
	w->len = 0;
	/* a failed write leaves the frames unpublished: the commit that wrote them fails */
	return real_io(w)->xWrite(w->real, w->buf, (int)n, w->off);
}

static int wal_close(sqlite3_file *f)
{
	struct wal_file *w = to_wal(f);
	int rc = flush(w);
	int rc_close = real_io(w)->xClose(w->real);

	free(w->buf);
	w->buf = NULL;
	return rc != SQLITE_OK ? rc : rc_close;
}

static bool overlaps(const struct wal_file *w, sqlite3_int64 off, int n)
{
	return w->len > 0 && off < w->off + (sqlite3_int64)w->len && off + n > w->off;
}

static int wal_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	struct wal_file *w = to_wal(f);
	int rc = overlaps(w, off, n) ? flush(w) : SQLITE_OK;

	return rc != SQLITE_OK ? rc : real_io(w)->xRead(w->real, p, n, off);
}

/*
 * An append right after what waits is gathered; anything else writes out what waits first,
 * so that writes reach the file in the order SQLite made them (a frame written again in the
 * same transaction, the header of a restarted log).
 */
static int wal_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	struct wal_file *w = to_wal(f);
	size_t len = (size_t)n;
	int rc;

	if (w->len > 0 && off == w->off + (sqlite3_int64)w->len &&
	    w->len + len <= STORE_SQLITE_VFS_BUF) {
		memcpy(w->buf + w->len, p, len);
		w->len += len;
		return SQLITE_OK;
	}
	rc = flush(w);
	if (rc != SQLITE_OK)
		return rc;
	if (len > STORE_SQLITE_VFS_BUF / 2)
		return real_io(w)->xWrite(w->real, p, n, off);
	if (!w->buf)
		w->buf = xmalloc(STORE_SQLITE_VFS_BUF);
	memcpy(w->buf, p, len);
	w->off = off;
	w->len = len;
	return SQLITE_OK;
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct wal_file *w = to_wal(f);
	int rc = flush(w);

	return rc != SQLITE_OK ? rc : real_io(w)->xTruncate(w->real, size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
	struct wal_file *w = to_wal(f);
	int rc = flush(w);

	return rc != SQLITE_OK ? rc : real_io(w)->xSync(w->real, flags);
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct wal_file *w = to_wal(f);
	int rc = flush(w);

	return rc != SQLITE_OK ? rc : real_io(w)->xFileSize(w->real, size);
}

static int wal_lock(sqlite3_file *f, int level)
{
	return real_io(to_wal(f))->xLock(to_wal(f)->real, level);
}

static int wal_unlock(sqlite3_file *f, int level)
{
	return real_io(to_wal(f))->xUnlock(to_wal(f)->real, level);
}

static int wal_check_reserved(sqlite3_file *f, int *out)
{
	return real_io(to_wal(f))->xCheckReservedLock(to_wal(f)->real, out);
}

static int wal_file_control(sqlite3_file *f, int op, void *arg)
{
	struct wal_file *w = to_wal(f);
	int rc = flush(w);

	return rc != SQLITE_OK ? rc : real_io(w)->xFileControl(w->real, op, arg);
}

static int wal_sector_size(sqlite3_file *f)
{
	return real_io(to_wal(f))->xSectorSize(to_wal(f)->real);
}

static int wal_device(sqlite3_file *f)
{
	return real_io(to_wal(f))->xDeviceCharacteristics(to_wal(f)->real);
}

/*
 * The shared-memory and mapping methods belong to the database file; a -wal file is never
 * asked for them, but they are passed on so the methods are complete.
 */
static int wal_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	return real_io(to_wal(f))->xShmMap(to_wal(f)->real, pg, pgsz, extend, pp);
}

static int wal_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return real_io(to_wal(f))->xShmLock(to_wal(f)->real, offset, n, flags);
}

static void wal_shm_barrier(sqlite3_file *f)
{
	real_io(to_wal(f))->xShmBarrier(to_wal(f)->real);
}

static int wal_shm_unmap(sqlite3_file *f, int delete_flag)
{
	return real_io(to_wal(f))->xShmUnmap(to_wal(f)->real, delete_flag);
}

static int wal_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	struct wal_file *w = to_wal(f);
	int rc = flush(w);

	*pp = NULL;
	if (rc != SQLITE_OK || real_io(w)->iVersion < 3)
		return rc; /* no mapping: SQLite reads instead */
	return real_io(w)->xFetch(w->real, off, n, pp);
}

static int wal_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	if (real_io(to_wal(f))->iVersion < 3)
		return SQLITE_OK;
	return real_io(to_wal(f))->xUnfetch(to_wal(f)->real, off, p);
}

static const sqlite3_io_methods wal_methods = {
	.iVersion = 3,
	.xClose = wal_close,
	.xRead = wal_read,
	.xWrite = wal_write,
	.xTruncate = wal_truncate,
	.xSync = wal_sync,
	.xFileSize = wal_file_size,
	.xLock = wal_lock,
	.xUnlock = wal_unlock,
	.xCheckReservedLock = wal_check_reserved,
	.xFileControl = wal_file_control,
	.xSectorSize = wal_sector_size,
	.xDeviceCharacteristics = wal_device,
	.xShmMap = wal_shm_map,
	.xShmLock = wal_shm_lock,
	.xShmBarrier = wal_shm_barrier,
	.xShmUnmap = wal_shm_unmap,
	.xFetch = wal_fetch,
	.xUnfetch = wal_unfetch,
};

static sqlite3_vfs *real_vfs(sqlite3_vfs *vfs)
{
	return vfs->pAppData;
}

/* Only a -wal file gets the gathering methods; every other file is the default VFS's. */
static int vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
		    int *out_flags)
{
	sqlite3_vfs *real = real_vfs(vfs);
	struct wal_file *w = to_wal(f);
	int rc;

	if (!(flags & SQLITE_OPEN_WAL))
		return real->xOpen(real, name, f, flags, out_flags);
	memset(w, 0, sizeof(*w));
	w->real = (sqlite3_file *)((char *)f + REAL_OFFSET);
	rc = real->xOpen(real, name, w->real, flags, out_flags);
	/* SQLite calls xClose exactly when pMethods is set, as the default VFS sets it */
	w->base.pMethods = w->real->pMethods ? &wal_methods : NULL;
	return rc;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return real_vfs(vfs)->xDelete(real_vfs(vfs), name, sync_dir);
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return real_vfs(vfs)->xAccess(real_vfs(vfs), name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return real_vfs(vfs)->xFullPathname(real_vfs(vfs), name, n, out);
}

static void *vfs_dl_open(sqlite3_vfs *vfs, const char *name)
{
	return real_vfs(vfs)->xDlOpen(real_vfs(vfs), name);
}

static void vfs_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
	real_vfs(vfs)->xDlError(real_vfs(vfs), n, msg);
}

static void (*vfs_dl_sym(sqlite3_vfs *vfs, void *handle, const char *sym))(void)
{
	return real_vfs(vfs)->xDlSym(real_vfs(vfs), handle, sym);
}

static void vfs_dl_close(sqlite3_vfs *vfs, void *handle)
{
	real_vfs(vfs)->xDlClose(real_vfs(vfs), handle);
}

static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return real_vfs(vfs)->xRandomness(real_vfs(vfs), n, out);
}

static int vfs_sleep(sqlite3_vfs *vfs, int us)
{
	return real_vfs(vfs)->xSleep(real_vfs(vfs), us);
}

static int vfs_current_time(sqlite3_vfs *vfs, double *out)
{
	return real_vfs(vfs)->xCurrentTime(real_vfs(vfs), out);
}

/* errno of the default VFS's last failure: a write of the buffer that failed included */
static int vfs_last_error(sqlite3_vfs *vfs, int n, char *msg)
{
	return real_vfs(vfs)->xGetLastError(real_vfs(vfs), n, msg);
}

static int vfs_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return real_vfs(vfs)->xCurrentTimeInt64(real_vfs(vfs), out);
}

static sqlite3_vfs walbuf_vfs = {
	.iVersion = 2,
	.zName = VFS_NAME,
	.xOpen = vfs_open,
	.xDelete = vfs_delete,
	.xAccess = vfs_access,
	.xFullPathname = vfs_full_pathname,
	.xDlOpen = vfs_dl_open,
	.xDlError = vfs_dl_error,
	.xDlSym = vfs_dl_sym,
	.xDlClose = vfs_dl_close,
	.xRandomness = vfs_randomness,
	.xSleep = vfs_sleep,
	.xCurrentTime = vfs_current_time,
	.xGetLastError = vfs_last_error,
	.xCurrentTimeInt64 = vfs_current_time64,
};

static pthread_once_t register_once = PTHREAD_ONCE_INIT;
static bool registered;

/*
 * The process's first SQLite call, before SQLite initializes: memory statistics off first
 * (sqlite3_memory_used and the soft heap limit, which nothing here reads, else cost a global
 * mutex on every allocation: 7 % of a 1,000,000-decision restore into SQLite,
 * docs/benchmarks.md).  When another call came first the setting is refused, which costs speed
 * only.
 */
static void register_vfs(void)
{
	sqlite3_vfs *real;

	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	real = sqlite3_vfs_find(NULL);

	if (!real || real->iVersion < 2 || !real->xCurrentTimeInt64)
		return;
	walbuf_vfs.szOsFile = (int)(REAL_OFFSET + (size_t)real->szOsFile);
	walbuf_vfs.mxPathname = real->mxPathname;
	walbuf_vfs.pAppData = real;
	registered = sqlite3_vfs_register(&walbuf_vfs, 0) == SQLITE_OK;
}

const char *store_sqlite_vfs_name(void)
{
	pthread_once(&register_once, register_vfs);
	return registered ? VFS_NAME : NULL;
}
