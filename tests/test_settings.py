"""app/settings: the station's settings changed section by section, checked exactly as
``check`` checks station.yaml, written atomically for a person to read, or not at all
(issue 14, item 11: Cài đặt)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from stationkit import Cli

from broadcaster.app import settings
from broadcaster.app.actors import Actor
from broadcaster.app.audit import AuditTrail
from broadcaster.app.context import StationContext
from broadcaster.app.new_station import init_station
from broadcaster.app.permissions import PermissionDenied
from broadcaster.app.roles import Role
from broadcaster.core.errors import ConfigErrors, FieldProblem
from broadcaster.engine.clock import SimClock

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).astimezone(UTC)
ADMIN = Actor("quan-tri-vien", frozenset({Role.ADMIN}), face="web")
ZONE_A = {"id": "thon-a", "name": "Cụm loa thôn A", "kind": "cluster", "output": "files"}
ZONE_B = {"id": "thon-b", "name": "Cụm loa thôn Bắc Sơn", "kind": "cluster", "output": "files"}
SESSION = {
    "id": "sang",
    "zones": "thon-a, thon-b",
    "days": ["mon", "wed", "fri"],
    "start": "06:00",
    "max_minutes": "15",
    "fill": "",
}


@pytest.fixture
def ctx(tmp_path: Path):
    init_station(tmp_path / "xa-moi", "Đài truyền thanh xã Tân Kỳ")
    ctx = StationContext.open(tmp_path / "xa-moi", clock=SimClock(NOW))
    yield ctx
    ctx.close()


def _file(ctx) -> Path:
    return ctx.root / "schedules" / "station.yaml"


def _zones(ctx, *more):
    return settings.read(ctx).zones + list(more)


def test_a_valid_change_is_written_readably_and_check_accepts_it(ctx):
    original = _file(ctx).read_text(encoding="utf-8")
    settings.change(ctx, ADMIN, "zones", _zones(ctx, ZONE_A, ZONE_B))
    settings.change(ctx, ADMIN, "sessions", [SESSION])
    settings.change(
        ctx,
        ADMIN,
        "requirements",
        [
            {
                "id": "nq57-hang-tuan",
                "title": "Tuyên truyền Nghị quyết 57",
                "campaign": "nq57",
                "min": "1",
                "per": "week",
                "zones": "all",
            }
        ],
    )
    settings.change(
        ctx,
        ADMIN,
        "heading",
        {
            "name": "Đài truyền thanh xã Tân Kỳ",
            "timezone": "Asia/Ho_Chi_Minh",
            "issuing_body": "UBND XÃ TÂN KỲ",
            "signer_title": "CHỦ TỊCH",
            "unit": "xã",
            "recipients": "UBND huyện Tân Kỳ\nLưu: VT",
        },
    )
    text = _file(ctx).read_text(encoding="utf-8")
    # a person can read it: block style, Vietnamese as typed, the usual order, times quoted
    assert "name: Cụm loa thôn Bắc Sơn" in text and "\\u" not in text
    assert "days: [mon, wed, fri]" in text and 'start: "06:00"' in text
    assert text.index("station:") < text.index("zones:") < text.index("sessions:")
    assert text.index("sessions:") < text.index("requirements:") < text.index("report:")
    assert text.startswith("# ") and "station.yaml.bak" in text.splitlines()[1]
    data = yaml.safe_load(text)
    assert data["sessions"][0]["zones"] == ["thon-a", "thon-b"]
    assert data["report"]["recipients"] == ["UBND huyện Tân Kỳ", "Lưu: VT"]
    assert data["sources"] == [] and data["station"]["tts"] == ["gtts", "espeak"]  # kept
    # the first text, with its comments, is kept beside it (the last change's previous text)
    backup = _file(ctx).with_name("station.yaml.bak").read_text(encoding="utf-8")
    assert original.startswith("# ") and backup != text and "zones:" in backup
    # the open station follows the change; the real `check` accepts the file
    assert ctx.station.zone_ids == ("xa", "thon-a", "thon-b")
    assert ctx.station.report.issuing_body == "UBND XÃ TÂN KỲ"
    check = Cli(ctx.root)("check", "--json")
    assert check.code == 0, check.out + check.err
    assert json.loads(check.out)["ok"] is True
    # every change is in the audit trail
    entries = [e for e in AuditTrail(ctx.db, ctx.clock).entries() if e.action == "settings.edit"]
    assert [e.result for e in entries] == ["ok"] * 4
    assert entries[0].detail == "zones: 3 +thon-a,thon-b" and entries[0].face == "web"


def _refused(ctx, section, values) -> dict[str, str]:
    backup = _file(ctx).with_name("station.yaml.bak")
    before = _file(ctx).read_bytes(), backup.read_bytes() if backup.exists() else None
    with pytest.raises(ConfigErrors) as caught:
        settings.change(ctx, ADMIN, section, values)
    after = _file(ctx).read_bytes(), backup.read_bytes() if backup.exists() else None
    assert after == before  # nothing written, not even the backup
    assert not [p for p in _file(ctx).parent.iterdir() if p.name.endswith(".tmp")]
    return {p.field: p.message for p in caught.value.problems}


def test_an_invalid_change_writes_nothing_and_names_the_field(ctx):
    bad_time = _refused(ctx, "sessions", [{**SESSION, "zones": "all", "start": "25:00"}])
    assert bad_time == {
        "sessions.0.start": "'25:00' is not a time of day like 06:00 (from 00:00 to 23:59)"
    }
    unknown = _refused(ctx, "sessions", [{**SESSION, "zones": "thon-x"}])
    assert unknown == {"sessions.0.zones": "unknown zone 'thon-x'"}
    # rows are named as the form has them: a removed or blank row still counts
    duplicate = _refused(
        ctx,
        "zones",
        _zones(
            ctx,
            {**ZONE_A, "remove": "1"},
            {"id": "", "name": "", "kind": "cluster"},
            ZONE_B,
            {**ZONE_B, "name": "Thôn B mới"},
        ),
    )
    assert duplicate == {"zones.4.id": "duplicate zone id 'thon-b'"}
    assert list(_refused(ctx, "heading", {"name": " ", "timezone": "Asia/Ho_Chi_Minh"})) == ["name"]
    zone = _refused(ctx, "heading", {"name": "Đài xã A", "timezone": "Mars/Base"})
    assert zone == {"timezone": "unknown time zone 'Mars/Base'"}
    empty = _refused(ctx, "zones", [{**ZONE_A, "remove": "on"}])
    assert empty == {"zones": "a station needs at least one zone"}
    quiet = _refused(ctx, "quiet_hours", [{"start": "21:30", "end": "5h"}])
    assert list(quiet) == ["quiet_hours.0.end"]
    assert not [e for e in AuditTrail(ctx.db, ctx.clock).entries() if e.action == "settings.edit"]


def test_a_session_in_quiet_hours_or_a_zone_a_session_needs_is_refused(ctx):
    settings.change(ctx, ADMIN, "zones", _zones(ctx, ZONE_A))
    late = _refused(ctx, "sessions", [{**SESSION, "zones": "thon-a", "start": "21:20"}])
    assert "quiet hours" in late["sessions.0.start"]
    settings.change(ctx, ADMIN, "sessions", [{**SESSION, "zones": "thon-a"}])
    gone = _refused(ctx, "zones", _zones(ctx)[:1])  # thon-a removed: the session names it
    assert gone == {"sessions.0.zones": "unknown zone 'thon-a'"}


def test_only_an_admin_may_change_the_settings_and_a_refusal_is_audited(ctx):
    officer = Actor("lan", frozenset({Role.OFFICER}), face="web")
    before = _file(ctx).read_bytes()
    with pytest.raises(PermissionDenied):
        settings.change(ctx, officer, "zones", _zones(ctx, ZONE_A))
    assert _file(ctx).read_bytes() == before
    entry = AuditTrail(ctx.db, ctx.clock).entries()[-1]
    assert (entry.actor, entry.action, entry.result) == ("lan", "settings.edit", "refused")


def test_what_the_form_does_not_show_is_kept(ctx):
    path = _file(ctx)
    text = path.read_text(encoding="utf-8").replace(
        "requirements: []",
        "requirements:\n  - {id: mua-lu, campaign: lu, min: 1, from: 2026-11-01, to: 2026-12-31}",
    )
    path.write_text(text, encoding="utf-8")
    rows = settings.read(ctx).requirements
    assert rows == [
        {"id": "mua-lu", "title": "", "campaign": "lu", "min": "1", "per": "", "zones": ""}
    ]
    settings.change(ctx, ADMIN, "requirements", [{**rows[0], "min": "2"}])
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["requirements"] == [
        {
            "id": "mua-lu",
            "campaign": "lu",
            "min": 2,
            "per": "week",
            "zones": "all",
            "from": datetime(2026, 11, 1).date(),
            "to": datetime(2026, 12, 31).date(),
        }
    ]
    assert "# Add the loudspeaker" in path.with_name("station.yaml.bak").read_text("utf-8")
    assert settings.read(ctx).has_comments is True  # the header says where comments went


def test_a_change_from_a_page_opened_before_the_file_changed_is_refused(ctx):
    shown = settings.read(ctx)
    path = _file(ctx)
    by_hand = path.read_text(encoding="utf-8") + "# thêm bằng tay\n"
    path.write_text(by_hand, encoding="utf-8")
    with pytest.raises(FieldProblem) as caught:
        settings.change(ctx, ADMIN, "zones", [*shown.zones, ZONE_A], shown.version)
    assert caught.value.field == "version" and "changed since" in caught.value.message
    assert path.read_text(encoding="utf-8") == by_hand
    settings.change(ctx, ADMIN, "zones", [*shown.zones, ZONE_A], settings.read(ctx).version)
    assert ctx.station.zone_ids == ("xa", "thon-a")


def test_outputs_are_edited_with_their_plugins_settings_checked(ctx):
    shown = settings.read(ctx)
    assert shown.output_rows == [{"name": "files", "type": "file", "settings": "{dir: out}"}]
    assert "mqtt" in shown.output_types
    loa = {"name": "loa-thon", "type": "file", "settings": "{dir: ra-loa}"}
    assert _refused(ctx, "outputs", [*shown.output_rows, {**loa, "type": "fax"}]) == {
        "outputs.1.type": "unknown output type 'fax' (known: file, icecast, mqtt, player)"
    }
    assert list(_refused(ctx, "outputs", [*shown.output_rows, {**loa, "settings": "[1]"}])) == [
        "outputs.1.settings"
    ]
    named = _refused(ctx, "outputs", [*shown.output_rows, {**loa, "name": "files"}])
    assert named == {"outputs.1.name": "two outputs are named 'files'"}
    mqtt = _refused(ctx, "outputs", [*shown.output_rows, {**loa, "type": "mqtt", "settings": ""}])
    assert list(mqtt) == ["outputs.1.settings"]  # the plugin's own rules, as check has them
    in_use = _refused(ctx, "outputs", [loa])  # the station's zone plays through files
    assert in_use == {"zones.0.output": "unknown output 'files' (defined: loa-thon)"}
    settings.change(ctx, ADMIN, "outputs", [*shown.output_rows, loa])
    settings.change(ctx, ADMIN, "zones", _zones(ctx, {**ZONE_A, "output": "loa-thon"}))
    assert ctx.station.outputs["loa-thon"].settings == {"dir": "ra-loa"}
    check = Cli(ctx.root)("check", "--json")
    assert check.code == 0 and json.loads(check.out)["ok"] is True, check.out + check.err
