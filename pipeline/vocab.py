"""Every fixed list of names and values, defined once (core layer: imports nothing of ours).

Settings validate against these, the SQL receives them as bound parameters (never as literals
repeated in SQL text), the reports label and order by them, and the generator draws from them.
What they mean: docs/metrics.md.
"""

from __future__ import annotations

# customer tiers, best first (docs/metrics.md, "Tiers"); `ALL` is the whole base in period tables
TIERS: tuple[str, ...] = ("A", "B", "C", "D")
ALL = "all"
TIER_KEYS: tuple[str, ...] = (ALL, *TIERS)

# order status (the orders contract); only `COUNTED_STATUS` orders count in the metrics;
# a `RETURN_STATUS` row is a return or credit note: it lowers the customer's value, not an order
ORDER_STATUSES: tuple[str, ...] = ("completed", "cancelled", "refunded", "returned")
COUNTED_STATUS = "completed"
RETURN_STATUS = "returned"

# ticket priority (the tickets contract), most urgent first, with their default SLA hours
PRIORITIES: tuple[str, ...] = ("urgent", "important", "general")
PRIORITY_KEYS: tuple[str, ...] = (ALL, *PRIORITIES)
DEFAULT_SLA_HOURS: dict[str, float] = {"urgent": 24.0, "important": 72.0, "general": 168.0}

# period types of the period marts
PERIOD_TYPES: tuple[str, ...] = ("week", "month", "quarter")

# lifecycle stages by tenure
LIFECYCLE_STAGES: tuple[str, ...] = ("new", "growing", "mature")

# a customer's status in customer_value (P(alive) bands, docs/model.md), best first
CUSTOMER_STATUSES: tuple[str, ...] = ("active", "at_risk", "lapsed", "lost")

# churn flags of customer_snapshot, in the order churn_reasons lists them
CHURN_FLAGS: tuple[str, ...] = ("inactive", "complaints", "activity_drop")

# The KPI board rows, in display order (SPEC §4 fixes which KPIs exist; their targets, alerts,
# directions and owners are settings). `RATE_KPIS` are shares in [0, 1]; the rest are scores.
KPI_NAMES: tuple[str, ...] = (
    "churn_rate",
    "tier_a_kept_rate",
    "complaint_timeliness",
    "tier_d_activation",
    "nps",
    "csat",
    "repurchase_rate",
    "revenue_at_risk",
)
# money (the report's currency), from the churn-and-value model (docs/model.md)
MONEY_KPIS: frozenset[str] = frozenset({"revenue_at_risk"})
RATE_KPIS: frozenset[str] = frozenset(KPI_NAMES) - {"nps"} - MONEY_KPIS
KPI_DIRECTIONS: tuple[str, ...] = ("higher", "lower")

# the flags sql/marts/kpi_daily/kpi_daily.sql writes into kpi_daily.flag
KPI_FLAGS: tuple[str, ...] = ("ok", "off_target", "alert", "no_target", "no_data")

# the playbook (docs/settings.md, "playbook"): a rule's wildcard, and its `when` for any churn flag
PLAYBOOK_ANY = "*"
PLAYBOOK_ANY_FLAG = "churn_risk"

# the figures of closed periods the restatement log watches (docs/metrics.md, "restatements"):
# period table -> its key column (tier or priority) and the figures compared between runs
RESTATED_FIGURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "retention_period": ("tier", ("retention_rate", "kept_rate", "activation_rate", "start_count")),
    "repurchase_period": ("tier", ("repurchase_rate", "buyers", "repeat_buyers")),
    "nps_period": ("tier", ("nps", "responses", "csat")),
    "service_period": ("priority", ("sla_rate", "tickets", "complaint_sla_rate")),
}
