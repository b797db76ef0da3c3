#!/usr/bin/env bash
# Installs the project into .venv (Python 3.11). With "--test": also the test tools, and Debian's
# chromium and a CJK font (for Plotly's PNG export and the screenshot test) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
  need=""
  command -v chromium >/dev/null 2>&1 || need="chromium"
  fc-list 2>/dev/null | grep -qi -E 'wqy|noto.*cjk' || need="$need fonts-wqy-microhei"
  if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing Debian packages:$need"
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
    else
      echo "note: $need missing and cannot be installed here (not root or no apt-get); the chart-image and screenshot tests will be skipped" >&2
    fi
  fi
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
fi
