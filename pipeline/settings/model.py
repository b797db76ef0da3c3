"""The customer-value model's settings (docs/settings.md, "model"; what they mean: docs/model.md)."""

from __future__ import annotations

from pydantic import Field, model_validator

from loyalty.settings.base import _Strict


class StatusBands(_Strict):
    """P(alive) bands of a customer's status: active at or above `active`, at_risk at or above
    `at_risk`, lapsed at or above `lapsed`, lost below."""

    active: float = Field(default=0.7, gt=0, lt=1)
    at_risk: float = Field(default=0.3, gt=0, lt=1)
    lapsed: float = Field(default=0.1, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> StatusBands:
        if not self.active > self.at_risk > self.lapsed:
            raise ValueError("status bands must satisfy active > at_risk > lapsed")
        return self


class ModelSettings(_Strict):
    enabled: bool = True
    # H: the days ahead the model predicts (expected orders, CLV) and the backtest's holdout
    horizon_days: int = Field(default=90, ge=7, le=730)
    # below this many repeat buyers no model is fitted and the rules stay in charge
    min_repeat_customers: int = Field(default=200, ge=1)
    status_bands: StatusBands = StatusBands()
    # a customer silent longer than this is `lost`, whatever P(alive) says (BG/NBD gives P(alive) 1
    # to every customer without a repeat purchase, however long ago): docs/model.md
    lost_after_days: int = Field(default=365, ge=1)
    # a run over a long range (the first run, a backfill) models the Sundays of this many weeks
    # before its last day, not every Sunday since the first order (null: every Sunday); the
    # reports' trends read 12 weeks
    history_weeks: int | None = Field(default=26, ge=1)
