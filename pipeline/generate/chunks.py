"""Customers are generated in fixed-size chunks, each with its own random stream derived from
(seed, chunk), so the output for a seed never depends on how fast or where it runs. A chunk keeps
only compact numeric columns (about 25 bytes per order); text is formatted while writing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loyalty.generate.calendar import Calendar, random_stream
from loyalty.generate.customers import Customers, draw_spells, draw_traits
from loyalty.generate.orders import make_orders
from loyalty.generate.surveys import make_surveys
from loyalty.generate.tickets import make_tickets

CHUNK_CUSTOMERS = 100_000  # fixed: part of the seed's definition, never derived from the input size


@dataclass
class Chunk:
    """The rows of one chunk per kind, as columns; `cust` is the 0-based customer number."""

    orders: dict[str, np.ndarray]
    tickets: dict[str, np.ndarray]
    surveys: dict[str, np.ndarray]


def make_chunk(seed: int, chunk: int, lo: int, hi: int, cust: Customers, cal: Calendar) -> Chunk:
    """The events of customers lo .. hi-1; fills in their counted orders in `cust.orders`."""
    rng = random_stream(seed, 1, chunk)
    traits = draw_traits(rng, hi - lo)
    spells = draw_spells(rng, cal, cust.signup[lo:hi] - cal.base, traits)
    orders = make_orders(rng, cal, traits, spells)
    tickets = make_tickets(rng, cal, traits, spells, orders)
    surveys = make_surveys(rng, cal, traits, orders, tickets)
    cust.orders[lo:hi] = np.bincount(orders.local[orders.status == 0], minlength=hi - lo)
    ids = np.arange(lo, hi)
    return Chunk(orders.columns(ids), tickets.columns(ids), surveys.columns(ids))


def make_chunks(seed: int, customers: Customers, cal: Calendar) -> list[Chunk]:
    n = len(customers.signup)
    return [
        make_chunk(seed, i, lo, min(lo + CHUNK_CUSTOMERS, n), customers, cal)
        for i, lo in enumerate(range(0, n, CHUNK_CUSTOMERS))
    ]


def concat(chunks: list[Chunk], kind: str, sort_by: str) -> dict[str, np.ndarray]:
    """One kind's columns of every chunk, one column at a time, freeing the chunks' copies, then
    sorted by time (ties: customer)."""
    cols: dict[str, np.ndarray] = {}
    for name in list(getattr(chunks[0], kind)):
        cols[name] = np.concatenate([getattr(c, kind).pop(name) for c in chunks])
    order = np.lexsort((cols["cust"], cols[sort_by]))
    for k in cols:
        cols[k] = cols[k][order]
    return cols
