/*
 * store_sqlite_vfs.h - a SQLite VFS over the default one that gathers a
 * connection's appends to its write-ahead log into one write per commit.
 * Private to internal/store.
 */
#ifndef CAVRA_STORE_SQLITE_VFS_H
#define CAVRA_STORE_SQLITE_VFS_H

/*
 * SQLite writes each WAL frame with two write(2)s, its 24-byte header and its page: a batch of
 * decisions that touches 400 pages costs 800 system calls before its fsync.  Under this VFS the
 * contiguous appends of a connection to its -wal file wait in a buffer (STORE_SQLITE_VFS_BUF
 * bytes at most) and go to the file as one write, at the latest before the file is synced,
 * read where the buffer holds the range, sized, truncated or closed.  Every other file (the
 * database, its -shm, temporary files) is the default VFS's own, untouched.
 *
 * Durability is the default VFS's as long as every commit syncs the WAL, which
 * synchronous=FULL does: the frames reach the file before that sync, and other connections
 * only read frames a commit has published, after it.  A connection on this VFS must therefore
 * run with synchronous=FULL (store_sqlite.c sets it on every connection it opens).
 *
 * A failed write is reported where the buffer is written out (the sync, usually), with the
 * default VFS's result code and errno, so a full disk is still SQLITE_FULL.
 *
 * The buffer stays below 128 KiB: the default VFS writes at most 128 KiB - 1 bytes per call
 * (it masks the length to 17 bits, pages being 64 KiB at most), and reports a longer write as
 * a full disk.  124 KiB hold 30 frames of 4 KiB pages: 60 system calls become one.
 */
#define STORE_SQLITE_VFS_BUF ((size_t)124 * 1024)

/*
 * The VFS's name for sqlite3_open_v2(), registered (not as the default) at the first call;
 * NULL when the default VFS cannot be found, and the caller then opens with the default.
 * Thread-safe.  The first call also turns SQLite's memory statistics off, so it must come
 * before any other SQLite call of the process that would initialize the library (an open).
 */
const char *store_sqlite_vfs_name(void);

#endif
