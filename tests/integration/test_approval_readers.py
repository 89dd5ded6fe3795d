"""An agent's GET /approvals (a caller without approvals.read_any: the approvals it asked for
and those of decisions it recorded) on migration 020's indexes, on both backends: the migration,
applied to a table that holds approvals, creates the two indexes (and on PostgreSQL their
statistics), the list and its total hold exactly the caller's approvals in the
list's order (ties on created_at included, a row that is the caller's on both counts once)
through every page, and on PostgreSQL the plans the server ran (logged by auto_explain) read
both indexes for the page and for the total.  The plans of the SQL that the list sends to
SQLite are checked by internal/service/approvals_read_test.c."""
import json
import os
import sqlite3
import subprocess

import pytest

from conftest import Postgres, backend_of, cavra, pg_bindir, serve, sql
from test_integrity import logged_plan
from test_oidc import bearer
from test_tokens import make_token

ROWS = 20000  # enough for PostgreSQL's planner to prefer the indexes (020 runs ANALYZE)
AGENTS = 50
ME = "ag-07"
# Each index's key, as pg_indexes and sqlite_master write it.
INDEXES = {
    "ix_approvals_recorded_by_created_at_approval_id": {
        "postgres": "((payload -> 'recorded_by'::text)), created_at, approval_id DESC",
        "sqlite": "json_extract(payload, '$.recorded_by'), created_at, approval_id DESC"},
    "ix_approvals_decision_recorded_by_created_at_approval_id": {
        "postgres": "(((payload -> 'decision'::text) -> 'recorded_by'::text)), created_at, "
                    "approval_id DESC",
        "sqlite": "json_extract(payload, '$.decision.recorded_by'), created_at, approval_id DESC"},
}
COLUMNS = ("approval_id", "decision_id", "state", "approver_group", "expires_at", "created_at",
           "updated_at", "payload")


def owner(name):
    return {"kind": "api_token", "token": name} if name else None


def agent(i):
    return f"ag-{i % AGENTS:02d}"


def rows():
    """The approvals, as (columns, writer, decision's writer).  i % 4: the agent's own request
    for its decision; a person's request for it; the agent's request for another agent's
    decision; an imported one (no recorded_by) of a decision with or without one.  Three rows
    share each created_at, and ids do not follow i, so ties sort by id across both sides."""
    out = []
    for i in range(ROWS):
        a = agent(i // 4)
        writer, field = [(a, a), ("secop", a), (a, agent(i // 4 + 1)),
                         (None, a if i % 8 == 3 else None)][i % 4]
        aid = f"apr_{(i * 2654435761) % 2**32:012x}"
        did = f"dec_{i:012x}"
        t = f"2026-01-01T{i // 3 // 3600:02d}:{i // 3 // 60 % 60:02d}:{i // 3 % 60:02d}.000000Z"
        decision = {"decision_id": did, "target": "make deploy"}
        if field:
            decision["recorded_by"] = owner(field)
        payload = {"approval_id": aid, "decision_id": did, "decision": decision,
                   "state": "approved" if i % 3 else "denied"}
        if writer:
            payload["recorded_by"] = owner(writer)
        text = json.dumps(payload, separators=(",", ":"))
        out.append(((aid, did, payload["state"], "Owners", t, t, t, text), writer, field))
    return out


def seed(db, data):
    if backend_of(db) == "sqlite":
        con = sqlite3.connect(db[len("sqlite:"):])
        with con:
            con.executemany(f"INSERT INTO approvals ({', '.join(COLUMNS)}) VALUES "
                            f"({', '.join('?' * len(COLUMNS))})", [r[0] for r in data])
        con.close()
        return
    lines = "".join("\t".join(r[0]) + "\n" for r in data)
    r = subprocess.run([os.path.join(pg_bindir(), "psql"), db, "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-c", f"COPY approvals ({', '.join(COLUMNS)}) FROM STDIN"],
                       input=lines, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def index_exprs(db):
    """Migration 020's indexes as each backend describes them."""
    names = "', '".join(INDEXES)
    if backend_of(db) == "postgres":
        q = f"SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN ('{names}')"
    else:
        q = f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ('{names}')"
    return dict(sql(db, q))


def expected(data, state=None):
    """The caller's approval ids in the list's order: newest first, then by id."""
    mine = [r[0] for r in data if ME in (r[1], r[2]) and (not state or r[0][2] == state)]
    mine.sort(key=lambda c: c[0])
    mine.sort(key=lambda c: c[5], reverse=True)  # stable: ties keep the id order
    return [c[0] for c in mine]


def listed(s, token, by_cursor, **params):
    """Every page of the caller's list (limit 7), by cursor or by offset; the totals seen."""
    ids, totals, cursor, offset = [], set(), None, 0
    while True:
        p = dict(params, limit=7)
        if by_cursor and cursor:
            p["cursor"] = cursor
        elif not by_cursor:
            p["offset"] = offset
        r = s.get("/approvals", params=p, headers=bearer(token))
        assert r.status_code == 200, r.text
        env = r.json()
        ids += [x["approval_id"] for x in env["items"]]
        totals.add(env["total"])
        cursor, offset = env["next_cursor"], offset + 7
        if not env["next_cursor"] or not env["items"]:
            return ids, totals


def test_an_agents_list_reads_the_indexes_of_020(db, tmp_path, request):
    assert cavra("migrate", "up", "--to", "19", db=db)[0] == 0
    data = rows()
    seed(db, data)
    # rows written behind cavra's back: asked for their adoption, as a migration does for the
    # records it finds before their chain; `migrate up` chains them (unchained, an approval is
    # not served, nor listed)
    sql(db, "UPDATE audit_chain_head SET adopt_pending = 1")
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 0 and "applied 020_approval_reader_indexes" in out, err + out
    exprs = index_exprs(db)
    assert sorted(exprs) == sorted(INDEXES), exprs
    for name, key in INDEXES.items():
        assert f"({key[backend_of(db)]})" in exprs[name], exprs[name]
        if backend_of(db) == "postgres":  # 020's ANALYZE: the planner knows each agent's share
            assert sql(db, f"SELECT count(*) FROM pg_stats WHERE tablename = '{name}'") == \
                [["1"]], name
    token = make_token(db, ME, "agent")
    log, start = None, 0
    if backend_of(db) == "postgres":
        pg = request.getfixturevalue("pg")
        if isinstance(pg, Postgres):
            log = os.path.join(pg.dir, "log")
            start = os.path.getsize(log)
            name = db.rsplit("/", 1)[1]
            sql(db, f"ALTER DATABASE {name} SET session_preload_libraries = 'auto_explain'")
            sql(db, f"ALTER DATABASE {name} SET auto_explain.log_min_duration = 0")
    with serve(db, tmp=tmp_path) as s:
        want = expected(data)
        assert 300 < len(want) < ROWS / 10, len(want)
        for by_cursor in (True, False):
            ids, totals = listed(s, token, by_cursor)
            assert ids == want, by_cursor
            assert totals == {len(want)}, totals
        denied = expected(data, "denied")
        assert listed(s, token, True, state="denied", count="exact") == (denied, {len(denied)})
    if log:
        with open(log) as f:
            text = f.read()[start:]
        page = logged_plan(text, ") w UNION SELECT * FROM (SELECT approval_id")
        total = logged_plan(text, "SELECT count(*) FROM (SELECT 1 FROM approvals WHERE")
        for plan in (page, total):
            assert plan, "auto_explain logged no plan of the agent's list"
            for name in INDEXES:
                assert name in plan, plan
            assert "Seq Scan" not in plan, plan
