"""`loyalty` command line: run the whole pipeline in process (for cron and scripts), generate
synthetic exports, check a settings file.

    loyalty run --settings settings.yaml [--as-of 2026-11-15] [--email] [--set "metrics: {active_days: 60}"]
    loyalty generate --customers 3000 --days 728 --seed 7 --end 2026-11-15 --split drop --bad-rows --out data/sample
    loyalty check-settings settings.yaml
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
import time
from pathlib import Path
from typing import NoReturn

GC_THRESHOLD = 10_000  # allocations between the youngest generation's collections (Python: 700)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "generate":
        from loyalty import generate

        return generate.main(argv[1:])
    parser = argparse.ArgumentParser(prog="loyalty", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialise everything for one settings file, in process")
    run.add_argument(
        "--settings", default="settings.yaml", help="settings YAML (default: settings.yaml)"
    )
    run.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        help="day D (default: the last day with orders, at most yesterday in the business time zone)",
    )
    run.add_argument(
        "--email", action="store_true", help="also send the weekly email (dry-run per settings)"
    )
    run.add_argument(
        "--rebuild",
        action="store_true",
        help="recompute everything: every daily snapshot, not only missing days, and the rest "
        "even when nothing is new since the last run",
    )
    run.add_argument(
        "--set", dest="overrides", default="", help="YAML mapping of settings for this run only"
    )
    sub.add_parser("generate", help="write synthetic exports (see `loyalty generate --help`)")
    chk = sub.add_parser(
        "check-settings", help="validate a settings file and print what it resolves to"
    )
    chk.add_argument("settings")
    args = parser.parse_args(argv)

    from loyalty.settings import SettingsError, load_settings

    try:
        if args.command == "check-settings":
            s = load_settings(args.settings)
            print(
                f"{args.settings}: valid. database {s.database_path}, landing {s.landing_path}, "
                f"sources {sorted(s.sources)}, time zone {s.timezone}"
            )
            return 0
        settings = load_settings(args.settings, args.overrides or None)  # fail fast, clearly
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    started = time.monotonic()
    if not (args.rebuild or args.email):
        # a re-run with nothing new answers before Dagster and the ingest are loaded
        from loyalty.runstate import nothing_new

        unchanged = nothing_new(settings, args.as_of)
        if unchanged:
            print(unchanged[0])
            print(f"done in {time.monotonic() - started:.1f} s")
            for line in unchanged[1:]:
                print(line)
            return 0
    # partitions are read from this settings file when the code location loads
    os.environ["LOYALTY_SETTINGS"] = str(Path(args.settings).resolve())
    # the cycle collector less often: a run makes millions of short-lived objects (Dagster's
    # events, report rows), and with Python's default (a collection every 700 allocations) a
    # CDNOW-sized first run collected 1,300 times for 0.9-1.0 s; now about 90 times, 0.3 s.
    # Only cycles wait longer; everything else is freed as before.
    gc.set_threshold(GC_THRESHOLD, 10, 10)
    import warnings

    import dagster as dg

    # Dagster flags some parameters we use (backfill_policy, pool) as beta; not news for a user
    for category in (dg.BetaWarning, dg.PreviewWarning, DeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    from loyalty.runner import RunFailed, run_all

    try:
        summary = run_all(
            Path(args.settings).resolve(),
            as_of=args.as_of,
            overrides=args.overrides,
            email=args.email,
            rebuild=args.rebuild,
            log=print,
        )
    except RunFailed as e:
        # one line per failed step or check, in the words of the message that explains it
        for line in str(e).splitlines() or ["run failed"]:
            print(f"error: {line}", file=sys.stderr)
        return 1
    print(f"done in {time.monotonic() - started:.1f} s")
    for line in summary:
        print(line)
    return 0


def entry() -> NoReturn:
    """The `loyalty` command (and `python -m loyalty.cli`): `main`, then the process ends."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """End the process with `code` once its work is done: the other threads it waits for are
    joined, the exit handlers run (atexit: Dagster's instance, file locks, logging's flush) and the
    output is flushed, as at a normal exit; then the process ends without the interpreter's
    teardown. That teardown only frees memory, and it collects every object of the loaded modules
    (Dagster, DuckDB, scipy, plotly, the run's events) once more: 1.3-1.6 s after a CDNOW-sized
    first run printed `done`. Every database is closed and committed before `main` returns."""
    import atexit
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
