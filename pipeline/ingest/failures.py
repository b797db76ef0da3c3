"""DuckDB errors met while loading, said in words that never quote the data.

A DuckDB message can quote a value of the file (`Could not convert string 'ann@example.com' to
INT32`), and whatever the loader raises ends up in logs and in Dagster's run storage. So every
DuckDB error of a load is re-raised as an IngestError naming the file, and where known the column
and the line, with quoted literals removed; a full spill folder is named as such.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import duckdb

from loyalty.ingest.errors import IngestError
from loyalty.ingest.newlines import mixed_endings_error

_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
# DuckDB's words when it cannot spill: its temp folder reached max_temp_directory_size (by default
# the free space of that disk), or the disk itself is full
_SPILL_FULL = re.compile(r"no space left|max_temp_directory_size|failed to offload", re.I)


def redacted(e: BaseException) -> str:
    """The first line of an error with every quoted literal (a value, or a name) removed."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return _QUOTED.sub("'…'", text)


def is_spill_full(e: BaseException) -> bool:
    return isinstance(e, duckdb.OutOfMemoryException | duckdb.IOException) and bool(
        _SPILL_FULL.search(str(e))
    )


def spill_full(e: BaseException, temp_dir: Path, file_name: str | None = None) -> IngestError:
    where = f"{file_name}: " if file_name else ""
    return IngestError(
        f"{where}the spill directory {temp_dir} is full: DuckDB could not write its temporary "
        f"files there ({type(e).__name__}); free space there or point paths.temp at a larger disk"
    )


def load_failure(
    e: duckdb.Error,
    file_name: str,
    temp_dir: Path,
    what: str,
    files: Iterable[tuple[str, Path]] = (),
) -> IngestError:
    """Any DuckDB error of a unit's load: the file, what was being done, no value. `files` (name
    shown, path) are checked for mixed line endings when DuckDB's reader gave up on them."""
    if is_spill_full(e):
        return spill_full(e, temp_dir, file_name)
    return mixed_endings_error(e, files) or IngestError(
        f"{file_name}: {what} failed: {redacted(e)}"
    )


def mapping_failure(
    conn: duckdb.DuckDBPyConnection,
    e: duckdb.Error,
    file_name: str,
    temp_dir: Path,
    queries: dict[str, str],
    by_line: bool = True,
) -> IngestError:
    """A mapping expression that fails on some value (e.g. a cast without try_cast): the column
    whose expression fails and, line by line, the first line it fails on. `queries[column]`
    returns that line, found by evaluating the column's expression under try() (NULL: it does not
    fail); for aggregated sources (`by_line` false; try() cannot hold an aggregate) it evaluates
    the column's expression alone and raises when it fails, so the column is named without a line.
    The value is never quoted."""
    if is_spill_full(e):
        return spill_full(e, temp_dir, file_name)
    kind = type(e).__name__.removesuffix("Exception").lower()
    for column, query in queries.items():
        try:
            line = conn.execute(query).fetchall()[0][0]
        except duckdb.Error:
            if by_line:
                continue
            return _failing_column(file_name, "", column, kind)
        if by_line and line is not None:
            return _failing_column(file_name, f"line {line}: ", column, kind)
    return load_failure(e, file_name, temp_dir, "applying the mapping")


def _failing_column(file_name: str, at: str, column: str, kind: str) -> IngestError:
    return IngestError(
        f"{file_name}: {at}the mapping of column {column!r} fails on a value of the file ({kind} "
        "error; the value is not shown, it may be personal data); use try_cast(...) in the "
        "mapping to quarantine such values instead"
    )
