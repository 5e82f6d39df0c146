#!/usr/bin/env bash
# Installs what broadcaster needs on a Debian/Ubuntu machine, then the package itself
# into .venv. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# True when another process holds one of apt's or dpkg's locks (they are fcntl locks;
# only root can test them, and then only to print a message: apt-get itself waits).
apt_locked() {
  [ "$(id -u)" -eq 0 ] || return 1
  python3 - /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock <<'PY'
import fcntl, os, sys
for path in sys.argv[1:]:
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        continue
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit(0)
    finally:
        os.close(fd)
sys.exit(1)
PY
}

need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v openssl >/dev/null 2>&1 || need+=(openssl)  # tests: the simulated Google's TLS
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || need+=(python3-venv)
# Network outputs: tests start their own icecast2 and mosquitto on 127.0.0.1.
[ -x /usr/bin/icecast2 ] || need+=(icecast2)
[ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
# Reports: `report --format pdf` converts the DOCX with LibreOffice; Liberation Serif has
# Times New Roman's metrics, so the PDF lays out like the DOCX does in Word.
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
dpkg -s fonts-liberation2 >/dev/null 2>&1 || need+=(fonts-liberation2)
# Tests read the rendered PDF's text back (pdftotext, pdfinfo).
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
# The web station's browser tests (Playwright) drive Debian's chromium, headless; its
# pages in Vietnamese need a font with the Vietnamese letters (Noto Sans covers them).
[ -x /usr/bin/chromium ] || need+=(chromium)
dpkg -s fonts-noto-core >/dev/null 2>&1 || need+=(fonts-noto-core)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing system packages: ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Installing must not start system services: Debian's icecast2 would listen on
  # 0.0.0.0:8000. A policy-rc.d (if none is there) forbids starts during the install.
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$guard" >/dev/null
    $sudo chmod 755 "$guard"
  fi
  # Another apt-get or unattended-upgrades may hold dpkg's lock: wait for it (up to
  # APT_LOCK_WAIT seconds, 10 minutes by default) and say so, instead of failing.
  wait_s=${APT_LOCK_WAIT:-600}
  if apt_locked; then
    echo "another package manager is running (dpkg/apt lock held): waiting up to ${wait_s} s for it to finish..."
  fi
  lock=(-o "DPkg::Lock::Timeout=${wait_s}")
  $sudo apt-get "${lock[@]}" update -qq
  $sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  [ -z "$guard" ] || $sudo rm -f "$guard"
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for unit in icecast2 mosquitto; do
      if [[ " ${need[*]} " == *" $unit "* ]]; then
        $sudo systemctl disable --now "$unit" >/dev/null 2>&1 || true
      fi
    done
  fi
fi

VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install -q -e '.[dev]'
# The translation catalogues (the reports' Vietnamese log reasons): .po -> .mo.
"$VENV/bin/pybabel" compile -D broadcaster -d broadcaster/locale >/dev/null
touch "$VENV/.installed"
