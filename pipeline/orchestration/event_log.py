"""Dagster's SQLite event log, writing a step's partition materialisations in one go.

A run over a range of daily partitions (a first run: 540 days of customer_snapshot and kpi_daily,
26 weeks of the model's assets) ends each step with one ASSET_MATERIALIZATION event per day.
Dagster's SQLite storage writes each on its own: a connection and a commit to the run's file, and
another to the index file, about 8 ms an event on this machine class, so 1,600 events cost 13 s of
a 60 s first run at CDNOW size. Dagster already hands such events over as one batch when
`DAGSTER_EVENT_BATCH_SIZE` is set (Dagster's own setting; its SQLite storage then still stores them
one by one). `BatchedSqliteEventLogStorage` stores the batch with one insert into the run's file
and one transaction on the index file; the rows are the ones `store_event` writes (the same tables,
columns, tags and asset entries), so the UI, the daemon and `dagster` commands read them unchanged.

`instance_at(home)` opens the instance of a Dagster home with this storage when the home's
dagster.yaml keeps Dagster's default SQLite event log (another storage, Postgres say, is left as
it is), and `batched_events()` turns Dagster's batching on around a run.
"""

from __future__ import annotations

import atexit
import os
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationPlanned,
)
from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    SqlEventLogStorageTable,
)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import serialize_value
from sqlalchemy import create_engine
from sqlalchemy.pool import QueuePool

BATCH_ENV = "DAGSTER_EVENT_BATCH_SIZE"
# events per batch: Dagster flushes a step's events when the batch is full or the step's last one
# is in it; a few hundred keep one insert statement well within SQLite's limits
BATCH_SIZE = 500
# SQLAlchemy engines kept per storage (one per run's file and the index)
_ENGINES_KEPT = 64
_STORAGE_KEYS = ("storage", "run_storage", "event_log_storage", "schedule_storage")


class BatchedSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage whose `store_event_batch` writes a batch of asset events of one run
    in two transactions instead of two per event. Any other batch is stored one event at a time."""

    def __init__(self, base_dir: str, inst_data: Any = None):
        super().__init__(base_dir, inst_data)
        # Dagster hands a step's partition events over as batches only while this is set: on for
        # every process that stores events here (the CLI, the daemon's run workers, the UI's)
        os.environ.setdefault(BATCH_ENV, str(BATCH_SIZE))

    @classmethod
    def config_type(cls) -> Any:
        # base_dir may be left out of dagster.yaml: $DAGSTER_HOME/history/runs, where Dagster's
        # default SQLite storage keeps the event logs (dagster.yaml cannot join a path to the env)
        return {"base_dir": dg.Field(dg.StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> BatchedSqliteEventLogStorage:
        base_dir = config_value.get("base_dir")
        if not base_dir:
            home = os.environ.get("DAGSTER_HOME")
            if not home:
                raise dg.DagsterInvariantViolationError(
                    f"{cls.__name__} without base_dir keeps the event logs under "
                    "$DAGSTER_HOME/history/runs: set DAGSTER_HOME (or base_dir in dagster.yaml)"
                )
            base_dir = str(Path(home) / "history" / "runs")
        return cls(base_dir=base_dir, inst_data=inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Any]:
        """Dagster's `_connect` with the SQLAlchemy engine of each file made once, not on every
        call, and its connection kept for the next call (a pool) instead of opened and closed
        each time: a first run at CDNOW size connected about 800 times, and making an engine, then
        opening and closing a connection each time cost 0.7 s of its 20. An idle SQLite connection
        holds no lock, so other processes (the UI, the daemon) read and write the files as before.
        A forked child never uses its parent's connections (`_forget_in_child`)."""
        with self._db_lock:
            engines = self.__dict__.setdefault("_engines", OrderedDict())
            engine = engines.get(shard)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    poolclass=QueuePool,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                engines[shard] = engine
                _STORAGES.add(self)
                while len(engines) > _ENGINES_KEPT:  # a daemon's runs: the latest ones
                    engines.popitem(last=False)[1].dispose()  # closes its connections
            else:
                engines.move_to_end(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        """Dagster's `dispose`, and the kept connections closed: SQLite then folds each file's
        write-ahead log (`.db-wal`) back into the file and removes it."""
        super().dispose()
        self.close_connections()

    def close_connections(self) -> None:
        with self._db_lock:
            engines = self.__dict__.get("_engines", {})
            while engines:
                engines.popitem(last=False)[1].dispose()

    def has_table(self, table_name: str) -> bool:
        """Dagster's `has_table` (it makes an engine and a connection to the index on each call,
        twice per step) remembering the tables found: a table, once made, stays."""
        found = self.__dict__.setdefault("_tables_found", set())
        if table_name not in found and super().has_table(table_name):
            found.add(table_name)
        return table_name in found

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        runs = {e.run_id for e in events}
        if (
            len(events) < 2
            or len(runs) != 1
            or not all(_is_asset_event(e) or _is_check_planned(e) for e in events)
        ):
            for event in events:
                self.store_event(event)
            return
        # each event serialized once, for both files (as Dagster's store_event does for one event)
        rows = [self._event_to_row(event) for event in events]
        # the index first: if it fails nothing is written, and Dagster stores the events one by
        # one instead (store_event writes the run's file first; both files are never one transaction)
        with self.index_transaction() as conn:
            inserted = conn.execute(
                SqlEventLogStorageTable.insert().returning(
                    SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
                ),
                rows,
            )
            event_ids = [row[0] for row in inserted]
            assets = [(e, i) for e, i in zip(events, event_ids, strict=True) if _is_asset_event(e)]
            if assets:
                self._store_asset_event_tags(conn, [e for e, _ in assets], [i for _, i in assets])
            # an asset's entry holds what its latest event of each kind set (each event overwrites
            # the columns its kind sets): the last event of each (asset, kind) in the batch, in
            # order, leaves the entry as storing every event in turn does
            last: dict[tuple[Any, Any], tuple[EventLogEntry, int]] = {}
            for event, event_id in assets:
                key = (event.get_dagster_event().asset_key, event.dagster_event_type)
                last[key] = (event, event_id)
            for event, event_id in sorted(last.values(), key=lambda pair: pair[1]):
                self._store_asset_event(conn, event, event_id)
            # a planned check: its execution row, as store_asset_check_event writes it (there on a
            # connection of its own; here in the index's transaction, so the batch is all or nothing)
            planned = [
                self._planned_check_row(e, i)
                for e, i in zip(events, event_ids, strict=True)
                if _is_check_planned(e)
            ]
            if planned:
                conn.execute(AssetCheckExecutionsTable.insert(), [r for rs in planned for r in rs])
        with self.run_connection(next(iter(runs))) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)

    def _planned_check_row(self, event: EventLogEntry, event_id: int) -> list[dict[str, Any]]:
        """The asset_check_executions rows of an ASSET_CHECK_EVALUATION_PLANNED event (Dagster's
        SqlEventLogStorage._store_asset_check_evaluation_planned)."""
        planned = event.get_dagster_event().event_specific_data
        assert isinstance(planned, AssetCheckEvaluationPlanned)
        keys = (
            planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        )
        # the same event on every partition's row: serialized once (a first range plans 540 days)
        serialized = serialize_value(event)
        return [
            {
                "asset_key": planned.asset_key.to_string(),
                "check_name": planned.check_name,
                "partition": key,
                "run_id": event.run_id,
                "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
                "evaluation_event": serialized,
                "evaluation_event_timestamp": self._event_insert_timestamp(event),
                "evaluation_event_storage_id": event_id,
            }
            for key in keys
        ]


# the storages with engines in this process, for `_forget_in_child`
_STORAGES: weakref.WeakSet[BatchedSqliteEventLogStorage] = weakref.WeakSet()


def _forget_in_child() -> None:
    """In a forked child: drop the pooled connections inherited from the parent without closing
    them (they are the parent's; SQLite connections must not cross a fork). The child opens its
    own on first use."""
    for storage in list(_STORAGES):
        for engine in storage.__dict__.get("_engines", {}).values():
            engine.dispose(close=False)


def _close_at_exit() -> None:
    """At the process's end: close the kept connections of every storage not disposed (the
    interpreter's teardown would, but `loyalty run` ends without it: loyalty.cli.exit_now)."""
    for storage in list(_STORAGES):
        storage.close_connections()


os.register_at_fork(after_in_child=_forget_in_child)
atexit.register(_close_at_exit)


def _is_check_planned(event: EventLogEntry) -> bool:
    return bool(
        event.is_dagster_event
        and event.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
    )


def _is_asset_event(event: EventLogEntry) -> bool:
    return bool(event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS)


def instance_at(home: Path) -> dg.DagsterInstance:
    """The Dagster instance of `home` (its dagster.yaml), with the batched event log when the
    dagster.yaml names no storage (Dagster's default: SQLite files under <home>/history/); a
    configured storage (Postgres, another SQLite folder) is used as configured."""
    Path(home).mkdir(parents=True, exist_ok=True)
    config, custom_class = dagster_instance_config(str(home))
    events = config.get("event_log_storage") or {}
    ours = events.get("module") == __name__ and not (events.get("config") or {}).get("base_dir")
    others = [k for k in _STORAGE_KEYS if config.get(k) and not (k == "event_log_storage" and ours)]
    if custom_class or others:
        return dg.DagsterInstance.from_config(str(home))
    # Dagster's default storage, or this one without base_dir: its folder under `home` (the
    # settings' dagster_home, which need not be $DAGSTER_HOME)
    storage = {
        "module": __name__,
        "class": BatchedSqliteEventLogStorage.__name__,
        "config": {"base_dir": str(Path(home).resolve() / "history" / "runs")},
    }
    return dg.DagsterInstance.from_ref(
        InstanceRef.from_dir(str(home), overrides={"event_log_storage": storage})
    )


@contextmanager
def batched_events() -> Iterator[None]:
    """Dagster hands a step's partition events to the storage as batches while this is open
    (DAGSTER_EVENT_BATCH_SIZE, unless the environment sets it already)."""
    before = os.environ.get(BATCH_ENV)
    if before is None:
        os.environ[BATCH_ENV] = str(BATCH_SIZE)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(BATCH_ENV, None)
