"""The start path tells the truth (issue 10 items 6, 7, 9; issue 12's station-machine
audio attacks): the engine and the file output, in this process, against a real station
database and the real output folder, on a clock the test holds still."""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import airingkit
import pytest
from airingkit import sha
from stationkit import at, played, rows

from broadcaster.app import schedule
from broadcaster.app.actors import Actor
from broadcaster.app.context import StationContext
from broadcaster.core.errors import BroadcasterError
from broadcaster.core.model import AiringStatus
from broadcaster.engine.clock import SimClock
from broadcaster.engine.journal import StartJournal
from broadcaster.playout.base import PlayItem
from broadcaster.playout.file_output import FileOutput
from broadcaster.store.tables import AiringRow

LAN = Actor.local_cli(by="Lan")  # the operator at the station's shell

SLOT = at(0, 6)  # Monday 06:00 local


@pytest.fixture
def ctx(station: Path):
    context = StationContext.open(station, clock=SimClock(SLOT))
    yield context
    context.close()


def engine_of(ctx: StationContext, outputs=None):
    return schedule.engine_for(ctx, outputs or ctx.outputs(ctx.clock))


def book(ctx: StationContext, bulletin_id: str, zone: str, when=SLOT) -> int:
    return airingkit.book(ctx, bulletin_id, zone, when)


def rendition_of(root: Path, bulletin_id: str) -> tuple[Path, str]:
    [r] = rows(
        root,
        "select audio_path, audio_sha256 from rendition where bulletin_id=? order by id desc "
        "limit 1",
        bulletin_id,
    )
    return root / r["audio_path"], r["audio_sha256"]


class WatchedOutput:
    """The real file output, plus what the database said (from another connection, as a
    crash would leave it) at the instant the output was asked to start."""

    def __init__(self, inner: FileOutput, root: Path) -> None:
        self.name = inner.name
        self.inner = inner
        self.root = root
        self.seen: dict[int, str] = {}

    def start(self, item: PlayItem):
        conn = sqlite3.connect(self.root / "station.db")
        try:
            [(status,)] = conn.execute("select status from airing where id=?", (item.airing_id,))
        finally:
            conn.close()
        self.seen[item.airing_id] = status
        return self.inner.start(item)


# -- item 6: the start is durable before the output begins ---------------------------------
@pytest.mark.parametrize("batched", [False, True])
def test_playing_is_committed_before_the_output_starts(ctx, batched):
    """A crash at any instant after the output started finds the airing 'playing' in the
    database, so the restart logs it interrupted; the old code started the output first
    and committed the mark afterwards (in batches), leaving starts with no trace."""
    files = FileOutput("files", {"dir": "out"}, ctx.root, ctx.clock)
    watched = WatchedOutput(files, ctx.root)
    engine = engine_of(ctx, {"files": watched})
    if batched:
        engine.journal = StartJournal(ctx.db)
        engine.journal.start()
    ids = [book(ctx, "nq57-mot", zone) for zone in ctx.station.zone_ids]
    threads = [threading.Thread(target=engine.begin, args=(i, SLOT)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if engine.journal is not None:
        engine.journal.close()
    assert watched.seen == {i: "playing" for i in ids}
    assert {r["airing"] for r in played(ctx.root)} == set(ids)


def test_marks_of_a_shared_slot_are_committed_together(ctx):
    """Fan-out stays one transaction: lanes starting at once share the journal's commit."""
    journal = StartJournal(ctx.db, linger=0.05)
    journal.start()
    ids = [book(ctx, "nq57-hai", zone) for zone in ctx.station.zone_ids]
    commits = []
    original = journal._commit
    journal._commit = lambda batch: (commits.append(len(batch)), original(batch))  # type: ignore[method-assign]
    results = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(journal.mark(i, SLOT))) for i in ids
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal.close()
    assert results == [True] * len(ids)
    assert commits == [len(ids)]
    assert {r["status"] for r in rows(ctx.root, "select status from airing")} == {"playing"}


# -- item 9: cancel and start are one decision -----------------------------------------------
def test_a_cancel_that_wins_leaves_nothing_to_play(ctx):
    engine = engine_of(ctx)
    airing = book(ctx, "nq57-mot", "xa")
    schedule.cancel(ctx, airing, LAN)
    assert engine.begin(airing, SLOT) is None
    assert played(ctx.root) == []
    assert [r["outcome"] for r in rows(ctx.root, "select outcome from as_run_log")] == ["cancelled"]


def test_a_start_that_won_makes_cancel_say_on_air(ctx):
    engine = engine_of(ctx)
    airing = book(ctx, "nq57-mot", "xa")
    started = engine.begin(airing, SLOT)
    assert started is not None
    with pytest.raises(schedule.OnAir, match=r"is on air since .* --stop"):
        schedule.cancel(ctx, airing, LAN)
    assert rows(ctx.root, "select * from as_run_log") == []  # nothing pretends it was cancelled
    schedule.stop_on_air(ctx, airing, LAN)
    assert engine.stop_requests() == {airing: "Lan"}


def test_cancel_racing_the_start_never_lets_a_cancelled_airing_play(ctx):
    """Thirty airings, each cancelled by one thread while another starts it: every airing
    ends either cancelled (and nothing reached the output) or on air (and cancel said
    so), never both."""
    engine = engine_of(ctx)
    engine.journal = StartJournal(ctx.db)
    engine.journal.start()
    zones = ctx.station.zone_ids
    ids = [
        book(ctx, "nq57-ba", zones[n % len(zones)], SLOT + timedelta(seconds=n)) for n in range(30)
    ]
    cancelled: set[int] = set()
    on_air: set[int] = set()

    def cancel(i: int) -> None:
        try:
            schedule.cancel(ctx, i, LAN)
            cancelled.add(i)
        except schedule.OnAir:
            on_air.add(i)

    for i in ids:
        a = threading.Thread(target=engine.begin, args=(i, SLOT + timedelta(minutes=1)))
        b = threading.Thread(target=cancel, args=(i,))
        a.start()
        b.start()
        a.join()
        b.join()
    engine.journal.close()
    reached = {r["airing"] for r in played(ctx.root)}
    assert cancelled | on_air == set(ids) and not cancelled & on_air
    assert reached == on_air
    logged = {r["airing_id"] for r in rows(ctx.root, "select airing_id from as_run_log")}
    assert logged == cancelled


def test_cancel_refuses_ids_that_cannot_exist(ctx):
    for bad in (0, -1, 99999999999999999999):
        with pytest.raises(BroadcasterError, match="no airing"):
            schedule.cancel(ctx, bad, LAN)


# -- item 7: output names never collide; a reason is never empty -------------------------------
def test_two_starts_of_one_airing_in_the_same_instant_get_two_files(ctx):
    """A restart in the same second as the killed start: the old names (one-second
    resolution, hard links) collided, shutil raised SameFileError and the airing ended
    failed with the reason 'None'."""
    engine = engine_of(ctx)
    cleared = engine.clear_many({"nq57-mot"})["nq57-mot"]
    files = FileOutput("files", {"dir": "out"}, ctx.root, ctx.clock)
    item = PlayItem(
        7, "xa", "nq57-mot", cleared.audio_path, cleared.audio_sha256, 3.0, SLOT, "normal"
    )
    files.start(item)
    files.start(item)
    written = sorted((ctx.root / "out" / "xa").glob("*-a7-*"))
    assert len(written) == 2
    assert all(sha(p) == cleared.audio_sha256 for p in written)


def test_a_failed_airing_always_has_a_reason(ctx):
    engine = engine_of(ctx)
    airing = book(ctx, "nq57-mot", "xa")
    with ctx.db.read() as s:
        row = s.get(AiringRow, airing)
    engine.close(row, AiringStatus.FAILED, "None", SLOT, recover=False)
    [entry] = rows(ctx.root, "select * from as_run_log")
    assert entry["outcome"] == "failed"
    assert entry["reason"] and entry["reason"] != "None"


# -- issue 12: play exactly the bytes that were hashed -----------------------------------------
def overwrite_in_place(path: Path) -> None:
    """Same size, different bytes, mtime put back: what the old identity cache missed."""
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.seek(st.st_size // 2)
        fh.write(b"\x55" * 64)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_audio_overwritten_in_place_after_an_airing_is_refused(ctx):
    engine = engine_of(ctx)
    audio, approved = rendition_of(ctx.root, "nq57-mot")
    first = book(ctx, "nq57-mot", "xa")
    assert engine.begin(first, SLOT) is not None
    overwrite_in_place(audio)
    second = book(ctx, "nq57-mot", "thon-a", SLOT + timedelta(minutes=1))
    assert engine.begin(second, SLOT + timedelta(minutes=1)) is None
    [entry] = rows(ctx.root, "select * from as_run_log where airing_id=?", second)
    assert entry["outcome"] == "failed" and "hash mismatch" in entry["reason"]
    # What the first airing played is still the approved audio: no shared inode.
    [first_file] = (ctx.root / "out" / "xa").glob(f"*-a{first}-*")
    assert sha(first_file) == approved
    assert first_file.stat().st_ino != audio.stat().st_ino


def test_audio_swapped_between_the_gate_and_the_start_does_not_air(ctx):
    """The verdict is taken for the slot, then the rendition is overwritten before the
    lanes start: the outputs play the private copy made while hashing."""
    engine = engine_of(ctx)
    audio, approved = rendition_of(ctx.root, "nq57-hai")
    ids = [book(ctx, "nq57-hai", zone) for zone in ctx.station.zone_ids]
    verdicts = engine.clear_many({"nq57-hai"})
    overwrite_in_place(audio)
    with ctx.db.read() as s:
        booked = {i: s.get(AiringRow, i) for i in ids}
    for i in ids:
        assert engine.begin(i, SLOT, row=booked[i], verdict=verdicts["nq57-hai"]) is not None
    for record in played(ctx.root):
        out = ctx.root / "out" / record["zone"] / record["file"]
        assert sha(out) == approved == record["sha256"]
    copy = verdicts["nq57-hai"].audio_path
    assert copy.stat().st_mode & 0o777 == 0o400
    assert (ctx.root / ".broadcaster").stat().st_mode & 0o077 == 0


# -- issue 12: links planted in out/ are never written through -------------------------------
def test_a_zone_folder_planted_as_a_link_is_refused(ctx, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (ctx.root / "out").mkdir()
    (ctx.root / "out" / "xa").symlink_to(outside)
    engine = engine_of(ctx)
    airing = book(ctx, "nq57-mot", "xa")
    assert engine.begin(airing, SLOT) is None
    [entry] = rows(ctx.root, "select * from as_run_log")
    assert entry["outcome"] == "failed" and "is a link" in entry["reason"]
    assert list(outside.iterdir()) == []


def test_a_manifest_planted_as_a_link_is_refused(ctx, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n", encoding="utf-8")
    (ctx.root / "out" / "thon-a").mkdir(parents=True)
    (ctx.root / "out" / "thon-a" / "manifest.jsonl").symlink_to(victim)
    hard = tmp_path / "hard.txt"
    hard.write_text("untouched\n", encoding="utf-8")
    (ctx.root / "out" / "thon-b").mkdir(parents=True)
    os.link(hard, ctx.root / "out" / "thon-b" / "manifest.jsonl")
    engine = engine_of(ctx)
    for zone in ("thon-a", "thon-b"):
        assert engine.begin(book(ctx, "nq57-mot", zone), SLOT) is None
    reasons = [r["reason"] for r in rows(ctx.root, "select * from as_run_log order by seq")]
    assert len(reasons) == 2
    assert "manifest.jsonl is a link" in reasons[0]
    assert "not a plain file" in reasons[1]
    assert victim.read_text(encoding="utf-8") == "untouched\n"
    assert hard.read_text(encoding="utf-8") == "untouched\n"


def test_the_output_folder_itself_planted_as_a_link_is_refused(ctx, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (ctx.root / "out").symlink_to(outside)
    engine = engine_of(ctx)
    assert engine.begin(book(ctx, "nq57-mot", "xa"), SLOT) is None
    assert list(outside.iterdir()) == []
