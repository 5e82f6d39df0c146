"""Tổng quan, the dashboard every open browser polls: at a province's size it summarises
(counts by state, only the rows needing someone), it shows the log chain's state without
walking the whole chain on every poll, the receivers' state from a real broker, and the
approved bulletins that would air in a fallback voice."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from netkit import Network, make_network_station, mosquitto
from simkit import SimCli, sim_url
from stationkit import STATION_HEAD, db
from test_web import ACCOUNTS, PASSWORD, client, sign_in

from broadcaster.app.actors import Actor
from broadcaster.app.context import StationContext
from broadcaster.app.logbook import ChainWatch
from broadcaster.app.overview import COMPACT_ABOVE_ZONES, COMPACT_ROWS
from broadcaster.app.receivers import ReceiverWatch
from broadcaster.app.roles import Role
from broadcaster.app.users import UserService
from broadcaster.engine.clock import SimClock
from broadcaster.web.app import create_app

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=VN).astimezone(UTC)  # Thursday of 2026-W48


def _with_operator(ctx: StationContext) -> StationContext:
    UserService(ctx.db, ctx.clock, known_zones=ctx.station.zone_ids).add(
        Actor.local_cli(), ACCOUNTS[Role.OPERATOR], PASSWORD, [Role.OPERATOR]
    )
    return ctx


def _fragment(app) -> str:
    c = client(app)
    assert sign_in(c, ACCOUNTS[Role.OPERATOR]).status_code == 303
    page = c.get("/tong-quan/truc-tiep")
    assert page.status_code == 200
    return page.text


def _many_zones(station: Path, n: int) -> None:
    zones = "\n".join(
        f"  - {{id: thon-{i:03d}, name: Cụm loa thôn {i:03d}, kind: cluster, output: files}}"
        for i in range(n)
    )
    (station / "schedules" / "station.yaml").write_text(
        STATION_HEAD
        + f"zones:\n{zones}\n"
        + """sessions:
  - {id: sang, zones: all, days: [mon, tue, wed, thu, fri, sat, sun], start: "06:00", max_minutes: 10}
requirements:
  - {id: nq57-tuan, title: Tuyên truyền Nghị quyết 57, campaign: nq57, min: 2, per: week, zones: all}
""",
        encoding="utf-8",
    )


def test_a_small_station_lists_every_zone_and_row(station: Path):
    ctx = _with_operator(StationContext.open(station, clock=SimClock(NOW)))
    try:
        text = _fragment(create_app(ctx=ctx))
    finally:
        ctx.close()
    for zone in ("Đài xã", "Cụm loa thôn A", "Cụm loa thôn B"):
        assert zone in text
    assert "Cần chú ý trong tuần" not in text  # nothing summarised
    assert "chuỗi nguyên vẹn" in text


def test_a_province_sized_station_summarises_by_state(station: Path):
    """Sixty zones, none planned on a Thursday: every row is at risk or failed. The page
    counts them, lists at most COMPACT_ROWS and says how many more, and shows no card for
    zones that are not on air."""
    zones = 60
    assert zones > COMPACT_ABOVE_ZONES
    _many_zones(station, zones)
    ctx = _with_operator(StationContext.open(station, clock=SimClock(NOW)))
    try:
        text = _fragment(create_app(ctx=ctx))
    finally:
        ctx.close()
    assert "Cần chú ý trong tuần" in text
    assert f"0/{zones} cụm loa đang phát." in text
    listed = text.count('<span class="badge failed">') + text.count('<span class="badge at-risk">')
    # the rows listed, plus the one count badge of each state in the summary card
    assert COMPACT_ROWS <= listed <= COMPACT_ROWS + 2
    assert f"và {zones - COMPACT_ROWS} mục khác" in text
    assert 'class="card zone"' not in text
    assert len(text) < 40_000  # against ~470 KB for 1,000 zones listed whole


def test_the_chain_watch_walks_new_entries_and_the_whole_chain_again(cli):
    """The watch walks the whole chain first, then only what was appended, and the
    whole chain again every ``whole_every``: an edit to an old entry shows by then; a
    truncated log (the head no longer matches) shows at the next poll."""
    cli("simulate", "--from", "2026-11-23", "--to", "2026-11-24", check=True)
    root = SimCli(cli).root
    clock = SimClock(NOW)
    ctx = StationContext.open(cli.root, db_url=sim_url(cli.root), clock=clock)
    try:
        watch = ChainWatch(whole_every=timedelta(minutes=30))
        first = watch.state(ctx)
        assert first.ok and first.count >= 6 and first.whole_checked_at == NOW
        with db(root) as conn:
            conn.execute("update as_run_log set reason='sửa' where seq=2")
        clock.advance_to(NOW + timedelta(minutes=5))
        later = watch.state(ctx)
        assert later.ok and later.whole_checked_at == NOW  # only the new entries walked
        clock.advance_to(NOW + timedelta(minutes=31))
        whole = watch.state(ctx)
        assert not whole.ok and any("entry 2: content edited" in p for p in whole.problems)
        # broken stays broken (walked whole each time) until it is repaired
        clock.advance_to(NOW + timedelta(minutes=32))
        assert not watch.state(ctx).ok
    finally:
        ctx.close()


def test_a_truncated_log_shows_at_the_next_poll(cli):
    cli("simulate", "--from", "2026-11-23", "--to", "2026-11-24", check=True)
    root = SimCli(cli).root
    clock = SimClock(NOW)
    ctx = StationContext.open(cli.root, db_url=sim_url(cli.root), clock=clock)
    try:
        watch = ChainWatch()
        assert watch.state(ctx).count == 6
        with db(root) as conn:
            conn.execute("delete from as_run_log where seq=(select max(seq) from as_run_log)")
        clock.advance_to(NOW + timedelta(seconds=5))
        state = watch.state(ctx)
        assert not state.ok and any(
            "entry 6: verified before, now deleted" in p for p in state.problems
        )
    finally:
        ctx.close()


def test_the_dashboard_says_a_broken_chain(station: Path, cli):
    cli("simulate", "--from", "2026-11-23", "--to", "2026-11-24", check=True)
    with db(SimCli(cli).root) as conn:
        conn.execute("update as_run_log set outcome='failed', reason='x' where seq=3")
    ctx = _with_operator(
        StationContext.open(cli.root, db_url=sim_url(cli.root), clock=SimClock(NOW))
    )
    try:
        text = _fragment(create_app(ctx=ctx))
    finally:
        ctx.close()
    assert "chuỗi bị hỏng" in text and 'href="/nhat-ky/kiem-tra"' in text


def test_fallback_audio_is_named_on_the_dashboard(station: Path):
    ctx = _with_operator(StationContext.open(station, clock=SimClock(NOW)))
    try:
        with db(station) as conn:
            conn.execute("update rendition set fallback=1 where bulletin_id='lua-dao'")
        text = _fragment(create_app(ctx=ctx))
    finally:
        ctx.close()
    assert "Âm thanh dự phòng" in text and 'href="/ban-tin/lua-dao"' in text
    assert 'href="/ban-tin/nq57-mot"' not in text


def test_the_receivers_state_comes_from_the_broker_in_the_background(station: Path, tmp_path):
    """A real Mosquitto, three configured receivers, none running: the watch (started by
    the web station's lifespan) finds none online; the page says so by name."""
    net = Network.make({"thon-a": 2, "thon-b": 1})
    with mosquitto(tmp_path / "broker") as broker:
        make_network_station(station, net, broker)
        ctx = _with_operator(StationContext.open(station, clock=SimClock(NOW)))
        try:
            assert ReceiverWatch.wanted(ctx)
            app = create_app(ctx=ctx)
            with client(app) as c:  # runs the lifespan: the watch's thread
                assert sign_in(c, ACCOUNTS[Role.OPERATOR]).status_code == 303
                deadline = time.monotonic() + 30
                while True:
                    text = c.get("/tong-quan/truc-tiep").text
                    if "Đang hỏi máy chủ MQTT" not in text or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
            assert "3 thiết bị mất kết nối" in text and "0/3 đang kết nối" in text
            for receiver in ("thon-a-r1", "thon-a-r2", "thon-b-r1"):
                assert receiver in text
            assert app.state.web.receivers._thread is None  # stopped with the app
        finally:
            ctx.close()


def test_dead_air_alerts_have_a_card(station: Path):
    """A silence the daemon raised (store/alerts, as engine/silence_alerts writes it) is
    listed on Tổng quan: the zone, when, how long; an ongoing one says so."""
    from broadcaster.store import alerts

    ctx = _with_operator(StationContext.open(station, clock=SimClock(NOW)))
    try:
        with ctx.db.write() as s:
            done = alerts.raise_alert(
                s,
                zone_id="thon-a",
                what="relay:vov1-sang",
                source="vov1",
                started_at=NOW - timedelta(hours=6, minutes=29, seconds=48),
                seconds=10,
                raised_at=NOW - timedelta(hours=6),
            )
            alerts.end_alert(s, done, 15.4, NOW - timedelta(hours=6))
            alerts.raise_alert(
                s,
                zone_id="xa",
                what="relay:vov1-chieu",
                source="vov1",
                started_at=NOW - timedelta(seconds=30),
                seconds=12,
                raised_at=NOW,
            )
        text = _fragment(create_app(ctx=ctx))
    finally:
        ctx.close()
    assert "Mất tiếng trên sóng" in text
    assert "15 giây" in text and "relay:vov1-sang" in text and "05:30:12" in text, text
    assert "vẫn đang im lặng" in text and "relay:vov1-chieu" in text
