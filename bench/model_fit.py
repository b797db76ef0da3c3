"""Time the customer-value model's fit on simulated customers (docs/model.md, "Speed").

    .venv/bin/python -m bench.model_fit            # 3,000,000 customers
    .venv/bin/python -m bench.model_fit 500000

Draws N customers from known BG/NBD and Gamma-Gamma parameters (day units, first purchases up to
two years back), fits both models, scores every customer for 90 days, and prints the seconds of
each step, the distinct (frequency, recency, T) rows, the estimates and the peak memory (RSS)."""

from __future__ import annotations

import sys
import time

import numpy as np
import psutil

from loyalty.model import (
    BgNbdParams,
    GammaGammaParams,
    expected_order_value,
    expected_orders,
    fit_bg_nbd,
    fit_gamma_gamma,
    p_alive,
)
from loyalty.model.bg_nbd import aggregate
from loyalty.model.simulate import simulate

TRUE_BG = BgNbdParams(r=0.25, alpha=28.0, a=0.8, b=2.5)
TRUE_GG = GammaGammaParams(p=6.25, q=3.74, v=15.44)


def main(n: int = 3_000_000) -> None:
    proc = psutil.Process()
    peak = proc.memory_info().rss

    def sample() -> None:
        nonlocal peak
        peak = max(peak, proc.memory_info().rss)

    c = simulate(n, TRUE_BG, TRUE_GG, np.random.default_rng(2005))
    sample()
    t0 = time.perf_counter()
    bg = fit_bg_nbd(c.frequency, c.recency, c.T)
    sample()
    t1 = time.perf_counter()
    gg = fit_gamma_gamma(c.frequency, c.monetary)
    sample()
    t2 = time.perf_counter()
    assert isinstance(bg.params, BgNbdParams) and isinstance(gg.params, GammaGammaParams)
    alive = p_alive(bg.params, c.frequency, c.recency, c.T)
    orders = expected_orders(bg.params, 90, c.frequency, c.recency, c.T)
    value = orders * expected_order_value(gg.params, c.frequency, c.monetary)
    sample()
    t3 = time.perf_counter()
    rows = len(aggregate(c.frequency, c.recency, c.T)[0])
    print(f"customers {n:,}, repeat {bg.n_repeat:,}, distinct (x, t_x, T) rows {rows:,}")
    print(f"BG/NBD fit     {t1 - t0:6.2f} s  {bg.params}  converged={bg.converged}")
    print(f"Gamma-Gamma    {t2 - t1:6.2f} s  {gg.params}  converged={gg.converged}")
    print(
        f"score 90 days  {t3 - t2:6.2f} s  mean p_alive {alive.mean():.3f}, CLV {value.sum():,.0f}"
    )
    print(f"total          {t3 - t0:6.2f} s  peak RSS {peak / 2**30:.2f} GiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3_000_000)
