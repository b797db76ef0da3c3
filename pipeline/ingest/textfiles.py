"""The bytes of an export before DuckDB reads them: is it text, is its gzip whole, which encoding.

DuckDB's read_csv reads UTF-8 itself (a UTF-8 byte-order mark is skipped, an invalid line is
rejected with error type INVALID ENCODING, which the loader quarantines as `bad_encoding`). Every
other encoding (utf-16, latin-1, cp1252, cp850), and UTF-8 with `on_bad_encoding: replace`, is
transcoded to UTF-8 first, line by line, into the temp folder. A line whose bytes are not valid
in the encoding is then either written with an invalid UTF-8 byte in place of each bad one, so
that DuckDB rejects it and the loader quarantines it (`quarantine`), or written with U+FFFD and
counted (`replace`). Line numbers here are physical lines, the header being line 1 + skip.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

from loyalty.ingest.errors import IngestError

# encodings DuckDB's read_csv reads directly (the BOM of utf-8-sig is skipped by DuckDB)
DUCKDB_READS = frozenset({"utf-8", "utf-8-sig"})
# lines listed in a note, at most
NOTE_LINES = 5
_PYTHON_CODEC = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "utf-16": "utf-16"}

_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (an .xlsx workbook is one)",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office document",
    b"\x1f\x8b": "gzip-compressed data (name it .csv.gz)",
}


def codec(encoding: str) -> str:
    return _PYTHON_CODEC.get(encoding, encoding)


@dataclass
class Transcoded:
    """A file DuckDB can read as UTF-8, and the lines whose bytes were not valid."""

    path: Path
    bad_lines: list[int] = field(default_factory=list)
    temporary: bool = False

    def replaced_note(self, encoding: str, file_name: str = "") -> str:
        shown = ", ".join(map(str, self.bad_lines[:NOTE_LINES]))
        more = ", …" if len(self.bad_lines) > NOTE_LINES else ""
        name = f"{file_name}: " if file_name else ""
        return (
            f"{name}{len(self.bad_lines)} line(s) not valid {encoding}, loaded with U+FFFD in "
            f"place of the bad bytes (line {shown}{more})"
        )

    def remove(self) -> None:
        if self.temporary:
            with contextlib.suppress(OSError):
                self.path.unlink()


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it ends in .gz."""
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


@contextlib.contextmanager
def named_errors(file_name: str, encoding: str) -> Iterator[None]:
    """A corrupt gzip or undecodable text said in words, naming the file."""
    try:
        yield
    except (gzip.BadGzipFile, zlib.error, EOFError) as e:
        raise IngestError(
            f"{file_name}: the gzip data is corrupt or cut short ({type(e).__name__}); "
            "re-export or re-download the file"
        ) from None
    except UnicodeError as e:
        raise IngestError(
            f"{file_name}: the text is not valid {encoding} ({_reason(e)}); set "
            "reader.encoding to the file's encoding"
        ) from None


def check_is_text(path: Path, file_name: str, encoding: str) -> None:
    """A file that is clearly not CSV text (an image, a workbook, binary data) is refused by name;
    a .gz file is decompressed to its end, so a corrupt or truncated one is found before loading."""
    with named_errors(file_name, encoding), open_binary(path) as f:
        head = f.read(4096)
        for magic, what in _MAGIC.items():
            if head.startswith(magic):
                raise IngestError(f"{file_name}: not a CSV text file: its bytes are {what}")
        if not encoding.startswith("utf-16") and b"\0" in head:
            at = head.index(b"\0")
            raise IngestError(
                f"{file_name}: not a CSV text file: byte {at} is a NUL byte (binary data, or "
                "UTF-16 text: set reader.encoding: utf-16)"
            )
        if path.suffix == ".gz":
            while f.read(1 << 20):
                pass


def header_lines(path: Path, file_name: str, encoding: str, skip: int) -> Iterator[str]:
    """The decoded lines from `skip` on, decoded one at a time, so a bad byte further down the
    file does not stop the header from being read; a bad byte in a line read here is an error
    naming the line."""
    with named_errors(file_name, encoding), open_binary(path) as f:
        if encoding == "utf-16":
            text = io.TextIOWrapper(f, encoding="utf-16", newline="")
            for i, line in enumerate(text, start=1):
                if i > skip:
                    yield line
            return
        for i, raw in enumerate(_lines(f), start=1):
            if i <= skip:
                continue
            try:
                yield raw.decode(_first_line(encoding) if i == 1 else _no_bom(encoding))
            except UnicodeDecodeError as e:
                raise IngestError(
                    f"{file_name}: line {i}: the header is not valid {encoding} text "
                    f"({_reason(e)} at byte {e.start + 1} of the line); set reader.encoding to the file's encoding "
                    f"(utf-8, utf-8-sig, utf-16, latin-1, cp1252, cp850)"
                ) from None


def needs_transcoding(encoding: str, policy: str) -> bool:
    return encoding not in DUCKDB_READS or policy == "replace"


def transcode(
    path: Path, file_name: str, encoding: str, policy: str, temp_dir: Path, tag: str
) -> Transcoded:
    """`path` as UTF-8 in the temp folder (streamed, any size); the lines that did not decode."""
    if not needs_transcoding(encoding, policy):
        return Transcoded(path)
    temp_dir.mkdir(parents=True, exist_ok=True)
    out = Transcoded(temp_dir / f"ingest_{tag}.csv", temporary=True)
    try:
        with named_errors(file_name, encoding), open_binary(path) as f, out.path.open("wb") as w:
            if encoding == "utf-16":
                _transcode_utf16(f, w)
            else:
                _transcode_lines(f, w, encoding, policy, out.bad_lines)
    except BaseException:
        out.remove()
        raise
    return out


def _transcode_utf16(f: IO[bytes], w: IO[bytes]) -> None:
    text = io.TextIOWrapper(f, encoding="utf-16", newline="")
    for chunk in iter(lambda: text.read(1 << 20), ""):
        w.write(chunk.encode("utf-8"))


def _transcode_lines(
    f: IO[bytes], w: IO[bytes], encoding: str, policy: str, bad_lines: list[int]
) -> None:
    for i, raw in enumerate(_lines(f), start=1):
        try:
            w.write(
                raw.decode(_first_line(encoding) if i == 1 else _no_bom(encoding)).encode("utf-8")
            )
        except UnicodeDecodeError:
            bad_lines.append(i)
            text = raw.decode(_no_bom(encoding), errors="replace").encode("utf-8")
            if policy == "quarantine":
                # an invalid UTF-8 byte for each bad one: DuckDB rejects the line (INVALID
                # ENCODING) and the loader quarantines it with its line number
                text = text.replace("\ufffd".encode(), b"\xff")
            w.write(text)


def _first_line(encoding: str) -> str:
    """The first line drops a UTF-8 byte-order mark."""
    return "utf-8-sig" if encoding in ("utf-8", "utf-8-sig") else codec(encoding)


def _no_bom(encoding: str) -> str:
    return "utf-8" if encoding == "utf-8-sig" else codec(encoding)


def _lines(f: IO[bytes]) -> Iterator[bytes]:
    """Physical lines, each with its line ending, read a block at a time."""
    rest = b""
    for block in iter(lambda: f.read(1 << 20), b""):
        rest += block
        *complete, rest = rest.split(b"\n")
        for line in complete:
            yield line + b"\n"
    if rest:
        yield rest


def _reason(e: UnicodeError) -> str:
    if isinstance(e, UnicodeDecodeError):
        bad = e.object[e.start : e.end]
        return f"byte 0x{bad[:1].hex().upper()} cannot be decoded"
    return type(e).__name__
