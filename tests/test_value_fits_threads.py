"""The model's two fits of a day (at D and at the backtest's calibration end) run at once in two
threads on DuckDB, each scoring its rows (loyalty.marts.value_run.DuckSide.fit): their parameters,
log-likelihoods and convergence are exactly those of each fit run alone, one after the other, and
the scores those of the model's functions."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pyarrow as pa

from loyalty import model
from loyalty.marts import value_run
from loyalty.model.simulate import simulate

DAY = dt.date(2026, 11, 15)  # the summary's day
N = 120_000  # enough distinct rows that BLAS would split its sums between threads if let


def _summary(conn: duckdb.DuckDBPyConnection) -> None:
    """A work table value_summary with the columns the model reads, drawn from known parameters:
    the calibration columns from another draw (a day 90 days earlier)."""
    rng = np.random.default_rng(7)
    bg, gg = model.BgNbdParams(0.4, 30.0, 0.9, 6.0), model.GammaGammaParams(3.0, 5.0, 60.0)
    now = simulate(N, bg, gg, rng, t_min=100, t_max=730)
    cal = simulate(N, bg, gg, rng, t_min=10, t_max=640)

    def cents(m: np.ndarray) -> pa.Array:  # NULL without a repeat purchase, as the summary's
        return pa.array(np.round(np.nan_to_num(m) * 100) / 100, mask=np.isnan(m))

    conn.register(
        "drawn",
        pa.table(
            {
                "frequency": now.frequency.astype(np.int64),
                "recency_days": now.recency.astype(np.int64),
                "t_days": now.T.astype(np.int64),
                "monetary_repeat": cents(now.monetary),
                "cal_frequency": cal.frequency.astype(np.int64),
                "cal_recency_days": cal.recency.astype(np.int64),
                "cal_t_days": cal.T.astype(np.int64),
                "cal_monetary_repeat": cents(cal.monetary),
            }
        ),
    )
    conn.execute(
        "create temp table value_summary as select * replace ("
        "monetary_repeat::decimal(18, 2) as monetary_repeat, "
        "cal_monetary_repeat::decimal(18, 2) as cal_monetary_repeat), $day as as_of from drawn",
        {"day": DAY},
    )


def _alone(rows: value_run.Rows) -> tuple:
    """One purpose's fits in this thread, BLAS on one thread (as the fits in threads: the
    log-likelihood's last bits depend on BLAS's threads)."""
    with model.one_blas_thread():
        bg = model.fit_bg_nbd(rows.x, rows.t_x, rows.T, weight=rows.n, distinct=True)
        spenders = (rows.px > 0) & (rows.m > 0)
        gg = model.fit_gamma_gamma(
            rows.px[spenders], rows.cents[spenders] / 100, weight=rows.pn[spenders]
        )
    return _numbers(bg), _numbers(gg)


def _same_scores(got: value_run.RowScores, rows: value_run.Rows, fits) -> None:
    bg, gg, h = fits.bg_nbd.params, fits.gamma_gamma.params, 90.0
    want = {
        "p_alive": model.p_alive(bg, rows.x, rows.t_x, rows.T),
        "expected_orders": model.expected_orders(bg, h, rows.x, rows.t_x, rows.T),
        "if_alive": model.expected_orders_if_alive(bg, h, rows.x, rows.t_x, rows.T),
        "expected_order_value": model.expected_order_value(gg, rows.px, rows.m),
    }
    for name, values in want.items():
        assert np.array_equal(getattr(got, name), np.asarray(values, float)), name


def _numbers(fit: model.Fit) -> tuple:
    return fit.params, fit.log_likelihood, fit.converged, fit.n_customers, fit.n_repeat


def test_the_two_fits_at_once_equal_each_fit_alone():
    conn = duckdb.connect()
    try:
        _summary(conn)
        side = value_run.DuckSide(conn, 90, DAY)
        alone = {p: _alone(side.rows[p]) for p in (value_run.SCORE, value_run.BACKTEST)}
        assert alone[value_run.SCORE] != alone[value_run.BACKTEST]
        # a few times: a fit that met BLAS's default threads half-way (its limit left by the other
        # fit) differs only when the timing lets it
        for _ in range(4):
            side.fits.clear()
            for purpose, want in alone.items():
                fits = side.fit(purpose)
                assert fits.bg_nbd.converged and fits.gamma_gamma.converged, purpose
                assert (_numbers(fits.bg_nbd), _numbers(fits.gamma_gamma)) == want, purpose
        # each thread scored its rows: the model's functions applied to them, to the bit
        for purpose in alone:
            fits = side.fit(purpose)
            assert side.early[purpose][0] is fits
            assert side.score(purpose, fits)
            _same_scores(side.scores[purpose], side.rows[purpose], fits)
    finally:
        conn.close()
