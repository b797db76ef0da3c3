"""A file whose lines end in both Windows (CRLF) and Unix (LF) style, said in words.

DuckDB's CSV reader takes one kind of line ending per file; on a file that mixes them (two exports
concatenated, a file edited on two systems) it stops with "The CSV Parser state machine reached an
invalid state", which names nothing. Reading it anyway (strict_mode off) would also let truly broken
lines through, so the load stops instead with a message that names the file, the first line of
each kind and what to do. Only checked when DuckDB gave that error: a good file costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from loyalty.ingest.errors import IngestError
from loyalty.ingest.textfiles import open_binary

INVALID_STATE = "reached an invalid state"


def mixed_line_endings(path: Path) -> tuple[int, int] | None:
    """(first line ending in CRLF, first line ending in a bare LF), physical lines with the first
    line as 1, when the file has both; None otherwise (a .csv.gz is read decompressed)."""
    first_crlf = first_lf = None
    with open_binary(path) as f:
        for number, line in enumerate(f, start=1):
            if not line.endswith(b"\n"):
                break  # the last line, without an ending
            if line.endswith(b"\r\n"):
                first_crlf = first_crlf or number
            else:
                first_lf = first_lf or number
            if first_crlf and first_lf:
                return first_crlf, first_lf
    return None


def mixed_endings_error(e: duckdb.Error, files: Iterable[tuple[str, Path]]) -> IngestError | None:
    """For DuckDB's "invalid state" error: the first of `files` (name shown, path) whose line
    endings are mixed, said in words; None when the error is another or no file mixes them."""
    if INVALID_STATE not in str(e):
        return None
    for name, path in files:
        found = mixed_line_endings(path)
        if found:
            crlf, lf = found
            base = Path(name).name
            how = (
                f"gunzip, dos2unix and gzip {base} again"
                if base.endswith(".gz")
                else f"dos2unix {base}"
            )
            return IngestError(
                f"{name}: the file mixes Windows (CRLF) and Unix (LF) line endings (line {crlf} "
                f"ends with CRLF, line {lf} with LF only), which the CSV reader cannot read; "
                "nothing of this kind was loaded. Save the file again with one kind of line "
                f"ending (e.g. `{how}`) and deliver it again"
            )
    return None
