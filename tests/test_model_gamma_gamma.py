"""Gamma-Gamma, the spend model behind expected order value (docs/model.md).

Each purchase of a customer is worth gamma(p, nu) (mean p / nu); across customers nu ~ gamma(q, v).
A repeat customer's expected order value shrinks their own mean toward the population mean, the
more the fewer purchases they made. The tests show that fitting customers drawn from known
parameters gives them back, that the expected order value equals a numerical integration over
nu, and how the fit refuses parameters under which the mean order value does not exist.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import gamma

from loyalty.model import BgNbdParams, GammaGammaParams, expected_order_value, fit_gamma_gamma
from loyalty.model.gamma_gamma import _ll_and_gradient, _mean_objective
from loyalty.model.simulate import simulate

# The CDNOW estimates of Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for
# customer base analysis" (p = 6.25, q = 3.74, gamma = 15.44; `v` here is their gamma). Population
# mean order value p v / (q - 1) = 35.22 dollars.
CDNOW = GammaGammaParams(p=6.25, q=3.74, v=15.44)
PURCHASES = BgNbdParams(r=0.25, alpha=28.0, a=0.8, b=2.5)
# Recovery tolerance, relative, for the ~23,000 repeat buyers among 50,000 simulated customers.
TOLERANCE = 0.10


def test_fit_recovers_the_parameters_the_spend_was_drawn_from():
    c = simulate(50_000, PURCHASES, CDNOW, np.random.default_rng(42))
    fit = fit_gamma_gamma(c.frequency, c.monetary)
    assert fit.converged, fit.message
    assert isinstance(fit.params, GammaGammaParams)
    repeat = int((c.frequency > 0).sum())
    assert fit.n_customers == fit.n_repeat == repeat
    assert f"{50_000 - repeat} rows without repeat purchases" in fit.message
    for name in ("p", "q", "v"):
        got, want = getattr(fit.params, name), getattr(CDNOW, name)
        assert abs(got / want - 1) < TOLERANCE, f"{name}: fitted {got:.3f}, true {want}"


def test_weights_count_as_repeated_rows():
    c = simulate(3_000, PURCHASES, CDNOW, np.random.default_rng(3))
    repeat = c.frequency > 0
    x, m = c.frequency[repeat], c.monetary[repeat]
    twice = fit_gamma_gamma(np.concatenate([x, x]), np.concatenate([m, m]))
    weighted = fit_gamma_gamma(x, m, weight=np.full(len(x), 2.0))
    assert weighted.n_customers == twice.n_customers == 2 * len(x)
    assert weighted.log_likelihood == pytest.approx(twice.log_likelihood, rel=1e-10)
    for name in ("p", "q", "v"):
        assert getattr(weighted.params, name) == pytest.approx(
            getattr(twice.params, name), rel=1e-6
        )


@pytest.mark.parametrize("z", [(0.0, 0.7, 0.0), (1.8, 1.3, 1.4), (-1.0, 0.2, 2.5)])
def test_the_fits_regrouped_objective_equals_the_weighted_sum_of_each_rows_likelihood(z):
    """The optimiser's objective sums the gamma terms per distinct x and the parameter-free logs
    once; it must equal the weighted mean of the per-row log-likelihood and its gradient."""
    c = simulate(3_000, PURCHASES, CDNOW, np.random.default_rng(11))
    repeat = c.frequency > 0
    x, m = c.frequency[repeat].astype(float), c.monetary[repeat] / 35.0
    w = np.random.default_rng(5).uniform(0.5, 3.0, len(x))
    ll, grad = _ll_and_gradient(np.asarray(z), x, m)
    want_ll, want_grad = float(w @ ll / w.sum()), (w @ grad) / w.sum()
    got_ll, got_grad = _mean_objective(x, m, w)(np.asarray(z))
    assert got_ll == pytest.approx(want_ll, rel=1e-12)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-9, atol=1e-12)


def expected_value_by_integration(params: GammaGammaParams, x: int, m: float) -> float:
    """E[p / nu | x, m_x]: the mean order value p / nu averaged over the posterior of nu, whose
    prior is gamma(q, rate v) and whose likelihood is that of the mean of x purchases,
    m_x ~ gamma(p x, rate nu x). With x = 0 the posterior is the prior."""
    prior = gamma(params.q, scale=1 / params.v)

    def weight(nu: float) -> float:
        like = gamma.pdf(m, params.p * x, scale=1 / (nu * x)) if x > 0 else 1.0
        return prior.pdf(nu) * like

    lo, hi = prior.ppf(1e-12), prior.ppf(1 - 1e-12)
    num = quad(lambda nu: params.p / nu * weight(nu), lo, hi, epsabs=0, epsrel=1e-10, limit=200)
    den = quad(weight, lo, hi, epsabs=0, epsrel=1e-10, limit=200)
    return num[0] / den[0]


@pytest.mark.parametrize(
    ("frequency", "monetary", "who"),
    [
        (0, float("nan"), "no repeat purchase: the population mean"),
        (1, 80.0, "one repeat order of 80: pulled most of the way back to the mean"),
        (2, 20.0, "two small repeat orders"),
        (12, 55.0, "twelve repeat orders of 55 on average: close to their own mean"),
    ],
)
def test_expected_order_value_equals_integration_over_the_spend_rate(frequency, monetary, who):
    want = expected_value_by_integration(CDNOW, frequency, monetary)
    got = expected_order_value(CDNOW, frequency, monetary)
    assert got == pytest.approx(want, rel=1e-7), who


def test_population_mean_is_35_22_dollars_at_the_cdnow_estimates():
    """p v / (q - 1) = 6.25 * 15.44 / 2.74 = 35.22 (our arithmetic on the paper's estimates),
    and the integral over the prior of nu gives the same number."""
    got = float(expected_order_value(CDNOW, 0, float("nan")))
    assert round(got, 2) == 35.22
    assert got == pytest.approx(expected_value_by_integration(CDNOW, 0, 0.0), rel=1e-8)


def test_a_given_population_mean_is_used_for_customers_without_repeat_purchases():
    got = expected_order_value(CDNOW, [0, 0, 3], [np.nan, np.nan, 40.0], population_mean=50.0)
    assert list(got[:2]) == [50.0, 50.0]
    assert got[2] == pytest.approx(expected_order_value(CDNOW, 3, 40.0))


def test_spend_so_heavy_tailed_that_the_mean_does_not_exist_is_not_used():
    """With q <= 1 the mean order value p v / (q - 1) does not exist: the fit says so and
    returns no parameters instead of inventing values."""
    heavy = GammaGammaParams(p=2.0, q=0.7, v=5.0)
    c = simulate(20_000, PURCHASES, heavy, np.random.default_rng(11))
    fit = fit_gamma_gamma(c.frequency, c.monetary)
    assert not fit.converged and fit.params is None
    assert "does not exist" in fit.message
