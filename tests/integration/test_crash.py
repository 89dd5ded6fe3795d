"""Crashes and faults under load: no acknowledged decision is ever lost, session counters
are always exact.

Each test runs 8 writers (crash_load.Load) for a few seconds, injects one fault while they
run (PostgreSQL restarted with -m immediate, cavra SIGKILLed, the disk full, a table
locked), lets the service recover, and then reads the database: every acknowledged id is
stored with its outcome, every session's counters equal its stored decisions, and the
service writes again. The timings are loose (every wait has a timeout), the assertions
exact. The module takes about 75 s under ASan on two idle cores, longer on busy ones.
"""
import contextlib
import os
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import Postgres, cavra, free_port, pg_bindir, serve, sqlite_path

pytest.register_assert_rewrite("crash_load")  # its assertions explain themselves, too
from crash_load import (SEAL_ENV, Cavra, Load, check, is_postgres, timeout_flags,  # noqa: E402
                        wait_until)

WARM = 1.0  # seconds of load before the fault and after the recovery
WARM_ACKS = 50  # acknowledgements at least, so that a fault meets writes in flight
FAULT = 2.0  # seconds the table stays locked


def run_load(load, seconds):
    """Lets the writers run for a while and get WARM_ACKS acknowledgements meanwhile (on a
    busy machine that takes longer than the seconds)."""
    mark = len(load.acks)
    time.sleep(seconds)
    wait_until(lambda: len(load.acks) >= mark + WARM_ACKS, 60,
               f"{WARM_ACKS} acknowledged writes")


def migrated(db):
    code, out, err = cavra("migrate", "up", db=db, env=SEAL_ENV)
    assert code == 0, err
    return db


def test_postgres_crash_restart_under_load(tmp_path):
    own = Postgres()  # a cluster of its own: this test crashes it
    try:
        url = migrated(own.url())
        with serve(url, tmp=tmp_path, env=SEAL_ENV) as srv, Load(srv.base, "pgcrash") as load:
            run_load(load, WARM)
            own.stop()  # pg_ctl stop -m immediate: no shutdown checkpoint, crash recovery
            time.sleep(0.3)
            own.start()
            run_load(load, WARM)  # the pool dropped its dead connections and reconnected
            load.stop()
            load.write_once()
            summary = check(url, load)
            print(summary)
        assert load.failed() > 0, "the restart failed no request: " + summary
    finally:
        own.destroy()


def test_sigkill_under_load(db, tmp_path):
    srv = Cavra(migrated(db), free_port(), logdir=tmp_path)
    try:
        srv.start()
        with Load(srv.base, "kill") as load:
            run_load(load, WARM)
            srv.kill()
            if not is_postgres(db):  # killed with the database open: its WAL is left behind
                assert os.path.exists(sqlite_path(db) + "-wal")
            # Restarted on the same port while the writers keep trying: SQLite replays
            # its WAL, PostgreSQL rolled back the dead server's open transactions.
            srv.start()
            run_load(load, WARM)
            load.stop()
            load.write_once()
            print(check(db, load))
        srv.stop()
    finally:
        if srv.proc and srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait(timeout=30)


@contextlib.contextmanager
def tmpfs(path, size):
    os.makedirs(path)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): {r.stderr}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", path], timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", path], timeout=30)


class Filler(threading.Thread):
    """Keeps a file system full: writes until ENOSPC, and again whenever space appears
    (SQLite gives some back when it truncates its WAL)."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.done, self.full = path, threading.Event(), threading.Event()

    def run(self):
        with open(self.path, "wb", buffering=0) as f:  # nothing left to flush at close
            while not self.done.is_set():
                try:
                    f.write(b"\0" * 65536)
                except OSError:
                    self.full.set()
                    time.sleep(0.05)

    def stop(self):
        self.done.set()
        self.join(timeout=30)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def test_disk_full_under_load(tmp_path):
    # Room for the database and its write-ahead log, which grows to about 32 MiB between
    # checkpoints (store_sqlite_ckpt.h), before the filler takes the rest.
    with tmpfs(str(tmp_path / "disk"), "128m") as disk:
        db = migrated(f"sqlite:{disk}/cavra.db")
        with serve(db, tmp=tmp_path, env=SEAL_ENV) as srv, Load(srv.base, "full") as load:
            run_load(load, WARM)
            filler = Filler(os.path.join(disk, "filler"))
            filler.start()
            try:
                wait_until(filler.full.is_set, 30, "the tmpfs to be full")
                failed = load.failed()
                # Only that writes fail is asserted, not their status: any 2xx is an
                # acknowledgement, and check() finds it stored or reports it lost.
                failing = wait_until(lambda: load.failed() > failed, 30, "", must=False)
            finally:
                filler.stop()
            assert srv.proc.poll() is None, "serve died on a full disk: " + srv.stderr()
            run_load(load, WARM)
            load.stop()
            load.write_once()
            print(check(db, load))
        assert failing, "no write failed while the disk was full"


@contextlib.contextmanager
def locked(db):
    """Holds activity_decisions locked from another connection while the block runs."""
    if is_postgres(db):
        proc = subprocess.Popen([os.path.join(pg_bindir(), "psql"), db, "-X", "-q", "-t", "-A",
                                 "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # lock_timeout bounds the wait for the lock (an open transaction of cavra's)
            proc.stdin.write("SET lock_timeout = '20s';\nBEGIN;\n"
                             "LOCK TABLE activity_decisions IN ACCESS EXCLUSIVE MODE;\n"
                             "SELECT 'locked';\n")
            proc.stdin.flush()
            # psql answers each statement as it reads it: 'locked' means the lock is held
            assert proc.stdout.readline().strip() == "locked", proc.stderr.read()
            yield
            out, err = proc.communicate("COMMIT;\n", timeout=30)
            assert proc.returncode == 0, err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        return
    # In WAL mode BEGIN EXCLUSIVE takes the write lock: readers go on, writers wait.
    con = sqlite3.connect(sqlite_path(db), timeout=30, isolation_level=None)
    try:
        con.execute("BEGIN EXCLUSIVE")
        yield
        con.execute("COMMIT")
    finally:
        con.close()


def test_locked_table_under_load(db, tmp_path):
    migrated(db)
    with serve(db, *timeout_flags(), tmp=tmp_path, env=SEAL_ENV) as srv, Load(srv.base, "lock") as load:
        run_load(load, WARM)
        with locked(db):
            time.sleep(FAULT)  # writers stall (or fail, where a lock timeout is set)
        run_load(load, WARM)
        load.stop()
        load.write_once()
        print(check(db, load))

