"""What a load reports: per file, and per kind of export."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FileResult:
    """One file (or one query's set of files) as logged in `ingest_log`.

    rows_read = rows_loaded + rows_quarantined + rows_filtered (records; lines for line-level
    sources): the loader refuses to commit a file that does not balance."""

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
