"""Issue 15's fan-out: what a shared slot prepares ahead (kept zone folders, staged copies,
group commits of the 'playing' marks) keeps every promise of the careful path. The real
file output and journal, on a real station database and output folder."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import airingkit
import pytest
from airingkit import sha
from stationkit import at, played, rows

from broadcaster.app import schedule
from broadcaster.app.actors import Actor
from broadcaster.app.context import StationContext
from broadcaster.core.model import AiringStatus
from broadcaster.engine.clock import SimClock
from broadcaster.engine.journal import OutcomeJournal, StartJournal, mark_playing
from broadcaster.playout.base import OutputError, PlayItem
from broadcaster.playout.file_output import FileOutput
from broadcaster.store import airings, aslog

SLOT = at(0, 6)  # Monday 06:00 local


@pytest.fixture
def ctx(station: Path):
    context = StationContext.open(station, clock=SimClock(SLOT))
    yield context
    context.close()


def book(ctx: StationContext, bulletin_id: str, zone: str) -> int:
    return airingkit.book(ctx, bulletin_id, zone, SLOT)


def item_for(ctx: StationContext, airing_id: int, zone: str = "xa") -> PlayItem:
    engine = schedule.engine_for(ctx, ctx.outputs(ctx.clock))
    cleared = engine.clear_many({"nq57-mot"})["nq57-mot"]
    return PlayItem(
        airing_id, zone, "nq57-mot", cleared.audio_path, cleared.audio_sha256, 3.0, SLOT, "normal"
    )


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def files(ctx: StationContext) -> FileOutput:
    return FileOutput("files", {"dir": "out"}, ctx.root, ctx.clock)


def stage(output: FileOutput, item: PlayItem) -> None:
    """Cue and wait for the stager thread to have made the copy."""
    output.cue(item)
    folder = ctx_folder(output, item.zone_id)
    for _ in range(500):
        if item.airing_id in folder.staged:
            return
        threading.Event().wait(0.01)
    raise AssertionError("the stager made no copy")


def ctx_folder(output: FileOutput, zone: str):
    for _ in range(500):
        folder = output._folders.get(zone)
        if folder is not None:
            return folder
        threading.Event().wait(0.01)
    raise AssertionError("the zone's folder was never opened")


# -- the 'playing' marks ------------------------------------------------------------------
def test_a_batch_of_marks_moves_only_what_is_still_planned(ctx):
    ids = [book(ctx, "nq57-mot", zone) for zone in ctx.station.zone_ids]
    schedule.cancel(ctx, ids[0], Actor.local_cli(by="Lan"))
    moved = mark_playing(ctx.db, [(i, SLOT) for i in ids])
    assert moved == set(ids[1:])
    status = {r["id"]: r["status"] for r in rows(ctx.root, "select id, status from airing")}
    assert status[ids[0]] == "cancelled"
    assert all(status[i] == "playing" for i in ids[1:])
    assert mark_playing(ctx.db, [(i, SLOT) for i in ids]) == set()  # no second start


def test_an_airing_marked_twice_in_one_batch_starts_once(ctx):
    airing = book(ctx, "nq57-mot", "xa")
    journal = StartJournal(ctx.db, linger=0.05)
    journal.start()
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(journal.mark(airing, SLOT)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal.close()
    assert sorted(results) == [False, True]


# -- the outcomes of shared ends ------------------------------------------------------------
def _commits(ctx: StationContext) -> list[int]:
    """A counter of the database's commits (one element per commit)."""
    from sqlalchemy import event

    seen: list[int] = []
    event.listen(ctx.db.engine, "commit", lambda _conn: seen.append(1))
    return seen


def test_outcomes_of_zones_that_end_together_are_committed_together_and_chained(ctx):
    engine = schedule.engine_for(ctx, ctx.outputs(ctx.clock))
    ids = [book(ctx, "nq57-mot", zone) for zone in ctx.station.zone_ids]
    with ctx.db.read() as s:
        planned = [airings.get(s, i) for i in ids]
    engine.outcomes = OutcomeJournal(ctx.db, linger=0.2, max_wait=2.0)
    engine.outcomes.start()
    commits = _commits(ctx)
    reason = "the zone was busy"
    threads = [
        threading.Thread(
            target=engine.close,
            args=(row, AiringStatus.MISSED, reason, SLOT),
            kwargs={"recover": False},  # make-ups are written after, on their own
        )
        for row in planned
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.outcomes.close()
    assert len(commits) == 1  # one transaction for every zone's outcome
    logged = rows(ctx.root, "select airing_id, outcome from as_run_log order by seq")
    assert sorted(r["airing_id"] for r in logged) == sorted(ids)
    assert {r["outcome"] for r in logged} == {"missed"}
    with ctx.db.read() as s:
        assert aslog.verify(s).ok


def test_an_outcome_that_fails_is_undone_alone_and_its_caller_told(ctx):
    first, second = (book(ctx, "nq57-mot", zone) for zone in ctx.station.zone_ids[:2])
    journal = OutcomeJournal(ctx.db, linger=0.2, max_wait=2.0)
    journal.start()
    results: dict[str, object] = {}

    def good() -> None:
        results["good"] = journal.write(lambda s: airings.start_many(s, [(first, SLOT)]))

    def bad() -> None:
        def half_done(s):
            airings.start_many(s, [(second, SLOT)])
            raise ValueError("half done")

        try:
            journal.write(half_done)
        except ValueError as exc:
            results["bad"] = exc

    threads = [threading.Thread(target=good), threading.Thread(target=bad)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal.close()
    assert results["good"] == {first}
    assert str(results["bad"]) == "half done"
    status = {r["id"]: r["status"] for r in rows(ctx.root, "select id, status from airing")}
    assert status[first] == "playing"
    assert status[second] == "planned"  # its move was undone with it


def test_an_outcome_written_after_the_journal_closed_is_committed_at_once(ctx):
    airing = book(ctx, "nq57-mot", "xa")
    journal = OutcomeJournal(ctx.db)
    journal.start()
    journal.close()
    assert journal.write(lambda s: airings.start_many(s, [(airing, SLOT)])) == {airing}
    assert rows(ctx.root, f"select status from airing where id = {airing}")[0]["status"] == (
        "playing"
    )


# -- staged copies --------------------------------------------------------------------------
def test_a_staged_copy_is_what_the_start_delivers_and_nothing_hidden_stays(ctx):
    output = files(ctx)
    output.prepare(["xa"])
    item = item_for(ctx, 7)
    stage(output, item)
    folder = ctx.root / "out" / "xa"
    assert len(hidden(folder)) == 1 and played(ctx.root) == []  # copied, not played
    output.start(item)
    [record] = played(ctx.root)
    delivered = folder / record["file"]
    assert sha(delivered) == item.audio_sha256 == record["sha256"]
    assert delivered.stat().st_nlink == 1 and hidden(folder) == []
    assert delivered.stat().st_ino != item.audio_path.stat().st_ino
    output.close()


def test_a_staged_copy_changed_after_staging_is_not_delivered(ctx):
    output = files(ctx)
    item = item_for(ctx, 8)
    stage(output, item)
    folder = ctx.root / "out" / "xa"
    [name] = hidden(folder)
    os.unlink(folder / name)  # swapped for other bytes under the same name
    (folder / name).write_bytes(b"not the approved audio")
    output.start(item)
    [record] = played(ctx.root)
    assert sha(folder / record["file"]) == item.audio_sha256
    assert hidden(folder) == []
    output.close()


def test_a_cue_withdrawn_leaves_no_copy(ctx):
    output = files(ctx)
    item = item_for(ctx, 9)
    stage(output, item)
    output.uncue(9)
    assert hidden(ctx.root / "out" / "xa") == []
    output.close()


def test_hidden_copies_a_killed_daemon_left_are_removed_when_the_zone_opens(ctx):
    folder = ctx.root / "out" / "xa"
    folder.mkdir(parents=True)
    (folder / ".cue-12_deadbeef.mp3").write_bytes(b"left by a killed start")
    files(ctx).prepare(["xa"])
    assert hidden(folder) == []


# -- kept folders are checked at every start --------------------------------------------------
def test_a_manifest_swapped_for_a_link_after_the_first_start_is_refused(ctx, tmp_path):
    output = files(ctx)
    output.start(item_for(ctx, 10))
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n", encoding="utf-8")
    manifest = ctx.root / "out" / "xa" / "manifest.jsonl"
    manifest.unlink()
    manifest.symlink_to(victim)
    with pytest.raises(OutputError, match="is a link"):
        output.start(item_for(ctx, 11))
    assert victim.read_text(encoding="utf-8") == "untouched\n"
    assert [p.name for p in (ctx.root / "out" / "xa").glob("*-a11-*")] == []
    output.close()


def test_a_zone_folder_swapped_for_a_link_after_the_first_start_is_refused(ctx, tmp_path):
    output = files(ctx)
    output.start(item_for(ctx, 12))
    outside = tmp_path / "outside"
    outside.mkdir()
    zone = ctx.root / "out" / "xa"
    zone.rename(ctx.root / "out" / "xa-old")
    zone.symlink_to(outside)
    with pytest.raises(OutputError, match="is a link"):
        output.start(item_for(ctx, 13))
    assert list(outside.iterdir()) == []
    output.close()


def test_a_zone_folder_removed_after_the_first_start_is_made_again(ctx):
    output = files(ctx)
    output.start(item_for(ctx, 14))
    zone = ctx.root / "out" / "xa"
    for p in zone.iterdir():
        p.chmod(0o644)
        p.unlink()
    zone.rmdir()
    output.start(item_for(ctx, 15))
    assert [r["airing"] for r in played(ctx.root)] == [15]
    output.close()
