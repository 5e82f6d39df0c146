"""What status and the reports judge comes from the hashed as-run log (issue 10), counts
only entries made on the real clock unless asked, and says what a period that is not over
or holds no data means (issue 11).

The airings are written through the engine's own ``close`` (the path every outcome takes)
on the small station without audio: no playout is needed to put outcomes in the log.
"""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from broadcaster.app import reports as build
from broadcaster.app import schedule
from broadcaster.app.context import StationContext
from broadcaster.core.model import Airing, AiringStatus, Origin, Priority
from broadcaster.core.timeutil import parse_local_datetime
from broadcaster.engine.clock import SimClock
from broadcaster.engine.journal import mark_playing
from broadcaster.engine.planning import new_row
from broadcaster.engine.station_engine import StationEngine
from broadcaster.reports import json_writer, labels
from broadcaster.reports.period import parse_period
from broadcaster.store import aslog
from broadcaster.store.tables import AiringRow

ZONES = ("xa", "thon-a", "thon-b")


class Station:
    """The small station on a database of its own, with outcomes put in by ``close``."""

    def __init__(self, root: Path, db: Path, now_local: str) -> None:
        self.ctx = StationContext.open(root, f"sqlite:///{db}")
        self.tz = self.ctx.station.tz
        self.at(now_local)
        self.engine = StationEngine(self.ctx.root, self.ctx.station, self.ctx.db, {})
        self.db_path = db

    def at(self, local: str) -> None:
        """Status and reports are made at this local time (the clock's kind is moot)."""
        self.ctx.clock = SimClock(parse_local_datetime(local, self.tz))

    def book(self, zone: str, bulletin: str, local: str) -> AiringRow:
        at = parse_local_datetime(local, self.tz)
        airing = Airing(
            None,
            zone,
            bulletin,
            at,
            at + timedelta(minutes=10),
            "sang" if at.astimezone(self.tz).hour < 12 else "chieu",
            Priority.NORMAL,
            Origin.PLAN,
            duration_seconds=30.0,
        )
        row = new_row(airing, self.ctx.bulletin(bulletin), self.ctx.station, at)
        with self.ctx.db.write() as s:
            s.add(row)
            s.flush()
            s.expunge(row)
        return row

    def close(self, row: AiringRow, status: AiringStatus, clock: str = "") -> None:
        """The outcome as the engine logs it, on a clock of the given kind."""
        self.engine.clock_kind = clock
        at = row.scheduled_at
        started = at if status == AiringStatus.AIRED else None
        reason = "" if status == AiringStatus.AIRED else "output unreachable"
        if started is not None:  # as the engine does: the write-ahead mark comes first
            assert mark_playing(self.ctx.db, [(row.id, started)]) == {row.id}
        assert self.engine.close(row, status, reason, at + timedelta(seconds=30), started=started)

    def aired(self, zone: str, local: str, clock: str = "", bulletin: str = "nq57-mot") -> None:
        self.close(self.book(zone, bulletin, local), AiringStatus.AIRED, clock)

    def figures(self, date_from: str, date_to: str, *, include_unreal: bool = False):
        period = parse_period(None, date_from, date_to, self.tz)
        return build.figures(
            self.ctx, period, list(self.ctx.station.zone_ids), include_unreal=include_unreal
        )

    def sql(self, statement: str) -> None:
        conn = sqlite3.connect(self.db_path)
        with conn:
            conn.execute(statement)
        conn.close()


@pytest.fixture
def st(bare_station: Path, tmp_path: Path) -> Station:
    station = Station(bare_station, tmp_path / "evidence.db", "2026-11-30 08:00")
    yield station
    station.ctx.close()


def _states(fig) -> dict[tuple[str, str], str]:
    [req] = fig.requirements
    return {(z.zone_id, z.week): z.state for z in req.zone_weeks}


def _status(st: Station, **kw) -> dict[str, tuple]:
    report = schedule.status(st.ctx, "2026-W48", **kw)
    return {r.zone: (r.aired, r.planned, r.failed, r.missed, r.state) for r in report.rows}


def _figures_digest(fig) -> str:
    """Every figure except the log's head and when the report was made."""
    data = json.loads(json_writer.dumps(fig))
    for key in ("generated_at", "log_head_count", "log_head_hash"):
        data.pop(key)
    return json.dumps(data, sort_keys=True)


# -- issue 10, item 10: compliance from the hashed log -----------------------------------------
def test_editing_the_airing_table_changes_neither_status_nor_report(st: Station):
    """Setting failed airings to 'aired' and moving aired ones to another campaign in the
    unchained airing table, behind the log's back, changes no figure; editing the same
    fact in the log breaks the chain."""
    for local in ("2026-11-23 06:00", "2026-11-24 06:00"):
        st.aired("xa", local)
        st.close(st.book("thon-a", "nq57-hai", local), AiringStatus.FAILED)
        st.aired("thon-b", local)
    before_status = _status(st)
    before = _figures_digest(st.figures("2026-11-23", "2026-11-29"))
    assert before_status["xa"][0] == 2 and before_status["xa"][-1] == "met"
    assert before_status["thon-a"][2] == 2 and before_status["thon-a"][-1] == "failed"

    st.sql("update airing set status='aired', reason='' where status='failed'")
    st.sql("update airing set campaign='khac', tags=',' where zone_id in ('xa', 'thon-b')")
    st.sql("update airing set week='2026-W47'")

    assert _status(st) == before_status
    assert _figures_digest(st.figures("2026-11-23", "2026-11-29")) == before
    with st.ctx.db.read() as s:
        assert aslog.verify(s).ok  # the airing table is not evidence: the chain holds

    st.sql("update as_run_log set campaigns=',khac,' where zone_id='xa'")
    with st.ctx.db.read() as s:
        report = aslog.verify(s)
    assert not report.ok and any("content edited" in p for p in report.problems)


def test_a_row_set_back_to_planned_is_not_a_plan(st: Station):
    """An airing whose outcome is logged stays what the log says even if its row is set
    back to 'planned': it is neither counted again as to come nor as aired."""
    st.at("2026-11-25 12:00")
    row = st.book("thon-a", "nq57-mot", "2026-11-23 06:00")
    st.close(row, AiringStatus.FAILED)
    st.sql(f"update airing set status='planned' where id={row.id}")
    thon_a = _status(st)["thon-a"]
    assert thon_a[0] == 0 and thon_a[2] == 1
    fig = st.figures("2026-11-23", "2026-11-29")
    counts = {z.zone_id: z.counts for z in fig.zones}["thon-a"]
    assert counts.failed == 1 and counts.pending == 0


# -- issue 10, item 1: entries not made on the real clock ---------------------------------------
def test_simulated_and_shifted_entries_are_never_counted_as_aired(st: Station):
    """xa aired twice on a simulated clock, thon-a twice on a shifted one, thon-b twice on
    the real one: only thon-b is met; the others are counted apart and the report says so
    loudly. With include_unreal (demos, tests) they count, and the report says that."""
    for local in ("2026-11-23 06:00", "2026-11-24 06:00"):
        st.aired("xa", local, clock="simulated")
        st.aired("thon-a", local, clock="shifted:-3600s")
        st.aired("thon-b", local)
    fig = st.figures("2026-11-23", "2026-11-29")
    assert fig.totals.aired == 2
    assert fig.unreal_in_period == {"aired": 4}
    assert fig.unreal_in_database == {"shifted:-3600s": 2, "simulated": 2}
    assert _states(fig) == {
        ("xa", "2026-W48"): "not-met",
        ("thon-a", "2026-W48"): "not-met",
        ("thon-b", "2026-W48"): "met",
    }
    [warning] = labels.warnings(fig)
    assert warning.startswith("CẢNH BÁO") and "KHÔNG được tính" in warning
    assert {b.bulletin_id: b.aired for b in fig.bulletins} == {"nq57-mot": 2}

    counted = st.figures("2026-11-23", "2026-11-29", include_unreal=True)
    assert counted.totals.aired == 6 and counted.share_met == 1.0
    assert "TÍNH CẢ" in labels.warnings(counted)[0]

    status = _status(st)
    assert (status["xa"][0], status["thon-a"][0], status["thon-b"][0]) == (0, 0, 2)
    assert schedule.status(st.ctx, "2026-W48").unreal_in_week == 4
    assert _status(st, include_unreal=True)["xa"][0] == 2


# -- issue 11: a period partly in the future, and an empty one ---------------------------------
def _partly_future(st: Station) -> None:
    """W47 is over; on Wednesday 25/11 at noon, W48 is not."""
    st.aired("xa", "2026-11-17 06:00")
    st.aired("xa", "2026-11-18 06:00")
    st.aired("thon-a", "2026-11-17 06:00")  # one of two: W47 not met
    st.aired("thon-b", "2026-11-17 06:00")
    st.aired("thon-b", "2026-11-19 17:00")
    st.aired("xa", "2026-11-23 06:00")
    st.aired("xa", "2026-11-24 06:00")  # W48 met already
    st.aired("thon-a", "2026-11-23 06:00")
    st.book("thon-a", "nq57-hai", "2026-11-26 06:00")  # the second is planned: on track
    st.aired("thon-b", "2026-11-23 06:00")  # one, and nothing more planned: at risk
    st.at("2026-11-25 12:00")


def test_a_week_not_over_is_on_track_or_at_risk_never_not_met(st: Station, tmp_path: Path):
    _partly_future(st)
    fig = st.figures("2026-11-16", "2026-11-29")
    assert _states(fig) == {
        ("xa", "2026-W47"): "met",
        ("thon-a", "2026-W47"): "not-met",
        ("thon-b", "2026-W47"): "met",
        ("xa", "2026-W48"): "met",
        ("thon-a", "2026-W48"): "on-track",
        ("thon-b", "2026-W48"): "at-risk",
    }
    [req] = fig.requirements
    assert (req.judged, req.met, req.not_over) == (4, 3, 2)
    assert fig.share_met == pytest.approx(3 / 4) and fig.zone_weeks_not_over == 2
    assert [(z.zone_id, z.week) for z in req.not_met] == [("thon-a", "2026-W47")]
    assert fig.heatmap["thon-a"]["2026-W48"] == "on-track"
    assert fig.heatmap["thon-b"]["2026-W48"] == "at-risk"
    assert fig.totals.pending == 1
    [note] = labels.warnings(fig)
    assert note.startswith("2 tuần-cụm loa chưa kết thúc")

    period = parse_period(None, "2026-11-16", "2026-11-29", st.tz)
    zones = list(ZONES)
    data = json.loads(_written(st, period, zones, "json", tmp_path).read_text(encoding="utf-8"))
    assert data["warnings"] == [note] and data["zone_weeks_not_over"] == 2
    assert data["share_met"] == pytest.approx(0.75)
    text = _docx_text(_written(st, period, zones, "docx", tmp_path))
    assert note in text and "Chưa kết thúc – có nguy cơ không đạt" in text
    weekly = load_workbook(_written(st, period, zones, "xlsx", tmp_path))["Tuân thủ hằng tuần"]
    cells = {c.value for row in weekly.iter_rows() for c in row}
    assert (
        "Chưa kết thúc – đúng tiến độ" in cells and "Chưa kết thúc – có nguy cơ không đạt" in cells
    )


def test_a_period_without_data_says_there_is_nothing_to_report(st: Station, tmp_path: Path):
    _partly_future(st)
    st.at("2026-12-02 09:00")
    fig = st.figures("2026-10-01", "2026-10-31")
    assert fig.empty and fig.share_met is None and fig.zone_weeks_judged == 0
    assert all(not r.not_met for r in fig.requirements)
    assert {s for cells in fig.heatmap.values() for s in cells.values()} == {"none"}
    assert labels.warnings(fig) == [labels.NOTHING_TO_REPORT]

    period = parse_period("2026-10", None, None, st.tz)
    zones = list(ZONES)
    data = json.loads(_written(st, period, zones, "json", tmp_path).read_text(encoding="utf-8"))
    assert data["empty"] is True and data["warnings"] == [labels.NOTHING_TO_REPORT]
    text = _docx_text(_written(st, period, zones, "docx", tmp_path))
    assert labels.NOTHING_TO_REPORT in text
    assert "Tất cả cụm loa đều đạt" not in text
    summary = load_workbook(_written(st, period, zones, "xlsx", tmp_path))["Tổng hợp"]
    assert labels.NOTHING_TO_REPORT in {c.value for row in summary.iter_rows() for c in row}


def test_the_month_of_2_december_is_not_failed(st: Station):
    """The issue's case: on 2 December, December's weeks are not over; nothing is
    'not met' and the share is not 0 % but not measured yet."""
    st.at("2026-12-02 09:00")
    st.aired("xa", "2026-12-01 06:00")
    fig = st.figures("2026-12-01", "2026-12-31")
    assert not any(r.not_met for r in fig.requirements)
    assert fig.share_met is None and fig.zone_weeks_not_over > 0
    assert not fig.empty


def _written(st: Station, period, zones: list[str], fmt: str, tmp_path: Path) -> Path:
    target = tmp_path / f"report-{period.key.replace('..', '_')}.{fmt}"
    build.write_report(st.ctx, period, zones, fmt, target)
    return target


def _docx_text(path: Path) -> str:
    doc = Document(io.BytesIO(path.read_bytes()))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts += [c.text for row in table.rows for c in row.cells]
    return "\n".join(parts)


def test_legacy_entries_count_by_their_airing_and_say_so(st: Station):
    """Entries logged before the log carried campaign and week (no judged fields in their
    hash) are judged by their airing row, and status and reports say how many."""
    for local in ("2026-11-23 06:00", "2026-11-24 06:00"):
        row = st.book("xa", "nq57-mot", local)
        with st.ctx.db.write() as s:
            s.get(AiringRow, row.id).status = "aired"
            aslog.append(
                s,
                aslog.Outcome(
                    "xa", "nq57-mot", "aired", "daemon", airing_id=row.id,
                    scheduled_at=row.scheduled_at,
                ),
                row.scheduled_at,
            )  # fmt: skip
    report = schedule.status(st.ctx, "2026-W48")
    xa = next(r for r in report.rows if r.zone == "xa")
    assert (xa.aired, xa.state, report.legacy_in_week) == (2, "met", 2)
    fig = st.figures("2026-11-23", "2026-11-29")
    assert _states(fig)[("xa", "2026-W48")] == "met" and fig.legacy_in_period == 2
    assert any("bảng lịch phát" in w for w in labels.warnings(fig))
