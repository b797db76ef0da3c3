#!/usr/bin/env bash
# Start the Dagster UI (with its daemon: schedules, sensors, run queue) on 127.0.0.1:3000, using
# the repo's instance settings in dagster_home/. Extra arguments go to `dagster dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/dagster ] || bash scripts/setup.sh
export DAGSTER_HOME="$PWD/dagster_home"
export LOYALTY_SETTINGS="${LOYALTY_SETTINGS:-$PWD/settings.yaml}"
# one-time instance set-up (idempotent): storage schema, and the database pool's limit of 1
.venv/bin/dagster instance migrate >/dev/null
.venv/bin/dagster instance concurrency set duckdb 1 >/dev/null
exec .venv/bin/dagster dev -m loyalty.definitions -h 127.0.0.1 -p "${PORT:-3000}" "$@"
