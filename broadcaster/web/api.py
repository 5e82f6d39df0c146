"""The web station's JSON API, version 1 (``/api/v1/...``): what the pages read, for a
program (a provincial platform's collector, a wall display, a script of the commune's).

Read-only: the overview per zone, a week's calendar, the as-run log with the filters of
Nhật ký, the receivers and the log chain's verification. Each route calls the same
application-layer operation its page calls and answers a pydantic model, so the schema
at ``/api/v1/openapi.json`` (these routes only; no HTML page, no docs UI) says exactly
what comes back. The routes are in ``web/access.NEEDS`` like every page and pass the
same guard: the visitor is the session cookie's user (sign in at ``/dang-nhap``).

Errors are JSON here, never a page: ``{"error": ..., "field": ..., "problems": [...]}``
with 400 (a value the station refuses: an unknown zone, a week that does not exist),
401 (no session), 403 (the account may not), 404, 422 (a parameter of the wrong type or
out of its range) and 500 (the traceback goes to the server's log only).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from broadcaster.app import logbook, operator_desk, overview, receivers
from broadcaster.app.permissions import PermissionDenied
from broadcaster.core.errors import BroadcasterError, ConfigErrors
from broadcaster.core.model import AiringRecord, AiringStatus, Origin, Priority
from broadcaster.i18n import _
from broadcaster.web.app import SESSION_COOKIE, LoginRequired, Refused, Visit, guard, station_of

log = logging.getLogger("broadcaster.web.api")

PREFIX = "/api/v1"
VERSION = "1.0.0"
#: The most log entries one request reads (``limit``).
LOG_LIMIT = 200
#: The largest sequence number ``before`` takes (SQLite's integers are 64-bit).
MAX_SEQ = 2**62

# Documents the cookie in the schema; the guard (of every route) is what checks it.
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="The session cookie set by signing in at /dang-nhap.",
)


# -- the answers --------------------------------------------------------------------------


class FieldError(BaseModel):
    field: str | None = Field(description="The query parameter, when one is at fault.")
    message: str


class ApiError(BaseModel):
    """Every refusal and failure of the API."""

    error: str = Field(description="One line, in the request's language.")
    field: str | None = Field(None, description="The query parameter at fault, if one is.")
    problems: list[FieldError] = Field(default_factory=list)


class Airing(BaseModel):
    """One booked airing (times in UTC)."""

    id: int
    zone: str
    bulletin: str
    title: str = Field(description="The bulletin's title as its script has it now.")
    campaign: str
    priority: Priority
    origin: Origin
    status: AiringStatus
    scheduled_at: datetime
    window_end: datetime
    session: str | None
    week: str
    duration_seconds: float
    started_at: datetime | None
    ended_at: datetime | None
    reason: str
    parent_id: int | None = Field(description="The airing this one makes up for or retries.")


class ZoneNow(BaseModel):
    zone: str
    name: str
    on_air: Airing | None
    next_airing: Airing | None


class RequirementState(BaseModel):
    """A zone's week for one requirement, as ``status`` judges it from the log."""

    zone: str
    requirement: str
    title: str
    week: str
    state: Literal["met", "on-track", "at-risk", "failed"]
    required: int
    aired: int = Field(description="Aired, counted towards the minimum (at most required).")
    planned: int
    failed: int
    missed: int
    makeups_planned: int
    aired_total: int
    planned_total: int
    note: str


class LogHead(BaseModel):
    entries: int
    head_hash: str


class Overview(BaseModel):
    now: datetime
    week: str
    timezone: str
    zones: list[ZoneNow]
    upcoming: list[Airing] = Field(description="The next planned airings of every zone.")
    requirements: list[RequirementState]
    log: LogHead


class CalendarSession(BaseModel):
    session: str
    start: datetime
    end: datetime
    booked_seconds: float
    airings: list[Airing]


class CalendarRelay(BaseModel):
    relay: str
    source: str
    source_name: str
    start: datetime
    end: datetime


class CalendarDay(BaseModel):
    day: date
    sessions: list[CalendarSession]
    relays: list[CalendarRelay]
    outside_sessions: list[Airing] = Field(
        description="Airings booked outside any session (emergencies, free-time queues)."
    )


class CalendarZone(BaseModel):
    zone: str
    name: str
    days: list[CalendarDay]


class Calendar(BaseModel):
    week: str
    previous: str
    next: str
    first_day: date
    airings: int
    page: int = Field(description="This page of zones, from 1.")
    pages: int
    zones_in_all: int
    zones: list[CalendarZone]


class LogEntry(BaseModel):
    """One as-run log entry (times in the station's time zone, with their offset)."""

    seq: int
    airing_id: int | None
    zone: str
    bulletin_id: str
    audio_sha256: str
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    outcome: str
    reason: str
    approved_by: str
    triggered_by: str
    recorded_at: datetime | None
    receivers: str
    campaigns: str
    week: str
    priority: str
    origin: str
    duration_seconds: float
    clock: str = Field(description='"" for the real clock, else "simulated", "shifted:+Ns".')
    entry_hash: str


class LogPage(BaseModel):
    entries: list[LogEntry] = Field(description="Newest first.")
    limit: int
    next_before: int | None = Field(
        description="Pass as ``before`` for the next (older) page; null at the end."
    )


class LogVerification(BaseModel):
    ok: bool
    entries: int
    head_hash: str
    problems: list[str]
    signed_heads_checked: int
    unreal: dict[str, int] = Field(description="Entries made under a clock not the real one.")


class Receiver(BaseModel):
    receiver: str
    zone: str
    output: str
    state: str
    since: datetime | None
    last_heartbeat: datetime | None
    firmware: str
    version: str
    volume: int | None
    playing: int | None
    configured: bool


class Receivers(BaseModel):
    networked: bool = Field(description="Whether the station has networked receivers at all.")
    unreachable: str | None = Field(description="Why the broker could not be asked, if so.")
    receivers: list[Receiver]


# -- from the application layer's data ----------------------------------------------------


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _airing(r: AiringRecord, titles: dict[str, str]) -> Airing:
    return Airing(
        id=r.id,
        zone=r.zone_id,
        bulletin=r.bulletin_id,
        title=titles.get(r.bulletin_id, r.bulletin_id),
        campaign=r.campaign,
        priority=Priority(r.priority),
        origin=Origin(r.origin),
        status=AiringStatus(r.status),
        scheduled_at=_utc(r.scheduled_at),
        window_end=_utc(r.window_end),
        session=r.session_id,
        week=r.week,
        duration_seconds=r.duration_seconds,
        started_at=_utc(r.started_at),
        ended_at=_utc(r.ended_at),
        reason=r.reason,
        parent_id=r.parent_id,
    )


def _titles(request: Request) -> dict[str, str]:
    return {b.id: b.title for b in station_of(request).ctx.scripts()[0]}


# -- errors as JSON -----------------------------------------------------------------------


def is_api(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


#: The application layer's field names as this API's query parameters spell them.
_PARAMETERS = {"week": "tuan", "zone": "vung"}


def _field(name: str | None, request: Request) -> str | None:
    if name is None:
        return None
    calendar = request.url.path.startswith(PREFIX + "/calendar")
    return _PARAMETERS.get(name, name) if calendar else name


def error(status_code: int, message: str, field: str | None = None, problems=()) -> JSONResponse:
    body = ApiError(error=message, field=field, problems=list(problems))
    return JSONResponse(body.model_dump(), status_code=status_code)


def error_for(request: Request, exc: Exception) -> JSONResponse:
    """An exception as the API answers it (the pages' handlers answer it as a page)."""
    if isinstance(exc, LoginRequired):
        return error(401, _("Sign in first: the API uses the session of /dang-nhap."))
    if isinstance(exc, Refused):
        return error(403, exc.message)
    if isinstance(exc, PermissionDenied):
        return error(403, exc.problem.message)  # the layer audited it
    if isinstance(exc, BroadcasterError):
        found = exc.problems if isinstance(exc, ConfigErrors) else [exc.problem]
        problems = [FieldError(field=_field(p.field, request), message=p.message) for p in found]
        message = (exc.problem.message.strip().splitlines() or [""])[0][:300]
        return error(400, message, problems[0].field, problems)
    if isinstance(exc, RequestValidationError):
        problems = []
        for e in exc.errors():
            where = [str(part) for part in e.get("loc", ()) if part not in ("query", "path")]
            problems.append(FieldError(field=".".join(where) or None, message=str(e.get("msg"))))
        fields = ", ".join(p.field for p in problems if p.field) or "-"
        return error(
            422,
            _("A parameter of the request is missing or not valid: {fields}").format(fields=fields),
            problems[0].field if problems else None,
            problems,
        )
    if isinstance(exc, StarletteHTTPException):
        messages = {
            404: _("There is no such address in the API."),
            405: _("This address does not take that kind of request."),
        }
        return error(exc.status_code, messages.get(exc.status_code, _("The request failed.")))
    log.error("error on %s %s", request.method, request.url.path, exc_info=exc)
    return error(
        500, _("The station could not answer this request. It is written in the server's log.")
    )


def _json_errors(app: FastAPI) -> None:
    """The application's error handlers, answering JSON under /api/v1 (pages elsewhere)."""

    def wrap(handler: Callable) -> Callable:
        async def either(request: Request, exc: Exception) -> Response:
            if is_api(request):
                return error_for(request, exc)
            return await handler(request, exc)

        return either

    for key, handler in list(app.exception_handlers.items()):
        app.exception_handlers[key] = wrap(handler)


# -- the routes ---------------------------------------------------------------------------

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ApiError, "description": text}
    for code, text in (
        (400, "A value the station refuses (an unknown zone, a week that does not exist)."),
        (401, "No session: sign in at /dang-nhap."),
        (403, "The account may not read this."),
        (422, "A parameter of the wrong type or out of its range."),
    )
}


def add_routes(app: FastAPI) -> None:
    """The API's routes, its schema, and its errors as JSON."""
    _json_errors(app)
    seen = [Depends(_cookie)]

    @app.get(
        PREFIX + "/overview",
        name="api_overview",
        response_model=Overview,
        responses=_ERRORS,
        dependencies=seen,
        summary="What is on air now and next per zone, and this week per requirement",
    )
    def api_overview(request: Request, visit: Visit = Depends(guard)) -> Overview:
        ctx = station_of(request).ctx
        view = overview.overview(ctx)
        titles = _titles(request)

        def one(r: AiringRecord | None) -> Airing | None:
            return _airing(r, titles) if r is not None else None

        return Overview(
            now=_utc(view.now),
            week=view.week,
            timezone=ctx.station.timezone,
            zones=[
                ZoneNow(
                    zone=z.zone_id,
                    name=z.zone_name,
                    on_air=one(z.on_air),
                    next_airing=one(z.next_airing),
                )
                for z in view.zones
            ],
            upcoming=[_airing(r, titles) for r in view.upcoming],
            requirements=[
                RequirementState(
                    zone=r.zone,
                    requirement=r.requirement,
                    title=view.requirement_titles.get(r.requirement, r.requirement),
                    week=r.week,
                    state=r.state,  # type: ignore[arg-type]
                    required=r.required,
                    aired=r.aired,
                    planned=r.planned,
                    failed=r.failed,
                    missed=r.missed,
                    makeups_planned=r.makeups_planned,
                    aired_total=r.aired_total,
                    planned_total=r.planned_total,
                    note=r.note,
                )
                for r in view.status
            ],
            log=LogHead(entries=view.log_entries, head_hash=view.log_head),
        )

    @app.get(
        PREFIX + "/calendar",
        name="api_calendar",
        response_model=Calendar,
        responses=_ERRORS,
        dependencies=seen,
        summary="A week per zone and day: the sessions with their airings, the relays",
    )
    def api_calendar(
        request: Request,
        visit: Visit = Depends(guard),
        tuan: str | None = Query(
            None, max_length=16, description="The ISO week, e.g. 2026-W49 (default: this one)."
        ),
        vung: str | None = Query(None, max_length=64, description="One zone (default: all)."),
        trang: int = Query(
            1, ge=1, le=1_000_000, description="The page of zones when all are asked for."
        ),
    ) -> Calendar:
        ctx = station_of(request).ctx
        cal = operator_desk.week_calendar(ctx, tuan, vung or None, trang - 1)
        titles = _titles(request)
        return Calendar(
            week=cal.week,
            previous=cal.previous,
            next=cal.next,
            first_day=cal.first_day,
            airings=cal.airings,
            page=cal.zone_page + 1,
            pages=cal.zone_pages,
            zones_in_all=cal.zones_in_all,
            zones=[
                CalendarZone(
                    zone=z.zone_id,
                    name=z.zone_name,
                    days=[
                        CalendarDay(
                            day=d.day,
                            sessions=[
                                CalendarSession(
                                    session=s.session_id,
                                    start=_utc(s.start),
                                    end=_utc(s.end),
                                    booked_seconds=s.booked_seconds,
                                    airings=[_airing(a.record, titles) for a in s.airings],
                                )
                                for s in d.sessions
                            ],
                            relays=[
                                CalendarRelay(
                                    relay=r.relay_id,
                                    source=r.source_id,
                                    source_name=r.source_name,
                                    start=_utc(r.start),
                                    end=_utc(r.end),
                                )
                                for r in d.relays
                            ],
                            outside_sessions=[_airing(a.record, titles) for a in d.loose],
                        )
                        for d in z.days
                    ],
                )
                for z in cal.zones
            ],
        )

    @app.get(
        PREFIX + "/log",
        name="api_log",
        response_model=LogPage,
        responses=_ERRORS,
        dependencies=seen,
        summary="The as-run log, newest first, filtered as Nhật ký filters it, a page at a time",
    )
    def api_log(
        request: Request,
        visit: Visit = Depends(guard),
        date_from: date | None = Query(None, alias="from", description="First local day."),
        date_to: date | None = Query(None, alias="to", description="Last local day."),
        zone: str | None = Query(None, max_length=64),
        bulletin: str | None = Query(None, max_length=64),
        outcome: Literal[logbook.OUTCOMES] | None = Query(None),  # type: ignore[valid-type]
        before: int | None = Query(
            None, ge=1, le=MAX_SEQ, description="Only entries before this sequence number."
        ),
        limit: int = Query(logbook.PAGE_SIZE, ge=1, le=LOG_LIMIT),
    ) -> LogPage:
        ctx = station_of(request).ctx
        where = logbook.parse_filter(
            ctx,
            date_from.isoformat() if date_from else "",
            date_to.isoformat() if date_to else "",
            zone or "",
            bulletin or "",
            outcome or "",
        )
        found = logbook.log_page(ctx, where, before, limit)
        return LogPage(
            entries=[LogEntry(**row) for row in found.rows],
            limit=limit,
            next_before=found.next_before,
        )

    @app.get(
        PREFIX + "/log/verification",
        name="api_log_verify",
        response_model=LogVerification,
        responses=_ERRORS,
        dependencies=seen,
        summary="The as-run log's hash chain and its signed heads, verified now",
    )
    async def api_log_verify(request: Request, visit: Visit = Depends(guard)) -> LogVerification:
        ctx = station_of(request).ctx
        check = await run_in_threadpool(logbook.verify_signed, ctx)
        chain = [logbook.problem_in(visit.language, p) for p in check.chain.problems]
        return LogVerification(
            ok=check.ok,
            entries=check.chain.count,
            head_hash=check.chain.head_hash,
            problems=chain + check.problems,
            signed_heads_checked=check.heads_checked,
            unreal=dict(check.chain.unreal),
        )

    @app.get(
        PREFIX + "/receivers",
        name="api_receivers",
        response_model=Receivers,
        responses=_ERRORS,
        dependencies=seen,
        summary="The networked receivers: online or offline since, heartbeat, firmware, volume",
    )
    async def api_receivers(request: Request, visit: Visit = Depends(guard)) -> Receivers:
        ctx = station_of(request).ctx
        if not operator_desk.has_receivers(ctx):
            return Receivers(networked=False, unreachable=None, receivers=[])
        try:
            lines = await run_in_threadpool(receivers.receivers, ctx)
        except BroadcasterError as exc:
            return Receivers(networked=True, unreachable=exc.problem.message, receivers=[])
        return Receivers(
            networked=True,
            unreachable=None,
            receivers=[
                Receiver(
                    receiver=ln.receiver,
                    zone=ln.zone,
                    output=ln.output,
                    state=ln.state,
                    since=_utc(ln.since),
                    last_heartbeat=_utc(ln.last_heartbeat),
                    firmware=ln.firmware,
                    version=ln.version,
                    volume=ln.volume,
                    playing=ln.playing,
                    configured=ln.configured,
                )
                for ln in lines
            ],
        )

    schema: dict[str, Any] = {}

    @app.get(PREFIX + "/openapi.json", name="api_schema", include_in_schema=False)
    def api_schema(request: Request, visit: Visit = Depends(guard)) -> JSONResponse:
        if not schema:
            routes = [
                r
                for r in request.app.routes
                if isinstance(r, APIRoute) and r.path.startswith(PREFIX + "/")
            ]
            schema.update(
                get_openapi(
                    title="broadcaster",
                    version=VERSION,
                    summary="The web station's read-only JSON API",
                    description=(__doc__ or "").split("\n\n", 1)[1],
                    routes=routes,
                )
            )
        return JSONResponse(schema)
