"""A process that opens the station's database twice (``broadcaster web --with-daemon``:
the pages' connection, then the daemon's) keeps its SQLite locks, so another process
that reads the database and closes never deletes the live ``-wal`` under it, and sees
what the first process writes afterwards (store/db.py reads a file's header with
``open()`` only at its first opening in the process: closing a descriptor of the file
drops every POSIX lock of the process).

Found by tests/test_web_emergency_browser.py: the daemon's outcomes of an emergency went
to a deleted ``-wal`` that no other process could read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from broadcaster.core.errors import BroadcasterError
from broadcaster.store.db import Database

READ_AND_CLOSE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
print(conn.execute("select count(*) from t").fetchone()[0])
conn.close()
"""


def _other_process_counts(path: Path) -> int:
    """What another process reads, opening and closing its own connection."""
    done = subprocess.run(
        [sys.executable, "-c", READ_AND_CLOSE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(done.stdout)


def test_opening_the_database_again_keeps_this_processes_locks(tmp_path: Path):
    path = tmp_path / "station.db"
    first = Database(f"sqlite:///{path}")
    first.create()
    with first.engine.begin() as conn:
        conn.exec_driver_sql("create table t (x integer)")
        conn.exec_driver_sql("insert into t values (1)")
    second = Database(f"sqlite:///{path}")  # the daemon's, beside the pages'
    try:
        assert _other_process_counts(path) == 1
        wal = path.with_name("station.db-wal")
        assert wal.exists() and path.with_name("station.db-shm").exists()
        with second.engine.begin() as conn:
            conn.exec_driver_sql("insert into t values (2)")
        assert _other_process_counts(path) == 2  # not written to a deleted -wal
        assert wal.exists()
    finally:
        second.dispose()
        first.dispose()


def test_a_file_that_is_not_a_database_is_still_said_so(tmp_path: Path):
    text = tmp_path / "station.db"
    text.write_text("not a database\n", encoding="utf-8")
    with pytest.raises(BroadcasterError, match="not a SQLite database file"):
        Database(f"sqlite:///{text}")
    empty = tmp_path / "new.db"
    empty.touch()
    Database(f"sqlite:///{empty}").dispose()  # an empty file is a new database
    # a database damaged past its header fails when it is read (the store's failure)
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    Database(f"sqlite:///{damaged}").dispose()
