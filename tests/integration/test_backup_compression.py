"""Compressed backups (docs/backup-format.md, format v3, now v4): round trips on both backends with
`--compression none`, `zstd` and `zstd:19` give the same canonical checksums; verify checks a
compressed file as stored before decompressing it (a flipped byte), then its content (altered
lines compressed again with the stored checksum fixed); damaged, cut, over-long and oversized
frames are problems, not crashes; v3 and v2 backups (the previous formats, the audit chain in
hash order) still verify and restore; bad --compression values are exit 2."""
import hashlib
import json
import subprocess
import uuid

import pytest

from conftest import cavra, psql, user_tables
from test_ops import (_reseal, backup, content, entry, manifest, ok, ops_json, seed, table_shas,
                      unzstd, zstd)


@pytest.fixture
def seeded(db, tmp_path):
    ok(cavra("migrate", "up", db=db))
    seed(db, tmp_path)
    return db


@pytest.fixture
def pg_target(pg):
    name = "t_" + uuid.uuid4().hex[:12]
    psql(pg.url(), f"CREATE DATABASE {name}")
    yield pg.url(name)
    psql(pg.url(), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", check=False)


def write_manifest(dest, m):
    """Writes m as manifest.json with a correct self checksum (an edit verify cannot see)."""
    m = dict(m)
    m.pop("manifest_sha256", None)
    body = json.dumps(m, indent=2, ensure_ascii=False).encode()[:-2] + b",\n"
    sha = hashlib.sha256(body).hexdigest()
    (dest / "manifest.json").write_bytes(body + f'  "manifest_sha256": "{sha}"\n}}\n'.encode())


def restore_stored(dest, table, raw):
    """Replaces a table file's bytes and fixes only its stored_bytes and stored_sha256."""
    m = manifest(dest)
    f = next(f for f in m["files"] if f["table"] == table)
    (dest / f["path"]).write_bytes(raw)
    f["stored_bytes"], f["stored_sha256"] = len(raw), hashlib.sha256(raw).hexdigest()
    m["stored_bytes"] = sum(f["stored_bytes"] for f in m["files"])
    write_manifest(dest, m)


def problems(dest):
    rep = ops_json("verify", str(dest), "--json", expect=1)
    return {(p["kind"], p["path"]) for p in rep["problems"]}


def refused(db, dest, tmp_path):
    target = tmp_path / "target"
    code, out, err = cavra("ops", "restore", str(dest), "--target-dir", str(target), db=db)
    assert code == 1 and "failed verification" in err and not target.exists(), err


# ---- round trips ----

@pytest.mark.parametrize("level", ["none", "zstd", "zstd:19"])
def test_round_trip_on_both_backends(seeded, tmp_path, pg_target, level):
    dest = tmp_path / "bk"
    out = backup(seeded, dest, "--compression", level)
    m = manifest(dest)
    kind = "none" if level == "none" else "zstd"
    assert m["schema_version"] == "cavra.persistent_api.backup.v4"
    assert out["compression"] == kind and out["stored_bytes"] == m["stored_bytes"]
    for f in m["files"]:
        raw = (dest / f["path"]).read_bytes()
        assert f["compression"] == kind
        assert f["path"] == f["table"] + (".jsonl" if kind == "none" else ".jsonl.zst")
        assert f["stored_sha256"] == hashlib.sha256(raw).hexdigest()
        data = content(dest, f)
        assert f["sha256"] == hashlib.sha256(data).hexdigest() and f["bytes"] == len(data)
    decisions = entry(dest, "activity_decisions")
    if kind == "zstd":
        assert decisions["stored_bytes"] < decisions["bytes"]
    rep = ops_json("verify", str(dest), "--json")
    assert rep["ok"] and rep["backup_format"] == "cavra.persistent_api.backup.v4"
    assert rep["stored_bytes"] == m["stored_bytes"] and rep["bytes"] == m["bytes"]
    # into SQLite and into PostgreSQL: backed up again, the same content checksums
    res = ops_json("restore", str(dest), "--target-dir", str(tmp_path / "r"), db=seeded)
    assert res["ok"]
    backup(f"sqlite:{tmp_path}/r/cavra.db", tmp_path / "b2", "--compression", level)
    res = ops_json("restore", str(dest), "--target-url", pg_target, db=seeded)
    assert res["ok"]
    backup(pg_target, tmp_path / "b3")
    want = {t: s for t, s in table_shas(dest).items() if t != "operations_records"}
    for again in ("b2", "b3"):
        got = table_shas(tmp_path / again)
        assert {t: s for t, s in got.items() if t != "operations_records"} == want


def test_checksums_do_not_depend_on_the_level(seeded, tmp_path):
    shas = []
    for level in ("none", "zstd:1", "zstd:19"):
        dest = tmp_path / level.replace(":", "-")
        backup(seeded, dest, "--compression", level)
        shas.append({f["table"]: (f["sha256"], f["bytes"], f["rows"])
                     for f in manifest(dest)["files"] if f["table"] != "operations_records"})
    assert shas[0] == shas[1] == shas[2]


# ---- damage ----

def test_a_flipped_byte_in_a_compressed_file_fails_the_stored_checksum(seeded, tmp_path):
    dest = tmp_path / "bk"
    backup(seeded, dest)
    f = entry(dest, "activity_decisions")
    p = dest / f["path"]
    raw = bytearray(p.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    p.write_bytes(bytes(raw))
    # checked as stored, and not decompressed: one problem for the file
    assert problems(dest) == {("stored_sha256", f["path"])}
    refused(seeded, dest, tmp_path)


def test_altered_content_compressed_again_fails_the_content_checksum(seeded, tmp_path):
    dest = tmp_path / "bk"
    backup(seeded, dest)
    f = entry(dest, "activity_decisions")
    data = unzstd((dest / f["path"]).read_bytes())
    altered = data.replace(b"pytest -q", b"pytest -Q", 1)
    assert altered != data and len(altered) == len(data)
    restore_stored(dest, "activity_decisions", zstd(altered))
    assert problems(dest) == {("sha256", f["path"])}
    refused(seeded, dest, tmp_path)


def frame_cases(data):
    raw = zstd(data)
    long_window = subprocess.run(["zstd", "-q", "-c", "--long=27", "-"], input=data,
                                 capture_output=True, check=True).stdout
    return [
        ("trailing bytes", raw + b"garbage", "decompress", "after the end of the zstd frame"),
        ("a second frame", raw + raw, "decompress", "after the end of the zstd frame"),
        ("cut short", raw[:-7], "decompress", "cut short"),
        ("not zstd", data, "decompress", "not a valid zstd file"),
        ("window past 8 MiB", long_window, "decompress", "not a valid zstd file"),
        ("more than the manifest lists", zstd(data + data), "size", "decompresses to more"),
    ]


@pytest.mark.parametrize("case", range(6), ids=["trailing", "two-frames", "cut", "not-zstd",
                                                "window", "bomb"])
def test_bad_frames_are_problems(seeded, tmp_path, case):
    dest = tmp_path / "bk"
    backup(seeded, dest)
    f = entry(dest, "activity_decisions")
    name, raw, kind, words = frame_cases(unzstd((dest / f["path"]).read_bytes()))[case]
    restore_stored(dest, "activity_decisions", raw)
    rep = ops_json("verify", str(dest), "--json", expect=1)
    got = [p for p in rep["problems"] if p["path"] == f["path"]]
    assert [p["kind"] for p in got] == [kind] and words in got[0]["message"], (name, got)
    refused(seeded, dest, tmp_path)


def test_manifest_fields_of_v3_are_checked(seeded, tmp_path):
    dest = tmp_path / "bk"
    backup(seeded, dest, "--compression", "none")
    m = manifest(dest)
    m["files"][0]["compression"] = "gzip"
    m["files"][1]["stored_sha256"] = "0" * 64  # none: must be the content's
    del m["files"][2]["stored_bytes"]
    write_manifest(dest, m)
    rep = ops_json("verify", str(dest), "--json", expect=1)
    msgs = [p["message"] for p in rep["problems"] if p["kind"] == "manifest_field"]
    assert any("compression" in x for x in msgs) and any("stored_bytes" in x for x in msgs)
    assert any("when compression is none" in x for x in msgs), msgs


# ---- the previous format ----

def to_v3(dest):
    """What cavra wrote before v4: audit_chain's lines in the byte order of their hash, which
    the manifest names as the file's key and order."""
    lines = content(dest, entry(dest, "audit_chain")).splitlines(keepends=True)
    assert len(lines) >= 10  # seq 9 and 10: by text, "10" would come first
    _reseal(dest, "audit_chain", b"".join(sorted(lines, key=lambda l: json.loads(l)["hash"])))
    m = manifest(dest)
    m["schema_version"] = "cavra.persistent_api.backup.v3"
    f = next(f for f in m["files"] if f["table"] == "audit_chain")
    f["key"] = f["order"] = "hash"
    write_manifest(dest, m)


def same_tables(old, new):
    """The tables of two backups hold the same rows (audit_chain's in any order); the
    operations_records differ by the restore's own record."""
    want, got = table_shas(old), table_shas(new)
    for t in ("operations_records", "audit_chain"):
        want.pop(t), got.pop(t)
    assert got == want
    rows = [sorted(content(d, entry(d, "audit_chain")).splitlines()) for d in (old, new)]
    assert rows[0] == rows[1] and rows[0]


def test_a_v3_backup_still_verifies_and_restores(seeded, tmp_path, pg_target):
    dest = tmp_path / "v3"
    backup(seeded, dest)
    assert entry(dest, "audit_chain")["order"] == "seq"
    to_v3(dest)
    rep = ops_json("verify", str(dest), "--json")
    assert rep["ok"] and rep["backup_format"] == "cavra.persistent_api.backup.v3"
    # a chain file in hash order is proved whole against the decision lines, not walked
    assert rep["audit_chain"]["checked"] and not rep["audit_chain"]["in_order"], rep
    assert rep["audit_chain"]["breaks"] == 0, rep
    for target in (["--target-dir", str(tmp_path / "r")], ["--target-url", pg_target]):
        code, out, err = cavra("ops", "restore", str(dest), *target, db=seeded)
        assert code == 0 and json.loads(out)["ok"], out + err
        assert "audit chain: carried:" in err and "verified as its lines loaded" in err, err
    backup(f"sqlite:{tmp_path}/r/cavra.db", tmp_path / "again_sqlite")
    backup(pg_target, tmp_path / "again_pg")
    for again in ("again_sqlite", "again_pg"):
        same_tables(dest, tmp_path / again)
        assert entry(tmp_path / again, "audit_chain")["order"] == "seq"
    # the v3 file is checked in its own order: two lines swapped are out of order
    lines = content(dest, entry(dest, "audit_chain")).splitlines(keepends=True)
    lines[0], lines[1] = lines[1], lines[0]
    _reseal(dest, "audit_chain", b"".join(lines))
    # a file with problems of its own is not read for the chain: one finding, not two
    assert problems(dest) == {("line", "audit_chain.jsonl.zst")}
    lines[0], lines[1] = lines[1], lines[0]
    _reseal(dest, "audit_chain", b"".join(lines))
    assert ops_json("verify", str(dest), "--json")["ok"]
    # a decision line edited, its checksums recomputed: the proof fails, unnamed; its session
    # no longer counts what its lines say
    dec = content(dest, entry(dest, "activity_decisions")).splitlines(keepends=True)
    row = json.loads(dec[0])
    row["decision"] = "allow" if row["decision"] != "allow" else "block"
    dec[0] = json.dumps(row, separators=(",", ":"), sort_keys=True).encode() + b"\n"
    _reseal(dest, "activity_decisions", b"".join(dec))
    assert problems(dest) == {("chain", "audit_chain.jsonl.zst"),
                              ("session_counters", "activity_sessions.jsonl.zst")}


def to_v2(dest):
    """What cavra wrote before v3: the same files uncompressed, without the stored fields."""
    to_v3(dest)
    m = manifest(dest)
    m["schema_version"] = "cavra.persistent_api.backup.v2"
    for f in m["files"]:
        for k in ("compression", "stored_bytes", "stored_sha256"):
            del f[k]
    del m["stored_bytes"]
    write_manifest(dest, m)


def test_a_v2_backup_still_verifies_and_restores(seeded, tmp_path, pg_target):
    dest = tmp_path / "v2"
    backup(seeded, dest, "--compression", "none")
    to_v2(dest)
    assert "stored_sha256" not in (dest / "manifest.json").read_text()
    rep = ops_json("verify", str(dest), "--json")
    assert rep["ok"] and rep["backup_format"] == "cavra.persistent_api.backup.v2"
    res = ops_json("restore", str(dest), "--target-dir", str(tmp_path / "r"), db=seeded)
    assert res["ok"]
    res = ops_json("restore", str(dest), "--target-url", pg_target, db=seeded)
    assert res["ok"]
    again = tmp_path / "again"
    backup(pg_target, again)
    same_tables(dest, again)
    # a v2 file damaged is reported as before: size and sha256 of the file
    f = entry(dest, "approvals")
    (dest / f["path"]).write_bytes((dest / f["path"]).read_bytes().replace(b"codex", b"c0dex"))
    assert ("sha256", "approvals.jsonl") in problems(dest)


def test_an_unknown_format_is_refused(seeded, tmp_path):
    dest = tmp_path / "bk"
    backup(seeded, dest)
    m = manifest(dest)
    m["schema_version"] = "cavra.persistent_api.backup.v5"
    write_manifest(dest, m)
    assert ("manifest_format", "manifest.json") in problems(dest)


# ---- the option and the setting ----

@pytest.mark.parametrize("value", ["gzip", "zstd:0", "zstd:20", "zstd:", "zstd:3x", "ZSTD"])
def test_bad_compression_is_exit_2(seeded, tmp_path, value):
    code, out, err = cavra("ops", "backup", "--output", str(tmp_path / "b"), "--compression",
                           value, db=seeded)
    assert code == 2 and "--compression" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "b").exists()


def test_the_setting_gives_the_default(seeded, tmp_path):
    code, _, err = cavra("ops", "backup", "--output", str(tmp_path / "b"), db=seeded,
                         env={"CAVRA_BACKUP_COMPRESSION": "none"})
    assert code == 0, err
    assert {f["compression"] for f in manifest(tmp_path / "b")["files"]} == {"none"}
    code, _, err = cavra("ops", "backup", "--output", str(tmp_path / "c"), db=seeded,
                         env={"CAVRA_BACKUP_COMPRESSION": "lz4"})
    assert code == 2 and "setting backup_compression" in err, err
    # the option wins over the setting
    code, _, err = cavra("ops", "backup", "--output", str(tmp_path / "d"), "--compression",
                         "zstd:1", db=seeded, env={"CAVRA_BACKUP_COMPRESSION": "none"})
    assert code == 0 and entry(tmp_path / "d", "approvals")["compression"] == "zstd", err
