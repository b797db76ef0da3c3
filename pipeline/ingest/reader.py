"""Reading an export: its header by Python's csv module, its rows by DuckDB's read_csv with every
option explicit. Nothing is sniffed, and nothing is mapped by position."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from loyalty.ingest.errors import IngestError
from loyalty.ingest.textfiles import check_is_text, header_lines
from loyalty.settings import ReaderOptions


def read_header(
    path: Path, reader: ReaderOptions, file_name: str | None = None
) -> list[str] | None:
    """The column names of a CSV file, read by Python's csv module from the first record after
    `skip` lines; None for an empty file. Without a header, columns are named column0, column1, …
    A file that is not text, a corrupt gzip or an undecodable header is an IngestError naming the
    file (and the line)."""
    name = file_name or path.name
    check_is_text(path, name, reader.encoding)
    rows = csv.reader(
        header_lines(path, name, reader.encoding, reader.skip),
        delimiter=reader.delimiter,
        quotechar=reader.quote,
        escapechar=None if reader.escape == reader.quote else reader.escape,
        doublequote=reader.escape == reader.quote,
    )
    try:
        for first in rows:
            if not any(c.strip() for c in first):
                continue
            if reader.header:
                return [c.strip().lstrip("\ufeff") for c in first]
            return [f"column{i}" for i in range(len(first))]
    except csv.Error as e:
        raise IngestError(f"{name}: the header cannot be read as CSV: {e}") from None
    return None


def name_blank_columns(header: list[str]) -> tuple[list[str], list[str]]:
    """A column without a name (as R writes its row-name column) gets its position's name,
    column<i> (from column0), the name a header-less file would give it; returns the header and
    a notice per column named so."""
    named, notes = [], []
    for i, name in enumerate(header):
        if name:
            named.append(name)
        else:
            named.append(f"column{i}")
            notes.append(f"column {i + 1} of the header has no name: read as column{i}")
    return named, notes


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
        # every other encoding was transcoded to UTF-8 first (textfiles.transcode)
        f"{param}_enc": "utf-8",
        f"{param}_cols": types,
    }
    return "read_csv(" + ", ".join(opts) + ")", params
