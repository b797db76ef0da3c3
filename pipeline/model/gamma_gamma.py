"""Gamma-Gamma spend model (Colombo & Jiang 1999; Fader, Hardie & Lee 2005, "RFM and CLV: using
iso-value curves"; Fader & Hardie 2013, note 025): the log-likelihood of a repeat customer's mean
order value, its fit, and the expected order value per customer (docs/model.md)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from scipy.special import digamma, gammaln  # type: ignore[import-untyped]

from loyalty.model.fit import as_weights, maximise
from loyalty.model.types import Fit, GammaGammaParams

ArrayLike = np.ndarray | Sequence[float] | float


def log_likelihood(
    params: GammaGammaParams, frequency: ArrayLike, monetary: ArrayLike
) -> np.ndarray:
    """ln f(m_x | p, q, v, x) per repeat customer: m_x, the mean of x order values, is
    gamma(px, nu x) given nu, and nu ~ gamma(q, v)."""
    ll, _ = _ll_and_gradient(np.log([params.p, params.q, params.v]), frequency, monetary)
    return ll


def _ll_and_gradient(
    z: np.ndarray, frequency: ArrayLike, monetary: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    p, q, v = np.exp(z)
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary, dtype=float)
    px = p * x
    ln_vmx = np.log(v + m * x)
    ln_mx = np.log(m) + np.log(x)
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + px * ln_mx
        - np.log(m)
        - (px + q) * ln_vmx
    )
    psi = digamma(px + q)
    d_p = x * (psi - digamma(px) + ln_mx - ln_vmx)
    d_q = psi - digamma(q) + np.log(v) - ln_vmx
    d_v = q / v - (px + q) / (v + m * x)
    return ll, np.stack([d_p * p, d_q * q, d_v * v], axis=-1)


def fit_gamma_gamma(
    frequency: ArrayLike, monetary: ArrayLike, weight: ArrayLike | None = None
) -> Fit:
    """Maximum-likelihood Gamma-Gamma parameters from repeat customers: frequency = repeat purchase
    days (> 0), monetary = mean value of those days (> 0). Other rows are left out (the message
    counts them). A fit with q <= 1 is not usable (the mean order value does not exist)."""
    started = time.perf_counter()
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary, dtype=float)
    w = as_weights(x.size, None if weight is None else np.asarray(weight, dtype=float))
    keep = (x > 0) & (m > 0) & np.isfinite(m) & (w > 0)
    left_out = int(round(w[~keep].sum()))
    x, m, w = x[keep], m[keep], w[keep]
    n = int(round(w.sum()))
    note = (
        f"; {left_out} rows without repeat purchases or positive value left out" if left_out else ""
    )
    if n == 0:
        return Fit(
            None, 0, 0, float("nan"), False, 0.0, "no repeat buyers with positive value" + note
        )
    scale = float(np.average(m, weights=w))  # fit in units of the mean spend; v scales back
    ms, total = m / scale, w.sum()

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = _ll_and_gradient(z, x, ms)
        return float(w @ ll / total), (w @ grad) / total

    starts = [(0.0, np.log(2.0), 0.0), (np.log(5.0), np.log(4.0), np.log(4.0)), (1.0, 0.5, 1.5)]
    best = maximise(objective, starts)
    p, q, v_scaled = np.exp(best.log_params)
    params = GammaGammaParams(float(p), float(q), float(v_scaled * scale))
    total_ll = float(w @ log_likelihood(params, x, m))
    converged, message = best.converged, best.message
    if converged and q <= 1:
        converged, message = False, f"q = {q:.3f} <= 1: the mean order value does not exist"
    return Fit(
        params if converged else None,
        n,
        n,
        total_ll,
        converged,
        time.perf_counter() - started,
        message + note,
    )


def expected_order_value(
    params: GammaGammaParams,
    frequency: ArrayLike,
    monetary: ArrayLike,
    population_mean: float | None = None,
) -> np.ndarray:
    """E[M | x, m_x] = p (v + x m_x) / (p x + q - 1): the customer's own mean shrunk toward the
    population mean p v / (q - 1). For x = 0 (monetary may be NaN) it is the population mean, or
    `population_mean` when given."""
    p, q, v = params.p, params.q, params.v
    x, m = np.broadcast_arrays(
        np.asarray(frequency, dtype=float), np.asarray(monetary, dtype=float)
    )
    mean = p * v / (q - 1) if population_mean is None else float(population_mean)
    repeat = x > 0
    own = p * (v + x * np.where(repeat, m, 0.0)) / (p * x + q - 1)
    return np.where(repeat, own, mean)
