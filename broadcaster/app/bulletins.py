"""The bulletins: rendering scripts to audio, what the audio notes say, what the scripts warn
of, the spoken text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from broadcaster.app.actors import Actor
from broadcaster.app.audit import audited
from broadcaster.app.context import StationContext
from broadcaster.app.permissions import Action
from broadcaster.config.scripts_loader import key_line
from broadcaster.core.errors import BroadcasterError, Problem
from broadcaster.core.model import (
    Bulletin,
)
from broadcaster.core.timeutil import (
    to_local,
)
from broadcaster.engine.planning import (
    Unairable,
    sort_airable,
)
from broadcaster.i18n import _
from broadcaster.speech.engines import engine_class
from broadcaster.speech.production import Produced
from broadcaster.speech.render import (
    Pending,
    Renderer,
    RenderOutcome,
    produce_all,
)
from broadcaster.speech.spoken import spoken_text, station_lexicon
from broadcaster.store.approvals import approved_rendition, latest_rendition
from broadcaster.text import Lexicon, normalize, unknown_tokens


def render(
    ctx: StationContext,
    ids: list[str] | None = None,
    *,
    force: bool = False,
    engines: tuple[str, ...] | None = None,
    workers: int = 1,
    on_done: Callable[[RenderOutcome], None] | None = None,
    only_fallbacks: bool = False,
) -> list[RenderOutcome]:
    """Render every valid script (or ``ids``): cache hits here, the rest in ``workers``
    processes. One failure does not stop the others; each outcome says what happened."""
    bulletins, problems = ctx.scripts()
    if ids:
        bulletins, problems = [ctx.bulletin(i) for i in ids], []
    renderer = Renderer(ctx.root, ctx.station, engines)
    renderer.out_dir.mkdir(parents=True, exist_ok=True)
    outcomes: dict[str, RenderOutcome] = {}
    pending: dict[str, Pending] = {}

    def done(outcome: RenderOutcome) -> None:
        outcomes[outcome.bulletin_id] = outcome
        if on_done:
            on_done(outcome)

    for b in bulletins:
        try:
            with ctx.db.write() as s:
                # the daemon's periodic retry (only_fallbacks) is what the memory waits for
                found = renderer.lookup(s, b, ctx.clock.now(), force=force, retry=only_fallbacks)
        except BroadcasterError as exc:
            done(RenderOutcome(b.id, error=str(exc)))
            continue
        if isinstance(found, Pending):
            if only_fallbacks and found.keep is None:
                continue
            pending[b.id] = found
        elif not only_fallbacks:
            done(found)

    def produced(result: Produced) -> None:
        renderer.memory.note(result, ctx.clock.now())
        item = pending[result.bulletin_id]
        if result.error:
            if item.keep is not None:  # the better engines still fail: keep what airs now
                done(replace(item.keep, skipped=result.skipped))
            else:
                done(RenderOutcome(result.bulletin_id, error=result.error, skipped=result.skipped))
            return
        with ctx.db.write() as s:
            row = renderer.record(s, item.bulletin, result, ctx.clock.now())
        outcome = renderer.outcome(row, cached=False, fallback=result.fallback)
        outcome.skipped = result.skipped
        done(outcome)

    try:
        produce_all([p.job for p in pending.values()], workers, produced)
    finally:
        renderer.memory.save()
    invalid = (
        [] if only_fallbacks else [_invalid_script(p) for p in problems if p.severity == "error"]
    )
    return [outcomes[b.id] for b in bulletins if b.id in outcomes] + invalid


def render_one(ctx: StationContext, actor: Actor, bulletin_id: str) -> RenderOutcome:
    """Render one bulletin for the officer who writes it (a face's "render and listen"):
    the officer's right, recorded in the audit trail; an engine's failure is the
    outcome's ``error``."""
    bulletin = ctx.bulletin(bulletin_id)
    with audited(ctx, actor, Action.BULLETIN_WRITE, bulletin.id, detail="rendered") as note:
        (outcome,) = render(ctx, [bulletin.id])
        note.detail = f"rendered {outcome.engine or '-'}" + (" (error)" if outcome.error else "")
        return outcome


def current_audio(ctx: StationContext, bulletin_id: str) -> Path | None:
    """The audio file made for the bulletin's current content (the one an approval would
    vouch for), or None when it is not rendered or its file is gone. Always a file of
    the station's audio folder, never a name the script gives."""
    bulletin = ctx.bulletin(bulletin_id)
    with ctx.db.read() as s:
        rendition = latest_rendition(s, bulletin)
        relative = rendition.audio_path if rendition is not None else None
    if relative is None:
        return None
    audio_root = (ctx.root / "audio").resolve()
    path = (ctx.root / relative).resolve()
    if not path.is_relative_to(audio_root) or not path.is_file():
        return None
    return path


def _invalid_script(problem: Problem) -> RenderOutcome:
    """A script that did not load, as a failed render: the summary must not hide it."""
    return RenderOutcome(Path(problem.path or "?").stem, error=str(problem))


def rerender_fallbacks(ctx: StationContext) -> list[RenderOutcome]:
    """Try the preferred engines again for audio a fallback engine made (the daemon's
    periodic job). A new rendition waits for approval; the approved one keeps airing."""
    return render(ctx, only_fallbacks=True)


@dataclass(frozen=True)
class AudioNote:
    bulletin_id: str
    engine: str
    preferred: str
    note: str


def audio_notes(ctx: StationContext) -> list[AudioNote]:
    """Bulletins whose audio came from a fallback engine, for ``status``."""
    bulletins, _problems = ctx.scripts()
    notes = []
    with ctx.db.read() as s:
        for b in bulletins:
            latest = latest_rendition(s, b)
            approved = approved_rendition(s, b)
            airs = approved[0] if approved else None
            if airs is not None and airs.fallback:
                text = _("airs {engine} audio: the preferred {preferred} failed").format(
                    engine=airs.engine, preferred=airs.preferred_engine
                )
                if latest is not None and latest.id != airs.id and not latest.fallback:
                    text += "; " + _(
                        "new {engine} audio awaits approval (broadcaster approve {id})"
                    ).format(engine=latest.engine, id=b.id)
                notes.append(AudioNote(b.id, airs.engine, airs.preferred_engine, text))
            elif airs is None and latest is not None and latest.fallback:
                text = _("rendered by fallback {engine} ({preferred} failed), not approved").format(
                    engine=latest.engine, preferred=latest.preferred_engine
                )
                notes.append(AudioNote(b.id, latest.engine, latest.preferred_engine, text))
    return notes


def script_warnings(ctx: StationContext, bulletins: list[Bulletin]) -> list[Problem]:
    """Things worth fixing that do not stop the station: capitals the lexicon cannot
    say (a TTS engine would spell them letter by letter) and expired scripts. A broken
    station lexicon is an error."""
    today = to_local(ctx.clock.now(), ctx.station.tz).date()
    found = []
    try:
        lexicon = station_lexicon(ctx.root)
    except BroadcasterError as exc:
        return [exc.problem]
    for b in bulletins:
        if b.is_recorded:
            continue
        script = ctx.root / b.source_path
        located = [(key_line(script, "title"), t) for _l, t in unknown_tokens(b.title, lexicon)]
        located += [(b.body_line + n - 1, t) for n, t in unknown_tokens(b.body, lexicon)]
        for line, token in located:
            found.append(
                Problem(
                    _(
                        '"{token}" will be spelled letter by letter: add it to '
                        "schedules/lexicon.yaml"
                    ).format(token=token),
                    path=b.source_path,
                    line=line,
                    severity="warning",
                )
            )
    for b in bulletins:
        if b.valid_until and b.valid_until < today:
            found.append(
                Problem(
                    _("expired on {day}: it will not be planned").format(
                        day=b.valid_until.isoformat()
                    ),
                    path=b.source_path,
                    field="valid_until",
                    severity="warning",
                )
            )
    return found


def audio_note_of(ctx: StationContext, bulletin_id: str) -> str:
    """What ``status`` says of one bulletin's fallback audio, or ''."""
    return next((n.note for n in audio_notes(ctx) if n.bulletin_id == bulletin_id), "")


def body_warnings(ctx: StationContext, body: str) -> list[Problem]:
    """The lexicon's warnings for a body being typed, at their line of the body (a
    form's preview: the same words ``check`` warns of once the script is saved)."""
    try:
        lexicon = station_lexicon(ctx.root)
    except BroadcasterError as exc:
        return [exc.problem]
    return [
        Problem(
            _(
                '"{token}" will be spelled letter by letter: add it to schedules/lexicon.yaml'
            ).format(token=token),
            line=line,
            field="body",
            severity="warning",
        )
        for line, token in unknown_tokens(body, lexicon)
    ]


def unairable(ctx: StationContext) -> list[Unairable]:
    """Approved bulletins the planner leaves out (audio deleted, script changed since)."""
    bulletins, _problems = ctx.scripts()
    with ctx.db.read() as s:
        return sort_airable(s, bulletins, ctx.root)[1]


def preview(ctx: StationContext, bulletin_id: str) -> str:
    """The exact text the TTS engine will be given for a script."""
    bulletin = ctx.bulletin(bulletin_id)
    if bulletin.is_recorded:
        raise BroadcasterError(
            _("'{id}' is a recorded bulletin ({file}): there is no text to speak").format(
                id=bulletin_id, file=bulletin.audio_file
            ),
            path=bulletin.source_path,
        )
    return spoken_text(bulletin, ctx.root, ctx.station.dialect)


def offline_engines(ctx: StationContext) -> tuple[str, ...]:
    """The station's TTS chain without the engines that need the network (``espeak`` when
    none is left): what ``render --offline`` uses."""
    chain = tuple(n for n in ctx.station.tts if not engine_class(n).needs_network)
    return chain or ("espeak",)


def spoken_form(text: str, root: Path | None, dialect: str | None = None) -> str:
    """Written Vietnamese as the announcer will say it: with the station's lexicon and
    dialect when ``root`` is a station, the built-in lexicon (northern) otherwise."""
    if root is None:
        lexicon, station_dialect = Lexicon.builtin(), "north"
    else:
        from broadcaster.app.context import load_config

        lexicon, station_dialect = station_lexicon(root), load_config(root).dialect
    return normalize(text, lexicon, dialect=dialect or station_dialect)
