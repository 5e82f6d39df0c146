"""The record pages: Nhật ký (the as-run log, its CSV, its verification; the audit trail
for admins), Báo cáo (the report and the evidence pack downloaded) and Người dùng (the
accounts, for admins).

As in ``web/pages``: each route parses the request, calls the application layer and
renders; its name is its entry in ``web/access.NEEDS``. Every change (a report made is
audited too) goes through an ``app`` function that authorizes the web actor and audits.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from broadcaster.app import logbook, reports
from broadcaster.app.audit import AuditTrail
from broadcaster.app.roles import Role, describe
from broadcaster.app.users import generate_password
from broadcaster.core.errors import BroadcasterError
from broadcaster.i18n import _, pgettext
from broadcaster.web.app import Visit, form_problems, guard, redirect, render, station_of

MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "zip": "application/zip",
}
NO_STORE = {"Cache-Control": "no-store"}


def attachment(filename: str) -> str:
    """A Content-Disposition every browser reads: an ASCII name, and the exact one in
    RFC 5987 form (a Vietnamese name keeps its letters)."""
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    ascii_name = ascii_name.replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def role_name(role: Role) -> str:
    """The role's name alone (its description up to the colon)."""
    return describe(role).split(":", 1)[0]


def clock_word(kind: str) -> str:
    return {
        "simulated": _("simulated clock"),
        "shifted": _("shifted clock"),
    }.get(kind, _("clock not real ({kind})").format(kind=kind))


def result_word(result: str) -> str:
    """An audit entry's result, for display."""
    return {
        "ok": pgettext("audit", "done"),
        "refused": pgettext("audit", "refused"),
        "failed": pgettext("audit", "failed"),
    }.get(result, result)


def _zones_text(text: str) -> list[str] | None:
    """A zone limit as typed: empty or "all" is none."""
    parts = [z.strip() for z in text.split(",") if z.strip()]
    return None if not parts or parts == ["all"] else parts


def add_routes(app: FastAPI) -> None:
    # -- Nhật ký ----------------------------------------------------------------------

    def _log_filter(request: Request) -> tuple[dict[str, str], logbook.LogFilter]:
        q = request.query_params
        given = {k: q.get(k, "").strip() for k in ("from", "to", "zone", "bulletin", "outcome")}
        where = logbook.parse_filter(
            station_of(request).ctx,
            given["from"],
            given["to"],
            given["zone"],
            given["bulletin"],
            given["outcome"],
        )
        return given, where

    @app.get("/nhat-ky", name="log", response_class=HTMLResponse)
    def log_page(request: Request, visit: Visit = Depends(guard)) -> Response:
        ctx = station_of(request).ctx
        before_text = request.query_params.get("truoc", "")
        before = int(before_text) if before_text.isdigit() else None
        try:
            given, where = _log_filter(request)
        except BroadcasterError as exc:
            given = {
                k: request.query_params.get(k, "")
                for k in ("from", "to", "zone", "bulletin", "outcome")
            }
            error, errors = form_problems(exc)
            return _log_render(request, visit, given, None, 400, error, errors)
        found = logbook.log_page(ctx, where, before)
        return _log_render(request, visit, given, found)

    def _log_render(request, visit, given, found, status_code=200, error="", errors=None):
        ctx = station_of(request).ctx
        chosen = {k: v for k, v in given.items() if v}
        return render(
            request,
            visit,
            "log.html",
            status_code,
            given=given,
            page=found,
            query=urlencode(chosen),
            next_query=urlencode({**chosen, "truoc": found.next_before})
            if found and found.next_before
            else "",
            first_page=bool(request.query_params.get("truoc")),
            zones=ctx.station.zones,
            zone_names={z.id: z.name for z in ctx.station.zones},
            outcomes=logbook.OUTCOMES,
            reason_in=lambda reason: logbook.reason_in(visit.language, reason),
            clock_word=clock_word,
            error=error,
            errors=errors or {},
        )

    @app.get("/nhat-ky/tai-ve.csv", name="log_csv")
    def log_csv(request: Request, visit: Visit = Depends(guard)) -> Response:
        _given, where = _log_filter(request)  # a bad filter: the 400 page
        ctx = station_of(request).ctx

        def lines() -> Iterator[bytes]:
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=logbook.EXPORT_FIELDS)
            buffer.write("\ufeff")  # Excel then reads the Vietnamese letters as UTF-8
            writer.writeheader()
            for n, row in enumerate(logbook.export_rows(ctx, where), start=1):
                writer.writerow(row)
                if n % 500 == 0:
                    yield buffer.getvalue().encode("utf-8")
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue().encode("utf-8")

        name = "nhat-ky-phat-song.csv"
        return StreamingResponse(
            lines(),
            media_type=MEDIA_TYPES["csv"],
            headers={"Content-Disposition": attachment(name), **NO_STORE},
        )

    @app.get("/nhat-ky/kiem-tra", name="log_verify", response_class=HTMLResponse)
    async def log_verify(request: Request, visit: Visit = Depends(guard)) -> Response:
        ctx = station_of(request).ctx
        check = await run_in_threadpool(logbook.verify_signed, ctx)
        chain = [logbook.problem_in(visit.language, p) for p in check.chain.problems]
        problems = chain + check.problems
        return render(
            request,
            visit,
            "chain_check.html",
            what=_("the as-run log"),
            back="/nhat-ky",
            ok=check.ok,
            count=check.chain.count,
            head=check.chain.head_hash,
            problems=problems,
            unreal=check.chain.unreal,
            clock_word=clock_word,
            heads=check.heads_checked,
        )

    @app.get("/nhat-ky/kiem-toan", name="audit", response_class=HTMLResponse)
    def audit_page(request: Request, visit: Visit = Depends(guard)) -> Response:
        ctx = station_of(request).ctx
        q = request.query_params
        given = {k: q.get(k, "").strip() for k in ("from", "to", "user")}
        before_text = q.get("truoc", "")
        before = int(before_text) if before_text.isdigit() else None
        error, errors, rows, next_before = "", {}, [], None
        try:
            start, end = logbook.local_days(ctx, given["from"], given["to"])
        except BroadcasterError as exc:
            error, errors = form_problems(exc)
        else:
            size = logbook.PAGE_SIZE
            found = AuditTrail(ctx.db, ctx.clock).page(
                start, end, given["user"] or None, before=before, limit=size + 1
            )
            rows = found[:size]
            next_before = rows[-1].seq if len(found) > size and rows else None
        chosen = {k: v for k, v in given.items() if v}
        return render(
            request,
            visit,
            "audit.html",
            400 if errors or error else 200,
            given=given,
            rows=rows,
            next_query=urlencode({**chosen, "truoc": next_before}) if next_before else "",
            first_page=before is not None,
            result_word=result_word,
            error=error,
            errors=errors,
        )

    @app.get("/nhat-ky/kiem-toan/kiem-tra", name="audit_verify", response_class=HTMLResponse)
    async def audit_verify(request: Request, visit: Visit = Depends(guard)) -> Response:
        ctx = station_of(request).ctx
        report = await run_in_threadpool(AuditTrail(ctx.db, ctx.clock).verify)
        return render(
            request,
            visit,
            "chain_check.html",
            what=_("the audit trail"),
            back="/nhat-ky/kiem-toan",
            ok=report.ok,
            count=report.count,
            head=report.head_hash,
            problems=report.problems,
            unreal={},
            clock_word=clock_word,
            heads=None,
        )

    # -- Báo cáo ----------------------------------------------------------------------

    def _report_render(request, visit, given, status_code=200, error="", errors=None):
        return render(
            request,
            visit,
            "report_form.html",
            status_code,
            given=given,
            zones=station_of(request).ctx.station.zones,
            formats=reports.FORMATS,
            pack_formats=("docx", "xlsx", "json", "pdf"),
            unreal=sum(reports.unreal_in_database(station_of(request).ctx).values()),
            error=error,
            errors=errors or {},
        )

    def _report_given(form) -> dict:
        return {
            "period": str(form.get("period") or "h1"),
            "year": str(form.get("year") or "").strip(),
            "from": str(form.get("from") or "").strip(),
            "to": str(form.get("to") or "").strip(),
            "zones": [str(z) for z in form.getlist("zones")],
            "format": str(form.get("format") or "xlsx"),
            "with_audio": bool(form.get("with_audio")),
            "include_unreal": bool(form.get("include_unreal")),
        }

    @app.get("/bao-cao", name="report_form", response_class=HTMLResponse)
    def report_form(request: Request, visit: Visit = Depends(guard)) -> Response:
        year = str(reports.this_year(station_of(request).ctx))
        given = {"period": "h1", "year": year, "from": "", "to": "", "zones": [], "format": "xlsx"}
        given["with_audio"] = given["include_unreal"] = False
        return _report_render(request, visit, given)

    async def _download(request: Request, visit: Visit, kind: str) -> Response:
        ctx = station_of(request).ctx
        given = _report_given(await request.form())
        work = Path(tempfile.mkdtemp(prefix="broadcaster-web-"))

        def make():
            period = reports.period_of(
                ctx, given["period"], given["year"], given["from"], given["to"]
            )
            zone_ids = reports.zones_of(ctx, given["zones"])
            args = (ctx, visit.actor, period, zone_ids, given["format"], work)
            unreal = given["include_unreal"]
            if kind == "report":
                written = reports.make_report(*args, include_unreal=unreal)
                return written.path, written.format
            pack = reports.make_evidence(
                *args, with_audio=given["with_audio"], include_unreal=unreal
            )
            return pack.path, "zip"

        try:
            path, fmt = await run_in_threadpool(make)
        except BroadcasterError as exc:
            shutil.rmtree(work, ignore_errors=True)
            error, errors = form_problems(exc)
            for name in ("from", "to"):  # the period's own fields
                if name in errors:
                    errors.setdefault("period", errors[name])
            return _report_render(request, visit, given, 400, error, errors)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return FileResponse(
            path,
            media_type=MEDIA_TYPES[fmt],
            headers={"Content-Disposition": attachment(path.name), **NO_STORE},
            background=BackgroundTask(shutil.rmtree, work, ignore_errors=True),
        )

    @app.post("/bao-cao", name="report_make")
    async def report_make(request: Request, visit: Visit = Depends(guard)) -> Response:
        return await _download(request, visit, "report")

    @app.post("/bao-cao/ho-so", name="evidence_make")
    async def evidence_make(request: Request, visit: Visit = Depends(guard)) -> Response:
        return await _download(request, visit, "evidence")

    # -- Người dùng -------------------------------------------------------------------

    def _users_render(request, visit, status_code=200, given=None, error="", errors=None):
        web = station_of(request)
        return render(
            request,
            visit,
            "users.html",
            status_code,
            users=web.users.list(),
            last=web.users.last_sign_ins(),
            roles=list(Role),
            role_name=role_name,
            describe=describe,
            given=given or {"name": "", "full_name": "", "roles": [], "zones": "", "password": ""},
            error=error,
            errors=errors or {},
        )

    def _user_render(
        request, visit, name, status_code=200, password="", done="", error="", errors=None
    ):
        web = station_of(request)
        user = web.users.get(name)
        response = render(
            request,
            visit,
            "user.html",
            status_code,
            user=user,
            last=web.users.last_sign_ins().get(user.name),
            roles=list(Role),
            role_name=role_name,
            describe=describe,
            new_password=password,
            changed=done,
            error=error,
            errors=errors or {},
        )
        response.headers.update(NO_STORE)
        return response

    @app.get("/nguoi-dung", name="users", response_class=HTMLResponse)
    def users_page(request: Request, visit: Visit = Depends(guard)) -> Response:
        return _users_render(request, visit)

    @app.post("/nguoi-dung", name="user_add")
    async def user_add(request: Request, visit: Visit = Depends(guard)) -> Response:
        web = station_of(request)
        form = await request.form()
        given = {
            "name": str(form.get("name") or "").strip(),
            "full_name": str(form.get("full_name") or ""),
            "roles": [str(r) for r in form.getlist("roles")],
            "zones": str(form.get("zones") or ""),
        }
        typed = str(form.get("password") or "")
        password = typed or generate_password()
        try:
            roles = [Role(r) for r in given["roles"] if r in {x.value for x in Role}]
            user = await run_in_threadpool(
                lambda: web.users.add(
                    visit.actor,
                    given["name"],
                    password,
                    roles,
                    full_name=given["full_name"],
                    zones=_zones_text(given["zones"]),
                )
            )
        except BroadcasterError as exc:
            error, errors = form_problems(exc)
            return _users_render(request, visit, 400, given, error, errors)
        return _user_render(
            request,
            visit,
            user.name,
            password="" if typed else password,
            done=_("The account is made."),
        )

    @app.get("/nguoi-dung/{name}", name="user", response_class=HTMLResponse)
    def user_page(request: Request, name: str, visit: Visit = Depends(guard)) -> Response:
        return _user_render(request, visit, name)

    @app.post("/nguoi-dung/{name}/vai-tro", name="user_roles")
    async def user_roles(request: Request, name: str, visit: Visit = Depends(guard)) -> Response:
        web = station_of(request)
        form = await request.form()
        roles = [Role(r) for r in form.getlist("roles") if r in {x.value for x in Role}]
        zones = _zones_text(str(form.get("zones") or ""))
        try:
            web.users.set_roles(visit.actor, name, set_to=roles, zones=zones)
        except BroadcasterError as exc:
            error, errors = form_problems(exc)
            return _user_render(request, visit, name, 400, error=error, errors=errors)
        return redirect(f"/nguoi-dung/{quote(name, safe='')}?xong=saved")

    @app.post("/nguoi-dung/{name}/khoa", name="user_disable")
    def user_disable(request: Request, name: str, visit: Visit = Depends(guard)) -> Response:
        station_of(request).sessions.disable(visit.actor, name)
        return redirect(f"/nguoi-dung/{quote(name, safe='')}?xong=saved")

    @app.post("/nguoi-dung/{name}/mo-khoa", name="user_enable")
    def user_enable(request: Request, name: str, visit: Visit = Depends(guard)) -> Response:
        station_of(request).users.enable(visit.actor, name)
        return redirect(f"/nguoi-dung/{quote(name, safe='')}?xong=saved")

    @app.post("/nguoi-dung/{name}/dat-lai-mat-khau", name="user_reset")
    async def user_reset(request: Request, name: str, visit: Visit = Depends(guard)) -> Response:
        web = station_of(request)
        password = generate_password()
        await run_in_threadpool(web.sessions.reset_password, visit.actor, name, password)
        return _user_render(
            request, visit, name, password=password, done=_("The password is reset.")
        )
