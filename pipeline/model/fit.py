"""The optimiser both models share: maximise a weighted mean log-likelihood over log-parameters
with L-BFGS-B and its analytic gradient, from a few starts, and say honestly whether it converged."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize  # type: ignore[import-untyped]
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

# Objective: log-parameters -> (mean log-likelihood, its gradient w.r.t. the log-parameters).
Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]

# OpenBLAS threads for the optimiser's BLAS calls: one. Its calls are tiny (L-BFGS-B's updates of 4
# or 3 parameters, one dot product of weights per evaluation), and with a thread pool each is
# handed to threads that then spin and wait: a BG/NBD fit of 10 k distinct rows took 127 ms with
# OpenBLAS's default of one thread per core against 9 ms with one, the same iterations.
BLAS_THREADS = 1
LOG_BOUND = 15.0  # parameters stay within e^-15 .. e^15; a fit that ends on the bound is degenerate
GRAD_TOL = 1e-4  # largest |d mean-LL / d log-parameter| accepted at the optimum


@dataclass(frozen=True)
class Optimum:
    log_params: np.ndarray
    mean_ll: float
    converged: bool
    message: str


def maximise(objective: Objective, starts: Sequence[Sequence[float]]) -> Optimum:
    """The best of L-BFGS-B runs from `starts`; converged when the optimiser reports success, the
    gradient is small and no parameter sits on its bound. Stops at the first converged start."""

    def negative(z: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = objective(z)
        if not np.isfinite(ll) or not np.all(np.isfinite(grad)):
            return 1e10, np.zeros_like(z)
        return -ll, -grad

    with one_blas_thread():
        return _maximise(negative, objective, starts)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS limited to BLAS_THREADS for the block. The limit is the process's: fits run in
    threads at once must share one block around them all (a block entered and left by each would,
    on the first one's exit, give the others the default thread count: other summation orders,
    numbers that differ in the last bits from a fit run alone)."""
    with _blas().limit(limits=BLAS_THREADS, user_api="blas"):
        yield


@functools.cache
def _blas() -> ThreadpoolController:
    """The process's thread pools (found once: a scan of the loaded libraries, about 3 ms)."""
    return ThreadpoolController()


def _maximise(
    negative: Callable[[np.ndarray], tuple[float, np.ndarray]],
    objective: Objective,
    starts: Sequence[Sequence[float]],
) -> Optimum:
    best: Optimum | None = None
    for start in starts:
        z0 = np.asarray(start, dtype=float)
        res = minimize(
            negative,
            z0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-LOG_BOUND, LOG_BOUND)] * len(z0),
            options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9, "maxcor": 20},
        )
        ll, grad = objective(res.x)
        grad_norm = float(np.max(np.abs(grad))) if np.all(np.isfinite(grad)) else np.inf
        on_bound = bool(np.any(np.abs(res.x) >= LOG_BOUND - 1e-6))
        ok = bool(res.success) and np.isfinite(ll) and grad_norm < GRAD_TOL and not on_bound
        if ok:
            why = f"converged in {res.nit} iterations (max |gradient| {grad_norm:.1e})"
        elif on_bound:
            why = "a parameter ran to its bound (the data do not identify the model)"
        else:
            why = f"did not converge: {res.message} (max |gradient| {grad_norm:.1e})"
        found = Optimum(np.asarray(res.x), float(ll), ok, why)
        if best is None or (found.converged, found.mean_ll) > (best.converged, best.mean_ll):
            best = found
        if ok:
            break
    assert best is not None
    return best


def as_weights(n: int, weight: np.ndarray | Sequence[float] | None) -> np.ndarray:
    """Counts per row (1 each when not given), as floats."""
    if weight is None:
        return np.ones(n)
    w = np.asarray(weight, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"weight has shape {w.shape}, expected ({n},)")
    return w
