/*
 * store_vouch_memo.h - private to internal/store: a per-process memory of rows the audit chain
 * was found to vouch for, so that a list page read again does not put every row through its
 * canonical form (the JSON re-serialised, times normalised) to compare it with its entry's
 * record_sha256: about half of what the check added to a page of 50 decisions on SQLite
 * (docs/benchmarks.md).
 *
 * A fact is the SHA-256 of the row's values exactly as read (each with its length, a null
 * marked) and of the entry's record_sha256 it matched.  The canonical form is a function of
 * those values alone, so the same values beside the same record_sha256 match again; a row
 * changed in the database, or an entry changed, has other values and is checked in full.
 * Only matches are kept.
 */
#ifndef CAVRA_STORE_VOUCH_MEMO_H
#define CAVRA_STORE_VOUCH_MEMO_H

#include "base/base.h"

#define STORE_VOUCH_MEMO_KEY 32

/* Fixed size (65,536 slots of 32 bytes, 2 MiB): a fact whose slot another takes is checked again.
 */
#define STORE_VOUCH_MEMO_SLOTS 65536

/* The key of table's row of n values (NULL for a null) next to record_sha256. */
void store_vouch_memo_key(const char *table, const char *const *vals, size_t n,
			  const char *record_sha256, unsigned char key[STORE_VOUCH_MEMO_KEY]);

/* Whether key was kept (a match found before); all-zero keys never are. */
bool store_vouch_memo_has(const unsigned char key[STORE_VOUCH_MEMO_KEY]);

/* Keeps key, in place of whatever its slot held. */
void store_vouch_memo_put(const unsigned char key[STORE_VOUCH_MEMO_KEY]);

#endif
