"""A warm fork server for short ``broadcaster`` commands in the tests.

Starting the real executable costs about a second of imports, and the suite runs the CLI
over a thousand times. The server is a separate Python process (one per pytest process)
that imports ``broadcaster.cli.app`` once and then, for each command, forks a child that
runs the console script itself (``runpy`` on the installed ``broadcaster`` file, so the
child's ``__main__``, ``sys.argv`` and exit path are the script's) with the caller's argv,
environment, working directory and umask, stdin on /dev/null and stdout/stderr into files
the caller reads. The exit code is the child's real exit status.

What a fork cannot give a command is state computed at import time from the environment
(``broadcaster.i18n`` reads the locale, typer's help strings are translated once, rich
reads its colour variables). So a command is forked only when its environment differs
from the server's own only in variables read at run time (``FORKABLE``); any other
difference runs the real executable, as do ``Cli.popen`` (daemons, kill tests) and the
tests that are about start-up itself. Variables the imports themselves set (numpy's
thread counts from ``broadcaster.speech.loudness``) are set in the child the same way
(``setdefault``), as a fresh process would.

The server is stopped at the end of the session (tests/conftest.py), before the check
that no process survives; it runs as ``python tests/forkkit.py SOCKET``.
"""

from __future__ import annotations

import contextlib
import io
import json
import locale
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Variables a command reads when it runs, never at import: a difference in these alone
#: may be forked. Every BROADCASTER_* variable is read by the command's code when it
#: runs (clock, station, database, operator, keys, debug); COLUMNS by click's and rich's
#: layout when they print; SDL_AUDIODRIVER only by the ffplay the player output starts;
#: PYTEST_CURRENT_TEST (pytest names the running test there) by nothing but pytest.
FORKABLE_PREFIXES = ("BROADCASTER_",)
FORKABLE = frozenset({"COLUMNS", "SDL_AUDIODRIVER", "PYTEST_CURRENT_TEST"})

_HEADER = struct.Struct("!I")


def forkable(base: dict[str, str], env: dict[str, str]) -> bool:
    """Whether ``env`` differs from the server's ``base`` only in run-time variables."""
    for key in base.keys() | env.keys():
        if base.get(key) != env.get(key) and not (
            key in FORKABLE or key.startswith(FORKABLE_PREFIXES)
        ):
            return False
    return True


def _send(sock: socket.socket, data: dict) -> None:
    payload = json.dumps(data).encode()
    sock.sendall(_HEADER.pack(len(payload)) + payload)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise ConnectionError("fork server closed the connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _recv(sock: socket.socket) -> dict:
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    return json.loads(_recv_exact(sock, size))


# -- the client (in the pytest process) ------------------------------------------------
class ForkServer:
    """The client side: starts the server on first use and runs commands through it."""

    def __init__(self, script: Path) -> None:
        self.script = script  # the installed console script the children run
        self.proc: subprocess.Popen[bytes] | None = None
        self.base: dict[str, str] = {}
        self.dir: str | None = None

    @property
    def address(self) -> str:
        assert self.dir is not None
        return os.path.join(self.dir, "socket")

    def start(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="broadcaster-forkserver-")
        self.base = dict(os.environ)
        log = open(os.path.join(self.dir, "server.log"), "wb")  # noqa: SIM115
        with log:
            self.proc = subprocess.Popen(
                [sys.executable, __file__, self.address, str(self.script)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=self.base,
            )
        deadline = time.monotonic() + 120  # the imports, on a loaded machine
        while not os.path.exists(self.address + ".ready"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the tests' fork server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (it has no child left: every command is waited for)."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.dir is not None:
            for name in ("socket", "socket.ready", "server.log"):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.dir, name))
            with contextlib.suppress(OSError):
                os.rmdir(self.dir)
            self.dir = None

    def accepts(self, env: dict[str, str]) -> bool:
        """Whether a command with this environment can be forked (the server is then
        started, with the current environment, if it does not run yet)."""
        if self.proc is not None and self.proc.poll() is not None:
            self.stop()  # it died: start a fresh one
        if self.proc is None:
            return forkable(dict(os.environ), env)
        return forkable(self.base, env)

    def run(
        self, args: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Run one command like ``subprocess.run(capture_output=True, text=True,
        stdin=DEVNULL, timeout=timeout)`` does, TimeoutExpired included."""
        if self.proc is None:
            self.start()
        cmd = [str(self.script), *args]
        with (
            tempfile.TemporaryFile() as out,
            tempfile.TemporaryFile() as err,
            open(os.devnull, "rb") as null,
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock,
        ):
            sock.connect(self.address)
            umask = os.umask(0)
            os.umask(umask)
            request = {"argv": cmd, "env": env, "cwd": os.getcwd(), "umask": umask}
            payload = json.dumps(request).encode()
            socket.send_fds(
                sock,
                [_HEADER.pack(len(payload)) + payload],
                [null.fileno(), out.fileno(), err.fileno()],
            )
            pid = _recv(sock)["pid"]
            sock.settimeout(timeout)
            try:
                code = _recv(sock)["code"]
                expired = False
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                sock.settimeout(None)
                code = _recv(sock)["code"]
                expired = True
            stdout, stderr = _text(out), _text(err)
        if expired:
            raise subprocess.TimeoutExpired(cmd, timeout, output=stdout, stderr=stderr)
        return subprocess.CompletedProcess(cmd, code, stdout, stderr)


def _text(file: io.BufferedRandom) -> str:
    """A captured stream decoded as ``subprocess.run(text=True)`` does (the locale's
    encoding, universal newlines)."""
    file.seek(0)
    wrapper = io.TextIOWrapper(file, encoding=locale.getpreferredencoding(False), newline=None)
    try:
        return wrapper.read()
    finally:
        wrapper.detach()


# -- the server (its own process) --------------------------------------------------------
def serve(address: str, script: str) -> None:
    """Import the CLI once, then fork one child per request and report its exit status."""
    before = dict(os.environ)
    import importlib

    import broadcaster.cli.app  # the point: imported once, before any fork
    import broadcaster.i18n

    # The CLI imports a command's module only when it runs (issue 15): the server imports
    # them all, so that no child pays for them.
    for command in broadcaster.cli.app.COMMANDS:
        importlib.import_module(command.module)

    # variables the imports set for themselves (numpy's thread counts)
    import_defaults = {k: v for k, v in os.environ.items() if before.get(k) != v}
    # a real run's sys.path starts with the script's folder, not tests/
    sys.path[0] = os.path.dirname(script)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(16)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    Path(address + ".ready").touch()
    running: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, connection)
    while True:
        for key, _mask in selector.select():
            if key.fileobj is listener:
                conn, _ = listener.accept()
                try:
                    msg, fds, _flags, _addr = socket.recv_fds(conn, 1 << 20, 3)
                    (size,) = _HEADER.unpack(msg[: _HEADER.size])
                    body = msg[_HEADER.size :]
                    while len(body) < size:
                        body += _recv_exact(conn, size - len(body))
                    request = json.loads(body)
                except (OSError, ValueError, struct.error):
                    conn.close()
                    continue
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    listener.close()
                    for _pid, other in running.values():
                        other.close()
                    conn.close()
                    _child(request, fds, import_defaults, broadcaster.i18n)  # never returns
                for fd in fds:
                    os.close(fd)
                pidfd = os.pidfd_open(pid)
                running[pidfd] = (pid, conn)
                selector.register(pidfd, selectors.EVENT_READ)
                with contextlib.suppress(OSError):
                    _send(conn, {"pid": pid})
            else:
                pidfd = key.fd
                selector.unregister(pidfd)
                pid, conn = running.pop(pidfd)
                os.close(pidfd)
                _pid, status = os.waitpid(pid, 0)
                with contextlib.suppress(OSError):
                    _send(conn, {"code": os.waitstatus_to_exitcode(status)})
                conn.close()


def _child(request: dict, fds: list[int], import_defaults: dict[str, str], i18n) -> None:
    """In the forked child: become the command and run the console script. It never
    returns: its SystemExit unwinds out of ``serve`` and the interpreter ends as after
    any script (non-daemon threads joined, atexit handlers run, objects finalised, so
    SQLite closes its files, streams flushed), with the script's exit code."""
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        os.chdir(request["cwd"])
        os.umask(request["umask"])
        os.environ.clear()
        os.environ.update(request["env"])
        for key, value in import_defaults.items():
            os.environ.setdefault(key, value)
        # The language is chosen afresh from this command's environment and options, as
        # in a new process.
        i18n._active = i18n._Active()
        sys.argv = list(request["argv"])
        import runpy

        runpy.run_path(request["argv"][0], run_name="__main__")
    except SystemExit:
        raise
    except BaseException:
        sys.excepthook(*sys.exc_info())  # what Python prints for an uncaught exception
        raise SystemExit(1) from None
    raise SystemExit(0)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
