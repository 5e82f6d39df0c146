"""PDF through LibreOffice: the DOCX is the document; the PDF is LibreOffice's rendering of
it, so the two never say different things."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from broadcaster.core.errors import BroadcasterError
from broadcaster.i18n import _

INSTALL_HINT = (
    "--format pdf needs LibreOffice (soffice), which is not installed: run "
    "'sudo apt-get install --no-install-recommends libreoffice-writer-nogui' "
    "(make setup does it), or use --format docx"
)


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def require_soffice() -> str:
    found = soffice()
    if found is None:
        raise BroadcasterError(INSTALL_HINT)
    return found


def docx_to_pdf(docx: Path, pdf: Path, timeout: float = 600) -> None:
    """Convert with a private LibreOffice profile: concurrent conversions (or a desktop
    LibreOffice the officer has open) would otherwise fight over the user's profile lock."""
    exe = require_soffice()
    with tempfile.TemporaryDirectory(prefix="broadcaster-pdf-") as work:
        out_dir = Path(work) / "out"
        cmd = [
            exe,
            f"-env:UserInstallation=file://{Path(work) / 'profile'}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(out_dir),
            str(docx),
        ]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            raise BroadcasterError(
                _("LibreOffice took over {s} s to make the PDF").format(s=f"{timeout:.0f}")
            ) from None
        produced = out_dir / (docx.stem + ".pdf")
        if proc.returncode != 0 or not produced.is_file():
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise BroadcasterError(
                _("LibreOffice could not make the PDF: {err}").format(err=detail[-1])
                if detail
                else _("LibreOffice could not make the PDF (exit {code})").format(
                    code=proc.returncode
                )
            )
        shutil.move(str(produced), str(pdf))
