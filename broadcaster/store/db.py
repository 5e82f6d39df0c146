"""Opening the database and the one write discipline every command follows.

SQLite (the default, WAL mode) takes its write lock at the start of a write transaction
(``BEGIN IMMEDIATE``), so two processes never interleave a read-then-write of the log's
chain head; PostgreSQL gets the same effect from ``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from broadcaster.store import tables  # noqa: F401  (registers the tables)

_WRITE_LOCKS: dict[str, threading.RLock] = {}


class Database:
    def __init__(self, url: str, *, readonly: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, object] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _sqlite_discipline(self.engine, readonly)
        self._writer = self.engine.execution_options(broadcaster_write=True)
        self._lock = _WRITE_LOCKS.setdefault(url, threading.RLock())

    def create(self) -> None:
        SQLModel.metadata.create_all(self.engine)
        # create_all adds indexes only with new tables: databases made before an index
        # was declared get it here (CREATE INDEX IF NOT EXISTS, cheap when present).
        for table in SQLModel.metadata.sorted_tables:
            for index in table.indexes:
                index.create(self.engine, checkfirst=True)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: everything a command changes lands together or not at all."""
        with self._lock, Session(self._writer, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_discipline(engine: Engine, readonly: bool) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        if readonly:
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
            return
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        if conn.get_execution_options().get("broadcaster_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")
