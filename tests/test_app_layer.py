"""The application layer in process, noun by noun: every operation that changes something
asks who acts, refuses an actor without the role (or the zone, or the author approving
their own bulletin), writes the refusal to the audit trail and nothing else.

A real station (the small rendered one), its SQLite database and a simulated clock: no
CLI, no mocks.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.app import approvals, bulletins, emergencies, receivers, schedule
from broadcaster.app.actors import Actor
from broadcaster.app.audit import AuditTrail
from broadcaster.app.context import StationContext
from broadcaster.app.permissions import PermissionDenied
from broadcaster.app.roles import Role
from broadcaster.core.errors import BroadcasterError
from broadcaster.core.model import AiringRecord
from broadcaster.engine.clock import SimClock

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=VN).astimezone(UTC)  # a Sunday noon
MONDAY_6 = datetime(2026, 11, 23, 6, 0, tzinfo=VN)


def person(who: str, *roles: Role, zones: set[str] | None = None) -> Actor:
    return Actor(
        who,
        frozenset(roles),
        face="web",
        address="192.0.2.7",
        zones=frozenset(zones) if zones is not None else None,
    )


@pytest.fixture
def ctx(station: Path) -> StationContext:
    ctx = StationContext.open(station, clock=SimClock(NOW))
    yield ctx
    ctx.close()


def counts(ctx: StationContext) -> dict[str, int]:
    """Rows per table, the audit trail apart: what a refused action must leave alone."""
    with sqlite3.connect(ctx.root / "station.db") as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]
            for n in names
            if not n.startswith("audit")
        }


def last_audit(ctx: StationContext):
    return AuditTrail(ctx.db, ctx.clock).entries()[-1]


def refused(ctx: StationContext, call, action: str) -> PermissionDenied:
    """Run ``call``; it must be refused, audited as refused, and write nothing else."""
    before = counts(ctx)
    with pytest.raises(PermissionDenied) as caught:
        call()
    assert counts(ctx) == before
    entry = last_audit(ctx)
    assert (entry.action, entry.result) == (action, "refused")
    assert entry.face == "web" and entry.address == "192.0.2.7"
    return caught.value


# -- approvals -----------------------------------------------------------------------------
def edit_and_render(ctx: StationContext, bulletin_id: str, extra: str = "") -> None:
    """A new text (its earlier approval void), rendered: waiting for an approver."""
    path = ctx.root / "scripts" / f"{bulletin_id}.md"
    text = path.read_text(encoding="utf-8").replace("language: vi\n", f"language: vi\n{extra}")
    path.write_text(text.replace("\n---\n", "\n---\nBản sửa mới. ", 1), encoding="utf-8")
    [outcome] = bulletins.render(ctx, [bulletin_id])
    assert not outcome.error


def test_only_an_approver_approves_and_the_approval_names_the_user(ctx):
    edit_and_render(ctx, "nq57-mot")
    officer = person("hoa", Role.OFFICER)
    refused(ctx, lambda: approvals.approve(ctx, "nq57-mot", officer), "bulletin.approve")

    leader = person("chu-tich", Role.APPROVER)
    approval = approvals.approve(ctx, "nq57-mot", leader)
    assert approval.approved_by == "chu-tich"
    entry = last_audit(ctx)
    assert (entry.actor, entry.action, entry.target, entry.result) == (
        "chu-tich",
        "bulletin.approve",
        "nq57-mot",
        "ok",
    )


def test_the_author_of_a_script_may_not_approve_it(ctx):
    edit_and_render(ctx, "nq57-hai", "author: hoa\n")
    author_and_approver = person("hoa", Role.OFFICER, Role.APPROVER)
    denied = refused(
        ctx, lambda: approvals.approve(ctx, "nq57-hai", author_and_approver), "bulletin.approve"
    )
    assert "hoa" in str(denied)


# -- schedule ------------------------------------------------------------------------------
def test_queue_needs_an_operator_of_that_zone(ctx):
    reporter = person("minh", Role.REPORTER)
    refused(
        ctx,
        lambda: schedule.queue(ctx, "nq57-mot", "thon-a", MONDAY_6, reporter),
        "schedule.queue",
    )
    limited = person("tuan", Role.OPERATOR, zones={"thon-a"})
    refused(
        ctx,
        lambda: schedule.queue(ctx, "nq57-mot", "thon-b", MONDAY_6, limited),
        "schedule.queue",
    )
    result = schedule.queue(ctx, "nq57-mot", "thon-a", MONDAY_6, limited)
    assert isinstance(result.row, AiringRecord)  # plain frozen data, not a database row
    assert (result.row.zone_id, result.row.created_by) == ("thon-a", "tuan")
    with pytest.raises(AttributeError):
        result.row.status = "cancelled"  # type: ignore[misc]
    assert last_audit(ctx).result == "ok"


def test_cancel_needs_an_operator_of_the_airing_zone(ctx):
    shell = Actor.local_cli(by="Lan")
    booked = schedule.queue(ctx, "nq57-mot", "thon-b", MONDAY_6, shell).row
    limited = person("tuan", Role.OPERATOR, zones={"thon-a"})
    refused(ctx, lambda: schedule.cancel(ctx, booked.id, limited), "schedule.cancel")
    [still] = [r for r in schedule.list_airings(ctx, "2026-W48") if r.id == booked.id]
    assert still.status == "planned"

    cancelled = schedule.cancel(ctx, booked.id, person("an", Role.OPERATOR))
    assert (cancelled.status, cancelled.reason) == ("cancelled", "cancelled by an")
    with pytest.raises(BroadcasterError):  # a second cancel: not planned any more
        schedule.cancel(ctx, booked.id, person("an", Role.OPERATOR))
    assert last_audit(ctx).result == "failed"


def test_planning_the_week_is_an_operators_action(ctx):
    refused(
        ctx, lambda: schedule.plan(ctx, "2026-W48", person("minh", Role.REPORTER)), "schedule.plan"
    )
    # A zone-limited operator cannot book every zone's week.
    limited = person("tuan", Role.OPERATOR, zones={"thon-a"})
    refused(ctx, lambda: schedule.plan(ctx, "2026-W48", limited), "schedule.plan")
    report = schedule.plan(ctx, "2026-W48", person("an", Role.OPERATOR))
    assert report.created and all(isinstance(r, AiringRecord) for r in report.created)


# -- emergencies ---------------------------------------------------------------------------
def test_an_emergency_needs_an_operator_of_every_zone_it_goes_to(ctx):
    storm = ctx.bulletin("bao-lu")
    limited = person("tuan", Role.OPERATOR, zones={"thon-a"})
    refused(
        ctx,
        lambda: emergencies.air_emergency(ctx, storm, ["thon-a", "thon-b"], limited),
        "emergency.air",
    )
    refused(
        ctx,
        lambda: emergencies.air_emergency(ctx, storm, ["xa"], person("hoa", Role.OFFICER)),
        "emergency.air",
    )


def test_a_refused_typed_alert_writes_no_script(ctx):
    scripts = sorted(p.name for p in (ctx.root / "scripts").iterdir())
    refused(
        ctx,
        lambda: emergencies.typed_alert(
            ctx, "Lũ về, sơ tán ngay.", "Chủ tịch", person("minh", Role.REPORTER), ["xa"]
        ),
        "emergency.air",
    )
    assert sorted(p.name for p in (ctx.root / "scripts").iterdir()) == scripts


# -- receivers -----------------------------------------------------------------------------
def test_receiver_commands_are_refused_before_anything_is_sent(ctx):
    """The small station has no MQTT output: the permission is asked first, so a
    reporter hears 'not allowed', not 'no receivers'."""
    refused(
        ctx,
        lambda: receivers.send_volume(ctx, 50, None, None, person("minh", Role.REPORTER)),
        "receivers.control",
    )
    with pytest.raises(BroadcasterError) as caught:
        receivers.send_volume(ctx, 50, None, None, person("an", Role.OPERATOR))
    assert not isinstance(caught.value, PermissionDenied)


def test_the_shell_acts_with_every_right_and_is_recorded_as_itself(ctx):
    shell = Actor.local_cli(by="Lan", os_user="operator")
    schedule.queue(ctx, "nq57-ba", "xa", MONDAY_6, shell)
    entry = last_audit(ctx)
    assert (entry.actor, entry.by, entry.face, entry.result) == (
        "cli:operator",
        "Lan",
        "cli",
        "ok",
    )


# -- evidence ------------------------------------------------------------------------------
def test_the_evidence_pack_carries_the_audit_trail_and_its_verification(ctx, tmp_path):
    import csv
    import io
    import json
    import zipfile

    from broadcaster.app import evidence
    from broadcaster.reports.period import parse_period

    schedule.queue(ctx, "nq57-mot", "thon-a", MONDAY_6, Actor.local_cli(by="Lan"))
    refused_try = person("minh", Role.REPORTER)
    with pytest.raises(PermissionDenied):
        schedule.cancel(ctx, 1, refused_try)
    period = parse_period(None, "2026-11-01", "2026-11-30", VN)
    pack = evidence.write_pack(ctx, period, list(ctx.station.zone_ids), "json", tmp_path / "p.zip")
    with zipfile.ZipFile(pack.path) as z:
        rows = list(csv.DictReader(io.StringIO(z.read(evidence.AUDIT_CSV).decode("utf-8-sig"))))
        check = json.loads(z.read(evidence.AUDIT_VERIFY_JSON))
        manifest = z.read(evidence.MANIFEST).decode("utf-8")
    # The template station's five approvals (made through the CLI), then what this test did.
    assert [(r["action"], r["result"], r["by"] or r["actor"]) for r in rows] == [
        *[("bulletin.approve", "ok", "Chủ tịch UBND xã")] * 5,
        ("schedule.queue", "ok", "Lan"),
        ("schedule.cancel", "refused", "minh"),
    ]
    assert check["ok"] is True and check["entries"] == 7
    assert evidence.AUDIT_CSV in manifest and evidence.AUDIT_VERIFY_JSON in manifest


# -- the one transition --------------------------------------------------------------------
def test_an_airing_moves_only_as_the_core_allows_and_a_final_move_carries_its_entry(ctx):
    from broadcaster.core.model import TRANSITIONS, AiringStatus
    from broadcaster.store import airings, aslog

    booked = schedule.queue(ctx, "nq57-mot", "xa", MONDAY_6, Actor.local_cli(by="Lan")).row
    entry = aslog.Outcome(
        airing_id=booked.id, zone_id="xa", bulletin_id="nq57-mot", outcome="aired", triggered_by="t"
    )
    with ctx.db.write() as s:
        with pytest.raises(airings.IllegalTransition):  # nothing ever moves back to planned
            airings.move(s, booked.id, AiringStatus.PLANNED, outcome=entry, recorded_at=NOW)
        # Aired only from playing: a planned airing is not moved, and nothing is logged.
        assert (
            airings.move(s, booked.id, AiringStatus.AIRED, outcome=entry, recorded_at=NOW) is None
        )
    assert AiringStatus.AIRED.sources() == {AiringStatus.PLAYING}
    assert AiringStatus.CANCELLED.sources() == {AiringStatus.PLANNED}
    assert all(not TRANSITIONS[s] for s in AiringStatus if s.is_final)
    cancelled = schedule.cancel(ctx, booked.id, Actor.local_cli(by="Lan"))
    with sqlite3.connect(ctx.root / "station.db") as conn:
        [(outcome, reason)] = conn.execute(
            "select outcome, reason from as_run_log where airing_id = ?", (booked.id,)
        ).fetchall()
    assert (outcome, reason) == ("cancelled", cancelled.reason)
    # A second cancel finds nothing to move (the first one won).
    with ctx.db.write() as s:
        second = aslog.Outcome(
            airing_id=booked.id,
            zone_id="xa",
            bulletin_id="nq57-mot",
            outcome="cancelled",
            triggered_by="t",
        )
        assert (
            airings.move(s, booked.id, AiringStatus.CANCELLED, outcome=second, recorded_at=NOW)
            is None
        )


def test_a_users_mistake_inside_an_operation_is_not_an_audit_entry(ctx):
    """A bad argument is neither done nor refused: the face says so, the trail is left
    alone (and a mistake never creates or grows the database)."""
    before = AuditTrail(ctx.db, ctx.clock).entries()
    past = datetime(2026, 11, 1, 6, 0, tzinfo=VN)
    with pytest.raises(BroadcasterError, match="in the past"):
        schedule.queue(ctx, "nq57-mot", "xa", past, Actor.local_cli(by="Lan"))
    assert AuditTrail(ctx.db, ctx.clock).entries() == before


def test_an_approval_leaves_the_layer_as_plain_frozen_data(ctx):
    from broadcaster.core.model import ApprovalRecord

    edit_and_render(ctx, "nq57-ba")
    approval = approvals.approve(ctx, "nq57-ba", person("chu-tich", Role.APPROVER))
    assert isinstance(approval, ApprovalRecord)
    with pytest.raises(AttributeError):
        approval.approved_by = "someone else"  # type: ignore[misc]
    # Approving the same content again returns the same approval, as data too.
    again = approvals.approve(ctx, "nq57-ba", person("pho-chu-tich", Role.APPROVER))
    assert again == approval
