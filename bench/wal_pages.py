"""bench/wal_pages.py DB DECISIONS: which b-trees the frames of a SQLite write-ahead log belong to.

Reads DB-wal's header and frames (the current cycle: the frames carrying the header's salts),
names each frame's page by its b-tree (SQLite's dbstat, on a copy of DB and DB-wal, so the log
is not checkpointed), and prints the frames, the commits and, per b-tree, the frames per
decision over DECISIONS (the decisions those commits wrote). Run by bench/wal_pages.sh with
Debian's python3 (its sqlite3 module has dbstat).
"""
import collections
import shutil
import sqlite3
import struct
import sys
import tempfile


def frames_of(wal):
    _magic, _ver, psz, _seq, s1, s2, _c1, _c2 = struct.unpack(">IIIIIIII", wal[:32])
    size, off, pages, commits = 24 + psz, 32, [], 0
    while off + size <= len(wal):
        page, db_pages, f1, f2 = struct.unpack(">IIII", wal[off:off + 16])
        if (f1, f2) != (s1, s2):
            break
        pages.append(page)
        commits += db_pages != 0
        off += size
    return pages, commits


def main():
    db, decisions = sys.argv[1], int(sys.argv[2])
    with open(db + "-wal", "rb") as f:
        pages, commits = frames_of(f.read())
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(db, tmp + "/c.db")
        shutil.copy(db + "-wal", tmp + "/c.db-wal")
        con = sqlite3.connect(tmp + "/c.db")
        names = dict((p, n) for n, p in con.execute("SELECT name, pageno FROM dbstat"))
        con.close()
    print(f"{len(pages)} frames, {commits} commits, {decisions} decisions: "
          f"{len(pages) / decisions:.1f} frames and {decisions / max(commits, 1):.1f} decisions "
          "per commit")
    print("| b-tree | frames / decision |\n| --- | ---: |")
    for name, n in collections.Counter(names.get(p, "?") for p in pages).most_common():
        print(f"| `{name}` | {n / decisions:.2f} |")


main()
