"""SQLModel tables. Instants are stored as naive UTC (portable to PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from broadcaster.core.model import AiringRecord, ApprovalRecord, ReceiverOutcome


class Rendition(SQLModel, table=True):
    """Audio made for one exact script content; content-addressed by ``render_key``."""

    id: int | None = Field(default=None, primary_key=True)
    bulletin_id: str = Field(index=True, max_length=64)
    script_sha256: str = Field(max_length=64)
    render_key: str = Field(max_length=64, index=True)
    engine: str = Field(max_length=32)  # "recorded" for a recording
    voice: str = Field(default="", max_length=64)
    preferred_engine: str = Field(default="", max_length=32)  # the chain's first, then
    fallback: bool = False  # spoken by a later engine: re-rendered when the first works
    audio_path: str = Field(max_length=512)  # relative to the station
    audio_sha256: str = Field(max_length=64)
    duration_seconds: float
    loudness_lufs: float | None = None  # measured on the delivered file (EBU R128)
    true_peak_dbtp: float | None = None
    created_at: datetime


class Approval(SQLModel, table=True):
    """Leadership's approval of one exact content: the script bytes and the audio bytes."""

    id: int | None = Field(default=None, primary_key=True)
    bulletin_id: str = Field(index=True, max_length=64)
    script_sha256: str = Field(max_length=64)
    audio_sha256: str = Field(max_length=64)
    approved_by: str = Field(max_length=128)
    approved_at: datetime

    __table_args__ = (UniqueConstraint("bulletin_id", "script_sha256", "audio_sha256"),)

    def record(self) -> ApprovalRecord:
        """The row as plain frozen data, for what leaves the store."""
        return ApprovalRecord(
            bulletin_id=self.bulletin_id,
            script_sha256=self.script_sha256,
            audio_sha256=self.audio_sha256,
            approved_by=self.approved_by,
            approved_at=self.approved_at,
        )


class AiringRow(SQLModel, table=True):
    __tablename__ = "airing"

    id: int | None = Field(default=None, primary_key=True)
    zone_id: str = Field(max_length=64)
    bulletin_id: str = Field(max_length=64, index=True)
    campaign: str = Field(max_length=64)
    tags: str = Field(default=",", max_length=512)  # ",a,b," so LIKE '%,a,%' matches exactly
    priority: str = Field(max_length=16)
    origin: str = Field(max_length=16)
    status: str = Field(max_length=16)
    scheduled_at: datetime
    window_end: datetime
    session_id: str | None = Field(default=None, max_length=64)
    week: str = Field(max_length=8)
    duration_seconds: float = 0.0
    created_by: str = Field(max_length=128)
    created_at: datetime
    reason: str = Field(default="", max_length=512)
    parent_id: int | None = Field(default=None)
    started_at: datetime | None = None
    ended_at: datetime | None = None

    __table_args__ = (
        Index("ix_airing_status_time", "status", "scheduled_at"),
        Index("ix_airing_zone_week", "zone_id", "week"),
        # A week's airings by time (``plan`` reads the week it books): without it SQLite
        # scans every week the station ever planned.
        Index("ix_airing_time", "scheduled_at"),
    )

    def record(self) -> AiringRecord:
        """The row as plain frozen data, for what leaves the store."""
        return AiringRecord(
            id=self.id or 0,
            zone_id=self.zone_id,
            bulletin_id=self.bulletin_id,
            campaign=self.campaign,
            priority=self.priority,
            origin=self.origin,
            status=self.status,
            scheduled_at=self.scheduled_at,
            window_end=self.window_end,
            session_id=self.session_id,
            week=self.week,
            duration_seconds=self.duration_seconds,
            created_by=self.created_by,
            reason=self.reason,
            parent_id=self.parent_id,
            started_at=self.started_at,
            ended_at=self.ended_at,
        )


class LogEntry(SQLModel, table=True):
    """The as-run log: one row per outcome, append-only, each hash-chained to the last."""

    __tablename__ = "as_run_log"

    seq: int = Field(primary_key=True)
    airing_id: int | None = Field(default=None, index=True)
    zone_id: str = Field(max_length=64)
    bulletin_id: str = Field(max_length=64)
    audio_sha256: str = Field(default="", max_length=64)
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str = Field(max_length=16)
    reason: str = Field(default="", max_length=512)
    approved_by: str = Field(default="", max_length=128)
    triggered_by: str = Field(max_length=128)
    recorded_at: datetime
    # Per-receiver verdicts of a networked zone ("r1=played,r2=no-ack"); hashed when set.
    receivers: str = Field(default="", max_length=4096)
    # What status and the reports judge, copied from the airing when it is closed so that
    # the chain protects it (issue 10): the airing table is a plan, not evidence. Empty in
    # entries written before these existed (then hashed without them, like ``receivers``).
    campaigns: str = Field(default="", max_length=640)  # ",campaign,tag,...," (LIKE-exact)
    week: str = Field(default="", max_length=8)  # ISO week of the slot, station time
    priority: str = Field(default="", max_length=16)
    origin: str = Field(default="", max_length=16)
    duration_seconds: float = 0.0  # the airtime booked (the approved audio's length)
    # The clock the entry was made under: "" real, "simulated", "shifted:+Ns" (hashed).
    clock: str = Field(default="", max_length=32)
    # A relay window's evidence (issue 16), hashed only when set like ``receivers``: the
    # source relayed, the seconds that really went out, and each dropout and cut as JSON
    # ([{"at": ISO instant, "seconds": s, "kind": "down"|"emergency"|...}]).
    source: str = Field(default="", max_length=64)
    relayed_seconds: float = 0.0
    dropouts: str = Field(default="", max_length=4096)
    prev_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64)

    __table_args__ = (
        Index("ix_log_zone_time", "zone_id", "scheduled_at"),
        # Reports read a period's entries in time order (issue 5): without it SQLite walks
        # the (zone, time) index and fetches rows at random, several times slower.
        Index("ix_log_time", "scheduled_at"),
        # Per-bulletin report figures straight from this index, without sorting the log.
        Index("ix_log_bulletin", "bulletin_id", "outcome", "zone_id", "scheduled_at"),
        # Finding entries made under a clock that is not the real one, on every report.
        Index("ix_log_clock", "clock"),
    )


class ChainHead(SQLModel, table=True):
    """The log's newest hash and length, kept apart so truncating the log is detectable."""

    __tablename__ = "log_chain_head"

    id: int = Field(default=1, primary_key=True)
    count: int = 0
    head_hash: str = Field(default="", max_length=64)
    updated_at: datetime | None = None


class ReceiverReport(SQLModel, table=True):
    """What each receiver of a networked zone did with an airing, next to its log entry.

    The verdicts are also in the log entry's hashed ``receivers`` field; this table keeps
    the details (times, seconds played, the receiver's own reason) for queries.
    """

    __tablename__ = "receiver_report"

    id: int | None = Field(default=None, primary_key=True)
    log_seq: int = Field(index=True)
    airing_id: int | None = Field(default=None, index=True)
    zone_id: str = Field(max_length=64)
    receiver_id: str = Field(max_length=64, index=True)
    outcome: str = Field(max_length=16)
    reason: str = Field(default="", max_length=512)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    played_seconds: float | None = None
    scheduled_at: datetime | None = None
    recorded_at: datetime

    def record(self) -> ReceiverOutcome:
        """The row as plain frozen data, for what leaves the store."""
        return ReceiverOutcome(
            log_seq=self.log_seq,
            airing_id=self.airing_id,
            zone_id=self.zone_id,
            receiver_id=self.receiver_id,
            outcome=self.outcome,
            reason=self.reason,
            started_at=self.started_at,
            ended_at=self.ended_at,
            played_seconds=self.played_seconds,
            scheduled_at=self.scheduled_at,
        )


class UserAccount(SQLModel, table=True):
    """A person who signs in (issue 13): an argon2id hash, never the password itself."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    full_name: str = Field(default="", max_length=128)
    password_hash: str = Field(max_length=256)
    roles: str = Field(default=",", max_length=128)  # ",duyet,van-hanh," like airing.tags
    zones: str = Field(default="", max_length=1024)  # "" = every zone, else ",xa,thon-a,"
    disabled: bool = False
    created_at: datetime
    changed_at: datetime


class LoginFailure(SQLModel, table=True):
    """One failed sign-in, kept so repeated guesses lock the name out for a while."""

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    at: datetime

    __table_args__ = (Index("ix_login_failure_name_at", "name", "at"),)


class WebSession(SQLModel, table=True):
    """A signed-in browser (the web station): the token's SHA-256, never the token."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(max_length=64, unique=True)
    user_name: str = Field(max_length=64, index=True)
    csrf: str = Field(max_length=64)
    created_at: datetime
    expires_at: datetime
    address: str = Field(default="", max_length=64)


class AuditEntry(SQLModel, table=True):
    """The audit trail: who did or tried what, append-only, hash-chained like the log."""

    __tablename__ = "audit_log"

    seq: int = Field(primary_key=True)
    recorded_at: datetime
    actor: str = Field(max_length=128)
    by: str = Field(default="", max_length=128)  # the name given with --by, for the CLI
    roles: str = Field(default="", max_length=128)
    face: str = Field(max_length=16)
    address: str = Field(default="", max_length=128)
    action: str = Field(max_length=32)
    target: str = Field(default="", max_length=256)
    result: str = Field(max_length=16)
    detail: str = Field(default="", max_length=1024)
    prev_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64)

    __table_args__ = (Index("ix_audit_time", "recorded_at"),)


class AuditHead(SQLModel, table=True):
    """The audit trail's newest hash and length, so cutting off its end is detectable."""

    __tablename__ = "audit_chain_head"

    id: int = Field(default=1, primary_key=True)
    count: int = 0
    head_hash: str = Field(default="", max_length=64)
    updated_at: datetime | None = None


class StopRequest(SQLModel, table=True):
    """An operator's request (``cancel ID --stop``) that the daemon stop an airing on air.

    The daemon's sweep stops the playback and logs the airing ``interrupted`` with who
    asked; a request for an airing left playing by a crash is honoured at the restart."""

    __tablename__ = "stop_request"

    id: int | None = Field(default=None, primary_key=True)
    airing_id: int = Field(index=True)
    requested_by: str = Field(max_length=128)
    requested_at: datetime
    handled_at: datetime | None = None


class ScriptText(SQLModel, table=True):
    """One exact script content (its bytes' SHA-256), kept once."""

    __tablename__ = "script_text"

    id: int | None = Field(default=None, primary_key=True)
    bulletin_id: str = Field(index=True, max_length=64)
    script_sha256: str = Field(max_length=64)
    text: str
    kept_at: datetime

    __table_args__ = (UniqueConstraint("bulletin_id", "script_sha256"),)


class ScriptReview(SQLModel, table=True):
    """A submission for approval, or a rejection with its reason, of one content."""

    __tablename__ = "script_review"

    id: int | None = Field(default=None, primary_key=True)
    bulletin_id: str = Field(index=True, max_length=64)
    script_sha256: str = Field(max_length=64)
    action: str = Field(max_length=16)  # submitted | rejected
    by: str = Field(max_length=128)
    at: datetime
    reason: str = Field(default="", max_length=2000)


class RelayRun(SQLModel, table=True):
    """One relay window of one zone that the daemon began (issue 16): written ahead,
    before any audio goes out, and closed together with its as-run entry, so a window is
    relayed once and logged once, and a crash mid-window is found at the restart."""

    __tablename__ = "relay_run"

    id: int | None = Field(default=None, primary_key=True)
    zone_id: str = Field(max_length=64)
    relay_id: str = Field(max_length=64)
    source_id: str = Field(max_length=64)
    window_start: datetime
    window_end: datetime
    status: str = Field(default="playing", max_length=16)  # playing | closed
    started_at: datetime
    log_seq: int | None = None

    __table_args__ = (
        UniqueConstraint("zone_id", "relay_id", "window_start", name="uq_relay_run_window"),
        Index("ix_relay_run_status", "status"),
    )


class LiveBroadcast(SQLModel, table=True):
    """A live broadcast (issue 16): asked for by ``broadcaster live`` (``booked``), taken
    on air by the process holding the station (``on-air``: the daemon, or the command
    itself when none runs), ``done`` once every zone's as-run entry is written. The
    command and the daemon meet here: the stop asked for (``stop_by``) too."""

    __tablename__ = "live_broadcast"

    id: int | None = Field(default=None, primary_key=True)
    zones: str = Field(max_length=8000)  # comma-separated zone ids
    input: str = Field(max_length=512)  # an ALSA device, or a file standing in for one
    speaker: str = Field(max_length=256)
    max_seconds: float
    booked_at: datetime
    state: str = Field(default="booked", max_length=16)  # booked | on-air | done
    started_at: datetime | None = None
    ends_by: datetime | None = None  # the time-out: started_at + max_seconds
    stop_by: str | None = Field(default=None, max_length=256)
    ended_at: datetime | None = None
    recording: str = Field(default="", max_length=512)  # relative to the station
    sha256: str = Field(default="", max_length=64)
    clock: str = Field(default="", max_length=64)

    __table_args__ = (Index("ix_live_broadcast_state", "state"),)


class AirAlert(SQLModel, table=True):
    """Dead air on what went out (issue 16): a silence longer than the station's minimum
    during a relay (later a live broadcast or a bulletin). Raised while the air is still
    dead (``seconds`` so far, ``ended_at`` empty) and completed when sound comes back;
    what the faces list and the hook is told of. The relay's as-run entry carries the
    same span in its hashed ``dropouts``: this row is for attention, not evidence."""

    __tablename__ = "air_alert"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="silence", max_length=16)
    zone_id: str = Field(max_length=64)
    what: str = Field(default="", max_length=128)  # "relay:<relay id>", a bulletin id
    source: str = Field(default="", max_length=64)
    started_at: datetime  # where the silence began (UTC)
    seconds: float = 0.0  # how long it lasted (so far, while ended_at is empty)
    ended_at: datetime | None = None
    raised_at: datetime
    hook: str = Field(default="", max_length=256)  # "", "ok", or why the hook failed
    clock: str = Field(default="", max_length=64)  # "" real, else shifted:/simulated

    __table_args__ = (Index("ix_air_alert_started", "started_at"),)
