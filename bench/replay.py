"""Time a benchmark's nightly job again, with the code of this checkout, on a copy of the database
that `bench/run.py --save-before PATH` saved just before its timed night (docs/benchmark.md): the
same stored state every time, so two versions of the code can be compared on one night without
storing a year of history again (at 10 M orders that takes about 20 minutes).

    .venv/bin/python -m bench.replay SAVED --run-dir bench/data/run-10M-seed1 [--repeat 2]

The night is the day after the last stored snapshot day; the run folder's landing files (its
history and that day's file) and settings are used, the database is copied into a scratch folder
beside the saved copy, and the saved copy is never written. Prints Dagster's step times of each
part of the scheduled job, as the nightly step of bench/run.py runs them."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.history import previous_ingest  # noqa: E402
from bench.steps import Pipeline, _model_keys, _settings  # noqa: E402


def _prepare(saved: Path, run_dir: Path, scratch: Path) -> Path:
    """A scratch folder with a copy of `saved` and the run's settings, landing kept in place."""
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "tmp").mkdir(exist_ok=True)
    shutil.copy2(saved, scratch / "loyalty.duckdb")
    # written to disk now: else the night's first checkpoint (its fsync) writes the copy's 1.5 GB
    # of dirty pages back, and the first step that writes pays 0.5-0.7 s for the copy
    with open(scratch / "loyalty.duckdb", "rb+") as copy:
        os.fsync(copy.fileno())
    settings = yaml.safe_load((run_dir / "settings.yaml").read_text(encoding="utf-8"))
    settings["paths"]["landing"] = str((run_dir / settings["paths"]["landing"]).resolve())
    path = scratch / "settings.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


def replay(settings_file: Path) -> dict[str, float]:
    """The nightly job of the day after the last stored day; returns each part's seconds."""
    from loyalty import engine

    p = Pipeline(str(settings_file))
    s = _settings({"settings": str(settings_file)})
    with engine.connect(s, read_only=True) as conn:
        last = engine.scalar(conn, "select max(as_of) from snapshot_params")
    day = (last + dt.timedelta(days=1)).isoformat()
    previous_ingest(p, s)
    parts = {
        "ingest": (p.group("ingest") + p.group("staging"), {}),
        "snapshot": ([p.key("customer_snapshot")], {"partition_key": day}),
        "KPI board": ([p.key("kpi_daily")], {"partition_key": day}),
        "model, action list": (_model_keys(p), {"partition_key": day}),
        "period marts": (
            p.keys(lambda n: n.group_name == "marts" and n.partitions_def is None),
            {},
        ),
    }
    seconds: dict[str, float] = {}
    print(f"night {day}")
    for name, (keys, kw) in parts.items():
        started = time.perf_counter()
        p.materialize(keys, name, **kw)
        seconds[name] = time.perf_counter() - started
        steps = sorted(p.step_seconds.items(), key=lambda kv: -kv[1])
        detail = ", ".join(f"{k} {v:.2f}" for k, v in steps if v >= 0.3)
        checks = [(k, v) for k, v in p.check_seconds.items() if v >= 0.3]
        detail += "".join(f" (its check {k} {v:.2f})" for k, v in checks)
        print(f"  {name:20s} {seconds[name]:6.2f} s   {detail}")
    nightly = seconds["ingest"] + seconds["snapshot"]
    print(
        f"  nightly run (ingest + snapshot) {nightly:.2f} s; whole job {sum(seconds.values()):.2f} s"
    )
    return seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("saved", type=Path, help="the database saved by bench/run.py --save-before")
    ap.add_argument("--run-dir", type=Path, required=True, help="the run folder it came from")
    ap.add_argument("--repeat", type=int, default=1, help="replays, each on a fresh copy")
    opts = ap.parse_args(argv)
    scratch = opts.saved.parent / f"{opts.saved.stem}-replay"
    try:
        for _ in range(opts.repeat):
            replay(_prepare(opts.saved, opts.run_dir, scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
