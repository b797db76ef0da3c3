"""The restatement log (docs/metrics.md, "restatements"): after the period marts are built, every
figure of a closed period they hold (sql/marts/restatements/figures_now.sql; the figures watched:
`loyalty.vocab.RESTATED_FIGURES`) is compared with the value the last run recorded
(`period_figures`). A figure that changed becomes a row of `restatements` with its old and new
value, the run, and the cause: the metric settings that changed, else the ingest loads since the
last run with rows dated in or before the period, else "recomputed" (snapshot days computed again).
Then the recorded figures are replaced by today's, so a run with nothing new records nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import duckdb

from loyalty import engine
from loyalty.settings import Settings

BOOKKEEPING = "bookkeeping/restatements.sql"
FIGURES = "marts/restatements/figures_now"
MODEL = "marts/restatements"
# a difference below this is arithmetic noise, not a restatement
TOLERANCE = 1e-9


def settings_json(settings: Settings) -> str:
    """The settings the period marts are computed with (`metrics`), as recorded with each run."""
    return json.dumps({"metrics": settings.metrics.model_dump(mode="json")}, sort_keys=True)


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def changed_settings(before: str, after: str) -> list[str]:
    """The dotted keys whose values differ between two `settings_json` texts (a list-valued key,
    e.g. the segment map, counts as one key)."""
    old, new = _flat(json.loads(before)), _flat(json.loads(after))
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


def _recomputed_cause(conn: duckdb.DuckDBPyConnection, since: dt.datetime) -> str:
    days = conn.execute(
        "select min(as_of), max(as_of) from snapshot_params where computed_at >= ?", [since]
    ).fetchall()
    first, last = days[0] if days else (None, None)
    if first is None:
        return "recomputed"
    span = str(first) if first == last else f"{first}..{last}"
    return f"snapshot days {span} recomputed"


def compute_restatements(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_id: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Record the restatements of this run and the figures it leaves; one transaction. Returns the
    number of restatement rows written (0 on a first run: there is nothing to compare with)."""
    engine.execute_file(conn, BOOKKEEPING)
    if not engine.table_exists(conn, "report_periods"):
        return 0
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    current = settings_json(settings)
    newest = (
        engine.scalar(conn, "select max(load_id) from ingest_log") if _has_ingest(conn) else None
    )
    written = 0
    with engine.transaction(conn):
        engine.create_table(conn, FIGURES, {}, temp=True)
        state = conn.execute(
            "select recorded_at, loads_seen, settings_json from restatement_state"
        ).fetchall()
        if state and _has_ingest(conn):
            recorded_at, seen, recorded_json = state[0]
            keys = changed_settings(recorded_json, current)
            before = engine.scalar(conn, "select count(*) from restatements")
            engine.insert_by_name(
                conn,
                MODEL,
                {
                    "tolerance": TOLERANCE,
                    "loads_seen": -1 if seen is None else seen,
                    "setting_cause": ", ".join(keys) if keys else None,
                    "recomputed_cause": _recomputed_cause(conn, recorded_at),
                    "restated_at": now,
                    "run_id": run_id,
                },
            )
            written = engine.scalar(conn, "select count(*) from restatements") - before
        conn.execute("delete from period_figures")
        conn.execute("insert into period_figures by name select * from figures_now")
        conn.execute("delete from restatement_state")
        conn.execute("insert into restatement_state values (?, ?, ?)", [now, newest, current])
        conn.execute("drop table figures_now")
    return written


def _has_ingest(conn: duckdb.DuckDBPyConnection) -> bool:
    return all(engine.table_exists(conn, t) for t in ("ingest_log", "orders", "tickets", "surveys"))


def latest_summary(conn: duckdb.DuckDBPyConnection, written: int) -> str:
    """One line for the run's metadata: counts only."""
    if not written:
        return "no figure of a closed period changed"
    rows = conn.execute(
        "select cause_kind, count(*) from restatements "
        "where restated_at = (select max(restated_at) from restatements) group by 1 order by 1"
    ).fetchall()
    return f"{written} figure(s) restated: " + ", ".join(f"{n} by {kind}" for kind, n in rows)
