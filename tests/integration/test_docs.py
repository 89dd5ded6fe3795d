"""The README's and docs/'s shell examples, run as written against a fresh server.

Every ```sh block of README.md and docs/*.md carries a marker on the line just before its
fence (docs/examples.md):

    <!-- doc-test: run -->             run on SQLite and on PostgreSQL
    <!-- doc-test: run sqlite -->      run on SQLite only
    <!-- doc-test: skip REASON -->     not run, for the reason given

A block without a marker fails test_every_example_is_marked, so a new example cannot go stale
unnoticed. A run block's commands go, in document order, to one fresh server per backend
(`cavra serve --auto-migrate`), with `cavra` on PATH, CAVRA_DATABASE_URL and URL naming that
server's database, localhost:8080 (and the docs' 127.0.0.1:18990) rewritten to its port and
/backups/, /srv/ moved under a scratch directory. Each command must exit 0. The comment lines
right after a command state what its output shows:

    # {"a": ..., "b": ...}   or  # 201 {...}   the output is a JSON object with at least these
                                              top-level keys (the object may go on over more
                                              comment lines; bare names count as keys)
    # -> "k":"v", "n":1                        these members have these values
    # anything else                            prose, not checked
"""
import glob
import json
import os
import re
import shlex
import subprocess

import pytest

from conftest import CAVRA, REPO, SANITIZER_MARKS, serve

MARK = re.compile(r"^<!-- doc-test: (run(?: sqlite)?|skip (\S.*?)) -->$")
PORT_NAMES = ("localhost:8080", "127.0.0.1:8080", "127.0.0.1:18990")


def doc_files():
    return [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))


def blocks(path):
    """(line number, marker or None, body lines) of each ```sh block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```sh":
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            mark = MARK.match(lines[i - 1].strip()) if i > 0 else None
            out.append((i + 1, mark, lines[i + 1:j]))
            i = j
        i += 1
    return out


def complete(text):
    """Whether text is a whole shell command: no trailing backslash, balanced quotes."""
    if text.rstrip().endswith("\\"):
        return False
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return False
    return True


def commands(body):
    """(command, [comment lines after it]) in order; comments before any command are dropped."""
    out, cur = [], ""
    for line in body:
        if not cur and line.lstrip().startswith("#"):
            if out:
                out[-1][1].append(line.lstrip()[1:].strip())
            continue
        if not cur and not line.strip():
            continue
        cur = f"{cur}\n{line}" if cur else line
        if complete(cur):
            out.append((cur, []))
            cur = ""
    assert not cur, f"unfinished command: {cur}"
    return out


def top_keys(text):
    """The top-level member names of a JSON-ish object: quoted names before ':' and bare
    names (not numbers or literals) at depth 1."""
    keys, depth, i = [], 0, 0
    while i < len(text):
        c = text[i]
        if c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
        elif c == '"':
            j = text.index('"', i + 1) if '"' in text[i + 1:] else len(text)
            if depth == 1 and text[j + 1:].lstrip().startswith(":"):
                keys.append(text[i + 1:j])
            i = j
        elif depth == 1 and (c.isalpha() or c == "_"):
            m = re.match(r"[A-Za-z_]\w*", text[i:])
            word = m.group(0)
            if word not in ("true", "false", "null"):
                keys.append(word)
            i += len(word) - 1
        i += 1
    return keys


def expectations(cmd, comments):
    """(shape keys or None, {member: value}) from a command's comment lines (and a trailing
    `# -> ...` on its last line)."""
    shape, members, i = None, {}, 0
    inline = re.search(r"#\s*->\s*(\S.*)$", cmd.splitlines()[-1])
    if inline:
        comments = ["-> " + inline.group(1)] + comments
    while i < len(comments):
        c = comments[i]
        m = re.match(r"^(?:\d{3} )?(\{.*)$", c)
        if m and shape is None:
            text = m.group(1)
            while text.count("{") > text.count("}") and i + 1 < len(comments):
                i += 1
                text += " " + comments[i]
            shape = top_keys(text)
        elif c.startswith("-> "):
            members.update(json.loads("{" + c[3:] + "}"))
        i += 1
    return shape, members


def check_output(where, out, shape, members):
    if shape is None and not members:
        return
    try:
        doc = json.loads(out)
    except ValueError:
        pytest.fail(f"{where}: the example shows JSON but the output is not: {out[:300]}")
    assert isinstance(doc, dict), f"{where}: not a JSON object: {out[:300]}"
    missing = [k for k in shape or [] if k not in doc]
    assert not missing, f"{where}: output lacks {missing}: {out[:500]}"
    for k, v in members.items():
        assert doc.get(k) == v, f"{where}: {k} is {doc.get(k)!r}, the example shows {v!r}"


def rewrite(cmd, port, scratch):
    for name in PORT_NAMES:
        cmd = cmd.replace(name, f"127.0.0.1:{port}")
    for d in ("/backups/", "/srv/"):
        cmd = cmd.replace(d, os.path.join(scratch, d.strip("/")) + "/")
    return cmd


def test_every_example_is_marked():
    unmarked = []
    for path in doc_files():
        for line, mark, _ in blocks(path):
            if not mark:
                unmarked.append(f"{os.path.relpath(path, REPO)}:{line}")
    assert not unmarked, ("```sh blocks without '<!-- doc-test: run -->' or "
                          "'<!-- doc-test: skip REASON -->' before them: " + ", ".join(unmarked))


def runnable(backend):
    for path in doc_files():
        for line, mark, body in blocks(path):
            if mark and mark.group(1).startswith("run") and \
                    (mark.group(1) == "run" or backend == "sqlite"):
                yield f"{os.path.relpath(path, REPO)}:{line}", body


def test_examples_run(db, tmp_path):
    backend = "postgres" if db.startswith("postgres") else "sqlite"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(CAVRA, bindir / "cavra")
    work = tmp_path / "work"
    (work / "build").mkdir(parents=True)
    os.symlink(CAVRA, work / "build" / "cavra")  # the README's build/cavra
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
    env.update(PATH=f"{bindir}:{env['PATH']}", CAVRA_DATABASE_URL=db, URL=db)
    ran = 0
    with serve(db, "--auto-migrate", tmp=tmp_path) as srv:
        for where, body in runnable(backend):
            for cmd, comments in commands(body):
                run = rewrite(cmd, srv.port, str(tmp_path / "scratch"))
                r = subprocess.run(["bash", "-o", "pipefail", "-c", run], cwd=work, env=env,
                                   capture_output=True, text=True, timeout=60)
                for mark in SANITIZER_MARKS:
                    assert mark not in r.stderr, r.stderr
                assert r.returncode == 0, f"{where}: `{cmd}` exited {r.returncode}: {r.stderr}"
                check_output(f"{where}: `{cmd.splitlines()[0]}`", r.stdout, *expectations(cmd, comments))
                ran += 1
    assert ran >= 10, f"only {ran} example commands ran"


def test_shape_parsing():
    assert top_keys('{"a":1,"b":{"c":2},"d":[{"e":3}]}') == ["a", "b", "d"]
    assert top_keys("{ok, rows_scanned, items[{table,id,column}]}") == \
        ["ok", "rows_scanned", "items"]
    assert top_keys('{"schema_version": "x", "n": true,') == ["schema_version", "n"]
    cmds = commands(["curl -s -X POST x \\", "  -d '{\"a\":", "   1}'", '# -> "a":1',
                     "# prose", "cavra x   # trailing"])
    assert [c[1] for c in cmds] == [['-> "a":1', "prose"], []]
    assert expectations("x", ['201 {"a":1,', '     "b":2}'])[0] == ["a", "b"]
    assert expectations("curl x   # -> \"d\":\"allow\"", [])[1] == {"d": "allow"}
