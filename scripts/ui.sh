#!/usr/bin/env bash
# Start the Dagster UI (with its daemon: schedules, sensors, run queue) on 127.0.0.1:3000 (PORT
# changes it), on the instance in dagster_home/ ($DAGSTER_HOME wins), where `loyalty run` records
# its runs (settings.yaml: paths.dagster_home), so the UI shows the demo's materialisations.
# Extra arguments go to `dagster dev`. Ctrl-C (or SIGTERM/SIGHUP to this script) stops the UI, the
# daemon, the code servers and any run they started: the signal goes to their whole process group.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
[ -x .venv/bin/dagster ] || bash scripts/setup.sh
export DAGSTER_HOME="${DAGSTER_HOME:-$repo/dagster_home}"
export LOYALTY_SETTINGS="${LOYALTY_SETTINGS:-$repo/settings.yaml}"
# `dagster dev` prints that `dg dev` supersedes it; dg is another package with its own project
# layout, and `dagster dev` starts the same webserver and daemon. Only that notice is silenced.
export PYTHONWARNINGS="ignore:Function \`dev_command\` is superseded:FutureWarning${PYTHONWARNINGS:+,$PYTHONWARNINGS}"
mkdir -p "$DAGSTER_HOME"
# one-time instance set-up (idempotent): storage schema, and the database pool's limit of 1
.venv/bin/dagster instance migrate >/dev/null
.venv/bin/dagster instance concurrency set duckdb 1 >/dev/null
# from the instance folder: elsewhere `dagster dev` warns that the dagster.yaml it sees in the
# current folder (the repo's copy) is not the one it uses
cd "$DAGSTER_HOME"

# Job control puts the UI in a process group of its own; the launcher gives it the default SIGINT
# even when this script was started with SIGINT ignored (in the background, by nohup), since Dagster
# stops its webserver and daemon with SIGINT.
set -m
"$repo/.venv/bin/python" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' \
  "$repo/.venv/bin/dagster" dev -m loyalty.definitions -h 127.0.0.1 -p "${PORT:-3000}" "$@" &
ui=$!
set +m

alive() { kill -0 -- "-$ui" 2>/dev/null; }
stop() {  # $1: the signal to forward, $2: this script's exit code
  trap - INT TERM HUP
  kill "-$1" -- "-$ui" 2>/dev/null || true
  for _ in $(seq 60); do  # Dagster shuts down cleanly in a few seconds
    alive || exit "$2"
    sleep 0.5
  done
  echo "ui.sh: the Dagster processes did not stop within 30 s: killing them" >&2
  kill -KILL -- "-$ui" 2>/dev/null || true
  exit "$2"
}
trap 'stop INT 130' INT
trap 'stop TERM 143' TERM
trap 'stop TERM 129' HUP
status=0
wait "$ui" || status=$?
# dagster dev ended by itself (an error): nothing of its group may outlive it
kill -TERM -- "-$ui" 2>/dev/null || true
exit "$status"
