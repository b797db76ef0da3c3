"""`loyalty run` as a user sees it, on a small generated data set: plain error messages, what the
email did (in counts), and a re-run with nothing new that is skipped, says so and takes seconds,
while a changed setting, a new export file or `--rebuild` still compute."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, write_settings

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"

pytestmark = pytest.mark.slow

LOYALTY = [sys.executable, "-m", "loyalty.cli"]
END = "2026-11-15"  # the generated data's last day
RECIPIENTS = ["first.reader@example.org", "second.reader@example.org"]
NOTHING_NEW = "nothing new since the last run"


def run(args: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([*LOYALTY, *args], cwd=REPO, capture_output=True, text=True, timeout=900)
    return done, time.monotonic() - started


def generated_landing(folder: Path) -> None:
    """60 customers over 120 days up to END, written by the project's generator."""
    subprocess.run(
        [
            *LOYALTY,
            "generate",
            *("--customers", "60", "--days", "120", "--seed", "5", "--end", END),
            *("--out", str(folder)),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=300,
    )


def small_settings(work: Path, extra: dict | None = None) -> Path:
    return write_settings(
        work,
        {
            "schedules": {"start_date": "2026-07-19"},
            "email": {"enabled": True, "dry_run": True, "recipients": RECIPIENTS},
            **(extra or {}),
        },
    )


def reports_folder(out: str) -> Path:
    """The week's folder, as the last line of a run says it."""
    return Path(next(x for x in reversed(out.splitlines()) if x.startswith("reports: "))[9:])


def table_counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = ["orders", "customer_snapshot", "kpi_daily", "retention_period", "customer_value"]
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}
    finally:
        con.close()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("cli")
    generated_landing(work / "landing")
    settings = small_settings(
        work,
        {"paths": {"dagster_home": str(work / "dagster_home")}, "model": {"history_weeks": 4}},
    )
    first = run(["run", "--settings", str(settings), "--email"])
    assert first[0].returncode == 0, first[0].stderr[-3000:]
    counts = table_counts(work / "loyalty.duckdb")
    second = run(["run", "--settings", str(settings), "--email"])
    return work, settings, first, second, counts


def test_the_cli_says_what_the_email_did_in_counts(two_runs):
    _, _, (first, _), (second, _), _ = two_runs
    eml = sorted((reports_folder(first.stdout) / "email").glob("*.eml"))
    assert len(eml) == len(RECIPIENTS)
    assert (
        f"email (dry run, nothing sent): {len(RECIPIENTS)} .eml file(s) written to "
        f"{eml[0].parent}" in first.stdout
    )
    assert f"already sent before to {len(RECIPIENTS)} recipient(s), not sent again" in second.stdout
    for address in RECIPIENTS:
        assert address not in first.stdout + first.stderr + second.stdout + second.stderr


def test_the_process_ends_after_its_work_with_everything_written_and_said(two_runs):
    """`loyalty run` ends without the interpreter's teardown (loyalty.cli.exit_now): its output is
    whole (the last line is the reports' folder), the database was closed and checkpointed (no
    write-ahead log left beside it) and reads back, and so were Dagster's SQLite files (the run
    storage's kept connections are closed: no `.db-wal` is left under the Dagster home); a failed
    run keeps its exit code (below)."""
    work, _, (first, _), (second, _), counts = two_runs
    for result in (first, second):
        assert result.stdout.splitlines()[-1].startswith("reports: "), result.stdout[-2000:]
        assert result.stderr == "", result.stderr[-2000:]
    assert not (work / "loyalty.duckdb.wal").exists()
    assert list((work / "dagster_home").rglob("*.db")), "the runs were recorded"
    assert sorted((work / "dagster_home").rglob("*.db-wal")) == []
    assert table_counts(work / "loyalty.duckdb") == counts


def test_the_installed_command_is_the_same_entry(tmp_path):
    """The `loyalty` script pip installs calls loyalty.cli.entry (main, then the quick end)."""
    script = Path(sys.executable).parent / "loyalty"
    if not script.exists():
        pytest.skip(f"no installed `loyalty` script beside {sys.executable}")
    assert "loyalty.cli import entry" in script.read_text(encoding="utf-8")
    settings = write_settings(tmp_path)
    done = subprocess.run(
        [str(script), "check-settings", str(settings)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{settings}: valid.")
    broken = tmp_path / "broken.yaml"
    broken.write_text("engine: [not, an, engine]\n", encoding="utf-8")
    failed = subprocess.run(
        [str(script), "check-settings", str(broken)], capture_output=True, text=True, timeout=120
    )
    assert failed.returncode == 2 and failed.stderr.startswith("error: "), failed.stderr


def test_a_rerun_with_nothing_new_is_skipped_says_so_and_takes_seconds(two_runs):
    work, _, (first, first_s), (second, second_s), counts = two_runs
    assert second.returncode == 0, second.stderr[-3000:]
    assert NOTHING_NEW not in first.stdout
    assert NOTHING_NEW in second.stdout
    assert "[2/4]" not in second.stdout and "[3/4]" not in second.stdout
    assert table_counts(work / "loyalty.duckdb") == counts
    # the skipped run does the ingest step only: well under the full run's time
    assert second_s < first_s * 0.6, (first_s, second_s)
    print(f"first run {first_s:.1f} s, re-run with nothing new {second_s:.1f} s")


def test_the_first_runs_days_are_materialised_in_dagster_day_by_day(two_runs):
    """The first run computes its days in three runs: every day of the snapshot (one range), the
    last model.history_weeks (4 here) of the assets that compute only those (the model, the
    action list, revenue at risk), then every day of the KPI board (it reads revenue at risk).
    Dagster records each of those days as materialised (the UI's partition view), with one
    planned event per asset and run."""
    import dagster as dg

    work, *_ = two_runs
    con = duckdb.connect(str(work / "loyalty.duckdb"), read_only=True)
    try:  # the days the first run stored: schedules.start_date .. the last day with orders
        first, last = con.execute("select min(as_of), max(as_of) from snapshot_params").fetchone()
        modelled = {
            r[0] for r in con.execute("select distinct as_of from customer_value").fetchall()
        }
    finally:
        con.close()
    assert first == dt.date(2026, 7, 19) and (last - first).days > 100
    cut = last - dt.timedelta(weeks=4)
    assert min(modelled) >= cut

    def span(a: dt.date, b: dt.date) -> set[str]:
        return {str(a + dt.timedelta(days=i)) for i in range((b - a).days + 1)}

    instance = dg.DagsterInstance.from_config(str(work / "dagster_home"))
    for asset in ("customer_snapshot", "kpi_daily"):
        assert instance.get_materialized_partitions(dg.AssetKey(asset)) == span(first, last)
    for asset in ("customer_value", "action_list", "revenue_at_risk"):
        assert instance.get_materialized_partitions(dg.AssetKey(asset)) == span(cut, last)
    ranged = [
        r for r in instance.get_run_records() if r.dagster_run.tags.get(RANGE_START) is not None
    ]
    assert len(ranged) == 3
    planned: dict[str, list] = {}
    for record in ranged:
        run = record.dagster_run
        for e in instance.all_logs(run.run_id):
            if e.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
                planned.setdefault(e.dagster_event.asset_key.to_user_string(), []).append(
                    (run.tags[RANGE_START], run.tags[RANGE_END])
                )
    whole, weeks = (str(first), str(last)), (str(cut), str(last))
    assert planned == {
        "customer_snapshot": [whole],
        "kpi_daily": [whole],
        **{a: [weeks] for a in ("customer_value", "action_list", "revenue_at_risk")},
    }


def test_a_changed_setting_a_new_file_or_rebuild_computes_again(two_runs):
    work, settings, *_ = two_runs
    changed, _ = run(["run", "--settings", str(settings), "--set", "metrics: {active_days: 61}"])
    assert changed.returncode == 0, changed.stderr[-3000:]
    assert NOTHING_NEW not in changed.stdout and "[2/4]" in changed.stdout
    # the settings file's own values differ from the last run's again: computed once more
    back, _ = run(["run", "--settings", str(settings)])
    assert NOTHING_NEW not in back.stdout
    # now nothing is new: answered before any ingest (no Dagster run), in about a second
    again, again_s = run(["run", "--settings", str(settings)])
    assert NOTHING_NEW in again.stdout and "[1/4]" not in again.stdout, again.stdout
    print(f"re-run with nothing new, no --email: {again_s:.1f} s")
    # a touched export (same name and content, a later modification time) and a copy of one
    # under another name hold content already loaded: answered before the ingest, files hashed
    export = next((work / "landing").glob("orders*.csv"))
    st = export.stat()
    os.utime(export, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    shutil.copy(next((work / "landing").glob("tickets*.csv")), work / "landing" / "tickets_x.csv")
    touched, _ = run(["run", "--settings", str(settings)])
    assert NOTHING_NEW in touched.stdout and "[1/4]" not in touched.stdout, touched.stdout
    assert "(2 export file(s) touched or copied: content already loaded)" in touched.stdout
    after, _ = run(["run", "--settings", str(settings)])
    assert NOTHING_NEW in after.stdout and "[1/4]" not in after.stdout, after.stdout
    assert "touched" not in after.stdout, after.stdout  # the landing folder was recorded
    # a file gone: the ingest step runs (and finds nothing new)
    (work / "landing" / "tickets_x.csv").unlink()
    gone, _ = run(["run", "--settings", str(settings)])
    assert NOTHING_NEW in gone.stdout and "[1/4]" in gone.stdout, gone.stdout
    assert "      orders: no new file; " in gone.stdout, gone.stdout
    # ... until an export file with new content arrives
    orders = work / "landing" / "orders_late.csv"
    shutil.copy(next((work / "landing").glob("orders*.csv")), orders)
    lines = orders.read_text(encoding="utf-8").splitlines()
    header, row = lines[0], lines[1].split(",")
    row[0] = "LATE-ORDER-1"
    orders.write_text(header + "\n" + ",".join(row) + "\n", encoding="utf-8")
    new_file, _ = run(["run", "--settings", str(settings)])
    assert new_file.returncode == 0, new_file.stderr[-3000:]
    assert NOTHING_NEW not in new_file.stdout and "[2/4]" in new_file.stdout
    rebuilt, _ = run(["run", "--settings", str(settings), "--rebuild"])
    assert NOTHING_NEW not in rebuilt.stdout and "[2/4]" in rebuilt.stdout


def test_a_broken_export_prints_the_readmes_plain_message(tmp_path):
    settings = write_settings(tmp_path)
    (tmp_path / "landing" / "orders_x.csv").write_text(
        "order_id,client,ordered_at,amount\nO1,C1,2024-01-01,1\n", encoding="utf-8"
    )
    result, _ = run(["run", "--settings", str(settings)])
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines and lines[0].startswith("error: orders_x.csv: "), result.stderr
    assert "customer_id" in lines[0]
    for noise in ("dagster.", "Failure", "Traceback", "ingest failed"):
        assert noise not in result.stderr, noise


def test_a_run_for_a_given_day_without_any_orders_says_so(tmp_path):
    settings = write_settings(tmp_path)
    result, _ = run(["run", "--settings", str(settings), "--as-of", END])
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: no orders loaded: nothing to compute (check sources.orders in the settings)"
    ], result.stderr
