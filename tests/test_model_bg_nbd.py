"""BG/NBD, the purchase model behind P(alive) and expected orders (docs/model.md).

A customer's purchases arrive at rate lambda while they are "alive"; after each repeat purchase
they leave for good with chance p. Across customers lambda ~ gamma(r, alpha) and p ~ beta(a, b).
The tests show that (1) fitting customers drawn from known parameters gives those parameters back,
(2) P(alive) and expected orders equal a direct numerical integration over (lambda, p), not a
second copy of the closed form, and (3) the published CDNOW figure is reproduced.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import dblquad
from scipy.special import betaincinv, gammaincinv

from loyalty.model import (
    BgNbdParams,
    GammaGammaParams,
    expected_orders,
    expected_orders_if_alive,
    fit_bg_nbd,
    p_alive,
)
from loyalty.model.bg_nbd import _ll_and_gradient, _mean_objective, aggregate
from loyalty.model.simulate import simulate

# Day units: one purchase every r / alpha = 112 days on average, a = 0.8, b = 2.5 (mean chance of
# leaving after a repeat purchase a / (a + b) = 24 %). alpha = 4 weeks = 28 days.
TRUE = BgNbdParams(r=0.25, alpha=28.0, a=0.8, b=2.5)
ANY_SPEND = GammaGammaParams(p=6.25, q=3.74, v=15.44)
# Recovery tolerance, relative, for 50,000 customers first seen 30..730 days before the end:
# the purchase rate (r, alpha) within 10 %, the drop-out (a, b) within 15 % (it is seen only
# through missing purchases, so it is estimated less precisely).
TOLERANCE = {"r": 0.10, "alpha": 0.10, "a": 0.15, "b": 0.15}


@pytest.fixture(scope="module")
def customers():
    return simulate(50_000, TRUE, ANY_SPEND, np.random.default_rng(20050501))


def test_fit_recovers_the_parameters_the_customers_were_drawn_from(customers):
    fit = fit_bg_nbd(customers.frequency, customers.recency, customers.T)
    assert fit.converged, fit.message
    assert isinstance(fit.params, BgNbdParams)
    assert fit.n_customers == 50_000
    assert fit.n_repeat == int((customers.frequency > 0).sum())
    for name, tol in TOLERANCE.items():
        got, want = getattr(fit.params, name), getattr(TRUE, name)
        assert abs(got / want - 1) < tol, f"{name}: fitted {got:.4f}, true {want}"
    assert fit.seconds < 10


def test_distinct_rows_with_counts_give_the_same_fit_as_one_row_per_customer(customers):
    per_customer = fit_bg_nbd(customers.frequency, customers.recency, customers.T)
    x, tx, T, counts = aggregate(customers.frequency, customers.recency, customers.T)
    assert len(x) < 50_000 / 2  # whole days: far fewer distinct rows than customers
    aggregated = fit_bg_nbd(x, tx, T, weight=counts)
    assert aggregated.n_customers == per_customer.n_customers
    assert aggregated.log_likelihood == pytest.approx(per_customer.log_likelihood, rel=1e-12)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(aggregated.params, name) == pytest.approx(
            getattr(per_customer.params, name), rel=1e-6
        )


@pytest.mark.parametrize(
    "z",
    [(0.0, 0.0, 0.0, 0.0), (-1.4, 0.3, -0.2, 0.9), (1.0, 2.0, -1.0, 1.0), (-3.0, -2.0, 2.0, -1.5)],
)
def test_the_fits_regrouped_objective_equals_the_weighted_sum_of_each_rows_likelihood(customers, z):
    """The optimiser's objective sums terms per distinct x and per distinct T and mixes the tails
    per repeat row only; it must equal the weighted mean of the per-row log-likelihood and its
    gradient (`_ll_and_gradient`, the paper's equation 6 row by row), one-time buyers included."""
    x, tx, T, counts = aggregate(customers.frequency, customers.recency, customers.T)
    rng = np.random.default_rng(7)
    w = counts * rng.uniform(0.5, 2.0, len(counts))  # weights that are not counts, too
    assert (x == 0).any() and (x > 0).any()
    ll, grad = _ll_and_gradient(np.asarray(z), x, tx / 30.0, T / 30.0)
    want_ll, want_grad = float(w @ ll / w.sum()), (w @ grad) / w.sum()
    got_ll, got_grad = _mean_objective(x, tx / 30.0, T / 30.0, w)(np.asarray(z))
    assert got_ll == pytest.approx(want_ll, rel=1e-12)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-9, atol=1e-12)


def test_without_repeat_buyers_nothing_is_invented():
    fit = fit_bg_nbd([0, 0, 0], [0, 0, 0], [10, 20, 30])
    assert not fit.converged and fit.params is None
    assert fit.n_customers == 3 and fit.n_repeat == 0
    assert "no repeat buyers" in fit.message


def posterior_by_integration(params: BgNbdParams, x: int, tx: float, T: float, t: float):
    """P(alive) and E[Y(t) | x, t_x, T] integrated numerically over the prior of (lambda, p),
    weighted by the individual likelihood
        L(lambda, p | x, t_x, T) = (1-p)^x lambda^x e^(-lambda T)
                                   + [x > 0] p (1-p)^(x-1) lambda^x e^(-lambda t_x),
    with E[Y(t) | alive, lambda, p] = (1 - e^(-lambda p t)) / p.
    The prior is integrated through its quantiles (lambda = G^-1(u), p = B^-1(v) on the unit
    square) so the integrand stays bounded; lambda^x is scaled by its maximum for conditioning."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    shift = x * np.log(x / T) - x if x > 0 else 0.0

    def parts(u: float, v: float):
        lam = gammaincinv(r, u) / alpha
        p = betaincinv(a, b, v)
        rate = x * np.log(lam) - shift if x > 0 else 0.0
        alive = np.exp(x * np.log1p(-p) + rate - lam * T)
        gone = np.exp(np.log(p) + (x - 1) * np.log1p(-p) + rate - lam * tx) if x > 0 else 0.0
        return lam, p, alive, gone

    def integral(f) -> float:
        return dblquad(lambda v, u: f(*parts(u, v)), 0, 1, 0, 1, epsabs=0, epsrel=1e-8)[0]

    total = integral(lambda lam, p, alive, gone: alive + gone)
    alive = integral(lambda lam, p, alive, gone: alive)
    future = integral(lambda lam, p, alive, gone: alive * -np.expm1(-lam * p * t) / p)
    return alive / total, future / total


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "who"),
    [
        (0, 0, 100, "one purchase 100 days ago"),
        (1, 30, 200, "bought again a month after the first purchase, then silent 170 days"),
        (3, 150, 365, "three repeat purchases, the last 215 days ago"),
        (10, 300, 320, "a regular, last seen 20 days ago"),
        (2, 10, 400, "two quick repeats, then silent more than a year"),
    ],
)
def test_p_alive_and_expected_orders_equal_integration_over_the_posterior(
    frequency, recency, T, who
):
    want_alive, want_orders = posterior_by_integration(TRUE, frequency, recency, T, 90)
    got_alive = p_alive(TRUE, frequency, recency, T)
    got_orders = expected_orders(TRUE, 90, frequency, recency, T)
    got_if_alive = expected_orders_if_alive(TRUE, 90, frequency, recency, T)
    assert got_alive == pytest.approx(want_alive, rel=1e-6), who
    assert got_orders == pytest.approx(want_orders, rel=1e-6), who
    assert got_if_alive * got_alive == pytest.approx(got_orders, rel=1e-12), who


def test_the_cdnow_figure_of_fader_hardie_and_lee_2005():
    """With the paper's CDNOW estimates in weeks (r = 0.243, alpha = 4.414, a = 0.793,
    b = 2.426), a customer with x = 2 repeat purchases, the last at t_x = 30.43 weeks, observed for
    T = 38.86 weeks, is expected to make 1.226 purchases in the next 39 weeks. Source: the worked
    example of Fader, Hardie & Lee (2005), customer 1 of the CDNOW sample, as reproduced in
    Hardie's spreadsheet for the paper and in lifetimes' test
    `test_conditional_expectation_returns_same_value_as_Hardie_excel_sheet`."""
    cdnow = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert round(float(expected_orders(cdnow, 39, 2, 30.43, 38.86)), 3) == 1.226


def test_heavy_buyers_stay_finite_where_the_textbook_form_overflows():
    """2F1(r + x, b + x; a + b + x - 1; z) overflows for hundreds of purchases; the Euler form
    used here does not, and expected orders while alive approach rate * days for a regular."""
    x = np.array([50.0, 200.0, 1000.0])
    T = np.array([400.0, 400.0, 1400.0])
    tx = T - 1
    got = expected_orders(TRUE, 90, x, tx, T)
    assert np.all(np.isfinite(got)) and np.all(got > 0)
    # a customer buying x times in T days and still buying: about x / T * 90 next days, a little
    # less because they may still leave after each purchase
    naive = (x + TRUE.r) / (T + TRUE.alpha) * 90
    assert np.all(got < naive) and np.all(got > 0.5 * naive)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_a_near_constant_dropout_probability_keeps_finite_expected_orders():
    """A fit of a small population can put a and b in the hundreds of thousands (the Beta
    prior of the dropout probability p nearly a point at a / (a + b)). Euler's form is then
    0 * inf; the textbook form is finite and gives the limit with p fixed, where the orders while
    alive have the closed form (1 - ((alpha + T) / (alpha + T + p t)) ** (r + x)) / p: lambda's
    posterior given alive is Gamma(r + x, alpha + T), and E[Y(t) | alive, lambda, p] =
    (1 - e^(-lambda p t)) / p. (The parameters are those a tiny fit of tests/test_say_do_incremental
    gave.)"""
    params = BgNbdParams(r=0.4841, alpha=53.865, a=162197.8, b=2348279.9)
    p = params.a / (params.a + params.b)
    x = np.array([0.0, 0.0, 1.0, 3.0, 20.0])
    T = np.array([0.0, 2.0, 50.0, 300.0, 400.0])
    got = expected_orders_if_alive(params, 90, x, T / 2, T)
    limit = -np.expm1((params.r + x) * np.log((params.alpha + T) / (params.alpha + T + p * 90))) / p
    assert np.all(np.isfinite(got))
    assert got == pytest.approx(limit, rel=1e-5)
    # the heavy buyers' customers (Euler's form) and these in one call: each by its own form
    mixed = expected_orders_if_alive(TRUE, 90, np.array([0.0, 1000.0]), 1300.0, 1400.0)
    assert np.all(np.isfinite(mixed)) and mixed[1] > mixed[0]
