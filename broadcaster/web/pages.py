"""The pages: each parses the request, calls the application layer and renders.

Every route's name is its entry in ``web/access.NEEDS`` (the guard refuses a route that
has none). A change answers with a redirect (``?xong=`` says what was done); a mistake
renders the same page again with the message at its field, status 400.
"""

from __future__ import annotations

import mimetypes
import secrets

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from broadcaster.app import approvals, bulletins, editorial, overview, recordings
from broadcaster.app.users import AuthenticationFailed
from broadcaster.core.errors import BroadcasterError, FieldProblem
from broadcaster.i18n import _
from broadcaster.web.app import (
    SESSION_COOKIE,
    Visit,
    form_csrf_cookie,
    form_problems,
    guard,
    redirect,
    render,
    safe_next,
    session_cookie,
    station_of,
)

MAX_PREVIEW = 20_000  # characters of a body previewed as it is typed


def _warnings(ctx, bulletin) -> list[str]:
    """The script's warnings (the lexicon's, expiry) and its audio's (a fallback engine)."""
    found = [
        (_("line {n}: ").format(n=p.line) if p.line else "") + p.message
        for p in bulletins.script_warnings(ctx, [bulletin])
    ]
    note = bulletins.audio_note_of(ctx, bulletin.id)
    return [*found, note] if note else found


def _spoken(request: Request, bulletin_id: str) -> str | None:
    try:
        return bulletins.preview(station_of(request).ctx, bulletin_id)
    except BroadcasterError:
        return None  # a recorded bulletin: nothing to speak


def bulletin_page(
    request: Request,
    visit: Visit,
    bulletin_id: str,
    status_code: int = 200,
    error: str = "",
    errors: dict[str, str] | None = None,
) -> Response:
    """The bulletin's page (a refusal's message above its actions, or at its field)."""
    ctx = station_of(request).ctx
    row = editorial.summary(ctx, bulletin_id)
    return render(
        request,
        visit,
        "bulletin.html",
        status_code,
        row=row,
        b=row.bulletin,
        spoken=_spoken(request, bulletin_id),
        audio=bulletins.current_audio(ctx, bulletin_id) is not None,
        warnings=_warnings(ctx, row.bulletin),
        history=editorial.history(ctx, bulletin_id),
        error=error,
        errors=errors or {},
        max_bytes=recordings.MAX_RECORDING_BYTES,
        max_mb=recordings.MAX_RECORDING_BYTES // (1024 * 1024),
        max_minutes=recordings.MAX_RECORDING_SECONDS // 60,
    )


def add_routes(app: FastAPI) -> None:
    # -- Đăng nhập ------------------------------------------------------------------

    @app.get("/dang-nhap", name="login_form", response_class=HTMLResponse)
    def login_form(request: Request, visit: Visit = Depends(guard), next: str = "/") -> Response:
        if visit.signed is not None:
            return redirect(safe_next(next))
        return _login_page(request, visit, safe_next(next), "", "", 200)

    @app.post("/dang-nhap", name="login")
    def login(
        request: Request,
        visit: Visit = Depends(guard),
        name: str = Form(""),
        password: str = Form(""),
        next: str = Form("/"),
    ) -> Response:
        web = station_of(request)
        try:
            token, _signed = web.sessions.sign_in(name, password, visit.address)
        except AuthenticationFailed as exc:
            return _login_page(request, visit, safe_next(next), name, str(exc), 401)
        response = redirect(safe_next(next))
        session_cookie(response, request, token, web.sessions.lifetime)
        return response

    def _login_page(request, visit, next_url, name, error, status_code) -> Response:
        token = visit.login_csrf or secrets.token_urlsafe(32)
        shown = Visit(None, visit.address, visit.language, visit.route, token)
        response = render(
            request, shown, "login.html", status_code, next=next_url, name=name, error=error
        )
        if token != visit.login_csrf:
            form_csrf_cookie(response, request, token)
        return response

    @app.post("/dang-xuat", name="logout")
    def logout(request: Request, visit: Visit = Depends(guard)) -> Response:
        assert visit.signed is not None
        station_of(request).sessions.sign_out(visit.signed, visit.address)
        response = redirect("/dang-nhap")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/doi-mat-khau", name="password_form", response_class=HTMLResponse)
    def password_form(request: Request, visit: Visit = Depends(guard)) -> Response:
        return render(request, visit, "password.html", errors={}, error="")

    @app.post("/doi-mat-khau", name="password")
    def password(
        request: Request,
        visit: Visit = Depends(guard),
        current: str = Form(""),
        new: str = Form(""),
        again: str = Form(""),
    ) -> Response:
        assert visit.signed is not None
        errors: dict[str, str] = {}
        error = ""
        if new != again:
            errors["again"] = _("The two new passwords differ.")
        else:
            try:
                station_of(request).sessions.change_password(
                    visit.signed, current, new, visit.address
                )
                return redirect("/?xong=password")
            except AuthenticationFailed as exc:
                errors["current"] = str(exc)
            except BroadcasterError as exc:
                error, errors = form_problems(exc)
                if "password" in errors:
                    errors["new"] = errors.pop("password")
        return render(request, visit, "password.html", 400, errors=errors, error=error)

    # -- Tổng quan --------------------------------------------------------------------

    def _overview(request: Request) -> overview.Overview:
        web = station_of(request)
        return web.overview.get(
            lambda: overview.overview(web.ctx, chain=web.chain, receiver_watch=web.receivers)
        )

    @app.get("/", name="dashboard", response_class=HTMLResponse)
    def dashboard(request: Request, visit: Visit = Depends(guard)) -> Response:
        return render(request, visit, "dashboard.html", view=_overview(request))

    @app.get("/tong-quan/truc-tiep", name="dashboard_live", response_class=HTMLResponse)
    def dashboard_live(request: Request, visit: Visit = Depends(guard)) -> Response:
        return render(request, visit, "_overview.html", view=_overview(request))

    # -- Bản tin ----------------------------------------------------------------------

    @app.get("/ban-tin", name="bulletins", response_class=HTMLResponse)
    def bulletin_list(request: Request, visit: Visit = Depends(guard)) -> Response:
        rows, problems = editorial.list_bulletins(station_of(request).ctx)
        return render(request, visit, "bulletins.html", rows=rows, problems=problems)

    @app.get("/ban-tin/moi", name="bulletin_new_form", response_class=HTMLResponse)
    def bulletin_new_form(request: Request, visit: Visit = Depends(guard)) -> Response:
        fields = {k: "" for k in editorial.FIELDS}
        fields.update(priority="normal", zones="all", language="vi")
        return _form_page(request, visit, fields, "", create=True)

    @app.post("/ban-tin/moi", name="bulletin_create")
    async def bulletin_create(request: Request, visit: Visit = Depends(guard)) -> Response:
        form = await request.form()
        return await _save(request, visit, {k: str(v) for k, v in form.items()}, create=True)

    @app.post("/ban-tin/xem-truoc", name="bulletin_preview", response_class=HTMLResponse)
    def bulletin_preview(
        request: Request, body: str = Form(""), visit: Visit = Depends(guard)
    ) -> Response:
        """The spoken form of the body being typed (the form's preview, through htmx)."""
        ctx = station_of(request).ctx
        text = body[:MAX_PREVIEW]
        spoken = bulletins.spoken_form(text, ctx.root, ctx.station.dialect)
        return render(
            request,
            visit,
            "_spoken.html",
            spoken=spoken,
            warnings=bulletins.body_warnings(ctx, text),
        )

    @app.get("/ban-tin/{bulletin_id}", name="bulletin", response_class=HTMLResponse)
    def bulletin_view(
        request: Request, bulletin_id: str, visit: Visit = Depends(guard)
    ) -> Response:
        return bulletin_page(request, visit, bulletin_id)

    @app.post("/ban-tin/{bulletin_id}/doc", name="bulletin_render")
    def bulletin_render(
        request: Request, bulletin_id: str, visit: Visit = Depends(guard)
    ) -> Response:
        outcome = bulletins.render_one(station_of(request).ctx, visit.actor, bulletin_id)
        if outcome.error:
            return bulletin_page(request, visit, bulletin_id, 400, outcome.error)
        return redirect(f"/ban-tin/{bulletin_id}?xong=rendered")

    @app.get("/ban-tin/{bulletin_id}/am-thanh", name="bulletin_audio")
    def bulletin_audio(
        request: Request, bulletin_id: str, visit: Visit = Depends(guard)
    ) -> Response:
        path = bulletins.current_audio(station_of(request).ctx, bulletin_id)
        if path is None:
            raise StarletteHTTPException(404)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=kind, headers={"Cache-Control": "no-store"})

    @app.get("/ban-tin/{bulletin_id}/sua", name="bulletin_edit_form", response_class=HTMLResponse)
    def bulletin_edit_form(
        request: Request, bulletin_id: str, visit: Visit = Depends(guard)
    ) -> Response:
        fields, body = editorial.form_of(station_of(request).ctx, bulletin_id)
        return _form_page(request, visit, fields, body, create=False)

    @app.post("/ban-tin/{bulletin_id}/sua", name="bulletin_save")
    async def bulletin_save(
        request: Request, bulletin_id: str, visit: Visit = Depends(guard)
    ) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        form["id"] = bulletin_id
        return await _save(request, visit, form, create=False)

    async def _save(request: Request, visit: Visit, form: dict[str, str], create: bool):
        from starlette.concurrency import run_in_threadpool

        ctx = station_of(request).ctx
        body = form.get("body", "")

        def write():
            return editorial.save_script(
                ctx, visit.actor, editorial.fields_from_form(form), body, create=create
            )

        try:
            made = await run_in_threadpool(write)
        except BroadcasterError as exc:
            error, errors = form_problems(exc)
            fields = {k: form.get(k, "") for k in editorial.FIELDS}
            return _form_page(request, visit, fields, body, create, 400, error, errors)
        return redirect(f"/ban-tin/{made.id}?xong=saved")

    def _form_page(request, visit, fields, body, create, status_code=200, error="", errors=None):
        return render(
            request,
            visit,
            "bulletin_form.html",
            status_code,
            fields=fields,
            body=body,
            create=create,
            error=error,
            errors=errors or {},
        )

    @app.post("/ban-tin/{bulletin_id}/gui-duyet", name="bulletin_submit")
    def bulletin_submit(
        request: Request, bulletin_id: str, visit: Visit = Depends(guard)
    ) -> Response:
        editorial.submit(station_of(request).ctx, visit.actor, bulletin_id)
        return redirect(f"/ban-tin/{bulletin_id}?xong=submitted")

    # -- Duyệt ------------------------------------------------------------------------

    @app.get("/duyet", name="review_queue", response_class=HTMLResponse)
    def review_queue(request: Request, visit: Visit = Depends(guard)) -> Response:
        rows = editorial.pending(station_of(request).ctx)
        return render(request, visit, "review_queue.html", rows=rows)

    @app.get("/duyet/{bulletin_id}", name="review", response_class=HTMLResponse)
    def review(request: Request, bulletin_id: str, visit: Visit = Depends(guard)) -> Response:
        return _review_page(request, visit, bulletin_id)

    def _review_page(request, visit, bulletin_id, status_code=200, error="", errors=None):
        ctx = station_of(request).ctx
        row = editorial.summary(ctx, bulletin_id)
        return render(
            request,
            visit,
            "review.html",
            status_code,
            row=row,
            b=row.bulletin,
            spoken=_spoken(request, bulletin_id),
            diff=editorial.changes_since_approval(ctx, bulletin_id),
            audio=bulletins.current_audio(ctx, bulletin_id) is not None,
            warnings=_warnings(ctx, row.bulletin),
            error=error,
            errors=errors or {},
        )

    @app.post("/duyet/{bulletin_id}/duyet", name="review_approve")
    def review_approve(
        request: Request, bulletin_id: str, visit: Visit = Depends(guard)
    ) -> Response:
        try:
            approvals.approve(station_of(request).ctx, bulletin_id, visit.actor)
        except BroadcasterError as exc:
            return _review_page(request, visit, bulletin_id, 400, str(exc.problem.message))
        return redirect("/duyet?xong=approved")

    @app.post("/duyet/{bulletin_id}/tra-lai", name="review_reject")
    def review_reject(
        request: Request,
        bulletin_id: str,
        visit: Visit = Depends(guard),
        reason: str = Form(""),
    ) -> Response:
        try:
            editorial.reject(station_of(request).ctx, visit.actor, bulletin_id, reason)
        except FieldProblem as exc:
            return _review_page(request, visit, bulletin_id, 400, "", {exc.field: exc.message})
        return redirect("/duyet?xong=rejected")
