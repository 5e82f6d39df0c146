"""The station key (issue 12): approvals and log heads signed with Ed25519, the key kept
outside the database. Attacks by someone who can write ``station.db`` but does not have
the key: a forged approval must not air; a rewritten log must not pass a check against
a head exported earlier (a file, a JSON report, an evidence pack)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from datetime import timedelta

import pytest
from simkit import SimCli, sim_root
from sqlmodel import delete, select
from stationkit import rows

from broadcaster.store import aslog
from broadcaster.store.db import Database
from broadcaster.store.signed_tables import SignedLogHead
from broadcaster.store.tables import ChainHead, LogEntry


def test_keys_init_makes_a_private_key_file_and_never_replaces_it(bare_station):
    from stationkit import Cli

    cli = Cli(bare_station)
    assert cli("keys", "show").code == 1
    made = cli("keys", "init")
    assert made.code == 0, made.err
    key = bare_station / "secrets" / "station.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    public = cli("keys", "show").out.strip()
    assert len(public) == 64 and public in made.out
    again = cli("keys", "init")
    assert again.code == 1 and "already exists" in again.err
    assert cli("keys", "show").out.strip() == public


def test_a_key_file_others_can_read_is_refused_everywhere(cli):
    key = cli.root / "secrets" / "station.key"
    os.chmod(key, 0o644)
    for args in (("keys", "show"), ("approve", "nq57-mot", "--by", "X"), ("log", "head")):
        r = cli(*args)
        assert r.code == 1, args
        assert "readable by others" in r.err and "Traceback" not in r.err, r.err
    check = cli("check")
    assert "station key can be read by other users (mode 0644)" in check.out + check.err
    # The gate refuses to clear anything it cannot check: nothing airs.
    r = cli("simulate", "--from", "2026-11-23", "--to", "2026-11-23")
    sim = sim_root(cli.root)  # simulate works on its own copy of the database
    assert not rows(sim, "select * from as_run_log where outcome = 'aired'")
    failed = rows(sim, "select reason from as_run_log where outcome = 'failed'")
    assert failed and all("readable by others" in f["reason"] for f in failed), r.out


def test_approvals_are_signed_and_the_status_shows_the_public_key(cli):
    signed = rows(cli.root, "select count(*) n from approval_signature")[0]["n"]
    assert signed == rows(cli.root, "select count(*) n from approval")[0]["n"] > 0
    public = cli("keys", "show").out.strip()
    assert f"station key: {public}" in cli("status", "--week", "2026-W48").out
    assert f"station key: {public}" in cli("log", "verify").out


def _forge_approval(root, bulletin: str, copy_signature: bool) -> None:
    """What a writer of the database does: an approval row for the current (unapproved)
    rendition, and perhaps a genuine signature row copied from another approval."""
    con = sqlite3.connect(root / "station.db")
    r = con.execute(
        "select script_sha256, audio_sha256 from rendition where bulletin_id=? "
        "order by id desc limit 1",
        (bulletin,),
    ).fetchone()
    cur = con.execute(
        "insert into approval (bulletin_id, script_sha256, audio_sha256, approved_by, "
        "approved_at) values (?, ?, ?, 'Chủ tịch UBND xã', '2026-11-20 01:00:00.000000')",
        (bulletin, *r),
    )
    if copy_signature:
        sig = con.execute("select * from approval_signature limit 1").fetchone()
        con.execute("insert into approval_signature values (?, ?, ?, ?)", (cur.lastrowid, *sig[1:]))
    con.commit()
    con.close()


@pytest.mark.parametrize("copy_signature", [False, True])
def test_a_forged_approval_row_does_not_air(cli, copy_signature):
    script = cli.root / "scripts" / "nq57-mot.md"
    script.write_text(script.read_text().replace("khoa học", "khoa học giả mạo"))
    cli("render", "nq57-mot", check=True)
    assert (
        "not approved" in cli("queue", "nq57-mot", "--zone", "xa", "--at", "2026-11-23 06:05").err
    )
    _forge_approval(cli.root, "nq57-mot", copy_signature)
    cli("queue", "nq57-mot", "--zone", "xa", "--at", "2026-11-23 06:05", check=True)
    cli("simulate", "--from", "2026-11-23", "--to", "2026-11-23", check=False)
    sim = sim_root(cli.root)  # simulate works on its own copy of the database
    entries = rows(sim, "select * from as_run_log where bulletin_id = 'nq57-mot'")
    assert entries and all(e["outcome"] == "failed" for e in entries), entries
    expect = "does not verify" if copy_signature else "carries no station signature"
    assert all(expect in e["reason"] for e in entries), [e["reason"] for e in entries]
    # Genuine approvals still air.
    assert rows(sim, "select * from as_run_log where outcome = 'aired'")
    # Re-approving through the command (which holds the key) vouches for it again.
    cli("approve", "nq57-mot", "--by", "Chủ tịch UBND xã", check=True)


# -- the log -----------------------------------------------------------------------------
def _rewrite(root, mutate) -> None:
    """An attacker with the library and write access: change the entries, then recompute
    every hash and the head so the chain verifies again; drop the stored signed heads."""
    db = Database(f"sqlite:///{root / 'station.db'}")
    with db.write() as s:
        entries = [e.model_dump() for e in s.exec(select(LogEntry).order_by(LogEntry.seq))]
        entries = mutate(entries)
        s.exec(delete(LogEntry))
        s.exec(delete(SignedLogHead))
        prev = aslog.GENESIS
        for seq, data in enumerate(entries, 1):
            e = LogEntry(**{**data, "seq": seq, "prev_hash": prev, "entry_hash": ""})
            e.entry_hash = aslog.entry_hash(prev, aslog._values(e))
            prev = e.entry_hash
            s.add(e)
        head = s.get(ChainHead, 1)
        head.count, head.head_hash = len(entries), prev
        s.add(head)
    db.dispose()


def _edit(entries):
    entries[1]["reason"] = "sửa đổi"
    entries[1]["outcome"] = "aired"
    return entries


def _delete_and_renumber(entries):
    del entries[2]
    return entries


def _append_backdated(entries):
    forged = dict(entries[-1])
    forged.update(outcome="aired", reason="", bulletin_id="nq57-ba")
    forged["recorded_at"] = entries[-1]["recorded_at"] - timedelta(minutes=1)
    return [*entries, forged]


@pytest.fixture
def history(cli):
    """Two simulated days, then (on the 25th) a head exported, a JSON report and an
    evidence pack made: three checkpoints that leave the station."""
    cli("simulate", "--from", "2026-11-23", "--to", "2026-11-24", check=True)
    cli.env["BROADCASTER_NOW"] = "2026-11-25T12:00:00+07:00"
    out = cli.root  # == sim.root.parent, where the tests look for the files
    cli = SimCli(cli)  # the history is the simulation's own database
    r = cli("log", "head", "--export", str(out / "head.json"))
    assert r.code == 0, r.err
    cli("report", "--period", "2026-W48", "--out", str(out / "report.json"), check=True)
    cli(
        "evidence",
        "--period",
        "2026-W48",
        "--format",
        "json",
        "--out",
        str(out / "pack.zip"),
        check=True,
    )
    assert cli("log", "verify").code == 0
    for name in ("head.json", "report.json", "pack.zip"):
        r = cli("log", "verify", "--against", str(out / name))
        assert r.code == 0, (name, r.out, r.err)
    return cli


@pytest.mark.parametrize("attack", [_edit, _delete_and_renumber, _append_backdated])
def test_a_rewritten_log_passes_alone_but_not_against_an_earlier_head(history, attack):
    cli = history
    _rewrite(cli.root, attack)
    alone = cli("log", "verify")
    assert alone.code == 0, alone.out  # the chain alone cannot tell: that was the hole
    for name in ("head.json", "report.json", "pack.zip"):
        r = cli("log", "verify", "--against", str(cli.root.parent / name))
        assert r.code == 1, (name, r.out)
        want = {
            _edit: "history before it was rewritten",
            _delete_and_renumber: "it records 6 entries, the log now has 5",
            _append_backdated: "appended later with a false date",
        }[attack]
        assert want in r.out, (name, r.out)


def test_stored_signed_heads_catch_a_rewrite_that_keeps_them(history):
    cli = history
    db = Database(f"sqlite:///{cli.root / 'station.db'}")
    with db.read() as s:
        kept = [h.model_dump() for h in s.exec(select(SignedLogHead))]
    db.dispose()
    assert kept
    _rewrite(cli.root, _edit)
    con = sqlite3.connect(cli.root / "station.db")
    cols = list(kept[0])
    for h in kept:
        con.execute(
            f"insert into signed_log_head ({','.join(cols)}) values ({','.join('?' * len(cols))})",
            [h[c] for c in cols],
        )
    con.commit()
    r = cli("log", "verify")
    assert r.code == 1 and "rewritten" in r.out, r.out
    # Moving the stored head to match the new history breaks its signature instead.
    new_hash = rows(cli.root, "select entry_hash from as_run_log where seq = ?", kept[0]["count"])
    con.execute("update signed_log_head set head_hash = ?", (new_hash[0]["entry_hash"],))
    con.commit()
    con.close()
    r = cli("log", "verify")
    assert r.code == 1 and "signature does not verify" in r.out, r.out


def test_an_edited_exported_head_is_refused_by_its_signature(history):
    cli = history
    path = cli.root.parent / "head.json"
    data = json.loads(path.read_text())
    data["count"] -= 1
    data["head_hash"] = rows(
        cli.root, "select entry_hash from as_run_log where seq=?", data["count"]
    )[0]["entry_hash"]
    path.write_text(json.dumps(data))
    r = cli("log", "verify", "--against", str(path))
    assert r.code == 1 and "signature does not verify" in r.out, r.out


def test_against_a_file_that_is_not_a_head_is_one_clear_error(cli, tmp_path):
    for content in (b"not json", b"[" * 100_000, b'{"a": 1}'):
        bad = tmp_path / "bad.json"
        bad.write_bytes(content)
        r = cli("log", "verify", "--against", str(bad))
        assert r.code == 1 and "Traceback" not in r.err
        assert r.err.startswith(str(bad)), r.err
    r = cli("log", "verify", "--against", str(tmp_path / "missing.json"))
    assert r.code == 1 and "file not found" in r.err


def test_the_evidence_pack_carries_the_public_key_and_the_signed_head(history):
    import zipfile

    cli = history
    public = cli("keys", "show").out.strip()
    with zipfile.ZipFile(cli.root.parent / "pack.zip") as z:
        assert public in z.read("khoa-cong-khai-cua-dai.txt").decode()
        head = json.loads(z.read("dau-chuoi-nhat-ky-da-ky.json"))
        manifest = z.read("MANIFEST.sha256").decode()
    assert head["public_key"] == public and head["signature"]
    assert "dau-chuoi-nhat-ky-da-ky.json" in manifest
    report = json.loads((cli.root.parent / "report.json").read_text())
    assert report["station_public_key"] == public
    assert report["log_head_signed"]["count"] == report["log_head_count"]
