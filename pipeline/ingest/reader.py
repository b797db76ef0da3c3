"""Reading an export: its header by Python's csv module, its rows by DuckDB's read_csv with every
option explicit. Nothing is sniffed, and nothing is mapped by position."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import IO, Any

from loyalty.ingest.errors import IngestError
from loyalty.settings import ReaderOptions

_PYTHON_ENCODING = {"utf-8": "utf-8-sig", "utf-16": "utf-16", "latin-1": "latin-1"}


def read_header(path: Path, reader: ReaderOptions) -> list[str] | None:
    """The column names of a CSV file, read by Python's csv module from the first record after
    `skip` lines; None for an empty file. Without a header, columns are named column0, column1, …"""
    with _open_text(path, reader.encoding) as f:
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


def _open_text(path: Path, encoding: str) -> IO[str]:
    enc = _PYTHON_ENCODING[encoding]
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding=enc, newline="")
    return path.open("r", encoding=enc, newline="")


def check_header(file_name: str, header: list[str]) -> None:
    """Every column has a name, and no name appears twice (case-insensitively)."""
    seen: set[str] = set()
    for i, name in enumerate(header, start=1):
        if not name:
            raise IngestError(f"{file_name}: column {i} of the header has no name")
        if name.lower() in seen:
            raise IngestError(f"{file_name}: column name {name!r} appears twice in the header")
        seen.add(name.lower())


def read_csv_call(
    reader: ReaderOptions, header: list[str], param: str, rejects: str | None
) -> tuple[str, dict[str, Any]]:
    """A read_csv(...) table expression with every option explicit and the columns named as in the
    file's own header (checked before), and its parameters: `$<param>` is the file (or list of
    files) to read. Lines the reader cannot parse go to the table `rejects` when given."""
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
