"""Writing, submitting and rejecting bulletins: the officer's and the approver's work.

A bulletin's editorial state joins what the folder says (the script, its dates), what
the approvals say (is this exact content approved?) and what the editorial trail says
(was this content sent to the approvers, or sent back with a reason?):

- ``draft`` (nháp): written, never sent for approval;
- ``pending`` (chờ duyệt): this exact content was submitted, and nobody decided yet;
- ``rejected`` (bị trả lại): this exact content was sent back, with the reason;
- ``approved`` (đã duyệt): this exact content is approved (its audio may still be missing:
  ``approval`` says so);
- ``changed-since-approval`` (đã sửa sau khi duyệt): an earlier content was approved;
- ``expired`` (hết hạn): past its ``valid_until``, whatever else is true.

Scripts are written to ``scripts/<id>.md`` atomically (a temporary file beside it, checked
exactly as ``check`` reads scripts, then renamed), so a station kept in git still works
and a mistake never leaves half a file.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from broadcaster.app.actors import Actor
from broadcaster.app.approvals import approval_states
from broadcaster.app.audit import audited
from broadcaster.app.context import StationContext
from broadcaster.app.permissions import Action
from broadcaster.config.scripts_loader import load_script, split_front_matter
from broadcaster.core.errors import ConfigErrors, FieldProblem, Problem
from broadcaster.core.model import Bulletin
from broadcaster.core.timeutil import to_local
from broadcaster.i18n import _
from broadcaster.store import reviews
from broadcaster.store.reviews import REJECTED, SUBMITTED, ReviewRecord


class EditorialState(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    REJECTED = "rejected"
    APPROVED = "approved"
    CHANGED = "changed-since-approval"
    EXPIRED = "expired"


#: The front matter's fields in the order a written script lists them.
FIELDS = (
    "id",
    "title",
    "campaign",
    "tags",
    "priority",
    "valid_from",
    "valid_until",
    "zones",
    "language",
    "audio",
    "repeat",
    "author",
)


@dataclass(frozen=True)
class BulletinSummary:
    """One line of the bulletins' list."""

    bulletin: Bulletin
    state: EditorialState
    approval: str  # approvals.approval_state: approved, audio-missing, unapproved...
    review: ReviewRecord | None  # the latest submission or rejection, of any content

    @property
    def id(self) -> str:
        return self.bulletin.id

    def as_dict(self) -> dict[str, object]:
        b = self.bulletin
        return {
            "id": b.id,
            "title": b.title,
            "campaign": b.campaign,
            "priority": str(b.priority),
            "author": b.author,
            "valid_from": b.valid_from.isoformat() if b.valid_from else None,
            "valid_until": b.valid_until.isoformat() if b.valid_until else None,
            "zones": list(b.zone_ids),
            "state": str(self.state),
            "approval": self.approval,
            "review": self.review.as_dict() if self.review else None,
        }


def _state(
    bulletin: Bulletin, approval: str, review: ReviewRecord | None, today: date
) -> EditorialState:
    if bulletin.valid_until and bulletin.valid_until < today:
        return EditorialState.EXPIRED
    if approval in ("approved", "audio-missing"):
        return EditorialState.APPROVED
    if review is not None and review.script_sha256 == bulletin.script_sha256:
        return EditorialState.PENDING if review.action == SUBMITTED else EditorialState.REJECTED
    if approval == "changed-since-approval":
        return EditorialState.CHANGED
    return EditorialState.DRAFT


def list_bulletins(ctx: StationContext) -> tuple[list[BulletinSummary], list[Problem]]:
    """Every script with its editorial state; the scripts that cannot be read, apart."""
    bulletins, problems = ctx.scripts()
    approvals = approval_states(ctx, bulletins)
    with ctx.db.read() as s:
        latest = reviews.latest_reviews(s)
    today = to_local(ctx.clock.now(), ctx.station.tz).date()
    rows = [
        BulletinSummary(
            b,
            _state(b, approvals.get(b.id, "unapproved"), latest.get(b.id), today),
            approvals.get(b.id, "unapproved"),
            latest.get(b.id),
        )
        for b in bulletins
    ]
    return rows, problems


def pending(ctx: StationContext) -> list[BulletinSummary]:
    """The approvers' queue: the bulletins whose current content awaits a decision,
    the longest waiting first."""
    rows, _problems = list_bulletins(ctx)
    waiting = [r for r in rows if r.state is EditorialState.PENDING]
    return sorted(waiting, key=lambda r: (r.review.at if r.review else ctx.clock.now(), r.id))


def summary(ctx: StationContext, bulletin_id: str) -> BulletinSummary:
    rows, _problems = list_bulletins(ctx)
    for row in rows:
        if row.id == bulletin_id:
            return row
    ctx.bulletin(bulletin_id)  # raises the clear error (its own problems, or unknown id)
    raise AssertionError("unreachable")


def script_text(ctx: StationContext, bulletin_id: str) -> str:
    """The script file's text as it is on disk."""
    bulletin = ctx.bulletin(bulletin_id)
    return (ctx.root / bulletin.source_path).read_text(encoding="utf-8")


def compose(fields: Mapping[str, Any], body: str) -> str:
    """A script file from its front-matter fields and its body (the way the sample
    scripts are written: YAML between ``---`` lines, then the text)."""
    ordered = {k: fields[k] for k in FIELDS if fields.get(k) not in (None, "", [])}
    extra = {k: v for k, v in fields.items() if k not in FIELDS and v not in (None, "", [])}
    front = yaml.safe_dump(
        {**ordered, **extra}, allow_unicode=True, sort_keys=False, width=1000
    ).rstrip("\n")
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return f"---\n{front}\n---\n\n{text}\n"


#: The fields a form gives as a comma-separated list.
LIST_FIELDS = ("tags", "zones")


def form_of(ctx: StationContext, bulletin_id: str) -> tuple[dict[str, str], str]:
    """A script's front-matter fields as a form shows them (text; a list as "a, b") and
    its body, from the file as written (``zones: all`` stays ``all``)."""
    text = script_text(ctx, bulletin_id)
    parts = split_front_matter(text)
    front, body = (parts[0], parts[1]) if parts else ("", text)
    try:
        data = yaml.safe_load(front) or {}
    except yaml.YAMLError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    fields: dict[str, str] = {}
    for key in FIELDS:
        value = data.get(key)
        if value is None:
            fields[key] = ""
        elif isinstance(value, list | tuple):
            fields[key] = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            fields[key] = "true" if value else "false"
        else:
            fields[key] = str(value)
    return fields, body.strip("\n")


def fields_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """A form's text fields as front-matter values: lists split at commas, the rest
    as typed (the script loader checks them exactly as ``check`` does)."""
    values: dict[str, Any] = {}
    for key in FIELDS:
        text = str(form.get(key) or "").strip()
        if not text:
            continue
        if key in LIST_FIELDS and text != "all":
            values[key] = [part.strip() for part in text.split(",") if part.strip()]
        elif key == "repeat":
            values[key] = text.lower() in ("true", "yes", "1", "có", "co")
        else:
            values[key] = text
    return values


def save_script(
    ctx: StationContext,
    actor: Actor,
    fields: Mapping[str, Any],
    body: str,
    *,
    create: bool,
) -> Bulletin:
    """Write ``scripts/<id>.md`` from a form: all of it or nothing.

    ``create`` refuses an id that exists (two officers must not overwrite each other's
    bulletin by choosing the same id); an edit needs the script to exist. A new
    bulletin's author is the actor unless the form names one. Problems come back as
    :class:`ConfigErrors` whose problems name the field, exactly as ``check`` reports
    them."""
    values = dict(fields)
    bulletin_id = str(values.get("id") or "").strip()
    if not bulletin_id:
        raise FieldProblem(_("a bulletin needs an id"), field="id")
    values["id"] = bulletin_id
    target = ctx.root / "scripts" / f"{bulletin_id}.md"
    if create and target.exists():
        raise FieldProblem(
            _("a bulletin '{id}' exists already: choose another id").format(id=bulletin_id),
            field="id",
        )
    if not create and not target.is_file():
        ctx.bulletin(bulletin_id)  # the clear "no bulletin" error
    if create and not values.get("author"):
        values["author"] = actor.name
    # The form never names a file: a recording is attached by recordings.attach_recording
    # (checked, kept under a name the client does not choose); an edit keeps the one the
    # script names.
    values.pop("audio", None)
    if not create:
        kept = form_of(ctx, bulletin_id)[0].get("audio")
        if kept:
            values["audio"] = kept
    text = compose(values, body)
    with audited(
        ctx, actor, Action.BULLETIN_WRITE, bulletin_id, detail="created" if create else "edited"
    ) as note:
        bulletin = _write_checked(ctx, target, text)
        note.detail = f"{'created' if create else 'edited'} {bulletin.script_sha256[:16]}"
        return bulletin


def rewrite_script(
    ctx: StationContext, bulletin_id: str, fields: Mapping[str, str], body: str
) -> Bulletin:
    """An existing script written again from its fields as :func:`form_of` gives them,
    one of them changed by the application itself (a new recording): checked and atomic
    like an edit. The caller decides who may, and audits."""
    bulletin = ctx.bulletin(bulletin_id)
    values = fields_from_form(fields)
    values["id"] = bulletin.id
    return _write_checked(ctx, ctx.root / bulletin.source_path, compose(values, body))


def _write_checked(ctx: StationContext, target: Path, text: str) -> Bulletin:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")  # not *.md: never read
    try:
        staging.write_text(text, encoding="utf-8")
        bulletin, problems = load_script(staging, ctx.root, ctx.station)
        if problems or bulletin is None:
            shown = str(target.relative_to(ctx.root))
            raise ConfigErrors(
                [Problem(p.message, path=shown, line=p.line, field=p.field) for p in problems]
            )
        if bulletin.id != target.stem:
            raise FieldProblem(_("the id cannot be changed"), field="id")
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return ctx.bulletin(bulletin.id)


def submit(ctx: StationContext, actor: Actor, bulletin_id: str) -> ReviewRecord:
    """Send the bulletin's current content to the approvers; its text is kept, so that a
    later version can be compared with it."""
    bulletin = ctx.bulletin(bulletin_id)
    text = (ctx.root / bulletin.source_path).read_text(encoding="utf-8")
    with audited(ctx, actor, Action.BULLETIN_WRITE, bulletin.id, detail="submitted") as note:
        review = ReviewRecord(
            bulletin.id, bulletin.script_sha256, SUBMITTED, actor.name, ctx.clock.now()
        )
        with ctx.db.write() as s:
            reviews.keep_text(s, bulletin.id, bulletin.script_sha256, text, review.at)
            reviews.add_review(s, review)
        note.detail = f"submitted {bulletin.script_sha256[:16]}"
        return review


def reject(ctx: StationContext, actor: Actor, bulletin_id: str, reason: str) -> ReviewRecord:
    """Send the bulletin's current content back to its officer, with the reason: it is
    not approved, and an airing of it never goes out (the approval gate only lets an
    approved content through)."""
    reason = " ".join(reason.split())
    if not reason:
        raise FieldProblem(_("say why the bulletin is sent back"), field="reason")
    if len(reason) > 2000:
        raise FieldProblem(_("the reason is longer than 2000 characters"), field="reason")
    bulletin = ctx.bulletin(bulletin_id)
    text = (ctx.root / bulletin.source_path).read_text(encoding="utf-8")
    with audited(ctx, actor, Action.BULLETIN_REJECT, bulletin.id) as note:
        review = ReviewRecord(
            bulletin.id, bulletin.script_sha256, REJECTED, actor.name, ctx.clock.now(), reason
        )
        with ctx.db.write() as s:
            reviews.keep_text(s, bulletin.id, bulletin.script_sha256, text, review.at)
            reviews.add_review(s, review)
        note.detail = reason[:200]
        return review


def history(ctx: StationContext, bulletin_id: str) -> list[ReviewRecord]:
    with ctx.db.read() as s:
        return reviews.reviews_of(s, bulletin_id)


def changes_since_approval(ctx: StationContext, bulletin_id: str) -> str | None:
    """A unified diff from the last approved version's text to the current one; None
    when it was never approved, or its approved text was not kept (approved before the
    editorial trail existed)."""
    bulletin = ctx.bulletin(bulletin_id)
    current = (ctx.root / bulletin.source_path).read_text(encoding="utf-8")
    with ctx.db.read() as s:
        sha = reviews.last_approved_script(s, bulletin.id)
        before = reviews.text_of(s, bulletin.id, sha) if sha else None
    if before is None:
        return None
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            current.splitlines(keepends=True),
            fromfile=_("approved version"),
            tofile=_("current version"),
        )
    )
