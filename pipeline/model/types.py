"""What the customer-value model fits and reports (docs/model.md). Parameters are in day units."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BgNbdParams:
    """BG/NBD (Fader, Hardie & Lee 2005): purchase rates lambda ~ gamma(shape r, rate alpha) per
    day; the chance p of leaving after each purchase ~ beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma-Gamma spend (Colombo & Jiang 1999; Fader, Hardie & Lee 2005): a purchase's value ~
    gamma(shape p, rate nu); nu ~ gamma(shape q, rate v). Mean order value p * v / (q - 1)."""

    p: float
    q: float
    v: float


@dataclass(frozen=True)
class Fit:
    """What a fit reports. `params` is None when it did not converge (`message` says why)."""

    params: BgNbdParams | GammaGammaParams | None
    n_customers: int
    n_repeat: int
    log_likelihood: float
    converged: bool
    seconds: float
    message: str
