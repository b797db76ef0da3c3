"""Which files a mapping loads: globbed in the landing folder, hashed, known files left unread."""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import os
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
    # why the unit cannot be read (a dangling symbolic link): logged as skipped with this note
    problem: str | None = None


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
        for p in _glob(settings, mapping.files, with_dangling=True):
            if _dangling(p):
                units.append(_dangling_unit(settings, p))
                if (units[-1].name, units[-1].size_bytes, units[-1].modified_at) in known:
                    units.pop()
                continue
            name, size, mtime = _rel(settings, p), p.stat().st_size, _mtime(p)
            if (name, size, mtime) in known:
                continue
            units.append(Unit(name, {"_": [p]}, _sha256(p), size, mtime))
        return units
    assert mapping.tables is not None
    paths = {
        alias: _glob(settings, pat, with_dangling=True) for alias, pat in mapping.tables.items()
    }
    for alias, ps in paths.items():
        for p in ps:
            if _dangling(p):
                raise IngestError(
                    f"{_link_name(settings, p)}: a symbolic link to {os.readlink(p)}, which does "
                    f"not exist (table {alias!r}); remove the link or restore its file"
                )
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


def already_loaded(
    conn: duckdb.DuckDBPyConnection, kind: str, unit: Unit
) -> tuple[bool, str | None]:
    """(seen, original): whether this content was logged before, and the name it was first loaded
    under when that is another name (None when this very file was seen before)."""
    rows = engine.query_file(
        conn,
        "ingest/loads_of_content.sql",
        {"source": kind, "content_hash": unit.content_hash},
    )
    if not rows:
        return False, None
    if unit.name in {r["file_name"] for r in rows}:
        return True, None
    first_loaded = next(
        (r["file_name"] for r in rows if r["status"] in ("loaded", "empty")), rows[0]["file_name"]
    )
    return True, first_loaded


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


def _glob(settings: Settings, pattern: str, with_dangling: bool = False) -> list[Path]:
    base = settings.landing_path
    full = pattern if Path(pattern).is_absolute() else str(base / pattern)
    # sorted by name: daily drops named by date load oldest first, so the newest version wins
    return sorted(
        Path(p)
        for p in glob.glob(full, recursive=True)
        if Path(p).is_file() or (with_dangling and _dangling(Path(p)))
    )


def _dangling(path: Path) -> bool:
    return path.is_symlink() and not path.exists()


def _link_name(settings: Settings, path: Path) -> str:
    """A link's own path relative to the landing folder (not its target's)."""
    try:
        return str(path.absolute().relative_to(settings.landing_path))
    except ValueError:
        return str(path)


def _dangling_unit(settings: Settings, path: Path) -> Unit:
    """A symbolic link whose target is missing: logged once as skipped, with a note."""
    target = os.readlink(path)
    st = path.lstat()
    mtime = dt.datetime.fromtimestamp(st.st_mtime, dt.UTC).replace(tzinfo=None)
    digest = hashlib.sha256(f"dangling symlink -> {target}".encode()).hexdigest()
    note = f"not read: a symbolic link to {target}, which does not exist"
    return Unit(_link_name(settings, path), {"_": [path]}, digest, st.st_size, mtime, note)


def _mtime(path: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(tzinfo=None)
