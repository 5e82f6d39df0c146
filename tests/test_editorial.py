"""The editorial trail in process (app/editorial.py): an officer writes a bulletin from a
form, submits it, an approver sends it back with a reason or approves it; each state is
what the folder, the approvals and the trail say together, and every change is audited.

The small rendered station, its SQLite database and a simulated clock: no mocks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from stationkit import Cli

from broadcaster.app import approvals, bulletins, editorial
from broadcaster.app.actors import Actor
from broadcaster.app.audit import AuditTrail
from broadcaster.app.context import StationContext
from broadcaster.app.permissions import PermissionDenied
from broadcaster.app.roles import Role
from broadcaster.core.errors import ConfigErrors, FieldProblem
from broadcaster.engine.clock import SimClock

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=VN).astimezone(UTC)

OFFICER = Actor("lan", frozenset({Role.OFFICER}), face="web", address="192.0.2.7")
APPROVER = Actor("chu-tich", frozenset({Role.APPROVER}), face="web", address="192.0.2.8")

FORM = {
    "id": "tin-moi",
    "title": "Lịch tiêm phòng cho trẻ em",
    "campaign": "nq57",
    "priority": "normal",
    "valid_from": "2026-11-20",
    "valid_until": "2026-12-31",
    "zones": "all",
}
BODY = "Ngày 25/11/2026, trạm y tế xã tiêm phòng cho trẻ em dưới 5 tuổi."


@pytest.fixture
def ctx(station: Path):
    ctx = StationContext.open(station, clock=SimClock(NOW))
    yield ctx
    ctx.close()


def state_of(ctx: StationContext, bulletin_id: str) -> str:
    return str(editorial.summary(ctx, bulletin_id).state)


def test_the_rendered_station_lists_every_bulletin_approved(ctx):
    rows, problems = editorial.list_bulletins(ctx)
    assert problems == []
    assert {r.id: str(r.state) for r in rows} == {
        "nq57-mot": "approved",
        "nq57-hai": "approved",
        "nq57-ba": "approved",
        "lua-dao": "approved",
        "bao-lu": "approved",
    }


def test_a_form_becomes_a_script_file_check_reads(ctx):
    made = editorial.save_script(ctx, OFFICER, FORM, BODY, create=True)
    path = ctx.root / "scripts" / "tin-moi.md"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\nid: tin-moi\ntitle: Lịch tiêm phòng cho trẻ em\n")
    assert "author: lan\n" in text and text.endswith(BODY + "\n")
    assert made.author == "lan" and made.valid_until.isoformat() == "2026-12-31"
    assert state_of(ctx, "tin-moi") == "draft"
    entry = AuditTrail(ctx.db, ctx.clock).entries()[-1]
    assert (entry.action, entry.target, entry.result) == ("bulletin.write", "tin-moi", "ok")
    assert entry.detail.startswith("created ")
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_taken_id_or_a_bad_field_writes_nothing(ctx):
    scripts = ctx.root / "scripts"
    before = sorted(p.name for p in scripts.iterdir())
    with pytest.raises(FieldProblem) as taken:
        editorial.save_script(ctx, OFFICER, {**FORM, "id": "nq57-mot"}, BODY, create=True)
    assert taken.value.field == "id"
    with pytest.raises(ConfigErrors) as bad:
        editorial.save_script(
            ctx, OFFICER, {**FORM, "valid_until": "2026-11-01"}, BODY, create=True
        )
    (problem,) = bad.value.problems
    assert (problem.path, problem.field) == ("scripts/tin-moi.md", "valid_until")
    with pytest.raises(ConfigErrors) as zone:
        editorial.save_script(ctx, OFFICER, {**FORM, "zones": ["xom-9"]}, BODY, create=True)
    assert zone.value.problems[0].field == "zones"
    assert sorted(p.name for p in scripts.iterdir()) == before


def test_an_officer_cannot_send_back_and_an_approver_must_say_why(ctx):
    editorial.save_script(ctx, OFFICER, FORM, BODY, create=True)
    editorial.submit(ctx, OFFICER, "tin-moi")
    assert state_of(ctx, "tin-moi") == "pending"
    with pytest.raises(PermissionDenied):
        editorial.reject(ctx, OFFICER, "tin-moi", "tự trả lại")
    refused = AuditTrail(ctx.db, ctx.clock).entries()[-1]
    assert (refused.action, refused.result) == ("bulletin.reject", "refused")
    with pytest.raises(FieldProblem) as empty:
        editorial.reject(ctx, APPROVER, "tin-moi", "   ")
    assert empty.value.field == "reason"
    editorial.reject(ctx, APPROVER, "tin-moi", "Ghi rõ địa điểm tiêm.")
    row = editorial.summary(ctx, "tin-moi")
    assert str(row.state) == "rejected"
    assert (row.review.by, row.review.reason) == ("chu-tich", "Ghi rõ địa điểm tiêm.")
    # the officer edits it: a new content, a draft again until submitted
    editorial.save_script(ctx, OFFICER, FORM, BODY + " Tại trạm y tế xã.", create=False)
    assert state_of(ctx, "tin-moi") == "draft"
    editorial.submit(ctx, OFFICER, "tin-moi")
    assert state_of(ctx, "tin-moi") == "pending"
    assert [r.action for r in editorial.history(ctx, "tin-moi")] == [
        "submitted",
        "rejected",
        "submitted",
    ]


def test_an_approved_bulletin_edited_shows_what_changed(ctx):
    editorial.save_script(ctx, OFFICER, FORM, BODY, create=True)
    bulletins.render(ctx, ["tin-moi"])
    approvals.approve(ctx, "tin-moi", APPROVER)
    assert state_of(ctx, "tin-moi") == "approved"
    assert editorial.changes_since_approval(ctx, "tin-moi") == ""
    editorial.save_script(ctx, OFFICER, FORM, BODY.replace("25/11", "26/11"), create=False)
    assert state_of(ctx, "tin-moi") == "changed-since-approval"
    diff = editorial.changes_since_approval(ctx, "tin-moi")
    assert "-Ngày 25/11/2026" in diff and "+Ngày 26/11/2026" in diff


def test_an_expired_bulletin_says_so_whatever_its_approval(ctx):
    editorial.save_script(
        ctx,
        OFFICER,
        {**FORM, "valid_from": "2026-01-01", "valid_until": "2026-11-01"},
        BODY,
        create=True,
    )
    assert state_of(ctx, "tin-moi") == "expired"


def test_the_cli_lists_submits_and_sends_back(cli: Cli):
    listed = json.loads(cli("bulletins", "--json", check=True).out)
    assert {b["state"] for b in listed["bulletins"]} == {"approved"}
    path = cli.root / "scripts" / "nq57-mot.md"
    path.write_text(path.read_text(encoding="utf-8") + "Xin cảm ơn.\n", encoding="utf-8")
    cli("bulletins", "submit", "nq57-mot", "--by", "Lan", check=True)
    r = cli("bulletins", "reject", "nq57-mot", "--reason", "Bỏ câu cuối.", "--by", "Chủ tịch")
    assert r.code == 0, r.err
    listed = json.loads(cli("bulletins", "--json", check=True).out)
    (row,) = [b for b in listed["bulletins"] if b["id"] == "nq57-mot"]
    assert row["state"] == "rejected" and row["review"]["reason"] == "Bỏ câu cuối."
    text = cli("bulletins").out
    assert "Bỏ câu cuối." in text
    missing = cli("bulletins", "reject", "nq57-mot", "--reason", " ")
    assert missing.code == 2 and missing.err.startswith("--reason:")
