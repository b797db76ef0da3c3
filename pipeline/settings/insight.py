"""The insight marts' settings (docs/settings.md, "impact"; what they mean: docs/metrics.md,
"service_impact" and "say_do")."""

from __future__ import annotations

from pydantic import Field

from loyalty.settings.base import _Strict


class Impact(_Strict):
    """What happened next after a ticket (service_impact) or an NPS answer (say_do)."""

    # the days after a ticket's day in which a re-order, its value and the next NPS count; only
    # tickets whose window has fully elapsed by the last stored snapshot day count
    window_days: int = Field(default=90, ge=1, le=730)
    # H of the say-do gap: the days after an NPS answer whose behaviour is compared with it;
    # None = window_days
    say_do_days: int | None = Field(default=None, ge=1, le=730)

    @property
    def say_do_window(self) -> int:
        return self.say_do_days if self.say_do_days is not None else self.window_days
