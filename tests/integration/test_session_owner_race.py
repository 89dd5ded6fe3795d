"""A new session gets exactly one owner, however its first decisions race.

The service reads a session's owner before it queues a decision (a cheap early refusal), but
several agents whose first decisions name the same new session at the same moment all read
"no such session".  The write settles it: in the decision's own transaction, after the
session's row is taken (PostgreSQL's row lock; SQLite's one writer), a session that another
caller owns refuses the decision (403), so exactly one caller's decisions are stored, also
across two cavra processes on one PostgreSQL.  Evidence written first starts the session in its
own transaction, and races the first decisions the same way."""
import os
import threading

import pytest
import requests

from conftest import Postgres, cavra, serve, sql
from test_integrity import logged_plans
from test_tokens import make_token

AGENTS = 4
ROUNDS = 30


@pytest.fixture
def migrated(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    return db


def at_once(tokens, request):
    """request(i) -> (url, body) for each agent i, all posted at once; the responses."""
    barrier = threading.Barrier(len(tokens))
    out = [None] * len(tokens)

    def send(i):
        url, body = request(i)
        barrier.wait()
        out[i] = requests.post(url, json=body, timeout=60,
                               headers={"Authorization": f"Bearer {tokens[i]}"})

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def first_decisions(bases, tokens, session_id):
    """Each agent's first decision in session_id, all sent at once; the responses."""
    return at_once(tokens, lambda i: (
        bases[i % len(bases)] + "/decisions",
        {"session_id": session_id, "agent_id": f"agent-{i}", "action_type": "read_file",
         "target": "README.md"}))


def assert_one_owner(s, names, session_id, responses):
    codes = [r.status_code for r in responses]
    assert sorted(codes) == [201] + [403] * (len(codes) - 1), (session_id, codes)
    winner = names[codes.index(201)]
    for r in responses:
        if r.status_code == 403:
            assert r.json()["detail"] == (
                f"session '{session_id}' was recorded or started by another caller: only that "
                "caller, or one with permission 'sessions.replace', may add decisions to it")
    items = s.get(f"/sessions/{session_id}/decisions").json()["items"]
    assert [d["recorded_by"]["token"] for d in items] == [winner], session_id
    got = s.get(f"/sessions/{session_id}").json()
    assert got["decision_count"] == 1, got
    return winner


def race(bases, s, names, tokens, prefix):
    winners = set()
    for i in range(ROUNDS):
        sid = f"{prefix}-{i}"
        winners.add(assert_one_owner(s, names, sid, first_decisions(bases, tokens, sid)))
    # the winner goes on: its next decision joins, the others' are still refused
    sid = f"{prefix}-0"
    codes = [first_decisions(bases, [t], sid)[0].status_code for t in tokens]
    assert sorted(codes) == [201] + [403] * (len(tokens) - 1), codes
    return winners


def test_racing_first_decisions_give_a_session_one_owner(migrated, tmp_path):
    names = [f"race-agent-{i}" for i in range(AGENTS)]
    tokens = [make_token(migrated, n, "agent") for n in names]
    with serve(migrated, tmp=tmp_path) as s:
        race([s.base], s, names, tokens, "race")


def on_two_processes(pg_db, tmp_path, prefix, run):
    """run(bases, server a, names, tokens, prefix) with AGENTS agents' tokens against two cavra
    processes on one freshly migrated PostgreSQL database."""
    assert cavra("migrate", "up", db=pg_db)[0] == 0
    names = [f"{prefix}-agent-{i}" for i in range(AGENTS)]
    tokens = [make_token(pg_db, n, "agent") for n in names]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with serve(pg_db, tmp=tmp_path / "a") as a, serve(pg_db, tmp=tmp_path / "b") as b:
        run([a.base, b.base], a, names, tokens, prefix)


def test_two_processes_on_one_postgres_give_a_session_one_owner(pg_db, tmp_path):
    on_two_processes(pg_db, tmp_path, "race2", race)


def first_writes(bases, tokens, session_id):
    """Even agents' evidence and odd agents' first decisions in session_id, sent at once, agent
    i through bases[i // 2 % len(bases)] (with two servers, each gets evidence and decisions)."""
    def request(i):
        base = bases[i // 2 % len(bases)]
        if i % 2 == 0:
            return base + "/evidence", {"session_id": session_id, "signer": f"agent-{i}"}
        return base + "/decisions", {"session_id": session_id, "agent_id": f"a-{i}",
                                     "action_type": "read_file", "target": "x"}
    return at_once(tokens, request)


def evidence_race(bases, s, names, tokens, prefix):
    for i in range(ROUNDS):
        sid = f"{prefix}-{i}"
        codes = [r.status_code for r in first_writes(bases, tokens, sid)]
        assert sorted(codes) == [201] + [403] * (AGENTS - 1), (sid, codes)
        winner = codes.index(201)
        got = s.get(f"/sessions/{sid}").json()
        evidence = s.get(f"/evidence/{sid}")
        items = s.get(f"/sessions/{sid}/decisions").json()["items"]
        if winner % 2 == 0:
            assert got["started_by"]["token"] == names[winner], got
            assert evidence.json()["recorded_by"]["token"] == names[winner]
            assert items == [] and got["decision_count"] == 0, got
        else:
            assert evidence.status_code == 404, evidence.text
            assert [d["recorded_by"]["token"] for d in items] == [names[winner]], sid
            assert got["decision_count"] == 1, got


def test_evidence_racing_first_decisions_gives_a_session_one_owner(migrated, tmp_path):
    """Evidence written before a session's first decision starts the session for its writer,
    in the evidence's own transaction: racing the first decisions of other agents, exactly one
    caller's write is stored and owns the session, whichever of the two kinds it is."""
    names = [f"evrace-agent-{i}" for i in range(AGENTS)]
    tokens = [make_token(migrated, n, "agent") for n in names]
    with serve(migrated, tmp=tmp_path) as s:
        evidence_race([s.base], s, names, tokens, "evrace")
    chained_once(migrated)


def chained_once(db):
    """The sessions the evidence started have one chain entry each (migration 023), the ones
    a decision started none, and the chain the racing writers left verifies."""
    started = sql(db, "SELECT count(*) FROM activity_sessions WHERE state = 'active' AND "
                      "started_at = created_at AND decision_count = 0")[0][0]
    assert sql(db, "SELECT count(*) FROM audit_chain WHERE kind = 'session'") == [[started]]
    code, out, err = cavra("audit", "verify", db=db)
    assert code == 0, out + err


def test_evidence_racing_through_two_processes_on_one_postgres(pg_db, tmp_path):
    on_two_processes(pg_db, tmp_path, "evrace2", evidence_race)
    chained_once(pg_db)


def test_the_postgres_check_reads_each_session_by_its_key(pg, pg_db, tmp_path):
    """PostgreSQL plans the write's check once per connection and keeps a generic plan, often
    made while the tables are empty and have no statistics.  A join of the batch's sessions with
    activity_sessions was then planned as a scan of every session, kept while the table grew (a
    batch took 1.2 ms after 15,000 new sessions): every plan the server ran, logged through
    auto_explain from an empty database on, must read the sessions by their key."""
    if not isinstance(pg, Postgres):
        pytest.skip("reads the server's log: needs the suite's own PostgreSQL")
    assert cavra("migrate", "up", db=pg_db)[0] == 0
    name = pg_db.rsplit("/", 1)[1]
    sql(pg_db, f"ALTER DATABASE {name} SET session_preload_libraries = 'auto_explain'")
    sql(pg_db, f"ALTER DATABASE {name} SET auto_explain.log_min_duration = 0")
    log = os.path.join(pg.dir, "log")
    start = os.path.getsize(log)
    names = [f"plan-agent-{i}" for i in range(AGENTS)]
    tokens = [make_token(pg_db, n, "agent") for n in names]
    with serve(pg_db, "--db-pool-size", "2", tmp=tmp_path) as s:
        race([s.base], s, names, tokens, "plan")
    with open(log) as f:
        plans = logged_plans(f.read()[start:], "SELECT 1 / CASE WHEN EXISTS (SELECT 1 FROM unnest")
    assert len(plans) >= ROUNDS, len(plans)
    for plan in plans:
        assert "Index Scan using activity_sessions_pkey" in plan, plan
        assert "Seq Scan" not in plan, plan
