#!/usr/bin/env bash
# Quick start, line 2: install (with test tools, chromium and a CJK font), then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
