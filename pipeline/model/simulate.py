"""Customers drawn from known BG/NBD and Gamma-Gamma parameters, for the tests and the benchmark
(bench/model_fit.py): the fit must recover the parameters the data came from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loyalty.model.types import BgNbdParams, GammaGammaParams


@dataclass(frozen=True)
class Customers:
    frequency: np.ndarray  # repeat purchases in (0, T]
    recency: np.ndarray  # time of the last repeat purchase (0 without one)
    T: np.ndarray  # time from the first purchase to the end of the calibration period
    monetary: np.ndarray  # mean value of the repeat purchases (NaN without one)


def simulate(
    n: int,
    bg: BgNbdParams,
    gg: GammaGammaParams,
    rng: np.random.Generator,
    t_min: int = 30,
    t_max: int = 730,
    whole_days: bool = True,
) -> Customers:
    """`n` customers whose first purchase lies t_min..t_max days before the end of the period.
    Each has a rate lambda ~ gamma(r, rate alpha) and a drop-out chance p ~ beta(a, b); purchases
    arrive as a Poisson process while alive and the customer leaves after each repeat purchase
    with chance p. With `whole_days` T is an integer and recency is rounded to whole days."""
    T = rng.integers(t_min, t_max + 1, size=n).astype(float)
    lam = rng.gamma(bg.r, 1.0 / bg.alpha, size=n)
    p = rng.beta(bg.a, bg.b, size=n)
    purchases = rng.poisson(lam * T)  # repeat purchases in (0, T] had the customer stayed
    last_alive = rng.geometric(p)  # the repeat purchase after which the customer leaves
    x = np.minimum(purchases, last_alive)
    # the x-th of N uniform arrival times on (0, T] is T * beta(x, N - x + 1)
    has = x > 0
    tx = np.zeros(n)
    tx[has] = T[has] * rng.beta(x[has], purchases[has] - x[has] + 1)
    if whole_days:
        tx = np.minimum(np.round(tx), T)
    nu = rng.gamma(gg.q, 1.0 / gg.v, size=n)
    spend_total = rng.gamma(np.where(has, gg.p * x, 1.0), 1.0 / nu)
    monetary = np.where(has, spend_total / np.maximum(x, 1), np.nan)
    return Customers(x.astype(float), tx, T, monetary)
