"""Tables of the station key's signatures (new tables: the log's columns and hashing are
untouched). Kept apart from ``store/signing.py`` so opening a database does not load the
cryptography library."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class ApprovalSignature(SQLModel, table=True):
    """The station key's signature over one approval row's content."""

    __tablename__ = "approval_signature"

    approval_id: int = Field(primary_key=True)
    public_key: str = Field(max_length=64)  # hex of the raw Ed25519 public key
    signature: str = Field(max_length=128)  # hex
    signed_at: datetime


class SignedLogHead(SQLModel, table=True):
    """A signed tree head: the log had ``count`` entries ending in ``head_hash``."""

    __tablename__ = "signed_log_head"

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(max_length=64)
    count: int = Field(index=True)
    head_hash: str = Field(max_length=64)
    signed_at: datetime
    public_key: str = Field(max_length=64)
    signature: str = Field(max_length=128)
