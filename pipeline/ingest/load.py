"""Loading one unit (a file, or the files a query reads) inside the source's transaction.

read -> map -> type -> validate -> quarantine -> upsert -> log, each a function over a `Load`, the
unit's state. Rows that fail the contract land in `quarantine` with file, line and reason; the rest
replace earlier versions of their keys; `ingest_log` gets one row per unit, whose counts must
balance: rows_read = rows_loaded + rows_quarantined + rows_filtered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from loyalty import engine
from loyalty.contracts import Contract
from loyalty.ingest.casts import create_typed_sql
from loyalty.ingest.discovery import Unit, already_loaded
from loyalty.ingest.errors import IngestError
from loyalty.ingest.failures import load_failure, mapping_failure
from loyalty.ingest.fields import mark_too_long, null_optional_scores
from loyalty.ingest.links import link_returns
from loyalty.ingest.mapping import (
    binder_to_ingest_error,
    failure_probes,
    first_line,
    line_numbered_source,
    mapped_select_glob,
    mapped_select_query,
    mapped_select_query_result,
)
from loyalty.ingest.query_failures import query_failure
from loyalty.ingest.reader import check_header, name_blank_columns, read_csv_call, read_header
from loyalty.ingest.results import FileResult
from loyalty.ingest.textfiles import Transcoded, transcode
from loyalty.ingest.worktables import BAD, GOOD, MAPPED, RAW, REJECTS, TYPED
from loyalty.settings import Settings, SourceMapping
from loyalty.sqlsafe import quote_ident
from loyalty.validation import failing_rows

# rows per pandera validation batch: bounds ingest memory on files of any size
VALIDATION_BATCH_ROWS = 250_000
# share of the DuckDB memory limit handed to the validation (Python, pandera, the Arrow stream)
# while it runs: DuckDB spills cached temp pages instead of holding its whole limit beside them
VALIDATION_MEMORY_SHARE = 0.3
# the quarantine reason of a line whose key a later line of its file has (that one is kept)
DUPLICATE_REASON = "duplicate {key}: a later line of this file has the same key and is kept"


@dataclass(frozen=True)
class Load:
    """One unit's load: what it reads, how it maps, and under which load id it is logged."""

    conn: duckdb.DuckDBPyConnection
    settings: Settings
    contract: Contract
    mapping: SourceMapping
    unit: Unit
    load_id: int
    loaded_at: dt.datetime  # ingest_log.loaded_at and quarantine.quarantined_at (UTC)
    run_id: str | None
    notes: list[str] = field(default_factory=list)  # ingest_log.note
    # per contract column, a query for the first line its mapping fails on (aggregated sources:
    # a query that fails when the column's mapping does)
    line_queries: dict[str, str] = field(default_factory=dict)
    transcoded: list[Transcoded] = field(default_factory=list)  # temp files, removed after reading

    @property
    def kind(self) -> str:
        return self.contract.kind

    @property
    def quarantine_params(self) -> dict[str, Any]:
        return {
            "load_id": self.load_id,
            "kind": self.kind,
            "file": self.unit.name,
            "now": self.loaded_at,
            "max_chars": self.settings.ingest.max_field_chars,
        }

    def readable(self, path: Path) -> Path:
        """`path`, or its UTF-8 transcoding in the temp folder (textfiles.transcode); the lines
        whose bytes did not decode are noted when they are replaced by U+FFFD."""
        reader = self.mapping.reader
        t = transcode(
            path,
            self.unit.name,
            reader.encoding,
            reader.on_bad_encoding,
            self.settings.temp_path,
            f"{self.load_id}_{len(self.transcoded)}",
        )
        self.transcoded.append(t)
        if t.bad_lines and reader.on_bad_encoding == "replace":
            shown = "" if path.name == self.unit.name else path.name
            self.notes.append(t.replaced_note(reader.encoding, shown))
        return t.path

    def remove_transcoded(self) -> None:
        for t in self.transcoded:
            t.remove()


def load_unit(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    contract: Contract,
    mapping: SourceMapping,
    unit: Unit,
    run_id: str | None,
) -> FileResult:
    """Load one unit: its rows are in the contract table and `quarantine`, its row in
    `ingest_log`, all uncommitted (the caller commits after every unit of the source)."""
    seen, original = already_loaded(conn, contract.kind, unit)
    load_id = engine.query_file(conn, "ingest/next_load_id.sql")[0]["load_id"]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    load = Load(conn, settings, contract, mapping, unit, load_id, now, run_id)
    if unit.problem:
        return _log(load, FileResult(unit.name, "skipped", note=unit.problem))
    if seen:
        # touched but unchanged (original is None): log it once so its new modification time is known
        note = f"same content as {original or unit.name}, already loaded"
        return _log(load, FileResult(unit.name, "skipped", note=note))

    engine.execute_file(conn, "ingest/drop_work_tables.sql")
    if mapping.files:
        header = read_header(unit.paths["_"][0], mapping.reader, unit.name)
        if header is None:
            return _log(load, FileResult(unit.name, "empty", note="empty file"))
        header, blank_notes = name_blank_columns(header)
        load.notes.extend(blank_notes)
    else:
        header = None
    try:
        try:
            source_sql = _read_file(load, header) if header is not None else _read_query(load)
        finally:
            load.remove_transcoded()
        mapped_types = _create_mapped(load, source_sql, header)
        _create_typed(load, mapped_types, header)
        load.notes.extend(null_optional_scores(conn, contract))
        _validate(load)
        mark_too_long(conn, contract, settings.ingest.max_field_chars)
        _mark_duplicates(load)
        rows_read, rows_filtered = _read_and_filtered(load)
        rows_quarantined = _quarantine(load)
        keys_loaded, keys_replaced, rows_loaded = _upsert(load)
        load.notes.extend(link_returns(conn, contract, load_id, mapped_types))
    except duckdb.InterruptException:
        raise
    except duckdb.Error as e:
        raise load_failure(e, unit.name, settings.temp_path, "loading") from None
    fr = FileResult(
        unit.name,
        "loaded",
        rows_read=rows_read,
        rows_loaded=rows_loaded,
        rows_quarantined=rows_quarantined,
        rows_filtered=rows_filtered,
        keys_loaded=keys_loaded,
        keys_replaced=keys_replaced,
        note="; ".join(load.notes),
    )
    if fr.rows_read != fr.rows_loaded + fr.rows_quarantined + fr.rows_filtered:
        raise IngestError(
            f"{unit.name}: row accounting does not balance (read {fr.rows_read}, loaded "
            f"{fr.rows_loaded}, quarantined {fr.rows_quarantined}, filtered {fr.rows_filtered})"
        )
    _log(load, fr)
    engine.execute_file(conn, "ingest/drop_work_tables.sql")
    return fr


# --------------------------------------------------------------------------------------------------
# read and map


def _read_file(load: Load, header: list[str]) -> str:
    """Glob mode: the file's records into RAW (unparseable lines into REJECTS); returns the mapped
    select over them."""
    reader = load.mapping.reader
    check_header(load.unit.name, header)
    call, params = read_csv_call(reader, header, "p", REJECTS)
    params["p"] = str(path := load.readable(load.unit.paths["_"][0]))
    try:
        load.conn.execute(f"create temp table {RAW} as select * from {call}", params)
    except duckdb.Error as e:
        where = [(load.unit.name, load.unit.paths["_"][0])]
        raise load_failure(
            e, load.unit.name, load.settings.temp_path, "reading the file", where
        ) from None
    first_data_line = reader.skip + (2 if reader.header else 1)
    lines = line_numbered_source(load.conn, first_data_line, path, reader, len(header))
    mapped = mapped_select_glob(load.contract, load.mapping, header, lines, load.unit.name)
    load.line_queries.update(failure_probes(load.contract, load.mapping, header, lines))
    return mapped


def _read_query(load: Load) -> str:
    """Query mode: the query's result into RAW, numbered in result order; returns the mapped select
    over it. No line is rejected by a query (REJECTS stays empty)."""
    query, params = mapped_select_query(load.contract, load.mapping, load.unit, load.readable)
    try:
        load.conn.execute(
            f"create temp table {RAW} as select row_number() over () as _line, * from ({query})",
            params,
        )
    except duckdb.InterruptException:
        raise
    except duckdb.Error as e:
        raise query_failure(load, e, query, params) from None
    engine.execute_file(load.conn, "ingest/empty_rejects.sql")
    return mapped_select_query_result(load.conn, load.contract, load.mapping, load.unit.name)


def _create_mapped(load: Load, source_sql: str, header: list[str] | None) -> dict[str, str]:
    """The MAPPED view; returns the DuckDB type of each mapped column."""
    try:
        load.conn.execute(f"create temp view {MAPPED} as {source_sql}")
    except duckdb.BinderException as e:
        raise binder_to_ingest_error(e, load.unit.name, header, load.mapping) from None
    except duckdb.Error as e:
        raise IngestError(
            f"{load.unit.name}: the {load.kind} mapping cannot be applied: {first_line(e)}"
        ) from None
    described = load.conn.execute(f"select column_name, column_type from (describe {MAPPED})")
    return dict(described.fetchall())


# --------------------------------------------------------------------------------------------------
# type and validate


def _create_typed(load: Load, mapped_types: dict[str, str], header: list[str] | None) -> None:
    sql, params = create_typed_sql(
        load.contract,
        mapped_types,
        load.mapping.reader.timestamp_format,
        load.settings.timezone,
    )
    try:
        load.conn.execute(sql, params or None)
    except duckdb.InterruptException:
        raise
    except duckdb.Error as e:
        if header is not None:
            # the failed statement aborted the transaction (the load is failing: everything rolls
            # back anyway); the file is read again in a new one to find the column and the line
            load.conn.execute("rollback")
            load.conn.execute("begin transaction")
            engine.execute_file(load.conn, "ingest/drop_work_tables.sql")
            try:
                _read_file(load, header)
            finally:
                load.remove_transcoded()
        raise mapping_failure(
            load.conn,
            e,
            load.unit.name,
            load.settings.temp_path,
            load.line_queries,
            by_line=not load.mapping.aggregate_by,
        ) from None


def _validate(load: Load) -> None:
    """pandera validates the typed rows batch by batch (memory stays bounded whatever the file
    size); the failing rows, with their reasons, become BAD."""
    conn = load.conn
    with engine.memory_lent(conn, load.settings, VALIDATION_MEMORY_SHARE):
        batches = conn.sql(f"select * exclude (_line, _line_count) from {TYPED}").to_arrow_reader(
            VALIDATION_BATCH_ROWS
        )
        bad_parts = [failing_rows(_frame(batch), load.contract) for batch in batches]
        batches.close()
    bad = (
        pl.concat(bad_parts)
        if bad_parts
        else failing_rows(pl.DataFrame(), load.contract, empty_only=True)
    )
    conn.register("bad_frame", bad)
    conn.execute(f"create temp table {BAD} as select * from bad_frame")
    conn.unregister("bad_frame")


def _frame(batch: pa.RecordBatch) -> pl.DataFrame:
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)  # a record batch is a frame, never a series
    return frame


def _mark_duplicates(load: Load) -> None:
    """Within one file, the last line of a key wins; earlier valid lines with that key are BAD."""
    key = load.contract.key
    load.conn.execute(
        f"""insert into {BAD}
            select _row, 'duplicate_key', $key, $reason
            from (
                select _row, row_number() over (partition by {quote_ident(key)} order by _row desc) as k
                from {TYPED} where _row not in (select _row from {BAD})
            ) where k > 1""",
        {
            "key": key,
            "reason": DUPLICATE_REASON.format(key=key),
        },
    )


def _read_and_filtered(load: Load) -> tuple[int, int]:
    """(rows_read, rows_filtered): records in the file (accepted and rejected lines; a query's
    result rows), and records the mapping's filter left out."""
    counts = engine.query_file(load.conn, "ingest/row_counts.sql")[0]
    parsed = int(counts["parsed_rows"])
    rows_read = parsed + int(counts["rejected_lines"]) if load.mapping.files else parsed
    return rows_read, parsed - int(counts["mapped_lines"])


# --------------------------------------------------------------------------------------------------
# quarantine, upsert, log


def _quarantine(load: Load) -> int:
    """BAD rows with their mapped record as JSON (never logged), and the lines the reader could not
    parse, into `quarantine`; returns the input records quarantined."""
    columns = load.contract.columns
    record = ", ".join(f"{quote_ident(c.name)} := m.{quote_ident(c.name)}" for c in columns)
    # a too_long record is stored with every value cut to the limit
    cut = ", ".join(
        f"{quote_ident(c.name)} := left(cast(m.{quote_ident(c.name)} as varchar), $max_chars)"
        for c in columns
    )
    load.conn.execute(
        f"""insert into quarantine
            select $load_id, $kind, $file, t._line, t._line_count, b.reason_code, b.column_name,
                   b.reason,
                   case when b.reason_code = 'too_long' then to_json(struct_pack({cut}))
                        else to_json(struct_pack({record})) end,
                   $now
            from {BAD} b join {TYPED} t using (_row)
            join {MAPPED} m on m._line = b._row""",
        load.quarantine_params,
    )
    if load.mapping.files:
        engine.execute_file(load.conn, "ingest/quarantine_unparseable.sql", load.quarantine_params)
    quarantined = engine.query_file(
        load.conn, "ingest/quarantined_lines.sql", {"load_id": load.load_id}
    )
    return int(quarantined[0]["lines"])


def _upsert(load: Load) -> tuple[int, int, int]:
    """GOOD rows replace earlier versions of their keys in the contract table; returns
    (keys_loaded, keys_replaced, rows_loaded)."""
    conn, table, key = load.conn, quote_ident(load.kind), quote_ident(load.contract.key)
    engine.execute_file(conn, "ingest/good_rows.sql")
    good = engine.query_file(conn, "ingest/good_counts.sql")[0]
    # one pass over the stored keys: DuckDB's delete returns how many rows it removed (one per key)
    (keys_replaced,) = conn.execute(
        f"delete from {table} where {key} in (select {key} from {GOOD})"
    ).fetchone() or (0,)
    cols = ", ".join(quote_ident(c.name) for c in load.contract.columns)
    conn.execute(
        f"insert into {table} ({cols}, _load_id, _line) select {cols}, $load_id, _line from {GOOD}",
        {"load_id": load.load_id},
    )
    return int(good["keys_loaded"]), int(keys_replaced), int(good["rows_loaded"])


def _log(load: Load, fr: FileResult) -> FileResult:
    """The unit's row of `ingest_log`."""
    engine.execute_file(
        load.conn,
        "ingest/log_file.sql",
        {
            "load_id": load.load_id,
            "kind": load.kind,
            "file": load.unit.name,
            "hash": load.unit.content_hash,
            "size": load.unit.size_bytes,
            "status": fr.status,
            "note": fr.note or None,
            "read": fr.rows_read,
            "loaded": fr.rows_loaded,
            "quarantined": fr.rows_quarantined,
            "filtered": fr.rows_filtered,
            "keys": fr.keys_loaded,
            "replaced": fr.keys_replaced,
            "now": load.loaded_at,
            "run_id": load.run_id,
            "modified_at": load.unit.modified_at,
        },
    )
    return fr
