"""What every metric asset reports about the table it wrote: row count and a markdown preview."""

from __future__ import annotations

from typing import Any

import dagster as dg
import duckdb

from loyalty import engine
from loyalty.marts.summary import markdown_table

PREVIEW_ROWS = 10


def preview_metadata(
    conn: duckdb.DuckDBPyConnection, table: str, where: str = "true", params: Any = None
) -> dict[str, Any]:
    """Row count and first rows of `table` (table names are ours, never input; values are bound)."""
    count = engine.scalar(conn, f"select count(*) from {table} where {where}", params)
    return {
        "dagster/row_count": dg.MetadataValue.int(int(count)),
        "preview": dg.MetadataValue.md(
            markdown_table(
                conn, f"select * from {table} where {where} limit {PREVIEW_ROWS}", params
            )
        ),
    }
