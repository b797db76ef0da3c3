"""The generator's calendar: the days of the range, their purchase intensity, and the random
streams. Times are epoch seconds (naive, business-local); days are indices into the range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

DEFAULT_END = date(2026, 11, 15)
DAY = 86_400

# Monthly and weekday multipliers of purchase intensity (mean ~1): a December peak, a January dip,
# a weekend dip. Black Friday and Cyber Monday get an extra spike.
MONTH_FACTOR = np.array([0.82, 0.80, 0.92, 0.95, 1.00, 0.95, 0.93, 0.93, 0.98, 1.05, 1.22, 1.55])
WEEKDAY_FACTOR = np.array([1.05, 1.02, 1.02, 1.04, 1.08, 0.85, 0.74])  # Monday .. Sunday
# Hour-of-day profile per order channel (web, app, store); stores are open 09-20.
_HOURS = np.arange(24)
_ONLINE = 0.25 + np.exp(-((_HOURS - 12.5) ** 2) / 8) + 1.6 * np.exp(-((_HOURS - 20.5) ** 2) / 6)
_ONLINE[:6] *= 0.25
_APP = _ONLINE.copy()
_APP[21:] *= 1.5
_STORE = np.where((_HOURS >= 9) & (_HOURS < 20), 1.0 + 0.6 * np.exp(-((_HOURS - 13) ** 2) / 6), 0)
HOUR_PROFILE = np.vstack([_ONLINE, _APP, _STORE])


@dataclass
class Calendar:
    start: date
    end: date
    days: int
    base: int  # epoch seconds of start 00:00 (naive, business-local)
    cum_weight: np.ndarray  # cum_weight[d] = sum of day weights before day index d; len days+1
    month_index: np.ndarray  # (year*12 + month-1) per day index

    @property
    def end_ts(self) -> int:
        """The last second of the range, as epoch seconds."""
        return self.base + self.days * DAY - 1


def make_calendar(end: date, days: int) -> Calendar:
    start = end - timedelta(days=days - 1)
    dates = np.arange(np.datetime64(start), np.datetime64(end) + 1)
    months = dates.astype("datetime64[M]").astype(int) % 12
    weekdays = (dates.astype("datetime64[D]").astype(int) + 3) % 7  # 1970-01-01 was a Thursday
    weight = MONTH_FACTOR[months] * WEEKDAY_FACTOR[weekdays]
    for year in range(start.year, end.year + 1):
        nov1 = date(year, 11, 1)
        thanksgiving = nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 21)
        for spike_day, factor in (
            (thanksgiving + timedelta(days=1), 2.2),
            (thanksgiving + timedelta(days=4), 1.6),
        ):
            i = (spike_day - start).days
            if 0 <= i < days:
                weight[i] *= factor
    weight = weight / weight.mean()
    cum = np.concatenate([[0.0], np.cumsum(weight)])
    base = (start - date(1970, 1, 1)).days * DAY
    month_index = dates.astype("datetime64[M]").astype(int)
    return Calendar(start, end, days, base, cum, month_index)


def random_stream(seed: int, stream: int, chunk: int = 0) -> np.random.Generator:
    """The random stream of one part of the model: 0 customers, 1 a chunk's events, 2 the daily
    drop's changes, 3 the bad rows, 4 the returns."""
    return np.random.default_rng([seed, stream, chunk])


def sample_days(
    rng: np.random.Generator, cal: Calendar, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """One day index per row in [lo, hi] (inclusive), weighted by seasonality and weekday."""
    a = cal.cum_weight[lo]
    b = cal.cum_weight[hi + 1]
    u = a + rng.random(len(lo)) * (b - a)
    d = np.searchsorted(cal.cum_weight, u, side="right") - 1
    return np.clip(d, lo, hi)


def sample_hours(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    """One hour of the day per order, by the profile of its channel."""
    cum = np.cumsum(HOUR_PROFILE, axis=1)
    cum = cum / cum[:, -1:]
    flat = (cum + np.arange(3)[:, None]).ravel()
    h = np.searchsorted(flat, rng.random(len(channel)) + channel, side="right") - channel * 24
    return np.clip(h, 0, 23)


def choice(rng: np.random.Generator, n: int, p) -> np.ndarray:
    """n draws of a category code (int8) with probabilities (or weights) p."""
    return np.searchsorted(np.cumsum(p), rng.random(n) * np.sum(p), side="right").astype(np.int8)
