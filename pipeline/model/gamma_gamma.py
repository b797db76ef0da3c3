"""Gamma-Gamma spend model (Colombo & Jiang 1999; Fader, Hardie & Lee 2005, "RFM and CLV: using
iso-value curves"; Fader & Hardie 2013, note 025): the log-likelihood of a repeat customer's mean
order value, its fit, and the expected order value per customer (docs/model.md)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

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


def _mean_objective(
    x: np.ndarray, m: np.ndarray, w: np.ndarray
) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """The weighted mean of `_ll_and_gradient` over rows (x, m) with weights w, as a function of
    the log-parameters: the same sums, regrouped. The gamma and digamma terms depend on x alone and
    are summed per distinct x; ln(m x) and ln m do not depend on the parameters and are summed
    once; per row only ln(v + m x) and 1 / (v + m x) remain."""
    total = float(w.sum())
    ux, ix = np.unique(x, return_inverse=True)
    ix = ix.reshape(-1)
    w_x = np.bincount(ix, weights=w, minlength=len(ux))
    mx = m * x
    wx = w * x
    ln_mx = np.log(m) + np.log(x)
    sum_wx_ln_mx = float(wx @ ln_mx)
    sum_w_ln_m = float(w @ np.log(m))

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, v = np.exp(z)
        px = p * ux
        ln_v = np.log(v)
        ln_vmx = np.log(v + mx)
        inv_vmx = 1.0 / (v + mx)
        wx_ln_vmx, w_ln_vmx = float(wx @ ln_vmx), float(w @ ln_vmx)
        wx_inv, w_inv = float(wx @ inv_vmx), float(w @ inv_vmx)
        psi = digamma(px + q)
        ll = (
            w_x @ (gammaln(px + q) - gammaln(px) - gammaln(q) + q * ln_v)
            + p * sum_wx_ln_mx
            - sum_w_ln_m
            - (p * wx_ln_vmx + q * w_ln_vmx)
        )
        d_p = (w_x * ux) @ (psi - digamma(px)) + sum_wx_ln_mx - wx_ln_vmx
        d_q = w_x @ (psi - digamma(q)) + total * ln_v - w_ln_vmx
        d_v = total * q / v - (p * wx_inv + q * w_inv)
        grad = np.array([d_p * p, d_q * q, d_v * v]) / total
        return float(ll / total), grad

    return objective


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
    ms = m / scale

    objective = _mean_objective(x, ms, w)
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
