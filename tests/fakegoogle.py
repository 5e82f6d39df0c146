"""A stand-in for translate.google.com on 127.0.0.1, reached the way gTTS reaches the
real one: through an HTTPS proxy (``HTTPS_PROXY``), which this server also plays.

It answers CONNECT, terminates TLS with a throw-away self-signed certificate (gTTS does
not verify certificates, so the real client code runs unchanged) and then behaves as
each test scripts it: audio, 429, 503, a stalled connection or a dropped one. Only the
internet is simulated; gTTS, requests and our engine run for real."""

from __future__ import annotations

import base64
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


def make_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=translate.google.com",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass
class FakeGoogle:
    """``behaviours`` are consumed one per request; the last one repeats."""

    folder: Path
    audio: bytes
    behaviours: list[str] = field(default_factory=lambda: ["ok"])
    retry_after: float | None = None
    requests: list[tuple[float, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        cert, key = make_certificate(self.folder)
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                fake._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def proxy_env(self) -> dict[str, str]:
        url = f"http://127.0.0.1:{self.port}"
        return {"HTTPS_PROXY": url, "https_proxy": url, "NO_PROXY": "", "no_proxy": ""}

    def close(self) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()

    def _next(self) -> str:
        with self._lock:
            index = min(len(self.requests), len(self.behaviours) - 1)
            behaviour = self.behaviours[index]
            self.requests.append((time.monotonic(), behaviour))
            return behaviour

    def _serve(self, raw: socket.socket) -> None:
        head, _rest = _read_head(raw)
        if not head.startswith(b"CONNECT "):
            return
        raw.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        try:
            conn = self.tls.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with conn:
            head, body = _read_head(conn)
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            while len(body) < length:
                chunk = conn.recv(length - len(body))
                if not chunk:
                    break
                body += chunk
            behaviour = self._next()
            if behaviour == "stall":
                self._closing.wait(60)
                return
            if behaviour == "drop":
                return
            if behaviour in ("429", "503"):
                reason = b"Too Many Requests" if behaviour == "429" else b"Service Unavailable"
                extra = b""
                if self.retry_after is not None:
                    extra = f"Retry-After: {self.retry_after:g}\r\n".encode()
                conn.sendall(
                    b"HTTP/1.1 "
                    + behaviour.encode()
                    + b" "
                    + reason
                    + b"\r\n"
                    + extra
                    + b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
                return
            b64 = base64.b64encode(self.audio)
            payload = (
                b")]}'\n\n"
                + b'[["wrb.fr","jQ1olc","[\\"'
                + b64
                + b'\\"]",null,null,null,"generic"]]\n'
            )
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
                + f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The request head, and whatever of the body came with it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _sep, rest = data.partition(b"\r\n\r\n")
    return head, rest
