"""Optional returns (`--returns SHARE`; default 0: none, so the shipped sample does not change).

A share of the completed orders comes back: each picked order gets a return row (status `returned`,
a negative amount of 20–100 % of what was paid, `original_order_id` naming the order, same customer
and channel) 1 to 30 days later, never after the last day of the range. The rows join the orders in
time order, so order ids (their row numbers) are those of the merged list.
"""

from __future__ import annotations

import numpy as np

from loyalty.generate.calendar import DAY, Calendar, random_stream
from loyalty.generate.labels import ORDER_STATUSES
from loyalty.vocab import COUNTED_STATUS, RETURN_STATUS

COMPLETED = ORDER_STATUSES.index(COUNTED_STATUS)
RETURNED = ORDER_STATUSES.index(RETURN_STATUS)
# random stream 4 (0-3 are the customers, chunks, daily drop and bad rows)
STREAM = 4


def add_returns(
    orders: dict[str, np.ndarray], cal: Calendar, seed: int, share: float
) -> dict[str, np.ndarray]:
    """`orders` with the return rows merged in by time; "original" holds, per row, the row number
    of the order a return returns (-1 on every other row)."""
    rng = random_stream(seed, STREAM)
    completed = np.flatnonzero(orders["status"] == COMPLETED)
    picked = completed[rng.random(len(completed)) < share]
    ts = orders["ts"][picked] + rng.integers(1, 31, len(picked)) * DAY
    kept = ts <= cal.base + cal.days * DAY - 1
    picked, ts = picked[kept], ts[kept]
    back = rng.uniform(0.2, 1.0, len(picked))
    n = len(picked)
    new = {
        "cust": orders["cust"][picked],
        "ts": ts,
        "cents": -np.maximum(1, np.round(orders["cents"][picked] * back)),
        "refund": np.zeros(n),
        "status": np.full(n, RETURNED),
        "channel": orders["channel"][picked],
    }
    merged = np.argsort(np.concatenate([orders["ts"], ts]), kind="stable")
    out = {k: np.concatenate([v, new[k].astype(v.dtype)])[merged] for k, v in orders.items()}
    # where each old row went, so a return names its order's row number in the merged list
    position = np.empty(len(merged), dtype=np.int64)
    position[merged] = np.arange(len(merged))
    original = np.concatenate([np.full(len(orders["ts"]), -1), position[picked]])
    out["original"] = original[merged]
    return out
