"""A new session gets exactly one owner, however its first decisions race.

The service reads a session's owner before it queues a decision (a cheap early refusal), but
several agents whose first decisions name the same new session at the same moment all read
"no such session".  The write settles it: in the decision's own transaction, after the
session's row is taken (PostgreSQL's row lock; SQLite's one writer), a session that another
caller owns refuses the decision (403), so exactly one caller's decisions are stored, also
across two cavra processes on one PostgreSQL."""
import threading

import pytest
import requests

from conftest import serve
from conftest import cavra
from test_tokens import make_token

AGENTS = 4
ROUNDS = 30


@pytest.fixture
def migrated(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    return db


def first_decisions(bases, tokens, session_id):
    """Each agent's first decision in session_id, all sent at once; the responses."""
    barrier = threading.Barrier(len(tokens))
    out = [None] * len(tokens)

    def send(i):
        body = {"session_id": session_id, "agent_id": f"agent-{i}", "action_type": "read_file",
                "target": "README.md"}
        barrier.wait()
        out[i] = requests.post(bases[i % len(bases)] + "/decisions", json=body, timeout=60,
                               headers={"Authorization": f"Bearer {tokens[i]}"})

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


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


def test_two_processes_on_one_postgres_give_a_session_one_owner(pg_db, tmp_path):
    assert cavra("migrate", "up", db=pg_db)[0] == 0
    names = [f"race2-agent-{i}" for i in range(AGENTS)]
    tokens = [make_token(pg_db, n, "agent") for n in names]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with serve(pg_db, tmp=tmp_path / "a") as a, serve(pg_db, tmp=tmp_path / "b") as b:
        race([a.base, b.base], a, names, tokens, "race2")
