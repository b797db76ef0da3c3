"""Seeded synthetic exports (orders, tickets, surveys, customers) with realistic skew, at any size.

The model is documented in docs/generator.md. Everything is vectorised with numpy: customers are
processed in fixed-size chunks, each with its own random stream derived from (seed, chunk), so the
output for a seed never depends on how fast or where it runs (`chunks`). Only compact numeric
columns are kept in memory (about 25 bytes per order); text is formatted by polars one slice at a
time while writing (`frames`, `writer`).

    python -m loyalty.generate --customers 200000 --days 730 --seed 1 --out /tmp/gen

Modules: `calendar` (days, seasonality, random streams), `customers` (signup, traits, active
spells), `orders`, `tickets`, `surveys` (one chunk's events of each kind), `chunks`, `frames`,
`writer`, `bad_rows` (--bad-rows), `exports` (`generate`), `cli` (`main`).
"""

from __future__ import annotations

from loyalty.generate.calendar import DEFAULT_END
from loyalty.generate.chunks import CHUNK_CUSTOMERS
from loyalty.generate.cli import main
from loyalty.generate.exports import generate
from loyalty.generate.writer import TS_FORMAT, WRITE_SLICE

__all__ = ["CHUNK_CUSTOMERS", "DEFAULT_END", "TS_FORMAT", "WRITE_SLICE", "generate", "main"]
