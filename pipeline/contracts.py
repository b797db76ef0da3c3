"""The input contracts (README "Inputs"): what each kind of export must provide after its source mapping.

One place defines, per kind, the columns, their DuckDB types, which are required, the key, and the
value rules. Ingest builds its SQL casts and its pandera schema from this, and `sql/ingest/tables.sql`
creates the tables with the same columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loyalty import vocab


@dataclass(frozen=True)
class ContractColumn:
    name: str
    sql_type: str  # DuckDB type the value is cast to
    required: bool = False
    allowed: tuple[str, ...] | None = None  # for text enums, compared lower-cased
    min_value: float | None = None
    max_value: float | None = None
    default_sql: str | None = None  # value used when the mapping gives NULL
    pii: bool = False
    # an optional score: out of range it becomes NULL (counted in ingest_log.note), the row is kept
    out_of_range_to_null: bool = False


@dataclass(frozen=True)
class Contract:
    kind: str
    key: str
    columns: tuple[ContractColumn, ...]
    optional_kind: bool = False
    # timestamp column whose latest value defines freshness of this kind
    event_column: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ContractColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


MONEY = "DECIMAL(18,2)"

ORDERS = Contract(
    kind="orders",
    key="order_id",
    event_column="ordered_at",
    columns=(
        ContractColumn("order_id", "VARCHAR", required=True),
        ContractColumn("customer_id", "VARCHAR", required=True),
        ContractColumn("ordered_at", "TIMESTAMP", required=True),
        ContractColumn("amount", MONEY, required=True),
        ContractColumn(
            "status",
            "VARCHAR",
            allowed=vocab.ORDER_STATUSES,
            default_sql=f"'{vocab.COUNTED_STATUS}'",  # an export without statuses: every order counts
        ),
        ContractColumn("refund_amount", MONEY, min_value=0, default_sql="0"),
        ContractColumn("channel", "VARCHAR"),
        # a return's original order: kept when it names a known order (not itself a return),
        # else NULL and the return counted as `return_unlinked` (ingest.links)
        ContractColumn("original_order_id", "VARCHAR"),
    ),
)

TICKETS = Contract(
    kind="tickets",
    key="ticket_id",
    optional_kind=True,  # a business without a service desk export still gets RFM and retention
    event_column="opened_at",
    columns=(
        ContractColumn("ticket_id", "VARCHAR", required=True),
        ContractColumn("customer_id", "VARCHAR", required=True),
        ContractColumn("opened_at", "TIMESTAMP", required=True),
        ContractColumn("first_response_at", "TIMESTAMP"),
        ContractColumn("resolved_at", "TIMESTAMP"),
        ContractColumn("category", "VARCHAR", required=True),
        ContractColumn("priority", "VARCHAR", required=True, allowed=vocab.PRIORITIES),
        ContractColumn("channel", "VARCHAR"),
        ContractColumn("satisfaction", "INTEGER", min_value=1, max_value=5),
    ),
)

SURVEYS = Contract(
    kind="surveys",
    key="response_id",
    optional_kind=True,
    event_column="responded_at",
    columns=(
        ContractColumn("response_id", "VARCHAR", required=True),
        ContractColumn("customer_id", "VARCHAR", required=True),
        ContractColumn("responded_at", "TIMESTAMP", required=True),
        ContractColumn("nps", "INTEGER", min_value=0, max_value=10),
        ContractColumn("csat", "INTEGER", min_value=1, max_value=5, out_of_range_to_null=True),
        ContractColumn("ces", "INTEGER", min_value=1, max_value=7, out_of_range_to_null=True),
        ContractColumn("comment", "VARCHAR"),
    ),
)

CUSTOMERS = Contract(
    kind="customers",
    key="customer_id",
    optional_kind=True,
    columns=(
        ContractColumn("customer_id", "VARCHAR", required=True),
        ContractColumn("signed_up_at", "TIMESTAMP"),
        ContractColumn("name", "VARCHAR", pii=True),
        ContractColumn("email", "VARCHAR", pii=True),
        ContractColumn("phone", "VARCHAR", pii=True),
        ContractColumn("region", "VARCHAR"),
        ContractColumn("member_level", "VARCHAR"),
    ),
)

CONTRACTS: dict[str, Contract] = {c.kind: c for c in (ORDERS, TICKETS, SURVEYS, CUSTOMERS)}
KINDS = tuple(CONTRACTS)
