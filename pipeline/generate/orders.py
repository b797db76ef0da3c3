"""Orders of one chunk: who buys when (guaranteed purchases plus a Poisson count per active spell),
through which channel at what hour, for how much, and which are cancelled or refunded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loyalty.generate.calendar import DAY, Calendar, random_stream, sample_days, sample_hours
from loyalty.generate.customers import Spells, Traits


@dataclass
class Orders:
    local: np.ndarray  # the buyer, as an index into the chunk's customers
    ts: np.ndarray  # epoch seconds
    cents: np.ndarray  # amount (int32: up to 21 million GBP per order)
    refund: np.ndarray  # cents refunded
    status: np.ndarray  # code into labels.ORDER_STATUSES
    channel: np.ndarray  # code into labels.ORDER_CHANNELS
    partial: np.ndarray  # completed with a partial refund

    def columns(self, ids: np.ndarray) -> dict[str, np.ndarray]:
        """The columns kept for writing; `ids` maps chunk indices to customer numbers."""
        return {
            "cust": ids[self.local].astype(np.int32),
            "ts": self.ts,
            "cents": self.cents,
            "refund": self.refund,
            "status": self.status,
            "channel": self.channel,
        }


@dataclass
class _Purchases:
    """Who buys: first purchases of new customers, reactivation purchases, then the Poisson draws
    of each spell, whose days are drawn in [lo, hi]."""

    local: np.ndarray
    first: np.ndarray  # customers (chunk indices) with a guaranteed first purchase
    react: np.ndarray  # customers with a guaranteed reactivation purchase
    lo: np.ndarray  # spell start day of each Poisson purchase
    hi: np.ndarray  # spell end day of each Poisson purchase


def make_orders(rng: np.random.Generator, cal: Calendar, traits: Traits, spells: Spells) -> Orders:
    buys = _purchases(rng, cal, traits, spells)
    channel, ts = _channel_and_time(rng, cal, traits, spells, buys)
    cents, refund, status, partial = _value_and_status(rng, cal, traits, buys.local, ts)
    return Orders(buys.local, ts, cents, refund, status, channel, partial)


def _purchases(
    rng: np.random.Generator, cal: Calendar, traits: Traits, spells: Spells
) -> _Purchases:
    n = len(traits.rate)
    s = spells

    def poisson_window(mask, a, b):
        mass = cal.cum_weight[b + 1] - cal.cum_weight[a]
        return np.where(mask, rng.poisson(traits.rate * mass / 365.0), 0)

    k1 = poisson_window(s.has1 & ~traits.one_time, s.a1, s.b1)
    k2 = poisson_window(s.react, s.a2, s.b2)
    g_first = np.flatnonzero(s.has1 & s.is_new)
    g_react = np.flatnonzero(s.react)
    w_cust = np.concatenate([np.repeat(np.arange(n), k1), np.repeat(np.arange(n), k2)])
    w_lo = np.concatenate([np.repeat(s.a1, k1), np.repeat(s.a2, k2)])
    w_hi = np.concatenate([np.repeat(s.b1, k1), np.repeat(s.b2, k2)])
    local = np.concatenate([g_first, g_react, w_cust])
    return _Purchases(local, g_first, g_react, w_lo, w_hi)


def _channel_and_time(
    rng: np.random.Generator, cal: Calendar, traits: Traits, spells: Spells, buys: _Purchases
) -> tuple[np.ndarray, np.ndarray]:
    local, n_first, n_react = buys.local, len(buys.first), len(buys.react)
    n_orders = len(local)
    channel = np.where(
        rng.random(n_orders) < 0.8, traits.pref_channel[local], rng.integers(0, 3, n_orders)
    ).astype(np.int8)
    hours = sample_hours(rng, channel)
    sec_in_day = hours * 3600 + rng.integers(0, 3600, n_orders)
    days_random = sample_days(rng, cal, buys.lo, buys.hi)
    ts = np.concatenate(
        [
            spells.first_ts[buys.first],
            spells.a2[buys.react] * DAY + sec_in_day[n_first : n_first + n_react],
            days_random * DAY + sec_in_day[n_first + n_react :],
        ]
    )
    # nothing before the customer's first purchase (same-day draws can land earlier in the day)
    ts = np.where(spells.is_new[local], np.maximum(ts, spells.first_ts[local]), ts)
    ts = np.minimum(ts, cal.days * DAY - 1) + cal.base
    return channel, ts


def _value_and_status(
    rng: np.random.Generator, cal: Calendar, traits: Traits, local: np.ndarray, ts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(cents, refund, status, partial): a seasonal basket around the customer's typical spend;
    3 % cancelled, about 1 % refunded (more for unhappy customers), a few partial refunds."""
    n_orders = len(local)
    month = cal.month_index[(ts - cal.base) // DAY] % 12
    season = np.where(month == 11, 1.15, 1.0)
    cents = np.maximum(
        199, np.round(traits.spend[local] * season * 100 * rng.lognormal(-0.1, 0.65, n_orders))
    ).astype(np.int64)
    u = rng.random(n_orders)
    unhappy = traits.sat[local] < -1
    status = np.where(u < 0.03, 1, np.where(u < 0.042 + 0.01 * unhappy, 2, 0)).astype(np.int8)
    partial = (status == 0) & (rng.random(n_orders) < 0.008)
    refund = np.where(status == 2, cents, 0)
    refund = np.where(partial, np.round(cents * rng.uniform(0.1, 0.6, n_orders)), refund)
    return cents.astype(np.int32), refund.astype(np.int32), status, partial


def drop_changes(
    orders: dict[str, np.ndarray], cal: Calendar, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Status and refund columns as the daily drop reports them: a few overlap orders refunded
    since."""
    rng = random_stream(seed, 2)
    day = (orders["ts"] - cal.base) // DAY
    overlap = np.flatnonzero(
        (day >= cal.days - 7) & (day <= cal.days - 6) & (orders["status"] == 0)
    )
    changed = np.sort(rng.choice(overlap, size=min(5, len(overlap)), replace=False))
    status, refund = orders["status"].copy(), orders["refund"].copy()
    status[changed] = 2
    refund[changed] = orders["cents"][changed]
    return status, refund
