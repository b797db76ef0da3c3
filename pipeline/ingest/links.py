"""A return's link to the order it returns (orders.original_order_id), after a load's upsert.

The link is optional in the orders contract. Where a source gives it (a column map, a header column
of that name, or a query that selects it), each return of the load keeps it only when it names a
known order: an order other than a return in `orders`, loaded before or in this load. A return
without a link, or whose original order is unknown, is still loaded (its value still lowers the
customer's spend on its day) and is counted in `ingest_log.note` as `return_unlinked`, with its
first lines: a notice, not a quarantine. A link on a row that is not a return is not kept.
"""

from __future__ import annotations

import duckdb

from loyalty import engine
from loyalty.contracts import Contract
from loyalty.ingest.textfiles import NOTE_LINES
from loyalty.vocab import RETURN_STATUS

LINK = "original_order_id"


def link_returns(
    conn: duckdb.DuckDBPyConnection, contract: Contract, load_id: int, mapped_types: dict[str, str]
) -> list[str]:
    """Keep the known links of the load's rows, count its unlinked returns; returns the notes."""
    # a contract column the source does not give is mapped as a bare NULL (DuckDB type "NULL")
    if LINK not in contract.names or mapped_types.get(LINK, "NULL").strip('"') == "NULL":
        return []
    params = {"load_id": load_id, "return_status": RETURN_STATUS, "max_lines": NOTE_LINES}
    found = engine.query_file(conn, "ingest/unlinked_returns.sql", params)[0]
    engine.execute_file(conn, "ingest/unlink_unknown_originals.sql", params)
    n, lines = int(found["returns"]), list(found["lines"] or [])
    if not n:
        return []
    return [unlinked_note(n, lines)]


def unlinked_note(n: int, lines: list[int]) -> str:
    """The ingest_log note of `n` returns without a known original order (`lines`: the first)."""
    more = ", …" if n > len(lines) else ""
    return (
        f"return_unlinked: {n} return(s) name no known original order ({LINK} missing, or not "
        f"an order loaded so far); loaded without the link, still lowering the customer's spend "
        f"(line {', '.join(map(str, lines))}{more})"
    )
