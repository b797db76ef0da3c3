#!/usr/bin/env bash
# Installs the project into .venv (Python 3.11). With "--test": also the test tools, and Debian's
# chromium and a CJK font (for Plotly's PNG export and the screenshot test) when they are missing.
# Prints one line per phase (pip itself stays quiet); errors still show in full.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
step() { echo "setup: $*"; }
if [ ! -x .venv/bin/python ]; then
  step "creating the virtual environment .venv ($("$PY" --version 2>&1))"
  "$PY" -m venv .venv
else
  step "using the existing virtual environment .venv"
fi
step "updating pip"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
started=$(date +%s)
if [ "${1:-}" = "--test" ]; then
  step "installing the project and its test tools (Dagster, DuckDB, ...): this takes a few minutes on a first install"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
  step "packages installed in $(( $(date +%s) - started )) s"
  need=""
  command -v chromium >/dev/null 2>&1 || need="chromium"
  fc-list 2>/dev/null | grep -qi -E 'wqy|noto.*cjk' || need="$need fonts-wqy-microhei"
  if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      step "installing Debian packages:$need (a minute or two)"
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
      step "Debian packages installed"
    else
      echo "note: $need missing and cannot be installed here (not root or no apt-get); the chart-image and screenshot tests will be skipped" >&2
    fi
  fi
else
  step "installing the project and its packages (Dagster, DuckDB, ...): this takes a few minutes on a first install"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
  step "packages installed in $(( $(date +%s) - started )) s"
fi
step "done: .venv/bin/loyalty is ready"
