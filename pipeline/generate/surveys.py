"""Survey answers of one chunk: after some completed orders and some resolved tickets; the scores
follow the customer's latent satisfaction (which also shortened their lifetime) minus a penalty for
slow service."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loyalty.generate.calendar import DAY, Calendar
from loyalty.generate.customers import Traits
from loyalty.generate.labels import COMMENTS_DETRACTOR, COMMENTS_PASSIVE, COMMENTS_PROMOTER
from loyalty.generate.orders import Orders
from loyalty.generate.tickets import Tickets


@dataclass
class Surveys:
    local: np.ndarray  # the respondent, as an index into the chunk's customers
    ts: np.ndarray  # epoch seconds
    nps: np.ndarray  # -1 = empty
    csat: np.ndarray  # -1 = empty
    ces: np.ndarray  # -1 = empty
    comment: np.ndarray  # index into labels.COMMENTS; -1 = empty

    def columns(self, ids: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "cust": ids[self.local].astype(np.int32),
            "ts": self.ts,
            "nps": self.nps,
            "csat": self.csat,
            "ces": self.ces,
            "comment": self.comment,
        }


def make_surveys(
    rng: np.random.Generator, cal: Calendar, traits: Traits, orders: Orders, tickets: Tickets
) -> Surveys:
    local, ts, penalty = _occasions(rng, cal, orders, tickets)
    nps, csat, ces, comment = _answers(rng, traits.sat[local], penalty)
    return Surveys(local, ts, nps, csat, ces, comment)


def _occasions(
    rng: np.random.Generator, cal: Calendar, orders: Orders, tickets: Tickets
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(respondent, time, service penalty) of every answer inside the range."""
    so = np.flatnonzero((orders.status == 0) & (rng.random(len(orders.local)) < 0.06))
    st = np.flatnonzero((tickets.resolved >= 0) & (rng.random(len(tickets.local)) < 0.25))
    local = np.concatenate([orders.local[so], tickets.local[st]])
    ts = np.concatenate(
        [
            orders.ts[so] + rng.integers(DAY, 10 * DAY, len(so)),
            tickets.resolved[st] + rng.integers(1800, 3 * DAY, len(st)),
        ]
    )
    penalty = np.concatenate(
        [np.zeros(len(so)), 1.5 * np.clip(tickets.sla_ratio[st] - 0.5, 0, 2.5)]
    )
    # a few customers answer twice within days (a reminder e-mail answered again)
    twice = np.flatnonzero(rng.random(len(local)) < 0.03)
    local = np.concatenate([local, local[twice]])
    ts = np.concatenate([ts, ts[twice] + rng.integers(DAY, 12 * DAY, len(twice))])
    penalty = np.concatenate([penalty, penalty[twice]])
    keep = ts <= cal.end_ts
    return local[keep], ts[keep], penalty[keep]


def _answers(
    rng: np.random.Generator, sat: np.ndarray, penalty: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(nps, csat, ces, comment) of answers by customers of latent satisfaction `sat`; some
    questions are left empty, and a fifth of the answers carry a comment matching the nps band."""
    ns = len(sat)
    nps = np.clip(np.round(7.9 + 1.7 * sat - penalty + rng.normal(0, 1.2, ns)), 0, 10)
    csat = np.clip(np.round(4.0 + 0.7 * sat - 0.5 * penalty + rng.normal(0, 0.6, ns)), 1, 5)
    ces = np.clip(np.round(2.8 - 0.8 * sat + 0.6 * penalty + rng.normal(0, 0.9, ns)), 1, 7)
    s_nps = np.where(rng.random(ns) < 0.1, -1, nps).astype(np.int8)
    s_csat = np.where(rng.random(ns) < 0.35, -1, csat).astype(np.int8)
    s_ces = np.where(rng.random(ns) < 0.55, -1, ces).astype(np.int8)
    bucket = np.where(nps >= 9, 0, np.where(nps >= 7, 1, 2))
    sizes = np.array([len(COMMENTS_PROMOTER), len(COMMENTS_PASSIVE), len(COMMENTS_DETRACTOR)])
    offsets = np.array([0, sizes[0], sizes[0] + sizes[1]])
    pick = offsets[bucket] + (rng.random(ns) * sizes[bucket]).astype(np.int64)
    comment = np.where(rng.random(ns) < 0.2, pick, -1).astype(np.int16)
    return s_nps, s_csat, s_ces, comment
