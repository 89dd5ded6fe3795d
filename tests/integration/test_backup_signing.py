"""Signed backups (docs/backup-format.md, "The signature"): `ops backup --signing-key` writes
manifest.sig, an Ed25519 signature of manifest.json's bytes; `ops verify|restore|restore-test
--public-key` (or the backup_public_key_file setting) refuse a backup that is unsigned, signed by
another key or badly signed, before anything is written to the target."""

import hashlib
import json
import os
import subprocess

import pytest

from conftest import cavra, one_line, sql, user_tables
from test_ops import _reseal, counts, lines, seed


# ---- helpers ----

def make_key(tmp_path, name):
    """An Ed25519 key pair made by the openssl CLI: (private PEM, public PEM, key id)."""
    priv, pub = tmp_path / f"{name}.pem", tmp_path / f"{name}.pub.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(priv)], check=True)
    subprocess.run(["openssl", "pkey", "-in", str(priv), "-pubout", "-out", str(pub)], check=True)
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(pub), "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return str(priv), str(pub), hashlib.sha256(der[-32:]).hexdigest()


@pytest.fixture
def sqlite_db(tmp_path):
    """For what happens in files only, the same on both backends: one backend is enough."""
    return f"sqlite:{tmp_path}/cavra.db"


@pytest.fixture
def keys(tmp_path):
    return make_key(tmp_path, "ours"), make_key(tmp_path, "theirs")


def run_json(*args, db, expect=0, env=None):
    code, out, err = cavra("ops", *args, db=db, env=env, timeout=300)
    assert code == expect, f"exit {code}: {err}{out}"
    return json.loads(out), err


def signed_backup(db, dest, priv):
    out, _ = run_json("backup", "--output", str(dest), "--json", "--signing-key", priv, db=db)
    assert os.path.exists(dest / "manifest.sig")
    return out


def unsigned_backup(db, dest):
    out, _ = run_json("backup", "--output", str(dest), "--json", db=db)
    assert not os.path.exists(dest / "manifest.sig")
    return out


def tokens_seeded(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    for name in ("ci-agent", "release-bot"):
        assert cavra("tokens", "create", "--name", name, "--role", "agent", db=db)[0] == 0
    return db


def token_names(db):
    return sorted(r[0] for r in sql(db, "SELECT name FROM api_tokens"))


def assert_refused(db, dest, pub, reason, tmp_path):
    """verify, restore (a new target, and the configured database with --overwrite) and
    restore-test all refuse with one line naming reason, and write nothing."""
    code, out, err = cavra("ops", "verify", str(dest), "--public-key", pub, db=db)
    assert code == 1 and reason in one_line(out), out + err
    doc, _ = run_json("verify", str(dest), "--json", "--public-key", pub, db=db, expect=1)
    assert not doc["ok"] and len(doc["problems"]) == 1 and doc["files"] == 0
    assert reason in doc["problems"][0]["message"]
    target = tmp_path / "never"
    code, out, err = cavra("ops", "restore", str(dest), "--target-dir", str(target),
                           "--public-key", pub, db=db)
    assert code == 1 and reason in one_line(err) and "nothing was written" in err
    assert not target.exists()
    before, names = counts(db), token_names(db)
    code, out, err = cavra("ops", "restore", str(dest), "--overwrite", "--public-key", pub,
                           db=db)
    assert code == 1 and reason in one_line(err)
    assert counts(db) == before and token_names(db) == names
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    doc, err = run_json("restore-test", str(dest), "--scratch-dir", str(scratch),
                        "--public-key", pub, db=db, expect=1)
    assert not doc["ok"] and reason in doc["error"] and reason in one_line(err)
    assert os.listdir(scratch) == []


# ---- round trip ----

def test_signed_backup_round_trip(db, tmp_path, keys):
    (priv, pub, key_id), _ = keys
    assert cavra("migrate", "up", db=db)[0] == 0
    seed(db, tmp_path)
    dest = tmp_path / "bk"
    out = signed_backup(db, dest, priv)
    assert out["signing_key_id"] == key_id
    sig = json.loads((dest / "manifest.sig").read_text())
    assert sig["schema_version"] == "cavra.persistent_api.backup_signature.v1"
    assert sig["algorithm"] == "ed25519" and sig["key_id"] == key_id
    assert sig["signed_file"] == "manifest.json"
    assert "PRIVATE" not in (dest / "manifest.sig").read_text()
    # verify, with and without the public key: the text says which
    code, text, _ = cavra("ops", "verify", str(dest), "--public-key", pub, db=db)
    assert code == 0 and f"signed by key {key_id}, the configured key" in text
    code, text, _ = cavra("ops", "verify", str(dest), db=db)
    assert code == 0 and f"signed by key {key_id} (no public key configured" in text
    doc, _ = run_json("verify", str(dest), "--json", "--public-key", pub, db=db)
    assert doc["ok"] and doc["signature"] == {"signed": True, "key_id": key_id, "valid": True,
                                              "required": True}
    # restore into a new SQLite database, then over the configured one (either backend)
    res, _ = run_json("restore", str(dest), "--target-dir", str(tmp_path / "r"),
                      "--public-key", pub, db=db)
    assert res["ok"]
    before = counts(db)
    assert counts(f"sqlite:{tmp_path}/r/cavra.db") == before
    sql(db, "DELETE FROM registry_agents")
    res, _ = run_json("restore", str(dest), "--overwrite", "--public-key", pub, db=db)
    assert res["ok"] and counts(db) == before
    res, _ = run_json("restore-test", str(dest), "--scratch-dir", str(tmp_path),
                      "--public-key", pub, db=db)
    assert res["ok"] and all(c["ok"] for c in res["checks"]), res["checks"]


# ---- refusals ----

def test_unsigned_backup_is_refused_when_a_key_is_required(db, tmp_path, keys):
    (_, pub, _), _ = keys
    tokens_seeded(db)
    dest = tmp_path / "bk"
    unsigned_backup(db, dest)
    # without a key it verifies as before, and says it is unsigned
    code, text, _ = cavra("ops", "verify", str(dest), db=db)
    assert code == 0 and "unsigned (configure backup_public_key_file" in text
    assert_refused(db, dest, pub, "unsigned", tmp_path)


def test_unsigned_backup_restores_nothing_into_an_empty_database(tmp_path, keys, pg_db):
    (_, pub, _), _ = keys
    src = tokens_seeded(f"sqlite:{tmp_path}/src.db")
    dest = tmp_path / "bk"
    unsigned_backup(src, dest)
    code, _, err = cavra("ops", "restore", str(dest), "--target-url", pg_db, "--public-key",
                         pub, db=src)
    assert code == 1 and "unsigned" in one_line(err)
    assert user_tables(pg_db) == []


def test_backup_signed_by_another_key_is_refused(db, tmp_path, keys):
    (_, pub, our_id), (their_priv, _, their_id) = keys
    tokens_seeded(db)
    dest = tmp_path / "bk"
    signed_backup(db, dest, their_priv)
    assert_refused(db, dest, pub, f"signed by another key {their_id}", tmp_path)
    code, out, _ = cavra("ops", "verify", str(dest), "--public-key", pub, db=db)
    assert f"not the configured key {our_id}" in out


def plant_admin_token(dest):
    """The security review's attack: an admin token row added to api_tokens.jsonl, then the
    per-file checksums and the manifest's self checksum recomputed."""
    rows = lines(dest, "api_tokens")
    planted = dict(rows[0], token_id="tok_000000000000", name="backdoor", subject="token:backdoor",
                   token_sha256=hashlib.sha256(b"cavra_planted").hexdigest(),
                   payload={"roles": ["admin"]})
    rows = sorted(rows + [planted], key=lambda r: r["token_id"].encode())
    data = b"".join(json.dumps(r, sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False).encode() + b"\n" for r in rows)
    _reseal(dest, "api_tokens", data)


def test_planted_admin_token_is_refused_by_the_signature(db, tmp_path, keys):
    (priv, pub, key_id), (their_priv, _, _) = keys
    tokens_seeded(db)
    dest = tmp_path / "bk"
    signed_backup(db, dest, priv)
    plant_admin_token(dest)
    # the checksums alone no longer notice: only the signature does
    doc, _ = run_json("verify", str(dest), "--json", db=db, expect=1)
    assert [p["kind"] for p in doc["problems"]] == ["signature"]
    assert doc["signature"]["key_id"] == key_id and not doc["signature"]["valid"]
    assert_refused(db, dest, pub, "bad signature", tmp_path)
    assert "backdoor" not in token_names(db)
    # re-signed by the attacker's key, or the signature removed: still refused
    (dest / "manifest.sig").unlink()
    assert_refused(db, dest, pub, "unsigned", tmp_path)
    fake = tmp_path / "fake"
    signed_backup(db, fake, their_priv)
    (dest / "manifest.sig").write_bytes((fake / "manifest.sig").read_bytes())
    code, out, _ = cavra("ops", "verify", str(dest), "--public-key", pub, db=db)
    assert code == 1 and "signed by another key" in one_line(out)


def test_a_damaged_signature_file_is_a_bad_signature(sqlite_db, tmp_path, keys):
    db = sqlite_db
    (priv, pub, _), _ = keys
    tokens_seeded(db)
    dest = tmp_path / "bk"
    signed_backup(db, dest, priv)
    sig = json.loads((dest / "manifest.sig").read_text())
    # another first character (an Ed25519 signature starts with "A" one time in 64)
    sig["signature"] = ("B" if sig["signature"][0] == "A" else "A") + sig["signature"][1:]
    (dest / "manifest.sig").write_text(json.dumps(sig))
    assert_refused(db, dest, pub, "bad signature", tmp_path)
    (dest / "manifest.sig").write_text("not json")
    code, out, _ = cavra("ops", "verify", str(dest), "--public-key", pub, db=db)
    assert code == 1 and "bad signature: the file is not valid JSON" in one_line(out)
    # read as strictly as a request body: no second document after the object, no bare
    # control character in a string, no NaN
    for text, why in [(json.dumps(sig) + " {}", "the file is not valid JSON"),
                      (json.dumps(sig)[:-1] + ', "note": "a\tb"}', "control character"),
                      (json.dumps(sig)[:-1] + ', "n": NaN}', "NaN")]:
        (dest / "manifest.sig").write_text(text)
        code, out, _ = cavra("ops", "verify", str(dest), "--public-key", pub, db=db)
        assert code == 1 and "bad signature: " in one_line(out) and why in one_line(out), out
    # a second "key_id" after the first: refused before any field is read, as another reader
    # of the file could take either
    text = json.dumps(sig)[:-1] + ', "key_id": "%s"}' % ("0" * 64)
    (dest / "manifest.sig").write_text(text)
    code, out, _ = cavra("ops", "verify", str(dest), "--public-key", pub, db=db)
    assert code == 1 and "bad signature: the file has a key twice in one object" in one_line(out)
    # a listed file may not be called manifest.sig, and no other file may hide beside it
    (dest / "manifest.sig").unlink()
    os.symlink(str(tmp_path / "fake.sig"), dest / "manifest.sig")
    code, out, _ = cavra("ops", "verify", str(dest), "--public-key", pub, db=db)
    assert code == 1 and "bad signature" in one_line(out)


# ---- keys and settings ----

@pytest.mark.parametrize("action", ["backup", "verify", "restore", "restore-test"])
def test_bad_or_missing_key_file_is_exit_2(sqlite_db, tmp_path, keys, action):
    db = sqlite_db
    (priv, pub, _), _ = keys
    tokens_seeded(db)
    dest = tmp_path / "bk"
    unsigned_backup(db, dest)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n")
    opt = "--signing-key" if action == "backup" else "--public-key"
    wrong_kind = pub if action == "backup" else priv
    before = counts(db)
    for path, why in [(str(tmp_path / "missing.pem"), "No such file"),
                      (str(garbage), "is not an Ed25519"), (wrong_kind, "is not an Ed25519")]:
        argv = ["--output", str(tmp_path / "out")] if action == "backup" else [str(dest)]
        code, out, err = cavra("ops", action, *argv, opt, path, db=db)
        line = one_line(err)
        assert code == 2 and opt in line and why in line, err
        assert "c2VjcmV0LWJ5dGVz" not in out + err and "PRIVATE KEY-----" not in out + err
        assert not (tmp_path / "out").exists()
    assert counts(db) == before


def test_settings_from_the_environment(sqlite_db, tmp_path, keys):
    db = sqlite_db
    (priv, pub, key_id), (_, their_pub, _) = keys
    tokens_seeded(db)
    env = {"CAVRA_BACKUP_SIGNING_KEY_FILE": priv}
    code, out, err = cavra("ops", "backup", "--output", str(tmp_path / "bk"), "--json", db=db,
                           env=env)
    assert code == 0 and json.loads(out)["signing_key_id"] == key_id, err
    unsigned_backup(db, tmp_path / "plain")
    env = {"CAVRA_BACKUP_PUBLIC_KEY_FILE": pub}
    assert cavra("ops", "verify", str(tmp_path / "bk"), db=db, env=env)[0] == 0
    code, out, _ = cavra("ops", "verify", str(tmp_path / "plain"), db=db, env=env)
    assert code == 1 and "unsigned" in one_line(out)
    code, _, err = cavra("ops", "restore", str(tmp_path / "plain"), "--target-dir",
                         str(tmp_path / "r"), db=db, env=env)
    assert code == 1 and "unsigned" in one_line(err) and not (tmp_path / "r").exists()
    # the option wins over the setting
    code, out, _ = cavra("ops", "verify", str(tmp_path / "bk"), "--public-key", their_pub, db=db,
                         env=env)
    assert code == 1 and "signed by another key" in out
    # a setting that names a missing file is exit 2, naming the setting
    env = {"CAVRA_BACKUP_PUBLIC_KEY_FILE": str(tmp_path / "gone.pem")}
    code, _, err = cavra("ops", "verify", str(tmp_path / "bk"), db=db, env=env)
    assert code == 2 and "setting backup_public_key_file" in one_line(err)
