#!/usr/bin/env bash
# Quick start, line 1: install, then run the whole pipeline on the shipped sample (data/sample).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/loyalty run --settings settings.yaml "$@"
