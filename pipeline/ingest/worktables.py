"""The working tables of one unit's load, by name.

Temp tables (and views) of the loading connection, created inside the source's transaction and
dropped after each unit (`sql/ingest/drop_work_tables.sql`, which also runs before each unit, so
nothing an earlier failed load left on the connection is read again). The SQL files under
`sql/ingest/` refer to them by these names.
"""

from __future__ import annotations

RAW = "ingest_raw"  # the file's records as read, one row per accepted CSV record
RAW_LINES = "ingest_raw_lines"  # line number per raw row, when lines were rejected or blank
BLANK_LINES = "ingest_blank_lines"  # numbers of the blank lines the reader skipped
REJECTS = "ingest_rejects"  # lines the CSV reader could not parse (DuckDB's rejects table)
MAPPED = "ingest_mapped"  # view: the contract columns as the mapping computes them
TYPED = "ingest_typed"  # the mapped values cast to the contract types
BAD = "ingest_bad"  # rows of TYPED that fail the contract, with their reasons
GOOD = "ingest_good"  # view: the rows of TYPED that are not BAD
