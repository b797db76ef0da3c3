"""The metric thresholds, RFM scoring, segment map, churn rules and KPI targets
(docs/settings.md, "metrics" and "kpis"; what they mean: docs/metrics.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from loyalty import vocab
from loyalty.settings.base import _Strict


class Weights(_Strict):
    r: float = Field(default=1, ge=0)
    f: float = Field(default=1, ge=0)
    m: float = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _not_all_zero(self) -> Weights:
        if self.r + self.f + self.m <= 0:
            raise ValueError("at least one RFM weight must be positive")
        return self


class RfmBins(_Strict):
    """Explicit bin edges instead of percent ranks: four ascending edges give scores 1..5.

    recency: days, fewer is better (score 5 below the first edge); frequency and monetary: more is
    better (score 1 below the first edge).
    """

    recency_days: list[float]
    frequency: list[float]
    monetary: list[float]

    @field_validator("recency_days", "frequency", "monetary")
    @classmethod
    def _four_ascending(cls, v: list[float]) -> list[float]:
        if len(v) != 4 or any(b <= a for a, b in zip(v, v[1:], strict=False)):
            raise ValueError("must be four strictly ascending edges")
        return v


class TierThresholds(_Strict):
    A: float = 80  # score >= A
    B: float = 65  # score >= B
    C: float = 50  # score > C ; D is score <= C

    @model_validator(mode="after")
    def _ordered(self) -> TierThresholds:
        if not (self.A > self.B > self.C):
            raise ValueError("tier thresholds must satisfy A > B > C")
        return self


class SegmentRule(_Strict):
    segment: str
    r: list[int]
    fm: list[int]


DEFAULT_SEGMENT_MAP: list[dict[str, Any]] = [
    {"segment": "Champions", "r": [4, 5], "fm": [4, 5]},
    {"segment": "Potential loyalists", "r": [4, 5], "fm": [2, 3]},
    {"segment": "New", "r": [4, 5], "fm": [1]},
    {"segment": "Loyal", "r": [3], "fm": [4, 5]},
    {"segment": "Needs attention", "r": [3], "fm": [2, 3]},
    {"segment": "About to sleep", "r": [3], "fm": [1]},
    {"segment": "Can't lose them", "r": [1, 2], "fm": [5]},
    {"segment": "At risk", "r": [1, 2], "fm": [3, 4]},
    {"segment": "Hibernating", "r": [2], "fm": [1, 2]},
    {"segment": "Lost", "r": [1], "fm": [1, 2]},
]


class Lifecycle(_Strict):
    new_max_days: int = Field(default=90, ge=0)
    growing_max_days: int = Field(default=180, ge=0)


class Churn(_Strict):
    inactive_days: int = Field(default=30, ge=1)
    complaint_window_days: int = Field(default=30, ge=1)
    complaint_max: int = Field(default=3, ge=0)  # flagged when MORE than this
    complaint_category: str = "complaint"
    drop_window_days: int = Field(default=30, ge=1)
    drop_ratio: float = Field(default=0.5, gt=0, le=1)
    drop_lookback_days: int = Field(default=365, ge=1)
    drop_min_history_days: int = Field(default=60, ge=1)
    drop_min_orders: int = Field(default=2, ge=1)


def _default_sla_hours(priority: str) -> float:
    # whole hours stay whole (24, not 24.0) where reports print the settings
    hours = vocab.DEFAULT_SLA_HOURS[priority]
    return int(hours) if float(hours).is_integer() else hours


class SlaHours(_Strict):
    """Hours to resolve a ticket, per priority (one field per vocab.PRIORITIES)."""

    urgent: float = Field(default=_default_sla_hours("urgent"), gt=0)
    important: float = Field(default=_default_sla_hours("important"), gt=0)
    general: float = Field(default=_default_sla_hours("general"), gt=0)


class Uncertainty(_Strict):
    """Intervals on every share and which changes count as significant (docs/metrics.md,
    "Uncertainty")."""

    confidence: float = Field(default=0.95, gt=0.5, lt=1)  # of the Wilson intervals and NPS ranges
    alpha: float = Field(default=0.05, gt=0, lt=0.5)  # two-sided level of a change's z-test
    min_n: int = Field(default=30, ge=1)  # a change with fewer on either side is never significant


class Metrics(_Strict):
    active_days: int = Field(default=90, ge=1)
    rfm_window_days: int = Field(default=365, ge=1)
    rfm_weights: Weights = Weights()
    rfm_bins: RfmBins | None = None
    tiers: TierThresholds = TierThresholds()
    segment_map: list[SegmentRule] = Field(
        default_factory=lambda: [SegmentRule(**s) for s in DEFAULT_SEGMENT_MAP]
    )
    lifecycle: Lifecycle = Lifecycle()
    churn: Churn = Churn()
    nps_low_sample: int = Field(default=30, ge=1)
    uncertainty: Uncertainty = Uncertainty()
    sla_hours: SlaHours = SlaHours()
    # KPI board: rates over the trailing window (D - kpi_window_days, D]
    kpi_window_days: int = Field(default=30, ge=1)

    @field_validator("segment_map")
    @classmethod
    def _complete_map(cls, v: list[SegmentRule]) -> list[SegmentRule]:
        seen: dict[tuple[int, int], str] = {}
        for rule in v:
            for r in rule.r:
                for fm in rule.fm:
                    if not (1 <= r <= 5 and 1 <= fm <= 5):
                        raise ValueError(f"segment {rule.segment!r}: r and fm must be within 1..5")
                    if (r, fm) in seen:
                        raise ValueError(
                            f"r={r}, fm={fm} is mapped twice ({seen[(r, fm)]!r}, {rule.segment!r})"
                        )
                    seen[(r, fm)] = rule.segment
        missing = [(r, fm) for r in range(1, 6) for fm in range(1, 6) if (r, fm) not in seen]
        if missing:
            raise ValueError(f"the segment map must cover every (r, fm); missing {missing}")
        return v


class Kpi(_Strict):
    target: float | None = None
    alert: float | None = None  # beyond this the flag is 'alert' rather than 'off target'
    direction: Literal["higher", "lower"] = "higher"
    owner: str = ""


def _default_kpis() -> dict[str, Kpi]:
    """One entry per vocab.KPI_NAMES, in that order."""
    return {
        "churn_rate": Kpi(target=0.05, alert=0.10, direction="lower", owner="CRM lead"),
        "tier_a_kept_rate": Kpi(target=0.95, direction="higher", owner="Key accounts"),
        "complaint_timeliness": Kpi(target=0.90, direction="higher", owner="Service desk"),
        "tier_d_activation": Kpi(target=0.20, direction="higher", owner="Marketing"),
        "nps": Kpi(target=40, direction="higher", owner="CX"),
        "csat": Kpi(target=0.80, direction="higher", owner="CX"),
        "repurchase_rate": Kpi(target=None, direction="higher", owner="CRM lead"),
        "revenue_at_risk": Kpi(target=None, direction="lower", owner="CRM lead"),
    }
