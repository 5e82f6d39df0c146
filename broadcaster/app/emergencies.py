"""Emergencies: typed alerts, the zones they go to, and the airings that interrupt what plays."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from broadcaster.app.actors import Actor
from broadcaster.app.approvals import approve_as, require_approved
from broadcaster.app.audit import audited
from broadcaster.app.bulletins import render
from broadcaster.app.context import StationContext
from broadcaster.app.permissions import Action
from broadcaster.app.schedule import all_final, engine_for, outcomes_of
from broadcaster.core.errors import BroadcasterError, FieldProblem, UsageProblem
from broadcaster.core.model import (
    Airing,
    AiringRecord,
    Bulletin,
    Origin,
    Priority,
)
from broadcaster.core.timeutil import (
    to_local,
)
from broadcaster.engine.lanes import ThreadLane
from broadcaster.engine.lock import StationLock
from broadcaster.engine.planning import (
    new_row,
)
from broadcaster.i18n import N_, _
from broadcaster.playout.base import close_outputs
from broadcaster.store import airings

if TYPE_CHECKING:
    from broadcaster.store.tables import AiringRow


def emergency_airings(
    ctx: StationContext,
    bulletin: Bulletin,
    zones: list[str],
    by: str,
    at: datetime,
    *,
    force: bool = False,
) -> list[AiringRow]:
    """Book an emergency on ``zones`` at ``at`` (now, for a live one). Quiet hours do not apply.

    An emergency cuts whatever plays and ignores quiet hours, so only a bulletin written as
    an emergency may be aired as one; ``force`` overrides that, and the override is part of
    who started it (the log's hashed ``triggered_by``), so the evidence shows who forced it.
    """
    if bulletin.priority != Priority.EMERGENCY:
        if not force:
            raise UsageProblem(
                _(
                    "'{id}' is a {priority} bulletin, not an emergency: it would cut what "
                    "plays and ignore quiet hours. Give --force to air it as an emergency "
                    "anyway (who forced it is logged)"
                ).format(id=bulletin.id, priority=bulletin.priority)
            )
        by = N_("{by} (forced: {priority} bulletin)").format(by=by, priority=bulletin.priority)
    with ctx.db.write() as s:
        found = require_approved(s, bulletin)
        rows: list[AiringRow] = []
        for zone_id in zones:
            airing = Airing(
                id=None,
                zone_id=zone_id,
                bulletin_id=bulletin.id,
                scheduled_at=at,
                window_end=at + timedelta(hours=1),
                session_id=None,
                priority=Priority.EMERGENCY,
                origin=Origin.EMERGENCY,
                duration_seconds=found[0].duration_seconds,
                created_by=by,
            )
            rows.append(new_row(airing, bulletin, ctx.station, ctx.clock.now()))
        return airings.book(s, rows)


def parse_zones(ctx: StationContext, text: str) -> list[str]:
    if text.strip() == "all":
        return list(ctx.station.zone_ids)
    zones = [z.strip() for z in text.split(",") if z.strip()]
    unknown = [z for z in zones if z not in ctx.station.zone_ids]
    if unknown or not zones:
        raise FieldProblem(
            _("unknown zone(s) {bad} (known: all, {known})").format(
                bad=", ".join(unknown) or "-", known=", ".join(ctx.station.zone_ids)
            ),
            field="zones",
        )
    return zones


EMERGENCY_TEMPLATE = """---
id: {id}
title: "{title}"
campaign: khan-cap
priority: emergency
zones: all
language: vi
---
{text}
"""


def write_emergency_script(ctx: StationContext, text: str, now: datetime) -> Path:
    """A typed-on-the-spot alert becomes a real script file, so the evidence can show it."""
    text = text.strip()
    if not text:
        raise FieldProblem(_("the alert is empty"), field="text")
    stamp = to_local(now, ctx.station.tz).strftime("%Y%m%d-%H%M%S")
    # The script's own title, in the language of the bulletins (not a message).
    title = "Thông báo khẩn cấp {time}".format(
        time=to_local(now, ctx.station.tz).strftime("%H:%M %d/%m/%Y")
    )
    folder = ctx.root / "scripts"
    for _attempt in range(16):
        # Two alerts typed in the same second must never share a file: the second would
        # replace the first one's text under the first one's airings.
        bulletin_id = f"khan-cap-{stamp}-{secrets.token_hex(3)}"
        path = folder / f"{bulletin_id}.md"
        content = EMERGENCY_TEMPLATE.format(id=bulletin_id, title=title, text=text)
        try:
            _create_exclusive(path, content.encode("utf-8"))
        except FileExistsError:
            continue
        return path
    raise BroadcasterError(_("could not find a free name for the alert"), path=str(folder))


def typed_alert(
    ctx: StationContext, text: str, approved_by: str, actor: Actor, zones: list[str]
) -> Bulletin:
    """An alert typed on the spot: written as its own script, rendered and approved now,
    in the name of ``approved_by`` (the leader who approved it by phone), by an operator
    who may air emergencies on ``zones``; anyone else is refused before anything is
    written.

    The bulletin returned is exactly the text this call wrote (its approval is bound to
    those bytes), or the call fails and leaves no script behind.
    """
    if not approved_by or not approved_by.strip():
        raise FieldProblem(_("give the name of who approved the typed alert"), field="approved_by")
    with audited(
        ctx,
        actor,
        Action.EMERGENCY_AIR,
        "typed-alert",
        zone=zones,
        detail=f"typed alert approved by {approved_by.strip()}",
    ) as note:
        bulletin = _typed_alert(ctx, text, approved_by)
        note.detail += f": {bulletin.id}"
        return bulletin


def _typed_alert(ctx: StationContext, text: str, approved_by: str) -> Bulletin:
    path = write_emergency_script(ctx, text, ctx.clock.now())
    written = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        results = render(ctx, [path.stem])
        if results[0].error:
            raise BroadcasterError(results[0].error, path=str(path.relative_to(ctx.root)))
        approve_as(ctx, path.stem, approved_by)
        bulletin = ctx.bulletin(path.stem)
        if bulletin.script_sha256 != written:
            raise BroadcasterError(
                _("the alert's script changed while it was being prepared: not aired"),
                path=str(path.relative_to(ctx.root)),
            )
        return bulletin
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _create_exclusive(path: Path, data: bytes) -> None:
    """Write a new file complete under a temporary name, then link it to ``path``, which
    must not exist yet: readers never see half a script, and no file is ever replaced."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    tmp.write_bytes(data)
    try:
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class EmergencyRun:
    """What became of an emergency: handed to the running daemon (``holder`` names it),
    or aired here, zone by zone, with each airing's outcome."""

    bulletin_id: str
    zones: int
    handed_to: str | None = None
    outcomes: tuple[AiringRecord, ...] = ()

    @property
    def all_aired(self) -> bool:
        return self.handed_to is not None or all(o.status == "aired" for o in self.outcomes)


def air_emergency(
    ctx: StationContext,
    bulletin: Bulletin,
    zones: list[str],
    actor: Actor,
    *,
    force: bool = False,
    on_wait: Callable[[str], None] | None = None,
    on_air: Callable[[int], None] | None = None,
) -> EmergencyRun:
    """Book the emergency now and see it aired: by the running daemon if there is one
    (it sweeps the booking up within a second), else by this process on every zone at
    once. ``on_wait`` hears which other emergency this one waits for; ``on_air`` how many
    zones it is airing on. Only an operator (of every zone named) may; the attempt is in
    the audit trail either way."""
    with audited(ctx, actor, Action.EMERGENCY_AIR, bulletin.id, zone=zones) as note:
        run = _air_emergency(ctx, bulletin, zones, actor.name, force, on_wait, on_air)
        if run.handed_to is not None:
            note.detail = f"{run.zones} zone(s), handed to {run.handed_to}"
        else:
            aired = sum(1 for o in run.outcomes if o.status == "aired")
            note.detail = f"aired on {aired} of {run.zones} zone(s)"
        if force:
            note.detail += f"; forced ({bulletin.priority} bulletin)"
        return run


def _air_emergency(
    ctx: StationContext,
    bulletin: Bulletin,
    zones: list[str],
    by: str,
    force: bool,
    on_wait: Callable[[str], None] | None,
    on_air: Callable[[int], None] | None,
) -> EmergencyRun:
    lock = StationLock(ctx.root, ctx.db_url)
    daemon_running = not lock.acquire_unless_daemon("emergency", on_wait=on_wait)
    try:
        rows = emergency_airings(ctx, bulletin, zones, by, ctx.clock.now(), force=force)
    except BaseException:
        if not daemon_running:
            lock.release()
        raise
    if daemon_running:
        return EmergencyRun(bulletin.id, len(rows), handed_to=lock.holder())
    try:
        outputs = ctx.outputs(ctx.clock)
        try:
            if on_air is not None:
                on_air(len(rows))
            outcomes = _air_on(ctx, rows, outputs)
        finally:
            close_outputs(outputs)
    finally:
        lock.release()
    return EmergencyRun(bulletin.id, len(rows), outcomes=tuple(outcomes))


def _air_on(ctx: StationContext, rows: list[AiringRow], outputs) -> list[AiringRecord]:
    """One lane per zone, as the daemon would; wait until every airing has its outcome."""
    engine = engine_for(ctx, outputs)
    lanes = {}
    for row in rows:
        lane = ThreadLane(row.zone_id, engine, ctx.clock)
        lanes[row.zone_id] = lane
        lane.start()
        lane.offer(row)
    ids = [r.id for r in rows]
    while not all_final(ctx, ids):
        time.sleep(0.2)
    for lane in lanes.values():
        lane.stop("done")
    for lane in lanes.values():
        lane.join(timeout=5)
    return outcomes_of(ctx, ids)
