"""Seeded synthetic exports (orders, tickets, surveys, customers) with realistic skew, at any size.

The model is documented in docs/generator.md. Everything is vectorised with numpy: customers are
processed in fixed-size chunks, each with its own random stream derived from (seed, chunk), so the
output for a seed never depends on how fast or where it runs. Only compact numeric columns are kept
in memory (about 25 bytes per order); text is formatted by polars one slice at a time while writing.

    python -m loyalty.generate --customers 200000 --days 730 --seed 1 --out /tmp/gen
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from loyalty.contracts import CUSTOMERS, ORDERS, SURVEYS, TICKETS

DEFAULT_END = date(2026, 11, 15)
CHUNK_CUSTOMERS = 100_000  # fixed: part of the seed's definition, never derived from the input size
WRITE_SLICE = 500_000  # rows formatted at a time
DAY = 86_400
TS_FORMAT = "%Y-%m-%d %H:%M:%S"

ORDER_STATUSES = ("completed", "cancelled", "refunded")
ORDER_CHANNELS = ("web", "app", "store")
TICKET_CATEGORIES = ("complaint", "delivery", "billing", "product", "other")
PRIORITIES = ("urgent", "important", "general")
SLA_HOURS = np.array([24.0, 72.0, 168.0])  # by priority code, SPEC §4
TICKET_CHANNELS = ("email", "phone", "chat")
REGIONS = (
    "London",
    "South East",
    "North West",
    "Midlands",
    "Yorkshire",
    "Scotland",
    "Wales",
    "South West",
    "North East",
)
REGION_P = (0.22, 0.16, 0.12, 0.13, 0.09, 0.09, 0.05, 0.08, 0.06)
MEMBER_LEVELS = ("bronze", "silver", "gold", "platinum")

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

COMMENTS_PROMOTER = (
    "Great service, fast delivery.",
    "Love the app - reordering takes seconds",
    'The "next day" delivery really was next day, thanks!',
    "送货很快，服务很好。",
    "Staff in the store were friendly, helpful and quick",
    "10/10 would recommend",
)
COMMENTS_PASSIVE = (
    "OK, nothing special",
    "Good products, but delivery slots are limited",
    "Prices went up, quality is the same",
    "质量不错，但是价格有点贵",
    "Fine.\nWould like more payment options.",
)
COMMENTS_DETRACTOR = (
    'Parcel arrived damaged, box marked "fragile" was crushed',
    "Waited 5 days for a reply; nobody called back",
    "客服回复太慢了，问题还没解决",
    "Refund took weeks.\nI will not order again, sorry",
    "Wrong item, again",
    'Support said "we will call you back", they never did',
)
COMMENTS = COMMENTS_PROMOTER + COMMENTS_PASSIVE + COMMENTS_DETRACTOR


@dataclass
class _Calendar:
    start: date
    end: date
    days: int
    base: int  # epoch seconds of start 00:00 (naive, business-local)
    cum_weight: np.ndarray  # cum_weight[d] = sum of day weights before day index d; len days+1
    month_index: np.ndarray  # (year*12 + month-1) per day index


def _calendar(end: date, days: int) -> _Calendar:
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
    return _Calendar(start, end, days, base, cum, month_index)


def _rng(seed: int, stream: int, chunk: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, stream, chunk])


def _sample_days(rng, cal: _Calendar, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One day index per row in [lo, hi] (inclusive), weighted by seasonality and weekday."""
    a = cal.cum_weight[lo]
    b = cal.cum_weight[hi + 1]
    u = a + rng.random(len(lo)) * (b - a)
    d = np.searchsorted(cal.cum_weight, u, side="right") - 1
    return np.clip(d, lo, hi)


def _sample_hours(rng, channel: np.ndarray) -> np.ndarray:
    cum = np.cumsum(HOUR_PROFILE, axis=1)
    cum = cum / cum[:, -1:]
    flat = (cum + np.arange(3)[:, None]).ravel()
    h = np.searchsorted(flat, rng.random(len(channel)) + channel, side="right") - channel * 24
    return np.clip(h, 0, 23)


def _choice(rng, n: int, p) -> np.ndarray:
    return np.searchsorted(np.cumsum(p), rng.random(n) * np.sum(p), side="right").astype(np.int8)


# --------------------------------------------------------------------------------------------------
# the model


@dataclass
class _Customers:
    signup: np.ndarray  # epoch seconds, ascending (ids follow signup order)
    region: np.ndarray
    orders: np.ndarray  # filled in while generating orders: counted orders per customer


def _make_customers(n: int, seed: int, cal: _Calendar) -> _Customers:
    rng = _rng(seed, 0)
    existing = rng.random(n) < 0.25  # already customers before the export range starts
    # arrivals accelerate over time: density proportional to 1 + 0.5 x over the range
    x = (-1 + np.sqrt(1 + 1.25 * rng.random(n))) / 0.5
    day = np.where(existing, -rng.integers(1, 731, n), np.floor(x * cal.days)).astype(np.int64)
    day = np.minimum(day, cal.days - 1)
    seconds = rng.integers(7 * 3600, 23 * 3600, n)
    signup = np.sort(cal.base + day * DAY + seconds)
    region = _choice(rng, n, REGION_P)
    return _Customers(signup, region, np.zeros(n, np.int32))


@dataclass
class _Chunk:
    o_cust: np.ndarray
    o_ts: np.ndarray
    o_cents: np.ndarray
    o_refund: np.ndarray
    o_status: np.ndarray
    o_channel: np.ndarray
    t_cust: np.ndarray
    t_opened: np.ndarray
    t_first: np.ndarray  # -1 = empty
    t_resolved: np.ndarray  # -1 = empty
    t_category: np.ndarray
    t_priority: np.ndarray
    t_channel: np.ndarray
    t_satisfaction: np.ndarray  # 0 = empty
    s_cust: np.ndarray
    s_ts: np.ndarray
    s_nps: np.ndarray  # -1 = empty
    s_csat: np.ndarray
    s_ces: np.ndarray
    s_comment: np.ndarray  # -1 = empty


def _make_chunk(
    seed: int, chunk: int, lo: int, hi: int, cust: _Customers, cal: _Calendar
) -> _Chunk:
    rng = _rng(seed, 1, chunk)
    n = hi - lo
    ids = np.arange(lo, hi)
    end_ts = cal.base + cal.days * DAY - 1
    last = cal.days - 1

    # latent satisfaction: drives survey scores, ticket rates and how long the customer stays
    sat = rng.standard_normal(n)
    rate = rng.lognormal(np.log(3.6), 0.95, n)  # orders per year while active
    spend = rng.lognormal(np.log(30.0), 0.45, n)  # typical basket, GBP
    pref_channel = _choice(rng, n, (0.5, 0.35, 0.15))
    one_time = rng.random(n) < 0.40 - 0.08 * np.clip(sat, -2, 2)
    lifetime = np.where(one_time, 0.0, rng.exponential(450.0 * np.exp(0.45 * sat), n))

    # spell 1 starts with the first order (new customers) or at the range start (existing ones)
    signup_rel = cust.signup[lo:hi] - cal.base
    is_new = signup_rel >= 0
    first_lag = np.where(
        rng.random(n) < 0.6, rng.exponential(1800, n), rng.exponential(12 * DAY, n)
    )
    first_ts = signup_rel + first_lag.astype(np.int64)
    a1 = np.where(is_new, first_ts // DAY, 0)
    has1 = a1 <= last
    a1 = np.minimum(a1, last)
    b1 = np.minimum(a1 + lifetime.astype(np.int64), last)
    churned = has1 & (a1 + lifetime < last)
    # some churned customers come back after a gap, with a purchase and a second (shorter) spell
    react = churned & (rng.random(n) < 0.2)
    a2 = b1 + np.maximum(45, rng.lognormal(np.log(120), 0.6, n)).astype(np.int64)
    react &= a2 <= last
    a2 = np.minimum(a2, last)
    b2 = np.minimum(a2 + rng.exponential(220.0 * np.exp(0.3 * sat), n).astype(np.int64), last)

    # orders: guaranteed ones (first purchase of a new customer, reactivation purchase) + Poisson
    def poisson_window(mask, a, b):
        mass = cal.cum_weight[b + 1] - cal.cum_weight[a]
        return np.where(mask, rng.poisson(rate * mass / 365.0), 0)

    k1 = poisson_window(has1 & ~one_time, a1, b1)
    k2 = poisson_window(react, a2, b2)
    g_first = np.flatnonzero(has1 & is_new)
    g_react = np.flatnonzero(react)
    w_cust = np.concatenate([np.repeat(np.arange(n), k1), np.repeat(np.arange(n), k2)])
    w_lo = np.concatenate([np.repeat(a1, k1), np.repeat(a2, k2)])
    w_hi = np.concatenate([np.repeat(b1, k1), np.repeat(b2, k2)])
    o_local = np.concatenate([g_first, g_react, w_cust])
    n_orders = len(o_local)
    o_channel = np.where(
        rng.random(n_orders) < 0.8, pref_channel[o_local], rng.integers(0, 3, n_orders)
    ).astype(np.int8)
    hours = _sample_hours(rng, o_channel)
    sec_in_day = hours * 3600 + rng.integers(0, 3600, n_orders)
    days_random = _sample_days(rng, cal, w_lo, w_hi)
    o_ts = np.concatenate(
        [
            first_ts[g_first],
            a2[g_react] * DAY + sec_in_day[len(g_first) : len(g_first) + len(g_react)],
            days_random * DAY + sec_in_day[len(g_first) + len(g_react) :],
        ]
    )
    # nothing before the customer's first purchase (same-day draws can land earlier in the day)
    o_ts = np.where(is_new[o_local], np.maximum(o_ts, first_ts[o_local]), o_ts)
    o_ts = np.minimum(o_ts, cal.days * DAY - 1) + cal.base
    o_day = (o_ts - cal.base) // DAY

    month = cal.month_index[o_day] % 12
    season = np.where(month == 11, 1.15, 1.0)
    o_cents = np.maximum(
        199, np.round(spend[o_local] * season * 100 * rng.lognormal(-0.1, 0.65, n_orders))
    ).astype(np.int64)
    u = rng.random(n_orders)
    unhappy = sat[o_local] < -1
    o_status = np.where(u < 0.03, 1, np.where(u < 0.042 + 0.01 * unhappy, 2, 0)).astype(np.int8)
    partial = (o_status == 0) & (rng.random(n_orders) < 0.008)
    o_refund = np.where(o_status == 2, o_cents, 0)
    o_refund = np.where(partial, np.round(o_cents * rng.uniform(0.1, 0.6, n_orders)), o_refund)
    o_cents = o_cents.astype(np.int32)  # up to 21 million GBP per order
    o_refund = o_refund.astype(np.int32)

    # tickets: some orders cause one (refunds and cancellations more often, unhappy customers more
    # often) + complaint bursts before some unhappy customers churn
    p_ticket = np.where(o_status == 0, 0.045 * np.exp(-0.5 * np.clip(sat[o_local], -2, 2)), 0.35)
    p_ticket = np.where(partial, 0.5, p_ticket)
    tk = np.flatnonzero(rng.random(n_orders) < p_ticket)
    tk_open = o_ts[tk] + rng.exponential(2.5 * DAY, len(tk)).astype(np.int64) + 600
    tk_cat = _choice(rng, len(tk), (0.15, 0.35, 0.15, 0.2, 0.15))
    refunded_order = o_status[tk] != 0
    tk_cat = np.where(refunded_order & (rng.random(len(tk)) < 0.5), 0, tk_cat).astype(np.int8)

    burst = churned & (sat < -0.3) & (b1 - a1 >= 30) & (b1 >= 25) & (rng.random(n) < 0.12)
    burst_idx = np.flatnonzero(burst)
    n_burst = rng.integers(4, 7, len(burst_idx))
    bc = np.repeat(burst_idx, n_burst)
    b_open = (b1[bc] - rng.integers(0, 25, len(bc))) * DAY + rng.integers(
        8 * 3600, 21 * 3600, len(bc)
    )
    b_open = b_open + cal.base

    t_local = np.concatenate([o_local[tk], bc])
    t_opened = np.concatenate([tk_open, b_open])
    t_category = np.concatenate([tk_cat, np.zeros(len(bc), np.int8)])
    t_burst = np.concatenate([np.zeros(len(tk), bool), np.ones(len(bc), bool)])
    keep = t_opened <= end_ts
    t_local, t_opened, t_category, t_burst = (
        t_local[keep],
        t_opened[keep],
        t_category[keep],
        t_burst[keep],
    )
    nt = len(t_local)
    complaint = t_category == 0
    t_priority = np.where(
        complaint, _choice(rng, nt, (0.3, 0.45, 0.25)), _choice(rng, nt, (0.1, 0.3, 0.6))
    ).astype(np.int8)
    t_channel = _choice(rng, nt, (0.45, 0.3, 0.25))
    slow = np.where(t_burst, 1.8, 1.0) * np.exp(-0.15 * np.clip(sat[t_local], -2, 2))
    first_h = rng.lognormal(np.log(np.array([1.5, 6.0, 20.0])[t_priority]), 0.9) * slow
    resolve_h = first_h + rng.lognormal(np.log(np.array([5.0, 16.0, 40.0])[t_priority]), 0.8) * slow
    t_first = t_opened + (first_h * 3600).astype(np.int64) + 60
    t_resolved = t_opened + (resolve_h * 3600).astype(np.int64) + 120
    never = rng.random(nt) < 0.03
    t_resolved = np.where(never | (t_resolved > end_ts), -1, t_resolved)
    t_first = np.where(t_first > end_ts, -1, t_first)
    resolved = t_resolved >= 0
    sla = SLA_HOURS[t_priority]
    ratio = np.where(resolved, (t_resolved - t_opened) / 3600.0 / sla, 3.0)
    answered = rng.random(nt) < np.where(resolved, 0.45, 0.15)
    score = 4.7 - 1.1 * np.minimum(ratio, 3) + 0.35 * sat[t_local] + rng.normal(0, 0.7, nt)
    t_satisfaction = np.where(answered, np.clip(np.round(score), 1, 5), 0).astype(np.int8)

    # surveys: after some completed orders and some resolved tickets; scores follow the latent
    # satisfaction (which also shortened the customer's lifetime) minus a service penalty
    so = np.flatnonzero((o_status == 0) & (rng.random(n_orders) < 0.06))
    st = np.flatnonzero(resolved & (rng.random(nt) < 0.25))
    s_local = np.concatenate([o_local[so], t_local[st]])
    s_ts = np.concatenate(
        [
            o_ts[so] + rng.integers(DAY, 10 * DAY, len(so)),
            t_resolved[st] + rng.integers(1800, 3 * DAY, len(st)),
        ]
    )
    penalty = np.concatenate([np.zeros(len(so)), 1.5 * np.clip(ratio[st] - 0.5, 0, 2.5)])
    # a few customers answer twice within days (a reminder e-mail answered again)
    twice = np.flatnonzero(rng.random(len(s_local)) < 0.03)
    s_local = np.concatenate([s_local, s_local[twice]])
    s_ts = np.concatenate([s_ts, s_ts[twice] + rng.integers(DAY, 12 * DAY, len(twice))])
    penalty = np.concatenate([penalty, penalty[twice]])
    keep = s_ts <= end_ts
    s_local, s_ts, penalty = s_local[keep], s_ts[keep], penalty[keep]
    ns = len(s_local)
    ss = sat[s_local]
    nps = np.clip(np.round(7.9 + 1.7 * ss - penalty + rng.normal(0, 1.2, ns)), 0, 10)
    csat = np.clip(np.round(4.0 + 0.7 * ss - 0.5 * penalty + rng.normal(0, 0.6, ns)), 1, 5)
    ces = np.clip(np.round(2.8 - 0.8 * ss + 0.6 * penalty + rng.normal(0, 0.9, ns)), 1, 7)
    s_nps = np.where(rng.random(ns) < 0.1, -1, nps).astype(np.int8)
    s_csat = np.where(rng.random(ns) < 0.35, -1, csat).astype(np.int8)
    s_ces = np.where(rng.random(ns) < 0.55, -1, ces).astype(np.int8)
    bucket = np.where(nps >= 9, 0, np.where(nps >= 7, 1, 2))
    sizes = np.array([len(COMMENTS_PROMOTER), len(COMMENTS_PASSIVE), len(COMMENTS_DETRACTOR)])
    offsets = np.array([0, sizes[0], sizes[0] + sizes[1]])
    pick = offsets[bucket] + (rng.random(ns) * sizes[bucket]).astype(np.int64)
    s_comment = np.where(rng.random(ns) < 0.2, pick, -1).astype(np.int16)

    counted = np.bincount(o_local[o_status == 0], minlength=n)
    cust.orders[lo:hi] = counted
    return _Chunk(
        o_cust=(ids[o_local]).astype(np.int32),
        o_ts=o_ts,
        o_cents=o_cents,
        o_refund=o_refund,
        o_status=o_status,
        o_channel=o_channel,
        t_cust=ids[t_local].astype(np.int32),
        t_opened=t_opened,
        t_first=t_first,
        t_resolved=t_resolved,
        t_category=t_category,
        t_priority=t_priority,
        t_channel=t_channel,
        t_satisfaction=t_satisfaction,
        s_cust=ids[s_local].astype(np.int32),
        s_ts=s_ts,
        s_nps=s_nps,
        s_csat=s_csat,
        s_ces=s_ces,
        s_comment=s_comment,
    )


def _concat(chunks: list[_Chunk], prefix: str, sort_by: str) -> dict[str, np.ndarray]:
    """One column at a time, freeing the chunks' copies, then sorted by time (ties: customer)."""
    cols = {}
    for name in [k for k in _Chunk.__dataclass_fields__ if k.startswith(prefix)]:
        cols[name[len(prefix) :]] = np.concatenate([getattr(c, name) for c in chunks])
        for c in chunks:
            setattr(c, name, None)
    order = np.lexsort((cols["cust"], cols[sort_by]))
    for k in cols:
        cols[k] = cols[k][order]
    return cols


# --------------------------------------------------------------------------------------------------
# formatting and writing


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    s = pl.Series(numbers.astype(np.int64)).cast(pl.String).str.zfill(width)
    return (prefix + s) if prefix else s


def _ts(seconds: np.ndarray, empty: np.ndarray | None = None) -> pl.Series:
    s = pl.Series(pa.array(seconds, mask=empty)) if empty is not None else pl.Series(seconds)
    return pl.from_epoch(s, time_unit="s")


def _labels(labels, codes: np.ndarray, empty: np.ndarray | None = None) -> pl.Series:
    s = pl.Series(list(labels), dtype=pl.String).gather(pl.Series(codes.astype(np.int64)))
    if empty is not None and empty.any():
        s = s.scatter(np.flatnonzero(empty), None)
    return s


def _ints(values: np.ndarray, empty: np.ndarray) -> pl.Series:
    return pl.Series(pa.array(values.astype(np.int64), mask=empty))


def _money(cents: np.ndarray, empty: np.ndarray | None = None) -> pl.Series:
    s = pl.Series(pa.array(cents.astype(np.int64), mask=empty)).cast(pl.Decimal(18, 2))
    return (s / 100).cast(pl.Decimal(18, 2))


@dataclass
class _Widths:
    customer: int
    order: int
    ticket: int
    survey: int


def _width(count: int, minimum: int) -> int:
    return max(minimum, len(str(count)))


def _order_frame(o: dict, rows: np.ndarray, w: _Widths, id_numbers: np.ndarray) -> pl.DataFrame:
    refund = o["refund"][rows]
    return pl.DataFrame(
        {
            "order_id": _ids("O", id_numbers, w.order),
            "customer_id": _ids("C", o["cust"][rows] + 1, w.customer),
            "ordered_at": _ts(o["ts"][rows]),
            "amount": _money(o["cents"][rows]),
            "status": _labels(ORDER_STATUSES, o["status"][rows]),
            "refund_amount": _money(refund, refund == 0),
            "channel": _labels(ORDER_CHANNELS, o["channel"][rows]),
        }
    )


def _ticket_frame(t: dict, rows: np.ndarray, w: _Widths) -> pl.DataFrame:
    first, resolved, sat = t["first"][rows], t["resolved"][rows], t["satisfaction"][rows]
    return pl.DataFrame(
        {
            "ticket_id": _ids("T", rows + 1, w.ticket),
            "customer_id": _ids("C", t["cust"][rows] + 1, w.customer),
            "opened_at": _ts(t["opened"][rows]),
            "first_response_at": _ts(first, first < 0),
            "resolved_at": _ts(resolved, resolved < 0),
            "category": _labels(TICKET_CATEGORIES, t["category"][rows]),
            "priority": _labels(PRIORITIES, t["priority"][rows]),
            "channel": _labels(TICKET_CHANNELS, t["channel"][rows]),
            "satisfaction": _ints(sat, sat == 0),
        }
    )


def _survey_frame(s: dict, rows: np.ndarray, w: _Widths) -> pl.DataFrame:
    nps, csat, ces, comment = (s[k][rows] for k in ("nps", "csat", "ces", "comment"))
    return pl.DataFrame(
        {
            "response_id": _ids("R", rows + 1, w.survey),
            "customer_id": _ids("C", s["cust"][rows] + 1, w.customer),
            "responded_at": _ts(s["ts"][rows]),
            "nps": _ints(nps, nps < 0),
            "csat": _ints(csat, csat < 0),
            "ces": _ints(ces, ces < 0),
            "comment": _labels(COMMENTS, np.maximum(comment, 0), comment < 0),
        }
    )


def _customer_frame(c: _Customers, rows: np.ndarray, w: _Widths) -> pl.DataFrame:
    number = _ids("", rows + 1, w.customer)
    orders = c.orders[rows]
    level = np.searchsorted(np.array([3, 8, 20]), orders, side="right")
    phone_tail = pl.Series((rows + 1) % 1000).cast(pl.String).str.zfill(3)
    return pl.DataFrame(
        {
            "customer_id": "C" + number,
            "signed_up_at": _ts(c.signup[rows]),
            "name": "Customer " + number,
            "email": "c" + number + "@example.com",
            "phone": "+44 7700 900" + phone_tail,  # Ofcom's range reserved for drama
            "region": _labels(REGIONS, c.region[rows]),
            "member_level": _labels(MEMBER_LEVELS, level),
        }
    )


class _Writer:
    """Writes one table as CSV and/or Parquet, a slice at a time, inserting bad rows (CSV only)."""

    def __init__(self, out_dir: Path, stem: str, formats: tuple[str, ...], columns: list[str]):
        self.columns = columns
        self.csv_path = out_dir / f"{stem}.csv" if "csv" in formats else None
        self.parquet_path = out_dir / f"{stem}.parquet" if "parquet" in formats else None
        self.csv = None
        if self.csv_path is not None:
            self.csv = open(self.csv_path, "wb")  # noqa: SIM115 - closed in close()
            self.csv.write((",".join(columns) + "\n").encode())
        self.parquet: pq.ParquetWriter | None = None
        self._pending: list[pa.Table] = []
        self.rows = 0  # data rows, including inserted bad rows
        self.lines = 1  # physical lines written to the CSV so far (the header)
        self.bad: list[tuple[int, int, str]] = []  # (record, physical line, text) of bad rows

    def write(self, frame: pl.DataFrame, inserts: dict[int, list[str]]) -> None:
        """Write `frame`; inserts maps a position 0..height to raw CSV lines written before it."""
        assert frame.columns == self.columns
        if self.csv is not None:
            pos = 0
            for cut in sorted({*inserts, frame.height}):
                if cut > pos:
                    buf = io.BytesIO()
                    frame.slice(pos, cut - pos).write_csv(
                        buf, include_header=False, datetime_format=TS_FORMAT
                    )
                    data = buf.getvalue()
                    self.csv.write(data)
                    self.lines += data.count(b"\n")
                    self.rows += cut - pos
                    pos = cut
                for text in inserts.get(cut, []):
                    self.csv.write((text + "\n").encode())
                    self.lines += 1
                    self.bad.append((self.rows + 2, self.lines, text))  # header is record 1
                    self.rows += 1
        else:
            self.rows += frame.height
        if self.parquet_path is not None:
            self._pending.append(frame.to_arrow())
            if sum(t.num_rows for t in self._pending) >= WRITE_SLICE:
                self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        table = pa.concat_tables(self._pending)
        self._pending = []
        if self.parquet is None:
            self.parquet = pq.ParquetWriter(self.parquet_path, table.schema, compression="zstd")
        self.parquet.write_table(table)

    def close(self) -> None:
        if self.csv is not None:
            self.csv.close()
        if self.parquet_path is not None:
            self._flush()
            if self.parquet is not None:
                self.parquet.close()

    @property
    def paths(self) -> list[Path]:
        return [p for p in (self.csv_path, self.parquet_path) if p is not None]


def _slices(rows: np.ndarray) -> Iterator[np.ndarray]:
    for i in range(0, len(rows), WRITE_SLICE):
        yield rows[i : i + WRITE_SLICE]


def _month_groups(ts: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(YYYY-MM, row indices) per calendar month of sorted epoch seconds."""
    months = (ts // DAY).astype("datetime64[D]").astype("datetime64[M]")
    bounds = np.flatnonzero(np.diff(months.astype(np.int64))) + 1
    starts = np.concatenate([[0], bounds])
    stops = np.concatenate([bounds, [len(ts)]])
    return [(str(months[a]), np.arange(a, b)) for a, b in zip(starts, stops, strict=True)]


# --------------------------------------------------------------------------------------------------
# the public entry points


def generate(
    out_dir,
    customers: int,
    days: int,
    seed: int,
    end: date = DEFAULT_END,
    formats=("csv",),
    split: str | None = None,
    bad_rows: bool = False,
    bad_row_log: list[dict] | None = None,
) -> dict:
    """Write synthetic exports to `out_dir`; return {file name: data rows written}.

    split: None (one file per kind), "monthly" (orders, tickets and surveys per calendar month,
    e.g. orders_2026-10.csv) or "drop" (orders_<end-5>_history.csv with every order up to end - 5
    days plus a daily drop orders_<end>.csv with the last 7 days, overlapping the history by two
    days, where a few of the repeated orders have a later status: refunded). bad_rows inserts the deliberately bad CSV rows listed in
    docs/generator.md into the last file of each kind; their (file, line, reason) are appended to
    bad_row_log when given.
    """
    if customers < 1 or days < 1:
        raise ValueError("customers and days must be positive")
    if split not in (None, "monthly", "drop"):
        raise ValueError(f"unknown split {split!r}; use 'monthly' or 'drop'")
    formats = tuple(formats)
    if not formats or set(formats) - {"csv", "parquet"}:
        raise ValueError(f"formats must be csv and/or parquet, got {formats!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cal = _calendar(end, days)

    cust = _make_customers(customers, seed, cal)
    chunks = [
        _make_chunk(seed, i, lo, min(lo + CHUNK_CUSTOMERS, customers), cust, cal)
        for i, lo in enumerate(range(0, customers, CHUNK_CUSTOMERS))
    ]
    orders = _concat(chunks, "o_", "ts")
    tickets = _concat(chunks, "t_", "opened")
    surveys = _concat(chunks, "s_", "ts")
    del chunks
    widths = _Widths(
        customer=_width(customers, 6),
        order=_width(len(orders["ts"]) + 10, 7),
        ticket=_width(len(tickets["opened"]) + 10, 7),
        survey=_width(len(surveys["ts"]) + 10, 7),
    )
    counts: dict[str, int] = {}
    log = bad_row_log if bad_row_log is not None else []
    bad = _BadRows(orders, tickets, surveys, widths, cal, seed) if bad_rows else None

    def emit(stem, columns, groups, make_frame, kind):
        for i, (name, rows) in enumerate(groups):
            writer = _Writer(out, f"{stem}{name}", formats, columns)
            last = i == len(groups) - 1
            inserts = bad.inserts(kind, rows) if (bad and last and "csv" in formats) else {}
            offset = 0
            try:
                for part in _slices(rows) if len(rows) else [rows]:
                    stop = offset + len(part)
                    local = {
                        k - offset: v
                        for k, v in inserts.items()
                        if offset <= k < stop or k == stop == len(rows)
                    }
                    writer.write(make_frame(part, name), local)
                    offset = stop
            finally:
                writer.close()
            for record, line, text in writer.bad:
                log.append(
                    {
                        "file": writer.csv_path.name,
                        "record": record,
                        "line": line,
                        "reason": bad.reason(text),
                        "row": text,
                    }
                )
            for path in writer.paths:
                counts[path.name] = writer.rows if path.suffix == ".csv" else len(rows)

    # orders
    n_orders = len(orders["ts"])
    all_rows = np.arange(n_orders)
    if split == "monthly":
        order_groups = [("_" + m, r) for m, r in _month_groups(orders["ts"])]
    elif split == "drop":
        day = (orders["ts"] - cal.base) // DAY
        history = all_rows[day <= days - 6]
        drop = all_rows[day >= days - 7]
        # named by export date so that loading in name order applies the drop after the history
        history_name = f"_{(end - timedelta(days=5)).isoformat()}_history"
        order_groups = [(history_name, history), ("_" + end.isoformat(), drop)]
    else:
        order_groups = [("", all_rows)]
    drop_changes = _drop_changes(orders, cal, seed) if split == "drop" else None

    def order_frame(rows, name):
        if drop_changes is not None and name == "_" + end.isoformat():
            o = dict(orders, status=drop_changes[0], refund=drop_changes[1])
        else:
            o = orders
        return _order_frame(o, rows, widths, rows + 1)

    emit("orders", ORDERS.names, order_groups, order_frame, "orders")

    for kind, data, ts_key, frame_fn, contract in (
        ("tickets", tickets, "opened", _ticket_frame, TICKETS),
        ("surveys", surveys, "ts", _survey_frame, SURVEYS),
    ):
        rows = np.arange(len(data[ts_key]))
        groups = (
            [("_" + m, r) for m, r in _month_groups(data[ts_key])]
            if split == "monthly"
            else [("", rows)]
        )
        emit(kind, contract.names, groups, lambda r, _n, d=data, f=frame_fn: f(d, r, widths), kind)

    emit(
        "customers",
        CUSTOMERS.names,
        [("", np.arange(customers))],
        lambda r, _n: _customer_frame(cust, r, widths),
        "customers",
    )
    return counts


def _drop_changes(orders: dict, cal: _Calendar, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Status and refund columns as the daily drop reports them: a few overlap orders refunded since."""
    rng = _rng(seed, 2)
    day = (orders["ts"] - cal.base) // DAY
    overlap = np.flatnonzero(
        (day >= cal.days - 7) & (day <= cal.days - 6) & (orders["status"] == 0)
    )
    changed = np.sort(rng.choice(overlap, size=min(5, len(overlap)), replace=False))
    status, refund = orders["status"].copy(), orders["refund"].copy()
    status[changed] = 2
    refund[changed] = orders["cents"][changed]
    return status, refund


class _BadRows:
    """The deliberately bad rows of --bad-rows: each must be quarantined by the loader.

    They are inserted at a third, a half and two thirds of the last file of their kind; ids of new
    rows continue after the last generated id so they never collide by accident.
    """

    def __init__(self, orders, tickets, surveys, widths: _Widths, cal: _Calendar, seed: int):
        self.orders, self.w, self.cal = orders, widths, cal
        self.kinds: dict[str, str] = {}
        rng = _rng(seed, 3)
        who = (
            int(orders["cust"][rng.integers(0, len(orders["cust"]))]) if len(orders["cust"]) else 0
        )
        self.customer = "C" + str(who + 1).zfill(widths.customer)
        self.end = cal.end.isoformat()
        next_month = (cal.end.replace(day=1) + timedelta(days=32)).replace(day=1)
        self.bad_day = (
            f"{self.end[:8]}{(next_month - timedelta(days=1)).day + 1}"  # e.g. 2026-11-31
        )
        self.next_id = {
            "orders": len(orders["ts"]),
            "tickets": len(tickets["opened"]),
            "surveys": len(surveys["ts"]),
        }
        self.reasons = {
            "ragged": "unparseable line: 3 fields where the header has 7",
            "no_customer": "missing key: empty customer_id",
            "duplicate": "duplicate key: the next line has the same order_id (and another amount)",
            "bad_date": f"bad type: opened_at {self.bad_day} is not a date",
            "critical": "out of range: priority 'critical' (allowed urgent, important, general)",
            "nps11": "out of range: nps 11 (allowed 0..10)",
        }

    def _new_id(self, kind: str, prefix: str, width: int) -> str:
        self.next_id[kind] += 1
        return prefix + str(self.next_id[kind]).zfill(width)

    def inserts(self, kind: str, rows: np.ndarray) -> dict[int, list[str]]:
        n, w, end, c = len(rows), self.w, self.end, self.customer
        at = [n // 3, n // 2, (2 * n) // 3]
        lines: dict[int, list[str]] = {}

        def add(pos: int, key: str, text: str) -> None:
            self.kinds[text] = key
            lines.setdefault(pos, []).append(text)

        if kind == "orders":
            o1 = self._new_id("orders", "O", w.order)
            o2 = self._new_id("orders", "O", w.order)
            add(at[0], "ragged", f"{o1},{c},{end} 10:15:00")
            add(at[1], "no_customer", f"{o2},,{end} 11:30:00,25.00,completed,,web")
            if n:  # an earlier, conflicting copy of the row at the insertion point: the file's
                # later line (the original) is the version to keep, the inserted one is the bad row
                dup = int(rows[at[2]])
                o = self.orders
                add(
                    at[2],
                    "duplicate",
                    ",".join(
                        [
                            "O" + str(dup + 1).zfill(w.order),
                            "C" + str(int(o["cust"][dup]) + 1).zfill(w.customer),
                            _fmt_ts(o["ts"][dup]),
                            f"{(int(o['cents'][dup]) + 1000) / 100:.2f}",
                            "completed",
                            "",
                            "web",
                        ]
                    ),
                )
        elif kind == "tickets":
            t1 = self._new_id("tickets", "T", w.ticket)
            t2 = self._new_id("tickets", "T", w.ticket)
            add(at[0], "bad_date", f"{t1},{c},{self.bad_day} 09:15:00,,,delivery,general,email,")
            add(
                at[1],
                "critical",
                f"{t2},{c},{end} 08:05:00,{end} 08:20:00,,complaint,critical,phone,",
            )
        elif kind == "surveys":
            r1 = self._new_id("surveys", "R", w.survey)
            add(at[1], "nps11", f"{r1},{c},{end} 12:00:00,11,5,,")
        return lines

    def reason(self, text: str) -> str:
        return self.reasons[self.kinds[text]]


def _fmt_ts(seconds) -> str:
    return str(np.datetime64(int(seconds), "s")).replace("T", " ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="loyalty generate",
        description="Write seeded synthetic orders/tickets/surveys/customers exports.",
    )
    parser.add_argument("--customers", type=int, required=True, help="number of customers")
    parser.add_argument("--days", type=int, required=True, help="days of history ending at --end")
    parser.add_argument(
        "--seed", type=int, required=True, help="random seed (same seed, same bytes)"
    )
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument(
        "--end",
        type=date.fromisoformat,
        default=DEFAULT_END,
        help=f"last day of the range, YYYY-MM-DD (default {DEFAULT_END})",
    )
    parser.add_argument("--format", choices=("csv", "parquet", "both"), default="csv")
    parser.add_argument(
        "--split",
        choices=("monthly", "drop"),
        default=None,
        help="monthly files, or a history file plus an overlapping daily drop",
    )
    parser.add_argument(
        "--bad-rows",
        action="store_true",
        help="insert a few deliberately bad CSV rows to exercise quarantine",
    )
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["generate"]:
        args_in = args_in[1:]
    args = parser.parse_args(args_in)
    formats = ("csv", "parquet") if args.format == "both" else (args.format,)
    started = time.perf_counter()
    log: list[dict] = []
    counts = generate(
        args.out,
        args.customers,
        args.days,
        args.seed,
        end=args.end,
        formats=formats,
        split=args.split,
        bad_rows=args.bad_rows,
        bad_row_log=log,
    )
    elapsed = time.perf_counter() - started
    for name, rows in sorted(counts.items()):
        print(f"{name:32s} {rows:>12,d} rows")
    for b in log:
        print(
            f"bad row: {b['file']} record {b['record']} (physical line {b['line']}): {b['reason']}"
        )
    print(f"wrote {len(counts)} files to {args.out} in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
