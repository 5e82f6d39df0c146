"""Opening the database and the one write discipline every command follows.

SQLite (the default, WAL mode) takes its write lock at the start of a write transaction
(``BEGIN IMMEDIATE``), so two processes never interleave a read-then-write of the log's
chain head; PostgreSQL gets the same effect from ``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlmodel import Session, SQLModel, create_engine

from broadcaster.core.errors import BroadcasterError
from broadcaster.i18n import _
from broadcaster.store import signed_tables, tables  # noqa: F401  (registers the tables)
from broadcaster.store.errors import DatabaseFailure

# ``Session`` is also the name the layers above use in type hints for the transaction
# :meth:`Database.read` and :meth:`Database.write` hand out: they pass it back to the
# store's repository functions and never import the ORM, nor query it, themselves.
_WRITE_LOCKS: dict[str, threading.RLock] = {}


class Database:
    def __init__(self, url: str, *, readonly: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, object] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = _engine(url, kwargs)
        if self.is_sqlite:
            _check_sqlite_file(self.engine.url, shown_url(url))
        if self.is_sqlite:
            _sqlite_discipline(self.engine, readonly)
        self._writer = self.engine.execution_options(broadcaster_write=True)
        self._lock = _WRITE_LOCKS.setdefault(url, threading.RLock())

    def create(self) -> None:
        try:
            SQLModel.metadata.create_all(self.engine)
        except (OperationalError, DatabaseError) as exc:
            raise BroadcasterError(
                _("cannot open the database: {err}").format(err=_reason(exc)),
                path=shown_url(self.url),
            ) from None
        _add_missing_columns(self.engine, self._writer)
        # create_all adds indexes only with new tables: databases made before an index
        # was declared get it here (CREATE INDEX IF NOT EXISTS, cheap when present).
        for table in SQLModel.metadata.sorted_tables:
            for index in table.indexes:
                index.create(self.engine, checkfirst=True)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read transaction; a query that fails in it raises :class:`DatabaseFailure`."""
        with _failures_as_own(), Session(self.engine) as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: everything a command changes lands together or not at all.
        A query (or the commit) that fails in it raises :class:`DatabaseFailure`."""
        with (
            _failures_as_own(),
            self._lock,
            Session(self._writer, expire_on_commit=False) as session,
        ):
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def write_each(
        self, works: list[Callable[[Session], object]]
    ) -> list[tuple[object, BaseException | None]]:
        """One transaction for many independent changes (the outcomes of a thousand zones
        that ended together), each in a savepoint of its own: a change that fails is
        undone alone and its error returned in its place, ``(result, None)`` for the rest,
        which commit together. A failing commit raises :class:`DatabaseFailure` (then
        nothing was kept)."""
        done: list[tuple[object, BaseException | None]] = []
        with self.write() as session:
            for work in works:
                try:
                    with _failures_as_own(), session.begin_nested():
                        done.append((work(session), None))
                except Exception as exc:  # this change alone is undone
                    done.append((None, exc))
        return done

    def dispose(self) -> None:
        self.engine.dispose()


@contextlib.contextmanager
def _failures_as_own() -> Iterator[None]:
    """SQLAlchemy's errors leave a transaction as the store's own :class:`DatabaseFailure`
    (the layers above catch that, never the toolkit's classes); the original is its cause."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise DatabaseFailure(exc) from exc


def open_readonly(url: str) -> Database | None:
    """The station's database opened so that reading it creates or changes nothing (for
    ``check``); None when there is no database yet.

    A read-only SQLite connection would leave -wal/-shm files behind; when no other process
    has the database open (no -wal), everything is in the main file: it is read as is
    (``immutable``)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            return None
        live = path.with_name(path.name + "-wal").exists()
        url = f"sqlite:///file:{path}?{'mode=ro' if live else 'immutable=1'}&uri=true"
    return Database(url, readonly=True)


def copy_to_sqlite(url: str, target: Path) -> None:
    """The database at ``url`` as it is now, into a new SQLite file ``target`` (a
    simulation's own copy of the station).

    SQLite: the online backup API on a read-only connection (a consistent snapshot even
    while the daemon writes; ``immutable`` when no other process has the file open, so
    not even a ``-shm`` file appears beside it); a file that does not exist yet (a station
    that never ran) gives an empty database. Another database (PostgreSQL): every table
    copied row by row through SQLAlchemy into the same schema."""
    if url.startswith("sqlite:///"):
        source = Path(url.removeprefix("sqlite:///")).resolve()
        if not source.is_file():
            Database(f"sqlite:///{target}").create()
            return
        live = source.with_name(source.name + "-wal").exists()
        mode = "mode=ro" if live else "immutable=1"
        src = sqlite3.connect(f"file:{source}?{mode}", uri=True)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return
    copy = Database(f"sqlite:///{target}")
    copy.create()
    origin = Database(url, readonly=True)
    try:
        with origin.engine.connect() as read, copy.engine.begin() as write:
            for table in SQLModel.metadata.sorted_tables:
                rows = [dict(r._mapping) for r in read.execute(table.select())]
                if rows:
                    write.execute(table.insert(), rows)
    finally:
        origin.dispose()
        copy.dispose()


def shown_url(url: str) -> str:
    """The URL as it may be printed: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url[:200]


def _engine(url: str, kwargs: dict[str, object]) -> Engine:
    """create_engine, with a wrong URL or a missing driver said in one line."""
    try:
        return create_engine(url, **kwargs)
    except ArgumentError:
        raise BroadcasterError(
            _("not a database URL (e.g. sqlite:///station.db or postgresql+psycopg://...)"),
            path=shown_url(url),
        ) from None
    except NoSuchModuleError:
        raise BroadcasterError(_("unknown database kind in the URL"), path=shown_url(url)) from None
    except ImportError as exc:
        raise BroadcasterError(
            _(
                "the database driver is not installed ({module}): install it or name another "
                "driver in the URL"
            ).format(module=exc.name or exc),
            path=shown_url(url),
        ) from None


def _check_sqlite_file(url, shown: str) -> None:
    """A SQLite path that cannot become a station database, said before SQLite says
    'unable to open database file' or 'file is not a database' from deep inside."""
    database = url.database
    if not database or database == ":memory:" or url.query.get("mode") or "uri" in url.query:
        return
    path = Path(database)
    if path.is_dir():
        raise BroadcasterError(_("is a folder, not a database file"), path=shown)
    if not path.parent.is_dir():
        raise BroadcasterError(
            _("the folder {folder} does not exist").format(folder=path.parent), path=shown
        )
    if path.is_file() and path.resolve() not in _OPENED_HERE:
        try:
            with path.open("rb") as fh:
                head = fh.read(len(SQLITE_MAGIC))
        except OSError as exc:
            raise BroadcasterError(
                _("cannot read the database: {err}").format(err=exc.strerror), path=shown
            ) from None
        if head and head != SQLITE_MAGIC:
            raise BroadcasterError(_("not a SQLite database file"), path=shown)
    _OPENED_HERE.add(path.resolve())


SQLITE_MAGIC = b"SQLite format 3\x00"
#: The SQLite files this process has opened as a database. Their header is read with
#: ``open()`` the first time only: closing any descriptor of a file drops every POSIX lock
#: the process holds on it, SQLite's included, so a process that opens the database again
#: while its first connections live (``broadcaster web --with-daemon``: the pages', then
#: the daemon's) would lose its shared lock, and the next process to close its own
#: connection would take itself for the last one and delete the live ``-wal`` and
#: ``-shm`` under it: the daemon's writes would then go where no other process reads them.
_OPENED_HERE: set[Path] = set()


def _reason(exc: DBAPIError) -> str:
    """The driver's own words, first line only."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


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


def _add_missing_columns(engine: Engine, writer: Engine) -> None:
    """Bring a station's database up to the tables' columns, additively.

    Stations keep their database for years; a release that adds a nullable or defaulted
    column must open last year's file without a migration tool. Columns are never
    dropped or changed here."""
    if not _missing_columns(inspect(engine)):
        return
    with writer.begin() as conn:  # re-checked under the write lock: one process adds them
        for table, column in _missing_columns(inspect(conn)):
            kind = column.type.compile(dialect=engine.dialect)
            default = _literal_default(table.name, column)
            conn.exec_driver_sql(
                f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}{default}'
            )


def _missing_columns(inspector) -> list[tuple]:
    existing = set(inspector.get_table_names())
    missing = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name in existing:
            have = {c["name"] for c in inspector.get_columns(table.name)}
            missing += [(table, c) for c in table.columns if c.name not in have]
    return missing


def _literal_default(table_name: str, column) -> str:
    """The model's Python default as SQL, so existing rows get it (and NOT NULL holds)."""
    model = next(
        (m for m in SQLModel.__subclasses__() if getattr(m, "__tablename__", None) == table_name),
        None,
    )
    info = model.model_fields.get(column.name) if model is not None else None
    value = info.default if info is not None else None
    if isinstance(value, bool):
        return f" DEFAULT {'TRUE' if value else 'FALSE'} NOT NULL"
    if isinstance(value, int | float):
        return f" DEFAULT {value} NOT NULL"
    if isinstance(value, str):
        return " DEFAULT '{}' NOT NULL".format(value.replace("'", "''"))
    return ""
