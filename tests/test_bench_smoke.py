"""The benchmark runs end to end at 1 M orders (SPEC §9, issue 6: the CI smoke size): every step completes, the pipeline's snapshot and
the bare DuckDB, Polars and pandas RFM agree, and the table is printed; the night saved before the
timed one replays (bench/replay.py). No timing is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_benchmark_at_1m_orders_agrees_and_prints_the_table(tmp_path: Path) -> None:
    # the report step is left out: it is the slowest step (about 2 minutes at 1 M) and the report
    # tests cover it; the rest takes about a minute and a half on 2 cores
    steps = ["load", "snapshot", "model", "backfill", "nightly", "duckdb", "polars", "pandas"]
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run.py"),
            "--orders",
            "1M",
            "--data-dir",
            str(tmp_path),
            "--memory-limit",
            "1GB",
            "--save-before",
            str(tmp_path / "before.duckdb"),
            "--steps",
            *steps,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert (
        "agreement on 2026-11-15: the pipeline's customer_snapshot and duckdb, polars, pandas agree"
        in out
    )
    assert "| step" in out and "peak RSS MB" in out
    for label in (
        "full initial load",
        "snapshot step, 1 day",
        "customer-value model, 1 day",
        "snapshot backfill, 30 days",
        "nightly incremental",
        "bare DuckDB",
        "bare Polars",
        "pandas by hand",
    ):
        assert label in out, f"{label!r} missing from the table:\n{out}"
    assert "nightly incremental / full load" in out
    assert "DuckDB memory_limit 1GB" in out

    # the saved night replays with this checkout's code (bench/replay.py), the copy left as it was
    saved = (tmp_path / "before.duckdb").stat()
    run_dir = next(tmp_path.glob("run-1M-*"))
    proc = subprocess.run(
        [sys.executable, "-m", "bench.replay", str(tmp_path / "before.duckdb")]
        + ["--run-dir", str(run_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "night 2026-11-16" in proc.stdout and "whole job" in proc.stdout, proc.stdout
    for part in ("ingest", "snapshot", "KPI board", "model, action list", "period marts"):
        assert part in proc.stdout, proc.stdout
    assert (tmp_path / "before.duckdb").stat().st_mtime == saved.st_mtime
