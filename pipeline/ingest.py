"""Loading exports into the contract tables (SPEC §3).

For each kind (orders, tickets, surveys, customers) the files matching the mapping are read with
explicit reader options, their header is checked against the mapping before anything is typed, the
mapped values are cast to the contract types in SQL and validated with the pandera schema of the
contract; rows that fail land in `quarantine` with file, line and reason, the rest replace earlier
versions of their keys. One call is one transaction: a crash leaves every table as it was.

Row accounting, per file: rows_read = rows_loaded + rows_quarantined + rows_filtered (records, i.e.
lines for line-level sources), and a test holds the loader to it.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import glob
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
from loyalty import engine
from loyalty.contracts import CONTRACTS, Contract
from loyalty.settings import ReaderOptions, Settings, SourceMapping
from loyalty.validation import failing_rows

# rows per pandera validation batch: bounds ingest memory on files of any size
VALIDATION_BATCH_ROWS = 250_000
# share of the DuckDB memory limit handed to the validation (Python, pandera, the Arrow stream)
# while it runs: DuckDB spills cached temp pages instead of holding its whole limit beside them
VALIDATION_MEMORY_SHARE = 0.3


class IngestError(Exception):
    """An export that cannot be loaded as mapped; the message names the file and the column."""


@dataclass
class FileResult:
    file_name: str
    status: str  # loaded | skipped | empty
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_filtered: int = 0
    keys_loaded: int = 0
    keys_replaced: int = 0
    note: str = ""


@dataclass
class SourceResult:
    kind: str
    files: list[FileResult] = field(default_factory=list)
    table_rows: int = 0

    @property
    def loaded_files(self) -> list[FileResult]:
        return [f for f in self.files if f.status != "skipped"]


@dataclass
class _Unit:
    """What is loaded as one: a file (glob mode) or the set of files a query reads (query mode)."""

    name: str  # as shown in logs: path relative to the landing folder
    paths: dict[str, list[Path]]  # alias -> files ("_" in glob mode)
    content_hash: str
    size_bytes: int
    modified_at: dt.datetime | None = None


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    engine.execute_file(conn, "ingest/tables.sql")


# --------------------------------------------------------------------------------------------------
# discovery and hashing


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rel(settings: Settings, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(settings.landing_path))
    except ValueError:
        return str(path)


def _glob(settings: Settings, pattern: str) -> list[Path]:
    base = settings.landing_path
    full = pattern if Path(pattern).is_absolute() else str(base / pattern)
    # sorted by name: daily drops named by date load oldest first, so the newest version wins
    return sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())


def _mtime(path: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(tzinfo=None)


def discover(
    settings: Settings, mapping: SourceMapping, known: set | frozenset = frozenset()
) -> list[_Unit]:
    """The load units of a mapping. A file whose (name, size, modification time) matches an earlier
    load is left out without being read, so a nightly run does not re-hash the whole history."""
    if mapping.files:
        units = []
        for p in _glob(settings, mapping.files):
            name, size, mtime = _rel(settings, p), p.stat().st_size, _mtime(p)
            if (name, size, mtime) in known:
                continue
            units.append(_Unit(name, {"_": [p]}, _sha256(p), size, mtime))
        return units
    assert mapping.tables is not None
    paths = {alias: _glob(settings, pat) for alias, pat in mapping.tables.items()}
    missing = [f"{a} ({mapping.tables[a]})" for a, ps in paths.items() if not ps]
    if missing:
        if all(not ps for ps in paths.values()):
            return []
        raise IngestError(
            f"no file matches table(s) {', '.join(missing)} in {settings.landing_path}"
        )
    h = hashlib.sha256()
    size = 0
    for alias in sorted(paths):
        for p in paths[alias]:
            h.update(alias.encode() + b"\0" + _sha256(p).encode())
            size += p.stat().st_size
    name = " + ".join(_rel(settings, p) for a in sorted(paths) for p in paths[a])
    mtime = max(_mtime(p) for ps in paths.values() for p in ps)
    return [_Unit(name, paths, h.hexdigest(), size, mtime)]


# --------------------------------------------------------------------------------------------------
# reading


def read_header(path: Path, reader: ReaderOptions) -> list[str] | None:
    """The column names of a CSV file, read by Python's csv module from the first record after
    `skip` lines; None for an empty file. Without a header, columns are named column0, column1, …"""
    opener = _open_text(path, reader.encoding)
    with opener as f:
        for _ in range(reader.skip):
            if not f.readline():
                return None
        rows = csv.reader(
            f,
            delimiter=reader.delimiter,
            quotechar=reader.quote,
            escapechar=None if reader.escape == reader.quote else reader.escape,
            doublequote=reader.escape == reader.quote,
        )
        for first in rows:
            if not any(c.strip() for c in first):
                continue
            if reader.header:
                return [c.strip().lstrip("\ufeff") for c in first]
            return [f"column{i}" for i in range(len(first))]
    return None


def _open_text(path: Path, encoding: str):
    enc = {"utf-8": "utf-8-sig", "utf-16": "utf-16", "latin-1": "latin-1"}[encoding]
    if path.suffix == ".gz":
        import gzip

        return io.TextIOWrapper(gzip.open(path, "rb"), encoding=enc, newline="")
    return path.open("r", encoding=enc, newline="")


def _check_header(file_name: str, header: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(header, start=1):
        if not name:
            raise IngestError(f"{file_name}: column {i} of the header has no name")
        if name.lower() in seen:
            raise IngestError(f"{file_name}: column name {name!r} appears twice in the header")
        seen.add(name.lower())


def _read_csv_call(
    reader: ReaderOptions, header: list[str], param: str, rejects: str | None
) -> tuple[str, dict]:
    """A read_csv(...) table expression with every option explicit and the columns named as in the
    file's own header (checked before), so nothing is sniffed and nothing is mapped by position."""
    types = {name: reader.types.get(name, "VARCHAR") for name in header}
    unknown_typed = set(reader.types) - set(header)
    if unknown_typed:
        raise IngestError(
            f"reader.types names column(s) {sorted(unknown_typed)} that the header does not have"
        )
    opts = [
        f"${param}",
        f"header = {'true' if reader.header else 'false'}",
        f"skip = {int(reader.skip)}",
        f"delim = ${param}_delim",
        f"quote = ${param}_quote",
        f"escape = ${param}_escape",
        f"encoding = ${param}_enc",
        "auto_detect = false",
        f"columns = ${param}_cols",
        "strict_mode = true",
        "null_padding = false",
        "parallel = true",
    ]
    if rejects:
        opts += [
            "ignore_errors = true",
            "store_rejects = true",
            f"rejects_table = '{rejects}'",
            f"rejects_scan = '{rejects}_scan'",
        ]
    params = {
        f"{param}_delim": reader.delimiter,
        f"{param}_quote": reader.quote,
        f"{param}_escape": reader.escape,
        f"{param}_enc": reader.encoding,
        f"{param}_cols": types,
    }
    return "read_csv(" + ", ".join(opts) + ")", params


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------------------------------
# typing


_MISSING_COL = re.compile(r'Referenced column "([^"]+)" not found', re.I)


def _typed_expr(contract: Contract, mapped: str, col_name: str, sql_type: str, fmt: dict) -> str:
    """SQL that casts a mapped value (alias `m.<col>`) to its contract type; NULL when it fails."""
    m = f"m.{_ident(col_name)}"
    text = f"nullif(trim(cast({m} as varchar)), '')"
    if sql_type == "VARCHAR":
        c = contract.column(col_name)
        return f"lower({text})" if c.allowed or col_name == "category" else text
    if sql_type == "TIMESTAMP":
        if fmt.get(col_name) == "VARCHAR":
            tf = fmt.get("_timestamp_format")
            parsed = (
                f"try_strptime({text}, $ts_format)" if tf else f"try_cast({text} as timestamptz)"
            )
        else:
            parsed = m
        # naive values are read in the source's zone (the session zone during ingest), then
        # expressed as wall-clock time in the business zone
        return f"timezone($business_tz, try_cast({parsed} as timestamptz))"
    return f"try_cast({text if fmt.get(col_name) == 'VARCHAR' else m} as {sql_type})"


def _bad_type_expr(col_name: str, typed: str, sql_type: str) -> str:
    m = f"m.{_ident(col_name)}"
    return (
        f"case when nullif(trim(cast({m} as varchar)), '') is not null and ({typed}) is null "
        f"then 'bad_type:{col_name}' end"
    )


# --------------------------------------------------------------------------------------------------
# the load


def ingest_source(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    kind: str,
    run_id: str | None = None,
) -> SourceResult:
    """Load every new file of one kind, in one transaction."""
    contract = CONTRACTS[kind]
    mapping = settings.sources.get(kind)
    result = SourceResult(kind)
    ensure_tables(conn)
    if mapping is None or not mapping.enabled:
        result.table_rows = engine.scalar(conn, f"select count(*) from {kind}")
        return result
    known = {
        (name, size, mtime)
        for name, size, mtime in conn.execute(
            "select file_name, size_bytes, modified_at from ingest_log where source = ?", [kind]
        ).fetchall()
    }
    units = discover(settings, mapping, known)
    source_tz = mapping.reader.timezone or settings.timezone
    conn.execute("begin transaction")
    try:
        conn.execute(f"set TimeZone = '{_checked_tz(source_tz)}'")
        for unit in units:
            fr = _load_unit(conn, settings, contract, mapping, unit, run_id)
            if fr is not None:
                result.files.append(fr)
        conn.execute(f"set TimeZone = '{_checked_tz(settings.timezone)}'")
        conn.execute("commit")
    except BaseException:
        # a failed commit has already ended the transaction; anything else is rolled back here
        with contextlib.suppress(duckdb.TransactionException):
            conn.execute("rollback")
        conn.execute(f"set TimeZone = '{_checked_tz(settings.timezone)}'")
        raise
    result.table_rows = engine.scalar(conn, f"select count(*) from {kind}")
    return result


def _checked_tz(name: str) -> str:
    # zone names were validated against the IANA database when the settings loaded
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", name):
        raise IngestError(f"unusable time zone name {name!r}")
    return name


def _already_loaded(conn, kind: str, unit: _Unit) -> tuple[bool, str | None]:
    rows = conn.execute(
        "select file_name, status from ingest_log where source = ? and content_hash = ? "
        "order by load_id",
        [kind, unit.content_hash],
    ).fetchall()
    if not rows:
        return False, None
    names = {r[0] for r in rows}
    if unit.name in names:
        return True, None  # this very file was seen before: nothing to log again
    first_loaded = next((r[0] for r in rows if r[1] in ("loaded", "empty")), rows[0][0])
    return True, first_loaded


def _load_unit(conn, settings, contract, mapping, unit, run_id) -> FileResult | None:
    kind = contract.kind
    seen, original = _already_loaded(conn, kind, unit)
    load_id = engine.scalar(conn, "select nextval('load_id_seq')")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if seen:
        if original is None:
            # touched but unchanged: log it once so its new modification time is known
            original = unit.name
        fr = FileResult(unit.name, "skipped", note=f"same content as {original}, already loaded")
        _log(conn, load_id, kind, unit, fr, now, run_id)
        return fr

    reader = mapping.reader
    raw = f"raw_{load_id}"
    rejects = f"rejects_{load_id}"
    fmt: dict[str, str] = {}
    if mapping.files:
        path = unit.paths["_"][0]
        header = read_header(path, reader)
        if header is None:
            fr = FileResult(unit.name, "empty", note="empty file")
            _log(conn, load_id, kind, unit, fr, now, run_id)
            return fr
        _check_header(unit.name, header)
        call, params = _read_csv_call(reader, header, "p", rejects)
        params["p"] = str(path)
        conn.execute(f"create temp table {raw} as select * from {call}", params)
        first_data_line = reader.skip + (2 if reader.header else 1)
        lines = _number_lines(conn, raw, rejects, first_data_line)
        source_sql = _mapped_select_glob(contract, mapping, header, lines, unit.name, conn)
    else:
        header = None
        source_sql, params = _mapped_select_query(contract, mapping, unit, conn)
        conn.execute(
            f"create temp table {raw} as select row_number() over () as _line, * from ({source_sql})",
            params,
        )
        conn.execute(
            f"create temp table {rejects} (line bigint, column_idx bigint, csv_line varchar, error_message varchar)"
        )
        source_sql = _mapped_select_query_typed_input(contract, mapping, raw, unit.name, conn)

    mapped = f"mapped_{load_id}"
    try:
        conn.execute(f"create temp view {mapped} as {source_sql}")
    except duckdb.BinderException as e:
        raise _binder_to_ingest_error(e, unit.name, header, mapping) from None
    except duckdb.Error as e:
        raise IngestError(
            f"{unit.name}: the {kind} mapping cannot be applied: {_first_line(e)}"
        ) from None

    # column types of the mapped values decide whether text parsing applies
    for name, typ in conn.execute(
        f"select column_name, column_type from (describe {mapped})"
    ).fetchall():
        fmt[name] = "VARCHAR" if typ == "VARCHAR" else typ
    fmt["_timestamp_format"] = reader.timestamp_format or ""
    fr = _type_validate_and_upsert(
        conn, settings, contract, mapping, unit, load_id, mapped, raw, rejects, fmt, now, run_id
    )
    conn.execute(f"drop view if exists {mapped}")
    for t in (
        raw,
        f"{raw}_lines",
        rejects,
        f"{rejects}_scan",
        f"typed_{load_id}",
        f"bad_{load_id}",
    ):
        conn.execute(f"drop table if exists {t}")
    return fr


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0]


def _binder_to_ingest_error(e, file_name, header, mapping) -> IngestError:
    m = _MISSING_COL.search(str(e))
    if m:
        col = m.group(1)
        uses = [c for c, expr in mapping.columns.items() if col.lower() in expr.lower()]
        used_by = f" (used by the mapping of {', '.join(uses)})" if uses else ""
        have = f"; the header has {header}" if header else ""
        return IngestError(f"{file_name}: column {col!r} not found{used_by}{have}")
    return IngestError(f"{file_name}: the mapping does not fit this file: {_first_line(e)}")


def _number_lines(conn, raw: str, rejects: str, first_data_line: int) -> str:
    """Give every accepted record its line number: the CSV record number with the header as line 1
    (the physical line, unless a quoted value spans lines), as DuckDB numbers rejected lines.
    Returns the accepted rows with `_line`, as a subquery.

    DuckDB keeps file order in the temp table (rowid) but does not report line numbers of accepted
    rows; we step over the lines the reader rejected, whose numbers it does report. Without
    rejected lines (the usual case) the number follows from the rowid alone; otherwise an ASOF join
    adds, to each row, how many rejected lines came before it (a sort, bounded by the memory
    limit, where a correlated count over every row would not be)."""
    base = f"{first_data_line} + r.rowid - (select min(rowid) from {raw})"
    if not engine.scalar(conn, f"select count(*) from {rejects}"):
        return f"(select r.*, {base} as _line from {raw} r) as src"
    conn.execute(
        f"""
        create or replace temp table {raw}_lines as
        with c as (
            select r.rowid as rid, {base} as compressed
            from {raw} r
        ),
        rj as (
            -- a rejected line's position among the accepted ones, and how many were rejected up
            -- to and including it
            select line - row_number() over (order by line) as v,
                   row_number() over (order by line) as skipped
            from (select distinct line from {rejects})
        ),
        steps as (select v, max(skipped) as skipped from rj group by v)
        select c.rid as _rid, c.compressed + coalesce(s.skipped, 0) as _line
        from c asof left join steps s on c.compressed > s.v
        """
    )
    return f"(select r.*, l._line from {raw} r join {raw}_lines l on l._rid = r.rowid) as src"


def _source_expr(
    contract: Contract, mapping: SourceMapping, header: list[str], col: str
) -> str | None:
    if col in mapping.columns:
        return mapping.columns[col]
    by_lower = {h.lower(): h for h in header}
    if col.lower() in by_lower:
        return _ident(by_lower[col.lower()])
    return None


def _mapped_select_glob(contract, mapping, header, src, file_name, conn) -> str:
    exprs = []
    missing_required = []
    for c in contract.columns:
        e = _source_expr(contract, mapping, header, c.name)
        if e is None:
            if c.required:
                missing_required.append(c.name)
            e = "null"
        exprs.append(f"({e}) as {_ident(c.name)}")
    if missing_required:
        col = missing_required[0]
        raise IngestError(
            f"{file_name}: required column {col!r} is missing: the header has {header} and the "
            f"{contract.kind} mapping gives no expression for it (add sources.{contract.kind}.columns.{col})"
        )
    where = f"where ({mapping.filter})" if mapping.filter else ""
    if mapping.aggregate_by:
        return (
            f"select min(_line) as _line, count(*) as _line_count, {', '.join(exprs)} "
            f"from {src} {where} group by ({mapping.aggregate_by})"
        )
    return f"select _line, 1 as _line_count, {', '.join(exprs)} from {src} {where}"


def _mapped_select_query(contract, mapping, unit, conn) -> tuple[str, dict]:
    """Query mode: `{alias}` in the query becomes a read_csv over that alias's files."""
    reader = mapping.reader
    params: dict = {}
    query = mapping.query or ""
    for i, (alias, paths) in enumerate(sorted(unit.paths.items())):
        headers = [read_header(p, reader) for p in paths]
        header = next((h for h in headers if h), None)
        if header is None:
            raise IngestError(f"{', '.join(map(str, paths))}: empty file(s) for table {alias!r}")
        for p, h in zip(paths, headers, strict=True):
            _check_header(str(p.name), h or [])
            if h != header:
                raise IngestError(
                    f"{p.name}: header {h} differs from {paths[0].name}'s {header} (table {alias!r})"
                )
        call, p_params = _read_csv_call(reader, header, f"t{i}", None)
        p_params[f"t{i}"] = [str(p) for p in paths]
        params.update(p_params)
        query = query.replace("{" + alias + "}", call)
    leftover = re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", query)
    if leftover:
        raise IngestError(f"the {contract.kind} query names unknown table(s) {leftover}")
    return query, params


def _mapped_select_query_typed_input(contract, mapping, raw, file_name, conn) -> str:
    have = [r[0] for r in conn.execute(f"select column_name from (describe {raw})").fetchall()]
    missing = [c.name for c in contract.columns if c.required and c.name not in have]
    if missing:
        raise IngestError(
            f"{file_name}: the {contract.kind} query does not select required column(s) {missing}"
        )
    exprs = [
        f"{_ident(c.name) if c.name in have else 'null'} as {_ident(c.name)}"
        for c in contract.columns
    ]
    where = f"where ({mapping.filter})" if mapping.filter else ""
    return f"select _line, 1 as _line_count, {', '.join(exprs)} from {raw} {where}"


def _type_validate_and_upsert(
    conn, settings, contract, mapping, unit, load_id, mapped, raw, rejects, fmt, now, run_id
):
    kind = contract.kind
    typed_exprs = []
    bad_exprs = []
    for c in contract.columns:
        t = _typed_expr(contract, "", c.name, c.sql_type, fmt)
        bad_exprs.append(_bad_type_expr(c.name, t, c.sql_type))
        if c.default_sql is not None:
            t = f"coalesce({t}, case when nullif(trim(cast(m.{_ident(c.name)} as varchar)), '') is null then {c.default_sql} end)"
        typed_exprs.append(f"{t} as {_ident(c.name)}")
    typed = f"typed_{load_id}"
    params = {"business_tz": settings.timezone}
    if fmt.get("_timestamp_format"):
        params["ts_format"] = fmt["_timestamp_format"]
    used = {k: v for k, v in params.items() if f"${k}" in " ".join(typed_exprs)}
    conn.execute(
        f"""create temp table {typed} as
            select m._line as _row, m._line, m._line_count,
                   {", ".join(typed_exprs)},
                   nullif(concat_ws('; ', {", ".join(bad_exprs)}), '') as _parse_error
            from {mapped} m""",
        used or None,
    )

    # pandera validates the typed rows batch by batch (memory stays bounded whatever the file size);
    # failing rows, with their reasons, go to quarantine
    with engine.memory_lent(conn, settings, VALIDATION_MEMORY_SHARE):
        reader = conn.sql(f"select * exclude (_line, _line_count) from {typed}").to_arrow_reader(
            VALIDATION_BATCH_ROWS
        )
        bad_parts = [failing_rows(pl.from_arrow(batch), contract) for batch in reader]
        reader.close()
    bad = (
        pl.concat(bad_parts)
        if bad_parts
        else failing_rows(pl.DataFrame(), contract, empty_only=True)
    )
    bad_table = f"bad_{load_id}"
    conn.register("bad_frame", bad)
    conn.execute(f"create temp table {bad_table} as select * from bad_frame")
    conn.unregister("bad_frame")

    # within one file, the last line of a key wins; earlier lines are duplicates
    key = _ident(contract.key)
    conn.execute(
        f"""insert into {bad_table}
            select _row, 'duplicate_key', '{contract.key}',
                   'duplicate {contract.key}: a later line of this file has the same key and is kept'
            from (
                select _row, row_number() over (partition by {key} order by _row desc) as k
                from {typed} where _row not in (select _row from {bad_table})
            ) where k > 1"""
    )

    rows_read = engine.scalar(conn, f"select count(*) from {raw}") + engine.scalar(
        conn, f"select count(distinct line) from {rejects}"
    )
    if mapping.files is None:
        rows_read = engine.scalar(conn, f"select count(*) from {raw}")
    mapped_lines = engine.scalar(conn, f"select coalesce(sum(_line_count), 0) from {typed}")
    parsed_rows = engine.scalar(conn, f"select count(*) from {raw}")
    rows_filtered = parsed_rows - int(mapped_lines)

    # quarantine: rejected rows with their record as JSON (never logged), and unparseable lines
    cols = ", ".join(_ident(c.name) for c in contract.columns)
    conn.execute(
        f"""insert into quarantine
            select $load_id, $kind, $file, t._line, t._line_count, b.reason_code, b.column_name,
                   b.reason, to_json(struct_pack({", ".join(f"{_ident(c.name)} := m.{_ident(c.name)}" for c in contract.columns)})),
                   $now
            from {bad_table} b join {typed} t using (_row)
            join {mapped} m on m._line = b._row""",
        {"load_id": load_id, "kind": kind, "file": unit.name, "now": now},
    )
    if mapping.files:
        conn.execute(
            f"""insert into quarantine
                select $load_id, $kind, $file, line, 1, 'unparseable_line', null,
                       'unparseable line: ' || split_part(error_message, chr(10), 1),
                       to_json(struct_pack(line := csv_line)), $now
                from (select line, arg_min(error_message, column_idx) as error_message,
                             any_value(csv_line) as csv_line
                      from {rejects} group by line)""",
            {"load_id": load_id, "kind": kind, "file": unit.name, "now": now},
        )
    q_lines = engine.scalar(
        conn, "select coalesce(sum(line_count), 0) from quarantine where load_id = ?", [load_id]
    )

    good = f"(select * from {typed} where _row not in (select _row from {bad_table}))"
    keys_loaded = engine.scalar(conn, f"select count(*) from {good}")
    keys_replaced = engine.scalar(
        conn, f"select count(*) from {kind} where {key} in (select {key} from {good})"
    )
    conn.execute(f"delete from {kind} where {key} in (select {key} from {good})")
    conn.execute(
        f"insert into {kind} ({cols}, _load_id, _line) select {cols}, $load_id, _line from {good}",
        {"load_id": load_id},
    )
    rows_loaded = engine.scalar(conn, f"select coalesce(sum(_line_count), 0) from {good}")
    fr = FileResult(
        unit.name,
        "loaded",
        rows_read=int(rows_read),
        rows_loaded=int(rows_loaded),
        rows_quarantined=int(q_lines),
        rows_filtered=int(rows_filtered),
        keys_loaded=int(keys_loaded),
        keys_replaced=int(keys_replaced),
    )
    if fr.rows_read != fr.rows_loaded + fr.rows_quarantined + fr.rows_filtered:
        raise IngestError(
            f"{unit.name}: row accounting does not balance (read {fr.rows_read}, loaded "
            f"{fr.rows_loaded}, quarantined {fr.rows_quarantined}, filtered {fr.rows_filtered})"
        )
    _log(conn, load_id, kind, unit, fr, now, run_id)
    return fr


def _log(conn, load_id, kind, unit: _Unit, fr: FileResult, now, run_id) -> None:
    conn.execute(
        """insert into ingest_log values
           ($load_id, $kind, $file, $hash, $size, $status, $note, $read, $loaded, $quarantined,
            $filtered, $keys, $replaced, $now, $run_id, $modified_at)""",
        {
            "load_id": load_id,
            "kind": kind,
            "file": unit.name,
            "hash": unit.content_hash,
            "size": unit.size_bytes,
            "status": fr.status,
            "note": fr.note or None,
            "read": fr.rows_read,
            "loaded": fr.rows_loaded,
            "quarantined": fr.rows_quarantined,
            "filtered": fr.rows_filtered,
            "keys": fr.keys_loaded,
            "replaced": fr.keys_replaced,
            "now": now,
            "run_id": run_id,
            "modified_at": unit.modified_at,
        },
    )


def decode_check(encoding: str) -> None:
    codecs.lookup(encoding)
