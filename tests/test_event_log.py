"""`loyalty run` records a range of daily partitions in Dagster's SQLite event log in one go
(loyalty.orchestration.event_log): what the UI then reads must be what Dagster's own storage writes
event by event, on a real instance on disk."""

from pathlib import Path

import dagster as dg
import pytest

from loyalty.orchestration.event_log import (
    BatchedSqliteEventLogStorage,
    batched_events,
    instance_at,
)
from tests.conftest import REPO

DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-03-01")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def daily_thing(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    start, end = context.partition_time_window
    return dg.MaterializeResult(metadata={"days": (end - start).days})


def _run(instance: dg.DagsterInstance, first: str, last: str) -> None:
    tags = {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }
    result = dg.materialize([daily_thing], instance=instance, tags=tags)
    assert result.success


def _recorded(instance: dg.DagsterInstance) -> dict:
    key = dg.AssetKey("daily_thing")
    records = instance.fetch_materializations(key, limit=1000).records
    runs = {r.run_id for r in records}
    logged = [
        e
        for run in runs
        for e in instance.all_logs(run)
        if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
    ]
    return {
        "partitions": sorted(instance.get_materialized_partitions(key)),
        "records": sorted(r.partition_key for r in records),
        "in_run_logs": sorted(e.dagster_event.partition for e in logged),
        "metadata": sorted(
            (r.partition_key, r.asset_materialization.metadata["days"].value) for r in records
        ),
        "latest": instance.get_latest_materialization_event(key).dagster_event.partition,
        "partition_tags": sorted(
            t["dagster/partition"]
            for t in instance.get_event_tags_for_asset(key, filter_tags={})
            if "dagster/partition" in t
        ),
    }


def test_a_range_is_recorded_as_dagster_records_it_event_by_event(tmp_path: Path) -> None:
    plain_home, batched_home = tmp_path / "plain", tmp_path / "batched"
    plain_home.mkdir()
    plain = dg.DagsterInstance.from_config(str(plain_home))
    batched = instance_at(batched_home)
    assert isinstance(batched.event_log_storage, BatchedSqliteEventLogStorage)
    assert not isinstance(plain.event_log_storage, BatchedSqliteEventLogStorage)
    for instance in (plain, batched):
        with batched_events():
            _run(instance, "2026-01-01", "2026-01-31")  # 31 days
            _run(instance, "2026-01-20", "2026-02-10")  # overlapping: days written twice
            _run(instance, "2026-02-11", "2026-02-11")  # a single day: stored on its own
    expected, got = _recorded(plain), _recorded(batched)
    assert got == expected
    assert len(got["partitions"]) == 42 and len(got["records"]) == 31 + 22 + 1
    assert got["latest"] == "2026-02-11"
    # what the UI and the daemon open (dagster.yaml's default storage) reads the same records
    reread = _recorded(dg.DagsterInstance.from_config(str(batched_home)))
    assert reread == expected


def test_a_configured_storage_is_used_as_configured(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    (home / "dagster.yaml").write_text(f"storage:\n  sqlite:\n    base_dir: {elsewhere}\n")
    instance = instance_at(home)
    assert not isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)
    with batched_events():
        _run(instance, "2026-01-01", "2026-01-05")
    assert list((elsewhere / "history" / "runs").glob("*.db"))
    assert not (home / "history").exists()
    reopened = dg.DagsterInstance.from_config(str(home))
    assert len(reopened.get_materialized_partitions(dg.AssetKey("daily_thing"))) == 5


def test_batching_is_switched_on_only_around_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    with batched_events():
        assert int(os.environ["DAGSTER_EVENT_BATCH_SIZE"]) > 1
    assert "DAGSTER_EVENT_BATCH_SIZE" not in os.environ
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "7")  # the operator's own setting wins
    with batched_events():
        assert os.environ["DAGSTER_EVENT_BATCH_SIZE"] == "7"
    assert os.environ["DAGSTER_EVENT_BATCH_SIZE"] == "7"


def test_the_repos_dagster_yaml_uses_it_where_dagster_keeps_event_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dagster.yaml names the storage without a folder: the UI and the daemon (DAGSTER_HOME set)
    and `loyalty run` (the settings' dagster_home) find the event logs in <home>/history/runs."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_bytes((REPO / "dagster.yaml").read_bytes())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ui = dg.DagsterInstance.get()
    assert isinstance(ui.event_log_storage, BatchedSqliteEventLogStorage)
    assert Path(ui.event_log_storage._base_dir) == home / "history" / "runs"
    monkeypatch.delenv("DAGSTER_HOME")
    cli = instance_at(home)
    assert isinstance(cli.event_log_storage, BatchedSqliteEventLogStorage)
    _run(cli, "2026-01-01", "2026-01-03")
    assert list((home / "history" / "runs").glob("*.db"))
    with pytest.raises(Exception, match="set DAGSTER_HOME"):
        dg.DagsterInstance.from_config(str(home))


def test_engines_are_made_once_per_file_and_the_oldest_let_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file's SQLAlchemy engine is made once (not per connection), at most _ENGINES_KEPT of
    them are kept, and a file whose engine was let go is read and written again as before."""
    from loyalty.orchestration import event_log

    monkeypatch.setattr(event_log, "_ENGINES_KEPT", 2)
    instance = instance_at(tmp_path / "home")
    storage = instance.event_log_storage
    with batched_events():
        _run(instance, "2026-01-01", "2026-01-03")
        first = {id(e) for e in storage._engines.values()}
        _run(instance, "2026-01-04", "2026-01-04")
        _run(instance, "2026-01-05", "2026-01-06")
    assert len(storage._engines) == 2  # the index and the latest run's file
    assert first & {id(e) for e in storage._engines.values()}  # the index's engine, kept
    got = _recorded(instance)
    assert got["partitions"] == [f"2026-01-0{d}" for d in range(1, 7)]
    assert got["in_run_logs"] == got["records"]  # every run's file read again


def _entry(instance: dg.DagsterInstance) -> dict:
    """The asset's row of the index (what the UI's asset pages read first) and the index's own
    materialisation events of it."""
    from dagster._core.storage.event_log.schema import AssetKeyTable, SqlEventLogStorageTable
    from dagster._serdes import deserialize_value
    from sqlalchemy import select

    storage = instance.event_log_storage
    with storage.index_connection() as conn:
        row = conn.execute(
            select(AssetKeyTable.c.last_materialization, AssetKeyTable.c.last_run_id)
        ).one()
        ids = [
            r[0]
            for r in conn.execute(
                select(SqlEventLogStorageTable.c.id)
                .where(SqlEventLogStorageTable.c.dagster_event_type == "ASSET_MATERIALIZATION")
                .order_by(SqlEventLogStorageTable.c.id)
            )
        ]
    record = deserialize_value(row[0])
    return {
        "points_at_latest": record.storage_id == ids[-1],
        "partition": record.event_log_entry.dagster_event.partition,
        "last_run_is_the_records": row[1] == record.event_log_entry.run_id,
        "events": len(ids),
    }


def test_the_assets_entry_points_at_the_batchs_last_event_as_event_by_event(tmp_path: Path):
    """Each batch writes the asset's entry once, from its last event: the same entry as Dagster's
    storage leaves after writing the events one by one."""
    plain_home, batched_home = tmp_path / "plain", tmp_path / "batched"
    plain_home.mkdir()
    plain = dg.DagsterInstance.from_config(str(plain_home))
    batched = instance_at(batched_home)
    for instance in (plain, batched):
        with batched_events():
            _run(instance, "2026-01-01", "2026-01-31")
            _run(instance, "2026-01-05", "2026-01-12")  # ends before the first range's end
    got = _entry(batched)
    assert got == _entry(plain)
    assert got == {
        "points_at_latest": True,
        "partition": "2026-01-12",
        "last_run_is_the_records": True,
        "events": 39,
    }


@dg.multi_asset(
    specs=[dg.AssetSpec("checked_thing")],
    check_specs=[dg.AssetCheckSpec("thing_ok", asset="checked_thing")],
    partitions_def=DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def checked_thing(context: dg.AssetExecutionContext):
    yield dg.MaterializeResult(asset_key="checked_thing")
    yield dg.AssetCheckResult(asset_key="checked_thing", check_name="thing_ok", passed=True)


def _checks(instance: dg.DagsterInstance) -> list:
    key = dg.AssetCheckKey(dg.AssetKey("checked_thing"), "thing_ok")
    history = instance.event_log_storage.get_asset_check_execution_history(key, limit=100)
    return sorted(
        (
            r.run_id == history[0].run_id,
            r.status.value,
            r.partition,
            r.event.dagster_event_type.value if r.event else None,
        )
        for r in history
    )


def test_planned_checks_are_recorded_as_dagster_records_them(tmp_path: Path, monkeypatch) -> None:
    """A run's planned materialisations and planned checks come as one batch: stored together,
    the check executions are Dagster's own (planned, then the evaluation's outcome)."""
    stored_together: list = []
    rows_of = BatchedSqliteEventLogStorage._planned_check_row

    def planned_rows(self, event, event_id):
        rows = rows_of(self, event, event_id)
        stored_together.extend(rows)
        return rows

    monkeypatch.setattr(BatchedSqliteEventLogStorage, "_planned_check_row", planned_rows)
    plain_home, batched_home = tmp_path / "plain", tmp_path / "batched"
    plain_home.mkdir()
    plain = dg.DagsterInstance.from_config(str(plain_home))
    batched = instance_at(batched_home)
    tags = {
        "dagster/asset_partition_range_start": "2026-01-01",
        "dagster/asset_partition_range_end": "2026-01-10",
    }
    for instance in (plain, batched):
        with batched_events():
            for selection in ([daily_thing, checked_thing], [checked_thing]):
                assert dg.materialize(selection, instance=instance, tags=tags).success
    got = _checks(batched)
    assert got == _checks(plain)
    # Dagster keeps a planned row per partition of a range and one row for the evaluation
    assert [s for _, s, _, _ in got].count("PLANNED") == 20
    assert [s for _, s, _, _ in got].count("SUCCEEDED") == 2
    assert _recorded(batched) == _recorded(plain)
    assert len(stored_together) == 20  # the planned checks went in the batch, not one by one


def test_each_file_is_connected_to_once_and_a_forked_child_opens_its_own(tmp_path: Path) -> None:
    """The storage keeps its connections to a file between calls (not one per event): later
    runs connect to the index no more, and each run's file is connected to at its set-up only.
    A forked child never reuses its parent's connections: it opens its own, and what it writes
    is there for the parent."""
    import logging
    import os
    import sqlite3
    import time
    from collections import Counter

    from dagster._core.events.log import EventLogEntry
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    connects: list[str] = []

    def on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        connects.append(dbapi_connection.execute("pragma database_list").fetchall()[0][2])

    def shards() -> list[str]:  # the event log's files (not runs.db, Dagster's run storage)
        return [Path(p).name for p in connects if Path(p).parent.name == "runs"]

    event.listen(Pool, "connect", on_connect)
    try:
        instance = instance_at(tmp_path / "home")
        with batched_events():
            _run(instance, "2026-01-01", "2026-01-03")
            # the index's set-up: Dagster's constructor and its first look at each table
            index_at_first = shards().count("index.db")
            _run(instance, "2026-01-04", "2026-01-04")
            _run(instance, "2026-01-05", "2026-01-06")
    finally:
        event.remove(Pool, "connect", on_connect)
    # the index's kept connection served every event of the later runs (one connection each before)
    assert shards().count("index.db") == index_at_first
    runs = Counter(p for p in shards() if p != "index.db")
    # each run's file: Dagster's set-up of a new file looks at its tables on a second connection
    # while the first is open; both are kept for the run's dozen events
    assert len(runs) == 3 and max(runs.values()) <= 2

    storage = instance.event_log_storage
    run_id = instance.get_run_records()[0].dagster_run.run_id
    pid = os.fork()
    if pid == 0:  # the child: nothing pooled, then a write of its own
        code = 1
        try:
            pooled = sum(e.pool.checkedin() for e in storage._engines.values())
            storage.store_event(
                EventLogEntry(
                    error_info=None,
                    level=logging.INFO,
                    user_message="written by the child",
                    run_id=run_id,
                    timestamp=time.time(),
                )
            )
            code = 0 if pooled == 0 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    messages = [e.user_message for e in instance.all_logs(run_id)]
    assert "written by the child" in messages
    _run(instance, "2026-01-07", "2026-01-07")  # the parent's connections still work
    assert "2026-01-07" in _recorded(instance)["partitions"]


def test_dispose_and_the_process_end_close_the_kept_connections(tmp_path: Path) -> None:
    """The kept connections hold each SQLite file's write-ahead log open. Disposing the instance
    closes them, so SQLite folds the `.db-wal` files back in and removes them; so does the end of
    a process that skips the interpreter's teardown (`loyalty run`: the exit handlers run, then
    os._exit), for an instance never disposed."""
    import subprocess
    import sys

    home = tmp_path / "home"
    instance = instance_at(home)
    with batched_events():
        _run(instance, "2026-01-01", "2026-01-03")
    assert sorted(home.rglob("*.db-wal")), "open connections keep the logs"
    instance.dispose()
    assert sorted(home.rglob("*.db-wal")) == []
    assert _recorded(instance_at(home))["partitions"] == ["2026-01-01", "2026-01-02", "2026-01-03"]

    other = tmp_path / "other"
    code = (
        "import atexit, os\n"
        "import dagster as dg\n"
        "from loyalty.orchestration.event_log import batched_events, instance_at\n"
        "from tests.test_event_log import daily_thing\n"
        f"instance = instance_at({str(other)!r})\n"
        "with batched_events():\n"
        "    assert dg.materialize([daily_thing], instance=instance, partition_key='2026-01-05').success\n"
        "atexit._run_exitfuncs()\n"
        "os._exit(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(other.rglob("*.db")) and sorted(other.rglob("*.db-wal")) == []
