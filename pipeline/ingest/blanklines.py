"""The blank lines of an export, numbered as DuckDB numbers the lines it rejects.

DuckDB's CSV reader skips a blank line, yet counts it in the line numbers of the lines it rejects
(a blank line is one line, a record whose quoted value spans lines is one); the rows it accepts
carry no line number, only their order. To number those rows the loader steps over the rejected
lines and over the blank ones (mapping.line_numbered_source, sql/ingest/line_numbers.sql), whose
numbers this module finds, as the Spark ingest numbers its lines (loyalty.spark.ingest_read).

Two streamed passes over the file DuckDB read (UTF-8, a .gz decompressed), a block at a time:
the first only looks for two line breaks in a row (a vector comparison: most exports have none,
and then nothing else is done; about 5 GB/s from the page cache); only when one is found does the
second number the records with numpy over each block (quote parity tells a line break inside a
quoted value from one that ends a record) and keep the numbers of the empty ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from loyalty.ingest.textfiles import open_binary
from loyalty.settings import ReaderOptions

BLOCK = 1 << 22  # bytes read at a time
_LF, _CR = ord("\n"), ord("\r")
# a record starting inside a quoted value that an earlier block opened: never blank
_CONTINUED = -2


def blank_lines(
    path: Path, reader: ReaderOptions, first_data_line: int, columns: int
) -> np.ndarray:
    """The line numbers (int64, ascending) of the blank lines from `first_data_line` on: lines
    that are empty or hold only the CR of a CRLF ending, outside any quoted value. None in a file
    of one column: there DuckDB reads a blank line as a record (a NULL value), not skipping it."""
    if columns < 2:
        return np.empty(0, dtype=np.int64)
    with open_binary(path) as f:
        if not _has_empty_line(f):
            return np.empty(0, dtype=np.int64)
    with open_binary(path) as f:
        parts = list(_numbered_blanks(f, reader))
    found = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    return found[found >= first_data_line]


def _has_empty_line(f: IO[bytes]) -> bool:
    """Whether two line breaks follow each other anywhere (inside a quoted value too): LF LF, or
    LF CR LF (numpy over each block, with the last two bytes of the block before)."""
    tail = b""
    for block in iter(lambda: f.read(BLOCK), b""):
        both = tail + block
        data = np.frombuffer(both, dtype=np.uint8)
        lf = data == _LF
        if np.logical_and(lf[1:], lf[:-1]).any():
            return True
        if b"\r" in both and (lf[2:] & lf[:-2] & (data[1:-1] == _CR)).any():
            return True
        tail = both[-2:]
    return False


def _blocks(f: IO[bytes]) -> Iterator[bytes]:
    """The file in blocks that end at a line break (the last one: where the file ends)."""
    rest = b""
    for block in iter(lambda: f.read(BLOCK), b""):
        rest += block
        cut = rest.rfind(b"\n") + 1
        if cut:
            yield rest[:cut]
            rest = rest[cut:]
    if rest:
        yield rest


def _numbered_blanks(f: IO[bytes], reader: ReaderOptions) -> Iterator[np.ndarray]:
    """Per block, the line numbers of its blank lines: a line break outside quoted values ends a
    record (the first being line 1); a record with nothing before that break but a CR is blank.
    The header and the `skip` lines are one line each whatever their quotes (as DuckDB skips
    them); an escaped quote (reader.escape other than the quote) does not open or close a value."""
    quote = ord(reader.quote)
    escaped = None
    if reader.escape != reader.quote:
        escaped = re.compile(re.escape(reader.escape.encode()) + rb"[^\r\n]")
    plain_lines = reader.skip + (1 if reader.header else 0)
    records = 0  # records ended before the block
    odd = 0  # 1 when the block starts inside a quoted value
    for block in _blocks(f):
        if escaped is not None and reader.escape.encode() in block:
            block = escaped.sub(b"\0\0", block)  # same length: positions stay
        data = np.frombuffer(block, dtype=np.uint8)
        breaks = np.flatnonzero(data == _LF)
        quotes = (data == quote).view(np.uint8)
        if plain_lines and breaks.size:
            n = min(plain_lines, breaks.size)
            quotes = quotes.copy()
            quotes[: breaks[n - 1]] = 0
            plain_lines -= n
        # 1 at every byte with an odd number of quotes up to it (since the file's start)
        inside = np.bitwise_xor.accumulate(quotes) ^ odd if quotes.size else quotes
        ends = breaks[inside[breaks] == 0]
        if ends.size:
            starts = np.empty_like(ends)
            starts[0] = 0 if odd == 0 else _CONTINUED
            starts[1:] = ends[:-1] + 1
            length = ends - starts
            blank = (length == 0) | ((length == 1) & (data[ends - 1] == _CR))
            yield records + 1 + np.flatnonzero(blank).astype(np.int64)
            records += int(ends.size)
        if inside.size:
            odd = int(inside[-1])
