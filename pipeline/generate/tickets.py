"""Service tickets of one chunk: some orders cause one (refunds and cancellations more often,
unhappy customers more often), and some unhappy customers open a burst of complaints before they
churn. Priority, response and resolution times, and a satisfaction score follow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loyalty.generate.calendar import DAY, Calendar, choice
from loyalty.generate.customers import Spells, Traits
from loyalty.generate.labels import SLA_HOURS
from loyalty.generate.orders import Orders


@dataclass
class Tickets:
    local: np.ndarray  # the customer, as an index into the chunk's customers
    opened: np.ndarray  # epoch seconds
    first: np.ndarray  # first response; -1 = empty
    resolved: np.ndarray  # -1 = empty
    category: np.ndarray  # code into labels.TICKET_CATEGORIES (0: complaint)
    priority: np.ndarray  # code into labels.PRIORITIES
    channel: np.ndarray  # code into labels.TICKET_CHANNELS
    satisfaction: np.ndarray  # 1..5; 0 = empty
    sla_ratio: np.ndarray  # resolution time / SLA hours (3 when unresolved)

    def columns(self, ids: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "cust": ids[self.local].astype(np.int32),
            "opened": self.opened,
            "first": self.first,
            "resolved": self.resolved,
            "category": self.category,
            "priority": self.priority,
            "channel": self.channel,
            "satisfaction": self.satisfaction,
        }


def make_tickets(
    rng: np.random.Generator, cal: Calendar, traits: Traits, spells: Spells, orders: Orders
) -> Tickets:
    o_local, o_opened, o_category = _tickets_from_orders(rng, traits, orders)
    b_local, b_opened = _complaint_bursts(rng, cal, traits, spells)
    local = np.concatenate([o_local, b_local])
    opened = np.concatenate([o_opened, b_opened])
    category = np.concatenate([o_category, np.zeros(len(b_local), np.int8)])
    burst = np.concatenate([np.zeros(len(o_local), bool), np.ones(len(b_local), bool)])
    keep = opened <= cal.end_ts
    local, opened, category, burst = local[keep], opened[keep], category[keep], burst[keep]
    return _handle(rng, cal, traits, local, opened, category, burst)


def _tickets_from_orders(
    rng: np.random.Generator, traits: Traits, orders: Orders
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, opened, category) of the tickets orders cause."""
    sat_of_buyer = traits.sat[orders.local]
    p_ticket = np.where(
        orders.status == 0, 0.045 * np.exp(-0.5 * np.clip(sat_of_buyer, -2, 2)), 0.35
    )
    p_ticket = np.where(orders.partial, 0.5, p_ticket)
    tk = np.flatnonzero(rng.random(len(orders.local)) < p_ticket)
    opened = orders.ts[tk] + rng.exponential(2.5 * DAY, len(tk)).astype(np.int64) + 600
    category = choice(rng, len(tk), (0.15, 0.35, 0.15, 0.2, 0.15))
    refunded_order = orders.status[tk] != 0
    category = np.where(refunded_order & (rng.random(len(tk)) < 0.5), 0, category).astype(np.int8)
    return orders.local[tk], opened, category


def _complaint_bursts(
    rng: np.random.Generator, cal: Calendar, traits: Traits, spells: Spells
) -> tuple[np.ndarray, np.ndarray]:
    """(customer, opened) of 4-6 complaints in the 25 days before some churners' last day."""
    s, n = spells, len(traits.sat)
    burst = (
        s.churned
        & (traits.sat < -0.3)
        & (s.b1 - s.a1 >= 30)
        & (s.b1 >= 25)
        & (rng.random(n) < 0.12)
    )
    burst_idx = np.flatnonzero(burst)
    n_burst = rng.integers(4, 7, len(burst_idx))
    local = np.repeat(burst_idx, n_burst)
    opened = (s.b1[local] - rng.integers(0, 25, len(local))) * DAY + rng.integers(
        8 * 3600, 21 * 3600, len(local)
    )
    return local, opened + cal.base


def _handle(
    rng: np.random.Generator,
    cal: Calendar,
    traits: Traits,
    local: np.ndarray,
    opened: np.ndarray,
    category: np.ndarray,
    burst: np.ndarray,
) -> Tickets:
    """Priority, channel, response and resolution (slower for bursts and unhappy customers), and
    the satisfaction score, lower the longer the ticket took against its SLA."""
    end_ts = cal.end_ts
    nt = len(local)
    complaint = category == 0
    priority = np.where(
        complaint, choice(rng, nt, (0.3, 0.45, 0.25)), choice(rng, nt, (0.1, 0.3, 0.6))
    ).astype(np.int8)
    channel = choice(rng, nt, (0.45, 0.3, 0.25))
    sat = traits.sat[local]
    slow = np.where(burst, 1.8, 1.0) * np.exp(-0.15 * np.clip(sat, -2, 2))
    first_h = rng.lognormal(np.log(np.array([1.5, 6.0, 20.0])[priority]), 0.9) * slow
    resolve_h = first_h + rng.lognormal(np.log(np.array([5.0, 16.0, 40.0])[priority]), 0.8) * slow
    first = opened + (first_h * 3600).astype(np.int64) + 60
    resolved = opened + (resolve_h * 3600).astype(np.int64) + 120
    never = rng.random(nt) < 0.03
    resolved = np.where(never | (resolved > end_ts), -1, resolved)
    first = np.where(first > end_ts, -1, first)
    is_resolved = resolved >= 0
    ratio = np.where(is_resolved, (resolved - opened) / 3600.0 / SLA_HOURS[priority], 3.0)
    answered = rng.random(nt) < np.where(is_resolved, 0.45, 0.15)
    score = 4.7 - 1.1 * np.minimum(ratio, 3) + 0.35 * sat + rng.normal(0, 0.7, nt)
    satisfaction = np.where(answered, np.clip(np.round(score), 1, 5), 0).astype(np.int8)
    return Tickets(local, opened, first, resolved, category, priority, channel, satisfaction, ratio)
