#!/usr/bin/env bash
# Installs what broadcaster needs on a Debian/Ubuntu machine, then the package itself
# into .venv. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || need+=(python3-venv)
# Reports: `report --format pdf` converts the DOCX with LibreOffice; Liberation Serif has
# Times New Roman's metrics, so the PDF lays out like the DOCX does in Word.
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
dpkg -s fonts-liberation2 >/dev/null 2>&1 || need+=(fonts-liberation2)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing system packages: ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install -q -e '.[dev]'
touch "$VENV/.installed"
