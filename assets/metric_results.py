"""What every metric asset reports about the table it wrote: row count and a markdown preview."""

from __future__ import annotations

from typing import Any

import dagster as dg
import duckdb

PREVIEW_ROWS = 10


def markdown_table(conn: duckdb.DuckDBPyConnection, query: str, params: Any = None) -> str:
    rel = conn.execute(query, params)
    cols = [d[0] for d in rel.description]
    rows = rel.fetchall()
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def preview_metadata(
    conn: duckdb.DuckDBPyConnection, table: str, where: str = "true", params: Any = None
) -> dict[str, Any]:
    """Row count and first rows of `table` (table names are ours, never input; values are bound)."""
    count = conn.execute(f"select count(*) from {table} where {where}", params).fetchone()[0]
    return {
        "dagster/row_count": dg.MetadataValue.int(int(count)),
        "preview": dg.MetadataValue.md(
            markdown_table(
                conn, f"select * from {table} where {where} limit {PREVIEW_ROWS}", params
            )
        ),
    }
