"""The web station's ASGI application: one station, its pages, the guard of every request.

``create_app`` opens the station once (or takes an open :class:`StationContext`, as the
tests do, with their own clock). Every request goes through :func:`guard`, declared on
the application itself so no route can be added without it: it picks the page's
language, finds the session, checks the CSRF token of every state-changing request and
asks ``app.permissions`` for the action ``web/access.NEEDS`` names for the route.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader
from starlette.exceptions import HTTPException as StarletteHTTPException

from broadcaster.app.actors import Actor
from broadcaster.app.audit import AuditTrail
from broadcaster.app.context import StationContext
from broadcaster.app.live_feed import LiveFeeds
from broadcaster.app.logbook import ChainWatch
from broadcaster.app.overview import SharedOverview
from broadcaster.app.permissions import PermissionDenied, authorize_any
from broadcaster.app.receivers import ReceiverWatch
from broadcaster.app.sessions import LIFETIME, SessionService, SignedIn
from broadcaster.app.users import UserService
from broadcaster.core.errors import BroadcasterError, ConfigErrors, first_line
from broadcaster.core.timeutil import fmt_local
from broadcaster.i18n import (
    LANGUAGES,
    _,
    editorial_word,
    normalise,
    origin_word,
    pgettext,
    priority_word,
    receiver_state_word,
    state_word,
    status_word,
    use_language_here,
)
from broadcaster.web.access import BODY_LIMITS, NEEDS, PUBLIC, SIGNED_IN, Need

log = logging.getLogger("broadcaster.web")

SESSION_COOKIE = "phien"
LOGIN_CSRF_COOKIE = "phien_dang_nhap"
LANG_COOKIE = "lang"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
STATIC = Path(__file__).parent / "static"

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; media-src 'self' blob:; object-src 'none'; "
        b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class LoginRequired(Exception):
    """No live session for a page that needs one."""


class TooLarge(Exception):
    """A body larger than its route takes (413), or one that does not say its length
    (411): refused before it is read."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def refuse_large_body(request: Request, route: str) -> None:
    limit = BODY_LIMITS.get(route)
    if limit is None:
        return
    most, message = limit
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise TooLarge(_("The upload must say its length: send it from the page."), 411)
    if int(length) > most:
        raise TooLarge(message(), 413)


class Refused(Exception):
    """The visitor may not do this (403): a missing role, a bad CSRF token."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Visit:
    """Who is asking, from where, in which language; what the guard found."""

    signed: SignedIn | None
    address: str
    language: str
    route: str
    login_csrf: str = ""

    @property
    def actor(self) -> Actor:
        assert self.signed is not None
        return self.signed.actor(self.address)

    @property
    def csrf(self) -> str:
        return self.signed.csrf if self.signed else self.login_csrf

    def may(self, route: str) -> bool:
        """Whether the visitor may open the route (the menu shows only those)."""
        return allowed(NEEDS.get(route), self.signed, self.address)


@dataclass
class WebStation:
    """What the pages share: the open station, its users and sessions, the templates."""

    ctx: StationContext
    users: UserService
    sessions: SessionService
    templates: Environment
    # The dashboard's watchers: the log chain's new entries, the receivers' state.
    chain: ChainWatch = field(default_factory=ChainWatch)
    receivers: ReceiverWatch | None = None
    overview: SharedOverview = field(default_factory=SharedOverview)
    live: LiveFeeds = field(default_factory=LiveFeeds)  # Phát trực tiếp's broadcasts


def allowed(need: Need | None, signed: SignedIn | None, address: str = "") -> bool:
    if need is None:
        return False
    if need == PUBLIC:
        return True
    if signed is None:
        return False
    if need == SIGNED_IN:
        return True
    try:
        authorize_any(signed.actor(address), need)  # type: ignore[arg-type]
    except PermissionDenied:
        return False
    return True


def language_of(request: Request, default: str) -> str:
    """``?lang=en`` (then kept in a cookie), the cookie, else the station's language."""
    for given in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if given:
            try:
                return normalise(given)
            except ValueError:
                continue
    try:
        return normalise(default)
    except ValueError:
        return "vi"


def station_of(request: Request) -> WebStation:
    return request.app.state.web


async def guard(request: Request) -> Visit:
    """The check every request passes before its route runs."""
    web = station_of(request)
    language = language_of(request, web.ctx.station.language)
    use_language_here(language)
    route = getattr(request.scope.get("route"), "name", "") or ""
    need = NEEDS.get(route)
    address = request.client.host if request.client else ""
    signed = web.sessions.find(request.cookies.get(SESSION_COOKIE))
    visit = Visit(signed, address, language, route, request.cookies.get(LOGIN_CSRF_COOKIE, ""))
    if need is None:
        log.error("route %r has no entry in web/access.NEEDS: refused", route)
        raise Refused(_("This page is not open to anyone."))
    if request.method not in SAFE_METHODS:
        refuse_large_body(request, route)
        given = request.headers.get("x-csrf-token")
        if given is None:
            try:
                form = await request.form()
            except Exception:  # not a form: no token
                form = {}
            given = str(form.get("csrf") or "")
        if need == PUBLIC:
            expected = visit.login_csrf
            if not (expected and given and secrets.compare_digest(expected, given)):
                raise Refused(
                    _("The form has expired or did not come from this site: open it again.")
                )
        elif signed is None:
            raise LoginRequired()
        elif not signed.csrf_ok(given):
            raise Refused(_("The form has expired or did not come from this site: open it again."))
    if need == PUBLIC:
        return visit
    if signed is None:
        raise LoginRequired()
    if need == SIGNED_IN:
        return visit
    try:
        authorize_any(signed.actor(address), need)  # type: ignore[arg-type]
    except PermissionDenied as exc:
        if request.method not in SAFE_METHODS:
            AuditTrail(web.ctx.db, web.ctx.clock).refuse(
                signed.actor(address), exc, request.url.path
            )
        raise Refused(_("Your account may not open this page.")) from None
    return visit


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("broadcaster.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        _=_,
        pgettext=pgettext,
        state_word=state_word,
        status_word=status_word,
        origin_word=origin_word,
        priority_word=priority_word,
        editorial_word=editorial_word,
        receiver_state_word=receiver_state_word,
        languages=LANGUAGES,
    )
    return env


def render(
    request: Request,
    visit: Visit,
    template: str,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    web = station_of(request)
    tz = web.ctx.station.tz

    def local(instant, with_seconds: bool = False) -> str:
        return fmt_local(instant, tz, with_seconds) if instant else ""

    html = web.templates.get_template(template).render(
        request=request,
        visit=visit,
        station=web.ctx.station,
        local=local,
        path=request.url.path,
        done=DONE_MESSAGES().get(request.query_params.get("xong", ""), ""),
        **values,
    )
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") and visit.language:
        response.set_cookie(
            LANG_COOKIE, visit.language, max_age=365 * 86400, samesite="lax", httponly=True
        )
    return response


def DONE_MESSAGES() -> Mapping[str, str]:
    """What a redirect after a change says it did (``?xong=`` names it)."""
    return {
        "submitted": _("Sent for approval."),
        "approved": _("Approved: this exact text and audio may now air."),
        "rejected": _("Sent back to its officer, with the reason."),
        "saved": _("Saved."),
        "rendered": _("The audio is made: listen to it before sending it for approval."),
        "recorded": _(
            "The recording is kept: make the audio, listen to it, then send it for approval."
        ),
        "password": _("Your password is changed; your other sessions are signed out."),
    }


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    web = station_of(request)
    language = language_of(request, web.ctx.station.language)
    use_language_here(language)
    try:
        signed = web.sessions.find(request.cookies.get(SESSION_COOKIE))
    except Exception:  # the database itself may be what failed
        signed = None
    address = request.client.host if request.client else ""
    visit = Visit(signed, address, language, "")
    titles = {
        400: _("The request cannot be used"),
        403: _("Not allowed"),
        404: _("Page not found"),
        405: _("Not allowed"),
        411: _("The request cannot be used"),
        413: _("The file is too large"),
        500: _("Something went wrong"),
    }
    return render(
        request,
        visit,
        "error.html",
        status_code,
        title=titles.get(status_code, _("Something went wrong")),
        message=message,
    )


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = "/dang-nhap?next=" + quote(request.url.path, safe="/")
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return redirect(target)

    @app.exception_handler(TooLarge)
    async def _too_large(request: Request, exc: TooLarge) -> Response:
        return error_page(request, exc.status_code, exc.message)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return error_page(request, 403, exc.message)

    @app.exception_handler(PermissionDenied)
    async def _denied(request: Request, exc: PermissionDenied) -> Response:
        return error_page(request, 403, exc.problem.message)  # the layer audited it

    @app.exception_handler(BroadcasterError)
    async def _mistake(request: Request, exc: BroadcasterError) -> Response:
        return error_page(request, 400, first_line(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {
            404: _("There is no page at this address."),
            405: _("This page does not take that kind of request."),
        }
        return error_page(
            request, exc.status_code, messages.get(exc.status_code, _("The request failed."))
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_page(request, 400, _("A field of the form is missing or not valid."))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("error on %s %s", request.method, request.url.path)
        return error_page(
            request,
            500,
            _("The station could not answer this request. It is written in the server's log."),
        )


class SecurityHeaders:
    """Adds the pages' security headers (no framing, no foreign scripts) to every answer."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ForgetsOverviewOnChange:
    """After any request that may change the station (not GET or HEAD), the dashboards'
    shared reading is dropped: the page after an action shows it at once."""

    def __init__(self, app: Callable, web: WebStation) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return

        async def send_forgetting(message) -> None:
            if message["type"] == "http.response.start":
                self.web.overview.forget()
            await send(message)

        await self.app(scope, receive, send_forgetting)


def create_app(
    root: Path | None = None,
    *,
    ctx: StationContext | None = None,
    db_url: str | None = None,
    clock=None,
    session_lifetime: timedelta = LIFETIME,
) -> FastAPI:
    """The web station of the station at ``root`` (or of the open ``ctx``)."""
    if ctx is None:
        if root is None:
            raise ValueError("create_app needs a station root or an open StationContext")
        ctx = StationContext.open(root, db_url, clock)
        owned = True
    else:
        owned = False
    ctx.db  # noqa: B018 - open (and create) the database before the first request
    users = UserService(ctx.db, ctx.clock, known_zones=ctx.station.zone_ids)
    web = WebStation(
        ctx,
        users,
        SessionService(ctx.db, ctx.clock, users, lifetime=session_lifetime),
        _templates(),
        receivers=ReceiverWatch(ctx) if ReceiverWatch.wanted(ctx) else None,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if web.receivers is not None:
            web.receivers.start()
        try:
            yield
        finally:
            web.live.stop_all()  # a broadcast from a page ends with the server
            if web.receivers is not None:
                web.receivers.stop()
            if owned:
                ctx.close()

    app = FastAPI(
        title="broadcaster",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(guard)],
        lifespan=lifespan,
    )
    app.state.web = web
    app.mount("/tep", StaticFiles(directory=STATIC), name="static")
    _install_error_pages(app)
    from broadcaster.web import (
        api,
        live_pages,
        operator_pages,
        pages,
        record_pages,
        recording_pages,
        settings_pages,
    )

    pages.add_routes(app)
    operator_pages.add_routes(app)
    record_pages.add_routes(app)
    settings_pages.add_routes(app)
    recording_pages.add_routes(app)
    live_pages.add_routes(app)
    api.add_routes(app)  # /api/v1: JSON, its own schema and errors
    app.add_middleware(ForgetsOverviewOnChange, web=web)
    app.add_middleware(SecurityHeaders)
    return app


def session_cookie(response: Response, request: Request, token: str, lifetime: timedelta) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def form_csrf_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        value,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/dang-nhap",
    )


def form_problems(exc: BroadcasterError) -> tuple[str, dict[str, str]]:
    """A refusal as a form shows it: the messages at their fields (the first per field),
    the rest above the form."""
    problems = exc.problems if isinstance(exc, ConfigErrors) else [exc.problem]
    by_field: dict[str, str] = {}
    general = []
    for p in problems:
        if p.field and p.field not in by_field:
            by_field[p.field] = p.message
        else:
            general.append(p.message)
    return "\n".join(general), by_field
