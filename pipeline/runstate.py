"""What a run leaves behind and what a re-run compares it with, without Dagster (so that a re-run
with nothing new answers in a second, before Dagster and the ingest packages are imported):
the day D the run computes by default, the state of the database for D, the landing files, and
<output>/.loyalty_last_run.json, written by the last successful run."""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import importlib.util
import json
import os
import zoneinfo
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

from loyalty import engine
from loyalty.settings import Settings


def dagster_home(settings: Settings) -> Path | None:
    """Where this run's Dagster runs are recorded (the UI shows them there): $DAGSTER_HOME, else
    the settings' `paths.dagster_home`; None: nowhere, nothing is kept."""
    env = os.environ.get("DAGSTER_HOME")
    return Path(env) if env else settings.dagster_home_path


def run_summary(settings: Settings) -> list[str]:
    """The last lines of a run: where the database and Dagster's record of the runs are."""
    home = dagster_home(settings)
    return [
        f"warehouse (Spark): {settings.warehouse_path}"
        if settings.engine == "spark"
        else f"database: {settings.database_path}",
        f"dagster runs: recorded in {home} (the UI shows them: bash scripts/ui.sh)"
        if home
        else "dagster runs: not kept (set paths.dagster_home or DAGSTER_HOME to see them in the UI)",
    ]


def nothing_new_message(as_of: dt.date, week_start: dt.date, week_end: dt.date) -> str:
    return (
        "nothing new since the last run: no new export file, the same settings, and day "
        f"{as_of}'s snapshot, KPI board, period marts, model and week {week_start} .. "
        f"{week_end}'s reports are already there (--rebuild recomputes everything)"
    )


def ingest_lines(conn: duckdb.DuckDBPyConnection, loads_before: int) -> list[str]:
    """One line per source: what this run's ingest did (the `ingest_log` rows after
    `loads_before`: files loaded, with their rows and quarantined rows, and files skipped because
    their content was loaded already) and what the table holds from every load."""
    rows = conn.execute(
        """select
               source,
               count(*) filter (where load_id > $before and status <> 'skipped'),
               coalesce(sum(rows_loaded) filter (where load_id > $before), 0),
               coalesce(sum(rows_quarantined) filter (where load_id > $before), 0),
               count(*) filter (where load_id > $before and status = 'skipped'),
               count(*) filter (where status <> 'skipped'),
               coalesce(sum(rows_loaded), 0)
           from ingest_log
           group by source
           order by source""",
        {"before": loads_before},
    ).fetchall()
    lines = []
    for source, files, loaded, quarantined, skipped, all_files, all_rows in rows:
        now = (
            f"{files} new file(s): {loaded:,} rows loaded, {quarantined:,} quarantined"
            if files
            else "no new file"
        )
        if skipped:
            now += f"; {skipped} skipped (content already loaded)"
        lines.append(f"{source}: {now}; {all_files} file(s), {all_rows:,} rows loaded in all")
    return lines


def default_as_of(settings: Settings) -> dt.date | None:
    """The last day with orders, at most yesterday in the business time zone."""
    yesterday = dt.datetime.now(zoneinfo.ZoneInfo(settings.timezone)).date() - dt.timedelta(days=1)
    with engine.connect(settings, read_only=True) as conn:
        if not engine.table_exists(conn, "orders"):
            return None
        last = engine.scalar(conn, "select max(ordered_at)::date from orders")
    return None if last is None else min(last, yesterday)


# --- a re-run with nothing new -------------------------------------------------------------------
# "Nothing new" means, after this run's ingest: no export file was loaded (every ingest_log row newer
# than the last run is a `skipped` file with content already loaded), the settings resolve to the
# same values (every key, overrides included) with the same code (package version and source files), every day up to D is
# stored, and day D's snapshot (snapshot_params), KPI board, model (customer_value), revenue at
# risk and every incrementally built period mart (period_build_state) are exactly the rows the last
# successful run left, and each report file it wrote is still on disk. The last successful run
# records that state in <output>/.loyalty_last_run.json.

LAST_RUN = ".loyalty_last_run.json"


def _code_fingerprint() -> str:
    """The package version and every source file's name, size and modification time (Python, SQL,
    templates): an edited report template or query makes the next run compute again."""
    try:
        parts = [metadata.version("loyalty-pipeline")]
    except metadata.PackageNotFoundError:  # pragma: no cover - a checkout without install
        parts = ["unknown"]
    for package in ("loyalty", "loyalty.assets", "loyalty.reports", "loyalty.sql"):
        # the folders only: importing loyalty.assets would import Dagster
        spec = importlib.util.find_spec(package)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            for p in sorted(Path(folder).rglob("*")):
                if p.is_file() and p.suffix not in (".pyc", ".pyo"):
                    st = p.stat()
                    parts.append(f"{p}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _settings_fingerprint(settings: Settings) -> str:
    text = json.dumps(settings.model_dump(mode="json"), sort_keys=True, default=str)
    return hashlib.sha256(f"{_code_fingerprint()}\n{text}".encode()).hexdigest()


def current_state(settings: Settings, as_of: dt.date) -> dict[str, Any] | None:
    """What the database holds for day D, as JSON-able values; None when something is missing."""
    needed = ("ingest_log", "snapshot_params", "kpi_daily", "customer_value", "period_build_state")
    with engine.connect(settings, read_only=True) as conn:
        if not all(engine.table_exists(conn, t) for t in needed):
            return None
        day = conn.execute(
            "select computed_at, loads_seen, params_json from snapshot_params where as_of = ?",
            [as_of],
        ).fetchall()
        counts = conn.execute(
            "select (select count(*) from kpi_daily where as_of = $d), "
            "(select count(*) from customer_value where as_of = $d)",
            {"d": as_of},
        ).fetchone()
        if not day or not counts or 0 in counts:
            return None
        state = {
            "as_of": as_of.isoformat(),
            "settings": _settings_fingerprint(settings),
            "newest_load": engine.scalar(
                conn, "select max(load_id) from ingest_log where status <> 'skipped'"
            ),
            "snapshot": [str(v) for v in day[0]],
            "rows_on_day": list(counts),
            "periods": [
                [str(v) for v in row]
                for row in conn.execute(
                    "select table_name, built_at, loads_seen, params_json "
                    "from period_build_state order by table_name"
                ).fetchall()
            ],
        }
    return json.loads(json.dumps(state, default=str))


def unchanged_since_last_run(
    settings: Settings, state: dict[str, Any], landing: list[list[Any]] | None = None
) -> bool:
    """Whether the last successful run left this state and its report files are on disk; with
    `landing`, also whether the landing files are the ones it saw before its ingest."""
    path = settings.output_path / LAST_RUN
    try:
        last = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if landing is not None and last.get("landing") != landing:
        return False
    return last.get("state") == state and all(Path(p).is_file() for p in last.get("files") or [0])


def record_run(
    settings: Settings,
    state: dict[str, Any] | None,
    files: list[Path],
    landing: list[list[Any]] | None = None,
) -> None:
    """Write .loyalty_last_run.json: the state the run left, its report files and the landing
    files as they were before its ingest (a file that arrives during a run is not in it)."""
    path = settings.output_path / LAST_RUN
    if state is None or not files:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(path.name + ".tmp")
    record = {"state": state, "files": [str(p) for p in files], "landing": landing}
    tmp.write_text(json.dumps(record), "utf-8")
    os.replace(tmp, path)


def record_landing(settings: Settings, landing: list[list[Any]]) -> None:
    """After a run that found nothing new in files that changed on disk (touched, copied back):
    the landing files it saw, so that the next run answers before any ingest."""
    path = settings.output_path / LAST_RUN
    try:
        last = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if last.get("landing") != landing:
        last["landing"] = landing
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(last), "utf-8")
        os.replace(tmp, path)


def landing_files(settings: Settings) -> list[list[Any]]:
    """Every file the source mappings' patterns match in the landing folder, with its size and
    modification time: a new, changed or removed export makes the next run ingest and compute."""
    patterns: list[str] = []
    for mapping in settings.sources.values():
        patterns += [mapping.files] if mapping.files else list((mapping.tables or {}).values())
    found: list[list[Any]] = []
    base = settings.landing_path
    for pattern in patterns:
        full = pattern if Path(pattern).is_absolute() else str(base / pattern)
        for name in sorted(glob.glob(full, recursive=True)):
            try:
                st = os.stat(name)
            except OSError:  # a dangling link: the ingest names it
                found.append([pattern, name, None, None])
                continue
            found.append([pattern, name, st.st_size, st.st_mtime_ns])
    return found


def nothing_new(settings: Settings, as_of: dt.date | None) -> list[str] | None:
    """Before any ingest: what the run prints when a run for D would find nothing
    new (the landing files, settings and code as at the last successful run, every day up to D
    stored and D's results as that run left them, its report files on disk); else None."""
    if not (settings.output_path / LAST_RUN).is_file() or not settings.database_path.is_file():
        return None
    as_of = as_of or default_as_of(settings)
    if as_of is None:
        return None
    state = current_state(settings, as_of)
    if state is None or not unchanged_since_last_run(settings, state):
        return None
    landing = landing_files(settings)
    touched = _touched_only(settings, landing)
    if touched is None:
        return None
    with engine.connect(settings, read_only=True) as conn:
        first_order = engine.scalar(conn, "select min(ordered_at)::date from orders")
        first_day = max(settings.schedules.start_date, first_order)
        stored = engine.scalar(
            conn,
            "select count(*) from (select as_of from snapshot_params intersect "
            "select distinct as_of from kpi_daily) where as_of between ? and ?",
            [first_day, as_of],
        )
    if stored != (as_of - first_day).days + 1:
        return None
    week_end = as_of - dt.timedelta(days=(as_of.isoweekday() % 7))
    if week_end - dt.timedelta(days=6) < settings.schedules.start_date:
        return None
    week_start = week_end - dt.timedelta(days=6)
    iso = week_start.isocalendar()
    folder = settings.output_path / f"{iso.year}-W{iso.week:02d}"
    if touched:  # the next run compares with these files as they are now, without hashing
        record_landing(settings, landing)
    return [
        nothing_new_message(as_of, week_start, week_end),
        *(
            [f"({touched} export file(s) touched or copied: content already loaded)"]
            if touched
            else []
        ),
        *run_summary(settings),
        f"reports: {folder}",
    ]


def _touched_only(settings: Settings, landing: list[list[Any]]) -> int | None:
    """How many landing files differ from those the last successful run saw (a later modification
    time, a copy under another name) while holding content the ingest log already has for their
    source, so that the ingest would skip each of them ("same content as ..., already loaded");
    0 when none differ. None when one cannot be answered for without the ingest: new content, a
    file gone, a dangling link, a query mapping's file. A file's content is its SHA-256, as the
    ingest hashes it (loyalty.ingest.discovery)."""
    try:
        last = json.loads((settings.output_path / LAST_RUN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    before = {(p, n): (size, mtime) for p, n, size, mtime in last.get("landing") or []}
    now = {(p, n): (size, mtime) for p, n, size, mtime in landing}
    if not before or not set(before) <= set(now):
        return None
    changed = [key for key, seen in now.items() if before.get(key) != seen]
    kinds: dict[str, list[str]] = {}
    for kind, mapping in settings.sources.items():
        if mapping.files and mapping.enabled:
            kinds.setdefault(mapping.files, []).append(kind)
    if any(p not in kinds or now[(p, n)][0] is None for p, n in changed):
        return None
    with engine.connect(settings, read_only=True) as conn:
        for p, n in changed:
            with open(n, "rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
            for kind in kinds[p]:
                seen = engine.query_file(
                    conn, "ingest/loads_of_content.sql", {"source": kind, "content_hash": digest}
                )
                if not seen:
                    return None
    return len(changed)
