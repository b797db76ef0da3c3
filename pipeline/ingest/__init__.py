"""Loading exports into the contract tables (README "Inputs").

For each kind (orders, tickets, surveys, customers) the files matching the mapping are found and
hashed (`discovery`), read with explicit reader options after their header is checked against the
mapping (`reader`), mapped onto the contract columns (`mapping`), cast to the contract types in SQL
(`casts`) and validated with the pandera schema of the contract; rows that fail land in
`quarantine` with file, line and reason, the rest replace earlier versions of their keys (`load`).
One call of `ingest_source` is one transaction (`source`): a crash leaves every table as it was.

Row accounting, per file: rows_read = rows_loaded + rows_quarantined + rows_filtered (records, i.e.
lines for line-level sources), and a test holds the loader to it.
"""

from __future__ import annotations

from loyalty.ingest.discovery import Unit, discover, known_files
from loyalty.ingest.errors import IngestError
from loyalty.ingest.load import load_unit
from loyalty.ingest.reader import read_header
from loyalty.ingest.results import FileResult, SourceResult
from loyalty.ingest.source import ensure_tables, ingest_source

# what ingest_source calls for each unit, looked up here at call time (a test replaces it)
_load_unit = load_unit

__all__ = [
    "FileResult",
    "IngestError",
    "SourceResult",
    "Unit",
    "discover",
    "ensure_tables",
    "ingest_source",
    "known_files",
    "load_unit",
    "read_header",
]
