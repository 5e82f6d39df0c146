"""Phát trực tiếp (issue 16): an operator speaks into the browser's microphone and the
chosen zones carry it live. The page sends what MediaRecorder gives every quarter second
(POSTs with the session's CSRF token, in order); ``app/live_feed`` turns them into the
broadcast's input. What it is, its priority, time-out, recording and entries are
``broadcaster live``'s."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from broadcaster.app import emergencies, live
from broadcaster.app.live_feed import MAX_CHUNK_BYTES, FeedEnded, LiveFeed, LiveFeeds
from broadcaster.app.permissions import PermissionDenied
from broadcaster.core.errors import BroadcasterError, FieldProblem
from broadcaster.core.timeutil import fmt_local
from broadcaster.i18n import _, status_word
from broadcaster.web.app import Visit, guard, render, station_of

DEFAULT_MINUTES = 15


def _feeds(request: Request) -> LiveFeeds:
    return station_of(request).live


def _state(request: Request, feed: LiveFeed) -> dict[str, object]:
    """What the page shows of a broadcast: on air (until when), or how it ended."""
    station = station_of(request).ctx.station
    tz = station.tz
    found: dict[str, object] = {"ended": feed.ended, "error": feed.error}
    if feed.on_air is not None:
        found["on_air"] = {
            "id": feed.on_air.live_id,
            "zones": list(feed.on_air.zones),
            "ends_by": fmt_local(feed.on_air.ends_by, tz, with_seconds=True),
        }
    if feed.result is not None:
        found["zones"] = [
            {
                "zone": z.zone_id,
                "name": station.zone(z.zone_id).name if z.zone_id in station.zone_ids else "",
                "outcome": z.outcome,
                "word": status_word(z.outcome),
                "seconds": round(z.seconds, 1),
            }
            for z in feed.result.zones
        ]
        found["recording"] = feed.result.recording
        found["sha256"] = feed.result.sha256
    return found


def add_routes(app: FastAPI) -> None:
    @app.get("/truc-tiep", name="live_form", response_class=HTMLResponse)
    def live_form(request: Request, visit: Visit = Depends(guard)) -> Response:
        ctx = station_of(request).ctx
        return render(
            request,
            visit,
            "live.html",
            zones=ctx.station.zones,
            minutes=DEFAULT_MINUTES,
            most=live.MAX_MINUTES,
            chunk_bytes=MAX_CHUNK_BYTES,
        )

    @app.post("/truc-tiep/bat-dau", name="live_start")
    async def live_start(request: Request, visit: Visit = Depends(guard)) -> Response:
        form = await request.form()
        ctx = station_of(request).ctx
        try:
            if form.get("all"):
                zones = list(ctx.station.zone_ids)
            else:
                chosen = [str(z) for z in form.getlist("zone")]
                zones = emergencies.parse_zones(ctx, ",".join(chosen)) if chosen else []
            if not zones:
                raise FieldProblem(_("Choose at least one zone, or all of them."), field="zones")
            text = str(form.get("minutes") or DEFAULT_MINUTES).strip().replace(",", ".")
            try:
                minutes = float(text)
            except ValueError as exc:
                raise FieldProblem(
                    _("give the time-out in minutes, e.g. 15"), field="max_minutes"
                ) from exc
            feed = await run_in_threadpool(_feeds(request).start, ctx, visit.actor, zones, minutes)
        except PermissionDenied:
            message = _("Your account may not go live on all of these zones.")
            return JSONResponse({"error": message}, status_code=403)
        except BroadcasterError as exc:
            return JSONResponse({"error": exc.problem.message}, status_code=400)
        return JSONResponse({"feed": feed.token})

    def _own(request: Request, visit: Visit, feed: str) -> LiveFeed:
        found = _feeds(request).of(feed, visit.actor)
        if found is None:
            raise FieldProblem(_("There is no such live broadcast."), field="feed")
        return found

    @app.post("/truc-tiep/{feed}/am-thanh", name="live_audio")
    async def live_audio(request: Request, feed: str, visit: Visit = Depends(guard)) -> Response:
        found = _own(request, visit, feed)
        chunk = await request.body()
        try:
            await run_in_threadpool(found.write, chunk)
        except FeedEnded:
            return JSONResponse(_state(request, found), status_code=410)
        except BroadcasterError as exc:
            return JSONResponse({"error": exc.problem.message}, status_code=413)
        return Response(status_code=204)

    @app.post("/truc-tiep/{feed}/dung", name="live_stop")
    async def live_stop(request: Request, feed: str, visit: Visit = Depends(guard)) -> Response:
        found = _own(request, visit, feed)
        await run_in_threadpool(found.finish)
        return JSONResponse(_state(request, found))

    @app.get("/truc-tiep/{feed}", name="live_state")
    def live_state(request: Request, feed: str, visit: Visit = Depends(guard)) -> Response:
        return JSONResponse(_state(request, _own(request, visit, feed)))
