#!/usr/bin/env bash
# Install what the browser test (tests/test_report_browser.py) needs: Debian's chromium at
# /usr/bin/chromium and the playwright Python package in a virtualenv. Playwright only drives that
# chromium (executable_path); its own browser download (`playwright install`) is never used.
#
# Usage: bash scripts/install_browser.sh [VENV]   (VENV defaults to .venv)
# Idempotent. Exits 0 with a message when something cannot be installed, so the tests then skip.
set -u

venv="${1:-.venv}"
python="$venv/bin/python"

if [ -x /usr/bin/chromium ]; then
  echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null || echo unknown version))"
else
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      echo "chromium: not installed and not root (no passwordless sudo); browser tests will skip"
    fi
  fi
  if [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "chromium: no apt-get on this machine; browser tests will skip"
    else
      export DEBIAN_FRONTEND=noninteractive
      # Try the cached package lists first; refresh them only when that fails.
      if ! $sudo apt-get install -y -q chromium >/dev/null 2>&1; then
        $sudo apt-get update -q >/dev/null 2>&1 || true
        $sudo apt-get install -y -q chromium >/dev/null 2>&1 || true
      fi
      if [ -x /usr/bin/chromium ]; then
        echo "chromium: installed ($(/usr/bin/chromium --version 2>/dev/null || echo unknown version))"
      else
        echo "chromium: could not be installed with apt-get; browser tests will skip"
      fi
    fi
  fi
fi

if [ ! -x "$python" ]; then
  echo "playwright: no virtualenv at $venv (no $python); browser tests will skip"
elif "$python" -c "import playwright" >/dev/null 2>&1; then
  echo "playwright: already installed in $venv"
elif "$python" -m pip install -q "playwright>=1.40" >/dev/null 2>&1; then
  echo "playwright: installed in $venv"
else
  echo "playwright: pip install failed; browser tests will skip"
fi
exit 0
