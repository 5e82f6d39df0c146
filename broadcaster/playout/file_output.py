"""The ``file`` output: writes what would have played, per zone, with a manifest.

It keeps real time like a sound card would (a playback lasts the audio's duration and can
be cut short), measured on the injected clock, so the simulated driver can run a week in
seconds while the real-time driver waits for real.

Every file is created without following links, through directory descriptors, inside
folders the station's user owns: a link planted in ``out/`` (for a zone's folder, an audio
file or ``manifest.jsonl``) is refused, never written through. Each airing gets its own
file, a copy (never a hard link, so it shares no inode with the approved audio), named
with the instant to the microsecond, the airing id and a random token, so a restart in
the same second as a killed start never collides with what that start wrote.

A thousand zones sharing a slot start at once, so what can be settled ahead is: each
zone's folder is created and opened when the daemon starts (:meth:`FileOutput.prepare`)
or at its first play, and its descriptor and its open ``manifest.jsonl`` are kept. Every
start still checks, with one ``lstat`` each, that the output folder, the zone's folder
and the manifest are the very ones that were opened and checked (same device and inode,
not a link, one link only, the station's own); anything else planted or swapped since
is opened again by the careful path, which refuses it. Descriptors are kept only within
a share of the process's open-file limit; past it a zone is opened per start as before.

The copy itself is made ahead too: the real-time driver cues airings due within
:attr:`FileOutput.lead_seconds`, a background thread copies each into its zone's folder
under a hidden name (``.cue-...``, read-only, not in the manifest: nothing has played),
and the start gives that copy its final name (a new link, which never replaces an
existing name, then the hidden name removed) once it has checked that the staged file is
still the one it wrote, of the audio the start was cleared for. Anything else (no cue,
other audio approved since, a folder swapped) copies at the start as before. A cue that
will not start is removed; hidden copies a killed daemon left are removed when the zone's
folder is opened.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import queue
import resource
import secrets
import stat
import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from broadcaster.core.timeutil import as_utc
from broadcaster.i18n import N_, _
from broadcaster.playout.base import Clock, OutputError, PlayItem, PlayResult, RelayTarget

if TYPE_CHECKING:
    from broadcaster.playout.file_relay import FileRelaySink

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC


class UnsafePath(OSError):
    """A path in the output folder that the station must not write through."""


def _owned_dir(name: str, parent_fd: int | None, shown: str) -> int:
    """Open (creating it 0755 if missing) a folder that is not a link and is owned by the
    station's user; its descriptor."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, 0o755, dir_fd=parent_fd)
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        raise UnsafePath(
            exc.errno,
            N_("{path} is a link or not a folder").format(path=shown)
            if exc.errno in (errno.ELOOP, errno.ENOTDIR)
            else exc.strerror,
        ) from None
    st = os.fstat(fd)
    if st.st_uid != os.geteuid():
        os.close(fd)
        raise UnsafePath(0, N_("{path} is not owned by the station's user").format(path=shown))
    return fd


def open_base_dir(base: Path) -> int:
    """The output folder itself, made if missing, as a descriptor (see :func:`_owned_dir`)."""
    base.parent.mkdir(parents=True, exist_ok=True)
    parent = os.open(base.parent, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    try:
        return _owned_dir(base.name, parent, str(base))
    finally:
        os.close(parent)


def open_zone_dir(base: Path, zone_id: str) -> int:
    """The zone's folder under the output folder, as a descriptor (see :func:`_owned_dir`)."""
    base_fd = open_base_dir(base)
    try:
        return _owned_dir(zone_id, base_fd, str(base / zone_id))
    finally:
        os.close(base_fd)


def _copy_into(zone_fd: int, name: str, source: Path) -> None:
    """A new file ``name`` (O_EXCL: never an existing one, never through a link), read-only,
    holding a copy of ``source``."""
    dst = os.open(
        name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC, 0o644, dir_fd=zone_fd
    )
    try:
        with open(source, "rb") as src:
            size = os.fstat(src.fileno()).st_size
            copied = 0
            while copied < size:
                n = os.sendfile(dst, src.fileno(), copied, size - copied)
                if n == 0:
                    break
                copied += n
        os.fchmod(dst, 0o444)
    except BaseException:
        os.close(dst)
        os.unlink(name, dir_fd=zone_fd)
        raise
    os.close(dst)


def _open_manifest(zone_fd: int, shown: Path) -> tuple[int, os.stat_result]:
    """The zone's ``manifest.jsonl`` opened for appending (created if missing): a regular
    file of the station's user with one link only (a planted symlink, hard link or FIFO
    is refused); its descriptor and status."""
    try:
        fd = os.open(
            "manifest.jsonl",
            os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC,
            0o644,
            dir_fd=zone_fd,
        )
    except OSError as exc:
        raise UnsafePath(
            exc.errno,
            N_("{path} is a link").format(path=shown) if exc.errno == errno.ELOOP else exc.strerror,
        ) from None
    st = os.fstat(fd)
    if not _plain_own_file(st):
        os.close(fd)
        raise UnsafePath(
            0, N_("{path} is not a plain file of the station's own").format(path=shown)
        )
    return fd, st


def _plain_own_file(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1 and st.st_uid == os.geteuid()


def _line(record: dict) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def append_manifest(base: Path, zone_id: str, record: dict) -> None:
    """One line in the zone's ``manifest.jsonl``, opened afresh (see :func:`_open_manifest`)."""
    zone_fd = open_zone_dir(base, zone_id)
    try:
        fd, _st = _open_manifest(zone_fd, base / zone_id / "manifest.jsonl")
    finally:
        os.close(zone_fd)
    try:
        os.write(fd, _line(record))
    finally:
        os.close(fd)


_STAGED = ".cue-"  # hidden copies made ahead of a start (see the module's docstring)

#: How long before a slot the real-time driver cues an airing here, so its copy is made
#: then rather than when a thousand zones start at once.
LEAD_SECONDS = 30.0


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class _ZoneFolder:
    """A zone's folder and manifest, opened and checked once, re-checked at every use.

    ``base_id`` and ``dir_id`` are the status of the output folder and of the zone's
    folder when they were opened through descriptors without following links; a use
    compares them with an ``lstat`` of the paths now. The manifest is compared the same
    way (and must still be a plain file of ours with one link), so a line is written to
    the file that ``out/<zone>/manifest.jsonl`` names now, or the careful path runs.

    Lock order: a folder's ``lock`` may be held while taking its output's, never the
    other way round.
    """

    def __init__(self, base: Path, zone: str) -> None:
        self.base = base
        self.zone = zone
        self.lock = threading.Lock()  # a lane's start and a stop from another thread
        self.closed = False
        base_fd = open_base_dir(base)
        try:
            self.base_id = os.fstat(base_fd)
            self.fd = _owned_dir(zone, base_fd, str(base / zone))
        finally:
            os.close(base_fd)
        self.dir_id = os.fstat(self.fd)
        self.manifest_fd: int | None = None
        self.manifest_id: os.stat_result | None = None
        #: airing id -> (hidden name, audio sha256, status of the staged file)
        self.staged: dict[int, tuple[str, str, os.stat_result]] = {}
        for entry in os.scandir(self.fd):  # hidden copies a killed daemon left
            if entry.name.startswith(_STAGED):
                with contextlib.suppress(OSError):
                    os.unlink(entry.name, dir_fd=self.fd)

    def current(self) -> bool:
        """The folder is still the one opened: neither it nor the output folder swapped."""
        try:
            # The base first: only when it is the folder opened (no link) does the
            # zone's path resolve inside it.
            return _same(os.lstat(self.base), self.base_id) and _same(
                os.lstat(self.base / self.zone), self.dir_id
            )
        except OSError:
            return False

    def append(self, record: dict) -> None:
        shown = self.base / self.zone / "manifest.jsonl"
        if self.manifest_fd is not None:
            try:
                now = os.stat("manifest.jsonl", dir_fd=self.fd, follow_symlinks=False)
            except OSError:
                now = None
            assert self.manifest_id is not None
            if now is None or not _same(now, self.manifest_id) or not _plain_own_file(now):
                os.close(self.manifest_fd)
                self.manifest_fd = self.manifest_id = None
        if self.manifest_fd is None:
            self.manifest_fd, self.manifest_id = _open_manifest(self.fd, shown)
        os.write(self.manifest_fd, _line(record))

    def stage(self, item: PlayItem) -> None:
        """Copy the airing's audio under a hidden name, ready for its start."""
        self.unstage(item.airing_id)
        name = f"{_STAGED}{item.airing_id}_{secrets.token_hex(4)}{item.audio_path.suffix}"
        _copy_into(self.fd, name, item.audio_path)
        st = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        self.staged[item.airing_id] = (name, item.audio_sha256, st)

    def unstage(self, airing_id: int) -> None:
        found = self.staged.pop(airing_id, None)
        if found is not None:
            with contextlib.suppress(OSError):
                os.unlink(found[0], dir_fd=self.fd)

    def take_staged(self, item: PlayItem, name: str) -> bool:
        """Give the staged copy of this airing the final ``name``; False (and the staged
        copy removed) unless it is the file staged, unchanged, of the same audio."""
        found = self.staged.pop(item.airing_id, None)
        if found is None:
            return False
        hidden, sha, was = found
        try:
            now = os.stat(hidden, dir_fd=self.fd, follow_symlinks=False)
        except OSError:
            return False
        same = (
            sha == item.audio_sha256
            and _same(now, was)
            and stat.S_ISREG(now.st_mode)
            and now.st_nlink == 1
            and (now.st_size, now.st_mtime_ns, now.st_ctime_ns)
            == (was.st_size, was.st_mtime_ns, was.st_ctime_ns)
        )
        if same:
            try:  # link(2) never replaces an existing name and never follows one
                os.link(hidden, name, src_dir_fd=self.fd, dst_dir_fd=self.fd, follow_symlinks=False)
            except OSError:
                same = False
        with contextlib.suppress(OSError):
            os.unlink(hidden, dir_fd=self.fd)
        return same

    def close(self) -> None:
        """Under ``lock``: a user that finds ``closed`` set opens the zone afresh."""
        if self.closed:
            return
        self.closed = True
        for airing_id in list(self.staged):
            self.unstage(airing_id)
        if self.manifest_fd is not None:
            os.close(self.manifest_fd)
            self.manifest_fd = None
        os.close(self.fd)


class FilePlayback:
    def __init__(self, clock: Clock, duration: float, output: FileOutput, record: dict) -> None:
        self._clock = clock
        self._ends = clock.now() + timedelta(seconds=duration)
        self._stopped = threading.Event()
        self._output = output
        self._record = record

    def wait(self, timeout: float | None) -> PlayResult | None:
        remaining = (self._ends - self._clock.now()).total_seconds()
        if remaining > 0 and timeout:
            self._stopped.wait(min(timeout, remaining))
            remaining = (self._ends - self._clock.now()).total_seconds()
        if self._stopped.is_set():
            return PlayResult(False, N_("stopped"))
        return PlayResult(True) if remaining <= 0 else None

    def stop(self) -> None:
        if not self._stopped.is_set():
            self._stopped.set()
            at = as_utc(self._clock.now()).isoformat()
            record = {**self._record, "event": "stopped", "at": at}
            # The stop itself stands if the line cannot be written; the log entry says it.
            with contextlib.suppress(OSError):
                self._output.append(self._record["zone"], record)


def _why(exc: OSError) -> str:
    """An OSError in words (``strerror`` is None for some, e.g. shutil's)."""
    return exc.strerror or str(exc) or type(exc).__name__


class FileSettings(BaseModel):
    """``outputs.<name>`` of type ``file``."""

    model_config = ConfigDict(extra="forbid")
    dir: str = Field("out", description="folder, relative to the station, per zone inside")


def _descriptor_budget() -> int:
    """How many zone folders may keep descriptors open (two each): a quarter of the
    process's open-file limit, so sockets, the database and players keep the rest."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 4096
    return max(0, soft // 8)


class FileOutput:
    Settings = FileSettings

    @classmethod
    def check_environment(cls, settings: FileSettings, root: Path) -> list[str]:
        folder = root / settings.dir
        probe = folder if folder.exists() else folder.parent
        if not os.access(probe, os.W_OK):
            return [_("cannot write in '{dir}'").format(dir=settings.dir)]
        return []

    def __init__(self, name: str, settings: dict[str, Any], root: Path, clock: Clock) -> None:
        self.name = name
        self.dir = root / str(settings.get("dir", "out"))
        self.clock = clock
        self._folders: dict[str, _ZoneFolder] = {}
        self._lock = threading.Lock()
        self._budget = _descriptor_budget()
        self._cues: dict[int, str] = {}  # airing id -> zone, cued and not yet started
        self._stager: threading.Thread | None = None
        self._todo: queue.Queue[PlayItem | None] = queue.Queue()

    @property
    def lead_seconds(self) -> float:
        """How long before a slot the real-time driver should :meth:`cue` its airings."""
        return LEAD_SECONDS

    def cue(self, item: PlayItem) -> None:
        """Copy the audio ahead, on a thread of this output (the driver's sweep must not
        wait for a thousand copies)."""
        with self._lock:
            self._cues[item.airing_id] = item.zone_id
            if self._stager is None:
                self._stager = threading.Thread(
                    target=self._stage_loop, name=f"file-{self.name}-stager", daemon=True
                )
                self._stager.start()
        self._todo.put(item)

    def uncue(self, airing_id: int) -> None:
        """The airing will not start: its staged copy is removed."""
        with self._lock:
            zone = self._cues.pop(airing_id, None)
            folder = self._folders.get(zone) if zone is not None else None
        if folder is not None:
            with folder.lock:
                if not folder.closed:
                    folder.unstage(airing_id)

    def _stage_loop(self) -> None:
        while (item := self._todo.get()) is not None:
            with self._lock:
                wanted = self._cues.get(item.airing_id) == item.zone_id
            if not wanted:
                continue
            # A copy that fails here is made again at the start, which reports it.
            with contextlib.suppress(OSError):
                folder = self._folder(item.zone_id)
                if folder is None:
                    continue
                with folder.lock, self._lock:
                    if not folder.closed and self._cues.get(item.airing_id) == item.zone_id:
                        folder.stage(item)

    def prepare(self, zone_ids: list[str]) -> None:
        """Create and open the zones' folders now, not at their first slot. A folder that
        cannot be opened safely is left for its start, which refuses it with the reason."""
        for zone in zone_ids:
            with contextlib.suppress(OSError):
                self._folder(zone)

    def _folder(self, zone: str) -> _ZoneFolder | None:
        """The zone's kept folder, re-checked; None once the descriptor budget is spent
        (the caller then opens it for this use only). Raises what opening it raised.

        The check runs outside the output's lock (lanes of a shared slot do not queue
        for it); the lock only guards replacing a folder. A user must still find the
        folder not ``closed`` under its own lock (see :meth:`_use`)."""
        folder = self._folders.get(zone)
        if folder is not None and folder.current():
            return folder
        stale = None
        try:
            with self._lock:
                found = self._folders.pop(zone, None)
                if found is not None and found is not folder and found.current():
                    self._folders[zone] = found  # another thread opened it meanwhile
                    return found
                stale = found  # swapped or removed since: the path is opened afresh
                if len(self._folders) >= self._budget:
                    return None
                folder = _ZoneFolder(self.dir, zone)
                self._folders[zone] = folder
                return folder
        finally:
            if stale is not None:  # outside the output's lock: a folder's lock comes first
                with stale.lock:
                    stale.close()

    def append(self, zone: str, record: dict) -> None:
        """One manifest line for the zone (see :class:`_ZoneFolder`)."""
        folder = self._folder(zone)
        if folder is not None:
            with folder.lock:
                if not folder.closed:
                    folder.append(record)
                    return
        append_manifest(self.dir, zone, record)

    def start(self, item: PlayItem) -> FilePlayback:
        started = as_utc(self.clock.now())
        name = (
            f"{started:%Y%m%dT%H%M%S.%f}Z-a{item.airing_id}-{secrets.token_hex(4)}-"
            f"{item.bulletin_id}{item.audio_path.suffix}"
        )
        record = {
            "event": "started",
            "airing": item.airing_id,
            "bulletin": item.bulletin_id,
            "sha256": item.audio_sha256,
            "file": name,
            "at": started.isoformat(),
            "duration": item.duration_seconds,
            "zone": item.zone_id,
        }
        with self._lock:
            self._cues.pop(item.airing_id, None)
        try:
            folder = self._folder(item.zone_id)
            if folder is not None:
                with folder.lock:
                    if not folder.closed:
                        if not folder.take_staged(item, name):
                            _copy_into(folder.fd, name, item.audio_path)
                        try:
                            folder.append(record)
                        except OSError:  # not started after all: leave no audio file
                            os.unlink(name, dir_fd=folder.fd)
                            raise
                        return FilePlayback(self.clock, item.duration_seconds, self, record)
            zone_fd = open_zone_dir(self.dir, item.zone_id)
            try:
                _copy_into(zone_fd, name, item.audio_path)
                try:
                    append_manifest(self.dir, item.zone_id, record)
                except OSError:  # not started after all: leave no audio file behind
                    os.unlink(name, dir_fd=zone_fd)
                    raise
            finally:
                os.close(zone_fd)
        except OSError as exc:
            raise OutputError(
                N_("cannot write to {dir}: {err}").format(
                    dir=self.dir / item.zone_id, err=_why(exc)
                )
            ) from None
        return FilePlayback(self.clock, item.duration_seconds, self, record)

    def open_relay(self, target: RelayTarget) -> FileRelaySink:
        """A relay window of a zone, recorded to its own WAV file (``file_relay.py``)."""
        from broadcaster.playout.file_relay import FileRelaySink

        try:
            return FileRelaySink(self, target, self.clock.now())
        except OSError as exc:
            raise OutputError(
                N_("cannot write to {dir}: {err}").format(
                    dir=self.dir / target.zone_id, err=_why(exc)
                )
            ) from None

    def close(self) -> None:
        """Remove what was staged and release the kept descriptors (the daemon stops)."""
        with self._lock:
            folders, self._folders = list(self._folders.values()), {}
            self._cues.clear()
            stager, self._stager = self._stager, None
        if stager is not None:
            self._todo.put(None)
            stager.join(timeout=10)
        for folder in folders:
            with folder.lock:
                folder.close()
