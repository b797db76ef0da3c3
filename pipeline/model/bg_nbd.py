"""BG/NBD, "Counting your customers the easy way" (Fader, Hardie & Lee 2005): the log-likelihood
and its gradient, vectorised, the fit on rows aggregated to distinct (frequency, recency, T), and
the per-customer quantities P(alive) and expected orders. Day units throughout (docs/model.md)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1  # type: ignore[import-untyped]

from loyalty.model.fit import as_weights, maximise
from loyalty.model.types import BgNbdParams, Fit

ArrayLike = np.ndarray | Sequence[float] | float


def _arrays(*values: ArrayLike) -> list[np.ndarray]:
    return [np.asarray(v, dtype=float) for v in values]


def log_likelihood(
    params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """ln L(r, alpha, a, b | x, t_x, T) per customer (the paper's equation 6, in the log-sum-exp
    form ln A1 + ln A2 + ln(exp(ln A3) + [x > 0] exp(ln A4)))."""
    ll, _ = _ll_and_gradient(
        np.log([params.r, params.alpha, params.a, params.b]), frequency, recency, T
    )
    return ll


def _ll_and_gradient(
    z: np.ndarray,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    by_x: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log-likelihood and its gradient (rows x 4) w.r.t. the log-parameters z. The terms
    that depend on the frequency alone (gamma and digamma of r + x, b + x, a + b + x) are computed
    once per distinct frequency (`by_x`: the distinct values and each row's index into them, made
    here when not given) and spread to the rows: the same values, a few dozen evaluations instead
    of one per row."""
    r, alpha, a, b = np.exp(z)
    x, tx, t_cal = _arrays(frequency, recency, T)
    ux, ix = by_x if by_x is not None else np.unique(x, return_inverse=True)
    repeat = x > 0
    ln_a1 = gammaln(r + ux)[ix] - gammaln(r) + r * np.log(alpha)
    ln_a2 = gammaln(a + b) + gammaln(b + ux)[ix] - gammaln(b) - gammaln(a + b + ux)[ix]
    ln_alpha_t, ln_alpha_tx = np.log(alpha + t_cal), np.log(alpha + tx)
    ln_a3 = -(r + x) * ln_alpha_t
    b_x1 = np.where(repeat, b + x - 1, 1.0)
    ln_a4 = np.where(repeat, np.log(a) - np.log(b_x1) - (r + x) * ln_alpha_tx, -np.inf)
    tail = np.logaddexp(ln_a3, ln_a4)
    ll = ln_a1 + ln_a2 + tail
    w3 = np.exp(ln_a3 - tail)
    w4 = np.exp(ln_a4 - tail)  # 0 where x == 0
    d_r = digamma(r + ux)[ix] - digamma(r) + np.log(alpha) - w3 * ln_alpha_t - w4 * ln_alpha_tx
    d_alpha = r / alpha - w3 * (r + x) / (alpha + t_cal) - w4 * (r + x) / (alpha + tx)
    psi_ab, psi_abx = digamma(a + b), digamma(a + b + ux)[ix]
    d_a = psi_ab - psi_abx + w4 / a
    d_b = psi_ab + digamma(b + ux)[ix] - digamma(b) - psi_abx - w4 / b_x1
    grad = np.stack([d_r * r, d_alpha * alpha, d_a * a, d_b * b], axis=-1)
    return ll, grad


def aggregate(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weight: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (frequency, recency, T) rows and their summed weights (counts when not given)."""
    x, tx, t_cal = _arrays(frequency, recency, T)
    w = as_weights(x.size, None if weight is None else np.asarray(weight, dtype=float))
    cols = np.column_stack([x, tx, t_cal])
    whole = bool(np.all(cols == np.round(cols))) and cols.size > 0
    if whole and cols.min() >= 0 and cols.max() < 2**20:
        ints = cols.astype(np.int64)
        key = (ints[:, 0] << 42) | (ints[:, 1] << 21) | ints[:, 2]
        keys, inverse = np.unique(key, return_inverse=True)
        rows = np.column_stack([keys >> 42, (keys >> 21) & (2**21 - 1), keys & (2**21 - 1)])
        rows = rows.astype(float)
    else:
        rows, inverse = np.unique(cols, axis=0, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=w, minlength=len(rows))
    return rows[:, 0], rows[:, 1], rows[:, 2], counts


def fit_bg_nbd(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weight: ArrayLike | None = None
) -> Fit:
    """Maximum-likelihood BG/NBD parameters (day units when the inputs are in days). Rows may be
    one per customer or already aggregated to distinct (x, t_x, T) with counts as `weight`."""
    started = time.perf_counter()
    x, tx, t_cal, w = aggregate(frequency, recency, T, weight)
    keep = w > 0
    x, tx, t_cal, w = x[keep], tx[keep], t_cal[keep], w[keep]
    n_customers, n_repeat = int(round(w.sum())), int(round(w[x > 0].sum()))
    if n_repeat == 0 or np.any(tx > t_cal) or np.any(x < 0):
        why = "no repeat buyers" if n_repeat == 0 else "recency > T or negative frequency"
        return Fit(None, n_customers, n_repeat, float("nan"), False, 0.0, why)
    # fit in a time unit where the longest T is 10 (well-scaled start); alpha scales back after
    scale = float(t_cal.max()) / 10.0 or 1.0
    xs, txs, ts, total = x, tx / scale, t_cal / scale, w.sum()

    by_x = np.unique(xs, return_inverse=True)

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = _ll_and_gradient(z, xs, txs, ts, by_x)
        return float(w @ ll / total), (w @ grad) / total

    starts = [
        (0.0, 0.0, 0.0, 0.0),
        (np.log(0.3), 0.0, np.log(0.5), np.log(3.0)),
        (1.0, 2.0, -1.0, 1.0),
    ]
    best = maximise(objective, starts)
    r, alpha_scaled, a, b = np.exp(best.log_params)
    params = BgNbdParams(float(r), float(alpha_scaled * scale), float(a), float(b))
    total_ll = float(w @ log_likelihood(params, x, tx, t_cal))
    seconds = time.perf_counter() - started
    return Fit(
        params if best.converged else None,
        n_customers,
        n_repeat,
        total_ll,
        best.converged,
        seconds,
        best.message,
    )


def p_alive(
    params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """P(alive | x, t_x, T): 1 for customers without a repeat purchase (the model's convention),
    else 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, tx, t_cal = np.broadcast_arrays(*_arrays(frequency, recency, T))
    b_x1 = np.where(x > 0, b + x - 1, 1.0)
    log_odds_dead = (
        np.log(a) - np.log(b_x1) + (r + x) * (np.log(alpha + t_cal) - np.log(alpha + tx))
    )
    return np.where(x > 0, expit(-log_odds_dead), 1.0)


def expected_orders_if_alive(
    params: BgNbdParams, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """E[Y(t) | alive, x, t_x, T] = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t))
    ** (r + x) * 2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t))). The hypergeometric term is
    computed through Euler's transformation, (1 - z) ** (a - 1) * 2F1(a + b - 1 - r, a - 1;
    a + b + x - 1; z), which stays finite for large x where the original form overflows."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, _, t_cal = np.broadcast_arrays(*_arrays(frequency, recency, T))
    if abs(a - 1) < 1e-6:  # a = 1 is a removable singularity: step just off it
        a = 1 + 1e-6
    z = t / (alpha + t_cal + t)
    c = a + b + x - 1
    term = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, c, z)
    return c / (a - 1) * (1 - term)


def expected_orders(
    params: BgNbdParams, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: the expected orders in the next t days (the paper's equation 10),
    = P(alive) * E[Y(t) | alive]."""
    return p_alive(params, frequency, recency, T) * expected_orders_if_alive(
        params, t, frequency, recency, T
    )
