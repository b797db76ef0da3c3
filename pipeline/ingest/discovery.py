"""Which files a mapping loads: globbed in the landing folder, hashed, known files left unread."""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from loyalty import engine
from loyalty.ingest.errors import IngestError
from loyalty.settings import Settings, SourceMapping

# (file name, size in bytes, modification time): a file that matches an earlier load on all three
# is not read again
KnownFile = tuple[str, int, dt.datetime | None]


@dataclass
class Unit:
    """What is loaded as one: a file (glob mode) or the set of files a query reads (query mode)."""

    name: str  # as shown in logs: path relative to the landing folder
    paths: dict[str, list[Path]]  # alias -> files ("_" in glob mode)
    content_hash: str
    size_bytes: int
    modified_at: dt.datetime | None = None


def known_files(conn: duckdb.DuckDBPyConnection, kind: str) -> set[KnownFile]:
    """Every file of this kind that `ingest_log` has seen, as (name, size, modification time)."""
    return {
        (r["file_name"], r["size_bytes"], r["modified_at"])
        for r in engine.query_file(conn, "ingest/known_files.sql", {"source": kind})
    }


def discover(
    settings: Settings, mapping: SourceMapping, known: set[KnownFile] | frozenset = frozenset()
) -> list[Unit]:
    """The load units of a mapping. A file whose (name, size, modification time) matches an earlier
    load is left out without being read, so a nightly run does not re-hash the whole history."""
    if mapping.files:
        units = []
        for p in _glob(settings, mapping.files):
            name, size, mtime = _rel(settings, p), p.stat().st_size, _mtime(p)
            if (name, size, mtime) in known:
                continue
            units.append(Unit(name, {"_": [p]}, _sha256(p), size, mtime))
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
    return [Unit(name, paths, h.hexdigest(), size, mtime)]


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
