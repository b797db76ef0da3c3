"""Customers: when they sign up and where they live (the whole base), and, per chunk, the latent
traits that drive their behaviour and the spells in which they are active."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loyalty.generate.calendar import DAY, Calendar, choice, random_stream
from loyalty.generate.labels import REGION_P


@dataclass
class Customers:
    signup: np.ndarray  # epoch seconds, ascending (ids follow signup order)
    region: np.ndarray
    orders: np.ndarray  # filled in while generating orders: counted orders per customer


def make_customers(n: int, seed: int, cal: Calendar) -> Customers:
    rng = random_stream(seed, 0)
    existing = rng.random(n) < 0.25  # already customers before the export range starts
    # arrivals accelerate over time: density proportional to 1 + 0.5 x over the range
    x = (-1 + np.sqrt(1 + 1.25 * rng.random(n))) / 0.5
    day = np.where(existing, -rng.integers(1, 731, n), np.floor(x * cal.days)).astype(np.int64)
    day = np.minimum(day, cal.days - 1)
    seconds = rng.integers(7 * 3600, 23 * 3600, n)
    signup = np.sort(cal.base + day * DAY + seconds)
    region = choice(rng, n, REGION_P)
    return Customers(signup, region, np.zeros(n, np.int32))


@dataclass
class Traits:
    """Per customer of a chunk (indexed 0 .. n-1)."""

    sat: np.ndarray  # latent satisfaction: drives survey scores, ticket rates and lifetime
    rate: np.ndarray  # orders per year while active
    spend: np.ndarray  # typical basket, GBP
    pref_channel: np.ndarray  # order channel code
    one_time: np.ndarray  # buys once and never again
    lifetime: np.ndarray  # days active after the first purchase


def draw_traits(rng: np.random.Generator, n: int) -> Traits:
    sat = rng.standard_normal(n)
    rate = rng.lognormal(np.log(3.6), 0.95, n)
    spend = rng.lognormal(np.log(30.0), 0.45, n)
    pref_channel = choice(rng, n, (0.5, 0.35, 0.15))
    one_time = rng.random(n) < 0.40 - 0.08 * np.clip(sat, -2, 2)
    lifetime = np.where(one_time, 0.0, rng.exponential(450.0 * np.exp(0.45 * sat), n))
    return Traits(sat, rate, spend, pref_channel, one_time, lifetime)


@dataclass
class Spells:
    """When each customer of a chunk is active, as day indices of the range: spell 1 [a1, b1],
    and for reactivated customers spell 2 [a2, b2] after a gap."""

    is_new: np.ndarray  # signed up inside the range
    first_ts: np.ndarray  # first purchase (new customers), seconds from the range start
    has1: np.ndarray  # spell 1 starts inside the range
    a1: np.ndarray
    b1: np.ndarray
    churned: np.ndarray  # spell 1 ends before the range does
    react: np.ndarray  # comes back for spell 2
    a2: np.ndarray
    b2: np.ndarray


def draw_spells(
    rng: np.random.Generator, cal: Calendar, signup_rel: np.ndarray, traits: Traits
) -> Spells:
    """Spell 1 starts with the first order (new customers) or at the range start (existing ones);
    some churned customers come back after a gap, with a purchase and a second (shorter) spell.
    `signup_rel`: signup times in seconds from the range start."""
    n = len(signup_rel)
    last = cal.days - 1
    is_new = signup_rel >= 0
    first_lag = np.where(
        rng.random(n) < 0.6, rng.exponential(1800, n), rng.exponential(12 * DAY, n)
    )
    first_ts = signup_rel + first_lag.astype(np.int64)
    a1 = np.where(is_new, first_ts // DAY, 0)
    has1 = a1 <= last
    a1 = np.minimum(a1, last)
    b1 = np.minimum(a1 + traits.lifetime.astype(np.int64), last)
    churned = has1 & (a1 + traits.lifetime < last)
    react = churned & (rng.random(n) < 0.2)
    a2 = b1 + np.maximum(45, rng.lognormal(np.log(120), 0.6, n)).astype(np.int64)
    react &= a2 <= last
    a2 = np.minimum(a2, last)
    b2 = np.minimum(
        a2 + rng.exponential(220.0 * np.exp(0.3 * traits.sat), n).astype(np.int64), last
    )
    return Spells(is_new, first_ts, has1, a1, b1, churned, react, a2, b2)
