"""The station's audio HTTP server: approved renditions, by their SHA-256, for receivers.

Receivers must check the audio's hash before playing, which only works on the exact
bytes: a live Icecast mount carries re-encoded audio mixed with silence and can never
match a hash. So the MQTT output serves each rendition the gate cleared, and nothing
else, at ``/audio/<sha256><suffix>``. Content-addressed URLs never change meaning, so
receivers may cache them. Files are read once and kept in memory (bulletins are small),
so a thousand receivers fetching an emergency do not hit the disk a thousand times.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(BaseHTTPRequestHandler):
    server: AudioServer

    def do_GET(self) -> None:
        name = self.path.rsplit("/", 1)[-1]
        sha = name.split(".", 1)[0]
        data = self.server.content(sha) if self.path.startswith("/audio/") else None
        if data is None:
            self.send_error(404, "no such audio")
            return
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg" if name.endswith(".mp3") else "audio/*")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: one line per fetch would drown the daemon's log at an emergency."""


class AudioServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, bind: str, port: int, public_url: str | None = None) -> None:
        super().__init__((bind, port), _Handler)
        self._files: dict[str, bytes] = {}
        self._lock = threading.Lock()
        host, real_port = self.server_address[:2]
        self.base_url = (public_url or f"http://{host}:{real_port}").rstrip("/")
        self._thread = threading.Thread(target=self.serve_forever, name="audio-http", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def publish(self, path: Path, sha256: str) -> str:
        """Make a cleared rendition downloadable; its URL."""
        with self._lock:
            if sha256 not in self._files:
                self._files[sha256] = path.read_bytes()
        return f"{self.base_url}/audio/{sha256}{path.suffix}"

    def content(self, sha256: str) -> bytes | None:
        with self._lock:
            return self._files.get(sha256)

    def close(self) -> None:
        self.shutdown()
        self.server_close()
