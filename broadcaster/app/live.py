"""Going live (issue 16): a speaker's microphone to the chosen zones, recorded and logged.

Every face opens :func:`go_live`. It books the broadcast in the database; the running
daemon takes it on air within a second (it holds the outputs), or, when no daemon runs,
this process does with its own desk (``engine/live.LiveDesk``), as an emergency is aired
by its own command then. Either way the call returns when the broadcast is over and every
zone's entry is in the as-run log: at the time-out, when ``stop`` is set (the speaker
pressed stop), when a file input ends, or when the input never gave audio.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from broadcaster.app.actors import Actor
from broadcaster.app.audit import audited
from broadcaster.app.context import StationContext
from broadcaster.app.permissions import Action
from broadcaster.app.schedule import engine_for
from broadcaster.core.errors import BroadcasterError, FieldProblem
from broadcaster.core.timeutil import as_utc
from broadcaster.engine.clock import clock_kind
from broadcaster.engine.live import LiveDesk
from broadcaster.engine.lock import StationLock
from broadcaster.i18n import _
from broadcaster.playout.base import close_outputs
from broadcaster.store import live

#: The longest live broadcast one may ask for: a flood warning, a meeting relayed.
MAX_MINUTES = 180.0
#: How long the running daemon has to take a booking on air before the speaker is told.
TAKE_SECONDS = 15.0
#: The file extensions read as a file standing in for the sound card.
FILE_SUFFIXES = {".wav", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".flac"}


@dataclass(frozen=True)
class LiveOnAir:
    """Told once the broadcast is on air: its number, zones and the time-out."""

    live_id: int
    zones: tuple[str, ...]
    ends_by: datetime
    holder: str  # "" when this process airs it, else the daemon's lock line


@dataclass(frozen=True)
class LiveZone:
    zone_id: str
    outcome: str
    seconds: float
    reason: str


@dataclass(frozen=True)
class LiveResult:
    live_id: int
    zones: tuple[LiveZone, ...]
    recording: str  # relative to the station folder, "" if none was made
    sha256: str
    started_at: datetime | None
    ended_at: datetime | None

    @property
    def all_aired(self) -> bool:
        return bool(self.zones) and all(z.outcome == "aired" for z in self.zones)


def check_input(ctx: StationContext, source: str) -> str:
    """An ALSA device name (``default``, ``hw:1,0``, ``plughw:CARD=USB``), or an audio
    file standing in for one (a path, relative to the station or absolute)."""
    text = source.strip()
    if not text or any(ord(c) < 32 for c in text) or len(text) > 400:
        raise FieldProblem(
            _("give a sound-card input (e.g. default, hw:1) or an audio file"), field="input"
        )
    looks_like_file = "/" in text or Path(text).suffix.lower() in FILE_SUFFIXES
    if not looks_like_file:
        return text
    path = Path(text) if Path(text).is_absolute() else ctx.root / text
    if path.is_fifo():  # a named pipe: the web page's microphone, another program's feed
        return str(path.resolve())
    if not path.is_file():
        raise FieldProblem(_("no audio file '{file}'").format(file=text), field="input")
    try:
        with path.open("rb") as f:
            f.read(1)
    except OSError as exc:
        raise FieldProblem(
            _("cannot read '{file}': {err}").format(file=text, err=exc.strerror or exc),
            field="input",
        ) from exc
    return str(path.resolve())


def check_minutes(minutes: float) -> float:
    if not (minutes > 0) or minutes > MAX_MINUTES:
        raise FieldProblem(
            _("the time-out must be more than 0 and at most {most:g} minutes").format(
                most=MAX_MINUTES
            ),
            field="max_minutes",
        )
    return float(minutes)


def go_live(
    ctx: StationContext,
    actor: Actor,
    zones: list[str],
    source: str,
    max_minutes: float,
    *,
    stop: threading.Event | None = None,
    on_air: Callable[[LiveOnAir], None] | None = None,
) -> LiveResult:
    """Book, air and log a live broadcast (see the module). Only an operator of every
    zone named may; the attempt is in the audit trail either way."""
    source = check_input(ctx, source)
    seconds = check_minutes(max_minutes) * 60
    stop = stop or threading.Event()
    with audited(ctx, actor, Action.LIVE_AIR, "live", zone=zones) as note:
        result = _go_live(ctx, actor.name, zones, source, seconds, stop, on_air)
        aired = sum(1 for z in result.zones if z.outcome == "aired")
        note.detail = f"live {result.live_id}: aired on {aired} of {len(zones)} zone(s)"
        return result


def _go_live(
    ctx: StationContext,
    speaker: str,
    zones: list[str],
    source: str,
    seconds: float,
    stop: threading.Event,
    on_air: Callable[[LiveOnAir], None] | None,
) -> LiveResult:
    lock = StationLock(ctx.root, ctx.db_url)
    daemon_running = not lock.acquire_unless_daemon("live")
    try:
        with ctx.db.write() as s:
            live_id = live.book(
                s,
                zones=zones,
                input=source,
                speaker=speaker,
                max_seconds=seconds,
                at=ctx.clock.now(),
                clock=clock_kind(ctx.clock),
            ).id
        assert live_id is not None
        if daemon_running:
            _through_daemon(ctx, live_id, speaker, stop, on_air, lock.holder())
        else:
            _here(ctx, live_id, speaker, stop, on_air)
    finally:
        if not daemon_running:
            lock.release()
    return result_of(ctx, live_id)


def _told(ctx: StationContext, live_id: int, holder: str, on_air) -> None:
    if on_air is None:
        return
    with ctx.db.read() as s:
        row = live.get(s, live_id)
        if row is None or row.ends_by is None:
            return
        told = LiveOnAir(live_id, tuple(row.zones.split(",")), as_utc(row.ends_by), holder)
    on_air(told)


def _state(ctx: StationContext, live_id: int) -> str:
    with ctx.db.read() as s:
        row = live.get(s, live_id)
        return row.state if row is not None else live.DONE


#: How long after its time-out a broadcast the daemon has not closed means the daemon is gone.
OVERDUE_SECONDS = 30.0


def _overdue(ctx: StationContext, live_id: int) -> bool:
    with ctx.db.read() as s:
        row = live.get(s, live_id)
        if row is None or row.ends_by is None:
            return False
        return (ctx.clock.now() - as_utc(row.ends_by)).total_seconds() > OVERDUE_SECONDS


def _ask_stop(ctx: StationContext, live_id: int, speaker: str) -> None:
    with ctx.db.write() as s:
        live.ask_stop(s, live_id, speaker)


def _through_daemon(ctx, live_id, speaker, stop, on_air, holder) -> None:
    deadline = time.monotonic() + TAKE_SECONDS
    while _state(ctx, live_id) == live.BOOKED:
        late = time.monotonic() > deadline
        if stop.is_set() or late:
            with ctx.db.write() as s:
                withdrawn = live.withdraw(s, live_id, speaker)
            if withdrawn and not stop.is_set():
                raise BroadcasterError(
                    _("the running daemon ({holder}) did not take the live broadcast").format(
                        holder=holder
                    )
                )
        time.sleep(0.1)
    _told(ctx, live_id, holder, on_air)
    asked = False
    while _state(ctx, live_id) != live.DONE:
        if stop.is_set() and not asked:
            _ask_stop(ctx, live_id, speaker)
            asked = True
        if _overdue(ctx, live_id):
            raise BroadcasterError(
                _(
                    "the daemon ({holder}) did not end live broadcast {id} at its time-out: "
                    "it has stopped; the broadcast is logged when the station restarts"
                ).format(holder=holder, id=live_id)
            )
        time.sleep(0.2)


def _here(ctx, live_id, speaker, stop, on_air) -> None:
    outputs = ctx.outputs(ctx.clock)
    try:
        desk = LiveDesk(engine_for(ctx, outputs), ctx.clock)
        desk.sweep(ctx.clock.now())
        _told(ctx, live_id, "", on_air)
        asked = False
        while not desk.wait(live_id, timeout=0.25):
            if stop.is_set() and not asked:
                _ask_stop(ctx, live_id, speaker)
                asked = True
            desk.sweep(ctx.clock.now())  # passes the stop on; gives up on a dead input
        desk.close()
    finally:
        close_outputs(outputs)


def result_of(ctx: StationContext, live_id: int) -> LiveResult:
    """The broadcast as logged: each zone's outcome, seconds and reason."""
    with ctx.db.read() as s:
        row = live.get(s, live_id)
        entries = live.entries(s, live_id)
        zones = tuple(
            LiveZone(e.zone_id, e.outcome, e.relayed_seconds or 0.0, e.reason) for e in entries
        )
        if row is None:
            return LiveResult(live_id, zones, "", "", None, None)
        return LiveResult(
            live_id,
            zones,
            row.recording,
            row.sha256,
            as_utc(row.started_at) if row.started_at else None,
            as_utc(row.ended_at) if row.ended_at else None,
        )
