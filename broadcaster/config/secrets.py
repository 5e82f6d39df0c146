"""Key and password files: written readable by their owner only, never through a link.

Whatever creates a secret for the station (receiver keys, a broker password, the
station's signing key) writes it with :func:`write_secret`; ``check`` warns about any
such file that group or others can read (``app.checks``).
"""

from __future__ import annotations

import os
from pathlib import Path


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as mode 0600, atomically, refusing to follow a link.

    The temporary file is created with ``O_EXCL | O_NOFOLLOW`` and mode 0600 from the
    start (no window in which it is world-readable), then renamed over the target: a
    symlink planted at ``path`` is replaced, never written through."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)  # whatever the umask said
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
