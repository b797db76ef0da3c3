"""BG/NBD, "Counting your customers the easy way" (Fader, Hardie & Lee 2005): the log-likelihood
and its gradient, vectorised, the fit on rows aggregated to distinct (frequency, recency, T), and
the per-customer quantities P(alive) and expected orders. Day units throughout (docs/model.md)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

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


def _mean_objective(
    x: np.ndarray, tx: np.ndarray, t_cal: np.ndarray, w: np.ndarray
) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """The weighted mean of `_ll_and_gradient` over rows (x, t_x, T) with weights w, as a function
    of the log-parameters: the same sums, regrouped so that each term is computed where it varies.
    Terms of the frequency alone are summed per distinct x, terms of T alone per distinct T, and
    only the mixture of the two tails, ln(A3 + A4) with A4 / A3 = exp(d), is computed per row, and
    only for repeat rows (without a repeat purchase A4 = 0). Per row: d = ln a - ln(b + x - 1) -
    (r + x) (ln(alpha + t_x) - ln(alpha + T)), softplus(d) and its weight w4 = expit(d); about a
    quarter of the work of summing `_ll_and_gradient`'s rows."""
    total = float(w.sum())
    ux, ix = np.unique(x, return_inverse=True)
    ix = ix.reshape(-1)
    w_x = np.bincount(ix, weights=w, minlength=len(ux))
    ut, it = np.unique(t_cal, return_inverse=True)
    it = it.reshape(-1)
    w_t = np.bincount(it, weights=w, minlength=len(ut))  # sum of w per distinct T
    wx_t = np.bincount(it, weights=w * x, minlength=len(ut))  # sum of w * x per distinct T
    rep = x > 0
    rx_i, rt_i = ix[rep], it[rep]
    utx, rtx_i = np.unique(tx[rep], return_inverse=True)
    rtx_i = rtx_i.reshape(-1)
    rw, rxv = w[rep], x[rep]
    rep_u = ux > 0

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(z)
        ln_alpha = np.log(alpha)
        # per distinct x: ln A1 + ln A2 and the digamma terms of the gradient
        ln_a12 = (
            gammaln(r + ux)
            - gammaln(r)
            + r * ln_alpha
            + gammaln(a + b)
            + gammaln(b + ux)
            - gammaln(b)
            - gammaln(a + b + ux)
        )
        psi_ab, psi_abx = digamma(a + b), digamma(a + b + ux)
        g_r_x = digamma(r + ux) - digamma(r) + ln_alpha
        g_a_x = psi_ab - psi_abx
        g_b_x = psi_ab + digamma(b + ux) - digamma(b) - psi_abx
        b_x1 = np.where(rep_u, b + ux - 1, 1.0)
        ln_c = np.log(a) - np.log(b_x1)  # ln A4 - ln A3 = ln_c - (r + x) (ln_tx - ln_t)
        # per distinct T: ln A3 = -(r + x) ln(alpha + T), summed as r * sum(w ln) + sum(w x ln)
        ln_t_u, inv_t_u = np.log(alpha + ut), 1.0 / (alpha + ut)
        ln_tx_u, inv_tx_u = np.log(alpha + utx), 1.0 / (alpha + utx)
        # per repeat row: the tails' mixture
        rx = r + rxv
        ln_t = ln_t_u[rt_i]
        gap = ln_tx_u[rtx_i] - ln_t
        d = ln_c[rx_i] - rx * gap
        w4 = expit(d)
        ww4 = rw * w4
        s4_x = np.bincount(rx_i, weights=ww4, minlength=len(ux))
        s4 = float(s4_x.sum())
        ll = w_x @ ln_a12 - (r * (w_t @ ln_t_u) + wx_t @ ln_t_u) + rw @ np.logaddexp(0.0, d)
        g_r = w_x @ g_r_x - w_t @ ln_t_u - ww4 @ gap
        g_alpha = (
            total * r / alpha
            - (r * (w_t @ inv_t_u) + wx_t @ inv_t_u)
            - ww4 @ (rx * (inv_tx_u[rtx_i] - inv_t_u[rt_i]))
        )
        g_a = w_x @ g_a_x + s4 / a
        g_b = w_x @ g_b_x - s4_x @ (1.0 / b_x1)
        grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b]) / total
        return float(ll / total), grad

    return objective


def fit_bg_nbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    weight: ArrayLike | None = None,
    distinct: bool = False,
) -> Fit:
    """Maximum-likelihood BG/NBD parameters (day units when the inputs are in days). Rows may be
    one per customer or already aggregated to distinct (x, t_x, T) with counts as `weight`; with
    `distinct`, the caller says they are (they are not aggregated again)."""
    started = time.perf_counter()
    if distinct:
        x, tx, t_cal = _arrays(frequency, recency, T)
        w = as_weights(x.size, None if weight is None else np.asarray(weight, dtype=float))
    else:
        x, tx, t_cal, w = aggregate(frequency, recency, T, weight)
    keep = w > 0
    x, tx, t_cal, w = x[keep], tx[keep], t_cal[keep], w[keep]
    n_customers, n_repeat = int(round(w.sum())), int(round(w[x > 0].sum()))
    if n_repeat == 0 or np.any(tx > t_cal) or np.any(x < 0):
        why = "no repeat buyers" if n_repeat == 0 else "recency > T or negative frequency"
        return Fit(None, n_customers, n_repeat, float("nan"), False, 0.0, why)
    # fit in a time unit where the longest T is 10 (well-scaled start); alpha scales back after
    scale = float(t_cal.max()) / 10.0 or 1.0
    objective = _mean_objective(x, tx / scale, t_cal / scale, w)
    starts = [
        (0.0, 0.0, 0.0, 0.0),
        (np.log(0.3), 0.0, np.log(0.5), np.log(3.0)),
        (1.0, 2.0, -1.0, 1.0),
    ]
    best = maximise(objective, starts)
    r, alpha_scaled, a, b = np.exp(best.log_params)
    params = BgNbdParams(float(r), float(alpha_scaled * scale), float(a), float(b))
    # the log-likelihood in days (the fit's unit differs): the same regrouped sum, once
    days_ll, _ = _mean_objective(x, tx, t_cal, w)(np.log([r, params.alpha, a, b]))
    total_ll = days_ll * float(w.sum())
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
    a + b + x - 1; z), which stays finite for large x where the original form overflows; where it
    does not (a and b very large), the original form."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, _, t_cal = np.broadcast_arrays(*_arrays(frequency, recency, T))
    if abs(a - 1) < 1e-6:  # a = 1 is a removable singularity: step just off it
        a = 1 + 1e-6
    z = t / (alpha + t_cal + t)
    c = a + b + x - 1
    with np.errstate(invalid="ignore", over="ignore"):
        term = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, c, z)
    # where Euler's form is 0 * inf (a and b both in the hundreds of thousands: the dropout
    # probability nearly the same for everyone, a fit of a small population), the textbook form
    # is finite: (1 - z) ** (r + x) * 2F1(r + x, b + x; c; z)
    off = ~np.isfinite(term)
    if off.any():
        z_off, x_off = np.broadcast_to(z, term.shape)[off], x[off]
        term = np.array(term, dtype=float)
        term[off] = (1 - z_off) ** (r + x_off) * hyp2f1(r + x_off, b + x_off, c[off], z_off)
    return c / (a - 1) * (1 - term)


def expected_orders(
    params: BgNbdParams, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: the expected orders in the next t days (the paper's equation 10),
    = P(alive) * E[Y(t) | alive]."""
    return p_alive(params, frequency, recency, T) * expected_orders_if_alive(
        params, t, frequency, recency, T
    )
