"""The load generator and the checks of test_crash.py.

Writers post decisions over a few sessions and keep every acknowledgement (a 2xx answer:
the id, the session and the outcome the client was told). After a fault and the recovery,
check() reads the database itself and asserts that no acknowledged decision was lost and
that every session's counters equal the decisions stored for it.
"""
import atexit
import collections
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import requests
import requests.adapters

from conftest import CAVRA, SANITIZER_MARKS, backend_of, cavra, sql

# Every process of the crash tests seals the chain's entries (docs/audit.md, "Sealed entries"):
# a fault must leave each writer's numbers without a gap, or verify would name deletions.
SEAL_KEY = os.path.join(tempfile.mkdtemp(prefix="cavra-crash-key-"), "seal.key")
atexit.register(shutil.rmtree, os.path.dirname(SEAL_KEY), True)  # once left behind each run
with open(SEAL_KEY, "w") as _f:
    _f.write("crash-tests-seal-key-0123456789abcdef\n")
SEAL_ENV = {"CAVRA_AUDIT_SEAL_KEY_FILE": SEAL_KEY}

# execute_command on these targets gives block, allow, require_approval and allow under
# the baseline pack, so every counter of a session moves.
TARGETS = ["terraform apply", "pytest -q", "make deploy", "ls"]
CONNECT_TIMEOUT, READ_TIMEOUT = 2, 15  # seconds; far above a healthy answer's time
ERROR_PAUSE = 0.05  # seconds a writer waits after a failure, so that a dead server is not spun on


def wait_until(pred, timeout, what, must=True):
    """Polls pred until it is true; after timeout seconds fails the test, or returns False
    where must is off (the caller asserts later, after the checks that matter more)."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            if must:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            return False
        time.sleep(0.05)
    return True


def no_retry_session():
    """A requests session that never sends a request twice (see Load)."""
    http = requests.Session()
    http.mount("http://", requests.adapters.HTTPAdapter(max_retries=0))
    return http


class Load:
    """N writer threads posting decisions to base until stop().

    Every request is sent once: a writer that gets an error or no answer (a timeout, a
    reset connection) counts a failure and moves on to a new request, it never resends.
    A resent request would be a second decision (the service has no Idempotency-Key on
    this base), so a retrying client could store more decisions than it sent requests;
    without retries every stored decision of a session is either acknowledged or belongs
    to one failed request, which check() asserts.
    """

    def __init__(self, base, tag, writers=8, sessions=4):
        self.base = base
        self.sessions = [f"{tag}-{k}" for k in range(sessions)]
        self.acks = []  # (decision_id, session_id, decision), appended under the GIL
        self.failures = collections.Counter()  # (session_id, why) -> requests not acknowledged
        self.wrong = []  # 2xx answers that do not describe the decision asked for
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._writer, args=(w,), daemon=True)
                         for w in range(writers)]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=CONNECT_TIMEOUT + READ_TIMEOUT + 5)
        assert not any(t.is_alive() for t in self._threads), "a writer did not stop"

    def failed(self):
        with self._lock:
            return sum(self.failures.values())

    def _fail(self, sid, why):
        with self._lock:
            self.failures[(sid, why)] += 1

    def _writer(self, w):
        http, i = no_retry_session(), 0
        while not self._stop.is_set():
            sid = self.sessions[(w + i) % len(self.sessions)]
            body = {"session_id": sid, "agent_id": f"writer-{w}", "actor": "crash-test",
                    "action_type": "execute_command", "target": TARGETS[i % len(TARGETS)]}
            i += 1
            try:
                r = http.post(self.base + "/decisions", json=body,
                              timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
            except requests.RequestException as exc:
                self._fail(sid, type(exc).__name__)
                http.close()
                http = no_retry_session()
                time.sleep(ERROR_PAUSE)
                continue
            if not 200 <= r.status_code < 300:
                self._fail(sid, r.status_code)
                time.sleep(ERROR_PAUSE)
                continue
            self._ack(sid, r)

    def _ack(self, sid, r):
        """Keeps a 2xx answer; one that is no decision of sid is kept as wrong, and
        check() fails on it (a writer thread must not die of it unnoticed)."""
        try:
            d = r.json()
        except ValueError:
            self.wrong.append(r.text)
            return
        if not isinstance(d, dict) or d.get("session_id") != sid or not d.get("decision_id"):
            self.wrong.append(d)
            return
        self.acks.append((d["decision_id"], sid, d.get("decision")))

    def write_once(self, sid=None):
        """One decision outside the writers; it must be acknowledged, and is checked too."""
        sid = sid or self.sessions[0]
        r = no_retry_session().post(self.base + "/decisions",
                                    json={"session_id": sid, "action_type": "execute_command",
                                          "target": TARGETS[0]},
                                    timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
        assert r.status_code == 201, r.text
        self.acks.append((r.json()["decision_id"], sid, r.json()["decision"]))


def stored(db, sessions):
    """{decision_id: (session_id, decision)} of the given sessions, read from the database."""
    ids = ", ".join(f"'{s}'" for s in sessions)
    rows = sql(db, "SELECT decision_id, session_id, decision FROM activity_decisions "
                   f"WHERE session_id IN ({ids})")
    return {r[0]: (r[1], r[2]) for r in rows}


def counters(db, sessions):
    """{session_id: (decision_count, blocked_count, approval_required_count)}."""
    ids = ", ".join(f"'{s}'" for s in sessions)
    rows = sql(db, "SELECT session_id, decision_count, blocked_count, approval_required_count "
                   f"FROM activity_sessions WHERE session_id IN ({ids})")
    return {r[0]: tuple(int(v) for v in r[1:]) for r in rows}


def check(db, load):
    """Zero lost acknowledgements, exact counters, no decision without a request, an audit
    chain that still verifies; returns a one-line summary for the test's own assertions and
    messages."""
    assert not load.wrong, f"2xx answers for another decision: {load.wrong[:3]}"
    ids = [a[0] for a in load.acks]
    assert len(ids) == len(set(ids)), "one decision id acknowledged twice"
    rows = stored(db, load.sessions)
    lost = [a for a in load.acks if a[0] not in rows]
    changed = [(a, rows[a[0]]) for a in load.acks if a[0] in rows and rows[a[0]] != a[1:]]
    assert not lost, f"{len(lost)} of {len(ids)} acknowledged decisions lost: {lost[:5]}"
    assert not changed, f"{len(changed)} stored with another session or outcome: {changed[:5]}"
    want = collections.defaultdict(lambda: [0, 0, 0])
    for sid, decision in rows.values():
        want[sid][0] += 1
        want[sid][1] += decision == "block"
        want[sid][2] += decision == "require_approval"
    got, want = counters(db, load.sessions), {s: tuple(c) for s, c in want.items()}
    assert got == want, f"session counters {got}, stored decisions {want}"
    acked = collections.Counter(a[1] for a in load.acks)
    failed = collections.Counter()
    for (sid, _), n in load.failures.items():
        failed[sid] += n
    for sid, (n, _, _) in want.items():
        # Committed but not acknowledged is allowed, at most once per failed request.
        assert acked[sid] <= n <= acked[sid] + failed[sid], \
            f"{sid}: {n} stored, {acked[sid]} acknowledged, {failed[sid]} failed"
    # The chain is appended in the transaction of the decisions it covers: a crash, a kill,
    # a full disk or a lock must leave it whole, every stored decision chained once, every
    # entry sealed, and each writer's numbers without a gap (a rollback gives them back).
    code, out, err = cavra("audit", "verify", "--seal-key-file", SEAL_KEY, db=db)
    assert code == 0, f"audit verify exit {code} after the fault: {out}{err}"
    return (f"{len(ids)} acknowledged, {len(rows)} stored, {load.failed()} failed "
            f"({dict(collections.Counter(why for _, why in load.failures.elements()))})")


class Cavra:
    """`cavra serve` as a process this test may SIGKILL (conftest's serve expects exit 0)."""

    def __init__(self, db, port, *args, logdir=None):
        self.db, self.port, self.args = db, port, list(args)
        self.base = f"http://127.0.0.1:{port}"
        self.logdir = logdir or tempfile.mkdtemp(prefix="cavra-crash-")
        self.proc, self.runs = None, 0

    def start(self):
        """Starts serve and waits for /healthz; the port may still be the killed one's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
        env.update(SEAL_ENV)
        argv = [CAVRA, "serve", "--listen", f"127.0.0.1:{self.port}", "--database", self.db]
        self.runs += 1
        self.log = os.path.join(str(self.logdir), f"serve-{self.port}-{self.runs}.log")
        with open(self.log, "w") as logf:
            self.proc = subprocess.Popen(argv + self.args, stdout=logf, stderr=logf, env=env)

        def up():
            assert self.proc.poll() is None, f"serve exited {self.proc.returncode}: {self.text()}"
            with contextlib.suppress(requests.RequestException):
                return requests.get(self.base + "/healthz", timeout=2).status_code == 200
            return False

        wait_until(up, 30, "serve to answer /healthz")

    def text(self):
        with open(self.log) as f:
            return f.read()

    def kill(self):
        """SIGKILL; the log up to then must have no sanitizer report."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        text = self.text()
        for mark in SANITIZER_MARKS:
            assert mark not in text, text

    def stop(self):
        """SIGTERM; expects exit 0 and a log without sanitizer reports."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("serve did not stop on SIGTERM")
        text = self.text()
        for mark in SANITIZER_MARKS:
            assert mark not in text, text
        assert self.proc.returncode == 0, f"serve exited {self.proc.returncode}: {text}"


@functools.lru_cache(maxsize=None)
def timeout_flags():
    """The statement and lock timeout flags, where this build has those settings (small
    values make a locked table fail fast instead of stalling); none otherwise."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
    out = ""
    for argv in (["serve", "--help"], ["help"], ["serve", "--print-config"]):
        r = subprocess.run([CAVRA] + argv, capture_output=True, text=True, env=env,
                           cwd=tempfile.gettempdir(), timeout=30)
        out += r.stdout + r.stderr
    flags = []
    for key, ms in (("db_statement_timeout_ms", "1000"), ("db_lock_timeout_ms", "500")):
        flag = key.replace("_", "-")
        if key in out or flag in out:
            flags += ["--" + flag, ms]
    return tuple(flags)


def is_postgres(db):
    return backend_of(db) == "postgres"
