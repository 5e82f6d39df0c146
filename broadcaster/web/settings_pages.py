"""Cài đặt (admin): the station's settings edited in forms that write station.yaml.

One page (``/cai-dat``) with a form per section; each form posts to its own address
and ``app.settings.change`` checks the new file as ``check`` does before writing it. A
refused change shows the page again (status 400) with what was typed and each message
at its field; a saved one redirects back to the section with a notice.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from broadcaster.app import settings
from broadcaster.core.errors import BroadcasterError, ConfigErrors, FieldProblem
from broadcaster.i18n import _
from broadcaster.web.app import Visit, guard, redirect, render, station_of

#: The form's address under /cai-dat -> (the section, its anchor on the page).
FORMS = {
    "tram": "heading",
    "dau-ra": "outputs",
    "cum-loa": "zones",
    "buoi-phat": "sessions",
    "gio-yen-lang": "quiet_hours",
    "yeu-cau": "requirements",
}
ANCHORS = {section: slug for slug, section in FORMS.items()}
MAX_ROWS = 2000


def _blank(section: str) -> dict[str, Any]:
    row: dict[str, Any] = {c: "" for c in settings.COLUMNS[section]}
    if section == "sessions":
        row["days"] = []
    return row


def _day_words() -> list[tuple[str, str]]:
    return [
        ("mon", _("Mon")),
        ("tue", _("Tue")),
        ("wed", _("Wed")),
        ("thu", _("Thu")),
        ("fri", _("Fri")),
        ("sat", _("Sat")),
        ("sun", _("Sun")),
    ]


def _page(
    request: Request,
    visit: Visit,
    status_code: int = 200,
    section: str = "",
    posted: Any = None,
    error: str = "",
    errors: dict[str, str] | None = None,
) -> Response:
    current = settings.read(station_of(request).ctx)
    shown = {"outputs": current.output_rows}
    tables = {
        key: [
            *(posted if section == key and posted else shown.get(key) or getattr(current, key)),
            _blank(key),
        ]
        for key in settings.COLUMNS
    }
    tables["outputs_table"] = tables.pop("outputs")
    heading = dict(current.heading)
    recipients = current.recipients
    if section == "heading" and posted is not None:
        heading.update({k: v for k, v in posted.items() if k != "recipients"})
        recipients = posted.get("recipients", "")
    outputs = current.outputs or ["files"]
    return render(
        request,
        visit,
        "settings.html",
        status_code,
        heading=heading,
        recipients=recipients,
        version=current.version,
        file_problems=[str(p) for p in current.problems] if status_code == 200 else [],
        section=section,
        saved=FORMS.get(request.query_params.get("phan", ""), ""),
        error=error,
        errors=errors or {},
        units=[(u, u) for u in settings.UNITS],
        kinds=[("station", _("the commune station")), ("cluster", _("a loudspeaker cluster"))],
        outputs=outputs,
        outputs_choice=[(o, o) for o in outputs],
        output_types=[(t, t) for t in current.output_types],
        fills=[
            ("", _("the station's")),
            ("rotate", _("rotate the bulletins")),
            ("minimum", _("the minimum only")),
        ],
        periods=[("week", _("a week")), ("day", _("a day"))],
        days=_day_words(),
        zone_ids=", ".join(z["id"] for z in current.zones if z.get("id")) or "-",
        **tables,
    )


def _problems(exc: BroadcasterError, section: str, fields: set[str]) -> tuple[str, dict[str, str]]:
    """The messages at the form's fields; the others (another section's, a script's)
    above the form, each with where it is."""
    problems = exc.problems if isinstance(exc, ConfigErrors) else [exc.problem]
    by_field: dict[str, str] = {}
    general: list[str] = []
    for p in problems:
        at_input = p.field in fields or p.field == section  # "zones": none left
        if p.field and at_input and p.field not in by_field:
            by_field[p.field] = p.message
        else:  # a file's problem says where it is; the operation's own needs not
            general.append(str(p) if p.path else p.message)
    if by_field and not general:
        general.append(_("Nothing was saved: correct the fields marked below."))
    return "\n".join(general), by_field


def add_routes(app: FastAPI) -> None:
    @app.get("/cai-dat", name="settings", response_class=HTMLResponse)
    def settings_page(request: Request, visit: Visit = Depends(guard)) -> Response:
        return _page(request, visit)

    def _form_route(slug: str, section: str) -> None:
        async def save(request: Request, visit: Visit = Depends(guard)) -> Response:
            form = await request.form()
            posted: Any
            try:
                if section == "heading":
                    if "timezone" not in form:
                        raise FieldProblem(
                            _("The form is incomplete: open the page again."), field="form"
                        )
                    posted = {
                        k: str(form.get(k, ""))
                        for k in ("name", "timezone", "recipients", *settings.REPORT_FIELDS)
                    }
                    fields = set(posted)
                else:
                    posted, fields = _rows(form, section)
            except FieldProblem as exc:
                return _page(request, visit, 400, section, None, exc.message)
            ctx = station_of(request).ctx

            version = str(form.get("version", "")) or None

            def change():
                return settings.change(ctx, visit.actor, section, posted, version)

            try:
                station = await run_in_threadpool(change)
            except (ConfigErrors, FieldProblem) as exc:
                error, errors = _problems(exc, section, fields)
                return _page(request, visit, 400, section, posted, error, errors)
            station_of(request).users.known_zones = frozenset(station.zone_ids)
            return redirect(f"/cai-dat?xong=saved&phan={slug}#{slug}")

        app.add_api_route(
            f"/cai-dat/{slug}",
            save,
            methods=["POST"],
            name=f"settings_{section}",
        )

    for slug, section in FORMS.items():
        _form_route(slug, section)


def _rows(form, section: str) -> tuple[list[dict[str, Any]], set[str]]:
    """The table's rows as typed, in the form's order, and the names of its inputs."""
    count = str(form.get("rows", ""))
    if not count.isdigit() or int(count) > MAX_ROWS:
        raise FieldProblem(_("The form is incomplete: open the page again."), field="form")
    rows: list[dict[str, Any]] = []
    fields: set[str] = set()
    for i in range(int(count)):  # the page's rows, its new one last
        row: dict[str, Any] = {}
        for column in settings.COLUMNS[section]:
            name = f"{section}.{i}.{column}"
            fields.add(name)
            if section == "sessions" and column == "days":
                row[column] = [str(d) for d in form.getlist(name)]
            else:
                row[column] = str(form.get(name, ""))
        row["remove"] = bool(form.get(f"{section}.{i}.remove"))
        rows.append(row)
    while rows and not rows[-1]["remove"] and _untyped(section, rows[-1]):
        rows.pop()  # the new row, left empty
    return rows, fields


def _untyped(section: str, row: dict[str, Any]) -> bool:
    return all(not str(row.get(c, "")).strip() for c in settings.TYPED[section])
