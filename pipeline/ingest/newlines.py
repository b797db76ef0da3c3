"""A file whose lines end in both Windows (CRLF) and Unix (LF) style, said in words.

DuckDB's CSV reader takes one kind of line ending per file; on a file that mixes them (two exports
concatenated, a file edited on two systems; a bare CR, the old Mac ending, counts too) it stops with "The CSV Parser state machine reached an
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


def mixed_line_endings(path: Path) -> dict[str, int] | None:
    """The first line of each kind of line ending, when the file has more than one kind: "CRLF"
    (Windows), "LF" (Unix) and "CR" (a bare carriage return, old Mac, inside a line as LF splits
    them); physical lines split at LF, the first line being 1. None when one kind only (a .csv.gz
    is read decompressed)."""
    first: dict[str, int] = {}
    with open_binary(path) as f:
        for number, line in enumerate(f, start=1):
            body = line.removesuffix(b"\n").removesuffix(b"\r")
            if b"\r" in body:
                first.setdefault("CR", number)
            if line.endswith(b"\r\n"):
                first.setdefault("CRLF", number)
            elif line.endswith(b"\n"):
                first.setdefault("LF", number)
            if len(first) > 1:
                break
    return first if len(first) > 1 else None


_WORDS = {
    "CRLF": "line {} ends with CRLF (Windows)",
    "LF": "line {} ends with LF only (Unix)",
    "CR": "line {} holds a bare CR (old Mac)",
}


def mixed_endings_error(e: duckdb.Error, files: Iterable[tuple[str, Path]]) -> IngestError | None:
    """For DuckDB's "invalid state" error: the first of `files` (name shown, path) whose line
    endings are mixed, said in words; None when the error is another or no file mixes them."""
    if INVALID_STATE not in str(e):
        return None
    for name, path in files:
        found = mixed_line_endings(path)
        if found:
            where = ", ".join(
                _WORDS[k].format(line) for k, line in sorted(found.items(), key=lambda kv: kv[1])
            )
            base = Path(name).name
            how = (
                f"gunzip, dos2unix and gzip {base} again"
                if base.endswith(".gz")
                else f"dos2unix {base}"
            )
            return IngestError(
                f"{name}: the file mixes line endings ({where}), which the CSV reader cannot "
                "read; nothing of this kind was loaded. Save the file again with one kind of "
                f"line ending (e.g. `{how}`) and deliver it again"
            )
    return None
