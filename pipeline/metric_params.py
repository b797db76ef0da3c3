"""Settings -> the `$name` parameters of the metric SQL under `sql/staging` and `sql/marts`.

Every threshold, window, weight, target and SLA hour reaches SQL through here as a bound parameter,
so the SQL holds no business numbers and a launchpad override changes a result without code. Lists
(segment map, RFM bin edges, KPI targets) are passed as parallel lists and unnested in SQL.
"""

from __future__ import annotations

import datetime as dt
import json
from statistics import NormalDist
from typing import Any

from loyalty.settings import Settings
from loyalty.vocab import (
    ALL,
    KPI_NAMES,
    MONEY_KPIS,
    PERIOD_TYPES,
    PRIORITY_KEYS,
    RATE_KPIS,
    TIER_KEYS,
    TIERS,
)

# Placeholder edges when explicit RFM bins are off (the SQL ignores them then, but a list parameter
# still needs a value of the right type).
_NO_EDGES = [0.0, 0.0, 0.0, 0.0]


def metric_params(settings: Settings) -> dict[str, Any]:
    """Scalar and list parameters shared by every metric query."""
    m = settings.metrics
    churn = m.churn
    bins = m.rfm_bins
    rules = [(r, fm, rule.segment) for rule in m.segment_map for r in rule.r for fm in rule.fm]
    kpis = [settings.kpis[name] for name in KPI_NAMES]
    return {
        "active_days": m.active_days,
        "rfm_window_days": m.rfm_window_days,
        "w_r": float(m.rfm_weights.r),
        "w_f": float(m.rfm_weights.f),
        "w_m": float(m.rfm_weights.m),
        "use_bins": bins is not None,
        "r_edges": [float(x) for x in bins.recency_days] if bins else _NO_EDGES,
        "f_edges": [float(x) for x in bins.frequency] if bins else _NO_EDGES,
        "m_edges": [float(x) for x in bins.monetary] if bins else _NO_EDGES,
        "tier_a": float(m.tiers.A),
        "tier_b": float(m.tiers.B),
        "tier_c": float(m.tiers.C),
        "seg_r": [r for r, _, _ in rules],
        "seg_fm": [fm for _, fm, _ in rules],
        "seg_name": [name for _, _, name in rules],
        "new_max_days": m.lifecycle.new_max_days,
        "growing_max_days": m.lifecycle.growing_max_days,
        "inactive_days": churn.inactive_days,
        "complaint_window_days": churn.complaint_window_days,
        "complaint_max": churn.complaint_max,
        "complaint_category": churn.complaint_category.lower(),
        "drop_window_days": churn.drop_window_days,
        "drop_ratio": float(churn.drop_ratio),
        "drop_lookback_days": churn.drop_lookback_days,
        "drop_min_history_days": churn.drop_min_history_days,
        "drop_min_orders": churn.drop_min_orders,
        "sla_urgent_hours": float(m.sla_hours.urgent),
        "sla_important_hours": float(m.sla_hours.important),
        "sla_general_hours": float(m.sla_hours.general),
        "nps_low_sample": m.nps_low_sample,
        **uncertainty_params(settings),
        "kpi_window_days": m.kpi_window_days,
        "kpi_name": list(KPI_NAMES),
        "kpi_target": [None if k.target is None else float(k.target) for k in kpis],
        "kpi_alert": [None if k.alert is None else float(k.alert) for k in kpis],
        "kpi_direction": [k.direction for k in kpis],
        "kpi_owner": [k.owner for k in kpis],
    }


def uncertainty_params(settings: Settings) -> dict[str, Any]:
    """`metrics.uncertainty` as the SQL uses it: the normal quantiles of the intervals
    (two-sided `confidence`) and of the change test (two-sided `alpha`), and the minimum n."""
    u = settings.metrics.uncertainty
    normal = NormalDist()
    return {
        "z_interval": normal.inv_cdf(0.5 + u.confidence / 2),
        "z_alpha": normal.inv_cdf(1 - u.alpha / 2),
        "min_n": u.min_n,
    }


def vocab_params() -> dict[str, Any]:
    """The fixed lists of names the SQL iterates over (loyalty.vocab), as bound parameters: the
    tier and priority grids of the period marts, the period types, the KPI board's rows."""
    return {
        "tiers": list(TIERS),
        "all_key": ALL,
        "tier_keys": list(TIER_KEYS),
        "priority_keys": list(PRIORITY_KEYS),
        "period_types": list(PERIOD_TYPES),
        "kpi_names": list(KPI_NAMES),
        "rate_kpis": sorted(RATE_KPIS),
        "money_kpis": sorted(MONEY_KPIS),
    }


def model_params(settings: Settings) -> dict[str, Any]:
    """Everything a model may bind: the metric parameters and the vocabulary lists. (Only
    `metric_params` is stored as a build's fingerprint: the vocabulary is fixed by the code.)"""
    return {**metric_params(settings), **vocab_params()}


def range_params(start: dt.date, end: dt.date) -> dict[str, Any]:
    """The days a daily-partitioned asset computes in one run: start..end inclusive."""
    if end < start:
        raise ValueError(f"empty day range {start}..{end}")
    return {"start_date": start, "end_date": end}


def snapshot_params_json(settings: Settings) -> str:
    """The thresholds a snapshot was computed with, as stored beside it and printed in reports."""
    m = settings.metrics
    used = {
        "active_days": m.active_days,
        "rfm_window_days": m.rfm_window_days,
        "rfm_weights": m.rfm_weights.model_dump(),
        "rfm_bins": m.rfm_bins.model_dump() if m.rfm_bins else None,
        "tiers": m.tiers.model_dump(),
        "segment_map": [rule.model_dump() for rule in m.segment_map],
        "lifecycle": m.lifecycle.model_dump(),
        "churn": m.churn.model_dump(),
    }
    return json.dumps(used, sort_keys=True)
