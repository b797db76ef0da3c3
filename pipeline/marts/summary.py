"""Small markdown tables of query results, for what a run reports about the table it wrote."""

from __future__ import annotations

from typing import Any

import duckdb


def markdown_table(conn: duckdb.DuckDBPyConnection, query: str, params: Any = None) -> str:
    """The rows of `query` as a markdown table (NULL as an empty cell)."""
    rel = conn.execute(query, params)
    cols = [d[0] for d in rel.description or ()]
    rows = rel.fetchall()
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
