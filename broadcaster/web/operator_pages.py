"""The operator's pages: Lịch phát (the week, queue, cancel, the .ics), Khẩn cấp (an
emergency: choose, confirm, follow) and Cụm loa (receivers, volume).

As in ``pages``: each route parses the request, calls the application layer (which
authorizes the actor and audits every change) and renders; a change answers with a
redirect (``?da=`` says what was done), a mistake renders the page again with the
message at its field.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import datetime

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response

from broadcaster.app import emergencies, operator_desk, receivers, schedule
from broadcaster.app.permissions import Action, PermissionDenied, permitted
from broadcaster.core.errors import BroadcasterError, FieldProblem
from broadcaster.core.timeutil import parse_local_datetime, to_local
from broadcaster.i18n import _, pgettext, receiver_state_word
from broadcaster.web.app import Visit, form_problems, guard, redirect, render, station_of


def NOTICES() -> dict[str, str]:
    """What a redirect after an operator's change says it did (``?da=`` names it)."""
    return {
        "queued": _("Queued: the airing is in the calendar."),
        "cancelled": _("The airing is cancelled (written in the as-run log)."),
        "volume": _("The volume command was sent."),
    }


def WEEKDAYS() -> tuple[str, ...]:
    return (
        _("Monday"),
        _("Tuesday"),
        _("Wednesday"),
        _("Thursday"),
        _("Friday"),
        _("Saturday"),
        _("Sunday"),
    )


def receiver_outcome_word(outcome: str) -> str:
    """What a receiver did with an airing (its report), for display."""
    words = {
        "waiting": pgettext("receiver outcome", "waiting"),
        "played": pgettext("receiver outcome", "played"),
        "incomplete": pgettext("receiver outcome", "incomplete"),
        "rejected": pgettext("receiver outcome", "rejected"),
        "interrupted": pgettext("receiver outcome", "interrupted"),
        "no-ack": pgettext("receiver outcome", "no-ack"),
        "no-done": pgettext("receiver outcome", "no-done"),
    }
    return words.get(outcome, outcome)


def _refusal(exc: PermissionDenied, visit: Visit, zones: list[str]) -> str:
    """A zone-limited operator's refusal in plain words (the layer audited it)."""
    mine = visit.actor.zones
    if exc.missing is None and mine is not None:
        return _(
            "Your account may act only in the zones {mine}; not in {zones}. The refusal is "
            "written in the audit trail."
        ).format(mine=", ".join(sorted(mine)) or "-", zones=", ".join(zones) or "-")
    return exc.problem.message


class _OnceTokens:
    """One-use tokens of the emergency's confirmation: a second tap on "air now" (or the
    same confirmation sent again) airs nothing twice. Kept in the process, for 10 min."""

    LIFETIME = 600.0

    def __init__(self) -> None:
        self._issued: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = secrets.token_urlsafe(16)
        now = time.monotonic()
        with self._lock:
            for old in [t for t, at in self._issued.items() if now - at > self.LIFETIME]:
                del self._issued[old]
            self._issued[token] = now
        return token

    def use(self, token: str) -> bool:
        with self._lock:
            at = self._issued.pop(token, None)
        return at is not None and time.monotonic() - at <= self.LIFETIME


_ONCE = _OnceTokens()


def _approved_ids(ctx) -> set[str]:
    return {b.id for b in operator_desk.approved_bulletins(ctx)}


def _ids(text: str) -> list[int]:
    found = []
    for part in text.split(","):
        part = part.strip()
        if part.isdigit() and len(part) < 19:
            found.append(int(part))
    return found


def add_routes(app: FastAPI) -> None:
    # -- Lịch phát ------------------------------------------------------------------------

    def _week_page(
        request: Request,
        visit: Visit,
        week: str | None,
        zone: str | None = None,
        status_code: int = 200,
        form: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        error: str = "",
        warnings: list[str] | None = None,
        notice: str = "",
        page: int = 0,
    ) -> Response:
        ctx = station_of(request).ctx
        try:
            cal = operator_desk.week_calendar(ctx, week, zone or None, page)
        except BroadcasterError as exc:
            cal = operator_desk.week_calendar(ctx, None)
            error = error or exc.problem.message
            status_code = 400
        may_queue = visit.may("schedule_queue")
        tz = ctx.station.tz
        return render(
            request,
            visit,
            "schedule_week.html",
            status_code,
            cal=cal,
            zone=zone or "",
            zones=ctx.station.zones,
            bulletins=operator_desk.approved_bulletins(ctx) if may_queue else [],
            may_queue=may_queue,
            may_cancel=visit.may("schedule_cancel"),
            cancel_zones=(
                {
                    z.id
                    for z in ctx.station.zones
                    if permitted(visit.actor, Action.SCHEDULE_CANCEL, zone=z.id)
                }
                if visit.may("schedule_cancel")
                else set()
            ),
            form=form or {},
            errors=errors or {},
            error=error,
            notice=notice or NOTICES().get(request.query_params.get("da", ""), ""),
            warnings=warnings or [],
            weekdays=WEEKDAYS(),
            hm=lambda instant: to_local(instant, tz).strftime("%H:%M") if instant else "",
            today=to_local(ctx.clock.now(), tz).date(),
        )

    @app.get("/lich-phat", name="schedule_week", response_class=HTMLResponse)
    def schedule_week(
        request: Request,
        visit: Visit = Depends(guard),
        tuan: str = "",
        cum: str = "",
        trang: str = "",
    ) -> Response:
        page = int(trang) - 1 if trang.isdigit() and 0 < int(trang) < 1_000_000 else 0
        return _week_page(request, visit, tuan or None, cum or None, page=page)

    @app.get("/lich-phat/lich.ics", name="schedule_ics")
    def schedule_ics(request: Request, visit: Visit = Depends(guard), tuan: str = "") -> Response:
        ctx = station_of(request).ctx
        cal = operator_desk.week_calendar(ctx, tuan or None, None)
        body = operator_desk.week_ics(ctx, cal.week)
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="lich-phat-{cal.week}.ics"'},
        )

    @app.post("/lich-phat/xep", name="schedule_queue")
    def schedule_queue(
        request: Request,
        visit: Visit = Depends(guard),
        bulletin: str = Form(""),
        zone: str = Form(""),
        at: str = Form(""),
        tuan: str = Form(""),
    ) -> Response:
        ctx = station_of(request).ctx
        form = {"bulletin": bulletin, "zone": zone, "at": at}
        errors: dict[str, str] = {}
        if not bulletin.strip():
            errors["bulletin"] = _("Choose an approved bulletin.")
        if not zone.strip():
            errors["zone"] = _("Choose a zone.")
        when: datetime | None = None
        if not at.strip():
            errors["at"] = _("Give the local day and time.")
        else:
            try:
                when = parse_local_datetime(at, ctx.station.tz, "at")
            except FieldProblem as exc:
                errors["at"] = exc.message
        if errors or when is None:
            return _week_page(request, visit, tuan or None, None, 400, form, errors)
        try:
            result = schedule.queue(ctx, bulletin.strip(), zone.strip(), when, visit.actor)
        except PermissionDenied as exc:
            errors["zone"] = _refusal(exc, visit, [zone.strip()])
            return _week_page(request, visit, tuan or None, None, 403, form, errors)
        except BroadcasterError as exc:
            error, errors = form_problems(exc)
            chosen = bulletin.strip()
            if error and not errors and chosen not in _approved_ids(ctx):
                # unknown, or not approved as it is now: said at its field, in the page's
                # words (the layer's message names a command, for the command line)
                errors["bulletin"] = _(
                    "'{id}' is not an approved bulletin as it is now: only approved "
                    "bulletins can be queued."
                ).format(id=chosen)
                error = ""
            return _week_page(request, visit, tuan or None, None, 400, form, errors, error)
        week = result.row.week or schedule.current_week(ctx)
        warnings = list(result.warnings)
        if result.retimed:
            warnings.append(
                _("{n} planned airing(s) of the session moved after it").format(n=result.retimed)
            )
        if warnings:  # said on the page itself: a redirect would lose them
            return _week_page(request, visit, week, warnings=warnings, notice=NOTICES()["queued"])
        return redirect(f"/lich-phat?tuan={week}&da=queued#luot-{result.row.id}")

    def _airing(request: Request, text: str):
        ids = _ids(text)
        found = schedule.outcomes_of(station_of(request).ctx, ids[:1]) if ids else []
        if not found:
            raise FieldProblem(_("There is no such airing."), field="luot")
        return found[0]

    @app.get("/lich-phat/huy", name="schedule_cancel_form", response_class=HTMLResponse)
    def schedule_cancel_form(
        request: Request, visit: Visit = Depends(guard), luot: str = ""
    ) -> Response:
        airing = _airing(request, luot)
        return _cancel_page(request, visit, airing)

    def _cancel_page(request, visit, airing, status_code=200, error=""):
        ctx = station_of(request).ctx
        titles = {b.id: b.title for b in ctx.scripts()[0]}
        return render(
            request,
            visit,
            "schedule_cancel.html",
            status_code,
            a=airing,
            title=titles.get(airing.bulletin_id, airing.bulletin_id),
            zone_name=ctx.station.zone(airing.zone_id).name,
            error=error,
        )

    @app.post("/lich-phat/huy", name="schedule_cancel")
    def schedule_cancel(request: Request, visit: Visit = Depends(guard), luot: str = Form("")):
        airing = _airing(request, luot)
        ctx = station_of(request).ctx
        try:
            schedule.cancel(ctx, airing.id, visit.actor)
        except PermissionDenied as exc:
            return _cancel_page(request, visit, airing, 403, _refusal(exc, visit, [airing.zone_id]))
        except BroadcasterError as exc:
            return _cancel_page(request, visit, airing, 400, exc.problem.message)
        return redirect(f"/lich-phat?tuan={airing.week}&da=cancelled")

    # -- Khẩn cấp -------------------------------------------------------------------------

    def _emergency_page(
        request, visit, template, status_code=200, form=None, errors=None, error="", **values
    ):
        ctx = station_of(request).ctx
        return render(
            request,
            visit,
            template,
            status_code,
            bulletins=operator_desk.approved_bulletins(ctx, emergency_only=True),
            zones=ctx.station.zones,
            form=form or {"source": "bulletin", "all": "1"},
            chosen=set((form or {}).get("zones", [])),
            errors=errors or {},
            error=error,
            **values,
        )

    async def _emergency_form(request: Request) -> dict:
        data = await request.form()
        return {
            "source": str(data.get("source") or "bulletin"),
            "bulletin": str(data.get("bulletin") or "").strip(),
            "text": str(data.get("text") or "").strip(),
            "approved_by": str(data.get("approved_by") or "").strip(),
            "all": str(data.get("all") or ""),
            "zones": [str(z) for z in data.getlist("zone")],
        }

    def _check_emergency(request: Request, form: dict):
        """The bulletin (or None for a typed text) and the zones, or the errors by field."""
        ctx = station_of(request).ctx
        errors: dict[str, str] = {}
        bulletin = None
        if form["source"] == "text":
            if not form["text"]:
                errors["text"] = _("Type the alert's text.")
            if not form["approved_by"]:
                errors["approved_by"] = _("Give the name of who approved the typed alert.")
        else:
            chosen = {b.id: b for b in operator_desk.approved_bulletins(ctx, emergency_only=True)}
            bulletin = chosen.get(form["bulletin"])
            if bulletin is None:
                errors["bulletin"] = _("Choose an approved emergency bulletin.")
        zones: list[str] = []
        if form["all"]:
            zones = list(ctx.station.zone_ids)
        else:
            try:
                zones = emergencies.parse_zones(ctx, ",".join(form["zones"]))
            except FieldProblem:
                errors["zones"] = _("Choose at least one zone, or all of them.")
        return bulletin, zones, errors

    @app.get("/khan-cap", name="emergency_form", response_class=HTMLResponse)
    def emergency_form(request: Request, visit: Visit = Depends(guard)) -> Response:
        return _emergency_page(request, visit, "emergency.html")

    @app.post("/khan-cap/xac-nhan", name="emergency_confirm")
    async def emergency_confirm(request: Request, visit: Visit = Depends(guard)) -> Response:
        form = await _emergency_form(request)
        bulletin, zones, errors = _check_emergency(request, form)
        if errors:
            return _emergency_page(request, visit, "emergency.html", 400, form, errors)
        ctx = station_of(request).ctx
        return _emergency_page(
            request,
            visit,
            "emergency_confirm.html",
            once=_ONCE.issue(),
            form=form,
            bulletin=bulletin,
            targets=[ctx.station.zone(z) for z in zones],
            daemon=schedule.daemon_is_running(ctx),
        )

    @app.post("/khan-cap/phat", name="emergency_air")
    async def emergency_air(request: Request, visit: Visit = Depends(guard)) -> Response:
        from starlette.concurrency import run_in_threadpool

        form = await _emergency_form(request)
        bulletin, zones, errors = _check_emergency(request, form)
        if errors:
            return _emergency_page(request, visit, "emergency.html", 400, form, errors)
        if not _ONCE.use(str((await request.form()).get("once") or "")):
            # a second tap on the button, or an old confirmation: nothing is aired again
            error = _(
                "This confirmation was already used or has expired: nothing was aired "
                "again. Check the progress, or confirm anew."
            )
            return _emergency_page(request, visit, "emergency.html", 409, form, {}, error)
        ctx = station_of(request).ctx
        actor = visit.actor

        def air():
            chosen = bulletin
            if chosen is None:
                chosen = emergencies.typed_alert(
                    ctx, form["text"], form["approved_by"], actor, zones
                )
            return operator_desk.start_emergency(ctx, chosen, zones, actor)

        try:
            started = await run_in_threadpool(air)
        except PermissionDenied as exc:
            errors = {"zones": _refusal(exc, visit, zones)}
            return _emergency_page(request, visit, "emergency.html", 403, form, errors)
        except BroadcasterError as exc:
            error, errors = form_problems(exc)
            return _emergency_page(request, visit, "emergency.html", 400, form, errors, error)
        ids = ",".join(str(i) for i in started.airing_ids)
        return redirect(f"/khan-cap/tien-do?luot={ids}")

    def _progress(request: Request, visit: Visit, template: str, luot: str) -> Response:
        ctx = station_of(request).ctx
        progress = operator_desk.emergency_progress(ctx, _ids(luot)[:1000])
        if not progress.zones:
            raise FieldProblem(_("There is no such emergency."), field="luot")
        live = template.startswith("_")
        # 286: htmx stops polling once every zone has its outcome
        status_code = 286 if live and progress.done else 200
        return render(
            request,
            visit,
            template,
            status_code,
            progress=progress,
            luot=luot,
            outcome_word=receiver_outcome_word,
        )

    @app.get("/khan-cap/tien-do", name="emergency_progress", response_class=HTMLResponse)
    def emergency_progress(
        request: Request, visit: Visit = Depends(guard), luot: str = ""
    ) -> Response:
        return _progress(request, visit, "emergency_progress.html", luot)

    @app.get(
        "/khan-cap/tien-do/truc-tiep", name="emergency_progress_live", response_class=HTMLResponse
    )
    def emergency_progress_live(
        request: Request, visit: Visit = Depends(guard), luot: str = ""
    ) -> Response:
        return _progress(request, visit, "_emergency_progress.html", luot)

    # -- Cụm loa ----------------------------------------------------------------------

    def _receivers_page(request, visit, status_code=200, form=None, errors=None, error=""):
        ctx = station_of(request).ctx
        lines = []
        unreachable = ""
        networked = operator_desk.has_receivers(ctx)
        if not networked and errors:  # no form to show them at: said above the message
            error = "\n".join([*errors.values(), error]).strip()
        if networked:
            try:
                lines = receivers.receivers(ctx)
            except BroadcasterError as exc:
                unreachable = exc.problem.message
        return render(
            request,
            visit,
            "receivers.html",
            status_code,
            networked=networked,
            lines=lines,
            unreachable=unreachable,
            zones=ctx.station.zones,
            zone_names={z.id: z.name for z in ctx.station.zones},
            may_control=visit.may("receivers_volume"),
            state_word=receiver_state_word,
            form=form or {"level": "70"},
            errors=errors or {},
            error=error,
            notice=NOTICES().get(request.query_params.get("da", ""), ""),
        )

    @app.get("/cum-loa", name="receivers", response_class=HTMLResponse)
    def receiver_list(request: Request, visit: Visit = Depends(guard)) -> Response:
        return _receivers_page(request, visit)

    @app.post("/cum-loa/am-luong", name="receivers_volume")
    def receivers_volume(
        request: Request,
        visit: Visit = Depends(guard),
        level: str = Form(""),
        target: str = Form(""),
    ) -> Response:
        ctx = station_of(request).ctx
        form = {"level": level, "target": target}
        errors: dict[str, str] = {}
        value = int(level) if level.strip().isdigit() and len(level.strip()) < 4 else -1
        if not 0 <= value <= 100:
            errors["level"] = _("The volume is a whole number from 0 to 100.")
        kind, _sep, name = target.partition(":")
        zone = name if kind == "zone" else None
        receiver = name if kind == "receiver" else None
        if kind not in ("zone", "receiver") or not name:
            errors["target"] = _("Choose a zone or a receiver.")
        if errors:
            return _receivers_page(request, visit, 400, form, errors)
        if receiver is not None:
            zone = next(
                (ln.zone for ln in _known_receivers(request) if ln.receiver == receiver), None
            )
        try:
            receivers.send_volume(ctx, value, zone, receiver, visit.actor)
        except PermissionDenied as exc:
            errors = {"target": _refusal(exc, visit, [zone or name])}
            return _receivers_page(request, visit, 403, form, errors)
        except BroadcasterError as exc:
            return _receivers_page(request, visit, 400, form, {}, exc.problem.message)
        return redirect("/cum-loa?da=volume")

    def _known_receivers(request: Request):
        ctx = station_of(request).ctx
        if not operator_desk.has_receivers(ctx):
            return []
        found = []
        for settings in receivers.mqtt_outputs(ctx).values():
            for zone, ids in settings.receivers.items():
                found.extend(_Line(r, zone) for r in ids)
        return found


class _Line:
    def __init__(self, receiver: str, zone: str) -> None:
        self.receiver = receiver
        self.zone = zone
